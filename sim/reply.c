/* The OpenAI chat completions format, and what every format shares. */
#include "reply.h"

#include <string.h>

#include "../common/alloc.h"

const char *const mock_wire_names[] = {
	[WIRE_OPENAI] = "openai", [WIRE_ANTHROPIC] = "anthropic",
	[WIRE_GEMINI] = "gemini", [WIRE_OLLAMA] = "ollama",
};

long reply_tokens(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return (long)((n + 3) / 4);
}

static int put_usage(struct buf *b, const struct reply *r)
{
	return buf_printf(b, "{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,"
			     "\"total_tokens\":%ld}",
			  r->prompt_tokens, r->completion_tokens,
			  r->prompt_tokens + r->completion_tokens);
}

static int put_head(struct buf *b, const struct reply *r, const char *object)
{
	int rc = buf_puts(b, "{\"id\":");
	rc |= buf_put_json_str(b, r->id);
	rc |= buf_printf(b, ",\"object\":\"%s\",\"created\":%lld,\"model\":", object,
			 (long long)(r->created_ns / 1000000000));
	rc |= buf_put_json_str(b, r->model);
	return rc;
}

/* A content filter leaves no text: content null, finish content_filter. */
static const char *finish_of(const struct reply *r)
{
	return r->end == END_STOP ? "\"stop\"" : "\"content_filter\"";
}

static int openai_completion(struct buf *b, const struct reply *r)
{
	int rc = put_head(b, r, "chat.completion");
	rc |= buf_puts(b, ",\"choices\":[{\"index\":0,\"message\":"
			  "{\"role\":\"assistant\",\"content\":");
	rc |= r->end == END_STOP ? buf_put_json_str(b, r->text) : buf_puts(b, "null");
	rc |= buf_printf(b, ",\"refusal\":null},\"logprobs\":null,"
			    "\"finish_reason\":%s}]", finish_of(r));
	if (r->usage) {
		rc |= buf_puts(b, ",\"usage\":");
		rc |= put_usage(b, r);
	}
	rc |= buf_puts(b, "}");
	return rc ? -1 : 0;
}

int reply_completion(struct buf *b, const struct reply *r)
{
	switch (r->wire) {
	case WIRE_ANTHROPIC:
		return reply_anthropic(b, r);
	case WIRE_GEMINI:
		return reply_gemini(b, r);
	case WIRE_OLLAMA:
		return reply_ollama(b, r);
	case WIRE_OPENAI:
		break;
	}
	return openai_completion(b, r);
}

/* The first half of the real body, then a marker: JSON that never ends,
 * whatever the format. */
int reply_malformed(struct buf *b, const struct reply *r)
{
	struct buf whole = BUF_INIT;
	int rc = reply_completion(&whole, r);
	if (!rc)
		rc = buf_append(b, whole.data, whole.len / 2);
	buf_release(&whole);
	rc |= buf_puts(b, "<<mock: malformed body>>");
	return rc ? -1 : 0;
}

int reply_event(struct sse_events *ev, const struct buf *b, size_t text_end,
		enum ev_kind kind)
{
	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 16;
		size_t *e = q_realloc(ev->end, cap * sizeof(*e));
		if (!e)
			return -1;
		ev->end = e;
		size_t *t = q_realloc(ev->text_end, cap * sizeof(*t));
		if (!t)
			return -1;
		ev->text_end = t;
		unsigned char *k = q_realloc(ev->kind, cap);
		if (!k)
			return -1;
		ev->kind = k;
		ev->cap = cap;
	}
	ev->end[ev->n] = b->len;
	ev->text_end[ev->n] = text_end;
	ev->kind[ev->n] = (unsigned char)kind;
	ev->n++;
	return 0;
}

void sse_events_release(struct sse_events *ev)
{
	q_free(ev->end);
	q_free(ev->text_end);
	q_free(ev->kind);
	memset(ev, 0, sizeof(*ev));
}

/* One `data:` event with `delta` and `finish` as JSON text. */
static int put_chunk(struct buf *b, const struct reply *r, const char *delta,
		     const char *finish)
{
	int rc = buf_puts(b, "data: ");
	rc |= put_head(b, r, "chat.completion.chunk");
	rc |= buf_printf(b, ",\"choices\":[{\"index\":0,\"delta\":%s,"
			    "\"logprobs\":null,\"finish_reason\":%s}]",
			 delta, finish);
	if (r->usage && r->include_usage)
		rc |= buf_puts(b, ",\"usage\":null");
	rc |= buf_puts(b, "}\n\n");
	return rc;
}

