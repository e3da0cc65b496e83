/* The Gemini API's own format (generativelanguage.googleapis.com):
 * POST {base_url}/v1beta/models/{model}:generateContent for one JSON body,
 * or :streamGenerateContent?alt=sse for an SSE stream whose every event is
 * a GenerateContentResponse chunk. There is no [DONE]: the chunk with a
 * finishReason is the last word, so a stream without one was cut.
 *
 * Decisions the API leaves to a client:
 * - a safety stop (finishReason SAFETY, RECITATION, LANGUAGE, BLOCKLIST,
 *   PROHIBITED_CONTENT, SPII, IMAGE_SAFETY) or a blocked prompt
 *   (promptFeedback.blockReason) is ERR_CONTENT_FILTER, finish_reason
 *   "content_filter", the reason in the message: asking again gets the
 *   same verdict. RECITATION counts: the answer was cut for quoting.
 * - STOP is "stop", MAX_TOKENS is "length"; any other reason is kept,
 *   lower-cased ("other", "malformed_function_call").
 * - output tokens are candidatesTokenCount + thoughtsTokenCount: thinking
 *   is billed as output, and OpenAI's completion_tokens count it too.
 * - RESOURCE_EXHAUSTED is rate_limited, not quota, whatever its message
 *   says (Google says "you exceeded your current quota" for a per-minute
 *   limit too); only a QuotaFailure naming a per-day quota, or a quota of
 *   0 (a model the plan lacks), is quota: neither comes back within a run.
 * - `params` is merged at the top level of the body, so a
 *   `generationConfig` there replaces the one built from the workflow's
 *   temperature, max_tokens, ... as a whole. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "sse.h"
#include "wire.h"

#define GM_DEFAULT_BASE_URL "https://generativelanguage.googleapis.com"
/* How much of a body that is not the API's JSON a message quotes. */
#define GM_EXCERPT 200
/* How much of the provider's error message, and of an untrusted reason
 * or category name, a message quotes. */
#define GM_MSG_MAX 2000
#define GM_WORD 64

/* ---- the request ---- */

/* Adds item under key; frees item and returns -1 when either failed. */
static int gm_add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return -1;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

