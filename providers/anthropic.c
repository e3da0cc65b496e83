/* The Anthropic Messages API: POST {base_url}/v1/messages with the key in
 * x-api-key, answered by one JSON message or by an SSE stream of typed
 * events (message_start, content_block_start/delta/stop, ping,
 * message_delta, message_stop, error) whose last one is message_stop. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "sse.h"
#include "wire.h"

#define AN_DEFAULT_BASE_URL "https://api.anthropic.com"
#define AN_VERSION "2023-06-01"
/* The API refuses a request without max_tokens, so one is always sent. */
#define AN_DEFAULT_MAX_TOKENS 1024
/* How much of a body that is not the API's JSON a message quotes. */
#define AN_EXCERPT 200
/* How much of the provider's own error message we keep. */
#define AN_MSG_MAX 2000

/* ---- the request ---- */

/* Adds item under key; frees item and returns -1 when either failed. */
static int an_add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return -1;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

/* messages: [{"role": "user", "content": prompt}] */
static int an_add_messages(cJSON *body, const char *prompt)
{
	cJSON *msgs = cJSON_CreateArray();
	if (an_add(body, "messages", msgs))
		return -1;
	cJSON *m = cJSON_CreateObject();
	if (!m || an_add(m, "role", cJSON_CreateString("user")) ||
	    an_add(m, "content", wire_json_string(prompt)) ||
	    !cJSON_AddItemToArray(msgs, m)) {
		cJSON_Delete(m);
		return -1;
	}
	return 0;
}

