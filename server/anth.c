/* Anthropic's Messages API on top of the chat request quorum serve runs:
 * the same query, history and system, Anthropic's wire shapes. */
#include "anth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/json.h"

static int fail(struct oai_err *e, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct oai_err *e, const char *param, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	e->param = param;
	e->code = NULL;
	return -1;
}

/* A string, or an array of text blocks (joined); other blocks refused. */
static int blocks_text(const cJSON *v, const char *what, struct buf *b, struct oai_err *e)
{
	if (cJSON_IsString(v))
		return buf_puts(b, v->valuestring) ? fail(e, what, "out of memory") : 0;
	if (!cJSON_IsArray(v))
		return fail(e, what, "%s must be a string or an array of content blocks, got %s",
			    what, json_type_name(v));
	const cJSON *blk;
	cJSON_ArrayForEach(blk, v)
	{
		const char *type = json_get_str(blk, "type");
		const char *text = json_get_str(blk, "text");
		if (!type || strcmp(type, "text") || !text)
			return fail(e, what, "only text content blocks are supported, got a block of "
				    "type '%.40s'", type ? type : "?");
		if (buf_puts(b, text))
			return fail(e, what, "out of memory");
	}
	return 0;
}

static int read_messages(struct oai_req *r, const cJSON *doc, struct oai_err *e)
{
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(doc, "messages");
	int n = cJSON_GetArraySize(msgs);
	if (!cJSON_IsArray(msgs) || n == 0)
		return fail(e, "messages", "messages: must be a non-empty array");
	const cJSON *last = cJSON_GetArrayItem(msgs, n - 1);
	const char *role = json_get_str(last, "role");
	if (!role || strcmp(role, "user"))
		return fail(e, "messages", "messages: the last message must be the user's");
	struct buf hist, q, sys;
	buf_init(&hist, 0), buf_init(&q, 0), buf_init(&sys, 0);
	int rc = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
	{
		role = json_get_str(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
			rc = fail(e, "messages", "messages: each role must be 'user' or 'assistant'");
			break;
		}
		if (m == last) {
			rc = blocks_text(content, "messages", &q, e);
		} else {
			if (hist.len)
				buf_puts(&hist, "\n\n");
			buf_printf(&hist, "%s: ", role);
			rc = blocks_text(content, "messages", &hist, e);
		}
		if (rc)
			break;
	}
	const cJSON *system = cJSON_GetObjectItemCaseSensitive(doc, "system");
	if (!rc && system && !cJSON_IsNull(system))
		rc = blocks_text(system, "system", &sys, e);
	if (rc) {
		buf_release(&hist), buf_release(&q), buf_release(&sys);
		return rc;
	}
	r->history = buf_take(&hist);
	r->system = buf_take(&sys);
	r->query = q.len ? buf_take(&q) : q_strdup("");
	buf_release(&q);
	return r->query ? 0 : fail(e, "messages", "out of memory");
}

static int read_options(struct oai_req *r, const cJSON *doc, struct oai_err *e)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(doc, "max_tokens");
	if (mt && !cJSON_IsNull(mt)) {
		if (!cJSON_IsNumber(mt) || mt->valuedouble < 1 || mt->valuedouble > 1e9 ||
		    mt->valuedouble != (double)(int)mt->valuedouble)
			return fail(e, "max_tokens", "max_tokens: must be a positive integer");
		r->max_tokens = (int)mt->valuedouble;
	}
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "temperature");
	if (t && !cJSON_IsNull(t)) {
		if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 1)
			return fail(e, "temperature", "temperature: must be a number from 0 to 1");
		r->has_temperature = 1;
		r->temperature = t->valuedouble;
	}
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "stream");
	if (s && !cJSON_IsNull(s) && !cJSON_IsBool(s))
		return fail(e, "stream", "stream: must be a boolean");
	r->stream = cJSON_IsTrue(s);
	r->include_usage = 1;
	const cJSON *qo = cJSON_GetObjectItemCaseSensitive(doc, "quorum");
	if (qo && !cJSON_IsNull(qo) && !cJSON_IsObject(qo))
		return fail(e, "quorum", "quorum: must be an object, e.g. {\"report\": true}");
	r->want_report = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(qo, "report"));
	return 0;
}

