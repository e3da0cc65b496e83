#ifndef QUORUM_CALL_INT_H
#define QUORUM_CALL_INT_H
/* Inside the calls room: call.c decides (queues, retries, fallbacks, the
 * record of each attempt), http.c carries one attempt over HTTP. */
#include "call.h"

/* http.c */
/* Builds the attempt's request (c->req; the host in the record). Returns
 * 0, or -1 with e saying why (a bad_request; nothing is left held). */
int http_build(struct call *c, struct qerr *e);
/* Hands the request built to the loop. Returns 0, or -1 with e saying
 * why (nothing is left held). */
int http_send(struct call *c, struct qerr *e);
/* Frees what the attempt held; its handle leaves the loop. */
void http_release(struct call *c);

/* call_shared.c: the shared state (--shared) as calls see it; each is a
 * no-op that lets the in-process state decide without it, or once Redis
 * is lost. */
/* 0 when the model's shared rpm window lets a call start now (it is then
 * counted there); else when to look again (ms, monotonic). One round trip
 * asks for as many starts as the model's queue can use in this pump (up
 * to left): the rest are used by the next calls of the same pump, with
 * the same now. Learns too whether the shared breaker is open
 * (call_shared_broken). */
int64_t call_shared_gate(struct pool *p, struct model_state *ms, int64_t now, size_t left);
/* Whether the model's breaker is open in another process's eyes. */
int call_shared_broken(const struct model_state *ms, int64_t now);
/* An attempt on ms ended ok or not: the shared breaker hears it (a
 * success only when failures were counted). */
void call_shared_outcome(struct pool *p, struct model_state *ms, int ok, int64_t now);
/* Holds worst_usd of the shared budget for c's attempt. Returns 0, or -1
 * when it would pass --shared-budget. */
int call_shared_reserve(struct call *c, double worst_usd);
/* Gives back what c held and books what the attempt cost. */
void call_shared_settle(struct call *c, double actual_usd);
/* c's keyed request in Redis's cache: 1 and *e filled on a hit (copied
 * to the local cache file too), else 0. */
int call_shared_cache_get(struct call *c, struct cache_entry *e);
/* Puts a successful answer into Redis's cache. */
void call_shared_cache_put(struct call *c, const char *text, size_t len,
			   const char *finish_reason, int64_t in, int64_t out, double cost);

/* call.c */
/* The attempt in flight ended: c->res says how (ok or its error). */
void call_attempt_end(struct call *c);

#endif