static cJSON *an_stop_list(const struct chat_request *req)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < req->nstop; i++) {
		cJSON *s = req->stop[i] ? wire_json_string(req->stop[i]) : NULL;
		if (req->stop[i] && (!s || !cJSON_AddItemToArray(a, s))) {
			cJSON_Delete(s);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* Sampling settings go in only when set, so the API's defaults hold
 * otherwise. There is no seed in this API (an unknown field is a 400), so
 * a workflow-wide seed is left out rather than failing every call. */
static int an_add_settings(cJSON *body, const struct chat_request *req)
{
	if (req->has_temperature &&
	    an_add(body, "temperature", cJSON_CreateNumber(req->temperature)))
		return -1;
	if (req->has_top_p && an_add(body, "top_p", cJSON_CreateNumber(req->top_p)))
		return -1;
	if (req->nstop && an_add(body, "stop_sequences", an_stop_list(req)))
		return -1;
	if (req->stream && an_add(body, "stream", cJSON_CreateTrue()))
		return -1;
	return 0;
}

/* The system prompt is a top-level field: the API has no system role.
 * An empty one is not sent. */
static cJSON *an_body(const struct chat_request *req)
{
	int max_tokens = req->max_tokens > 0 ? req->max_tokens : AN_DEFAULT_MAX_TOKENS;
	cJSON *body = cJSON_CreateObject();
	if (!body || an_add(body, "model", wire_json_string(req->model)) ||
	    an_add(body, "max_tokens", cJSON_CreateNumber(max_tokens)))
		goto fail;
	if (req->system && *req->system &&
	    an_add(body, "system", wire_json_string(req->system)))
		goto fail;
	if (an_add_messages(body, req->prompt) || an_add_settings(body, req))
		goto fail;
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

/* The SDKs append /v1/messages to a base URL without a version; a base
 * URL copied with its /v1 (as OpenAI-style ones are written) gets
 * /messages, not /v1/v1/messages. */
static int an_url(struct buf *url, const char *base_url, struct qerr *e)
{
	const char *base = base_url && *base_url ? base_url : AN_DEFAULT_BASE_URL;
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	int has_v1 = n >= 3 && !memcmp(base + n - 3, "/v1", 3);
	return wire_url_join(url, base, has_v1 ? "/messages" : "/v1/messages", e);
}

static int an_headers(const char *api_key, struct http_req *out, struct qerr *e)
{
	if (wire_add_header(out, "content-type", "", "application/json", e) ||
	    wire_add_header(out, "anthropic-version", "", AN_VERSION, e))
		return -1;
	if (api_key && *api_key &&
	    wire_add_header(out, "x-api-key", "", api_key, e))
		return -1;
	return 0;
}

static int an_build(const struct chat_request *req, const char *base_url,
		    const char *api_key, struct http_req *out, struct qerr *e)
{
	cJSON *body = NULL;
	if (!req->model || !*req->model)
		return qerr_set(e, "no model name for provider 'anthropic'");
	if (!req->prompt)
		return qerr_set(e, "no prompt for model '%s'", req->model);
	if (an_url(&out->url, base_url, e))
		goto fail;
	body = an_body(req);
	if (!body) {
		qerr_set(e, "out of memory building the request body");
		goto fail;
	}
	if (wire_merge_params(body, req->params_json, e) ||
	    wire_body_print(body, &out->body, e) || an_headers(api_key, out, e))
		goto fail;
	cJSON_Delete(body);
	return 0;
fail:
	cJSON_Delete(body);
	http_req_release(out);
	return -1;
}

/* ---- errors the API reports in its own words ---- */

/* {"type": "error", "error": {"type": "overloaded_error", "message": ...}} */
struct an_err {
	const char *type;    /* NULL when the body gave none */
	const char *msg;
};

/* Reads an error from a JSON object: the API's shape, or the bare
 * {"error": "text"} some proxies send. Returns 1 when it is one. */
static int an_err_read(const cJSON *root, struct an_err *e)
{
	memset(e, 0, sizeof(*e));
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsObject(err)) {
		e->type = json_get_str(err, "type");
		e->msg = json_get_str(err, "message");
		return 1;
	}
	if (cJSON_IsString(err)) {
		e->msg = err->valuestring;
		return 1;
	}
	const char *type = json_get_str(root, "type");
	return type && !strcmp(type, "error");
}

/* The class of an error type, ERR_NONE for one we do not know (the API
 * says the list may grow). */
static enum err_class an_err_type_class(const char *type)
{
	static const struct {
		const char *type;
		enum err_class c;
	} known[] = {
		{"invalid_request_error", ERR_BAD_REQUEST},
		{"authentication_error", ERR_AUTH},
		{"permission_error", ERR_AUTH},
		{"billing_error", ERR_QUOTA},
		{"not_found_error", ERR_NOT_FOUND},
		{"request_too_large", ERR_TOO_LARGE},
		{"rate_limit_error", ERR_RATE_LIMITED},
		{"api_error", ERR_SERVER},
		{"timeout_error", ERR_TIMEOUT},
		{"overloaded_error", ERR_OVERLOADED},
	};
	for (size_t i = 0; type && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(type, known[i].type))
			return known[i].c;
	return ERR_NONE;
}

static int an_fail_raw(struct chat_result *r, enum err_class c, const char *what,
		       const char *body, size_t len)
{
	struct buf ex = BUF_INIT;
	wire_put_printable(&ex, body, len, AN_EXCERPT);
	if (ex.len)
		chat_result_fail(r, c, "%s: %s", what, buf_str(&ex));
	else
		chat_result_fail(r, c, "%s", what);
	buf_release(&ex);
	return -1;
}

/* Fails r with the provider's own words (made printable: they go into a
 * JSON report), or the best we have. */
static int an_fail_err(struct chat_result *r, enum err_class c,
		       const struct an_err *e, const char *body, size_t len)
{
	struct buf m = BUF_INIT;
	if (e->msg)
		wire_put_printable(&m, e->msg, strlen(e->msg), AN_MSG_MAX);
	if (m.len)
		chat_result_fail(r, c, "%s", buf_str(&m));
	else if (e->type &&
		 !wire_put_printable(&m, e->type, strlen(e->type), AN_EXCERPT) && m.len)
		chat_result_fail(r, c, "error '%s'", buf_str(&m));
	else
		an_fail_raw(r, c, "the provider reported an error", body, len);
	buf_release(&m);
	return -1;
}

/* An error inside a 2xx response (an `error` event, or a whole body):
 * its type is all that says what it is. */
static int an_fail_2xx(struct chat_result *r, const struct an_err *e,
		       const char *body, size_t len)
{
	enum err_class c = an_err_type_class(e->type);
	return an_fail_err(r, c == ERR_NONE ? ERR_SERVER : c, e, body, len);
}

/* The status says most; the type refines a status that says little (a
 * plain 400 or 500), and out of credit is a quota whatever the status,
 * since waiting will not bring credit back. */
static enum err_class an_status_class(enum err_class c, const char *type)
{
	enum err_class t = an_err_type_class(type);
	if (t == ERR_QUOTA)
		return t;
	if (t != ERR_NONE &&
	    (c == ERR_BAD_REQUEST || c == ERR_SERVER || c == ERR_MALFORMED))
		return t;
	return c;
}

static void an_parse_error(int http_status, const char *body, size_t len,
			   const char *retry_after, struct chat_result *r)
{
	enum err_class c = err_class_from_status(http_status);
	if (c == ERR_NONE)
		c = ERR_MALFORMED;  /* a 2xx is no error: the caller erred */
	r->http_status = http_status;
	r->retry_after_ms = retry_after_parse(retry_after, (int64_t)time(NULL));
	cJSON *root = body && len ? json_parse(body, len, WIRE_JSON_DEPTH) : NULL;
	struct an_err e;
	if (root && cJSON_IsObject(root) && an_err_read(root, &e)) {
		an_fail_err(r, an_status_class(c, e.type), &e, body, len);
	} else if (body && len) {
		char what[32];
		snprintf(what, sizeof(what), "HTTP %d", http_status);
		an_fail_raw(r, c, what, body, len);
	} else {
		chat_result_fail(r, c, "HTTP %d with an empty body", http_status);
	}
	cJSON_Delete(root);
}

/* ---- the response ---- */

enum an_mode {
	AN_UNDECIDED,  /* a stream was asked for; nothing but newlines yet */
	AN_SSE,
	AN_WHOLE,      /* one JSON document: asked for, or sent instead of a stream */
};

struct an_parser {
	enum an_mode mode;
	size_t cap;              /* one body or one stream event */
	struct sse sse;
	struct buf body;
	struct chat_result *r;   /* the result of the feed in progress */
	size_t added;            /* text bytes added by that feed */
	size_t known;            /* stream events of a type this API sends */
	int stopped;             /* message_stop arrived: the stream is whole */
	int refused;             /* stop_reason "refusal" */
	int failed;
};

static int an_text(struct an_parser *p, struct chat_result *r, const char *s,
		   size_t n)
{
	/* Bytes that are not text would make the report invalid JSON. */
	size_t ok = wire_utf8_valid(s, n);
	if (ok != n)
		return chat_result_fail(r, ERR_MALFORMED,
					"answer text is not valid UTF-8 (byte %zu)",
					r->text.len + ok);
	if (r->text.max && n > r->text.max - r->text.len)
		return chat_result_fail(r, ERR_TOO_LARGE, "answer over %zu bytes",
					r->text.max);
	if (buf_append(&r->text, s, n))
		return chat_result_fail(r, ERR_TOO_LARGE,
					"out of memory holding the answer");
	p->added += n;
	return 0;
}

static int an_wrong_type(struct chat_result *r, const char *what,
			 const cJSON *v, const char *want)
{
	return chat_result_fail(r, ERR_MALFORMED, "'%s' is %s, not %s", what,
				wire_json_type(v), want);
}

/* A string field that may also be null or absent; another type fails. */
static int an_opt_str(struct chat_result *r, const cJSON *obj, const char *key,
		      const char *what, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = cJSON_IsString(v) ? v->valuestring : NULL;
	if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
		return an_wrong_type(r, what, v, "a string");
	return 0;
}

/* Token counts as the API reports them (cumulative in a stream, so a
 * later event replaces an earlier one). */
static void an_usage(const cJSON *u, struct chat_result *r)
{
	int64_t in = wire_tokens(u, "input_tokens");
	int64_t out = wire_tokens(u, "output_tokens");
	if (in >= 0)
		r->input_tokens = in;
	if (out >= 0)
		r->output_tokens = out;
}

/* The finish_reason every provider reports, from the API's stop_reason;
 * one we do not know is kept as sent (printable ASCII only). */
static void an_stop_reason(struct an_parser *p, struct chat_result *r,
			   const char *s)
{
	static const struct {
		const char *api, *ours;
	} map[] = {
		{"end_turn", "stop"},
		{"stop_sequence", "stop"},
		{"max_tokens", "length"},
		{"model_context_window_exceeded", "length"},
		{"tool_use", "tool_calls"},
		{"refusal", "content_filter"},
	};
	const char *out = s;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(s, map[i].api))
			out = map[i].ours;
	size_t i = 0;
	for (; out[i] && i < sizeof(r->finish_reason) - 1; i++) {
		unsigned char c = (unsigned char)out[i];
		r->finish_reason[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	r->finish_reason[i] = '\0';
	p->refused = !strcmp(s, "refusal");
}

/* A content block: a text block's text is answer; thinking, tool use and
 * the rest are not. */
static int an_block(struct an_parser *p, struct chat_result *r,
		    const cJSON *b, const char *what)
{
	char field[48];
	if (!cJSON_IsObject(b))
		return an_wrong_type(r, what, b, "an object");
	const char *type = json_get_str(b, "type");
	if (!type || strcmp(type, "text"))
		return 0;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
	if (!cJSON_IsString(t)) {
		snprintf(field, sizeof(field), "%s.text", what);
		return an_wrong_type(r, field, t, "a string");
	}
	return an_text(p, r, t->valuestring, strlen(t->valuestring));
}

/* content_block_delta: only a text_delta is answer; thinking, signature,
 * tool input JSON and citations deltas are skipped. */
static int an_block_delta(struct an_parser *p, struct chat_result *r,
			  const cJSON *root)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
	if (!cJSON_IsObject(d))
		return an_wrong_type(r, "delta", d, "an object");
	const char *type = json_get_str(d, "type");
	if (!type || strcmp(type, "text_delta"))
		return 0;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "text");
	if (!cJSON_IsString(t))
		return an_wrong_type(r, "delta.text", t, "a string");
	return an_text(p, r, t->valuestring, strlen(t->valuestring));
}

static int an_message_delta(struct an_parser *p, struct chat_result *r,
			    const cJSON *root)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
	const char *reason;
	if (d && !cJSON_IsObject(d))
		return an_wrong_type(r, "delta", d, "an object");
	if (an_opt_str(r, d, "stop_reason", "delta.stop_reason", &reason))
		return -1;
	if (reason)
		an_stop_reason(p, r, reason);
	an_usage(json_get_obj(root, "usage"), r);
	return 0;
}

