/* Ollama's native chat API: POST {base_url}/api/chat, answered with one
 * JSON object, or (the server's default, so `stream` is always sent) an
 * NDJSON stream of objects whose last one says "done": true and carries
 * done_reason and the token counts. Errors are {"error": "text"}, with a
 * status, or as a line of a stream that already began. No key by default;
 * one given anyway (a proxy in front of Ollama) goes in as a bearer token. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "sse.h"
#include "wire.h"

#define OL_DEFAULT_BASE_URL "http://127.0.0.1:11434"
/* How much of a body that is not Ollama's JSON a message quotes. */
#define OL_EXCERPT 200
/* How much of Ollama's own words a message keeps. */
#define OL_WORDS_MAX 2000

/* ---- the request ---- */

/* Adds item under key; frees item and returns -1 when either failed. */
static int ol_add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return -1;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

static int ol_add_message(cJSON *msgs, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	if (!m || ol_add(m, "role", cJSON_CreateString(role)) ||
	    ol_add(m, "content", wire_json_string(content)) ||
	    !cJSON_AddItemToArray(msgs, m)) {
		cJSON_Delete(m);
		return -1;
	}
	return 0;
}

static cJSON *ol_stop_list(const struct chat_request *req)
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

/* The sampling settings that are set, in Ollama's `options` (its own
 * names: num_predict for max_tokens); empty when none is. The seed is
 * written as digits: a double would round seeds above 2^53. */
