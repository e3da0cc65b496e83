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
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "embed_formats.h"
#include "formats.h"
#include "wire.h"

/* How much of an untrusted status, reason or category name a message
 * quotes. */
#define GM_WORD 64

/* ---- the request ---- */

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
	if (!part || wire_json_add(part, "text", wire_json_string(text))) {
		cJSON_Delete(part);
		return NULL;
	}
	cJSON *parts = cJSON_CreateArray();
	if (!parts || gm_push(parts, part)) {
		cJSON_Delete(parts);
		return NULL;
	}
	cJSON *c = cJSON_CreateObject();
	if (!c || (role && wire_json_add(c, "role", cJSON_CreateString(role)))) {
		cJSON_Delete(c);
		cJSON_Delete(parts);
		return NULL;
	}
	if (wire_json_add(c, "parts", parts)) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* generationConfig holds only what was set, so the model's defaults hold
 * otherwise; none at all when nothing was. */
static int gm_add_config(cJSON *body, const struct chat_request *req)
{
	static const struct wire_setting_name names[] = {
		{WIRE_TEMPERATURE, "temperature"}, {WIRE_TOP_P, "topP"},
		{WIRE_MAX_TOKENS, "maxOutputTokens"}, {WIRE_STOP, "stopSequences"},
		{WIRE_SEED, "seed"},
	};
	return wire_add_settings(body, "generationConfig", req, names,
				 sizeof(names) / sizeof(names[0]));
}

