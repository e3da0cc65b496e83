/* The Anthropic Messages API: the request quorum sends, and the answers,
 * streams and errors it reads back, from fixture files in
 * tests/fixtures/anthropic. Every fixture is fed whole, byte by byte,
 * split at every byte and at random sizes, with the same result. */
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

#define KEY "sk-ant-api03-Zx9_SECRET_do-not-leak-0123456789"

#define STREAM_TEXT                                                            \
	"Bonjour! The sky is \"blue\"\nbecause air scatters short waves "      \
	"\xe2\x98\x80\xef\xb8\x8f more \xe2\x80\x94 Rayleigh."
#define MSG_TEXT                                                               \
	"Paris is the capital of France.\nIt has been since 987 \xe2\x80\x94 "  \
	"\"la Ville Lumi\xc3\xa8re\" \xf0\x9f\x97\xbc."

static const struct provider *anthropic(void) { return prov_get("anthropic"); }

static char *fixture(const char *name, size_t *len)
{
	return fixture_read_in("anthropic", name, len);
}

/* ---- the request ---- */

static void minimal(void **state)
{
	(void)state;
	struct chat_request req = {.model = "claude-3-5-haiku-20241022",
				   .prompt = "Why is the sky blue?"};
	struct http_req out;
	struct qerr e;
	cJSON *b;
	assert_int_equal(build_req(anthropic(), &req, NULL, KEY, &out, &b, &e), 0);
	assert_string_equal(buf_str(&out.url), "https://api.anthropic.com/v1/messages");
	assert_string_equal(jget(b, "model")->valuestring, "claude-3-5-haiku-20241022");
	/* The API refuses a request without max_tokens. */
	assert_int_equal(jget(b, "max_tokens")->valueint, 1024);
	const cJSON *msgs = jget(b, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 1);
	const cJSON *m = cJSON_GetArrayItem(msgs, 0);
	assert_string_equal(jget(m, "role")->valuestring, "user");
	assert_string_equal(jget(m, "content")->valuestring, "Why is the sky blue?");
	/* Unset settings are not sent: the API's defaults hold. */
	const char *absent[] = {"system", "temperature", "top_p", "stop_sequences",
				"stream", "seed", "stop"};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (jget(b, absent[i]))
			fail_msg("'%s' sent though not set", absent[i]);
	assert_int_equal(cJSON_GetArraySize(b), 3);
	assert_int_equal(out.nheaders, 3);
	assert_string_equal(req_header(&out, "content-type"), "application/json");
	assert_string_equal(req_header(&out, "anthropic-version"), "2023-06-01");
	assert_string_equal(req_header(&out, "x-api-key"), KEY);
	assert_null(req_header(&out, "Authorization"));
	cJSON_Delete(b);
	http_req_release(&out);
}

static void everything_set(void **state)
{
	(void)state;
	const char *stop[] = {"\n\nHuman:", "END"};
	struct chat_request req = {
		.model = "claude-sonnet-4-5",
		.system = "You are terse.",
		.prompt = "Count to three.",
		.has_temperature = 1, .temperature = 0.7,
		.max_tokens = 256,
		.has_top_p = 1, .top_p = 0.9,
		.has_seed = 1, .seed = 42,
		.stop = stop, .nstop = 2,
		.stream = 1,
	};
	struct http_req out;
	struct qerr e;
	cJSON *b;
	assert_int_equal(build_req(anthropic(), &req, "http://127.0.0.1:8080/", NULL,
				   &out, &b, &e), 0);
	assert_string_equal(buf_str(&out.url), "http://127.0.0.1:8080/v1/messages");
	/* The system prompt is a top-level field, never a message. */
	assert_string_equal(jget(b, "system")->valuestring, "You are terse.");
	const cJSON *msgs = jget(b, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 1);
	assert_string_equal(jget(cJSON_GetArrayItem(msgs, 0), "role")->valuestring, "user");
	assert_int_equal(jget(b, "max_tokens")->valueint, 256);
	assert_non_null(strstr(out.body.data, "\"temperature\":0.7"));
	assert_non_null(strstr(out.body.data, "\"top_p\":0.9"));
	const cJSON *st = jget(b, "stop_sequences");
	assert_int_equal(cJSON_GetArraySize(st), 2);
	assert_string_equal(cJSON_GetArrayItem(st, 0)->valuestring, "\n\nHuman:");
	assert_string_equal(cJSON_GetArrayItem(st, 1)->valuestring, "END");
	assert_null(jget(b, "stop"));
	assert_true(cJSON_IsTrue(jget(b, "stream")));
	/* The API has no seed: sending one would fail every call. */
	assert_null(jget(b, "seed"));
	/* No key: no key header at all. */
	assert_int_equal(out.nheaders, 2);
	assert_null(req_header(&out, "x-api-key"));
	assert_string_equal(req_header(&out, "anthropic-version"), "2023-06-01");
	cJSON_Delete(b);
	http_req_release(&out);

	assert_int_equal(build_req(anthropic(), &req, NULL, "", &out, NULL, &e), 0);
	assert_null(req_header(&out, "x-api-key"));
	assert_int_equal(out.nheaders, 2);
	http_req_release(&out);
}