static cJSON *ol_options(const struct chat_request *req)
{
	char seed[32];
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (req->has_temperature &&
	    ol_add(o, "temperature", cJSON_CreateNumber(req->temperature)))
		goto fail;
	if (req->has_top_p && ol_add(o, "top_p", cJSON_CreateNumber(req->top_p)))
		goto fail;
	if (req->has_seed) {
		snprintf(seed, sizeof(seed), "%" PRId64, req->seed);
		if (ol_add(o, "seed", cJSON_CreateRaw(seed)))
			goto fail;
	}
	if (req->max_tokens > 0 &&
	    ol_add(o, "num_predict", cJSON_CreateNumber(req->max_tokens)))
		goto fail;
	if (req->nstop && ol_add(o, "stop", ol_stop_list(req)))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* An empty system prompt is no system message; empty options are left
 * out, so the model's own defaults hold. */
static cJSON *ol_body(const struct chat_request *req)
{
	cJSON *body = cJSON_CreateObject();
	if (!body || ol_add(body, "model", wire_json_string(req->model)))
		goto fail;
	cJSON *msgs = cJSON_CreateArray();
	if (ol_add(body, "messages", msgs))
		goto fail;
	if (req->system && *req->system &&
	    ol_add_message(msgs, "system", req->system))
		goto fail;
	if (ol_add_message(msgs, "user", req->prompt) ||
	    ol_add(body, "stream", cJSON_CreateBool(req->stream)))
		goto fail;
	cJSON *opts = ol_options(req);
	if (!opts)
		goto fail;
	if (!opts->child)
		cJSON_Delete(opts);
	else if (ol_add(body, "options", opts))
		goto fail;
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

/* Merges params into body. Most of Ollama's knobs (num_ctx, top_k, ...)
 * live in `options`, so a user's params.options is merged key by key
 * with ours rather than replacing them: their keys win, ours fill the
 * rest. A params.options that is not an object (null) replaces ours. */
static int ol_merge_params(cJSON *body, const char *params_json,
			   struct qerr *e)
{
	cJSON *ours = cJSON_DetachItemFromObjectCaseSensitive(body, "options");
	if (wire_merge_params(body, params_json, e)) {
		cJSON_Delete(ours);
		return -1;
	}
	if (!ours)
		return 0;
	cJSON *theirs = cJSON_GetObjectItemCaseSensitive(body, "options");
	if (!theirs) {
		if (ol_add(body, "options", ours))
			return qerr_set(e, "out of memory merging params");
		return 0;
	}
	cJSON *item;
	while (cJSON_IsObject(theirs) && (item = ours->child)) {
		cJSON_DetachItemViaPointer(ours, item);
		if (cJSON_GetObjectItemCaseSensitive(theirs, item->string)) {
			cJSON_Delete(item);
		} else if (!cJSON_AddItemToObject(theirs, item->string, item)) {
			cJSON_Delete(item);
			cJSON_Delete(ours);
			return qerr_set(e, "out of memory merging params");
		}
	}
	cJSON_Delete(ours);
	return 0;
}

static int ol_headers(const struct chat_request *req, const char *api_key,
		      struct http_req *out, struct qerr *e)
{
	if (wire_add_header(out, "Content-Type", "", "application/json", e))
		return -1;
	if (api_key && *api_key &&
	    wire_add_header(out, "Authorization", "Bearer ", api_key, e))
		return -1;
	if (req->stream &&
	    wire_add_header(out, "Accept", "", "application/x-ndjson", e))
		return -1;
	return 0;
}

static int ol_build(const struct chat_request *req, const char *base_url,
		    const char *api_key, struct http_req *out, struct qerr *e)
{
	cJSON *body = NULL;
	if (!req->model || !*req->model)
		return qerr_set(e, "no model name for provider 'ollama'");
	if (!req->prompt)
		return qerr_set(e, "no prompt for model '%s'", req->model);
	if (wire_url_join(&out->url, base_url && *base_url ? base_url
							    : OL_DEFAULT_BASE_URL,
			  "/api/chat", e))
		goto fail;
	body = ol_body(req);
	if (!body) {
		qerr_set(e, "out of memory building the request body");
		goto fail;
	}
	if (ol_merge_params(body, req->params_json, e) ||
	    wire_body_print(body, &out->body, e) ||
	    ol_headers(req, api_key, out, e))
		goto fail;
	cJSON_Delete(body);
	return 0;
fail:
	cJSON_Delete(body);
	http_req_release(out);
	return -1;
}

/* ---- errors in Ollama's own words ---- */

/* Whether root is an error report: {"error": "text"} from Ollama, or
 * {"error": {"message": ...}} from a proxy in front of it. *msg is the
 * words, NULL when it gave none. */
static int ol_err_read(const cJSON *root, const char **msg)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	*msg = NULL;
	if (!err || cJSON_IsNull(err))
		return 0;
	if (cJSON_IsString(err))
		*msg = err->valuestring;
	else if (cJSON_IsObject(err))
		*msg = json_get_str(err, "message");
	return 1;
}

/* Ollama says what went wrong in words only: "model 'x' not found" is
 * the one a user can act on, the rest failed on the server's side. */
static enum err_class ol_err_class(const char *msg)
{
	static const char nf[] = "not found";
	for (const char *s = msg; s && *s; s++)
		if (!strncasecmp(s, nf, sizeof(nf) - 1))
			return ERR_NOT_FOUND;
	return ERR_SERVER;
}

static int ol_fail_raw(struct chat_result *r, enum err_class c,
		       const char *what, const char *body, size_t len)
{
	struct buf ex = BUF_INIT;
	wire_put_printable(&ex, body, len, OL_EXCERPT);
	if (ex.len)
		chat_result_fail(r, c, "%s: %s", what, buf_str(&ex));
	else
		chat_result_fail(r, c, "%s", what);
	buf_release(&ex);
	return -1;
}

/* Fails r with Ollama's words (made fit to show), or the body itself. */
static int ol_fail_words(struct chat_result *r, enum err_class c,
			 const char *msg, const char *body, size_t len)
{
	struct buf w = BUF_INIT;
	if (msg)
		wire_put_printable(&w, msg, strlen(msg), OL_WORDS_MAX);
	if (w.len)
		chat_result_fail(r, c, "%s", buf_str(&w));
	else
		ol_fail_raw(r, c, "the server reported an error", body, len);
	buf_release(&w);
	return -1;
}

static void ol_parse_error(int http_status, const char *body, size_t len,
			   const char *retry_after, struct chat_result *r)
{
	enum err_class c = err_class_from_status(http_status);
	if (c == ERR_NONE)
		c = ERR_MALFORMED;  /* a 2xx is no error: the caller erred */
	r->http_status = http_status;
	r->retry_after_ms = retry_after_parse(retry_after, (int64_t)time(NULL));
	cJSON *root = body && len ? json_parse(body, len, WIRE_JSON_DEPTH) : NULL;
	const char *msg;
	char what[80];
	if (cJSON_IsObject(root) && ol_err_read(root, &msg)) {
		ol_fail_words(r, c, msg, body, len);
	} else if (body && len) {
		/* Not Ollama's JSON: a 404 then most likely means base_url
		 * points at something else ("404 page not found"). */
		snprintf(what, sizeof(what), "HTTP %d%s", http_status,
			 http_status == 404 ? " (is base_url an Ollama server?)" : "");
		ol_fail_raw(r, c, what, body, len);
	} else {
		chat_result_fail(r, c, "HTTP %d with an empty body", http_status);
	}
	cJSON_Delete(root);
}

/* ---- the response ---- */

struct ol_parser {
	int stream;
	size_t cap;              /* one body or one stream line */
	struct sse nd;           /* the NDJSON framer */
	struct buf body;         /* a whole body, when no stream was asked for */
	struct chat_result *r;   /* the result of the feed in progress */
	size_t added;            /* text bytes added by that feed */
	int done;                /* the object with "done": true arrived */
	int failed;
};

static int ol_text(struct ol_parser *p, struct chat_result *r, const char *s,
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

static int ol_wrong_type(struct chat_result *r, const char *what,
			 const cJSON *v, const char *want)
{
	return chat_result_fail(r, ERR_MALFORMED, "'%s' is %s, not %s", what,
				wire_json_type(v), want);
}

/* message.content, appended. A stream's lines may lack a message; a
 * whole body (need) may not. Other fields (role, thinking, tool_calls)
 * are not the answer. */
static int ol_message(struct ol_parser *p, struct chat_result *r,
		      const cJSON *root, int need)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (!m || cJSON_IsNull(m)) {
		if (need)
			return chat_result_fail(r, ERR_MALFORMED,
						"response has no 'message' object");
		return 0;
	}
	if (!cJSON_IsObject(m))
		return ol_wrong_type(r, "message", m, "an object");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	if (!c || cJSON_IsNull(c))
		return 0;
	if (!cJSON_IsString(c))
		return ol_wrong_type(r, "message.content", c, "a string");
	return ol_text(p, r, c->valuestring, strlen(c->valuestring));
}

/* "done", and with it the reason and the counts. Returns 0 with *done
 * set to 1 (true), 0 (false) or -1 (absent), or -1 with r failed. */
static int ol_done(struct chat_result *r, const cJSON *root, int *done)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "done");
	*done = -1;
	if (!d)
		return 0;
	if (!cJSON_IsBool(d))
		return ol_wrong_type(r, "done", d, "a boolean");
	*done = cJSON_IsTrue(d);
	if (!*done)
		return 0;
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(root, "done_reason");
	if (why && !cJSON_IsNull(why) && !cJSON_IsString(why))
		return ol_wrong_type(r, "done_reason", why, "a string");
	if (cJSON_IsString(why))
		snprintf(r->finish_reason, sizeof(r->finish_reason), "%s",
			 why->valuestring);
	/* Absent when Ollama did not count (a cached prompt): -1, never 0. */
	r->input_tokens = wire_tokens(root, "prompt_eval_count");
	r->output_tokens = wire_tokens(root, "eval_count");
	return 0;
}

