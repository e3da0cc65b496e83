/* The Gemini API's own format: requests as generativelanguage.googleapis
 * .com reads them, and responses from fixture files (tests/fixtures/gemini)
 * fed whole, byte by byte, in two pieces split at every byte and at random
 * split points, all of which must agree. A stream without its finishReason
 * is never a short answer; a safety block is content_filter, never text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../common/alloc.h"
#include "../../providers/provider.h"
#include "feed.h"
#include "util.h"

#define TEXT                                                                   \
	"Paris is the capital of France \xe2\x80\x94 \"la Ville Lumi\xc3\xa8re\"." \
	"\nIt sits on the Seine \xf0\x9f\x97\xbc."
#define TEXT_WHOLE                                                             \
	"The sky looks blue because air scatters short (blue) wavelengths of "  \
	"sunlight more than long ones: Rayleigh scattering."
#define KEY "AIzaSyD-TEST-not-a-real-key-0123456789"

static const struct provider *gemini(void)
{
	const struct provider *p = provider_find("gemini");
	assert_non_null(p);
	return p;
}

static char *fixture(const char *name, size_t *len)
{
	return fixture_read_in("gemini", name, len);
}

/* ---- requests ---- */

static void build_ok(const struct chat_request *req, const char *base,
		     const char *key, struct http_req *out, cJSON **body)
{
	struct qerr e;
	memset(out, 0, sizeof(*out));
	if (gemini()->build(req, base, key, out, &e))
		fail_msg("build failed: %s", e.msg);
	if (body) {
		*body = cJSON_ParseWithLength(out->body.data, out->body.len);
		assert_non_null(*body);
	}
}

static const char *header(const struct http_req *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strncmp(r->headers[i], name, n) && r->headers[i][n] == ':')
			return r->headers[i] + n + 2;
	return NULL;
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static void registered(void **state)
{
	(void)state;
	const struct provider *p = gemini();
	assert_string_equal(p->name, "gemini");
	assert_string_equal(p->default_base_url,
			    "https://generativelanguage.googleapis.com");
	assert_string_equal(p->default_key_env, "GEMINI_API_KEY");
	int found = 0;
	for (const char *const *n = provider_names(); *n; n++)
		found += !strcmp(*n, "gemini");
	assert_int_equal(found, 1);
}

static void build_minimal(void **state)
{
	(void)state;
	struct chat_request req = {.model = "gemini-2.5-flash", .system = "",
				   .prompt = "Why is the sky blue?"};
	struct http_req out;
	build_ok(&req, NULL, KEY, &out, NULL);
	assert_string_equal(buf_str(&out.url),
			    "https://generativelanguage.googleapis.com/v1beta/models/"
			    "gemini-2.5-flash:generateContent");
	/* No systemInstruction for an empty system prompt, no
	 * generationConfig when nothing was set: the model's defaults hold. */
	assert_string_equal(buf_str(&out.body),
			    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":"
			    "\"Why is the sky blue?\"}]}]}");
	assert_int_equal(out.nheaders, 2);
	assert_string_equal(header(&out, "Content-Type"), "application/json");
	assert_string_equal(header(&out, "x-goog-api-key"), KEY);
	assert_null(header(&out, "Accept"));
	http_req_release(&out);
}

static void build_everything(void **state)
{
	(void)state;
	const char *stop[] = {"\n\n", "END"};
	struct chat_request req = {
		.model = "gemini-2.5-pro",
		.system = "You are terse.",
		.prompt = "Count to three.",
		.has_temperature = 1, .temperature = 0.7,
		.max_tokens = 256,
		.has_top_p = 1, .top_p = 0.9,
		.has_seed = 1, .seed = INT64_C(9007199254740993),
		.stop = stop, .nstop = 2,
		.stream = 1,
	};
	struct http_req out;
	cJSON *b;
	build_ok(&req, "http://127.0.0.1:8080/", NULL, &out, &b);
	assert_string_equal(buf_str(&out.url),
			    "http://127.0.0.1:8080/v1beta/models/gemini-2.5-pro:"
			    "streamGenerateContent?alt=sse");
	const cJSON *contents = get(b, "contents");
	assert_int_equal(cJSON_GetArraySize(contents), 1);
	const cJSON *c0 = cJSON_GetArrayItem(contents, 0);
	assert_string_equal(get(c0, "role")->valuestring, "user");
	assert_string_equal(
		get(cJSON_GetArrayItem(get(c0, "parts"), 0), "text")->valuestring,
		"Count to three.");
	const cJSON *si = get(b, "systemInstruction");
	assert_null(get(si, "role"));
	assert_string_equal(
		get(cJSON_GetArrayItem(get(si, "parts"), 0), "text")->valuestring,
		"You are terse.");
	const cJSON *gc = get(b, "generationConfig");
	assert_int_equal(get(gc, "maxOutputTokens")->valueint, 256);
	const cJSON *st = get(gc, "stopSequences");
	assert_int_equal(cJSON_GetArraySize(st), 2);
	assert_string_equal(cJSON_GetArrayItem(st, 0)->valuestring, "\n\n");
	assert_string_equal(cJSON_GetArrayItem(st, 1)->valuestring, "END");
	/* Numbers as a person wrote them, and a seed above 2^53 exactly. */
	assert_non_null(strstr(out.body.data, "\"temperature\":0.7"));
	assert_non_null(strstr(out.body.data, "\"topP\":0.9"));
	assert_non_null(strstr(out.body.data, "\"seed\":9007199254740993"));
	/* The endpoint says stream; the body has no such field. */
	assert_null(get(b, "stream"));
	assert_null(get(b, "model"));
	/* No key: no x-goog-api-key header at all. */
	assert_int_equal(out.nheaders, 2);
	assert_null(header(&out, "x-goog-api-key"));
	assert_string_equal(header(&out, "Accept"), "text/event-stream");
	cJSON_Delete(b);
	http_req_release(&out);

	build_ok(&req, NULL, "", &out, NULL);
	assert_null(header(&out, "x-goog-api-key"));
	http_req_release(&out);
}

