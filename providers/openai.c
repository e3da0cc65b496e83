/* The OpenAI chat completions format, which most servers speak too (vLLM,
 * llama.cpp, Ollama's /v1, OpenRouter): POST {base_url}/chat/completions,
 * a whole JSON body or an SSE stream of chat.completion.chunk objects
 * ending in `data: [DONE]`. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "sse.h"
#include "wire.h"

#define OA_DEFAULT_BASE_URL "https://api.openai.com/v1"
/* How much of a body that is not the API's JSON a message quotes. */
#define OA_EXCERPT 200

/* ---- the request ---- */

/* Adds item under key; frees item and returns -1 when either failed. */
static int oa_add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return -1;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

static int oa_add_message(cJSON *msgs, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	if (!m || oa_add(m, "role", cJSON_CreateString(role)) ||
	    oa_add(m, "content", wire_json_string(content)) ||
	    !cJSON_AddItemToArray(msgs, m)) {
		cJSON_Delete(m);
		return -1;
	}
	return 0;
}

static cJSON *oa_stop_list(const struct chat_request *req)
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

/* Sampling settings go in only when set, so the server's defaults hold
 * otherwise. The seed is written as digits: a double would round seeds
 * above 2^53. */
static int oa_add_settings(cJSON *body, const struct chat_request *req)
{
	char seed[32];
	if (req->has_temperature &&
	    oa_add(body, "temperature", cJSON_CreateNumber(req->temperature)))
		return -1;
	if (req->has_top_p && oa_add(body, "top_p", cJSON_CreateNumber(req->top_p)))
		return -1;
	if (req->has_seed) {
		snprintf(seed, sizeof(seed), "%" PRId64, req->seed);
		if (oa_add(body, "seed", cJSON_CreateRaw(seed)))
			return -1;
	}
	if (req->nstop && oa_add(body, "stop", oa_stop_list(req)))
		return -1;
	if (req->max_tokens > 0 &&
	    oa_add(body, "max_tokens", cJSON_CreateNumber(req->max_tokens)))
		return -1;
	if (oa_add(body, "stream", cJSON_CreateBool(req->stream)))
		return -1;
	if (req->stream) {
		/* Without it a stream never reports token usage. */
		cJSON *so = cJSON_CreateObject();
		if (!so || oa_add(so, "include_usage", cJSON_CreateTrue())) {
			cJSON_Delete(so);
			return -1;
		}
		if (oa_add(body, "stream_options", so))
			return -1;
	}
	return 0;
}