/* The key is in its header and nowhere else: not the URL, the body or
 * another header. */
static void key_only_in_its_header(void **state)
{
	(void)state;
	struct chat_request req = {.model = "m", .system = "s", .prompt = "p",
				   .stream = 1, .params_json = "{\"metadata\": {\"user_id\": \"u\"}}"};
	struct http_req out;
	struct qerr e;
	assert_int_equal(build_req(anthropic(), &req, "https://api.anthropic.com", KEY,
				   &out, NULL, &e), 0);
	assert_null(strstr(buf_str(&out.url), "SECRET"));
	assert_null(strstr(buf_str(&out.body), "SECRET"));
	size_t seen = 0;
	for (size_t i = 0; i < out.nheaders; i++) {
		if (!strstr(out.headers[i], "SECRET"))
			continue;
		seen++;
		assert_string_equal(out.headers[i], "x-api-key: " KEY);
	}
	assert_int_equal(seen, 1);
	http_req_release(&out);
	assert_int_equal(out.nheaders, 0);
}

static void url_joining(void **state)
{
	(void)state;
	static const struct {
		const char *base, *want;
	} cases[] = {
		{NULL, "https://api.anthropic.com/v1/messages"},
		{"", "https://api.anthropic.com/v1/messages"},
		{"https://api.anthropic.com", "https://api.anthropic.com/v1/messages"},
		{"https://api.anthropic.com/", "https://api.anthropic.com/v1/messages"},
		/* Written with its version, as OpenAI-style base URLs are. */
		{"https://api.anthropic.com/v1", "https://api.anthropic.com/v1/messages"},
		{"https://api.anthropic.com/v1//", "https://api.anthropic.com/v1/messages"},
		{"http://127.0.0.1:4000", "http://127.0.0.1:4000/v1/messages"},
		{"https://gw.example/anthropic", "https://gw.example/anthropic/v1/messages"},
		{"https://gw.example/api/v10", "https://gw.example/api/v10/v1/messages"},
	};
	struct chat_request req = {.model = "m", .prompt = "p"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_req out;
		struct qerr e;
		assert_int_equal(build_req(anthropic(), &req, cases[i].base, "k", &out, NULL, &e), 0);
		assert_string_equal(buf_str(&out.url), cases[i].want);
		http_req_release(&out);
	}
	struct http_req out;
	struct qerr e;
	assert_int_equal(build_req(anthropic(), &req, "///", "k", &out, NULL, &e), -1);
	assert_string_equal(e.msg, "base_url is empty");
	assert_int_equal(out.nheaders, 0);
}

