#ifndef QUORUM_TRACE_H
#define QUORUM_TRACE_H
/* The trace (--trace FILE): JSON Lines, one event per line, flushed as
 * written so a killed run still leaves what happened. Every line passes
 * the key mask before it is written. A trace without a file is a no-op. */
#include <stdint.h>
#include <stdio.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/redact.h"

struct trace {
	FILE *f;                   /* NULL: no trace */
	int64_t t0_ms;             /* the run's start, monotonic */
	int64_t t0_wall_us;        /* the same instant on the wall clock */
	const struct redact *redact;
	int err;                   /* the first write that failed (errno) */
};

/* One event with preformatted fields (ids in them escaped with
 * trace_str). */
void trace_event(struct trace *t, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* For events built field by field: trace_begin writes the common fields
 * into b (initialised by the caller), the caller appends ",\"k\":v"
 * pairs, trace_end closes, masks, writes and releases b. */
void trace_begin(struct trace *t, struct buf *b, const char *event);
void trace_end(struct trace *t, struct buf *b);
/* Whether events are written at all. */
int trace_on(const struct trace *t);

/* Returns s made safe inside a JSON string, in a (s itself when it needs
 * no escape; "" for NULL). */
const char *trace_str(struct arena *a, const char *s);

/* Appends {"class":..,"http_status":N|null,"message":..[,"model":..]}:
 * the one shape of an error in the report and the trace. */
void trace_put_error(struct buf *b, const char *cls, int http_status, const char *msg,
		     const char *model);

#endif
