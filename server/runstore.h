#ifndef QUORUM_SERVER_RUNSTORE_H
#define QUORUM_SERVER_RUNSTORE_H
/* The reports of the last N runs, for GET /v1/runs/ID: a ring, so a
 * server that runs for months holds N reports, not all of them. Any
 * thread may call every function. */
#include <stddef.h>

struct runstore;

/* Returns new (runstore_free), or NULL when memory ran out. cap >= 1. */
struct runstore *runstore_new(size_t cap);
void runstore_free(struct runstore *s);
/* Keeps a copy of json under id, forgetting the oldest when full.
 * Returns 0, or -1 when memory ran out (nothing kept). */
int runstore_put(struct runstore *s, const char *id, const char *json);
/* A copy of the report of run id. Returns new (free with q_free), or
 * NULL when it is not (or no longer) kept. */
char *runstore_get(struct runstore *s, const char *id);

#endif