/* An empty system prompt is no system message. */
static cJSON *oa_body(const struct chat_request *req)
{
	cJSON *body = cJSON_CreateObject();
	if (!body || oa_add(body, "model", wire_json_string(req->model)))
		goto fail;
	cJSON *msgs = cJSON_CreateArray();
	/* msgs belongs to body once added; oa_add frees it otherwise. */
	if (oa_add(body, "messages", msgs))
		goto fail;
	if (req->system && *req->system &&
	    oa_add_message(msgs, "system", req->system))
		goto fail;
	if (oa_add_message(msgs, "user", req->prompt) ||
	    oa_add_settings(body, req))
		goto fail;
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

static int oa_headers(const struct chat_request *req, const char *api_key,
		      struct http_req *out, struct qerr *e)
{
	if (wire_add_header(out, "Content-Type", "", "application/json", e))
		return -1;
	if (api_key && *api_key &&
	    wire_add_header(out, "Authorization", "Bearer ", api_key, e))
		return -1;
	if (req->stream &&
	    wire_add_header(out, "Accept", "", "text/event-stream", e))
		return -1;
	return 0;
}

static int oa_build(const struct chat_request *req, const char *base_url,
		    const char *api_key, struct http_req *out, struct qerr *e)
{
	cJSON *body = NULL;
	if (!req->model || !*req->model)
		return qerr_set(e, "no model name for provider 'openai'");
	if (!req->prompt)
		return qerr_set(e, "no prompt for model '%s'", req->model);
	if (wire_url_join(&out->url, base_url && *base_url ? base_url
							    : OA_DEFAULT_BASE_URL,
			  "/chat/completions", e))
		goto fail;
	body = oa_body(req);
	if (!body) {
		qerr_set(e, "out of memory building the request body");
		goto fail;
	}
	if (wire_merge_params(body, req->params_json, e) ||
	    wire_body_print(body, &out->body, e) ||
	    oa_headers(req, api_key, out, e))
		goto fail;
	cJSON_Delete(body);
	return 0;
fail:
	cJSON_Delete(body);
	http_req_release(out);
	return -1;
}

/* ---- errors the API reports in its own words ---- */

struct oa_err {
	const char *msg;     /* NULL when the body gave none */
	const char *type;
	const char *code;
	int status;          /* a numeric "code" that is an HTTP status, or 0 */
};

static void oa_err_fields(const cJSON *o, struct oa_err *e)
{
	e->msg = json_get_str(o, "message");
	e->type = json_get_str(o, "type");
	e->code = json_get_str(o, "code");
	double n = json_get_num(o, "code", 0);
	if (n >= 100 && n <= 599)
		e->status = (int)n;
}

/* Reads an error from a JSON body: {"error": {...}} (OpenAI and most),
 * {"error": "text"}, or vLLM's {"object": "error", "message": ...}. With
 * lenient, a bare "message" or FastAPI's "detail" counts too (only for a
 * non-2xx status, where the body can only be an error). Returns 1 when the
 * body describes an error. */
static int oa_err_read(const cJSON *root, int lenient, struct oa_err *e)
{
	memset(e, 0, sizeof(*e));
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const char *object = json_get_str(root, "object");
	if (cJSON_IsObject(err)) {
		oa_err_fields(err, e);
	} else if (cJSON_IsString(err)) {
		e->msg = err->valuestring;
	} else if ((object && !strcmp(object, "error")) || lenient) {
		oa_err_fields(root, e);
		if (!e->msg)
			e->msg = json_get_str(root, "detail");
		if (!object && !e->msg)
			return 0;
	} else {
		return 0;
	}
	return 1;
}

static int oa_err_is(const struct oa_err *e, const char *what)
{
	return (e->code && !strcmp(e->code, what)) ||
	       (e->type && !strcmp(e->type, what));
}

/* The class of an error that came inside a 2xx response, where no status
 * says what it is: a numeric code or the error's type does. */
static enum err_class oa_err_class_2xx(const struct oa_err *e)
{
	static const struct {
		const char *what;
		enum err_class c;
	} known[] = {
		{"insufficient_quota", ERR_QUOTA},
		{"rate_limit_exceeded", ERR_RATE_LIMITED},
		{"rate_limit_error", ERR_RATE_LIMITED},
		{"overloaded_error", ERR_OVERLOADED},
		{"invalid_request_error", ERR_BAD_REQUEST},
		{"context_length_exceeded", ERR_BAD_REQUEST},
		{"authentication_error", ERR_AUTH},
		{"invalid_api_key", ERR_AUTH},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (oa_err_is(e, known[i].what))
			return known[i].c;
	if (e->status && e->status / 100 != 2)
		return err_class_from_status(e->status);
	/* The server accepted the request and then failed it. */
	return ERR_SERVER;
}

static int oa_fail_raw(struct chat_result *r, enum err_class c, const char *what,
		       const char *body, size_t len)
{
	struct buf ex = BUF_INIT;
	wire_put_printable(&ex, body, len, OA_EXCERPT);
	if (ex.len)
		chat_result_fail(r, c, "%s: %s", what, buf_str(&ex));
	else
		chat_result_fail(r, c, "%s", what);
	buf_release(&ex);
	return -1;
}

/* Fails r with the provider's own words, or the best we have. */
static int oa_fail_err(struct chat_result *r, enum err_class c,
		       const struct oa_err *e, const char *body, size_t len)
{
	if (e->msg && *e->msg)
		return chat_result_fail(r, c, "%s", e->msg);
	if (e->code || e->type)
		return chat_result_fail(r, c, "error '%s'", e->code ? e->code : e->type);
	return oa_fail_raw(r, c, "the provider reported an error", body, len);
}

static void oa_parse_error(int http_status, const char *body, size_t len,
			   const char *retry_after, struct chat_result *r)
{
	enum err_class c = err_class_from_status(http_status);
	if (c == ERR_NONE)
		c = ERR_MALFORMED;  /* a 2xx is no error: the caller erred */
	r->http_status = http_status;
	r->retry_after_ms = retry_after_parse(retry_after, (int64_t)time(NULL));
	cJSON *root = body && len ? json_parse(body, len, WIRE_JSON_DEPTH) : NULL;
	struct oa_err e;
	if (root && cJSON_IsObject(root) && oa_err_read(root, 1, &e)) {
		/* OpenAI says "out of credit" with a 429, but waiting will not
		 * bring credit back. */
		if (http_status == 429 && oa_err_is(&e, "insufficient_quota"))
			c = ERR_QUOTA;
		oa_fail_err(r, c, &e, body, len);
	} else if (body && len) {
		char what[32];
		snprintf(what, sizeof(what), "HTTP %d", http_status);
		oa_fail_raw(r, c, what, body, len);
	} else {
		chat_result_fail(r, c, "HTTP %d with an empty body", http_status);
	}
	cJSON_Delete(root);
}

/* ---- the response ---- */

enum oa_mode {
	OA_UNDECIDED,  /* a stream was asked for; nothing but newlines yet */
	OA_SSE,
	OA_WHOLE,      /* one JSON document: asked for, or sent instead of a stream */
};

struct oa_parser {
	enum oa_mode mode;
	size_t cap;              /* one body or one stream event */
	struct sse sse;
	struct buf body;
	struct chat_result *r;   /* the result of the feed in progress */
	size_t added;            /* text bytes added by that feed */
	int done;                /* `data: [DONE]` arrived */
	int finished;            /* a finish_reason arrived */
	int failed;
};

static int oa_text(struct oa_parser *p, struct chat_result *r, const char *s,
		   size_t n)
{
	if (r->text.max && n > r->text.max - r->text.len)
		return chat_result_fail(r, ERR_TOO_LARGE, "answer over %zu bytes",
					r->text.max);
	if (buf_append(&r->text, s, n))
		return chat_result_fail(r, ERR_TOO_LARGE,
					"out of memory holding the answer");
	p->added += n;
	return 0;
}

static int oa_wrong_type(struct chat_result *r, const char *what,
			 const cJSON *v, const char *want)
{
	return chat_result_fail(r, ERR_MALFORMED, "'%s' is %s, not %s", what,
				wire_json_type(v), want);
}

/* A string field that may also be null or absent; another type fails. */
static int oa_opt_str(struct chat_result *r, const cJSON *obj, const char *key,
		      const char *what, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = cJSON_IsString(v) ? v->valuestring : NULL;
	if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
		return oa_wrong_type(r, what, v, "a string");
	return 0;
}

/* The choice we asked for: index 0 (a user's `n` in params may add
 * more). NULL when this chunk has none. */
static const cJSON *oa_choice(const cJSON *choices)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, choices)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
		if (!idx || (cJSON_IsNumber(idx) && idx->valuedouble == 0))
			return c;
	}
	return NULL;
}

