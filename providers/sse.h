#ifndef QUORUM_PROVIDERS_SSE_H
#define QUORUM_PROVIDERS_SSE_H
#include <stddef.h>

#include "../common/buf.h"

/* An incremental framer for streamed responses, shared by every wire
 * format: Server-Sent Events (text/event-stream, as the WHATWG spec reads
 * them) or NDJSON (one JSON document per line). Fed body bytes in any
 * slicing, it calls back once per complete event. Lines end in LF, CRLF or
 * CR, a CRLF split across two slices included. One line and one event are
 * capped, so a hostile server gets an error, not our memory. */

enum sse_mode {
	SSE_MODE_SSE,     /* `event:` and `data:` fields, dispatch on a blank line */
	SSE_MODE_NDJSON,  /* each non-blank line is one event */
};

enum sse_error {
	SSE_OK,
	SSE_TOO_LARGE,    /* a line or an event went past the cap */
	SSE_NOMEM,
	SSE_STOPPED,      /* the callback asked to stop */
};

/* Called once per event. `event` is the last `event:` field's value, ""
 * when none was sent (always "" in NDJSON mode). `data` is the event's
 * `data:` lines joined with "\n" (NDJSON: the line), len bytes, borrowed
 * for the call, not NUL-terminated in general. Returns 0 to go on, non-zero
 * to stop: sse_feed then returns -1 with err SSE_STOPPED. */
typedef int sse_event_fn(void *ctx, const char *event, const char *data,
			 size_t len);

struct sse {
	enum sse_mode mode;
	sse_event_fn *on_event;
	void *ctx;
	size_t max;          /* cap on one line and on one event's data */
	struct buf line;     /* a line split across slices */
	struct buf data;     /* the event's data lines so far */
	struct buf event;    /* the event's name so far */
	int has_data;        /* a data: line was seen (it may be empty) */
	int after_cr;        /* the last byte was a CR: a LF next belongs to it */
	int started;         /* the first line was seen (a BOM is dropped) */
	int eof;             /* set by sse_finish, for callbacks that care */
	enum sse_error err;
	size_t nevents;      /* events dispatched */
	size_t nunknown;     /* lines that were neither a field we know,
			      * a comment nor blank: counts garbage */
	/* Those lines since the last `data:` line, joined with "\n" (SSE
	 * mode): a JSON document a server wrote without `data:` (an error
	 * after the stream began), for the caller to read at the end.
	 * Dropped, not failed, past max (stray_over set until the next
	 * `data:` line). */
	struct buf stray;
	int stray_over;
};

#define SSE_DEFAULT_MAX ((size_t)4 << 20)

/* Initialises s; max 0 means SSE_DEFAULT_MAX. on_event is borrowed, ctx
 * is passed to it. */
void sse_init(struct sse *s, enum sse_mode mode, size_t max,
	      sse_event_fn *on_event, void *ctx);
/* Frees what s holds. */
void sse_release(struct sse *s);

/* Feeds p[0..len) (any slice, not NUL-terminated), calling on_event for
 * each event it completes. Returns 0, or -1 with s->err set when a cap is
 * hit, memory is exhausted or the callback stops; every later call then
 * returns -1 at once. */
int sse_feed(struct sse *s, const char *p, size_t len);

/* The stream ended. A line cut without its end is dispatched in NDJSON
 * mode (a last line without a newline is common there); in SSE mode it is
 * dropped when it may be half a field we know (half an event), and counts
 * as an unknown line otherwise (a one-line page with no newline is no
 * event stream). An SSE event whose lines all ended but whose blank line
 * never came is dispatched. s->eof is set while these callbacks run.
 * Returns 0 or -1 as sse_feed. */
int sse_finish(struct sse *s);

#endif