static void params_override(void **state)
{
	(void)state;
	struct chat_request req = {
		.model = "claude-sonnet-4-5", .system = "plain", .prompt = "hi",
		.has_temperature = 1, .temperature = 0.7, .stream = 1,
		.params_json = "{\"max_tokens\": 16000, \"temperature\": 1, "
			       "\"system\": [{\"type\": \"text\", \"text\": \"cached\", "
			       "\"cache_control\": {\"type\": \"ephemeral\"}}], "
			       "\"thinking\": {\"type\": \"enabled\", \"budget_tokens\": 8000}, "
			       "\"top_k\": 5}",
	};
	struct http_req out;
	struct qerr e;
	cJSON *b;
	assert_int_equal(build_req(anthropic(), &req, NULL, "k", &out, &b, &e), 0);
	assert_int_equal(jget(b, "max_tokens")->valueint, 16000);
	assert_true(jget(b, "temperature")->valuedouble == 1);
	assert_true(cJSON_IsArray(jget(b, "system")));
	assert_string_equal(jget(cJSON_GetArrayItem(jget(b, "system"), 0), "text")->valuestring,
			    "cached");
	assert_int_equal(jget(jget(b, "thinking"), "budget_tokens")->valueint, 8000);
	assert_int_equal(jget(b, "top_k")->valueint, 5);
	/* Replaced, not duplicated. */
	static const char *const keys[] = {"\"max_tokens\"", "\"temperature\"", "\"system\""};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *t = strstr(out.body.data, keys[i]);
		assert_non_null(t);
		assert_null(strstr(t + 1, keys[i]));
	}
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
		{"7", "params must be a JSON object, not a number"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chat_request req = {.model = "m", .prompt = "p",
					   .params_json = cases[i].params};
		struct http_req out;
		struct qerr e;
		assert_int_equal(build_req(anthropic(), &req, NULL, KEY, &out, NULL, &e), -1);
		assert_string_equal(e.msg, cases[i].msg);
		/* Nothing is left for the caller to free. */
		assert_null(out.url.data);
		assert_null(out.body.data);
		assert_int_equal(out.nheaders, 0);
	}
}

static void text_is_valid_json(void **state)
{
	(void)state;
	const char *prompt = "say \"hi\"\\n\n\t\x01 caf\xc3\xa9 bad:\xff\xc3(";
	struct chat_request req = {.model = "m", .system = "", .prompt = prompt};
	struct http_req out;
	struct qerr e;
	cJSON *b;
	assert_int_equal(build_req(anthropic(), &req, NULL, "k", &out, &b, &e), 0);
	/* An empty system prompt is not sent. */
	assert_null(jget(b, "system"));
	const cJSON *m0 = cJSON_GetArrayItem(jget(b, "messages"), 0);
	assert_string_equal(jget(m0, "content")->valuestring,
			    "say \"hi\"\\n\n\t\x01 caf\xc3\xa9 bad:\xef\xbf\xbd\xef\xbf\xbd(");
	for (size_t i = 0; i < out.body.len; i++)
		assert_true((unsigned char)out.body.data[i] >= 0x20);
	cJSON_Delete(b);
	http_req_release(&out);
	req.system = "sys\xfe";
	assert_int_equal(build_req(anthropic(), &req, NULL, "k", &out, &b, &e), 0);
	assert_string_equal(jget(b, "system")->valuestring, "sys\xef\xbf\xbd");
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
	assert_int_equal(build_req(anthropic(), &req, NULL, "sk-ant-abc\r\nX-Evil: 1",
				   &out, NULL, &e), -1);
	assert_null(strstr(e.msg, "sk-ant"));
	assert_non_null(strstr(e.msg, "x-api-key"));
	assert_int_equal(out.nheaders, 0);
	assert_null(out.body.data);
	req.model = "";
	assert_int_equal(build_req(anthropic(), &req, NULL, "k", &out, NULL, &e), -1);
	assert_string_equal(e.msg, "no model name for provider 'anthropic'");
	req.model = NULL;
	assert_int_equal(build_req(anthropic(), &req, NULL, "k", &out, NULL, &e), -1);
	req.model = "m";
	req.prompt = NULL;
	assert_int_equal(build_req(anthropic(), &req, NULL, "k", &out, NULL, &e), -1);
	assert_string_equal(e.msg, "no prompt for model 'm'");
}

/* ---- responses ---- */