/* Content, or the model's refusal when it gave that instead. */
static int oa_content(struct oa_parser *p, struct chat_result *r,
		      const cJSON *msg, const char *where)
{
	char what[32];
	const char *content, *refusal;
	snprintf(what, sizeof(what), "%s.content", where);
	if (oa_opt_str(r, msg, "content", what, &content))
		return -1;
	snprintf(what, sizeof(what), "%s.refusal", where);
	if (oa_opt_str(r, msg, "refusal", what, &refusal))
		return -1;
	const char *s = content ? content : refusal;
	return s ? oa_text(p, r, s, strlen(s)) : 0;
}

static int oa_finish_reason(struct oa_parser *p, struct chat_result *r,
			    const cJSON *choice)
{
	const char *fr;
	if (oa_opt_str(r, choice, "finish_reason", "finish_reason", &fr))
		return -1;
	if (fr && *fr) {
		snprintf(r->finish_reason, sizeof(r->finish_reason), "%s", fr);
		p->finished = 1;
	}
	return 0;
}

static void oa_usage(const cJSON *root, struct chat_result *r)
{
	const cJSON *u = json_get_obj(root, "usage");
	if (!u)
		return;
	int64_t in = wire_tokens(u, "prompt_tokens");
	int64_t out = wire_tokens(u, "completion_tokens");
	if (in >= 0)
		r->input_tokens = in;
	if (out >= 0)
		r->output_tokens = out;
}

/* One chat.completion.chunk. Usage arrives in a last chunk whose choices
 * are empty (or null, from some servers). */
