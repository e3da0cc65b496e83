#ifndef QUORUM_CALL_INT_H
#define QUORUM_CALL_INT_H
/* Inside the calls room: call.c decides (queues, retries, fallbacks, the
 * record of each attempt), http.c carries one attempt over HTTP. */
#include "call.h"

/* http.c */
/* Builds the attempt's request and hands the transfer to the loop.
 * Returns 0, or -1 with *cls and e saying why (nothing is left held). */
int http_start(struct call *c, enum err_class *cls, struct qerr *e);
/* Frees what the attempt held; its handle leaves the loop. */
void http_release(struct call *c);

/* call.c */
/* The attempt in flight ended: c->res says how (ok or its error). */
void call_attempt_end(struct call *c);

#endif