static int an_message_start(struct chat_result *r, const cJSON *root)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (!cJSON_IsObject(m))
		return an_wrong_type(r, "message", m, "an object");
	an_usage(json_get_obj(m, "usage"), r);
	return 0;
}

/* One stream event, by its data's type (the `event:` name when the data
 * has none). Types added to the API after this was written are skipped,
 * as its versioning policy asks. */
static int an_event(struct an_parser *p, const cJSON *root, const char *event,
		    const char *data, size_t len)
{
	struct chat_result *r = p->r;
	struct an_err e;
	int is_error = !strcmp(event, "error");
	if (!cJSON_IsObject(root))
		return is_error ? an_fail_raw(r, ERR_SERVER, "stream error event", data, len)
				: an_wrong_type(r, "stream event", root, "an object");
	const char *type = json_get_str(root, "type");
	if (!type)
		type = event;
	if (is_error || !strcmp(type, "error")) {
		if (an_err_read(root, &e))
			return an_fail_2xx(r, &e, data, len);
		return an_fail_raw(r, ERR_SERVER, "stream error event", data, len);
	}
	int rc = 0;
	if (!strcmp(type, "message_start"))
		rc = an_message_start(r, root);
	else if (!strcmp(type, "content_block_start"))
		rc = an_block(p, r, cJSON_GetObjectItemCaseSensitive(root, "content_block"),
			      "content_block");
	else if (!strcmp(type, "content_block_delta"))
		rc = an_block_delta(p, r, root);
	else if (!strcmp(type, "message_delta"))
		rc = an_message_delta(p, r, root);
	else if (!strcmp(type, "message_stop"))
		p->stopped = 1;
	else if (strcmp(type, "ping") && strcmp(type, "content_block_stop"))
		return 0;
	p->known++;
	return rc;
}

