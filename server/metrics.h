#ifndef QUORUM_SERVER_METRICS_H
#define QUORUM_SERVER_METRICS_H
/* What quorum serve counts, for GET /metrics in Prometheus' text format:
 * requests by path and status, runs by status, calls, call errors by
 * class, tokens, cost, runs in flight, and latency histograms (requests
 * and calls). Any thread may call every function. */
#include <stddef.h>

#include "../common/buf.h"

struct metrics;

/* Returns new (metrics_free), or NULL when memory ran out. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* A request answered: its path (one of a fixed few, else "other"), its
 * HTTP status and how long it took. */
void metrics_request(struct metrics *m, const char *path, int status, double seconds);
/* A run ended: its status word and its report's JSON (calls, errors by
 * class, latencies, tokens, cost are read from it). */
void metrics_run(struct metrics *m, const char *status, const char *report_json);
/* Runs in flight now (a gauge). */
void metrics_in_flight(struct metrics *m, long n);

/* Appends the exposition text. Returns 0, or -1 when memory ran out. */
int metrics_render(struct metrics *m, struct buf *b);

#endif
