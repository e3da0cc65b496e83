/* The OpenAI chat completions format, which most servers speak too (vLLM,
 * llama.cpp, Ollama's /v1, OpenRouter): POST {base_url}/chat/completions,
 * a whole JSON body or an SSE stream of chat.completion.chunk objects
 * ending in `data: [DONE]`. */
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "formats.h"
#include "wire.h"

/* ---- the request ---- */

/* The sampling settings (wire_add_settings), then stream. */
static int oa_add_settings(cJSON *body, const struct chat_request *req)
{
	static const struct wire_setting_name names[] = {
		{WIRE_TEMPERATURE, "temperature"}, {WIRE_TOP_P, "top_p"}, {WIRE_SEED, "seed"},
		{WIRE_STOP, "stop"}, {WIRE_MAX_TOKENS, "max_tokens"},
	};
	if (wire_add_settings(body, NULL, req, names, sizeof(names) / sizeof(names[0])))
		return -1;
	if (wire_json_add(body, "stream", cJSON_CreateBool(req->stream)))
		return -1;
	if (req->stream) {
		/* Without it a stream never reports token usage. */
		cJSON *so = cJSON_CreateObject();
		if (!so || wire_json_add(so, "include_usage", cJSON_CreateTrue())) {
			cJSON_Delete(so);
			return -1;
		}
		if (wire_json_add(body, "stream_options", so))
			return -1;
	}
	return 0;
}

