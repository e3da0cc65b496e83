#include "body.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "wire.h"

/* Whether c is one of set's bytes; never the NUL that ends set. */
static int body_in(const char *set, char c)
{
	return c && strchr(set, c);
}

/* Whether the stream is NDJSON, whose events are "lines" in messages. */
static int body_lines(const struct body_reader *b)
{
	return b->fmt->framing == SSE_MODE_NDJSON;
}

/* sse_event_fn: parses one event for fmt->event. Returns non-zero to stop
 * the stream once r holds a failure. */
static int body_on_event(void *ctx, const char *event, const char *data,
			 size_t len)
{
	struct body_reader *b = ctx;
	if (b->ended)
		return 0;  /* nothing after the last event is the answer */
	cJSON *root = json_parse(data, len, WIRE_JSON_DEPTH);
	int rc = b->fmt->event(b, root, event, data, len);
	cJSON_Delete(root);
	return rc ? 1 : 0;
}

struct resp_parser *body_parser_new(size_t size, const struct body_format *fmt,
				    int stream, size_t max_bytes)
{
	assert(size >= sizeof(struct body_reader));
	struct body_reader *b = q_calloc(1, size);
	if (!b)
		return NULL;
	b->fmt = fmt;
	b->mode = !stream ? BODY_WHOLE : fmt->lead ? BODY_UNDECIDED : BODY_STREAM;
	b->cap = wire_body_cap(max_bytes);
	buf_init(&b->body, 0);
	sse_init(&b->sse, fmt->framing, b->cap, body_on_event, b);
	return (struct resp_parser *)b;
}

void body_parser_free(struct resp_parser *rp)
{
	struct body_reader *b = (struct body_reader *)rp;
	if (!b)
		return;
	sse_release(&b->sse);
	buf_release(&b->body);
	q_free(b);
}

/* The framer failed: a callback already said why, or a cap was hit. */
static int body_framer_failed(struct body_reader *b)
{
	b->failed = 1;
	if (b->sse.err == SSE_TOO_LARGE)
		return chat_result_fail(b->r, ERR_TOO_LARGE, "stream %s over %zu bytes",
					body_lines(b) ? "line" : "event", b->cap);
	if (b->sse.err == SSE_NOMEM)
		return chat_result_fail(b->r, ERR_TOO_LARGE,
					"out of memory reading the stream");
	return -1;
}

/* A stream that was asked for may come back as one JSON document (an
 * error, or a server that does not stream): the first byte tells. */
static void body_decide(struct body_reader *b, const char **data, size_t *len)
{
	while (*len && body_in(b->fmt->lead, **data))
		(*data)++, (*len)--;
	if (*len)
		b->mode = body_in(b->fmt->opens, **data) ? BODY_WHOLE : BODY_STREAM;
}

int body_parser_feed(struct resp_parser *rp, const char *data, size_t len,
		     struct chat_result *r)
{
	struct body_reader *b = (struct body_reader *)rp;
	if (b->failed || r->err != ERR_NONE)
		return -1;
	b->r = r;
	b->added = 0;
	if (b->mode == BODY_UNDECIDED)
		body_decide(b, &data, &len);
	if (!len || b->ended)
		return 0;
	if (b->mode == BODY_WHOLE) {
		if (len > b->cap - b->body.len) {
			b->failed = 1;
			return chat_result_fail(r, ERR_TOO_LARGE,
						"response body over %zu bytes", b->cap);
		}
		if (buf_append(&b->body, data, len)) {
			b->failed = 1;
			return chat_result_fail(r, ERR_TOO_LARGE,
						"out of memory reading the response");
		}
		return 0;
	}
	if (sse_feed(&b->sse, data, len))
		return body_framer_failed(b);
	return b->added > INT_MAX ? INT_MAX : (int)b->added;
}

static int body_whole(struct body_reader *b)
{
	const char *s = buf_str(&b->body);
	size_t n = b->body.len;
	cJSON *root = json_parse(s, n, WIRE_JSON_DEPTH);
	int rc = b->fmt->whole(b, root, s, n);
	cJSON_Delete(root);
	return rc;
}

/* A stream without a newline at its end still has a last event. */
static int body_stream_end(struct body_reader *b)
{
	if (sse_finish(&b->sse))
		return body_framer_failed(b);
	return b->fmt->end(b);
}

int body_parser_finish(struct resp_parser *rp, struct chat_result *r)
{
	struct body_reader *b = (struct body_reader *)rp;
	if (b->failed || r->err != ERR_NONE)
		return -1;
	b->r = r;
	int rc;
	if (b->mode == BODY_WHOLE)
		rc = body_whole(b);
	else if (b->mode == BODY_UNDECIDED)
		rc = chat_result_fail(r, ERR_TRUNCATED, "stream ended before any event");
	else
		rc = body_stream_end(b);
	if (!rc) {
		r->complete = 1;
		rc = b->fmt->verdict ? b->fmt->verdict(b) : 0;
	}
	if (rc)
		b->failed = 1;
	return rc ? -1 : 0;
}

int body_reader_text(struct body_reader *b, const char *s, size_t n)
{
	struct chat_result *r = b->r;
	if (r->text.max && n > r->text.max - r->text.len)
		return chat_result_fail(r, ERR_TOO_LARGE, "answer over %zu bytes",
					r->text.max);
	if (buf_append(&r->text, s, n))
		return chat_result_fail(r, ERR_TOO_LARGE,
					"out of memory holding the answer");
	b->added += n;
	return 0;
}

int body_reader_bad_event(struct body_reader *b, const char *event,
			  const char *data, size_t len)
{
	int lines = body_lines(b);
	/* An SSE event's lines all ended when the body did; an NDJSON line
	 * may be cut anywhere, and only one that looks cut was. */
	if (b->sse.eof && (!lines || wire_json_looks_cut(data, len, b->fmt->opens)))
		return chat_result_fail(b->r, ERR_TRUNCATED, "stream ended inside %s",
					lines ? "a line" : "an event");
	if (!strcmp(event, "error"))
		return wire_fail_excerpt(b->r, ERR_SERVER, "stream error event", data,
					 len);
	return wire_fail_excerpt(b->r, ERR_MALFORMED,
				 lines ? "stream line is not JSON"
				       : "stream event is not JSON",
				 data, len);
}

int body_reader_bad_body(struct body_reader *b, const char *s, size_t n)
{
	if (wire_json_looks_cut(s, n, b->fmt->opens))
		return chat_result_fail(b->r, ERR_TRUNCATED,
					"response body ended after %zu bytes, mid-JSON",
					n);
	return wire_fail_excerpt(b->r, ERR_MALFORMED, "response is not JSON", s, n);
}

int body_reader_frame(struct body_reader *b, const char *s, size_t n)
{
	if (sse_feed(&b->sse, s, n))
		return body_framer_failed(b);
	return body_stream_end(b);
}

int body_reader_check_text(struct body_reader *b)
{
	struct chat_result *r = b->r;
	size_t ok = wire_utf8_valid(buf_str(&r->text), r->text.len);
	if (ok < r->text.len)
		return chat_result_fail(r, ERR_MALFORMED,
					"answer is not valid UTF-8 (byte 0x%02x at "
					"offset %zu)",
					(unsigned char)r->text.data[ok], ok);
	return 0;
}
