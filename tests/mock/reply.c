#include "reply.h"

#include <string.h>

#include "../../common/alloc.h"

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
	rc |= buf_printf(b, ",\"object\":\"%s\",\"created\":%ld,\"model\":", object,
			 r->created);
	rc |= buf_put_json_str(b, r->model);
	return rc;
}

int reply_completion(struct buf *b, const struct reply *r)
{
	int rc = put_head(b, r, "chat.completion");
	rc |= buf_puts(b, ",\"choices\":[{\"index\":0,\"message\":"
			  "{\"role\":\"assistant\",\"content\":");
	rc |= buf_put_json_str(b, r->text);
	rc |= buf_puts(b, ",\"refusal\":null},\"logprobs\":null,"
			  "\"finish_reason\":\"stop\"}]");
	if (r->usage) {
		rc |= buf_puts(b, ",\"usage\":");
		rc |= put_usage(b, r);
	}
	rc |= buf_puts(b, "}");
	return rc ? -1 : 0;
}

int reply_malformed(struct buf *b, const struct reply *r)
{
	int rc = put_head(b, r, "chat.completion");
	rc |= buf_puts(b, ",\"choices\":[{\"index\":0,\"message\":"
			  "{\"role\":\"assistant\",\"content\":\"");
	rc |= buf_puts(b, "<<mock: malformed body>>");
	return rc ? -1 : 0;
}

static int ev_push(struct sse_events *ev, size_t end, size_t text_end, int piece)
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
		unsigned char *p = q_realloc(ev->piece, cap);
		if (!p)
			return -1;
		ev->piece = p;
		ev->cap = cap;
	}
	ev->end[ev->n] = end;
	ev->text_end[ev->n] = text_end;
	ev->piece[ev->n] = (unsigned char)piece;
	ev->n++;
	return 0;
}

void sse_events_release(struct sse_events *ev)
{
	q_free(ev->end);
	q_free(ev->text_end);
	q_free(ev->piece);
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

/* Bytes of the next n UTF-8 characters of s. */
static size_t utf8_span(const char *s, size_t n)
{
	size_t i = 0;
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
		size_t n = utf8_span(r->text + off, chunk_chars ? chunk_chars : 1);
		buf_reset(&delta);
		rc |= buf_puts(&delta, "{\"content\":");
		rc |= buf_put_json_strn(&delta, r->text + off, n);
		rc |= buf_putc(&delta, '}');
		off += n;
		rc |= put_chunk(b, r, buf_str(&delta), "null");
		rc |= ev_push(ev, b->len, off, 1);
	}
	buf_release(&delta);
	return rc;
}

int reply_stream(struct buf *b, struct sse_events *ev, const struct reply *r,
		 size_t chunk_chars, int malformed)
{
	int rc = put_chunk(b, r, "{\"role\":\"assistant\",\"content\":\"\"}", "null");
	rc |= ev_push(ev, b->len, 0, 0);
	if (malformed) {
		rc |= buf_puts(b, "data: {\"id\":");
		rc |= buf_put_json_str(b, r->id);
		rc |= buf_puts(b, ",\"object\":\"chat.completion.chunk\",\"choices\":"
				  "[{\"index\":0,\"delta\":{\"content\": <<mock: "
				  "malformed chunk\n\n");
		rc |= ev_push(ev, b->len, 0, 1);
	} else {
		rc |= put_pieces(b, ev, r, chunk_chars);
		rc |= put_chunk(b, r, "{}", "\"stop\"");
		rc |= ev_push(ev, b->len, strlen(r->text), 0);
	}
	if (!malformed && r->usage && r->include_usage) {
		rc |= buf_puts(b, "data: ");
		rc |= put_head(b, r, "chat.completion.chunk");
		rc |= buf_puts(b, ",\"choices\":[],\"usage\":");
		rc |= put_usage(b, r);
		rc |= buf_puts(b, "}\n\n");
		rc |= ev_push(ev, b->len, strlen(r->text), 0);
	}
	rc |= buf_puts(b, "data: [DONE]\n\n");
	rc |= ev_push(ev, b->len, malformed ? 0 : strlen(r->text), 0);
	return rc ? -1 : 0;
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

int reply_error(struct buf *b, int status, const char *message,
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