/* One object: a piece of the stream, or the whole body (whole). */
static int ol_object(struct ol_parser *p, const cJSON *root, int whole,
		     const char *data, size_t len)
{
	struct chat_result *r = p->r;
	const char *msg;
	int done;
	if (!cJSON_IsObject(root))
		return ol_wrong_type(r, whole ? "response" : "stream line", root,
				     "an object");
	if (ol_err_read(root, &msg))
		return ol_fail_words(r, ol_err_class(msg), msg, data, len);
	if (ol_message(p, r, root, whole) || ol_done(r, root, &done))
		return -1;
	if (done == 1 || (whole && done == -1))
		p->done = 1;
	else if (whole)
		return chat_result_fail(r, ERR_TRUNCATED,
					"response says it is not done "
					"(\"done\": false)");
	return 0;
}

/* sse_event_fn: one NDJSON line. Returns non-zero to stop the stream once
 * r holds a failure. */
static int ol_on_line(void *ctx, const char *event, const char *data,
		      size_t len)
{
	struct ol_parser *p = ctx;
	(void)event;
	if (p->done)
		return 0;  /* nothing after the last object is the answer */
	cJSON *root = json_parse(data, len, WIRE_JSON_DEPTH);
	int rc;
	if (root)
		rc = ol_object(p, root, 0, data, len);
	else if (p->nd.eof && wire_json_looks_cut(data, len))
		rc = chat_result_fail(p->r, ERR_TRUNCATED,
				      "stream ended inside a line");
	else
		rc = ol_fail_raw(p->r, ERR_MALFORMED, "stream line is not JSON",
				 data, len);
	cJSON_Delete(root);
	return rc ? 1 : 0;
}

static struct resp_parser *ol_parser_new(int stream, size_t max_bytes)
{
	struct ol_parser *p = q_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->stream = stream;
	p->cap = wire_body_cap(max_bytes);
	buf_init(&p->body, 0);
	sse_init(&p->nd, SSE_MODE_NDJSON, p->cap, ol_on_line, p);
	return (struct resp_parser *)p;
}

static void ol_parser_free(struct resp_parser *rp)
{
	struct ol_parser *p = (struct ol_parser *)rp;
	if (!p)
		return;
	sse_release(&p->nd);
	buf_release(&p->body);
	q_free(p);
}

static int ol_fail(struct ol_parser *p, struct chat_result *r,
		   enum err_class c, const char *msg)
{
	p->failed = 1;
	return chat_result_fail(r, c, "%s", msg);
}