static int gm_push(cJSON *arr, cJSON *item)
{
	if (!item)
		return -1;
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

/* A Content: {"role": role, "parts": [{"text": text}]}, no role when NULL
 * (systemInstruction has none). */
static cJSON *gm_content(const char *role, const char *text)
{
	cJSON *part = cJSON_CreateObject();
	if (!part || gm_add(part, "text", wire_json_string(text))) {
		cJSON_Delete(part);
		return NULL;
	}
	cJSON *parts = cJSON_CreateArray();
	if (!parts || gm_push(parts, part)) {
		cJSON_Delete(parts);
		return NULL;
	}
	cJSON *c = cJSON_CreateObject();
	if (!c || (role && gm_add(c, "role", cJSON_CreateString(role)))) {
		cJSON_Delete(c);
		cJSON_Delete(parts);
		return NULL;
	}
	if (gm_add(c, "parts", parts)) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

static cJSON *gm_stop_list(const struct chat_request *req)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < req->nstop; i++) {
		if (req->stop[i] && gm_push(a, wire_json_string(req->stop[i]))) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* generationConfig holds only what was set, so the model's defaults hold
 * otherwise; none at all when nothing was. The seed is written as digits:
 * a double would round seeds above 2^53. */
static int gm_add_config(cJSON *body, const struct chat_request *req)
{
	char seed[32];
	if (!req->has_temperature && !req->has_top_p && req->max_tokens <= 0 &&
	    !req->nstop && !req->has_seed)
		return 0;
	cJSON *gc = cJSON_CreateObject();
	if (gm_add(body, "generationConfig", gc))
		return -1;
	if (req->has_temperature &&
	    gm_add(gc, "temperature", cJSON_CreateNumber(req->temperature)))
		return -1;
	if (req->has_top_p && gm_add(gc, "topP", cJSON_CreateNumber(req->top_p)))
		return -1;
	if (req->max_tokens > 0 &&
	    gm_add(gc, "maxOutputTokens", cJSON_CreateNumber(req->max_tokens)))
		return -1;
	if (req->nstop && gm_add(gc, "stopSequences", gm_stop_list(req)))
		return -1;
	if (req->has_seed) {
		snprintf(seed, sizeof(seed), "%" PRId64, req->seed);
		if (gm_add(gc, "seed", cJSON_CreateRaw(seed)))
			return -1;
	}
	return 0;
}

/* An empty system prompt is no systemInstruction. */
static cJSON *gm_body(const struct chat_request *req)
{
	cJSON *body = cJSON_CreateObject();
	if (!body)
		return NULL;
	cJSON *contents = cJSON_CreateArray();
	/* contents belongs to body once added; gm_add frees it otherwise. */
	if (gm_add(body, "contents", contents) ||
	    gm_push(contents, gm_content("user", req->prompt)))
		goto fail;
	if (req->system && *req->system &&
	    gm_add(body, "systemInstruction", gm_content(NULL, req->system)))
		goto fail;
	if (gm_add_config(body, req))
		goto fail;
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

static int gm_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* Percent-encodes every byte of s that is not unreserved (RFC 3986), so a
 * model name holding ':', '/', '?' or '#' cannot change the path. */
static int gm_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (gm_unreserved(*p)) {
			if (buf_putc(b, (char)*p))
				return -1;
		} else if (buf_putc(b, '%') || buf_putc(b, hex[*p >> 4]) ||
			   buf_putc(b, hex[*p & 15])) {
			return -1;
		}
	}
	return 0;
}

static int gm_ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* The path after base_url. A base_url that already ends in an API version
 * (".../v1beta", ".../v1") keeps it; others get /v1beta. A model named with
 * its collection ("models/x", "tunedModels/x", as the API's own model
 * names read) keeps it rather than becoming "models/models/x". */
static int gm_path(struct buf *path, const char *base, const char *model,
		   int stream, struct qerr *e)
{
	static const char *const collections[] = {"models/", "tunedModels/"};
	const char *collection = "models/", *id = model;
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	for (size_t i = 0; i < sizeof(collections) / sizeof(collections[0]); i++) {
		size_t k = strlen(collections[i]);
		if (!strncmp(model, collections[i], k)) {
			collection = collections[i];
			id = model + k;
		}
	}
	if (!*id)
		return qerr_set(e, "no model name for provider 'gemini'");
	int versioned = gm_ends_with(base, n, "/v1beta") || gm_ends_with(base, n, "/v1");
	if (buf_puts(path, versioned ? "/" : "/v1beta/") ||
	    buf_puts(path, collection) || gm_escape(path, id) ||
	    buf_puts(path, stream ? ":streamGenerateContent?alt=sse"
				  : ":generateContent"))
		return qerr_set(e, "out of memory building the request url");
	return 0;
}

/* The key goes in a header, never in the URL's ?key=, so no log of a URL
 * ever holds it. */
static int gm_headers(const struct chat_request *req, const char *api_key,
		      struct http_req *out, struct qerr *e)
{
	if (wire_add_header(out, "Content-Type", "", "application/json", e))
		return -1;
	if (api_key && *api_key &&
	    wire_add_header(out, "x-goog-api-key", "", api_key, e))
		return -1;
	if (req->stream &&
	    wire_add_header(out, "Accept", "", "text/event-stream", e))
		return -1;
	return 0;
}

static int gm_build(const struct chat_request *req, const char *base_url,
		    const char *api_key, struct http_req *out, struct qerr *e)
{
	cJSON *body = NULL;
	struct buf path = BUF_INIT;
	const char *base = base_url && *base_url ? base_url : GM_DEFAULT_BASE_URL;
	if (!req->model || !*req->model)
		return qerr_set(e, "no model name for provider 'gemini'");
	if (!req->prompt)
		return qerr_set(e, "no prompt for model '%s'", req->model);
	if (gm_path(&path, base, req->model, req->stream, e) ||
	    wire_url_join(&out->url, base, buf_str(&path), e))
		goto fail;
	body = gm_body(req);
	if (!body) {
		qerr_set(e, "out of memory building the request body");
		goto fail;
	}
	if (wire_merge_params(body, req->params_json, e) ||
	    wire_body_print(body, &out->body, e) ||
	    gm_headers(req, api_key, out, e))
		goto fail;
	cJSON_Delete(body);
	buf_release(&path);
	return 0;
fail:
	cJSON_Delete(body);
	buf_release(&path);
	http_req_release(out);
	return -1;
}

/* ---- errors the API reports in its own words ---- */

/* Google's error body: {"error": {"code": 429, "message": "...",
 * "status": "RESOURCE_EXHAUSTED", "details": [google.rpc.* objects]}}. */
struct gm_err {
	const char *msg;        /* NULL when the body gave none */
	const char *status;     /* the google.rpc.Code name, or NULL */
	int code;               /* an HTTP status from "code", or 0 */
	const cJSON *details;   /* an array, or NULL */
};

/* Returns 1 when root describes an error. The streaming endpoint without
 * alt=sse wraps its error in an array, which is read through. */
static int gm_err_read(const cJSON *root, struct gm_err *e)
{
	memset(e, 0, sizeof(*e));
	if (cJSON_IsArray(root) && cJSON_GetArraySize(root) == 1)
		root = cJSON_GetArrayItem(root, 0);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsString(err)) {
		e->msg = err->valuestring;
		return 1;
	}
	if (!cJSON_IsObject(err))
		return 0;
	e->msg = json_get_str(err, "message");
	e->status = json_get_str(err, "status");
	e->details = json_get_arr(err, "details");
	double n = json_get_num(err, "code", 0);
	if (n >= 100 && n <= 599)
		e->code = (int)n;
	return 1;
}

