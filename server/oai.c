/* Reads an OpenAI chat completions request. The fields a workflow cannot
 * use (tools, logprobs, response_format...) are ignored, as
 * OpenAI-compatible servers do; the ones whose meaning quorum would
 * change (n > 1) are refused, so a client never gets less than it asked
 * for without a word. */
#include "oai.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/json.h"

/* Nesting a request body may have: messages with content parts is 4. */
#define OAI_JSON_DEPTH 32

static int fail(struct oai_err *e, const char *param, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct oai_err *e, const char *param, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	e->param = param;
	e->code = code;
	return -1;
}

/* A message's text: a string, or an array of parts of which only text
 * parts can be read. Appends to b. Returns 0, or -1 with e set. */
static int content_text(const cJSON *msg, struct buf *b, struct oai_err *e)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
	if (cJSON_IsString(c))
		return buf_puts(b, c->valuestring) ? fail(e, "messages", NULL, "out of memory") : 0;
	if (cJSON_IsNull(c) || !c)
		return 0;
	if (!cJSON_IsArray(c))
		return fail(e, "messages", NULL, "a message's content must be a string or an "
			    "array of parts, got %s", json_type_name(c));
	const cJSON *part;
	cJSON_ArrayForEach(part, c)
	{
		const char *type = json_get_str(part, "type");
		const char *text = json_get_str(part, "text");
		if (!type || strcmp(type, "text") || !text)
			return fail(e, "messages", NULL, "only text content parts are supported, "
				    "got a part of type '%.40s'", type ? type : "?");
		if (buf_puts(b, text))
			return fail(e, "messages", NULL, "out of memory");
	}
	return 0;
}

/* system and developer messages to r->system, earlier turns to
 * r->history, the last (a user's) to r->query. */
static int read_messages(struct oai_req *r, const cJSON *msgs, struct oai_err *e)
{
	int n = cJSON_GetArraySize(msgs);
	if (!cJSON_IsArray(msgs) || n == 0)
		return fail(e, "messages", NULL, "'messages' must be a non-empty array");
	const cJSON *last = cJSON_GetArrayItem(msgs, n - 1);
	const char *role = json_get_str(last, "role");
	if (!role || strcmp(role, "user"))
		return fail(e, "messages", NULL, "the last message must be the user's (role "
			    "'user'), got role '%.40s'", role ? role : "?");
	struct buf sys, hist, q;
	buf_init(&sys, 0), buf_init(&hist, 0), buf_init(&q, 0);
	int rc = 0, i = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
	{
		role = json_get_str(m, "role");
		if (!role) {
			rc = fail(e, "messages", NULL, "message %d has no 'role'", i);
			break;
		}
		if (m == last) {
			rc = content_text(m, &q, e);
		} else if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			if (sys.len)
				buf_puts(&sys, "\n\n");
			rc = content_text(m, &sys, e);
		} else {
			if (hist.len)
				buf_puts(&hist, "\n\n");
			buf_printf(&hist, "%s: ", role);
			rc = content_text(m, &hist, e);
		}
		if (rc)
			break;
		i++;
	}
	if (rc || sys.overflow || hist.overflow || q.overflow) {
		buf_release(&sys), buf_release(&hist), buf_release(&q);
		return rc ? rc : fail(e, "messages", NULL, "out of memory");
	}
	r->system = buf_take(&sys);
	r->history = buf_take(&hist);
	r->query = q.len ? buf_take(&q) : q_strdup("");
	buf_release(&q);
	return r->query ? 0 : fail(e, "messages", NULL, "out of memory");
}

static int read_sampling(struct oai_req *r, const cJSON *doc, struct oai_err *e)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "temperature");
	if (t && !cJSON_IsNull(t)) {
		if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 2)
			return fail(e, "temperature", NULL, "'temperature' must be a number from 0 "
				    "to 2");
		r->has_temperature = 1;
		r->temperature = t->valuedouble;
	}
	const char *keys[] = {"max_completion_tokens", "max_tokens"};
	for (size_t i = 0; i < 2 && !r->max_tokens; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, keys[i]);
		if (!v || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 ||
		    v->valuedouble != (double)(int)v->valuedouble)
			return fail(e, keys[i], NULL, "'%s' must be a positive integer", keys[i]);
		r->max_tokens = (int)v->valuedouble;
	}
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(doc, "n");
	if (n && !cJSON_IsNull(n) && !(cJSON_IsNumber(n) && n->valuedouble == 1))
		return fail(e, "n", NULL, "only n = 1 is supported: a workflow gives one answer");
	return 0;
}

static int read_flags(struct oai_req *r, const cJSON *doc, struct oai_err *e)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "stream");
	if (s && !cJSON_IsNull(s) && !cJSON_IsBool(s))
		return fail(e, "stream", NULL, "'stream' must be a boolean");
	r->stream = cJSON_IsTrue(s);
	const cJSON *so = cJSON_GetObjectItemCaseSensitive(doc, "stream_options");
	if (so && !cJSON_IsNull(so)) {
		if (!cJSON_IsObject(so))
			return fail(e, "stream_options", NULL, "'stream_options' must be an object");
		r->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
	}
	const cJSON *qo = cJSON_GetObjectItemCaseSensitive(doc, "quorum");
	if (qo && !cJSON_IsNull(qo)) {
		if (!cJSON_IsObject(qo))
			return fail(e, "quorum", NULL, "'quorum' must be an object, e.g. "
				    "{\"report\": true}");
		r->want_report = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(qo, "report"));
	}
	return 0;
}

int oai_body_parse(struct oai_req *r, const char *body, size_t len, struct oai_err *e)
{
	memset(r, 0, sizeof(*r));
	enum json_fail why;
	r->doc = json_parse_why(body, len, OAI_JSON_DEPTH, &why);
	if (!r->doc && why == JSON_FAIL_DEPTH)
		return fail(e, NULL, "json_too_deep", "the request body is nested too deep (more "
			    "than %d levels of arrays and objects)", OAI_JSON_DEPTH);
	if (!r->doc)
		return fail(e, NULL, "invalid_json", "the request body is not valid JSON");
	int rc = 0;
	/* A model's text is a C string here: a \u0000 would end it unseen. */
	if (json_has_nul(body, len))
		rc = fail(e, NULL, NULL, "the request holds a NUL character (\\u0000), which "
			  "quorum cannot pass on to a model");
	else if (!cJSON_IsObject(r->doc))
		rc = fail(e, NULL, NULL, "the request body must be a JSON object");
	if (rc)
		oai_req_release(r);
	return rc;
}

int oai_req_parse(struct oai_req *r, const char *body, size_t len, struct oai_err *e)
{
	if (oai_body_parse(r, body, len, e))
		return -1;
	int rc = -1;
	if (!(r->model = json_get_str(r->doc, "model")) || !*r->model)
		rc = fail(e, "model", NULL, "'model' is required: the name of a workflow "
			  "(GET /v1/models lists them)");
	else if (!read_messages(r, cJSON_GetObjectItemCaseSensitive(r->doc, "messages"), e) &&
		 !read_sampling(r, r->doc, e) && !read_flags(r, r->doc, e))
		rc = 0;
	if (rc)
		oai_req_release(r);
	return rc;
}

void oai_req_release(struct oai_req *r)
{
	cJSON_Delete(r->doc);
	q_free(r->query);
	q_free(r->history);
	q_free(r->system);
	memset(r, 0, sizeof(*r));
}