static const struct feed_case table[] = {
	/* streams */
	{"stream_ok.sse", 1, ERR_NONE, STREAM_TEXT, "stop", 25, 15, NULL},
	{"stream_crlf.sse", 1, ERR_NONE, STREAM_TEXT, "stop", 25, 15, NULL},
	{"stream_max_tokens.sse", 1, ERR_NONE, STREAM_TEXT, "length", 25, 5, NULL},
	{"stream_thinking_tools.sse", 1, ERR_NONE, "Let me check the weather in Paris.",
	 "tool_calls", 472, 89, NULL},
	{"stream_no_stop.sse", 1, ERR_TRUNCATED, STREAM_TEXT, "stop", 25, 15,
	 "stream ended after 85 bytes of text, before message_stop"},
	{"stream_cut.sse", 1, ERR_TRUNCATED,
	 "Bonjour! The sky is \"blue\"\nbecause air scatters ", "", 25, 1,
	 "stream ended after 48 bytes of text, before message_stop"},
	{"stream_error_overloaded.sse", 1, ERR_OVERLOADED, "Bonjour", "", 25, 1,
	 "Overloaded"},
	{"stream_refusal.sse", 1, ERR_CONTENT_FILTER, "I can't help with that.",
	 "content_filter", 31, 9, "the model declined to answer"},
	/* checked once at the end, as for every format: a character may
	 * span two deltas */
	{"stream_bad_utf8.sse", 1, ERR_MALFORMED, "caf\xc3\xa9 bad \xc3( byte", "stop",
	 25, 4, "answer is not valid UTF-8 (byte 0x28 at offset 11, after 0xc3)"},
	{"stream_wrong_types.sse", 1, ERR_MALFORMED, "one", "", 25, 1,
	 "'delta.text' is a number, not a string"},
	{"stream_bad_json.sse", 1, ERR_MALFORMED, "", "", 25, 1,
	 "stream event is not JSON: {\"type\":\"content_block_delta\""},
	/* a stream asked for, a whole message sent */
	{"msg_ok.json", 1, ERR_NONE, MSG_TEXT, "stop", 2095, 503, NULL},
	{"msg_error_200.json", 1, ERR_SERVER, "", "", -1, -1, "Internal server error"},
	/* whole messages */
	{"msg_ok.json", 0, ERR_NONE, MSG_TEXT, "stop", 2095, 503, NULL},
	{"msg_multi_blocks.json", 0, ERR_NONE,
	 "According to the document, the grass is green and the sky is blue.", "stop",
	 61, 40, NULL},
	{"msg_max_tokens.json", 0, ERR_NONE, "One, two, three, four", "length", 12, 8, NULL},
	{"msg_refusal.json", 0, ERR_CONTENT_FILTER, "", "content_filter", 31, 0,
	 "the model declined to answer (stop_reason 'refusal')"},
	{"msg_error_200.json", 0, ERR_SERVER, "", "", -1, -1, "Internal server error"},
	{"msg_no_content.json", 0, ERR_MALFORMED, "", "", 5, 0,
	 "response has no 'content' array"},
	{"msg_wrong_types.json", 0, ERR_MALFORMED, NULL, "", 5, 1,
	 "'content[1].text' is a number, not a string"},
	{"msg_bad_utf8.json", 0, ERR_MALFORMED, "caf\xc3\xa9 ok, then \xff\xfe bad", "stop",
	 7, 6, "answer is not valid UTF-8 (byte 0xff at offset 15)"},
	{"msg_cut.json", 0, ERR_TRUNCATED, "", "", -1, -1, "mid-JSON"},
	{"msg_malformed.json", 0, ERR_MALFORMED, "", "", -1, -1,
	 "response is not JSON: {\"id\": \"msg_01\""},
	{"stream_ok.sse", 0, ERR_MALFORMED, "", "", -1, -1,
	 "response is not JSON: event: message_start data: {"},
};

static const struct feed_answer cuts[] = {
	{"stream_ok.sse", 1, STREAM_TEXT},
	{"stream_crlf.sse", 1, STREAM_TEXT},
	{"stream_thinking_tools.sse", 1, "Let me check the weather in Paris."},
	{"msg_ok.json", 0, MSG_TEXT},
	{"msg_ok.json", 1, MSG_TEXT},
};