static cJSON *oa_body(const struct chat_request *req)
{
	cJSON *body = wire_chat_body(req);
	if (body && oa_add_settings(body, req)) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static const struct wire_post oa_post = {
	.facts = &provfacts[PROV_OPENAI],
	.path = "/chat/completions",
	.body = oa_body,
	.merge = wire_merge_params,
	.stream_accept = "text/event-stream",
};

int openai_build(const struct chat_request *req, const char *base_url,
		 const char *api_key, struct http_req *out, struct qerr *e)
{
	return wire_post_json(&oa_post, req, base_url, api_key, out, e);
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
	static const struct wire_err_name known[] = {
		{"insufficient_quota", ERR_QUOTA},
		{"rate_limit_exceeded", ERR_RATE_LIMITED},
		{"rate_limit_error", ERR_RATE_LIMITED},
		{"overloaded_error", ERR_OVERLOADED},
		{"invalid_request_error", ERR_BAD_REQUEST},
		{"context_length_exceeded", ERR_BAD_REQUEST},
		{"authentication_error", ERR_AUTH},
		{"invalid_api_key", ERR_AUTH},
	};
	/* The code or the type, whichever comes first in the table. */
	size_t n = sizeof(known) / sizeof(known[0]);
	const struct wire_err_name *code = wire_err_find(known, n, e->code);
	const struct wire_err_name *type = wire_err_find(known, n, e->type);
	if (code && (!type || code < type))
		return code->c;
	if (type)
		return type->c;
	if (e->status && e->status / 100 != 2)
		return err_class_from_status(e->status);
	/* The server accepted the request and then failed it. */
	return ERR_SERVER;
}

/* Fails r with the provider's own words, or the best we have. */
static int oa_fail_err(struct chat_result *r, enum err_class c,
		       const struct oa_err *e, const char *body, size_t len)
{
	if (e->msg && *e->msg)
		return chat_result_fail(r, c, "%s", e->msg);
	if (e->code || e->type)
		return chat_result_fail(r, c, "error '%s'", e->code ? e->code : e->type);
	return wire_fail_excerpt(r, c, "the provider reported an error", body, len);
}

void openai_parse_error(int http_status, const char *body, size_t len,
			const char *retry_after, struct chat_result *r)
{
	enum err_class c = wire_error_start(http_status, retry_after, r);
	cJSON *root = json_parse(body, len, r->json_depth);
	struct oa_err e;
	if (cJSON_IsObject(root) && oa_err_read(root, 1, &e)) {
		/* OpenAI says "out of credit" with a 429, but waiting will not
		 * bring credit back. */
		if (http_status == 429 && oa_err_is(&e, "insufficient_quota"))
			c = ERR_QUOTA;
		oa_fail_err(r, c, &e, body, len);
	} else {
		wire_fail_status(r, c, http_status, NULL, body, len);
	}
	cJSON_Delete(root);
}

/* ---- the response ---- */

/* What choices[].index means in a stream. OpenAI's names the choice, so
 * a chunk of choice 1 (a user's params asked for n: 2) is no part of the
 * answer. text-generation-inference 1.4 counted tokens there instead: one
 * choice per chunk, index 1, 2, 3, ..., and the answer is all of them.
 * The parser does not see the request, so the chunks tell, as they come:
 * - while every chunk with choices holds exactly one, at an index above
 *   the last such chunk's, it is open: either may be;
 * - a chunk with more choices, an index that does not rise (a real stream
 *   streams each choice again until it finishes, and every chunk of a
 *   one-choice stream is index 0), or a finish_reason at index 0 (that
 *   choice is done, what follows is another): indices name choices;
 * - still open when the stream ends ([DONE], or its last byte), or at
 *   index 128 or above (OpenAI refuses n above 128, so its indices stop
 *   at 127): indices count tokens.
 * Either verdict is for good. While open, index 0's text is the answer
 * either way and goes in at once; the text and finish_reason at other
 * indices are held back until the verdict says whose they are. */
enum oa_index {
	OA_INDEX_OPEN,
	OA_INDEX_CHOICE,
	OA_INDEX_TOKEN,
};

#define OA_MAX_CHOICES 128

struct oa_parser {
	struct body_reader b;    /* first; b.ended: `data: [DONE]` arrived */
	int finished;            /* a finish_reason arrived */
	enum oa_index index;     /* what choices[].index means */
	size_t chunks;           /* chunks with a choice, while open */
	double last;             /* the index of the last of them */
	struct buf held;         /* text at indices above 0, while open */
	char held_finish[32];    /* their finish_reason, "" when none */
};

/* Holds back s[0..n) while the indices are open, under the answer's
 * cap. Returns 0, or -1 with r failed. */
static int oa_hold(struct oa_parser *p, struct chat_result *r, const char *s,
		   size_t n)
{
	size_t used = r->text.len + p->held.len, max = r->text.max;
	if (max && (used > max || n > max - used))
		return chat_result_fail(r, ERR_TOO_LARGE, "answer over %zu bytes", max);
	if (buf_append(&p->held, s, n))
		return chat_result_fail(r, ERR_TOO_LARGE,
					"out of memory holding the answer");
	return 0;
}

/* Content, or the model's refusal when it gave that instead; held back
 * when hold. */
static int oa_content(struct oa_parser *p, struct chat_result *r,
		      const cJSON *msg, const char *where, int hold)
{
	char what[32];
	const char *content, *refusal;
	snprintf(what, sizeof(what), "%s.content", where);
	if (wire_opt_str(r, msg, "content", what, &content))
		return -1;
	snprintf(what, sizeof(what), "%s.refusal", where);
	if (wire_opt_str(r, msg, "refusal", what, &refusal))
		return -1;
	const char *s = content ? content : refusal;
	if (!s)
		return 0;
	return hold ? oa_hold(p, r, s, strlen(s)) : body_reader_text(&p->b, s, strlen(s));
}

static void oa_set_finish(struct oa_parser *p, struct chat_result *r,
			  const char *fr)
{
	snprintf(r->finish_reason, sizeof(r->finish_reason), "%s", fr);
	p->finished = 1;
}

static int oa_finish_reason(struct oa_parser *p, struct chat_result *r,
			    const cJSON *choice, int hold)
{
	const char *fr;
	if (wire_opt_str(r, choice, "finish_reason", "finish_reason", &fr))
		return -1;
	if (!fr || !*fr)
		return 0;
	if (hold)
		snprintf(p->held_finish, sizeof(p->held_finish), "%s", fr);
	else
		oa_set_finish(p, r, fr);
	return 0;
}

/* Indices name choices: what was held back was another choice's. */
static void oa_index_choices(struct oa_parser *p)
{
	p->index = OA_INDEX_CHOICE;
	buf_release(&p->held);
	p->held_finish[0] = '\0';
}

/* Indices count tokens: what was held back is the answer's. Returns 0,
 * or -1 with r failed. */
static int oa_index_tokens(struct oa_parser *p, struct chat_result *r)
{
	if (p->index != OA_INDEX_OPEN)
		return 0;
	p->index = OA_INDEX_TOKEN;
	int rc = p->held.len ? body_reader_text(&p->b, p->held.data, p->held.len) : 0;
	if (p->held_finish[0])
		oa_set_finish(p, r, p->held_finish);
	buf_release(&p->held);
	return rc;
}

/* A choice's index: 0 when absent, -1 when it is no whole number >= 0. */
static double oa_index_of(const cJSON *c)
{
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(c, "index");
	if (!i)
		return 0;
	if (!cJSON_IsNumber(i) || !(i->valuedouble >= 0 && i->valuedouble < 1e15) ||
	    i->valuedouble != (double)(int64_t)i->valuedouble)
		return -1;
	return i->valuedouble;
}

/* The choice of a chunk (choices holds at least one) that is the answer,
 * NULL when none is; *hold when its text waits for the verdict. Applies
 * the rule above. Returns 0, or -1 with r failed. */
static int oa_pick(struct oa_parser *p, struct chat_result *r,
		   const cJSON *choices, const cJSON **c, int *hold)
{
	*c = choices->child;
	*hold = 0;
	if (p->index == OA_INDEX_OPEN) {
		double i = (*c)->next ? -1 : oa_index_of(*c);
		if (i < 0 || (p->chunks && i <= p->last)) {
			oa_index_choices(p);
		} else {
			p->chunks++;
			p->last = i;
			*hold = i > 0;
			if (i >= OA_MAX_CHOICES && oa_index_tokens(p, r))
				return -1;
			*hold = *hold && p->index == OA_INDEX_OPEN;
		}
	}
	if (p->index == OA_INDEX_CHOICE)
		*c = wire_json_index0(choices);
	return 0;
}

/* Token counts: top-level usage (OpenAI, and in a stream its last chunk
 * when asked with include_usage), or Groq's x_groq.usage in a stream's
 * last chunk; both the same shape. */
static void oa_usage(const cJSON *root, struct chat_result *r)
{
	const cJSON *groq = json_get_obj(json_get_obj(root, "x_groq"), "usage");
	const cJSON *u = json_get_obj(root, "usage");
	for (int k = 0; k < 2; k++) {
		const cJSON *from = k ? u : groq;
		int64_t in = wire_tokens(from, "prompt_tokens");
		int64_t out = wire_tokens(from, "completion_tokens");
		if (in >= 0)
			r->input_tokens = in;
		if (out >= 0)
			r->output_tokens = out;
	}
}

static int oa_is_done(const char *d, size_t n)
{
	while (n && (*d == ' ' || *d == '\t'))
		d++, n--;
	while (n && (d[n - 1] == ' ' || d[n - 1] == '\t'))
		n--;
	return n == 6 && !memcmp(d, "[DONE]", 6);
}

/* A chunk's choices: the answer's delta and finish_reason. */
static int oa_choices(struct oa_parser *p, struct chat_result *r,
		      const cJSON *choices)
{
	const cJSON *c;
	int hold;
	if (!choices || cJSON_IsNull(choices))
		return 0;
	if (!cJSON_IsArray(choices))
		return wire_fail_type(r, "choices", choices, "an array");
	if (!choices->child)
		return 0;
	if (oa_pick(p, r, choices, &c, &hold))
		return -1;
	if (!c)
		return 0;
	if (!cJSON_IsObject(c))
		return wire_fail_type(r, "choices[0]", c, "an object");
	const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c, "delta");
	if (delta && !cJSON_IsNull(delta)) {
		if (!cJSON_IsObject(delta))
			return wire_fail_type(r, "delta", delta, "an object");
		if (oa_content(p, r, delta, "delta", hold))
			return -1;
	}
	if (oa_finish_reason(p, r, c, hold))
		return -1;
	if (p->index == OA_INDEX_OPEN && !hold && p->finished)
		oa_index_choices(p);
	return 0;
}

