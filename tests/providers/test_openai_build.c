/* The request quorum sends to an OpenAI-compatible server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../providers/provider.h"
#include "../../providers/wire.h"
#include "util.h"

static const struct provider *openai(void) { return prov_get("openai"); }

static void minimal(void **state)
{
	(void)state;
	struct chat_request req = {.model = "gpt-4o-mini", .prompt = "Why is the sky blue?"};
	struct http_req out;
	struct qerr e;
	cJSON *b;
	assert_int_equal(build_req(openai(), &req, "https://api.openai.com/v1",
				   "sk-test", &out, &b, &e), 0);
	assert_string_equal(buf_str(&out.url), "https://api.openai.com/v1/chat/completions");
	assert_string_equal(jget(b, "model")->valuestring, "gpt-4o-mini");
	const cJSON *msgs = jget(b, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 1);
	const cJSON *m = cJSON_GetArrayItem(msgs, 0);
	assert_string_equal(jget(m, "role")->valuestring, "user");
	assert_string_equal(jget(m, "content")->valuestring, "Why is the sky blue?");
	assert_true(cJSON_IsFalse(jget(b, "stream")));
	/* Unset settings are not sent: the server's defaults hold. */
	const char *absent[] = {"temperature", "top_p", "seed", "stop", "max_tokens",
				"stream_options"};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (jget(b, absent[i]))
			fail_msg("'%s' sent though not set", absent[i]);
	assert_int_equal(out.nheaders, 2);
	assert_string_equal(req_header(&out, "Content-Type"), "application/json");
	assert_string_equal(req_header(&out, "Authorization"), "Bearer sk-test");
	assert_null(req_header(&out, "Accept"));
	cJSON_Delete(b);
	http_req_release(&out);
}

