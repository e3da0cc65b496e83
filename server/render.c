/* OpenAI's shapes, byte for byte as its API sends them where a client
 * could care: the keys, their types, null where OpenAI writes null. */
#include "render.h"

#include <string.h>

static int put_usage(struct buf *b, const struct oai_usage *u)
{
	long long p = u->prompt_tokens > 0 ? u->prompt_tokens : 0;
	long long c = u->completion_tokens > 0 ? u->completion_tokens : 0;
	return buf_printf(b, "{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
			  "\"total_tokens\":%lld}", p, c, p + c);
}

static int put_head(struct buf *b, const struct oai_head *h, const char *object)
{
	int rc = buf_puts(b, "{\"id\":");
	rc |= buf_put_json_str(b, h->id);
	rc |= buf_printf(b, ",\"object\":\"%s\",\"created\":%lld,\"model\":", object, h->created);
	rc |= buf_put_json_str(b, h->model);
	rc |= buf_puts(b, ",\"system_fingerprint\":null");
	return rc;
}

static int put_reason(struct buf *b, const char *finish_reason)
{
	if (!finish_reason)
		return buf_puts(b, "null");
	return buf_put_json_str(b, finish_reason);
}

int render_quorum_field(struct buf *b, const char *run_id, const char *status,
			const char *report_json)
{
	int rc = buf_puts(b, ",\"quorum\":{\"run_id\":");
	rc |= buf_put_json_str(b, run_id);
	rc |= buf_puts(b, ",\"status\":");
	rc |= buf_put_json_str(b, status);
	rc |= buf_puts(b, ",\"report\":");
	rc |= buf_puts(b, report_json);
	rc |= buf_putc(b, '}');
	return rc;
}

int render_completion(struct buf *b, const struct oai_head *h, const char *text,
		      const char *finish_reason, const struct oai_usage *u,
		      const char *run_id, const char *status, const char *report_json)
{
	int rc = put_head(b, h, "chat.completion");
	rc |= buf_puts(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		       "\"content\":");
	rc |= buf_put_json_str(b, text ? text : "");
	rc |= buf_puts(b, ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":");
	rc |= put_reason(b, finish_reason);
	rc |= buf_puts(b, "}],\"usage\":");
	rc |= put_usage(b, u);
	if (report_json)
		rc |= render_quorum_field(b, run_id, status, report_json);
	rc |= buf_putc(b, '}');
	return rc ? -1 : 0;
}

int render_chunk(struct buf *b, const struct oai_head *h, const char *role, const char *text,
		 size_t n, const char *finish_reason, int with_usage)
{
	int rc = buf_puts(b, "data: ");
	rc |= put_head(b, h, "chat.completion.chunk");
	rc |= buf_puts(b, ",\"choices\":[{\"index\":0,\"delta\":{");
	if (role) {
		rc |= buf_puts(b, "\"role\":");
		rc |= buf_put_json_str(b, role);
		if (text)
			rc |= buf_putc(b, ',');
	}
	if (text) {
		rc |= buf_puts(b, "\"content\":");
		rc |= buf_put_json_strn(b, text, n);
	}
	rc |= buf_puts(b, "},\"logprobs\":null,\"finish_reason\":");
	rc |= put_reason(b, finish_reason);
	rc |= buf_puts(b, "}]");
	if (with_usage)
		rc |= buf_puts(b, ",\"usage\":null");
	rc |= buf_puts(b, "}\n\n");
	return rc ? -1 : 0;
}

int render_usage_chunk(struct buf *b, const struct oai_head *h, const struct oai_usage *u)
{
	int rc = buf_puts(b, "data: ");
	rc |= put_head(b, h, "chat.completion.chunk");
	rc |= buf_puts(b, ",\"choices\":[],\"usage\":");
	rc |= put_usage(b, u);
	rc |= buf_puts(b, "}\n\n");
	return rc ? -1 : 0;
}

int render_done(struct buf *b) { return buf_puts(b, "data: [DONE]\n\n"); }

static int put_error(struct buf *b, const char *message, const char *type, const char *param,
		     const char *code)
{
	int rc = buf_puts(b, "{\"error\":{\"message\":");
	rc |= buf_put_json_str(b, message);
	rc |= buf_puts(b, ",\"type\":");
	rc |= buf_put_json_str(b, type);
	rc |= buf_puts(b, ",\"param\":");
	rc |= param ? buf_put_json_str(b, param) : buf_puts(b, "null");
	rc |= buf_puts(b, ",\"code\":");
	rc |= code ? buf_put_json_str(b, code) : buf_puts(b, "null");
	rc |= buf_puts(b, "}}");
	return rc;
}

int render_error(struct buf *b, const char *message, const char *type, const char *param,
		 const char *code)
{
	return put_error(b, message, type, param, code) ? -1 : 0;
}

int render_error_event(struct buf *b, const char *message, const char *type,
		       const char *code)
{
	int rc = buf_puts(b, "data: ");
	rc |= put_error(b, message, type, NULL, code);
	rc |= buf_puts(b, "\n\n");
	return rc ? -1 : 0;
}

int render_model(struct buf *b, const char *name, long long created)
{
	int rc = buf_puts(b, "{\"id\":");
	rc |= buf_put_json_str(b, name);
	rc |= buf_printf(b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"quorum\"}",
			 created);
	return rc ? -1 : 0;
}

int render_models(struct buf *b, const char *const *names, size_t n, long long created)
{
	int rc = buf_puts(b, "{\"object\":\"list\",\"data\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rc |= buf_putc(b, ',');
		rc |= render_model(b, names[i], created);
	}
	rc |= buf_puts(b, "]}");
	return rc ? -1 : 0;
}