/* sse_event_fn: one SSE event. Returns non-zero to stop the stream once
 * r holds a failure. */
static int an_on_event(void *ctx, const char *event, const char *data,
		       size_t len)
{
	struct an_parser *p = ctx;
	if (p->stopped)
		return 0;
	cJSON *root = json_parse(data, len, WIRE_JSON_DEPTH);
	int rc;
	if (root)
		rc = an_event(p, root, event, data, len);
	else if (p->sse.eof)
		/* The body ended inside an event's data lines. */
		rc = chat_result_fail(p->r, ERR_TRUNCATED,
				      "stream ended inside an event");
	else if (!strcmp(event, "error"))
		rc = an_fail_raw(p->r, ERR_SERVER, "stream error event", data, len);
	else
		rc = an_fail_raw(p->r, ERR_MALFORMED, "stream event is not JSON",
				 data, len);
	cJSON_Delete(root);
	return rc ? 1 : 0;
}

static struct resp_parser *an_parser_new(int stream, size_t max_bytes)
{
	struct an_parser *p = q_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->mode = stream ? AN_UNDECIDED : AN_WHOLE;
	p->cap = wire_body_cap(max_bytes);
	buf_init(&p->body, 0);
	sse_init(&p->sse, SSE_MODE_SSE, p->cap, an_on_event, p);
	return (struct resp_parser *)p;
}