/* An ErrorInfo reason about the key ("API_KEY_INVALID", which comes with
 * a 400 INVALID_ARGUMENT): the key is at fault, not the request. */
static int gm_key_refused(const cJSON *details)
{
	const cJSON *d;
	cJSON_ArrayForEach(d, details)
	{
		const char *reason = json_get_str(d, "reason");
		if (reason && !strncmp(reason, "API_KEY_", 8))
			return 1;
	}
	return 0;
}

/* A QuotaFailure that will not lift within a run: a per-day quota
 * ("GenerateRequestsPerDayPerProjectPerModel-FreeTier"), or a quota of 0. */
static int gm_quota_gone(const cJSON *details)
{
	const cJSON *d, *v;
	cJSON_ArrayForEach(d, details)
	{
		cJSON_ArrayForEach(v, json_get_arr(d, "violations"))
		{
			const char *id = json_get_str(v, "quotaId");
			const char *value = json_get_str(v, "quotaValue");
			if ((id && strstr(id, "PerDay")) || (value && !strcmp(value, "0")))
				return 1;
		}
	}
	return 0;
}

/* google.rpc.RetryInfo's retryDelay, a protobuf Duration as JSON writes
 * it ("38s", "1.5s"). Returns milliseconds, rounded up, or -1. */
static int64_t gm_retry_delay(const cJSON *details)
{
	const cJSON *d;
	cJSON_ArrayForEach(d, details)
	{
		const char *type = json_get_str(d, "@type");
		const char *delay = json_get_str(d, "retryDelay");
		char num[40];
		size_t n = delay ? strlen(delay) : 0;
		if (!delay || (type && !gm_ends_with(type, strlen(type), "RetryInfo")))
			continue;
		if (n < 2 || n > sizeof(num) || delay[n - 1] != 's')
			return -1;
		memcpy(num, delay, n - 1);
		num[n - 1] = '\0';
		return retry_after_parse(num, 0);
	}
	return -1;
}

/* The class of an error. The status name says most; the numeric code or
 * the HTTP status stand in when there is none. http_status is 200 for an
 * error inside a 2xx body, where nothing else says what it is. */
