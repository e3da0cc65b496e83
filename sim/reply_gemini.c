/* The Gemini API format: a GenerateContentResponse, or a stream of them
 * (`data:` events with alt=sse, else one JSON array), the last piece with
 * finishReason and the full usageMetadata, no terminator. */
#include <string.h>

#include "reply.h"

/* The tail of every response: usage (when reported), model version and
 * response id, closing the object. */
static int put_tail(struct buf *b, const struct reply *r, long completion)
{
	int rc = 0;
	if (r->usage) {
		rc |= buf_printf(b, ",\"usageMetadata\":{\"promptTokenCount\":%ld",
				 r->prompt_tokens);
		if (completion)
			rc |= buf_printf(b, ",\"candidatesTokenCount\":%ld", completion);
		rc |= buf_printf(b, ",\"totalTokenCount\":%ld}",
				 r->prompt_tokens + completion);
	}
	rc |= buf_puts(b, ",\"modelVersion\":");
	rc |= buf_put_json_str(b, r->model);
	rc |= buf_puts(b, ",\"responseId\":");
	rc |= buf_put_json_str(b, r->id);
	rc |= buf_putc(b, '}');
	return rc;
}

static const char safety_ratings[] =
	"\"safetyRatings\":["
	"{\"category\":\"HARM_CATEGORY_HATE_SPEECH\",\"probability\":\"NEGLIGIBLE\"},"
	"{\"category\":\"HARM_CATEGORY_DANGEROUS_CONTENT\",\"probability\":\"HIGH\","
	"\"blocked\":true},"
	"{\"category\":\"HARM_CATEGORY_HARASSMENT\",\"probability\":\"NEGLIGIBLE\"},"
	"{\"category\":\"HARM_CATEGORY_SEXUALLY_EXPLICIT\",\"probability\":\"NEGLIGIBLE\"}]";

/* A safety block: a candidate stopped for SAFETY with no content, or for a
 * blocked prompt no candidate at all and promptFeedback.blockReason. */
static int put_blocked(struct buf *b, const struct reply *r)
{
	int rc;
	if (r->end == END_BLOCK_PROMPT)
		rc = buf_printf(b, "{\"promptFeedback\":{\"blockReason\":\"SAFETY\",%s}",
				safety_ratings);
	else
		rc = buf_printf(b, "{\"candidates\":[{\"finishReason\":\"SAFETY\","
				   "\"index\":0,%s}]", safety_ratings);
	return rc | put_tail(b, r, 0);
}

/* One response carrying text[0..n); `last` adds the finish and full usage. */
static int put_text(struct buf *b, const struct reply *r, const char *text,
		    size_t n, int last)
{
	int rc = buf_puts(b, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":");
	rc |= buf_put_json_strn(b, text, n);
	rc |= buf_puts(b, "}],\"role\":\"model\"},");
	if (last)
		rc |= buf_puts(b, "\"finishReason\":\"STOP\",");
	rc |= buf_puts(b, "\"index\":0}]");
	return rc | put_tail(b, r, last ? r->completion_tokens : 0);
}

int reply_gemini(struct buf *b, const struct reply *r)
{
	int rc = r->end == END_STOP ? put_text(b, r, r->text, strlen(r->text), 1)
				    : put_blocked(b, r);
	return rc ? -1 : 0;
}

/* Opens the next stream element: an SSE event, or the next array item. */
static int put_open(struct buf *b, const struct reply *r)
{
	if (!r->gemini_array)
		return buf_puts(b, "data: ");
	return buf_puts(b, b->len ? ",\r\n" : "[");
}

static int put_close(struct buf *b, const struct reply *r)
{
	return r->gemini_array ? 0 : buf_puts(b, "\r\n\r\n");
}

static int put_pieces(struct buf *b, struct sse_events *ev,
		      const struct reply *r, size_t chunk_chars)
{
	int rc = 0;
	size_t off = 0, len = strlen(r->text);
	do {
		size_t n = reply_span(r->text + off, chunk_chars);
		int last = off + n >= len;
		rc |= put_open(b, r);
		rc |= put_text(b, r, r->text + off, n, last);
		rc |= put_close(b, r);
		off += n;
		rc |= reply_event(ev, b, off, last ? EV_LAST : EV_PIECE);
	} while (!rc && off < len);
	return rc;
}

int reply_gemini_stream(struct buf *b, struct sse_events *ev,
			const struct reply *r, size_t chunk_chars, int malformed)
{
	int rc = 0;
	if (malformed) {
		rc |= put_open(b, r);
		rc |= buf_puts(b, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\": "
				  "<<mock: malformed chunk");
		rc |= buf_puts(b, r->gemini_array ? "" : "\r\n\r\n");
		rc |= reply_event(ev, b, 0, EV_PIECE);
	} else if (r->end != END_STOP) {
		rc |= put_open(b, r);
		rc |= put_blocked(b, r);
		rc |= put_close(b, r);
		rc |= reply_event(ev, b, 0, EV_META);
	} else {
		rc |= put_pieces(b, ev, r, chunk_chars);
	}
	if (r->gemini_array) {
		rc |= buf_putc(b, ']');
		rc |= reply_event(ev, b, malformed || r->end != END_STOP
						 ? 0 : strlen(r->text), EV_META);
	}
	return rc ? -1 : 0;
}

struct gemini_error {
	int status;
	const char *name, *message;
};

static const struct gemini_error errors[] = {
	{400, "INVALID_ARGUMENT", "Request contains an invalid argument."},
	{401, "UNAUTHENTICATED", "Request had invalid authentication credentials."},
	{403, "PERMISSION_DENIED", "The caller does not have permission"},
	{404, "NOT_FOUND", "Requested entity was not found."},
	{409, "ABORTED", "The operation was aborted."},
	{429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."},
	{499, "CANCELLED", "The operation was cancelled."},
	{500, "INTERNAL", "An internal error has occurred. Please retry or report in "
			  "https://developers.generativeai.google/guide/troubleshooting"},
	{501, "UNIMPLEMENTED", "Method not implemented."},
	{503, "UNAVAILABLE", "The model is overloaded. Please try again later."},
	{504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."},
};

/* Google's JSON errors come indented by two spaces; in a stream, on one
 * line. */
int reply_gemini_error(struct buf *b, int status, const char *message,
		       const char *type, int compact)
{
	struct gemini_error d = {status, status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT",
				 "error"};
	for (size_t i = 0; i < sizeof(errors) / sizeof(*errors); i++)
		if (errors[i].status == status)
			d = errors[i];
	const char *nl = compact ? "" : "\n", *ind = compact ? "" : "  ";
	int rc = buf_printf(b, "{%s%s\"error\":%s{%s%s%s\"code\":%s%d,", nl, ind,
			    compact ? "" : " ", nl, ind, ind, compact ? "" : " ", status);
	rc |= buf_printf(b, "%s%s%s\"message\":%s", nl, ind, ind, compact ? "" : " ");
	rc |= buf_put_json_str(b, message ? message : d.message);
	rc |= buf_printf(b, ",%s%s%s\"status\":%s", nl, ind, ind, compact ? "" : " ");
	rc |= buf_put_json_str(b, type ? type : d.name);
	rc |= buf_printf(b, "%s%s}%s}%s", nl, ind, nl, nl);
	return rc ? -1 : 0;
}