static void an_parser_free(struct resp_parser *rp)
{
	struct an_parser *p = (struct an_parser *)rp;
	if (!p)
		return;
	sse_release(&p->sse);
	buf_release(&p->body);
	q_free(p);
}

static int an_fail(struct an_parser *p, struct chat_result *r,
		   enum err_class c, const char *msg)
{
	p->failed = 1;
	return chat_result_fail(r, c, "%s", msg);
}

/* The framer failed: a callback already said why, or a cap was hit. */
static int an_sse_failed(struct an_parser *p, struct chat_result *r)
{
	p->failed = 1;
	if (p->sse.err == SSE_TOO_LARGE)
		return chat_result_fail(r, ERR_TOO_LARGE,
					"stream event over %zu bytes", p->cap);
	if (p->sse.err == SSE_NOMEM)
		return chat_result_fail(r, ERR_TOO_LARGE,
					"out of memory reading the stream");
	return -1;
}

/* A stream that was asked for may come back as one JSON document (an
 * error, or a server that does not stream): the first byte tells. */
static void an_decide(struct an_parser *p, const char **data, size_t *len)
{
	while (*len && (**data == '\n' || **data == '\r'))
		(*data)++, (*len)--;
	if (*len)
		p->mode = **data == '{' ? AN_WHOLE : AN_SSE;
}

static int an_parser_feed(struct resp_parser *rp, const char *data, size_t len,
			  struct chat_result *r)
{
	struct an_parser *p = (struct an_parser *)rp;
	if (p->failed || r->err != ERR_NONE)
		return -1;
	p->r = r;
	p->added = 0;
	if (p->mode == AN_UNDECIDED)
		an_decide(p, &data, &len);
	if (!len || p->stopped)
		return 0;
	if (p->mode == AN_WHOLE) {
		if (len > p->cap - p->body.len) {
			p->failed = 1;
			return chat_result_fail(r, ERR_TOO_LARGE,
						"response body over %zu bytes",
						p->cap);
		}
		if (buf_append(&p->body, data, len))
			return an_fail(p, r, ERR_TOO_LARGE,
				       "out of memory reading the response");
		return 0;
	}
	if (sse_feed(&p->sse, data, len))
		return an_sse_failed(p, r);
	return p->added > INT_MAX ? INT_MAX : (int)p->added;
}