static void urls(void **state)
{
	(void)state;
	static const struct {
		const char *base, *model;
		int stream;
		const char *want;
	} cases[] = {
		{NULL, "gemini-2.0-flash", 0,
		 "https://generativelanguage.googleapis.com/v1beta/models/"
		 "gemini-2.0-flash:generateContent"},
		{"", "gemini-2.0-flash", 1,
		 "https://generativelanguage.googleapis.com/v1beta/models/"
		 "gemini-2.0-flash:streamGenerateContent?alt=sse"},
		{"https://generativelanguage.googleapis.com//", "g", 0,
		 "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent"},
		/* A base that names its version already keeps it. */
		{"https://generativelanguage.googleapis.com/v1beta/", "g", 0,
		 "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent"},
		{"http://proxy.local/gemini/v1", "g", 1,
		 "http://proxy.local/gemini/v1/models/g:streamGenerateContent?alt=sse"},
		/* The API's own model names keep their collection. */
		{NULL, "models/gemini-2.0-flash", 0,
		 "https://generativelanguage.googleapis.com/v1beta/models/"
		 "gemini-2.0-flash:generateContent"},
		{NULL, "tunedModels/my-tune-7", 0,
		 "https://generativelanguage.googleapis.com/v1beta/tunedModels/"
		 "my-tune-7:generateContent"},
		/* Anything that is not unreserved is escaped, so a name cannot
		 * add a path segment, a method, a query or a fragment. */
		{"http://h", "gemini 2.0:flash?key=x#y/../z", 0,
		 "http://h/v1beta/models/gemini%202.0%3Aflash%3Fkey%3Dx%23y%2F..%2Fz"
		 ":generateContent"},
		{"http://h", "models/a/b", 0,
		 "http://h/v1beta/models/a%2Fb:generateContent"},
		{"http://h", "mod\xc3\xa8le_~.-1", 0,
		 "http://h/v1beta/models/mod%C3%A8le_~.-1:generateContent"},
		{"http://h", "Models/x", 0,
		 "http://h/v1beta/models/Models%2Fx:generateContent"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chat_request req = {.model = cases[i].model, .prompt = "p",
					   .stream = cases[i].stream};
		struct http_req out;
		build_ok(&req, cases[i].base, "k", &out, NULL);
		assert_string_equal(buf_str(&out.url), cases[i].want);
		http_req_release(&out);
	}
}

static void refused(void **state)
{
	(void)state;
	static const struct {
		const char *model, *prompt, *base, *key, *params, *msg;
	} cases[] = {
		{"", "p", NULL, "k", NULL, "no model name for provider 'gemini'"},
		{NULL, "p", NULL, "k", NULL, "no model name for provider 'gemini'"},
		{"models/", "p", NULL, "k", NULL, "no model name for provider 'gemini'"},
		{"m", NULL, NULL, "k", NULL, "no prompt for model 'm'"},
		{"m", "p", "///", "k", NULL, "base_url is empty"},
		{"m", "p", NULL, "k", "{\"generationConfig\": ", "params is not valid JSON"},
		{"m", "p", NULL, "k", "[1]", "params must be a JSON object, not an array"},
		/* A key that would smuggle in a header; never quoted. */
		{"m", "p", NULL, "AIza-secret\r\nX-Evil: 1", NULL,
		 "header 'x-goog-api-key' holds a control character"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chat_request req = {.model = cases[i].model,
					   .prompt = cases[i].prompt,
					   .params_json = cases[i].params};
		struct http_req out;
		struct qerr e;
		memset(&out, 0, sizeof(out));
		assert_int_equal(gemini()->build(&req, cases[i].base, cases[i].key,
						 &out, &e), -1);
		assert_string_equal(e.msg, cases[i].msg);
		assert_null(strstr(e.msg, "secret"));
		/* Nothing is left for the caller to free. */
		assert_null(out.url.data);
		assert_null(out.body.data);
		assert_int_equal(out.nheaders, 0);
	}
}

/* The key goes in its header only: never in the URL (no ?key=), never in
 * the body, whatever else is set. */
static void key_only_in_header(void **state)
{
	(void)state;
	const char *stop[] = {"x"};
	struct chat_request req = {.model = "gemini-2.5-flash", .system = "s",
				   .prompt = "p", .stop = stop, .nstop = 1,
				   .has_seed = 1, .seed = 1, .stream = 1,
				   .params_json = "{\"safetySettings\": []}"};
	struct http_req out;
	build_ok(&req, NULL, KEY, &out, NULL);
	assert_null(strstr(buf_str(&out.url), KEY));
	assert_null(strstr(buf_str(&out.url), "key="));
	assert_null(strstr(buf_str(&out.body), KEY));
	int seen = 0;
	for (size_t i = 0; i < out.nheaders; i++)
		if (strstr(out.headers[i], KEY)) {
			assert_string_equal(out.headers[i], "x-goog-api-key: " KEY);
			seen++;
		}
	assert_int_equal(seen, 1);
	http_req_release(&out);
}

/* params are merged at the top level: a generationConfig there replaces
 * ours as a whole; other keys are added or replaced, never duplicated. */
static void params_override(void **state)
{
	(void)state;
	struct chat_request req = {
		.model = "gemini-2.5-flash", .prompt = "hi",
		.has_temperature = 1, .temperature = 0.7, .max_tokens = 100,
		.params_json = "{\"generationConfig\": {\"temperature\": 0.1, "
			       "\"thinkingConfig\": {\"thinkingBudget\": 0}}, "
			       "\"safetySettings\": [{\"category\": "
			       "\"HARM_CATEGORY_HARASSMENT\", \"threshold\": "
			       "\"BLOCK_NONE\"}], \"systemInstruction\": null}",
	};
	struct http_req out;
	cJSON *b;
	build_ok(&req, NULL, KEY, &out, &b);
	const cJSON *gc = get(b, "generationConfig");
	assert_true(get(gc, "temperature")->valuedouble == 0.1);
	assert_int_equal(get(get(gc, "thinkingConfig"), "thinkingBudget")->valueint, 0);
	assert_null(get(gc, "maxOutputTokens"));
	assert_string_equal(
		get(cJSON_GetArrayItem(get(b, "safetySettings"), 0), "threshold")->valuestring,
		"BLOCK_NONE");
	assert_true(cJSON_IsNull(get(b, "systemInstruction")));
	const char *t = strstr(out.body.data, "\"generationConfig\"");
	assert_non_null(t);
	assert_null(strstr(t + 1, "\"generationConfig\""));
	assert_non_null(get(b, "contents"));
	cJSON_Delete(b);
	http_req_release(&out);
}

static void text_is_valid_json(void **state)
{
	(void)state;
	const char *prompt = "say \"hi\"\\n\n\t\x01 caf\xc3\xa9 \xe2\x98\x80 bad:\xff\xc3(";
	struct chat_request req = {.model = "m", .system = "sys\xff", .prompt = prompt};
	struct http_req out;
	cJSON *b;
	build_ok(&req, NULL, KEY, &out, &b);
	const cJSON *c0 = cJSON_GetArrayItem(get(b, "contents"), 0);
	assert_string_equal(
		get(cJSON_GetArrayItem(get(c0, "parts"), 0), "text")->valuestring,
		"say \"hi\"\\n\n\t\x01 caf\xc3\xa9 \xe2\x98\x80 bad:"
		"\xef\xbf\xbd\xef\xbf\xbd(");
	const cJSON *si = get(b, "systemInstruction");
	assert_string_equal(
		get(cJSON_GetArrayItem(get(si, "parts"), 0), "text")->valuestring,
		"sys\xef\xbf\xbd");
	for (size_t i = 0; i < out.body.len; i++)
		assert_true((unsigned char)out.body.data[i] >= 0x20);
	cJSON_Delete(b);
	http_req_release(&out);
}

/* ---- responses ---- */

struct expect {
	const char *fixture;
	int stream;
	enum err_class err;
	const char *text;       /* NULL: not checked */
	const char *finish;     /* NULL: not checked */
	int64_t in, out;
	const char *msg;        /* a substring of err_msg; NULL: not checked */
};

static void check(const struct expect *x, const struct feed_outcome *o)
{
	if (o->r.err != x->err)
		fail_msg("%s: got %s '%s', want %s", x->fixture,
			 err_class_name(o->r.err), buf_str(&o->r.err_msg),
			 err_class_name(x->err));
	if (x->text)
		assert_string_equal(buf_str(&o->r.text), x->text);
	if (x->finish)
		assert_string_equal(o->r.finish_reason, x->finish);
	assert_int_equal(o->r.input_tokens, x->in);
	assert_int_equal(o->r.output_tokens, x->out);
	if (x->msg && !strstr(buf_str(&o->r.err_msg), x->msg))
		fail_msg("%s: message '%s' lacks '%s'", x->fixture,
			 buf_str(&o->r.err_msg), x->msg);
	if (x->err == ERR_NONE) {
		assert_int_equal(o->rc, 0);
		assert_string_equal(buf_str(&o->r.err_msg), "");
		/* A stream's text is counted as it comes; a whole body's
		 * (even one sent for a stream) only exists at the end. */
		if (strstr(x->fixture, ".sse"))
			assert_int_equal(o->reported, o->r.text.len);
	}
}

static const struct expect table[] = {
	/* streams */
	{"stream_ok.sse", 1, ERR_NONE, TEXT, "stop", 11, 24, NULL},
	{"stream_crlf.sse", 1, ERR_NONE, TEXT, "stop", 11, 24, NULL},
	{"stream_thinking.sse", 1, ERR_NONE, TEXT, "stop", 11, 144, NULL},
	{"stream_max_tokens.sse", 1, ERR_NONE, "One, two, three, four", "length",
	 12, 8, NULL},
	{"stream_no_finish.sse", 1, ERR_TRUNCATED, TEXT, "", 11, 24,
	 "stream ended after 82 bytes of text, before its finishReason"},
	{"stream_cut.sse", 1, ERR_TRUNCATED, "Paris", "", 11, -1,
	 "stream ended after 5 bytes of text"},
	{"stream_safety.sse", 1, ERR_CONTENT_FILTER, "To make it, first gather the",
	 "content_filter", 14, 9,
	 "the provider blocked the answer: finishReason SAFETY "
	 "(HARM_CATEGORY_DANGEROUS_CONTENT)"},
	{"stream_prompt_blocked.sse", 1, ERR_CONTENT_FILTER, "", "content_filter",
	 9, -1, "the provider blocked the prompt: blockReason PROHIBITED_CONTENT"},
	{"stream_error.sse", 1, ERR_OVERLOADED, "Paris", "", 11, -1,
	 "The model is overloaded. Please try again later."},
	{"stream_bad_json.sse", 1, ERR_MALFORMED, "Paris", "", 11, -1,
	 "stream event is not JSON: {\"candidates\": ["},
	{"stream_wrong_types.sse", 1, ERR_MALFORMED, "", "", 11, -1,
	 "'candidates' is an object, not an array"},
	{"stream_invalid_utf8.sse", 1, ERR_MALFORMED, NULL, "stop", 11, 24,
	 "answer is not valid UTF-8 (byte 0x28 at offset 4, after 0xc3)"},
	/* a stream asked for, a whole body or something else sent */
	{"generate_ok.json", 1, ERR_NONE, TEXT_WHOLE, "stop", 7, 23, NULL},
	/* the JSON array the endpoint sends without alt=sse */
	{"stream_array.json", 1, ERR_NONE, TEXT, "stop", 11, 24, NULL},
	{"stream_array_cut.json", 1, ERR_TRUNCATED, "", "", -1, -1, "mid-JSON"},
	{"err_502.html", 1, ERR_MALFORMED, "", "", -1, -1,
	 "response is not an event stream"},
	/* whole bodies */
	{"generate_ok.json", 0, ERR_NONE, TEXT_WHOLE, "stop", 7, 23, NULL},
	{"generate_parts.json", 0, ERR_NONE, "One, two, three.", "stop", 6, 45, NULL},
	{"generate_max_tokens.json", 0, ERR_NONE, "One, two, three, four", "length",
	 12, 8, NULL},
	{"generate_safety.json", 0, ERR_CONTENT_FILTER, "", "content_filter", 14, -1,
	 "the provider blocked the answer: finishReason SAFETY "
	 "(HARM_CATEGORY_DANGEROUS_CONTENT)"},
	{"generate_prompt_blocked.json", 0, ERR_CONTENT_FILTER, "", "content_filter",
	 8, -1,
	 "the provider blocked the prompt: blockReason SAFETY "
	 "(HARM_CATEGORY_HARASSMENT)"},
	{"generate_recitation.json", 0, ERR_CONTENT_FILTER,
	 "It was the best of times, it was the", "content_filter", 10, 9,
	 "finishReason RECITATION"},
	{"generate_malformed.json", 0, ERR_MALFORMED, "", "", -1, -1,
	 "response is not JSON: {\"candidates\": [{\"content\""},
	{"generate_wrong_types.json", 0, ERR_MALFORMED, "", "", 7, 23,
	 "'content.parts[].text' is a number, not a string"},
	{"generate_invalid_utf8.json", 0, ERR_MALFORMED, NULL, "stop", 7, 23,
	 "answer is not valid UTF-8 (byte 0xff at offset 101)"},
	{"generate_cut.json", 0, ERR_TRUNCATED, "", "", -1, -1, "mid-JSON"},
	{"generate_no_candidates.json", 0, ERR_MALFORMED, "", "", 7, -1,
	 "response has no candidates"},
	{"stream_ok.sse", 0, ERR_MALFORMED, "", "", -1, -1,
	 "response is not JSON: data: {"},
};

static void fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct expect *x = &table[i];
		size_t len;
		char *data = fixture(x->fixture, &len);
		struct feed_outcome whole;
		char what[96];
		snprintf(what, sizeof(what), "%s (stream %d)", x->fixture, x->stream);
		feed_all_slicings(gemini(), x->stream, data, len,
				  0x9e3779b97f4a7c15ULL + i, 30, &whole, what);
		check(x, &whole);
		feed_outcome_release(&whole);
		q_free(data);
	}
}