static enum err_class gm_err_class(const struct gm_err *e, int http_status)
{
	static const struct {
		const char *status;
		enum err_class c;
	} known[] = {
		{"INVALID_ARGUMENT", ERR_BAD_REQUEST},
		{"FAILED_PRECONDITION", ERR_BAD_REQUEST},
		{"OUT_OF_RANGE", ERR_BAD_REQUEST},
		{"UNIMPLEMENTED", ERR_BAD_REQUEST},
		{"ALREADY_EXISTS", ERR_BAD_REQUEST},
		{"UNAUTHENTICATED", ERR_AUTH},
		{"PERMISSION_DENIED", ERR_AUTH},
		{"NOT_FOUND", ERR_NOT_FOUND},
		{"RESOURCE_EXHAUSTED", ERR_RATE_LIMITED},
		{"UNAVAILABLE", ERR_OVERLOADED},
		{"DEADLINE_EXCEEDED", ERR_TIMEOUT},
		{"INTERNAL", ERR_SERVER},
		{"UNKNOWN", ERR_SERVER},
		{"ABORTED", ERR_SERVER},
		{"DATA_LOSS", ERR_SERVER},
	};
	enum err_class c = ERR_NONE;
	for (size_t i = 0; e->status && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(e->status, known[i].status))
			c = known[i].c;
	if (c == ERR_NONE && e->code)
		c = err_class_from_status(e->code);
	if (c == ERR_NONE)
		c = err_class_from_status(http_status);
	if (c == ERR_NONE)
		c = ERR_SERVER;  /* accepted, then failed */
	if (gm_key_refused(e->details))
		c = ERR_AUTH;
	if (c == ERR_RATE_LIMITED && gm_quota_gone(e->details))
		c = ERR_QUOTA;
	return c;
}

static int gm_fail_raw(struct chat_result *r, enum err_class c, const char *what,
		       const char *body, size_t len)
{
	struct buf ex = BUF_INIT;
	wire_put_printable(&ex, body, len, GM_EXCERPT);
	if (ex.len)
		chat_result_fail(r, c, "%s: %s", what, buf_str(&ex));
	else
		chat_result_fail(r, c, "%s", what);
	buf_release(&ex);
	return -1;
}

/* Fails r with the provider's own words (made printable: they go into a
 * JSON report, and Google's hold newlines), or the best we have. */
static int gm_fail_err(struct chat_result *r, enum err_class c,
		       const struct gm_err *e, const char *body, size_t len)
{
	struct buf m = BUF_INIT;
	if (e->msg)
		wire_put_printable(&m, e->msg, strlen(e->msg), GM_MSG_MAX);
	if (m.len)
		chat_result_fail(r, c, "%s", buf_str(&m));
	else if (e->status &&
		 !wire_put_printable(&m, e->status, strlen(e->status), GM_WORD) &&
		 m.len)
		chat_result_fail(r, c, "error '%s'", buf_str(&m));
	else
		gm_fail_raw(r, c, "the provider reported an error", body, len);
	buf_release(&m);
	return -1;
}

static void gm_parse_error(int http_status, const char *body, size_t len,
			   const char *retry_after, struct chat_result *r)
{
	enum err_class c = err_class_from_status(http_status);
	if (c == ERR_NONE)
		c = ERR_MALFORMED;  /* a 2xx is no error: the caller erred */
	r->http_status = http_status;
	r->retry_after_ms = retry_after_parse(retry_after, (int64_t)time(NULL));
	cJSON *root = body && len ? json_parse(body, len, WIRE_JSON_DEPTH) : NULL;
	struct gm_err e;
	if (root && gm_err_read(root, &e)) {
		if (r->retry_after_ms < 0)
			r->retry_after_ms = gm_retry_delay(e.details);
		gm_fail_err(r, gm_err_class(&e, http_status), &e, body, len);
	} else if (body && len) {
		char what[32];
		snprintf(what, sizeof(what), "HTTP %d", http_status);
		gm_fail_raw(r, c, what, body, len);
	} else {
		chat_result_fail(r, c, "HTTP %d with an empty body", http_status);
	}
	cJSON_Delete(root);
}

/* ---- the response ---- */

enum gm_mode {
	GM_UNDECIDED,  /* a stream was asked for; nothing but blanks yet */
	GM_SSE,
	GM_WHOLE,      /* one JSON document: asked for, or sent instead of a stream */
};