/* The framer failed: a callback already said why, or a cap was hit. */
static int ol_nd_failed(struct ol_parser *p, struct chat_result *r)
{
	p->failed = 1;
	if (p->nd.err == SSE_TOO_LARGE)
		return chat_result_fail(r, ERR_TOO_LARGE,
					"stream line over %zu bytes", p->cap);
	if (p->nd.err == SSE_NOMEM)
		return chat_result_fail(r, ERR_TOO_LARGE,
					"out of memory reading the stream");
	return -1;
}

static int ol_parser_feed(struct resp_parser *rp, const char *data,
			  size_t len, struct chat_result *r)
{
	struct ol_parser *p = (struct ol_parser *)rp;
	if (p->failed || r->err != ERR_NONE)
		return -1;
	p->r = r;
	p->added = 0;
	if (!len || p->done)
		return 0;
	if (!p->stream) {
		if (len > p->cap - p->body.len) {
			p->failed = 1;
			return chat_result_fail(r, ERR_TOO_LARGE,
						"response body over %zu bytes",
						p->cap);
		}
		if (buf_append(&p->body, data, len))
			return ol_fail(p, r, ERR_TOO_LARGE,
				       "out of memory reading the response");
		return 0;
	}
	if (sse_feed(&p->nd, data, len))
		return ol_nd_failed(p, r);
	return p->added > INT_MAX ? INT_MAX : (int)p->added;
}

/* The stream's bytes all went to the framer: a last line without its
 * newline still counts, and no "done": true means the answer was cut. */
static int ol_stream_end(struct ol_parser *p, struct chat_result *r)
{
	if (!p->done && sse_finish(&p->nd))
		return ol_nd_failed(p, r);
	if (p->done)
		return 0;
	if (!p->nd.nevents)
		return ol_fail(p, r, ERR_TRUNCATED, "stream ended before any line");
	p->failed = 1;
	return chat_result_fail(r, ERR_TRUNCATED,
				"stream ended after %zu bytes of text, before "
				"its last line (\"done\": true)",
				r->text.len);
}

static int ol_blank(char c)
{
	return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

/* Whether a body looks like NDJSON: an object first, then more lines. */
static int ol_has_lines(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && ol_blank(s[i]))
		i++;
	if (i == n || s[i] != '{')
		return 0;
	const char *nl = memchr(s + i, '\n', n - i);
	for (i = nl ? (size_t)(nl - s) : n; i < n; i++)
		if (!ol_blank(s[i]))
			return 1;
	return 0;
}

/* A whole body: one object, or lines from a server that streamed when
 * asked not to. */
static int ol_whole(struct ol_parser *p, struct chat_result *r)
{
	const char *s = buf_str(&p->body);
	size_t n = p->body.len;
	cJSON *root = json_parse(s, n, WIRE_JSON_DEPTH);
	int rc = -1;
	if (root) {
		rc = ol_object(p, root, 1, s, n);
	} else if (wire_json_looks_cut(s, n)) {
		chat_result_fail(r, ERR_TRUNCATED,
				 "response body ended after %zu bytes, mid-JSON", n);
	} else if (ol_has_lines(s, n)) {
		if (sse_feed(&p->nd, s, n))
			rc = ol_nd_failed(p, r);
		else
			rc = ol_stream_end(p, r);
	} else {
		ol_fail_raw(r, ERR_MALFORMED, "response is not JSON", s, n);
	}
	cJSON_Delete(root);
	return rc;
}

static int ol_parser_finish(struct resp_parser *rp, struct chat_result *r)
{
	struct ol_parser *p = (struct ol_parser *)rp;
	if (p->failed || r->err != ERR_NONE)
		return -1;
	p->r = r;
	if (p->stream ? ol_stream_end(p, r) : ol_whole(p, r)) {
		p->failed = 1;
		return -1;
	}
	r->complete = 1;
	/* Checked once, at the end: a character may span two pieces. */
	size_t ok = wire_utf8_valid(r->text.data ? r->text.data : "", r->text.len);
	if (ok < r->text.len) {
		p->failed = 1;
		return chat_result_fail(r, ERR_MALFORMED,
					"answer is not valid UTF-8 (byte 0x%02x "
					"at offset %zu)",
					(unsigned char)r->text.data[ok], ok);
	}
	return 0;
}

const struct provider ollama_provider = {
	.name = "ollama",
	.default_base_url = OL_DEFAULT_BASE_URL,
	.default_key_env = NULL,
	.build = ol_build,
	.parser_new = ol_parser_new,
	.parser_feed = ol_parser_feed,
	.parser_finish = ol_parser_finish,
	.parser_free = ol_parser_free,
	.parse_error = ol_parse_error,
};