/* Cut a good response after every byte: the whole answer or
 * ERR_TRUNCATED, never a shorter answer. */
static void every_cut(void **state)
{
	(void)state;
	static const struct {
		const char *fixture;
		int stream;
		const char *text;
	} cases[] = {
		{"stream_ok.sse", 1, TEXT},
		{"stream_crlf.sse", 1, TEXT},
		{"stream_thinking.sse", 1, TEXT},
		{"stream_max_tokens.sse", 1, "One, two, three, four"},
		{"generate_ok.json", 0, TEXT_WHOLE},
		{"generate_ok.json", 1, TEXT_WHOLE},
		{"stream_array.json", 1, TEXT},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len;
		char *data = fixture(cases[c].fixture, &len);
		feed_every_cut(gemini(), cases[c].stream, data, len, cases[c].text,
			       cases[c].fixture);
		q_free(data);
	}
}

static void text_cap(void **state)
{
	(void)state;
	static const struct {
		const char *fixture;
		int stream;
		const char *text;
	} cases[] = {
		{"stream_ok.sse", 1, TEXT},
		{"generate_ok.json", 0, TEXT_WHOLE},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len;
		char *data = fixture(cases[c].fixture, &len);
		struct feed_outcome o;
		for (size_t step = 0; step <= 1; step++) {
			feed_run(gemini(), cases[c].stream, 10, data, len, step, NULL, &o);
			assert_int_equal(o.rc, -1);
			assert_int_equal(o.r.err, ERR_TOO_LARGE);
			/* The message is capped with the text. */
			assert_string_equal(buf_str(&o.r.err_msg), "answer ove");
			assert_true(o.r.text.len <= 10);
			feed_outcome_release(&o);
		}
		/* Exactly at the cap is fine. */
		feed_run(gemini(), cases[c].stream, strlen(cases[c].text), data, len,
			 1, NULL, &o);
		assert_int_equal(o.rc, 0);
		feed_outcome_release(&o);
		q_free(data);
	}
}

