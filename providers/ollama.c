/* Ollama's native chat API: POST {base_url}/api/chat, answered with one
 * JSON object, or (the server's default, so `stream` is always sent) an
 * NDJSON stream of objects whose last one says "done": true and carries
 * done_reason and the token counts. Errors are {"error": "text"}, with a
 * status, or as a line of a stream that already began. No key by default;
 * one given anyway (a proxy in front of Ollama) goes in as a bearer token. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/json.h"
#include "formats.h"
#include "wire.h"

/* ---- the request ---- */

/* The sampling settings, in Ollama's `options` under its own names
 * (num_predict for max_tokens). */
static const struct wire_setting_name ol_options[] = {
	{WIRE_TEMPERATURE, "temperature"}, {WIRE_TOP_P, "top_p"}, {WIRE_SEED, "seed"},
	{WIRE_MAX_TOKENS, "num_predict"}, {WIRE_STOP, "stop"},
};

/* Empty options are left out, so the model's own defaults hold. */
static cJSON *ol_body(const struct chat_request *req)
{
	cJSON *body = wire_chat_body(req);
	if (body && (wire_json_add(body, "stream", cJSON_CreateBool(req->stream)) ||
		     wire_add_settings(body, "options", req, ol_options,
				       sizeof(ol_options) / sizeof(ol_options[0])))) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
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
		if (wire_json_add(body, "options", ours))
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

static const struct wire_post ol_post = {
	.facts = &provfacts[PROV_OLLAMA],
	.path = "/api/chat",
	.body = ol_body,
	.merge = ol_merge_params,
	.stream_accept = "application/x-ndjson",
};

int ollama_build(const struct chat_request *req, const char *base_url,
		 const char *api_key, struct http_req *out, struct qerr *e)
{
	return wire_post_json(&ol_post, req, base_url, api_key, out, e);
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

/* Fails r with Ollama's words (made fit to show), or the body itself. */
static int ol_fail_words(struct chat_result *r, enum err_class c,
			 const char *msg, const char *body, size_t len)
{
	return wire_fail_words(r, c, msg, NULL, 0, "the server reported an error",
			       body, len);
}

void ollama_parse_error(int http_status, const char *body, size_t len,
			const char *retry_after, struct chat_result *r)
{
	enum err_class c = wire_error_start(http_status, retry_after, r);
	cJSON *root = json_parse(body, len, r->json_depth);
	const char *msg;
	if (cJSON_IsObject(root) && ol_err_read(root, &msg))
		ol_fail_words(r, c, msg, body, len);
	else
		/* Not Ollama's JSON: a 404 then most likely means base_url
		 * points at something else ("404 page not found"). */
		wire_fail_status(r, c, http_status,
				 http_status == 404 ? " (is base_url an Ollama server?)"
						    : NULL,
				 body, len);
	cJSON_Delete(root);
}

/* ---- the response ----
 *
 * The parser is a plain body_reader: b->ended says the object with
 * "done": true arrived. */

/* message.content, appended. A stream's lines may lack a message; a
 * whole body (need) may not. Other fields (role, thinking, tool_calls)
 * are not the answer. */
static int ol_message(struct body_reader *b, struct chat_result *r,
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
		return wire_fail_type(r, "message", m, "an object");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	if (!c || cJSON_IsNull(c))
		return 0;
	if (!cJSON_IsString(c))
		return wire_fail_type(r, "message.content", c, "a string");
	return body_reader_text(b, c->valuestring, strlen(c->valuestring));
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
		return wire_fail_type(r, "done", d, "a boolean");
	*done = cJSON_IsTrue(d);
	if (!*done)
		return 0;
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(root, "done_reason");
	if (why && !cJSON_IsNull(why) && !cJSON_IsString(why))
		return wire_fail_type(r, "done_reason", why, "a string");
	if (cJSON_IsString(why))
		snprintf(r->finish_reason, sizeof(r->finish_reason), "%s",
			 why->valuestring);
	/* Absent when Ollama did not count (a cached prompt): -1, never 0. */
	r->input_tokens = wire_tokens(root, "prompt_eval_count");
	r->output_tokens = wire_tokens(root, "eval_count");
	return 0;
}

/* One object: a piece of the stream, or the whole body (whole). */
static int ol_object(struct body_reader *b, const cJSON *root, int whole,
		     const char *data, size_t len)
{
	struct chat_result *r = b->r;
	const char *msg;
	int done;
	if (!cJSON_IsObject(root))
		return wire_fail_type(r, whole ? "response" : "stream line", root,
				      "an object");
	if (ol_err_read(root, &msg))
		return ol_fail_words(r, ol_err_class(msg), msg, data, len);
	if (ol_message(b, r, root, whole) || ol_done(r, root, &done))
		return -1;
	if (done == 1 || (whole && done == -1))
		b->ended = 1;
	else if (whole)
		return chat_result_fail(r, ERR_TRUNCATED,
					"response says it is not done "
					"(\"done\": false)");
	return 0;
}

/* body_event_fn: one NDJSON line. */
static int ol_line(struct body_reader *b, const cJSON *root,
		   const char *event, const char *data, size_t len)
{
	if (!root)
		return body_reader_bad_event(b, event, data, len);
	return ol_object(b, root, 0, data, len);
}

/* body_check_fn: every line was read (a last one without its newline
 * too); no "done": true means the answer was cut. */
static int ol_end(struct body_reader *b)
{
	if (b->ended)
		return 0;
	if (!b->sse.nevents)
		return chat_result_fail(b->r, ERR_TRUNCATED,
					"stream ended before any line");
	return chat_result_fail(b->r, ERR_TRUNCATED,
				"stream ended after %zu bytes of text, before "
				"its last line (\"done\": true)",
				b->r->text.len);
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

/* body_whole_fn: one object, or lines from a server that streamed when
 * asked not to (a body cut mid-JSON is cut, not lines). */
static int ol_whole(struct body_reader *b, const cJSON *root, const char *s,
		    size_t n)
{
	if (root)
		return ol_object(b, root, 1, s, n);
	if (!wire_json_looks_cut(s, n, b->fmt->opens) && ol_has_lines(s, n))
		return body_reader_frame(b, s, n);
	return body_reader_bad_body(b, s, n);
}

/* A stream asked for may come back as one object all the same (a proxy
 * that buffers, a server told stream: false by its params), printed over
 * many lines: its first line tells (see body_decide). */
const struct body_format ollama_body = {
	.size = sizeof(struct body_reader),
	.framing = SSE_MODE_NDJSON, .opens = "{", .lead = "\n\r \t",
	.event = ol_line, .whole = ol_whole, .end = ol_end,
	.verdict = body_reader_check_text,
};