/* body_event_fn: one chat.completion.chunk, or the [DONE] after the last.
 * Usage arrives in a last chunk whose choices are empty (or null, from
 * some servers). */
static int oa_event(struct body_reader *b, const cJSON *root,
		    const char *event, const char *data, size_t len)
{
	struct oa_parser *p = (struct oa_parser *)b;
	struct chat_result *r = b->r;
	struct oa_err e;
	if (!root && oa_is_done(data, len)) {
		b->ended = 1;
		return oa_index_tokens(p, r);
	}
	if (!root)
		return body_reader_bad_event(b, event, data, len);
	if (!cJSON_IsObject(root))
		return wire_fail_type(r, "stream event", root, "an object");
	int is_error = !strcmp(event, "error");
	if (oa_err_read(root, is_error, &e))
		return oa_fail_err(r, oa_err_class_2xx(&e), &e, data, len);
	if (is_error)
		return wire_fail_excerpt(r, ERR_SERVER, "stream error event", data,
					 len);
	oa_usage(root, r);
	return oa_choices(p, r, cJSON_GetObjectItemCaseSensitive(root, "choices"));
}

static int oa_whole_choice(struct oa_parser *p, struct chat_result *r,
			   const cJSON *root)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	if (!choices)
		return chat_result_fail(r, ERR_MALFORMED,
					"response has no 'choices' array");
	if (!cJSON_IsArray(choices))
		return wire_fail_type(r, "choices", choices, "an array");
	const cJSON *c = wire_json_index0(choices);
	if (!c)
		return chat_result_fail(r, ERR_MALFORMED,
					"response has no choice with index 0");
	if (!cJSON_IsObject(c))
		return wire_fail_type(r, "choices[0]", c, "an object");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c, "message");
	if (!cJSON_IsObject(msg))
		return wire_fail_type(r, "message", msg, "an object");
	if (oa_content(p, r, msg, "message", 0))
		return -1;
	return oa_finish_reason(p, r, c, 0);
}