static int oa_chunk(struct oa_parser *p, const cJSON *root, const char *event,
		    const char *data, size_t len)
{
	struct chat_result *r = p->r;
	struct oa_err e;
	if (!cJSON_IsObject(root))
		return oa_wrong_type(r, "stream event", root, "an object");
	int is_error = !strcmp(event, "error");
	if (oa_err_read(root, is_error, &e))
		return oa_fail_err(r, oa_err_class_2xx(&e), &e, data, len);
	if (is_error)
		return oa_fail_raw(r, ERR_SERVER, "stream error event", data, len);
	oa_usage(root, r);
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	if (!choices || cJSON_IsNull(choices))
		return 0;
	if (!cJSON_IsArray(choices))
		return oa_wrong_type(r, "choices", choices, "an array");
	const cJSON *c = oa_choice(choices);
	if (!c)
		return 0;
	if (!cJSON_IsObject(c))
		return oa_wrong_type(r, "choices[0]", c, "an object");
	const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c, "delta");
	if (delta && !cJSON_IsNull(delta)) {
		if (!cJSON_IsObject(delta))
			return oa_wrong_type(r, "delta", delta, "an object");
		if (oa_content(p, r, delta, "delta"))
			return -1;
	}
	return oa_finish_reason(p, r, c);
}

static int oa_is_done(const char *d, size_t n)
{
	while (n && (*d == ' ' || *d == '\t'))
		d++, n--;
	while (n && (d[n - 1] == ' ' || d[n - 1] == '\t'))
		n--;
	return n == 6 && !memcmp(d, "[DONE]", 6);
}

/* sse_event_fn: one SSE event of the stream. Returns non-zero to stop the
 * stream once r holds a failure. */
static int oa_on_event(void *ctx, const char *event, const char *data,
		       size_t len)
{
	struct oa_parser *p = ctx;
	if (p->done)
		return 0;
	if (oa_is_done(data, len)) {
		p->done = 1;
		return 0;
	}
	cJSON *root = json_parse(data, len, WIRE_JSON_DEPTH);
	int rc;
	if (root)
		rc = oa_chunk(p, root, event, data, len);
	else if (p->sse.eof)
		/* The body ended inside an event's data lines. */
		rc = chat_result_fail(p->r, ERR_TRUNCATED,
				      "stream ended inside an event");
	else if (!strcmp(event, "error"))
		rc = oa_fail_raw(p->r, ERR_SERVER, "stream error event", data, len);
	else
		rc = oa_fail_raw(p->r, ERR_MALFORMED, "stream event is not JSON",
				 data, len);
	cJSON_Delete(root);
	return rc ? 1 : 0;
}

static struct resp_parser *oa_parser_new(int stream, size_t max_bytes)
{
	struct oa_parser *p = q_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->mode = stream ? OA_UNDECIDED : OA_WHOLE;
	p->cap = wire_body_cap(max_bytes);
	buf_init(&p->body, 0);
	sse_init(&p->sse, SSE_MODE_SSE, p->cap, oa_on_event, p);
	return (struct resp_parser *)p;
}

static void oa_parser_free(struct resp_parser *rp)
{
	struct oa_parser *p = (struct oa_parser *)rp;
	if (!p)
		return;
	sse_release(&p->sse);
	buf_release(&p->body);
	q_free(p);
}

static int oa_fail(struct oa_parser *p, struct chat_result *r,
		   enum err_class c, const char *msg)
{
	p->failed = 1;
	return chat_result_fail(r, c, "%s", msg);
}

/* The framer failed: a callback already said why, or a cap was hit. */
static int oa_sse_failed(struct oa_parser *p, struct chat_result *r)
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
static void oa_decide(struct oa_parser *p, const char **data, size_t *len)
{
	while (*len && (**data == '\n' || **data == '\r'))
		(*data)++, (*len)--;
	if (*len)
		p->mode = **data == '{' ? OA_WHOLE : OA_SSE;
}

static int oa_parser_feed(struct resp_parser *rp, const char *data, size_t len,
			  struct chat_result *r)
{
	struct oa_parser *p = (struct oa_parser *)rp;
	if (p->failed || r->err != ERR_NONE)
		return -1;
	p->r = r;
	p->added = 0;
	if (p->mode == OA_UNDECIDED)
		oa_decide(p, &data, &len);
	if (!len || p->done)
		return 0;
	if (p->mode == OA_WHOLE) {
		if (len > p->cap - p->body.len) {
			p->failed = 1;
			return chat_result_fail(r, ERR_TOO_LARGE,
						"response body over %zu bytes",
						p->cap);
		}
		if (buf_append(&p->body, data, len))
			return oa_fail(p, r, ERR_TOO_LARGE,
				       "out of memory reading the response");
		return 0;
	}
	if (sse_feed(&p->sse, data, len))
		return oa_sse_failed(p, r);
	return p->added > INT_MAX ? INT_MAX : (int)p->added;
}