/* A body past its cap fails early, before memory goes. */
static void body_cap(void **state)
{
	(void)state;
	const struct provider *prov = gemini();
	for (int stream = 0; stream <= 1; stream++) {
		struct chat_result r;
		chat_result_init(&r, 1);
		struct resp_parser *p = prov->parser_new(stream, 1);
		char junk[4096];
		memset(junk, ' ', sizeof(junk));
		junk[0] = stream ? 'x' : '{';
		int got = 0;
		size_t fed = 0;
		while (got >= 0 && fed < ((size_t)64 << 20)) {
			got = prov->parser_feed(p, junk, sizeof(junk), &r);
			junk[0] = ' ';
			fed += sizeof(junk);
		}
		assert_int_equal(got, -1);
		assert_int_equal(r.err, ERR_TOO_LARGE);
		assert_true(fed < ((size_t)2 << 20));
		assert_int_equal(prov->parser_finish(p, &r), -1);
		assert_int_equal(r.err, ERR_TOO_LARGE);
		prov->parser_free(p);
		chat_result_release(&r);
	}
}

struct err_case {
	int status;
	const char *fixture;    /* NULL: body below */
	const char *body;
	const char *retry_after;
	enum err_class err;
	const char *msg;        /* a substring of the message; NULL: not checked */
	int64_t retry_ms;
};