int anth_req_parse(struct oai_req *r, const char *body, size_t len, struct oai_err *e)
{
	if (oai_body_parse(r, body, len, e))
		return -1;
	int rc = -1;
	if (!(r->model = json_get_str(r->doc, "model")) || !*r->model)
		rc = fail(e, "model", "model: field required (the name of a workflow)");
	else if (!read_messages(r, r->doc, e) && !read_options(r, r->doc, e))
		rc = 0;
	if (rc)
		oai_req_release(r);
	return rc;
}

static int put_usage(struct buf *b, const struct oai_usage *u)
{
	return buf_printf(b, "{\"input_tokens\":%lld,\"output_tokens\":%lld}",
			  u->prompt_tokens > 0 ? u->prompt_tokens : 0,
			  u->completion_tokens > 0 ? u->completion_tokens : 0);
}

static int put_message_head(struct buf *b, const struct oai_head *h)
{
	int rc = buf_puts(b, "{\"id\":");
	rc |= buf_put_json_str(b, h->id);
	rc |= buf_puts(b, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
	rc |= buf_put_json_str(b, h->model);
	return rc;
}

int anth_render_message(struct buf *b, const struct oai_head *h, const char *text,
			const char *stop_reason, const struct oai_usage *u, const char *run_id,
			const char *status, const char *report_json)
{
	int rc = put_message_head(b, h);
	rc |= buf_puts(b, ",\"content\":[{\"type\":\"text\",\"text\":");
	rc |= buf_put_json_str(b, text ? text : "");
	rc |= buf_puts(b, "}],\"stop_reason\":");
	rc |= buf_put_json_str(b, stop_reason);
	rc |= buf_puts(b, ",\"stop_sequence\":null,\"usage\":");
	rc |= put_usage(b, u);
	if (report_json)
		rc |= render_quorum_field(b, run_id, status, report_json);
	rc |= buf_putc(b, '}');
	return rc ? -1 : 0;
}

int anth_render_start(struct buf *b, const struct oai_head *h)
{
	int rc = buf_puts(b, "event: message_start\ndata: {\"type\":\"message_start\","
			  "\"message\":");
	rc |= put_message_head(b, h);
	rc |= buf_puts(b, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
		       "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n"
		       "event: content_block_start\ndata: {\"type\":\"content_block_start\","
		       "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
	return rc ? -1 : 0;
}

int anth_render_delta(struct buf *b, const char *text, size_t n)
{
	int rc = buf_puts(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
			  "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":");
	rc |= buf_put_json_strn(b, text, n);
	rc |= buf_puts(b, "}}\n\n");
	return rc ? -1 : 0;
}

int anth_render_stop(struct buf *b, const char *stop_reason, const struct oai_usage *u)
{
	int rc = buf_puts(b, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
			  "\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\","
			  "\"delta\":{\"stop_reason\":");
	rc |= buf_put_json_str(b, stop_reason);
	rc |= buf_puts(b, ",\"stop_sequence\":null},\"usage\":");
	rc |= put_usage(b, u);
	rc |= buf_puts(b, "}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
	return rc ? -1 : 0;
}

/* Anthropic's error types by status. */
static const char *error_type(int status)
{
	switch (status) {
	case 400: case 405: return "invalid_request_error";
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 503: case 529: return "overloaded_error";
	default: return "api_error";
	}
}

static int put_error(struct buf *b, int status, const char *message)
{
	int rc = buf_printf(b, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":",
			    error_type(status));
	rc |= buf_put_json_str(b, message);
	rc |= buf_puts(b, "}}");
	return rc;
}

int anth_render_error(struct buf *b, int status, const char *message)
{
	return put_error(b, status, message) ? -1 : 0;
}

int anth_render_error_event(struct buf *b, int status, const char *message)
{
	int rc = buf_puts(b, "event: error\ndata: ");
	rc |= put_error(b, status, message);
	rc |= buf_puts(b, "\n\n");
	return rc ? -1 : 0;
}