struct gm_parser {
	enum gm_mode mode;
	size_t cap;              /* one body or one stream event */
	struct sse sse;
	struct buf body;
	struct buf why;          /* what blocked the prompt or the answer */
	struct chat_result *r;   /* the result of the feed in progress */
	size_t added;            /* text bytes added by that feed */
	int candidate;           /* a candidate with index 0 was seen */
	int finished;            /* a finishReason (or a prompt block) arrived */
	int blocked;             /* ... and it was a block */
	int failed;
};

static int gm_text(struct gm_parser *p, struct chat_result *r, const char *s,
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

static int gm_wrong_type(struct chat_result *r, const char *what,
			 const cJSON *v, const char *want)
{
	return chat_result_fail(r, ERR_MALFORMED, "'%s' is %s, not %s", what,
				wire_json_type(v), want);
}

/* A string field that may also be null or absent; another type fails. */
static int gm_opt_str(struct chat_result *r, const cJSON *obj, const char *key,
		      const char *what, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = cJSON_IsString(v) ? v->valuestring : NULL;
	if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
		return gm_wrong_type(r, what, v, "a string");
	return 0;
}

/* An object field that may also be null or absent (*out NULL then). */
static int gm_opt_obj(struct chat_result *r, const cJSON *obj, const char *key,
		      const char *what, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = cJSON_IsObject(v) ? v : NULL;
	if (v && !cJSON_IsObject(v) && !cJSON_IsNull(v))
		return gm_wrong_type(r, what, v, "an object");
	return 0;
}

/* The last chunk that reports usage says it all: its counts are totals. */
static void gm_usage(const cJSON *root, struct chat_result *r)
{
	const cJSON *u = json_get_obj(root, "usageMetadata");
	if (!u)
		return;
	int64_t out = wire_tokens(u, "candidatesTokenCount");
	int64_t thoughts = wire_tokens(u, "thoughtsTokenCount");
	r->input_tokens = wire_tokens(u, "promptTokenCount");
	r->output_tokens = -1;
	if (out >= 0 || thoughts >= 0)
		r->output_tokens = (out > 0 ? out : 0) + (thoughts > 0 ? thoughts : 0);
}

static int gm_is_block(const char *reason)
{
	static const char *const blocks[] = {
		"SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST",
		"PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
	};
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (!strcmp(reason, blocks[i]))
			return 1;
	return 0;
}

/* The safety category that blocked: one marked blocked, else the first
 * rated HIGH. NULL when the ratings name none. */
static const char *gm_category(const cJSON *ratings)
{
	const cJSON *s, *list = cJSON_IsArray(ratings) ? ratings : NULL;
	const char *high = NULL;
	cJSON_ArrayForEach(s, list)
	{
		const char *cat = json_get_str(s, "category");
		const char *prob = json_get_str(s, "probability");
		if (cat && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "blocked")))
			return cat;
		if (cat && !high && prob && !strcmp(prob, "HIGH"))
			high = cat;
	}
	return high;
}

/* Records what blocked: "the provider blocked the prompt: blockReason
 * SAFETY (HARM_CATEGORY_HARASSMENT)". The first block is the one told. */
static void gm_block(struct gm_parser *p, struct chat_result *r,
		     const char *what, const char *field, const char *reason,
		     const cJSON *ratings)
{
	const char *cat = gm_category(ratings);
	p->blocked = p->finished = 1;
	snprintf(r->finish_reason, sizeof(r->finish_reason), "content_filter");
	if (p->why.len)
		return;
	buf_printf(&p->why, "the provider blocked the %s: %s ", what, field);
	wire_put_printable(&p->why, reason, strlen(reason), GM_WORD);
	if (cat) {
		buf_puts(&p->why, " (");
		wire_put_printable(&p->why, cat, strlen(cat), GM_WORD);
		buf_puts(&p->why, ")");
	}
}