/* An empty system prompt is no systemInstruction. */
static cJSON *gm_body(const struct chat_request *req)
{
	cJSON *body = cJSON_CreateObject();
	if (!body)
		return NULL;
	cJSON *contents = cJSON_CreateArray();
	/* contents belongs to body once added, and is freed otherwise. */
	if (wire_json_add(body, "contents", contents) ||
	    gm_push(contents, gm_content("user", req->prompt)))
		goto fail;
	if (req->system && *req->system &&
	    wire_json_add(body, "systemInstruction", gm_content(NULL, req->system)))
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

/* The collection model is named in, and *id its name there. A model
 * named with its collection ("models/x", "tunedModels/x", as the API's own
 * model names read) keeps it rather than becoming "models/models/x". */
static const char *gm_collection(const char *model, const char **id)
{
	static const char *const collections[] = {"models/", "tunedModels/"};
	const char *collection = "models/";
	*id = model;
	for (size_t i = 0; i < sizeof(collections) / sizeof(collections[0]); i++) {
		size_t k = strlen(collections[i]);
		if (!strncmp(model, collections[i], k)) {
			collection = collections[i];
			*id = model + k;
		}
	}
	return collection;
}

/* The path after base_url of the model's method (":generateContent"). A
 * base_url that already ends in an API version (".../v1beta", ".../v1")
 * keeps it; others get /v1beta. */
static int gm_path(struct buf *path, const char *base, const char *model,
		   const char *method, struct qerr *e)
{
	const char *id, *collection = gm_collection(model, &id);
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	if (!*id)
		return qerr_set(e, "no model name for provider 'gemini'");
	int versioned = gm_ends_with(base, n, "/v1beta") || gm_ends_with(base, n, "/v1");
	if (buf_puts(path, versioned ? "/" : "/v1beta/") ||
	    buf_puts(path, collection) || gm_escape(path, id) ||
	    buf_puts(path, method))
		return qerr_set(e, "out of memory building the request url");
	return 0;
}

int gemini_build(const struct chat_request *req, const char *base_url,
		 const char *api_key, struct http_req *out, struct qerr *e)
{
	struct wire_post post = {
		.facts = &provfacts[PROV_GEMINI],
		.body = gm_body,
		.merge = wire_merge_params,
		.stream_accept = "text/event-stream",
	};
	struct buf path = BUF_INIT;
	int rc = -1;
	if (wire_request_check(req, post.facts->name, e))
		return -1;
	/* The key goes in a header, never in the URL's ?key=, so no log of a
	 * URL ever holds it. */
	const char *base = wire_base_url(base_url, post.facts);
	if (!gm_path(&path, base, req->model,
		     req->stream ? ":streamGenerateContent?alt=sse" : ":generateContent",
		     e)) {
		post.path = buf_str(&path);
		rc = wire_post_json(&post, req, base_url, api_key, out, e);
	}
	buf_release(&path);
	return rc;
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
	static const struct wire_err_name known[] = {
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
	const struct wire_err_name *k = wire_err_find(known, sizeof(known) / sizeof(known[0]),
						      e->status);
	enum err_class c = k ? k->c : ERR_NONE;
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

/* Fails r with the provider's own words (Google's hold newlines), or the
 * best we have. */
static int gm_fail_err(struct chat_result *r, enum err_class c,
		       const struct gm_err *e, const char *body, size_t len)
{
	return wire_fail_words(r, c, e->msg, e->status, GM_WORD,
			       "the provider reported an error", body, len);
}

void gemini_parse_error(int http_status, const char *body, size_t len,
			const char *retry_after, struct chat_result *r)
{
	enum err_class c = wire_error_start(http_status, retry_after, r);
	cJSON *root = json_parse(body, len, r->json_depth);
	struct gm_err e;
	if (root && gm_err_read(root, &e)) {
		if (r->retry_after_ms < 0)
			r->retry_after_ms = gm_retry_delay(e.details);
		gm_fail_err(r, gm_err_class(&e, http_status), &e, body, len);
	} else {
		wire_fail_status(r, c, http_status, NULL, body, len);
	}
	cJSON_Delete(root);
}

/* ---- the response ---- */

struct gm_parser {
	struct body_reader b;    /* first */
	struct buf why;          /* what blocked the prompt or the answer */
	int candidate;           /* a candidate with index 0 was seen */
	int finished;            /* a finishReason (or a prompt block) arrived */
	int blocked;             /* ... and it was a block */
};

/* An object field that may also be null or absent (*out NULL then). */
static int gm_opt_obj(struct chat_result *r, const cJSON *obj, const char *key,
		      const char *what, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = cJSON_IsObject(v) ? v : NULL;
	if (v && !cJSON_IsObject(v) && !cJSON_IsNull(v))
		return wire_fail_type(r, what, v, "an object");
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
	    wire_opt_str(r, pf, "blockReason", "promptFeedback.blockReason", &reason))
		return -1;
	if (reason && *reason && strcmp(reason, "BLOCK_REASON_UNSPECIFIED"))
		gm_block(p, r, "prompt", "blockReason", reason,
			 cJSON_GetObjectItemCaseSensitive(pf, "safetyRatings"));
	return 0;
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
		return wire_fail_type(r, "content.parts", parts, "an array");
	cJSON_ArrayForEach(part, parts)
	{
		const char *text;
		if (!cJSON_IsObject(part))
			return wire_fail_type(r, "content.parts[]", part, "an object");
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")))
			continue;
		if (wire_opt_str(r, part, "text", "content.parts[].text", &text))
			return -1;
		if (text && body_reader_text(&p->b, text, strlen(text)))
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
	if (wire_opt_str(r, cand, "finishReason", "finishReason", &fr))
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
	struct chat_result *r = p->b.r;
	struct gm_err e;
	/* Before the type check: an error may come wrapped in an array. */
	if (gm_err_read(root, &e)) {
		int64_t ms = gm_retry_delay(e.details);
		if (ms >= 0)
			r->retry_after_ms = ms;
		return gm_fail_err(r, gm_err_class(&e, 200), &e, data, len);
	}
	if (!cJSON_IsObject(root))
		return wire_fail_type(r, "response", root, "an object");
	gm_usage(root, r);
	if (gm_prompt_feedback(p, r, root))
		return -1;
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
	if (!cands || cJSON_IsNull(cands))
		return 0;
	if (!cJSON_IsArray(cands))
		return wire_fail_type(r, "candidates", cands, "an array");
	const cJSON *c = wire_json_index0(cands);
	if (!c)
		return 0;
	if (!cJSON_IsObject(c))
		return wire_fail_type(r, "candidates[0]", c, "an object");
	p->candidate = 1;
	if (gm_parts(p, r, c))
		return -1;
	return gm_finish_reason(p, r, c);
}

/* body_event_fn: one chunk of the stream (events with empty data never
 * come here). Gemini names no events, so one named `error` is not told
 * apart. */
static int gm_event(struct body_reader *b, const cJSON *root,
		    const char *event, const char *data, size_t len)
{
	(void)event;
	if (root)
		return gm_chunk((struct gm_parser *)b, root, data, len);
	return body_reader_bad_event(b, "", data, len);
}

/* No finishReason and no block: the stream was cut short. */
static int gm_cut_short(struct chat_result *r)
{
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
	return p->finished ? 0 : gm_cut_short(r);
}

/* body_whole_fn: a GenerateContentResponse, or an array of them (a
 * stream whose alt=sse was lost on the way). */
static int gm_whole(struct body_reader *b, const cJSON *root, const char *s,
		    size_t n)
{
	struct gm_parser *p = (struct gm_parser *)b;
	if (!root)
		return body_reader_bad_body(b, s, n);
	if (cJSON_IsArray(root))
		return gm_array(p, b->r, root, s, n);
	if (!cJSON_IsObject(root))
		return wire_fail_type(b->r, "response", root, "an object");
	if (gm_chunk(p, root, s, n))
		return -1;
	if (!p->candidate && !p->blocked)
		return chat_result_fail(b->r, ERR_MALFORMED,
					"response has no candidates");
	return 0;
}

/* body_check_fn: there is no [DONE]; the chunk with a finishReason (or a
 * block) is the last word. */
static int gm_end(struct body_reader *b)
{
	if (((struct gm_parser *)b)->finished)
		return 0;
	if (!b->sse.nevents && b->sse.nunknown)
		return chat_result_fail(b->r, ERR_MALFORMED,
					"response is not an event stream");
	return gm_cut_short(b->r);
}

/* body_check_fn: a block is checked at the end, not when the chunk came,
 * so the usage that comes with or after it is still counted. */
static int gm_verdict(struct body_reader *b)
{
	struct gm_parser *p = (struct gm_parser *)b;
	if (body_reader_check_text(b))
		return -1;
	if (p->blocked)
		return chat_result_fail(b->r, ERR_CONTENT_FILTER, "%s",
					p->why.len ? buf_str(&p->why)
						   : "the provider blocked the answer");
	return 0;
}

/* body_format.release: the words of a block. */
static void gm_release(struct body_reader *b)
{
	buf_release(&((struct gm_parser *)b)->why);
}

/* A stream that was asked for may also come back as the JSON array of
 * chunks the endpoint sends when alt=sse was lost on the way. */
const struct body_format gemini_body = {
	.size = sizeof(struct gm_parser),
	.framing = SSE_MODE_SSE, .opens = "{[", .lead = "\n\r \t",
	.event = gm_event, .whole = gm_whole, .end = gm_end,
	.verdict = gm_verdict, .release = gm_release,
};

/* ---- what the embeddings endpoint shares (embed_gemini.c) ---- */

int gemini_model_path(struct buf *path, const char *base, const char *model,
		      const char *method, struct qerr *e)
{
	return gm_path(path, base, model, method, e);
}

int gemini_model_name(struct buf *name, const char *model)
{
	const char *id, *collection = gm_collection(model, &id);
	return buf_puts(name, collection) || buf_puts(name, id) ? -1 : 0;
}

cJSON *gemini_content(const char *text) { return gm_content(NULL, text); }