static const struct feed_answer caps[] = {
	{"stream_ok.sse", 1, STREAM_TEXT},
	{"msg_ok.json", 0, MSG_TEXT},
};

/* A stream event of each error type the API documents, mid-stream. */
static void error_events(void **state)
{
	(void)state;
	static const struct {
		const char *event;
		const char *data;
		enum err_class err;
		const char *msg;
	} cases[] = {
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
		 ERR_OVERLOADED, "Overloaded"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}",
		 ERR_RATE_LIMITED, "slow down"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}",
		 ERR_SERVER, "Internal server error"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad\"}}",
		 ERR_BAD_REQUEST, "bad"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"who\"}}",
		 ERR_AUTH, "who"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\",\"message\":\"no\"}}",
		 ERR_AUTH, "no"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"gone\"}}",
		 ERR_NOT_FOUND, "gone"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"big\"}}",
		 ERR_TOO_LARGE, "big"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":\"pay\"}}",
		 ERR_QUOTA, "pay"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"timeout_error\",\"message\":\"late\"}}",
		 ERR_TIMEOUT, "late"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"new_kind_error\",\"message\":\"hm\"}}",
		 ERR_SERVER, "hm"},
		{"error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}",
		 ERR_OVERLOADED, "error 'overloaded_error'"},
		/* by its data alone, or by its name alone */
		{"", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
		 ERR_OVERLOADED, "Overloaded"},
		{"error", "{\"error\":{\"type\":\"rate_limit_error\",\"message\":\"x\"}}",
		 ERR_RATE_LIMITED, "x"},
		{"error", "upstream connect error", ERR_SERVER,
		 "stream error event: upstream connect error"},
		{"error", "[1]", ERR_SERVER, "stream error event: [1]"},
		{"error", "{}", ERR_SERVER, "stream error event: {}"},
	};
	size_t plen;
	char *prefix = fixture("stream_error_overloaded.sse", &plen);
	/* The fixture's own error event is its last; keep what comes before. */
	char *cut = strstr(prefix, "event: error");
	assert_non_null(cut);
	plen = (size_t)(cut - prefix);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf s = BUF_INIT;
		assert_int_equal(buf_append(&s, prefix, plen), 0);
		if (*cases[i].event)
			buf_printf(&s, "event: %s\n", cases[i].event);
		buf_printf(&s, "data: %s\n\n", cases[i].data);
		buf_puts(&s, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
		struct feed_outcome whole;
		char what[32];
		snprintf(what, sizeof(what), "error event %zu", i);
		feed_all_slicings(anthropic(), 1, s.data, s.len, i + 1, 10, &whole, what);
		if (whole.r.err != cases[i].err)
			fail_msg("case %zu: got %s '%s'", i, err_class_name(whole.r.err),
				 buf_str(&whole.r.err_msg));
		assert_string_equal(buf_str(&whole.r.err_msg), cases[i].msg);
		assert_string_equal(buf_str(&whole.r.text), "Bonjour");
		assert_int_equal(whole.rc, -1);
		assert_int_equal(whole.feed_failed, 1);
		feed_outcome_release(&whole);
		buf_release(&s);
	}
	q_free(prefix);
}

