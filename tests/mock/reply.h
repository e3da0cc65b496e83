#ifndef QUORUM_MOCK_REPLY_H
#define QUORUM_MOCK_REPLY_H
#include <stddef.h>

#include "../../common/buf.h"

/* The OpenAI chat completions wire format, as the mock writes it. Every
 * function appends to a buf and returns 0, or -1 when memory ran out. */

struct reply {
	const char *id;      /* "chatcmpl-mock-42" */
	const char *model;
	long created;        /* unix seconds */
	const char *text;
	long prompt_tokens, completion_tokens;
	int usage;           /* report usage at all */
	int include_usage;   /* stream_options.include_usage */
};

/* The events of a stream: `end[i]` is where event i ends in the buffer,
 * `piece[i]` is set for events that carry content (a chunk delay goes
 * before each), `text_end[i]` counts the content bytes sent by then. */
struct sse_events {
	size_t *end, *text_end;
	unsigned char *piece;
	size_t n, cap;
};

/* A deterministic token estimate: a quarter of the bytes, rounded up. */
long reply_tokens(const char *s);

/* A `chat.completion` object. */
int reply_completion(struct buf *b, const struct reply *r);
/* The same cut short: a 200 body that is not JSON. */
int reply_malformed(struct buf *b, const struct reply *r);
/* `data: {chunk}` events: the role, the text in pieces of chunk_chars
 * characters, the finish reason, the usage chunk when asked, `[DONE]`.
 * With `malformed`, the content event is not JSON. */
int reply_stream(struct buf *b, struct sse_events *ev, const struct reply *r,
		 size_t chunk_chars, int malformed);
void sse_events_release(struct sse_events *ev);

/* {"error": {"message", "type", "param", "code"}}; NULL message, type or
 * code take OpenAI's usual ones for the status. */
int reply_error(struct buf *b, int status, const char *message,
		const char *type, const char *code);

#endif