#define RATE_MSG                                                               \
	"You exceeded your current quota, please check your plan and billing " \
	"details. For more information on this error, head to: "              \
	"https://ai.google.dev/gemini-api/docs/rate-limits. * Quota exceeded " \
	"for metric: generativelanguage.googleapis.com/"                       \
	"generate_content_paid_tier_input_token_count, limit: 4000000 Please " \
	"retry in 37.434392449s."
#define GERR(code, status, msg)                                                \
	"{\"error\": {\"code\": " #code ", \"message\": \"" msg                \
	"\", \"status\": \"" status "\"}}"

static const struct err_case err_cases[] = {
	{400, "err_400_invalid_argument.json", NULL, NULL, ERR_BAD_REQUEST,
	 "Invalid JSON payload received. Unknown name \"temprature\" at "
	 "'generation_config': Cannot find field.", -1},
	/* A bad key is a 400 INVALID_ARGUMENT; its ErrorInfo says auth. */
	{400, "err_400_api_key.json", NULL, NULL, ERR_AUTH,
	 "API key not valid. Please pass a valid API key.", -1},
	{403, "err_403_permission_denied.json", NULL, NULL, ERR_AUTH,
	 "Method doesn't allow unregistered callers", -1},
	{404, "err_404_model.json", NULL, NULL, ERR_NOT_FOUND,
	 "models/gemini-9-pro is not found for API version v1beta", -1},
	/* "quota" in the words, a per-minute limit in fact; RetryInfo says
	 * when, the message's newlines become spaces. */
	{429, "err_429_rate.json", NULL, NULL, ERR_RATE_LIMITED, RATE_MSG, 37000},
	{429, "err_429_rate.json", NULL, "5", ERR_RATE_LIMITED, NULL, 5000},
	{429, "err_429_rate.json", NULL, "soon", ERR_RATE_LIMITED, NULL, 37000},
	{429, "err_429_daily.json", NULL, NULL, ERR_QUOTA, "limit: 250", 15026000},
	{503, "err_503_unavailable.json", NULL, NULL, ERR_OVERLOADED,
	 "The model is overloaded. Please try again later.", -1},
	{503, "err_503_unavailable.json", NULL, "30", ERR_OVERLOADED, NULL, 30000},
	{502, "err_502.html", NULL, NULL, ERR_SERVER,
	 "HTTP 502: <!DOCTYPE html> <html lang=en> <meta charset=utf-8> "
	 "<title>Error 502 (Server Error)!!1</title>", -1},
	{504, NULL, GERR(504, "DEADLINE_EXCEEDED",
			 "Deadline expired before operation could complete."),
	 NULL, ERR_TIMEOUT, "Deadline expired before operation could complete.", -1},
	{500, NULL, GERR(500, "INTERNAL", "An internal error has occurred."), NULL,
	 ERR_SERVER, "An internal error has occurred.", -1},
	{400, NULL, GERR(400, "FAILED_PRECONDITION",
			 "User location is not supported for the API use."),
	 NULL, ERR_BAD_REQUEST, "User location is not supported", -1},
	{401, NULL, GERR(401, "UNAUTHENTICATED",
			 "Request had invalid authentication credentials."),
	 NULL, ERR_AUTH, "invalid authentication credentials", -1},
	/* A quota of 0: the plan does not include the model. */
	{429, NULL,
	 "{\"error\": {\"code\": 429, \"message\": \"Quota exceeded, limit: 0\", "
	 "\"status\": \"RESOURCE_EXHAUSTED\", \"details\": [{\"@type\": "
	 "\"type.googleapis.com/google.rpc.QuotaFailure\", \"violations\": "
	 "[{\"quotaId\": \"GenerateContentInputTokensPerModelPerMinute-FreeTier\", "
	 "\"quotaValue\": \"0\"}]}]}}",
	 NULL, ERR_QUOTA, "Quota exceeded, limit: 0", -1},
	{429, NULL, "{\"error\": {\"code\": 429, \"status\": \"RESOURCE_EXHAUSTED\", "
		    "\"details\": [{\"@type\": \"type.googleapis.com/google.rpc."
		    "RetryInfo\", \"retryDelay\": \"1.5s\"}]}}",
	 NULL, ERR_RATE_LIMITED, "error 'RESOURCE_EXHAUSTED'", 1500},
	{429, NULL, "{\"error\": {\"code\": 429, \"details\": [{\"@type\": "
		    "\"type.googleapis.com/google.rpc.RetryInfo\", \"retryDelay\": "
		    "\"12 minutes\"}]}}",
	 NULL, ERR_RATE_LIMITED, "the provider reported an error", -1},
	/* The array the non-SSE stream endpoint wraps its error in. */
	{400, NULL, "[{\"error\": {\"code\": 400, \"message\": \"bad\", \"status\": "
		    "\"INVALID_ARGUMENT\"}}]",
	 NULL, ERR_BAD_REQUEST, "bad", -1},
	/* A body status we do not know: the code decides. */
	{500, NULL, GERR(503, "SOMETHING_NEW", "later"), NULL, ERR_OVERLOADED,
	 "later", -1},
	{500, NULL, "", NULL, ERR_SERVER, "HTTP 500 with an empty body", -1},
	{500, NULL, "\x01\x02\xff\xfe\tok\n", NULL, ERR_SERVER, "HTTP 500: ???? ok", -1},
	{400, NULL, "{\"error\": {\"message\": \"line\\none \\u0007 \\udcff\"}}", NULL,
	 ERR_BAD_REQUEST, NULL, -1},
};