/* Bodies that are not a Messages API stream at all. */
static void not_a_stream(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		enum err_class err;
		const char *msg;
	} cases[] = {
		{"", ERR_TRUNCATED, "stream ended before any event"},
		{"\r\n\n", ERR_TRUNCATED, "stream ended before any event"},
		{"data: {\"object\":\"chat.completion.chunk\",\"choices\":[]}\n\n",
		 ERR_MALFORMED, "response is not a Messages API event stream"},
		{"data: [DONE]\n\n", ERR_MALFORMED, "stream event is not JSON: [DONE]"},
		{"<html><body>502 Bad Gateway</body></html>\n", ERR_MALFORMED,
		 "response is not a Messages API event stream"},
		{"event: message_start\ndata: {\"type\":\"message_start\",\"message\":3}\n\n",
		 ERR_MALFORMED, "'message' is a number, not an object"},
		{"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":1}}\n\n",
		 ERR_MALFORMED, "'delta.stop_reason' is a number, not a string"},
		{"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"content_block\":[]}\n\n",
		 ERR_MALFORMED, "'content_block' is an array, not an object"},
		{"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":\"x\"}\n\n",
		 ERR_MALFORMED, "'delta' is a string, not an object"},
		{"event: ping\ndata: [\"ping\"]\n\n", ERR_MALFORMED,
		 "'stream event' is an array, not an object"},
		{"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
		 "event: message_stop\ndata: {\"type\"",
		 ERR_TRUNCATED, "before message_stop"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct feed_outcome whole;
		char what[32];
		snprintf(what, sizeof(what), "body %zu", i);
		feed_all_slicings(anthropic(), 1, cases[i].body, strlen(cases[i].body),
				  i + 7, 5, &whole, what);
		if (whole.r.err != cases[i].err ||
		    !strstr(buf_str(&whole.r.err_msg), cases[i].msg))
			fail_msg("case %zu: got %s '%s'", i, err_class_name(whole.r.err),
				 buf_str(&whole.r.err_msg));
		feed_outcome_release(&whole);
	}
}

/* Nothing after message_stop counts, and message_stop alone ends a
 * stream even without the blank line after it. */
static void after_stop(void **state)
{
	(void)state;
	size_t len;
	char *data = fixture("stream_ok.sse", &len);
	struct buf s = BUF_INIT;
	assert_int_equal(buf_append(&s, data, len), 0);
	buf_puts(&s, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
		     "\"delta\":{\"type\":\"text_delta\",\"text\":\"MORE\"}}\n\ngarbage{{{\n");
	struct feed_outcome o;
	feed_all_slicings(anthropic(), 1, s.data, s.len, 3, 10, &o, "after stop");
	assert_int_equal(o.rc, 0);
	assert_string_equal(buf_str(&o.r.text), STREAM_TEXT);
	feed_outcome_release(&o);
	/* Without the final blank line. */
	feed_run(anthropic(), 1, 0, data, len - 1, 0, NULL, &o);
	assert_int_equal(o.rc, 0);
	assert_string_equal(buf_str(&o.r.text), STREAM_TEXT);
	feed_outcome_release(&o);
	buf_release(&s);
	q_free(data);
}

static const struct feed_err_case errs[] = {
	{529, "err_529.json", NULL, NULL, ERR_OVERLOADED, "Overloaded", -1},
	{529, "err_529.json", NULL, "2", ERR_OVERLOADED, "Overloaded", 2000},
	{401, "err_401.json", NULL, NULL, ERR_AUTH, "invalid x-api-key", -1},
	{400, "err_400.json", NULL, NULL, ERR_BAD_REQUEST,
	 "max_tokens: 100000 > 8192, which is the maximum allowed number of output "
	 "tokens for claude-3-5-haiku-20241022",
	 -1},
	{429, "err_429.json", NULL, "30", ERR_RATE_LIMITED,
	 "This request would exceed the rate limit for your organization (4b6f2e1c) "
	 "of 50 requests per minute. For details, refer to: "
	 "https://docs.claude.com/en/api/rate-limits.",
	 30000},
	/* A date in the past: go again now. */
	{429, "err_429.json", NULL, "Wed, 21 Oct 2015 07:28:00 GMT", ERR_RATE_LIMITED,
	 NULL, 0},
	{429, "err_429.json", NULL, "soon", ERR_RATE_LIMITED, NULL, -1},
	{404, "err_404.json", NULL, NULL, ERR_NOT_FOUND, "model: claude-3-opus-99", -1},
	{413, "err_413.json", NULL, NULL, ERR_TOO_LARGE,
	 "Request exceeds the maximum allowed number of bytes.", -1},
	{500, NULL, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}",
	 NULL, ERR_SERVER, "Internal server error", -1},
	/* The type refines a status that says little. */
	{500, NULL, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
	 NULL, ERR_OVERLOADED, "Overloaded", -1},
	{400, NULL, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"k\"}}",
	 NULL, ERR_AUTH, "k", -1},
	{402, NULL, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":\"Your credit balance is too low\"}}",
	 NULL, ERR_QUOTA, "Your credit balance is too low", -1},
	{429, NULL, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":\"spend limit\"}}",
	 "60", ERR_QUOTA, "spend limit", 60000},
	/* The status wins over a type that disagrees with it. */
	{401, NULL, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}",
	 NULL, ERR_AUTH, "x", -1},
	{400, NULL, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\"}}", NULL,
	 ERR_BAD_REQUEST, "error 'invalid_request_error'", -1},
	{400, NULL, "{\"type\":\"error\"}", NULL, ERR_BAD_REQUEST,
	 "the provider reported an error: {\"type\":\"error\"}", -1},
	{400, NULL, "{\"error\": \"model 'x' is not served here\"}", NULL, ERR_BAD_REQUEST,
	 "model 'x' is not served here", -1},
	/* The provider's words go into a JSON report: made printable. */
	{500, NULL, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"bad\\u0001 \xff byte\\nnext\"}}",
	 NULL, ERR_SERVER, "bad? ? byte next", -1},
	{529, NULL, "<html><body>overloaded</body></html>", NULL, ERR_OVERLOADED,
	 "HTTP 529: <html><body>overloaded</body></html>", -1},
	{502, NULL, "Bad Gateway\r\n", NULL, ERR_SERVER, "HTTP 502: Bad Gateway", -1},
	{503, NULL, "", "120", ERR_OVERLOADED, "HTTP 503 with an empty body", 120000},
	{200, NULL, "", NULL, ERR_MALFORMED, "HTTP 200 with an empty body", -1},
};