static int gm_prompt_feedback(struct gm_parser *p, struct chat_result *r,
			      const cJSON *root)
{
	const cJSON *pf;
	const char *reason;
	if (gm_opt_obj(r, root, "promptFeedback", "promptFeedback", &pf) ||
	    gm_opt_str(r, pf, "blockReason", "promptFeedback.blockReason", &reason))
		return -1;
	if (reason && *reason && strcmp(reason, "BLOCK_REASON_UNSPECIFIED"))
		gm_block(p, r, "prompt", "blockReason", reason,
			 cJSON_GetObjectItemCaseSensitive(pf, "safetyRatings"));
	return 0;
}

/* The candidate we asked for: index 0 (a user's candidateCount in params
 * may add more). NULL when this chunk has none. */
static const cJSON *gm_candidate(const cJSON *candidates)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, candidates)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
		if (!idx || (cJSON_IsNumber(idx) && idx->valuedouble == 0))
			return c;
	}
	return NULL;
}

/* The answer's text parts in order; thoughts (a thinking model's
 * reasoning, "thought": true) are not the answer. Other parts (a
 * functionCall, inline data) carry no text. */
static int gm_parts(struct gm_parser *p, struct chat_result *r,
		    const cJSON *cand)
{
	const cJSON *content, *part;
	if (gm_opt_obj(r, cand, "content", "content", &content))
		return -1;
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
	if (!parts || cJSON_IsNull(parts))
		return 0;
	if (!cJSON_IsArray(parts))
		return gm_wrong_type(r, "content.parts", parts, "an array");
	cJSON_ArrayForEach(part, parts)
	{
		const char *text;
		if (!cJSON_IsObject(part))
			return gm_wrong_type(r, "content.parts[]", part, "an object");
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")))
			continue;
		if (gm_opt_str(r, part, "text", "content.parts[].text", &text))
			return -1;
		if (text && gm_text(p, r, text, strlen(text)))
			return -1;
	}
	return 0;
}

/* Copies an enum name lower-cased ("OTHER" to "other"); a byte that is
 * no letter or '_' becomes '?', as the name comes from the network. */
static void gm_lower(char *out, size_t size, const char *name)
{
	size_t i = 0;
	for (; name[i] && i + 1 < size; i++) {
		char c = name[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!(c >= 'a' && c <= 'z') && c != '_')
			c = '?';
		out[i] = c;
	}
	out[i] = '\0';
}

static int gm_finish_reason(struct gm_parser *p, struct chat_result *r,
			    const cJSON *cand)
{
	const char *fr;
	if (gm_opt_str(r, cand, "finishReason", "finishReason", &fr))
		return -1;
	if (!fr || !*fr || !strcmp(fr, "FINISH_REASON_UNSPECIFIED"))
		return 0;
	p->finished = 1;
	if (gm_is_block(fr)) {
		gm_block(p, r, "answer", "finishReason", fr,
			 cJSON_GetObjectItemCaseSensitive(cand, "safetyRatings"));
	} else if (p->blocked) {
		/* A later chunk does not lift a block. */
	} else if (!strcmp(fr, "STOP")) {
		snprintf(r->finish_reason, sizeof(r->finish_reason), "stop");
	} else if (!strcmp(fr, "MAX_TOKENS")) {
		snprintf(r->finish_reason, sizeof(r->finish_reason), "length");
	} else {
		gm_lower(r->finish_reason, sizeof(r->finish_reason), fr);
	}
	return 0;
}

/* One GenerateContentResponse: a whole body or one chunk of a stream. */
static int gm_chunk(struct gm_parser *p, const cJSON *root, const char *data,
		    size_t len)
{
	struct chat_result *r = p->r;
	struct gm_err e;
	if (!cJSON_IsObject(root))
		return gm_wrong_type(r, "response", root, "an object");
	if (gm_err_read(root, &e)) {
		int64_t ms = gm_retry_delay(e.details);
		if (ms >= 0)
			r->retry_after_ms = ms;
		return gm_fail_err(r, gm_err_class(&e, 200), &e, data, len);
	}
	gm_usage(root, r);
	if (gm_prompt_feedback(p, r, root))
		return -1;
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
	if (!cands || cJSON_IsNull(cands))
		return 0;
	if (!cJSON_IsArray(cands))
		return gm_wrong_type(r, "candidates", cands, "an array");
	const cJSON *c = gm_candidate(cands);
	if (!c)
		return 0;
	if (!cJSON_IsObject(c))
		return gm_wrong_type(r, "candidates[0]", c, "an object");
	p->candidate = 1;
	if (gm_parts(p, r, c))
		return -1;
	return gm_finish_reason(p, r, c);
}