static void everything_set(void **state)
{
	(void)state;
	const char *stop[] = {"\n\n", "END"};
	struct chat_request req = {
		.model = "gpt-4o",
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
	struct qerr e;
	cJSON *b;
	assert_int_equal(build_req(openai(), &req, "http://127.0.0.1:8080/v1/", NULL,
				   &out, &b, &e), 0);
	assert_string_equal(buf_str(&out.url), "http://127.0.0.1:8080/v1/chat/completions");
	const cJSON *msgs = jget(b, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 2);
	assert_string_equal(jget(cJSON_GetArrayItem(msgs, 0), "role")->valuestring, "system");
	assert_string_equal(jget(cJSON_GetArrayItem(msgs, 0), "content")->valuestring,
			    "You are terse.");
	assert_string_equal(jget(cJSON_GetArrayItem(msgs, 1), "role")->valuestring, "user");
	/* Numbers as a person wrote them, and a seed above 2^53 exactly. */
	assert_non_null(strstr(out.body.data, "\"temperature\":0.7"));
	assert_non_null(strstr(out.body.data, "\"top_p\":0.9"));
	assert_non_null(strstr(out.body.data, "\"seed\":9007199254740993"));
	assert_int_equal(jget(b, "max_tokens")->valueint, 256);
	const cJSON *st = jget(b, "stop");
	assert_int_equal(cJSON_GetArraySize(st), 2);
	assert_string_equal(cJSON_GetArrayItem(st, 0)->valuestring, "\n\n");
	assert_string_equal(cJSON_GetArrayItem(st, 1)->valuestring, "END");
	assert_true(cJSON_IsTrue(jget(b, "stream")));
	assert_true(cJSON_IsTrue(jget(jget(b, "stream_options"), "include_usage")));
	/* No key: no Authorization header at all. */
	assert_null(req_header(&out, "Authorization"));
	assert_string_equal(req_header(&out, "Accept"), "text/event-stream");
	assert_string_equal(req_header(&out, "Content-Type"), "application/json");
	cJSON_Delete(b);
	http_req_release(&out);

	assert_int_equal(build_req(openai(), &req, "http://h/v1", "", &out, NULL, &e), 0);
	assert_null(req_header(&out, "Authorization"));
	http_req_release(&out);
}

static void url_joining(void **state)
{
	(void)state;
	static const struct {
		const char *base, *want;
	} cases[] = {
		{"https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"},
		{"https://api.openai.com/v1/", "https://api.openai.com/v1/chat/completions"},
		{"https://openrouter.ai/api/v1//", "https://openrouter.ai/api/v1/chat/completions"},
		{"http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1/chat/completions"},
		{NULL, "https://api.openai.com/v1/chat/completions"},
		{"", "https://api.openai.com/v1/chat/completions"},
	};
	struct chat_request req = {.model = "m", .prompt = "p"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_req out;
		struct qerr e;
		assert_int_equal(build_req(openai(), &req, cases[i].base, "k", &out, NULL, &e), 0);
		assert_string_equal(buf_str(&out.url), cases[i].want);
		http_req_release(&out);
	}
	struct http_req out;
	struct qerr e;
	assert_int_equal(build_req(openai(), &req, "///", "k", &out, NULL, &e), -1);
	assert_string_equal(e.msg, "base_url is empty");
	assert_int_equal(out.nheaders, 0);
}

static void params_override(void **state)
{
	(void)state;
	struct chat_request req = {
		.model = "o3-mini", .prompt = "hi",
		.has_temperature = 1, .temperature = 0.7,
		.max_tokens = 100, .stream = 1,
		.params_json = "{\"temperature\": 0.2, \"max_tokens\": null, "
			       "\"max_completion_tokens\": 100, "
			       "\"response_format\": {\"type\": \"json_object\"}, "
			       "\"stream_options\": {\"include_usage\": false}, "
			       "\"reasoning_effort\": \"low\"}",
	};
	struct http_req out;
	struct qerr e;
	cJSON *b;
	assert_int_equal(build_req(openai(), &req, NULL, "k", &out, &b, &e), 0);
	assert_true(jget(b, "temperature")->valuedouble == 0.2);
	assert_true(cJSON_IsNull(jget(b, "max_tokens")));
	assert_int_equal(jget(b, "max_completion_tokens")->valueint, 100);
	assert_string_equal(jget(jget(b, "response_format"), "type")->valuestring,
			    "json_object");
	assert_true(cJSON_IsFalse(jget(jget(b, "stream_options"), "include_usage")));
	assert_string_equal(jget(b, "reasoning_effort")->valuestring, "low");
	/* Replaced, not duplicated. */
	const char *t = strstr(out.body.data, "\"temperature\"");
	assert_non_null(t);
	assert_null(strstr(t + 1, "\"temperature\""));
	cJSON_Delete(b);
	http_req_release(&out);
}

static void params_refused(void **state)
{
	(void)state;
	static const struct {
		const char *params, *msg;
	} cases[] = {
		{"{\"temperature\": ", "params is not valid JSON"},
		{"[1, 2]", "params must be a JSON object, not an array"},
		{"\"x\"", "params must be a JSON object, not a string"},
		{"{} {}", "params is not valid JSON"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chat_request req = {.model = "m", .prompt = "p",
					   .params_json = cases[i].params};
		struct http_req out;
		struct qerr e;
		assert_int_equal(build_req(openai(), &req, NULL, "sk-x", &out, NULL, &e), -1);
		assert_string_equal(e.msg, cases[i].msg);
		/* Nothing is left for the caller to free. */
		assert_null(out.url.data);
		assert_null(out.body.data);
		assert_int_equal(out.nheaders, 0);
	}
	struct chat_request req = {.model = "m", .prompt = "p", .params_json = ""};
	struct http_req out;
	struct qerr e;
	assert_int_equal(build_req(openai(), &req, NULL, "sk-x", &out, NULL, &e), 0);
	http_req_release(&out);
}

static void text_is_valid_json(void **state)
{
	(void)state;
	/* Quotes, escapes, control bytes, valid and invalid UTF-8. */
	const char *prompt = "say \"hi\"\\n\n\t\x01 caf\xc3\xa9 \xe2\x98\x80 bad:\xff\xc3(";
	struct chat_request req = {.model = "m", .system = "", .prompt = prompt};
	struct http_req out;
	struct qerr e;
	cJSON *b;
	assert_int_equal(build_req(openai(), &req, NULL, "k", &out, &b, &e), 0);
	const cJSON *msgs = jget(b, "messages");
	/* An empty system prompt is no system message. */
	assert_int_equal(cJSON_GetArraySize(msgs), 1);
	assert_string_equal(jget(cJSON_GetArrayItem(msgs, 0), "content")->valuestring,
			    "say \"hi\"\\n\n\t\x01 caf\xc3\xa9 \xe2\x98\x80 bad:"
			    "\xef\xbf\xbd\xef\xbf\xbd(");
	for (size_t i = 0; i < out.body.len; i++)
		assert_true((unsigned char)out.body.data[i] >= 0x20);
	cJSON_Delete(b);
	http_req_release(&out);
}

static void refused(void **state)
{
	(void)state;
	struct http_req out;
	struct qerr e;
	struct chat_request req = {.model = "m", .prompt = "p"};
	/* A key that would smuggle in a header; the message never quotes it. */
	assert_int_equal(build_req(openai(), &req, NULL, "sk-abc\r\nX-Evil: 1", &out,
				   NULL, &e), -1);
	assert_null(strstr(e.msg, "sk-abc"));
	assert_non_null(strstr(e.msg, "Authorization"));
	assert_int_equal(out.nheaders, 0);
	req.model = "";
	assert_int_equal(build_req(openai(), &req, NULL, "k", &out, NULL, &e), -1);
	req.model = NULL;
	assert_int_equal(build_req(openai(), &req, NULL, "k", &out, NULL, &e), -1);
	req.model = "m";
	req.prompt = NULL;
	assert_int_equal(build_req(openai(), &req, NULL, "k", &out, NULL, &e), -1);
}

/* The body is printed by wire.c, not cJSON, but byte for byte as
 * cJSON_PrintUnformatted would (it is part of the response cache's key). */
static void body_prints_as_cjson(void **state)
{
	(void)state;
	static const double nums[] = {0, 1, -1, 0.7, 0.1 + 0.2, 1024, 1e15, 1e15 - 1,
				      -1e15 + 1, 123456.789, 1e-7, 1e300, -2.5e-300,
				      3.0000000000000004, 9007199254740993.0, -0.0, 0.005,
				      0.0001, 0.000099, 0.00012, -0.25, 12.345, 1.1, 0.3,
				      99999.999999, 0.1234567, 123456789.123456, 1e13 + 0.5,
				      1.000001, 2.675, -1e-4, 0.9999999};
	cJSON *b = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(b, "nums");
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(nums[i]));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(0.0 / 0.0));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(1.0 / 0.0));
	cJSON_AddStringToObject(b, "s", "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f caf\xc3\xa9 \xff");
	cJSON_AddStringToObject(b, "k\"\n\x02", "");
	cJSON_AddRawToObject(b, "raw", "12345678901234567890");
	cJSON_AddNullToObject(b, "n");
	cJSON_AddTrueToObject(b, "t");
	cJSON_AddFalseToObject(b, "f");
	cJSON_AddItemToObject(b, "eo", cJSON_CreateObject());
	cJSON_AddItemToObject(b, "ea", cJSON_CreateArray());
	cJSON *deep = cJSON_AddObjectToObject(b, "deep");
	cJSON_AddItemToObject(deep, "x", cJSON_CreateStringArray((const char *[]){"a", "", "\"c"}, 3));
	char *want = cJSON_PrintUnformatted(b);
	struct buf got = BUF_INIT;
	struct qerr e;
	assert_int_equal(wire_body_print(b, &got, &e), 0);
	assert_string_equal(buf_str(&got), want);
	assert_int_equal(got.len, strlen(want));
	buf_release(&got);
	cJSON_free(want);
	cJSON_Delete(b);
}

int test_openai_build(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal),
		cmocka_unit_test(everything_set),
		cmocka_unit_test(url_joining),
		cmocka_unit_test(params_override),
		cmocka_unit_test(params_refused),
		cmocka_unit_test(text_is_valid_json),
		cmocka_unit_test(refused),
		cmocka_unit_test(body_prints_as_cjson),
	};
	return cmocka_run_group_tests_name("openai_build", tests, NULL, NULL);
}