/* body_whole_fn: a whole chat.completion body. */
static int oa_whole(struct body_reader *b, const cJSON *root, const char *s,
		    size_t n)
{
	struct oa_err e;
	if (!root)
		return body_reader_bad_body(b, s, n);
	if (!cJSON_IsObject(root))
		return wire_fail_type(b->r, "response", root, "an object");
	if (oa_err_read(root, 0, &e))
		return oa_fail_err(b->r, oa_err_class_2xx(&e), &e, s, n);
	oa_usage(root, b->r);
	return oa_whole_choice((struct oa_parser *)b, b->r, root);
}

/* body_check_fn: a finish_reason says the answer is whole even when the
 * [DONE] after it was lost; without either it is cut. */
static int oa_end(struct body_reader *b)
{
	struct oa_parser *p = (struct oa_parser *)b;
	if (oa_index_tokens(p, b->r))
		return -1;
	if (b->ended || p->finished)
		return 0;
	if (!b->sse.nevents && b->sse.nunknown)
		return chat_result_fail(b->r, ERR_MALFORMED,
					"response is not an event stream");
	return chat_result_fail(b->r, ERR_TRUNCATED,
				"stream ended after %zu bytes of text, before its "
				"last event",
				b->r->text.len);
}

/* body_check_fn: checked at the end, not when the chunk came, so the
 * usage chunk after it is still counted. */
static int oa_verdict(struct body_reader *b)
{
	struct chat_result *r = b->r;
	if (!strcmp(r->finish_reason, "content_filter"))
		return chat_result_fail(r, ERR_CONTENT_FILTER,
					"the provider's content filter stopped the answer");
	/* OpenRouter and others end a generation that failed upstream this
	 * way, sometimes with no error object: the text is not an answer. */
	if (!strcmp(r->finish_reason, "error"))
		return chat_result_fail(r, ERR_SERVER,
					"the provider ended the answer with "
					"finish_reason 'error'");
	return body_reader_check_text(b);
}

/* body_format.release: the text held back while the indices were open. */
static void oa_release(struct body_reader *b)
{
	buf_release(&((struct oa_parser *)b)->held);
}

const struct body_format openai_body = {
	.size = sizeof(struct oa_parser),
	.framing = SSE_MODE_SSE, .opens = "{", .lead = "\n\r",
	.event = oa_event, .whole = oa_whole, .end = oa_end,
	.verdict = oa_verdict, .release = oa_release,
};