static int gm_is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* sse_event_fn: one SSE event of the stream. Returns non-zero to stop the
 * stream once r holds a failure. Gemini names no events. */
static int gm_on_event(void *ctx, const char *event, const char *data,
		       size_t len)
{
	struct gm_parser *p = ctx;
	(void)event;
	if (gm_is_blank(data, len))
		return 0;
	cJSON *root = json_parse(data, len, WIRE_JSON_DEPTH);
	int rc;
	if (root)
		rc = gm_chunk(p, root, data, len);
	else if (p->sse.eof)
		/* The body ended inside an event's data lines. */
		rc = chat_result_fail(p->r, ERR_TRUNCATED,
				      "stream ended inside an event");
	else
		rc = gm_fail_raw(p->r, ERR_MALFORMED, "stream event is not JSON",
				 data, len);
	cJSON_Delete(root);
	return rc ? 1 : 0;
}

static struct resp_parser *gm_parser_new(int stream, size_t max_bytes)
{
	struct gm_parser *p = q_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->mode = stream ? GM_UNDECIDED : GM_WHOLE;
	p->cap = wire_body_cap(max_bytes);
	buf_init(&p->body, 0);
	buf_init(&p->why, 0);
	sse_init(&p->sse, SSE_MODE_SSE, p->cap, gm_on_event, p);
	return (struct resp_parser *)p;
}

static void gm_parser_free(struct resp_parser *rp)
{
	struct gm_parser *p = (struct gm_parser *)rp;
	if (!p)
		return;
	sse_release(&p->sse);
	buf_release(&p->body);
	buf_release(&p->why);
	q_free(p);
}

static int gm_fail(struct gm_parser *p, struct chat_result *r,
		   enum err_class c, const char *msg)
{
	p->failed = 1;
	return chat_result_fail(r, c, "%s", msg);
}

/* The framer failed: a callback already said why, or a cap was hit. */
static int gm_sse_failed(struct gm_parser *p, struct chat_result *r)
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
 * error, a server that does not stream, or the JSON array of chunks the
 * endpoint sends when alt=sse was lost on the way): the first byte
 * tells. */
static void gm_decide(struct gm_parser *p, const char **data, size_t *len)
{
	while (*len && (**data == '\n' || **data == '\r' || **data == ' ' ||
			**data == '\t'))
		(*data)++, (*len)--;
	if (*len)
		p->mode = **data == '{' || **data == '[' ? GM_WHOLE : GM_SSE;
}

static int gm_parser_feed(struct resp_parser *rp, const char *data, size_t len,
			  struct chat_result *r)
{
	struct gm_parser *p = (struct gm_parser *)rp;
	if (p->failed || r->err != ERR_NONE)
		return -1;
	p->r = r;
	p->added = 0;
	if (p->mode == GM_UNDECIDED)
		gm_decide(p, &data, &len);
	if (!len)
		return 0;
	if (p->mode == GM_WHOLE) {
		if (len > p->cap - p->body.len) {
			p->failed = 1;
			return chat_result_fail(r, ERR_TOO_LARGE,
						"response body over %zu bytes",
						p->cap);
		}
		if (buf_append(&p->body, data, len))
			return gm_fail(p, r, ERR_TOO_LARGE,
				       "out of memory reading the response");
		return 0;
	}
	if (sse_feed(&p->sse, data, len))
		return gm_sse_failed(p, r);
	return p->added > INT_MAX ? INT_MAX : (int)p->added;
}

/* wire_json_looks_cut reads an object; an array of chunks is cut in the
 * same places, and its bracket count does not mind which kind opens. */
