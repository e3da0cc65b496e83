/* The Anthropic Messages API format: a `message` object, or the SSE event
 * sequence message_start, content_block_start, ping, content_block_delta
 * (text_delta) pieces, content_block_stop, message_delta, message_stop. */
#include <string.h>

#include "reply.h"

/* A content filter has no content block and stops with "refusal"; the
 * current API says why in stop_details (null otherwise). */
static int put_stop(struct buf *b, const struct reply *r)
{
	if (r->end == END_STOP)
		return buf_puts(b, "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
				   "\"stop_details\":null");
	return buf_puts(b, "\"stop_reason\":\"refusal\",\"stop_sequence\":null,"
			   "\"stop_details\":{\"type\":\"refusal\",\"category\":null,"
			   "\"explanation\":\"mock: a simulated refusal\"}");
}

static int put_usage(struct buf *b, long input, long output)
{
	return buf_printf(b, "{\"input_tokens\":%ld,\"cache_creation_input_tokens\":0,"
			     "\"cache_read_input_tokens\":0,\"output_tokens\":%ld}",
			  input, output);
}

/* The message object up to its content: id, type, role, model. */
static int put_head(struct buf *b, const struct reply *r)
{
	int rc = buf_puts(b, "{\"id\":");
	rc |= buf_put_json_str(b, r->id);
	rc |= buf_puts(b, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
	rc |= buf_put_json_str(b, r->model);
	return rc;
}

/* Anthropic always reports usage: its schema requires it. */
int reply_anthropic(struct buf *b, const struct reply *r)
{
	int rc = put_head(b, r);
	rc |= buf_puts(b, ",\"content\":[");
	if (r->end == END_STOP) {
		rc |= buf_puts(b, "{\"type\":\"text\",\"text\":");
		rc |= buf_put_json_str(b, r->text);
		rc |= buf_putc(b, '}');
	}
	rc |= buf_puts(b, "],");
	rc |= put_stop(b, r);
	rc |= buf_puts(b, ",\"usage\":");
	rc |= put_usage(b, r->prompt_tokens,
			r->end == END_STOP ? r->completion_tokens : 0);
	rc |= buf_putc(b, '}');
	return rc ? -1 : 0;
}

/* "event: NAME\ndata: " */
static int ev_open(struct buf *b, const char *name)
{
	return buf_printf(b, "event: %s\ndata: ", name);
}

static int put_prelude(struct buf *b, struct sse_events *ev,
		       const struct reply *r, int block)
{
	int rc = ev_open(b, "message_start");
	rc |= buf_puts(b, "{\"type\":\"message_start\",\"message\":");
	rc |= put_head(b, r);
	rc |= buf_puts(b, ",\"content\":[],\"stop_reason\":null,"
			  "\"stop_sequence\":null,\"stop_details\":null,\"usage\":");
	rc |= put_usage(b, r->prompt_tokens, 1);
	rc |= buf_puts(b, "}}\n\n");
	rc |= reply_event(ev, b, 0, EV_META);
	if (block) {
		rc |= ev_open(b, "content_block_start");
		rc |= buf_puts(b, "{\"type\":\"content_block_start\",\"index\":0,"
				  "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
		rc |= reply_event(ev, b, 0, EV_META);
	}
	rc |= ev_open(b, "ping");
	rc |= buf_puts(b, "{\"type\": \"ping\"}\n\n");
	rc |= reply_event(ev, b, 0, EV_META);
	return rc;
}

static int put_pieces(struct buf *b, struct sse_events *ev,
		      const struct reply *r, size_t chunk_chars)
{
	int rc = 0;
	size_t off = 0, len = strlen(r->text);
	while (!rc && off < len) {
		size_t n = reply_span(r->text + off, chunk_chars);
		rc |= ev_open(b, "content_block_delta");
		rc |= buf_puts(b, "{\"type\":\"content_block_delta\",\"index\":0,"
				  "\"delta\":{\"type\":\"text_delta\",\"text\":");
		rc |= buf_put_json_strn(b, r->text + off, n);
		rc |= buf_puts(b, "}}\n\n");
		off += n;
		rc |= reply_event(ev, b, off, EV_PIECE);
	}
	return rc;
}

static int put_finish(struct buf *b, struct sse_events *ev,
		      const struct reply *r, int block)
{
	size_t len = r->end == END_STOP ? strlen(r->text) : 0;
	int rc = 0;
	if (block) {
		rc |= ev_open(b, "content_block_stop");
		rc |= buf_puts(b, "{\"type\":\"content_block_stop\",\"index\":0}\n\n");
		rc |= reply_event(ev, b, len, EV_META);
	}
	rc |= ev_open(b, "message_delta");
	rc |= buf_puts(b, "{\"type\":\"message_delta\",\"delta\":{");
	rc |= put_stop(b, r);
	rc |= buf_printf(b, "},\"usage\":{\"output_tokens\":%ld}}\n\n",
			 r->end == END_STOP ? r->completion_tokens : 0);
	rc |= reply_event(ev, b, len, EV_META);
	return rc;
}

int reply_anthropic_stream(struct buf *b, struct sse_events *ev,
			   const struct reply *r, size_t chunk_chars, int malformed)
{
	int block = r->end == END_STOP;
	int rc = put_prelude(b, ev, r, block);
	if (malformed) {
		rc |= ev_open(b, "content_block_delta");
		rc |= buf_puts(b, "{\"type\":\"content_block_delta\",\"index\":0,"
				  "\"delta\":{\"type\":\"text_delta\",\"text\": <<mock: "
				  "malformed chunk\n\n");
		rc |= reply_event(ev, b, 0, EV_PIECE);
	} else {
		if (block)
			rc |= put_pieces(b, ev, r, chunk_chars);
		rc |= put_finish(b, ev, r, block);
	}
	rc |= ev_open(b, "message_stop");
	rc |= buf_puts(b, "{\"type\":\"message_stop\"}\n\n");
	rc |= reply_event(ev, b, malformed || !block ? 0 : strlen(r->text), EV_META);
	return rc ? -1 : 0;
}

struct anthropic_error {
	int status;
	const char *type, *message;
};

static const struct anthropic_error errors[] = {
	{400, "invalid_request_error", "Invalid request."},
	{401, "authentication_error", "invalid x-api-key"},
	{402, "billing_error", "Your credit balance is too low."},
	{403, "permission_error", "Your API key does not have permission to use the specified resource."},
	{404, "not_found_error", "Not found."},
	{413, "request_too_large", "Request exceeds the maximum allowed number of bytes."},
	{429, "rate_limit_error", "Number of requests has exceeded your rate limit."},
	{500, "api_error", "Internal server error"},
	{504, "timeout_error", "Request timed out."},
	{529, "overloaded_error", "Overloaded"},
};

/* {"type":"error","error":{"type","message"}}; the same JSON is the data
 * of a mid-stream `error` event. */
int reply_anthropic_error(struct buf *b, int status, const char *message,
			  const char *type)
{
	struct anthropic_error d = {status, status >= 500 ? "api_error"
							  : "invalid_request_error",
				    "error"};
	for (size_t i = 0; i < sizeof(errors) / sizeof(*errors); i++)
		if (errors[i].status == status)
			d = errors[i];
	int rc = buf_puts(b, "{\"type\":\"error\",\"error\":{\"type\":");
	rc |= buf_put_json_str(b, type ? type : d.type);
	rc |= buf_puts(b, ",\"message\":");
	rc |= buf_put_json_str(b, message ? message : d.message);
	rc |= buf_puts(b, "}}");
	return rc ? -1 : 0;
}