static void error_bodies(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *x = &err_cases[i];
		size_t len = x->body ? strlen(x->body) : 0;
		char *data = x->fixture ? fixture(x->fixture, &len) : NULL;
		struct chat_result r;
		chat_result_init(&r, 0);
		gemini()->parse_error(x->status, data ? data : x->body, len,
				      x->retry_after, &r);
		if (r.err != x->err)
			fail_msg("case %zu: got %s '%s', want %s", i,
				 err_class_name(r.err), buf_str(&r.err_msg),
				 err_class_name(x->err));
		assert_int_equal(r.http_status, x->status);
		if (x->msg && !strstr(buf_str(&r.err_msg), x->msg))
			fail_msg("case %zu: message '%s' lacks '%s'", i,
				 buf_str(&r.err_msg), x->msg);
		/* Messages go into a JSON report: printable, one line. */
		for (const char *m = buf_str(&r.err_msg); *m; m++)
			assert_true((unsigned char)*m >= 0x20 && *m != 0x7f);
		if (r.retry_after_ms != x->retry_ms)
			fail_msg("case %zu: retry after %lld ms, want %lld", i,
				 (long long)r.retry_after_ms, (long long)x->retry_ms);
		assert_true(!err_class_retryable(ERR_CONTENT_FILTER));
		chat_result_release(&r);
		q_free(data);
	}
	/* NULL body, and a message over the result's cap. */
	struct chat_result r;
	chat_result_init(&r, 8);
	gemini()->parse_error(418, NULL, 0, NULL, &r);
	assert_int_equal(r.err, ERR_BAD_REQUEST);
	assert_string_equal(buf_str(&r.err_msg), "HTTP 418");
	chat_result_release(&r);
}

