/* Ollama's native /api/chat format: NDJSON lines {model, created_at,
 * message, done: false}, then a last line with done: true, done_reason
 * and the counts; without streaming that last line alone, holding the
 * whole message. Durations are nanoseconds. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reply.h"

/* "2024-08-07T03:57:33.036588812Z" */
static int put_head(struct buf *b, const struct reply *r)
{
	time_t sec = (time_t)(r->created_ns / 1000000000);
	struct tm tm;
	char when[32] = "1970-01-01T00:00:00";
	if (gmtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	int rc = buf_puts(b, "{\"model\":");
	rc |= buf_put_json_str(b, r->model);
	rc |= buf_printf(b, ",\"created_at\":\"%s.%09lldZ\",\"message\":"
			    "{\"role\":\"assistant\",\"content\":",
			 when, (long long)(r->created_ns % 1000000000));
	return rc;
}

/* The last line's counts and timings, closing the object. */
static int put_done(struct buf *b, const struct reply *r)
{
	long out = r->end == END_STOP ? r->completion_tokens : 0;
	long long load = 1000000, prompt = 200000LL * r->prompt_tokens,
		  eval = 2000000LL * (out ? out : 1);
	long long total = (long long)r->latency_ms * 1000000 + load + prompt + eval;
	int rc = buf_printf(b, "},\"done_reason\":\"stop\",\"done\":true,"
			       "\"total_duration\":%lld,\"load_duration\":%lld",
			    total, load);
	if (r->usage)
		rc |= buf_printf(b, ",\"prompt_eval_count\":%ld", r->prompt_tokens);
	rc |= buf_printf(b, ",\"prompt_eval_duration\":%lld", prompt);
	if (r->usage)
		rc |= buf_printf(b, ",\"eval_count\":%ld", out);
	rc |= buf_printf(b, ",\"eval_duration\":%lld}", eval);
	return rc;
}

/* Ollama has no content filter: a safety fault is an empty answer. */
int reply_ollama(struct buf *b, const struct reply *r)
{
	int rc = put_head(b, r);
	rc |= buf_put_json_str(b, r->end == END_STOP ? r->text : "");
	rc |= put_done(b, r);
	return rc ? -1 : 0;
}

int reply_ollama_stream(struct buf *b, struct sse_events *ev,
			const struct reply *r, size_t chunk_chars, int malformed)
{
	int rc = 0;
	size_t off = 0, len = r->end == END_STOP ? strlen(r->text) : 0;
	if (malformed) {
		rc |= put_head(b, r);
		rc |= buf_puts(b, " <<mock: malformed chunk\n");
		rc |= reply_event(ev, b, 0, EV_PIECE);
		return rc ? -1 : 0;
	}
	while (!rc && off < len) {
		size_t n = reply_span(r->text + off, chunk_chars);
		rc |= put_head(b, r);
		rc |= buf_put_json_strn(b, r->text + off, n);
		rc |= buf_puts(b, "},\"done\":false}\n");
		off += n;
		rc |= reply_event(ev, b, off, EV_PIECE);
	}
	rc |= put_head(b, r);
	rc |= buf_puts(b, "\"\"");
	rc |= put_done(b, r);
	rc |= buf_putc(b, '\n');
	rc |= reply_event(ev, b, len, EV_META);
	return rc ? -1 : 0;
}

struct ollama_error {
	int status;
	const char *message;
};

static const struct ollama_error errors[] = {
	{400, "invalid request"},
	{401, "unauthorized"},
	{403, "forbidden"},
	{404, "not found"},
	{429, "too many requests"},
	{500, "an error was encountered while running the model"},
	{503, "server busy, please try again.  maximum pending requests exceeded"},
};

/* {"error": "..."} */
int reply_ollama_error(struct buf *b, int status, const char *message)
{
	const char *m = "error";
	for (size_t i = 0; i < sizeof(errors) / sizeof(*errors); i++)
		if (errors[i].status == status)
			m = errors[i].message;
	int rc = buf_puts(b, "{\"error\":");
	rc |= buf_put_json_str(b, message ? message : m);
	rc |= buf_putc(b, '}');
	return rc ? -1 : 0;
}
