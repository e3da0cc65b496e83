#include "body.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "wire.h"

#define BODY_BOM "\xef\xbb\xbf"
#define BODY_BOM_LEN 3

/* Whether c is one of set's bytes; never the NUL that ends set. */
static int body_in(const char *set, char c)
{
	return c && set && strchr(set, c);
}

/* Whether the stream is NDJSON, whose events are "lines" in messages. */
static int body_lines(const struct body_reader *b)
{
	return b->fmt->framing == SSE_MODE_NDJSON;
}

static int body_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* ---- JSON with NULs ---- */

/* The escape \u0000 at s[i], which stays inside s[0..n). */
static int body_nul_escape(const char *s, size_t i, size_t n)
{
	return i + 5 < n && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4);
}

/* Walks the strings of the JSON text s[0..n) for NULs (the escape
 * \u0000, or a raw NUL byte, which cJSON lets through) and, when out is
 * not NULL, copies s there with each one as U+FFFD. A backslash escapes
 * the byte after it, so "\\u0000" is a backslash and text, no NUL.
 * Returns how many there were, or -1 when out refuses the bytes. */
static long body_nul_walk(const char *s, size_t n, struct buf *out)
{
	size_t from = 0;
	long found = 0;
	int in_str = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		size_t skip = 1;
		if (!in_str) {
			in_str = s[i] == '"';
			continue;
		}
		if (s[i] == '"') {
			in_str = 0;
		} else if (s[i] == '\\' && body_nul_escape(s, i, n)) {
			rep = "\\ufffd";
			skip = 6;
		} else if (s[i] == '\\') {
			i++;
		} else if (!s[i]) {
			rep = "\xef\xbf\xbd";
		}
		if (!rep)
			continue;
		found++;
		if (out && (buf_append(out, s + from, i - from) || buf_puts(out, rep)))
			return -1;
		from = i + skip;
		i += skip - 1;
	}
	if (out && found && buf_append(out, s + from, n - from))
		return -1;
	return found;
}

/* Parses s[0..n) as JSON. cJSON's strings end at a NUL, so an answer
 * "abc\u0000def" would come back as "abc" and look whole: each NUL in a
 * string becomes U+FFFD first. Returns new; free with cJSON_Delete. NULL
 * when it is no JSON (or memory ran out copying it). */
static cJSON *body_json(const struct body_reader *b, const char *s, size_t n)
{
	int depth = b->r->json_depth;
	if (!body_nul_walk(s, n, NULL))
		return json_parse(s, n, depth);
	struct buf t = BUF_INIT;
	cJSON *root = NULL;
	if (body_nul_walk(s, n, &t) > 0)
		root = json_parse(t.data, t.len, depth);
	buf_release(&t);
	return root;
}

/* ---- Content-Type ---- */

enum body_type {
	BODY_TYPE_NONE,    /* none, or one that says nothing: guess */
	BODY_TYPE_JSON,
	BODY_TYPE_STREAM,
	BODY_TYPE_OTHER,   /* a page, an image: not the API speaking */
};