static const char *const hostile[] = {
	"stream_ok.sse", "stream_crlf.sse", "stream_thinking_tools.sse",
	"stream_error_overloaded.sse", "msg_ok.json", "msg_multi_blocks.json",
	"err_529.json", "err_429.json",
};

static const struct feed_alloc_case allocs[] = {
	{"stream_ok.sse", 1, STREAM_TEXT, 0, 0, NULL},
	{"stream_error_overloaded.sse", 1, NULL, 0, 429, "1"},
	{"msg_ok.json", 0, MSG_TEXT, 0, 0, NULL},
	{"err_429.json", 0, NULL, 0, 429, "1"},
};

static const char *const alloc_stop[] = {"a", "b"};
static const struct chat_request alloc_req = {
	.model = "m", .system = "s", .prompt = "p\xff", .stop = alloc_stop, .nstop = 2,
	.stream = 1, .has_temperature = 1, .temperature = 0.5, .params_json = "{\"x\": 1}",
};

static const struct feed_suite suite = {
	.provider = "anthropic",
	.cases = table, .ncases = FEED_N(table), .rounds = 30,
	.cuts = cuts, .ncuts = FEED_N(cuts),
	.caps = caps, .ncaps = FEED_N(caps),
	.body_head = {"{\"a\":\"", "data: {"}, .body_fill = 'x',
	.errs = errs, .nerrs = FEED_N(errs),
	.hostile = hostile, .nhostile = FEED_N(hostile), .hostile_seed = 11,
	.allocs = allocs, .nallocs = FEED_N(allocs),
	.alloc_req = &alloc_req, .alloc_key = KEY, .tries = 80,
};

int main(void)
{
	const struct CMUnitTest build_tests[] = {
		cmocka_unit_test(minimal),
		cmocka_unit_test(everything_set),
		cmocka_unit_test(key_only_in_its_header),
		cmocka_unit_test(url_joining),
		cmocka_unit_test(params_override),
		cmocka_unit_test(params_refused),
		cmocka_unit_test(text_is_valid_json),
		cmocka_unit_test(refused),
	};
	const struct CMUnitTest parse_tests[] = {
		FEED_SUITE_TESTS(&suite),
		cmocka_unit_test(error_events),
		cmocka_unit_test(not_a_stream),
		cmocka_unit_test(after_stop),
	};
	int failed = cmocka_run_group_tests_name("anthropic_build", build_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("anthropic_parse", parse_tests, NULL, NULL);
	return failed ? 1 : 0;
}