/* Finish reasons other than the fixtures': each as one SSE event. */
static void finish_reasons(void **state)
{
	(void)state;
	static const struct {
		const char *reason;
		enum err_class err;
		const char *finish;
	} cases[] = {
		{"OTHER", ERR_NONE, "other"},
		{"MALFORMED_FUNCTION_CALL", ERR_NONE, "malformed_function_call"},
		{"NEW_REASON_1", ERR_NONE, "new_reason_?"},
		{"LANGUAGE", ERR_CONTENT_FILTER, "content_filter"},
		{"BLOCKLIST", ERR_CONTENT_FILTER, "content_filter"},
		{"PROHIBITED_CONTENT", ERR_CONTENT_FILTER, "content_filter"},
		{"SPII", ERR_CONTENT_FILTER, "content_filter"},
		{"IMAGE_SAFETY", ERR_CONTENT_FILTER, "content_filter"},
		/* "unused", says the API: no last word yet. */
		{"FINISH_REASON_UNSPECIFIED", ERR_TRUNCATED, ""},
		{"", ERR_TRUNCATED, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char s[256];
		snprintf(s, sizeof(s),
			 "data: {\"candidates\": [{\"content\": {\"parts\": "
			 "[{\"text\": \"x\"}]}, \"finishReason\": \"%s\"}]}\n\n",
			 cases[i].reason);
		struct feed_outcome o;
		feed_run(gemini(), 1, 0, s, strlen(s), 0, NULL, &o);
		if (o.r.err != cases[i].err)
			fail_msg("%s: got %s '%s'", cases[i].reason,
				 err_class_name(o.r.err), buf_str(&o.r.err_msg));
		assert_string_equal(o.r.finish_reason, cases[i].finish);
		assert_string_equal(buf_str(&o.r.text), "x");
		if (cases[i].err == ERR_CONTENT_FILTER)
			assert_non_null(strstr(buf_str(&o.r.err_msg), cases[i].reason));
		feed_outcome_release(&o);
	}
}

/* An error inside a 200 stream carries its RetryInfo too. */
static void stream_error_retry(void **state)
{
	(void)state;
	const char *s = "data: {\"error\": {\"code\": 429, \"message\": \"slow down\", "
			"\"status\": \"RESOURCE_EXHAUSTED\", \"details\": [{\"@type\": "
			"\"type.googleapis.com/google.rpc.RetryInfo\", \"retryDelay\": "
			"\"7s\"}]}}\r\n\r\n";
	struct feed_outcome o;
	feed_run(gemini(), 1, 0, s, strlen(s), 0, NULL, &o);
	assert_int_equal(o.r.err, ERR_RATE_LIMITED);
	assert_string_equal(buf_str(&o.r.err_msg), "slow down");
	assert_int_equal(o.r.retry_after_ms, 7000);
	assert_int_equal(o.feed_failed, 1);
	feed_outcome_release(&o);
}

static void mutate(char *d, size_t len, uint64_t *rng)
{
	static const char bytes[] = "{}[]\":,\n\r\\ 0a-\xff\xc3";
	int n = 1 + (int)(rng_next(rng) % 8);
	for (int i = 0; i < n && len; i++)
		d[rng_next(rng) % len] = bytes[rng_next(rng) % (sizeof(bytes) - 1)];
}

/* Nothing crashes on any bytes: mutated fixtures and noise through every
 * entry point (run under the sanitizers to mean something). */
static void hostile_bytes(void **state)
{
	(void)state;
	static const char *const names[] = {
		"stream_ok.sse", "stream_crlf.sse", "stream_safety.sse",
		"stream_prompt_blocked.sse", "stream_error.sse", "generate_ok.json",
		"generate_parts.json", "generate_safety.json", "err_429_rate.json",
		"err_400_api_key.json", "err_429_daily.json",
	};
	uint64_t rng = 11;
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *orig = fixture(names[f], &len);
		char *d = q_malloc(len + 1);
		d[len] = '\0';
		for (int round = 0; round < 150; round++) {
			memcpy(d, orig, len);
			mutate(d, len, &rng);
			size_t n = round % 5 ? len : rng_next(&rng) % (len + 1);
			struct feed_outcome o;
			feed_run(gemini(), round % 2, round % 7 ? 0 : 64, d, n,
				 round % 3 ? 13 : 1, &rng, &o);
			feed_outcome_release(&o);
			struct chat_result r;
			chat_result_init(&r, 300);
			gemini()->parse_error(400 + round % 200, d, n, d, &r);
			assert_int_not_equal(r.err, ERR_NONE);
			assert_true(r.err_msg.len <= 300);
			chat_result_release(&r);
		}
		q_free(d);
		q_free(orig);
	}
	char noise[2048];
	for (int round = 0; round < 200; round++) {
		size_t n = rng_next(&rng) % sizeof(noise);
		for (size_t i = 0; i < n; i++)
			noise[i] = (char)rng_next(&rng);
		struct feed_outcome o;
		feed_run(gemini(), round % 2, 0, noise, n, 17, &rng, &o);
		feed_outcome_release(&o);
	}
}