/* A whole message: every text block, in order, is the answer. */
static int an_whole_message(struct an_parser *p, struct chat_result *r,
			    const cJSON *root)
{
	char what[48];
	const char *reason;
	an_usage(json_get_obj(root, "usage"), r);
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
	if (!content)
		return chat_result_fail(r, ERR_MALFORMED,
					"response has no 'content' array");
	if (!cJSON_IsArray(content))
		return an_wrong_type(r, "content", content, "an array");
	size_t i = 0;
	const cJSON *b;
	cJSON_ArrayForEach(b, content)
	{
		snprintf(what, sizeof(what), "content[%zu]", i++);
		if (an_block(p, r, b, what))
			return -1;
	}
	if (an_opt_str(r, root, "stop_reason", "stop_reason", &reason))
		return -1;
	if (reason)
		an_stop_reason(p, r, reason);
	return 0;
}

static int an_whole(struct an_parser *p, struct chat_result *r)
{
	const char *s = buf_str(&p->body);
	size_t n = p->body.len;
	cJSON *root = json_parse(s, n, WIRE_JSON_DEPTH);
	int rc = -1;
	struct an_err e;
	if (!root) {
		if (wire_json_looks_cut(s, n))
			chat_result_fail(r, ERR_TRUNCATED,
					 "response body ended after %zu bytes, "
					 "mid-JSON", n);
		else
			an_fail_raw(r, ERR_MALFORMED, "response is not JSON", s, n);
	} else if (!cJSON_IsObject(root)) {
		an_wrong_type(r, "response", root, "an object");
	} else if (an_err_read(root, &e)) {
		an_fail_2xx(r, &e, s, n);
	} else {
		rc = an_whole_message(p, r, root);
	}
	cJSON_Delete(root);
	return rc;
}

/* The stream ended: whole only when message_stop came. */
static int an_stream_end(struct an_parser *p, struct chat_result *r)
{
	if (sse_finish(&p->sse))
		return an_sse_failed(p, r);
	if (p->stopped)
		return 0;
	p->failed = 1;
	if (!p->known && (p->sse.nevents || p->sse.nunknown))
		return chat_result_fail(r, ERR_MALFORMED,
					"response is not a Messages API event stream");
	return chat_result_fail(r, ERR_TRUNCATED,
				"stream ended after %zu bytes of text, before "
				"message_stop", r->text.len);
}

static int an_parser_finish(struct resp_parser *rp, struct chat_result *r)
{
	struct an_parser *p = (struct an_parser *)rp;
	if (p->failed || r->err != ERR_NONE)
		return -1;
	p->r = r;
	if (p->mode == AN_WHOLE) {
		if (an_whole(p, r)) {
			p->failed = 1;
			return -1;
		}
	} else if (p->mode == AN_UNDECIDED) {
		return an_fail(p, r, ERR_TRUNCATED, "stream ended before any event");
	} else if (an_stream_end(p, r)) {
		return -1;
	}
	r->complete = 1;
	/* Checked at the end, so the usage that follows the stop reason is
	 * still counted. */
	if (p->refused)
		return an_fail(p, r, ERR_CONTENT_FILTER,
			       "the model declined to answer (stop_reason 'refusal')");
	return 0;
}

const struct provider anthropic_provider = {
	.name = "anthropic",
	.default_base_url = AN_DEFAULT_BASE_URL,
	.default_key_env = "ANTHROPIC_API_KEY",
	.build = an_build,
	.parser_new = an_parser_new,
	.parser_feed = an_parser_feed,
	.parser_finish = an_parser_finish,
	.parser_free = an_parser_free,
	.parse_error = an_parse_error,
};
