#ifndef QUORUM_PROVIDERS_BODY_H
#define QUORUM_PROVIDERS_BODY_H
#include <stddef.h>

#include <cjson/cJSON.h>

#include "../common/buf.h"
#include "provider.h"
#include "sse.h"

/* What every wire format does with a 2xx response before its own fields
 * matter: hold a whole body under a cap, or frame a stream (SSE or NDJSON)
 * and parse each event as JSON; tell the two apart by the Content-Type,
 * or without one by the first byte (NDJSON: the first line) when a stream
 * was asked for and one document came instead; skip a UTF-8 BOM; keep
 * cJSON from cutting a string at a NUL; and say in the same words for
 * every provider what was cut, too large or not JSON.
 *
 * A provider's parser is a struct that starts with a struct body_reader
 * (so a struct resp_parser * is one of both), and says what its JSON means
 * through the hooks of a struct body_format. Private to providers/. */

struct body_reader;

/* One stream event: root is its data parsed as JSON, or NULL when the
 * data is not JSON (the hook then calls body_reader_bad_event, unless the
 * format knows that data, like OpenAI's [DONE]). event is the SSE event's
 * name, "" when it has none. Returns 0 to go on, or -1 with b->r failed. */
typedef int body_event_fn(struct body_reader *b, const cJSON *root,
			  const char *event, const char *data, size_t len);

/* The whole body s[0..n): root is it parsed as JSON, or NULL (the hook
 * then calls body_reader_bad_body, or body_reader_frame). Returns 0, or -1
 * with b->r failed. */
typedef int body_whole_fn(struct body_reader *b, const cJSON *root,
			  const char *s, size_t n);

/* A step of body_parser_finish that returns 0, or -1 with b->r failed. */
typedef int body_check_fn(struct body_reader *b);

struct body_format {
	/* The size of the format's parser struct, which starts with a struct
	 * body_reader (its other fields start zeroed). */
	size_t size;
	enum sse_mode framing;     /* how a stream is framed */
	/* What a whole JSON document opens with ("{", or "{[" where an array
	 * is one too): decides a stream that came whole, and tells a body
	 * cut mid-JSON from one that is no JSON. */
	const char *opens;
	/* The bytes skipped before the first byte (NDJSON: the first line)
	 * decides; NULL: a stream asked for is framed unless its Content-Type
	 * says JSON. */
	const char *lead;
	body_event_fn *event;
	body_whole_fn *whole;
	/* Every event of the stream was read: whether it ended as the format
	 * says (its last event came), or was cut. */
	body_check_fn *end;
	/* The answer is complete (r->complete set): checks that fail it all
	 * the same (a content filter, invalid UTF-8). NULL: none. */
	body_check_fn *verdict;
	/* Frees what the parser's own fields hold, before the body_reader's.
	 * NULL: they hold nothing. */
	void (*release)(struct body_reader *b);
};

enum body_mode {
	BODY_UNDECIDED,  /* a stream was asked for; only lead bytes yet (NDJSON:
			  * the first line, held in body, has not ended) */
	BODY_STREAM,
	BODY_WHOLE,      /* one JSON document: asked for, or sent instead of a stream */
};

/* A media type named in a message ("text/html"), cut to fit. */
#define BODY_TYPE_MAX 64

struct body_reader {
	const struct body_format *fmt;
	enum body_mode mode;
	size_t cap;              /* one body or one stream event */
	struct sse sse;
	struct buf body;         /* a whole body */
	int begun;               /* a body byte came */
	int bom;                 /* bytes of a leading UTF-8 BOM matched, 3 once
				  * the body's first byte is past it */
	char bad_type[BODY_TYPE_MAX]; /* a Content-Type no format reads, "" */
	struct chat_result *r;   /* the result of the feed or finish in progress */
	size_t added;            /* text bytes added by that feed */
	int ended;               /* the format's last event came: later bytes
				  * and events are not read */
	int failed;
};

/* provider.parser_new for a parser of fmt->size bytes reading a body in
 * fmt, borrowed for the parser's life. Returns new; free with
 * body_parser_free. NULL when memory is exhausted. */
struct resp_parser *body_parser_new(const struct body_format *fmt, int stream,
				    size_t max_bytes);

/* provider.parser_content_type: see provider.h. A type that is neither
 * JSON nor a stream but says nothing either (text/plain,
 * application/octet-stream: what servers send that label nothing) leaves
 * the guessing as without one. Called after the first byte, it is
 * ignored. */
void body_parser_content_type(struct resp_parser *rp, const char *content_type);

/* provider.parser_feed: holds a whole body, or frames a stream and calls
 * fmt->event per event. Returns the text bytes the feed added, or -1 with
 * r failed (then and on every later call). */
int body_parser_feed(struct resp_parser *rp, const char *data, size_t len,
		     struct chat_result *r);

/* provider.parser_finish: fmt->whole for a whole body, or fmt->end once
 * the stream's last event is read; then r->complete and fmt->verdict.
 * Returns 0, or -1 with r failed. */
int body_parser_finish(struct resp_parser *rp, struct chat_result *r);

/* provider.parser_free: frees what the format's own fields hold
 * (fmt->release), what the body_reader holds, and the parser. NULL is a
 * no-op. */
void body_parser_free(struct resp_parser *rp);

/* Appends s[0..n) to the answer, under its cap, and counts it for the
 * feed's return. Returns 0, or -1 with b->r failed (too_large). */
int body_reader_text(struct body_reader *b, const char *s, size_t n);

/* An event whose data is not JSON: truncated when the body ended inside
 * it (data that looks like a document cut short), a server error for an
 * `error` event, else malformed, quoting the data. Returns -1. */
int body_reader_bad_event(struct body_reader *b, const char *event,
			  const char *data, size_t len);

/* A whole body s[0..n) that is not JSON: truncated when it looks cut
 * mid-JSON, else malformed, quoting it. Returns -1. */
int body_reader_bad_body(struct body_reader *b, const char *s, size_t n);

/* Reads s[0..n), a body that came whole, as the stream it is after all
 * (lines from a server that streamed when asked not to): frames it and
 * ends the stream as body_parser_finish would. Returns 0, or -1 with b->r
 * failed. */
int body_reader_frame(struct body_reader *b, const char *s, size_t n);

/* Fails b->r when the answer is not valid UTF-8 (it would make the report
 * invalid JSON); checked once at the end, as a character may span two
 * events. The message names the first byte that cannot be where it is,
 * and the bytes of the sequence it breaks. Returns 0, or -1. */
int body_reader_check_text(struct body_reader *b);

#endif
