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

static const struct provider *gemini(void) { return prov_get("gemini"); }

/* ---- requests ---- */

static void build_ok(const struct chat_request *req, const char *base,
		     const char *key, struct http_req *out, cJSON **body)
{
	struct qerr e;
	if (build_req(gemini(), req, base, key, out, body, &e))
		fail_msg("build failed: %s", e.msg);
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
	assert_string_equal(req_header(&out, "Content-Type"), "application/json");
	assert_string_equal(req_header(&out, "x-goog-api-key"), KEY);
	assert_null(req_header(&out, "Accept"));
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
	const cJSON *contents = jget(b, "contents");
	assert_int_equal(cJSON_GetArraySize(contents), 1);
	const cJSON *c0 = cJSON_GetArrayItem(contents, 0);
	assert_string_equal(jget(c0, "role")->valuestring, "user");
	assert_string_equal(
		jget(cJSON_GetArrayItem(jget(c0, "parts"), 0), "text")->valuestring,
		"Count to three.");
	const cJSON *si = jget(b, "systemInstruction");
	assert_null(jget(si, "role"));
	assert_string_equal(
		jget(cJSON_GetArrayItem(jget(si, "parts"), 0), "text")->valuestring,
		"You are terse.");
	const cJSON *gc = jget(b, "generationConfig");
	assert_int_equal(jget(gc, "maxOutputTokens")->valueint, 256);
	const cJSON *st = jget(gc, "stopSequences");
	assert_int_equal(cJSON_GetArraySize(st), 2);
	assert_string_equal(cJSON_GetArrayItem(st, 0)->valuestring, "\n\n");
	assert_string_equal(cJSON_GetArrayItem(st, 1)->valuestring, "END");
	/* Numbers as a person wrote them, and a seed above 2^53 exactly. */
	assert_non_null(strstr(out.body.data, "\"temperature\":0.7"));
	assert_non_null(strstr(out.body.data, "\"topP\":0.9"));
	assert_non_null(strstr(out.body.data, "\"seed\":9007199254740993"));
	/* The endpoint says stream; the body has no such field. */
	assert_null(jget(b, "stream"));
	assert_null(jget(b, "model"));
	/* No key: no x-goog-api-key header at all. */
	assert_int_equal(out.nheaders, 2);
	assert_null(req_header(&out, "x-goog-api-key"));
	assert_string_equal(req_header(&out, "Accept"), "text/event-stream");
	cJSON_Delete(b);
	http_req_release(&out);

	build_ok(&req, NULL, "", &out, NULL);
	assert_null(req_header(&out, "x-goog-api-key"));
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
	const cJSON *gc = jget(b, "generationConfig");
	assert_true(jget(gc, "temperature")->valuedouble == 0.1);
	assert_int_equal(jget(jget(gc, "thinkingConfig"), "thinkingBudget")->valueint, 0);
	assert_null(jget(gc, "maxOutputTokens"));
	assert_string_equal(
		jget(cJSON_GetArrayItem(jget(b, "safetySettings"), 0), "threshold")->valuestring,
		"BLOCK_NONE");
	assert_true(cJSON_IsNull(jget(b, "systemInstruction")));
	const char *t = strstr(out.body.data, "\"generationConfig\"");
	assert_non_null(t);
	assert_null(strstr(t + 1, "\"generationConfig\""));
	assert_non_null(jget(b, "contents"));
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
	const cJSON *c0 = cJSON_GetArrayItem(jget(b, "contents"), 0);
	assert_string_equal(
		jget(cJSON_GetArrayItem(jget(c0, "parts"), 0), "text")->valuestring,
		"say \"hi\"\\n\n\t\x01 caf\xc3\xa9 \xe2\x98\x80 bad:"
		"\xef\xbf\xbd\xef\xbf\xbd(");
	const cJSON *si = jget(b, "systemInstruction");
	assert_string_equal(
		jget(cJSON_GetArrayItem(jget(si, "parts"), 0), "text")->valuestring,
		"sys\xef\xbf\xbd");
	for (size_t i = 0; i < out.body.len; i++)
		assert_true((unsigned char)out.body.data[i] >= 0x20);
	cJSON_Delete(b);
	http_req_release(&out);
}

/* ---- responses ---- */

static const struct feed_case table[] = {
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

static const struct feed_answer cuts[] = {
	{"stream_ok.sse", 1, TEXT},
	{"stream_crlf.sse", 1, TEXT},
	{"stream_thinking.sse", 1, TEXT},
	{"stream_max_tokens.sse", 1, "One, two, three, four"},
	{"generate_ok.json", 0, TEXT_WHOLE},
	{"generate_ok.json", 1, TEXT_WHOLE},
	{"stream_array.json", 1, TEXT},
};

static const struct feed_answer caps[] = {
	{"stream_ok.sse", 1, TEXT},
	{"generate_ok.json", 0, TEXT_WHOLE},
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

static const struct feed_err_case errs[] = {
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

static void error_no_body(void **state)
{
	(void)state;
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

static const char *const hostile[] = {
	"stream_ok.sse", "stream_crlf.sse", "stream_safety.sse",
	"stream_prompt_blocked.sse", "stream_error.sse", "generate_ok.json",
	"generate_parts.json", "generate_safety.json", "err_429_rate.json",
	"err_400_api_key.json", "err_429_daily.json",
};

/* A safety block is never an answer, whatever allocation fails. */
static const struct feed_alloc_case allocs[] = {
	{"stream_ok.sse", 1, TEXT, 0, 0, NULL},
	{"stream_safety.sse", 1, NULL, 1, 0, NULL},
	{"generate_ok.json", 0, TEXT_WHOLE, 0, 0, NULL},
	{"err_429_rate.json", 0, NULL, 0, 429, NULL},
};

static const char *const alloc_stop[] = {"a", "b"};
static const struct chat_request alloc_req = {
	.model = "models/m:x", .system = "s", .prompt = "p\xff", .stop = alloc_stop,
	.nstop = 2, .has_temperature = 1, .has_seed = 1, .stream = 1,
	.params_json = "{\"x\": 1}",
};

/* Error messages are checked for a part of them (errs_part). */
static const struct feed_suite suite = {
	.provider = "gemini",
	.cases = table, .ncases = FEED_N(table), .rounds = 30,
	.cuts = cuts, .ncuts = FEED_N(cuts),
	.caps = caps, .ncaps = FEED_N(caps),
	.body_head = {"{", "x"}, .body_fill = ' ',
	.errs = errs, .nerrs = FEED_N(errs), .errs_part = 1,
	.hostile = hostile, .nhostile = FEED_N(hostile), .hostile_seed = 11,
	.allocs = allocs, .nallocs = FEED_N(allocs),
	.alloc_req = &alloc_req, .alloc_key = KEY, .tries = 60,
};

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_minimal),
		cmocka_unit_test(build_everything),
		cmocka_unit_test(urls),
		cmocka_unit_test(refused),
		cmocka_unit_test(key_only_in_header),
		cmocka_unit_test(params_override),
		cmocka_unit_test(text_is_valid_json),
		FEED_SUITE_TESTS(&suite),
		cmocka_unit_test(error_no_body),
		cmocka_unit_test(finish_reasons),
		cmocka_unit_test(stream_error_retry),
	};
	return cmocka_run_group_tests_name("gemini", tests, NULL, NULL);
}