static int gm_looks_cut(struct buf *body)
{
	size_t i = 0, n = body->len;
	char *s = body->data;
	while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' ||
			 s[i] == '\t'))
		i++;
	if (i == n || s[i] != '[')
		return wire_json_looks_cut(buf_str(body), n);
	s[i] = '{';
	int cut = wire_json_looks_cut(s, n);
	s[i] = '[';
	return cut;
}

/* No finishReason and no block: the stream was cut short. */
static int gm_cut_short(struct gm_parser *p, struct chat_result *r)
{
	p->failed = 1;
	return chat_result_fail(r, ERR_TRUNCATED,
				"stream ended after %zu bytes of text, before "
				"its finishReason",
				r->text.len);
}

/* A stream sent as one JSON array of chunks (streamGenerateContent
 * without alt=sse): the chunks in order, and the last word needed as in
 * an SSE stream. */
static int gm_array(struct gm_parser *p, struct chat_result *r,
		    const cJSON *root, const char *s, size_t n)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, root)
	{
		if (gm_chunk(p, c, s, n))
			return -1;
	}
	return p->finished ? 0 : gm_cut_short(p, r);
}

/* A whole body: a GenerateContentResponse, or an array of them. */
static int gm_whole(struct gm_parser *p, struct chat_result *r)
{
	const char *s = buf_str(&p->body);
	size_t n = p->body.len;
	cJSON *root = json_parse(s, n, WIRE_JSON_DEPTH);
	int rc = -1;
	if (!root) {
		if (gm_looks_cut(&p->body))
			chat_result_fail(r, ERR_TRUNCATED,
					 "response body ended after %zu bytes, "
					 "mid-JSON", n);
		else
			gm_fail_raw(r, ERR_MALFORMED, "response is not JSON", s, n);
	} else if (cJSON_IsArray(root)) {
		rc = gm_array(p, r, root, s, n);
	} else if (!cJSON_IsObject(root)) {
		gm_wrong_type(r, "response", root, "an object");
	} else {
		rc = gm_chunk(p, root, s, n);
		if (!rc && !p->candidate && !p->blocked)
			rc = chat_result_fail(r, ERR_MALFORMED,
					      "response has no candidates");
	}
	cJSON_Delete(root);
	return rc;
}

static int gm_parser_finish(struct resp_parser *rp, struct chat_result *r)
{
	struct gm_parser *p = (struct gm_parser *)rp;
	if (p->failed || r->err != ERR_NONE)
		return -1;
	p->r = r;
	if (p->mode == GM_WHOLE) {
		if (gm_whole(p, r)) {
			p->failed = 1;
			return -1;
		}
	} else if (p->mode == GM_UNDECIDED) {
		return gm_fail(p, r, ERR_TRUNCATED, "stream ended before any event");
	} else {
		if (sse_finish(&p->sse))
			return gm_sse_failed(p, r);
		if (!p->finished) {
			p->failed = 1;
			if (!p->sse.nevents && p->sse.nunknown)
				return chat_result_fail(r, ERR_MALFORMED,
							"response is not an event stream");
			return gm_cut_short(p, r);
		}
	}
	r->complete = 1;
	/* Bytes that are not text would make the report invalid JSON. */
	size_t ok = wire_utf8_valid(buf_str(&r->text), r->text.len);
	if (ok < r->text.len) {
		p->failed = 1;
		return chat_result_fail(r, ERR_MALFORMED,
					"answer is not valid UTF-8 (byte 0x%02x "
					"at offset %zu)",
					(unsigned char)r->text.data[ok], ok);
	}
	/* Checked at the end, not when the chunk came, so the usage that
	 * comes with or after it is still counted. */
	if (p->blocked)
		return gm_fail(p, r, ERR_CONTENT_FILTER,
			       p->why.len ? buf_str(&p->why)
					  : "the provider blocked the answer");
	return 0;
}

const struct provider gemini_provider = {
	.name = "gemini",
	.default_base_url = GM_DEFAULT_BASE_URL,
	.default_key_env = "GEMINI_API_KEY",
	.build = gm_build,
	.parser_new = gm_parser_new,
	.parser_feed = gm_parser_feed,
	.parser_finish = gm_parser_finish,
	.parser_free = gm_parser_free,
	.parse_error = gm_parse_error,
};
