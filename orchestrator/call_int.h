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

/* call.c */
/* The attempt in flight ended: c->res says how (ok or its error). */
void call_attempt_end(struct call *c);

#endif