static int body_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Copies the media type of a Content-Type value ("Text/HTML;
 * charset=utf-8" to "text/html") into out, lower-cased and fit to show
 * (a byte that is not printable ASCII becomes '?'), cut to fit. */
static void body_media_type(const char *value, char *out, size_t size)
{
	size_t n = 0;
	while (*value == ' ' || *value == '\t')
		value++;
	for (; *value && *value != ';' && *value != ' ' && *value != '\t'; value++) {
		unsigned char c = (unsigned char)*value;
		if (n + 1 >= size)
			break;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		else if (c < 0x21 || c > 0x7e)
			c = '?';
		out[n++] = (char)c;
	}
	out[n] = '\0';
}

static enum body_type body_type_of(const char *t)
{
	if (!*t || !strcmp(t, "text/plain") || !strcmp(t, "application/octet-stream"))
		return BODY_TYPE_NONE;
	if (!strcmp(t, "application/json") || body_ends_with(t, "+json"))
		return BODY_TYPE_JSON;
	if (!strcmp(t, "text/event-stream") || !strcmp(t, "application/x-ndjson"))
		return BODY_TYPE_STREAM;
	return BODY_TYPE_OTHER;
}

void body_parser_content_type(struct resp_parser *rp, const char *content_type)
{
	struct body_reader *b = (struct body_reader *)rp;
	char type[BODY_TYPE_MAX];
	if (b->begun || !content_type)
		return;
	body_media_type(content_type, type, sizeof(type));
	switch (body_type_of(type)) {
	case BODY_TYPE_JSON:
		/* For SSE the first byte already tells a document from a
		 * stream, and still reads a stream mislabelled as JSON; NDJSON
		 * cannot tell a pretty-printed document from lines. */
		if (body_lines(b))
			b->mode = BODY_WHOLE;
		break;
	case BODY_TYPE_STREAM:
		/* In the format's own framing: a mislabelled stream still
		 * parses, one that is not the format fails as it would. */
		b->mode = BODY_STREAM;
		break;
	case BODY_TYPE_OTHER:
		memcpy(b->bad_type, type, sizeof(type));
		break;
	case BODY_TYPE_NONE:
		break;
	}
}

/* A response whose Content-Type no format reads: failed at once, so an
 * HTML page is never read as a cut JSON body. */
static int body_refuse_type(struct body_reader *b)
{
	b->failed = 1;
	return chat_result_fail(b->r, ERR_MALFORMED,
				"response has content type '%s', not JSON or a stream",
				b->bad_type);
}

/* ---- the parser ---- */

/* sse_event_fn: parses one event for fmt->event. Returns non-zero to stop
 * the stream once r holds a failure. */
static int body_on_event(void *ctx, const char *event, const char *data,
			 size_t len)
{
	struct body_reader *b = ctx;
	if (b->ended)
		return 0;  /* nothing after the last event is the answer */
	/* The SSE spec dispatches an event whose data is empty ("data" or
	 * "data:" alone): it holds no JSON, and no answer. */
	if (!body_lines(b) && body_blank(data, len))
		return 0;
	cJSON *root = body_json(b, data, len);
	int rc = b->fmt->event(b, root, event, data, len);
	cJSON_Delete(root);
	return rc ? 1 : 0;
}

struct resp_parser *body_parser_new(const struct body_format *fmt, int stream,
				    size_t max_bytes)
{
	assert(fmt->size >= sizeof(struct body_reader));
	struct body_reader *b = q_calloc(1, fmt->size);
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
	if (b->fmt->release)
		b->fmt->release(b);
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

/* Holds data[0..len) of a whole body (or of an NDJSON first line), under
 * the cap. Returns 0, or -1 with b->r failed. */
static int body_hold(struct body_reader *b, const char *data, size_t len)
{
	if (len > b->cap - b->body.len) {
		b->failed = 1;
		return chat_result_fail(b->r, ERR_TOO_LARGE,
					"response body over %zu bytes", b->cap);
	}
	if (buf_append(&b->body, data, len)) {
		b->failed = 1;
		return chat_result_fail(b->r, ERR_TOO_LARGE,
					"out of memory reading the response");
	}
	return 0;
}

/* Whether the line s[0..n) is only an opening bracket, as a document
 * printed over many lines starts ("{\n  \"model\": ..."). No NDJSON line
 * is: each of its lines is a whole document. */
static int body_bracket_line(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n || (s[i] != '{' && s[i] != '['))
		return 0;
	return body_blank(s + i + 1, n - i - 1);
}

/* Decides an NDJSON body by its held first line s[0..eol): a document
 * printed over many lines is read whole; else the held bytes are the
 * stream's first. Returns 0, or -1 with b->r failed. */
static int body_decide_line(struct body_reader *b, size_t eol)
{
	if (body_bracket_line(b->body.data, eol)) {
		b->mode = BODY_WHOLE;
		return 0;
	}
	b->mode = BODY_STREAM;
	int rc = sse_feed(&b->sse, b->body.data, b->body.len);
	buf_reset(&b->body);
	return rc ? body_framer_failed(b) : 0;
}

/* A stream that was asked for may come back as one JSON document (an
 * error, or a server that does not stream). For SSE the first byte tells;
 * NDJSON opens with '{' as a document does, so there the first line is
 * held until it ends, and tells. */
static int body_decide(struct body_reader *b, const char **data, size_t *len)
{
	while (*len && !b->body.len && body_in(b->fmt->lead, **data))
		(*data)++, (*len)--;
	if (!*len)
		return 0;
	if (!body_lines(b)) {
		b->mode = body_in(b->fmt->opens, **data) ? BODY_WHOLE : BODY_STREAM;
		return 0;
	}
	size_t old = b->body.len;
	if (body_hold(b, *data, *len))
		return -1;
	*len = 0;
	for (size_t i = old; i < b->body.len; i++)
		if (b->body.data[i] == '\n' || b->body.data[i] == '\r')
			return body_decide_line(b, i);
	return 0;
}

/* Feeds body bytes past the BOM. Returns 0, or -1 with b->r failed. */
static int body_feed(struct body_reader *b, const char *data, size_t len)
{
	if (b->mode == BODY_UNDECIDED && body_decide(b, &data, &len))
		return -1;
	if (!len || b->ended)
		return 0;
	if (b->mode == BODY_WHOLE)
		return body_hold(b, data, len);
	if (sse_feed(&b->sse, data, len))
		return body_framer_failed(b);
	return 0;
}

/* A UTF-8 BOM that opens the body is no part of it (some servers write
 * one before their JSON). Bytes that only looked like its start are fed
 * after all. Returns 0, or -1 with b->r failed. */
static int body_bom(struct body_reader *b, const char **data, size_t *len)
{
	while (*len && b->bom < BODY_BOM_LEN) {
		if (**data != BODY_BOM[b->bom]) {
			size_t k = (size_t)b->bom;
			b->bom = BODY_BOM_LEN;
			return k ? body_feed(b, BODY_BOM, k) : 0;
		}
		b->bom++;
		(*data)++, (*len)--;
	}
	return 0;
}

int body_parser_feed(struct resp_parser *rp, const char *data, size_t len,
		     struct chat_result *r)
{
	struct body_reader *b = (struct body_reader *)rp;
	if (b->failed || r->err != ERR_NONE)
		return -1;
	b->r = r;
	b->added = 0;
	if (b->bad_type[0])
		return body_refuse_type(b);
	if (len)
		b->begun = 1;
	if (body_bom(b, &data, &len) || body_feed(b, data, len))
		return -1;
	return b->added > INT_MAX ? INT_MAX : (int)b->added;
}

static int body_whole(struct body_reader *b)
{
	const char *s = buf_str(&b->body);
	size_t n = b->body.len;
	cJSON *root = body_json(b, s, n);
	int rc = b->fmt->whole(b, root, s, n);
	cJSON_Delete(root);
	return rc;
}

/* An SSE stream's last lines that were no field may be one JSON document
 * written without `data:`: Gemini ends a stream that failed after it
 * began with its error object, printed over many lines. With no event
 * before it, it is a document sent as a stream, and read whole; else it
 * is one more event. Returns 1 to go on to fmt->end, 0 when the whole
 * document settled the body, or -1 with b->r failed. */
static int body_stray(struct body_reader *b)
{
	const struct buf *st = &b->sse.stray;
	if (b->ended || !st->len)
		return 1;
	cJSON *root = body_json(b, st->data, st->len);
	int rc = 1;
	if (cJSON_IsObject(root) || cJSON_IsArray(root)) {
		if (!b->sse.nevents)
			rc = b->fmt->whole(b, root, st->data, st->len);
		else if (b->fmt->event(b, root, "", st->data, st->len))
			rc = -1;
	}
	cJSON_Delete(root);
	return rc;
}

/* A stream without a newline at its end still has a last event. */
static int body_stream_end(struct body_reader *b)
{
	if (sse_finish(&b->sse))
		return body_framer_failed(b);
	int rc = body_lines(b) ? 1 : body_stray(b);
	return rc <= 0 ? rc : b->fmt->end(b);
}

/* What the end of the body leaves undecided: the start of a BOM is body
 * after all, and an NDJSON first line without its newline is decided as
 * if it had one. Returns 0, or -1 with b->r failed. */
static int body_settle(struct body_reader *b)
{
	if (b->bom > 0 && b->bom < BODY_BOM_LEN) {
		size_t k = (size_t)b->bom;
		b->bom = BODY_BOM_LEN;
		if (body_feed(b, BODY_BOM, k))
			return -1;
	}
	if (b->mode == BODY_UNDECIDED && body_lines(b))
		return body_decide_line(b, b->body.len);
	return 0;
}

/* The body ended: a whole one is read, a stream's last event settled. */
static int body_end(struct body_reader *b)
{
	if (body_settle(b))
		return -1;
	if (b->mode == BODY_WHOLE)
		return body_whole(b);
	if (b->mode == BODY_UNDECIDED)
		return chat_result_fail(b->r, ERR_TRUNCATED,
					"stream ended before any event");
	return body_stream_end(b);
}

int body_parser_finish(struct resp_parser *rp, struct chat_result *r)
{
	struct body_reader *b = (struct body_reader *)rp;
	if (b->failed || r->err != ERR_NONE)
		return -1;
	b->r = r;
	if (b->bad_type[0])
		return body_refuse_type(b);
	int rc = body_end(b);
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
	/* Data the end of the body cut is a document still open. Other
	 * text is no JSON however it ended (a page's "data: none;" line). */
	if (b->sse.eof && wire_json_looks_cut(data, len, b->fmt->opens))
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
	const unsigned char *t = (const unsigned char *)buf_str(&r->text);
	size_t n = r->text.len, at = wire_utf8_valid((const char *)t, n);
	if (at == n)
		return 0;
	size_t stop = wire_utf8_stop((const char *)t + at, n - at), k = 0;
	char seq[16] = "";
	/* The bytes before the bad one (at most 3) open the sequence it
	 * breaks. */
	for (size_t i = 0; i < stop && i < 3; i++)
		k += (size_t)snprintf(seq + k, sizeof(seq) - k, "%s0x%02x",
				      i ? " " : "", t[at + i]);
	if (!stop)
		return chat_result_fail(r, ERR_MALFORMED,
					"answer is not valid UTF-8 (byte 0x%02x at "
					"offset %zu)", t[at], at);
	if (at + stop == n)
		return chat_result_fail(r, ERR_MALFORMED,
					"answer is not valid UTF-8 (it ends inside "
					"the sequence %s at offset %zu)", seq, at);
	return chat_result_fail(r, ERR_MALFORMED,
				"answer is not valid UTF-8 (byte 0x%02x at offset "
				"%zu, after %s)", t[at + stop], at + stop, seq);
}
