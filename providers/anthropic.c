/* The Anthropic Messages API: POST {base_url}/v1/messages with the key in
 * x-api-key, answered by one JSON message or by an SSE stream of typed
 * events (message_start, content_block_start/delta/stop, ping,
 * message_delta, message_stop, error) whose last one is message_stop. */
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "formats.h"
#include "wire.h"

#define AN_FACTS (&provfacts[PROV_ANTHROPIC])
#define AN_VERSION "2023-06-01"
/* The API refuses a request without max_tokens, so one is always sent. */
#define AN_DEFAULT_MAX_TOKENS 1024

/* ---- the request ---- */

/* messages: [{"role": "user", "content": prompt}] */
static int an_add_messages(cJSON *body, const char *prompt)
{
	cJSON *msgs = cJSON_CreateArray();
	if (wire_json_add(body, "messages", msgs))
		return -1;
	return wire_add_message(msgs, "user", prompt);
}

/* Sampling settings go in only when set, so the API's defaults hold
 * otherwise. There is no seed in this API (an unknown field is a 400), so
 * a workflow-wide seed is left out rather than failing every call. */
static int an_add_settings(cJSON *body, const struct chat_request *req)
{
	static const struct wire_setting_name names[] = {
		{WIRE_TEMPERATURE, "temperature"}, {WIRE_TOP_P, "top_p"},
		{WIRE_STOP, "stop_sequences"},
	};
	if (wire_add_settings(body, NULL, req, names, sizeof(names) / sizeof(names[0])))
		return -1;
	if (req->stream && wire_json_add(body, "stream", cJSON_CreateTrue()))
		return -1;
	return 0;
}

/* The system prompt is a top-level field: the API has no system role.
 * An empty one is not sent. */
static cJSON *an_body(const struct chat_request *req)
{
	int max_tokens = req->max_tokens > 0 ? req->max_tokens : AN_DEFAULT_MAX_TOKENS;
	cJSON *body = cJSON_CreateObject();
	if (!body || wire_json_add(body, "model", wire_json_string(req->model)) ||
	    wire_json_add(body, "max_tokens", cJSON_CreateNumber(max_tokens)))
		goto fail;
	if (req->system && *req->system &&
	    wire_json_add(body, "system", wire_json_string(req->system)))
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
	const char *base = wire_base_url(base_url, AN_FACTS);
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
	return wire_key_header(out, AN_FACTS, api_key, e);
}

int anthropic_build(const struct chat_request *req, const char *base_url,
		    const char *api_key, struct http_req *out, struct qerr *e)
{
	if (wire_request_check(req, AN_FACTS->name, e))
		return -1;
	if (an_url(&out->url, base_url, e) ||
	    wire_body_finish(an_body(req), req->params_json, wire_merge_params,
			     &out->body, e) ||
	    an_headers(api_key, out, e)) {
		http_req_release(out);
		return -1;
	}
	return 0;
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
	static const struct wire_err_name known[] = {
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
	const struct wire_err_name *k = wire_err_find(known, sizeof(known) / sizeof(known[0]),
						      type);
	return k ? k->c : ERR_NONE;
}

/* Fails r with the provider's own words, or the best we have. */
static int an_fail_err(struct chat_result *r, enum err_class c,
		       const struct an_err *e, const char *body, size_t len)
{
	return wire_fail_words(r, c, e->msg, e->type, WIRE_EXCERPT,
			       "the provider reported an error", body, len);
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

void anthropic_parse_error(int http_status, const char *body, size_t len,
			   const char *retry_after, struct chat_result *r)
{
	enum err_class c = wire_error_start(http_status, retry_after, r);
	cJSON *root = json_parse(body, len, r->json_depth);
	struct an_err e;
	if (cJSON_IsObject(root) && an_err_read(root, &e))
		an_fail_err(r, an_status_class(c, e.type), &e, body, len);
	else
		wire_fail_status(r, c, http_status, NULL, body, len);
	cJSON_Delete(root);
}

/* ---- the response ---- */

struct an_parser {
	struct body_reader b;    /* first; b.ended: message_stop arrived, the
				  * stream is whole */
	size_t known;            /* stream events of a type this API sends */
	int refused;             /* stop_reason "refusal" */
};

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
		return wire_fail_type(r, what, b, "an object");
	const char *type = json_get_str(b, "type");
	if (!type || strcmp(type, "text"))
		return 0;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
	if (!cJSON_IsString(t)) {
		snprintf(field, sizeof(field), "%s.text", what);
		return wire_fail_type(r, field, t, "a string");
	}
	return body_reader_text(&p->b, t->valuestring, strlen(t->valuestring));
}

/* content_block_delta: only a text_delta is answer; thinking, signature,
 * tool input JSON and citations deltas are skipped. */
static int an_block_delta(struct an_parser *p, struct chat_result *r,
			  const cJSON *root)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
	if (!cJSON_IsObject(d))
		return wire_fail_type(r, "delta", d, "an object");
	const char *type = json_get_str(d, "type");
	if (!type || strcmp(type, "text_delta"))
		return 0;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "text");
	if (!cJSON_IsString(t))
		return wire_fail_type(r, "delta.text", t, "a string");
	return body_reader_text(&p->b, t->valuestring, strlen(t->valuestring));
}