static int oa_whole_choice(struct oa_parser *p, struct chat_result *r,
			   const cJSON *root)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	if (!choices)
		return chat_result_fail(r, ERR_MALFORMED,
					"response has no 'choices' array");
	if (!cJSON_IsArray(choices))
		return oa_wrong_type(r, "choices", choices, "an array");
	const cJSON *c = oa_choice(choices);
	if (!c)
		return chat_result_fail(r, ERR_MALFORMED,
					"response has no choice with index 0");
	if (!cJSON_IsObject(c))
		return oa_wrong_type(r, "choices[0]", c, "an object");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c, "message");
	if (!cJSON_IsObject(msg))
		return oa_wrong_type(r, "message", msg, "an object");
	if (oa_content(p, r, msg, "message"))
		return -1;
	return oa_finish_reason(p, r, c);
}

/* A whole chat.completion body. */
static int oa_whole(struct oa_parser *p, struct chat_result *r)
{
	const char *s = buf_str(&p->body);
	size_t n = p->body.len;
	cJSON *root = json_parse(s, n, WIRE_JSON_DEPTH);
	int rc = -1;
	struct oa_err e;
	if (!root) {
		if (wire_json_looks_cut(s, n))
			chat_result_fail(r, ERR_TRUNCATED,
					 "response body ended after %zu bytes, "
					 "mid-JSON", n);
		else
			oa_fail_raw(r, ERR_MALFORMED, "response is not JSON", s, n);
	} else if (!cJSON_IsObject(root)) {
		oa_wrong_type(r, "response", root, "an object");
	} else if (oa_err_read(root, 0, &e)) {
		oa_fail_err(r, oa_err_class_2xx(&e), &e, s, n);
	} else {
		oa_usage(root, r);
		rc = oa_whole_choice(p, r, root);
	}
	cJSON_Delete(root);
	return rc;
}

static int oa_parser_finish(struct resp_parser *rp, struct chat_result *r)
{
	struct oa_parser *p = (struct oa_parser *)rp;
	if (p->failed || r->err != ERR_NONE)
		return -1;
	p->r = r;
	if (p->mode == OA_WHOLE) {
		if (oa_whole(p, r)) {
			p->failed = 1;
			return -1;
		}
	} else if (p->mode == OA_UNDECIDED) {
		return oa_fail(p, r, ERR_TRUNCATED, "stream ended before any event");
	} else {
		if (sse_finish(&p->sse))
			return oa_sse_failed(p, r);
		/* A finish_reason says the answer is whole even when the
		 * [DONE] after it was lost; without either it is cut. */
		if (!p->done && !p->finished) {
			p->failed = 1;
			if (!p->sse.nevents && p->sse.nunknown)
				return chat_result_fail(r, ERR_MALFORMED,
							"response is not an event stream");
			return chat_result_fail(r, ERR_TRUNCATED,
						"stream ended after %zu bytes of "
						"text, before its last event",
						r->text.len);
		}
	}
	r->complete = 1;
	/* Checked at the end, not when the chunk came, so the usage chunk
	 * after it is still counted. */
	if (!strcmp(r->finish_reason, "content_filter"))
		return oa_fail(p, r, ERR_CONTENT_FILTER,
			       "the provider's content filter stopped the answer");
	/* OpenRouter and others end a generation that failed upstream this
	 * way, sometimes with no error object: the text is not an answer. */
	if (!strcmp(r->finish_reason, "error"))
		return oa_fail(p, r, ERR_SERVER,
			       "the provider ended the answer with finish_reason "
			       "'error'");
	/* Checked once, at the end: a character may span two chunks. */
	size_t ok = wire_utf8_valid(r->text.data ? r->text.data : "", r->text.len);
	if (ok < r->text.len) {
		p->failed = 1;
		return chat_result_fail(r, ERR_MALFORMED,
					"answer is not valid UTF-8 (byte 0x%02x at offset %zu)",
					(unsigned char)r->text.data[ok], ok);
	}
	return 0;
}

const struct provider openai_provider = {
	.name = "openai",
	.default_base_url = OA_DEFAULT_BASE_URL,
	.default_key_env = "OPENAI_API_KEY",
	.build = oa_build,
	.parser_new = oa_parser_new,
	.parser_feed = oa_parser_feed,
	.parser_finish = oa_parser_finish,
	.parser_free = oa_parser_free,
	.parse_error = oa_parse_error,
};