/* Every allocation that can fail, failing: an error or the right answer,
 * never a crash or a leak. */
static void alloc_failures(void **state)
{
	(void)state;
	const struct provider *prov = gemini();
	static const char *const names[] = {"stream_ok.sse", "stream_safety.sse",
					    "generate_ok.json", "err_429_rate.json"};
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *data = fixture(names[f], &len);
		int stream = strstr(names[f], ".sse") != NULL;
		for (long n = 1; n < 60; n++) {
			struct chat_result r;
			chat_result_init(&r, 0);
			q_alloc_fail_after(n);
			struct resp_parser *p = prov->parser_new(stream, 0);
			int rc = -1;
			if (p) {
				for (size_t i = 0; i < len; i += 5)
					if (prov->parser_feed(p, data + i,
							      len - i < 5 ? len - i : 5, &r) < 0)
						break;
				rc = prov->parser_finish(p, &r);
				prov->parser_free(p);
			}
			if (f == 3)
				prov->parse_error(429, data, len, NULL, &r);
			q_alloc_fail_after(0);
			if (!rc && f == 0)
				assert_string_equal(buf_str(&r.text), TEXT);
			if (!rc && f == 1)
				fail_msg("a safety block succeeded with %ld", n);
			chat_result_release(&r);
		}
		q_free(data);
	}
	const char *stop[] = {"a", "b"};
	struct chat_request req = {.model = "models/m:x", .system = "s",
				   .prompt = "p\xff", .stop = stop, .nstop = 2,
				   .has_temperature = 1, .has_seed = 1, .stream = 1,
				   .params_json = "{\"x\": 1}"};
	for (long n = 1; n < 40; n++) {
		struct http_req out = {0};
		struct qerr e;
		q_alloc_fail_after(n);
		int rc = prov->build(&req, NULL, KEY, &out, &e);
		q_alloc_fail_after(0);
		if (rc) {
			assert_int_equal(out.nheaders, 0);
			assert_null(out.url.data);
		}
		http_req_release(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registered),
		cmocka_unit_test(build_minimal),
		cmocka_unit_test(build_everything),
		cmocka_unit_test(urls),
		cmocka_unit_test(refused),
		cmocka_unit_test(key_only_in_header),
		cmocka_unit_test(params_override),
		cmocka_unit_test(text_is_valid_json),
		cmocka_unit_test(fixtures),
		cmocka_unit_test(every_cut),
		cmocka_unit_test(text_cap),
		cmocka_unit_test(body_cap),
		cmocka_unit_test(error_bodies),
		cmocka_unit_test(finish_reasons),
		cmocka_unit_test(stream_error_retry),
		cmocka_unit_test(hostile_bytes),
		cmocka_unit_test(alloc_failures),
	};
	return cmocka_run_group_tests_name("gemini", tests, NULL, NULL);
}