size_t reply_span(const char *s, size_t n)
{
	size_t i = 0;
	if (!n)
		n = 1;
	while (s[i] && n) {
		i++;
		while (((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		n--;
	}
	return i;
}

static int put_pieces(struct buf *b, struct sse_events *ev,
		      const struct reply *r, size_t chunk_chars)
{
	struct buf delta = BUF_INIT;
	int rc = 0;
	size_t off = 0, len = strlen(r->text);
	while (!rc && off < len) {
		size_t n = reply_span(r->text + off, chunk_chars);
		buf_reset(&delta);
		rc |= buf_puts(&delta, "{\"content\":");
		rc |= buf_put_json_strn(&delta, r->text + off, n);
		rc |= buf_putc(&delta, '}');
		off += n;
		rc |= put_chunk(b, r, buf_str(&delta), "null");
		rc |= reply_event(ev, b, off, EV_PIECE);
	}
	buf_release(&delta);
	return rc;
}

static int openai_stream(struct buf *b, struct sse_events *ev,
			 const struct reply *r, size_t chunk_chars, int malformed)
{
	size_t len = r->end == END_STOP && !malformed ? strlen(r->text) : 0;
	int rc = put_chunk(b, r, "{\"role\":\"assistant\",\"content\":\"\"}", "null");
	rc |= reply_event(ev, b, 0, EV_META);
	if (malformed) {
		rc |= buf_puts(b, "data: {\"id\":");
		rc |= buf_put_json_str(b, r->id);
		rc |= buf_puts(b, ",\"object\":\"chat.completion.chunk\",\"choices\":"
				  "[{\"index\":0,\"delta\":{\"content\": <<mock: "
				  "malformed chunk\n\n");
		rc |= reply_event(ev, b, 0, EV_PIECE);
	} else {
		if (r->end == END_STOP)
			rc |= put_pieces(b, ev, r, chunk_chars);
		rc |= put_chunk(b, r, "{}", finish_of(r));
		rc |= reply_event(ev, b, len, EV_META);
	}
	if (!malformed && r->usage && r->include_usage) {
		rc |= buf_puts(b, "data: ");
		rc |= put_head(b, r, "chat.completion.chunk");
		rc |= buf_puts(b, ",\"choices\":[],\"usage\":");
		rc |= put_usage(b, r);
		rc |= buf_puts(b, "}\n\n");
		rc |= reply_event(ev, b, len, EV_META);
	}
	rc |= buf_puts(b, "data: [DONE]\n\n");
	rc |= reply_event(ev, b, len, EV_META);
	return rc ? -1 : 0;
}

int reply_stream(struct buf *b, struct sse_events *ev, const struct reply *r,
		 size_t chunk_chars, int malformed)
{
	switch (r->wire) {
	case WIRE_ANTHROPIC:
		return reply_anthropic_stream(b, ev, r, chunk_chars, malformed);
	case WIRE_GEMINI:
		return reply_gemini_stream(b, ev, r, chunk_chars, malformed);
	case WIRE_OLLAMA:
		return reply_ollama_stream(b, ev, r, chunk_chars, malformed);
	case WIRE_OPENAI:
		break;
	}
	return openai_stream(b, ev, r, chunk_chars, malformed);
}

/* A newline and depth levels of indentation. */
static int put_indent(struct buf *b, int depth)
{
	int rc = buf_putc(b, '\n');
	for (int i = 0; i < depth; i++)
		rc |= buf_puts(b, "  ");
	return rc;
}

/* The index after the string that opens at s[i] ('"'). */
static size_t string_end(const char *s, size_t len, size_t i)
{
	for (i++; i < len && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

/* The next byte at or after i that is not blank. */
static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

int reply_pretty(struct buf *b)
{
	struct buf o = BUF_INIT;
	const char *s = b->data ? b->data : "";
	int depth = 0, rc = 0;
	for (size_t i = 0; i < b->len && !rc;) {
		char c = s[i];
		if (c == '"') {
			size_t e = string_end(s, b->len, i);
			rc |= buf_append(&o, s + i, e - i);
			i = e;
			continue;
		}
		i++;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if ((c == '{' || c == '[') && i < b->len &&
		    s[skip_ws(s, b->len, i)] == (c == '{' ? '}' : ']')) {
			/* {} and [] stay on one line. */
			rc |= buf_putc(&o, c);
			i = skip_ws(s, b->len, i);
			rc |= buf_putc(&o, s[i++]);
		} else if (c == '{' || c == '[') {
			rc |= buf_putc(&o, c) | put_indent(&o, ++depth);
		} else if (c == '}' || c == ']') {
			rc |= put_indent(&o, depth > 0 ? --depth : 0) | buf_putc(&o, c);
		} else if (c == ',') {
			rc |= buf_putc(&o, c) | put_indent(&o, depth);
		} else if (c == ':') {
			rc |= buf_puts(&o, ": ");
		} else {
			rc |= buf_putc(&o, c);
		}
	}
	rc |= buf_putc(&o, '\n');
	if (rc) {
		buf_release(&o);
		return -1;
	}
	buf_release(b);
	*b = o;
	return 0;
}

struct error_default {
	int status;
	const char *message, *type, *code;
};

static const struct error_default error_defaults[] = {
	{400, "invalid request", "invalid_request_error", NULL},
	{401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"},
	{403, "You are not allowed to sample from this model.", "permission_error", NULL},
	{404, "The requested resource does not exist.", "invalid_request_error", "not_found"},
	{408, "Request timed out.", "timeout", NULL},
	{413, "Request too large.", "invalid_request_error", "request_too_large"},
	{429, "Rate limit reached for requests. Please try again later.", "requests",
	 "rate_limit_exceeded"},
	{500, "The server had an error while processing your request. Sorry about that!",
	 "server_error", NULL},
	{502, "Bad gateway.", "server_error", NULL},
	{503, "The engine is currently overloaded, please try again later.",
	 "server_error", "overloaded"},
	{504, "Gateway timeout.", "timeout", NULL},
};

static int openai_error(struct buf *b, int status, const char *message,
			const char *type, const char *code)
{
	struct error_default d = {status, "error", status >= 500 ? "server_error"
								  : "invalid_request_error",
				  NULL};
	for (size_t i = 0; i < sizeof(error_defaults) / sizeof(*error_defaults); i++)
		if (error_defaults[i].status == status)
			d = error_defaults[i];
	int rc = buf_puts(b, "{\"error\":{\"message\":");
	rc |= buf_put_json_str(b, message ? message : d.message);
	rc |= buf_puts(b, ",\"type\":");
	rc |= buf_put_json_str(b, type ? type : d.type);
	rc |= buf_puts(b, ",\"param\":null,\"code\":");
	if (code || d.code)
		rc |= buf_put_json_str(b, code ? code : d.code);
	else
		rc |= buf_puts(b, "null");
	rc |= buf_puts(b, "}}");
	return rc ? -1 : 0;
}

int reply_error(struct buf *b, enum mock_wire wire, int status,
		const char *message, const char *type, const char *code)
{
	switch (wire) {
	case WIRE_ANTHROPIC:
		return reply_anthropic_error(b, status, message, type);
	case WIRE_GEMINI:
		return reply_gemini_error(b, status, message, type, 0);
	case WIRE_OLLAMA:
		return reply_ollama_error(b, status, message);
	case WIRE_OPENAI:
		break;
	}
	return openai_error(b, status, message, type, code);
}

int reply_stream_error(struct buf *b, const struct reply *r, int status,
		       const char *message, const char *type, const char *code)
{
	int rc = 0;
	switch (r->wire) {
	case WIRE_OPENAI:
		rc |= buf_puts(b, "data: ");
		rc |= openai_error(b, status, message, type, code);
		rc |= buf_puts(b, "\n\n");
		break;
	case WIRE_ANTHROPIC:
		rc |= buf_puts(b, "event: error\ndata: ");
		rc |= reply_anthropic_error(b, status, message, type);
		rc |= buf_puts(b, "\n\n");
		break;
	case WIRE_GEMINI:
		if (r->gemini_array)
			rc |= buf_puts(b, b->len ? ",\r\n" : "[");
		else
			rc |= buf_puts(b, "data: ");
		rc |= reply_gemini_error(b, status, message, type, 1);
		rc |= buf_puts(b, r->gemini_array ? "]" : "\r\n\r\n");
		break;
	case WIRE_OLLAMA:
		rc |= reply_ollama_error(b, status, message);
		rc |= buf_putc(b, '\n');
		break;
	}
	return rc ? -1 : 0;
}