static int an_message_delta(struct an_parser *p, struct chat_result *r,
			    const cJSON *root)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
	const char *reason;
	if (d && !cJSON_IsObject(d))
		return wire_fail_type(r, "delta", d, "an object");
	if (wire_opt_str(r, d, "stop_reason", "delta.stop_reason", &reason))
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
		return wire_fail_type(r, "message", m, "an object");
	an_usage(json_get_obj(m, "usage"), r);
	return 0;
}

/* body_event_fn: one stream event, by its data's type (the `event:` name
 * when the data has none). Types added to the API after this was written
 * are skipped, as its versioning policy asks. */
static int an_event(struct body_reader *b, const cJSON *root,
		    const char *event, const char *data, size_t len)
{
	struct an_parser *p = (struct an_parser *)b;
	struct chat_result *r = b->r;
	struct an_err e;
	int is_error = !strcmp(event, "error");
	if (!root)
		return body_reader_bad_event(b, event, data, len);
	if (!cJSON_IsObject(root))
		return is_error ? wire_fail_excerpt(r, ERR_SERVER, "stream error event",
						    data, len)
				: wire_fail_type(r, "stream event", root, "an object");
	const char *type = json_get_str(root, "type");
	if (!type)
		type = event;
	if (is_error || !strcmp(type, "error")) {
		if (an_err_read(root, &e))
			return an_fail_2xx(r, &e, data, len);
		return wire_fail_excerpt(r, ERR_SERVER, "stream error event", data,
					 len);
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
		b->ended = 1;
	else if (strcmp(type, "ping") && strcmp(type, "content_block_stop"))
		return 0;
	p->known++;
	return rc;
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
		return wire_fail_type(r, "content", content, "an array");
	size_t i = 0;
	const cJSON *b;
	cJSON_ArrayForEach(b, content)
	{
		snprintf(what, sizeof(what), "content[%zu]", i++);
		if (an_block(p, r, b, what))
			return -1;
	}
	if (wire_opt_str(r, root, "stop_reason", "stop_reason", &reason))
		return -1;
	if (reason)
		an_stop_reason(p, r, reason);
	return 0;
}

/* body_whole_fn: a whole message. */
static int an_whole(struct body_reader *b, const cJSON *root, const char *s,
		    size_t n)
{
	struct an_err e;
	if (!root)
		return body_reader_bad_body(b, s, n);
	if (!cJSON_IsObject(root))
		return wire_fail_type(b->r, "response", root, "an object");
	if (an_err_read(root, &e))
		return an_fail_2xx(b->r, &e, s, n);
	return an_whole_message((struct an_parser *)b, b->r, root);
}

/* body_check_fn: the stream is whole only when message_stop came. */
static int an_end(struct body_reader *b)
{
	if (b->ended)
		return 0;
	if (!((struct an_parser *)b)->known && (b->sse.nevents || b->sse.nunknown))
		return chat_result_fail(b->r, ERR_MALFORMED,
					"response is not a Messages API event stream");
	return chat_result_fail(b->r, ERR_TRUNCATED,
				"stream ended after %zu bytes of text, before "
				"message_stop", b->r->text.len);
}

/* body_check_fn: checked at the end, so the usage that follows the stop
 * reason is still counted, and a character split across two deltas is
 * whole. */
static int an_verdict(struct body_reader *b)
{
	if (body_reader_check_text(b))
		return -1;
	if (!((struct an_parser *)b)->refused)
		return 0;
	return chat_result_fail(b->r, ERR_CONTENT_FILTER,
				"the model declined to answer (stop_reason 'refusal')");
}

const struct body_format anthropic_body = {
	.size = sizeof(struct an_parser),
	.framing = SSE_MODE_SSE, .opens = "{", .lead = "\n\r",
	.event = an_event, .whole = an_whole, .end = an_end,
	.verdict = an_verdict,
};
