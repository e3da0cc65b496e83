/* Ollama's native /api/chat: requests as Ollama reads them, and responses
 * from fixture files (tests/fixtures/ollama) fed whole, byte by byte, in
 * two pieces split at every byte and at random split points, all of which
 * must agree; a stream without its "done": true line is never a short
 * answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../providers/provider.h"
#include "feed.h"
#include "util.h"

#define TEXT "Hello! Voil\xc3\xa0: \"blue\"\nsky <\xe2\x98\x80\xef\xb8\x8f> & sea."

static const struct provider *ollama(void) { return prov_get("ollama"); }

/* ---- requests ---- */

static void build_ok(const struct chat_request *req, const char *base,
		     const char *key, struct http_req *out)
{
	struct qerr e;
	if (build_req(ollama(), req, base, key, out, NULL, &e))
		fail_msg("build failed: %s", e.msg);
}

static int has_header(const struct http_req *r, const char *h)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcmp(r->headers[i], h))
			return 1;
	return 0;
}

static void build_minimal(void **state)
{
	(void)state;
	struct chat_request req = {.model = "llama3.2", .system = "",
				   .prompt = "Why is the sky blue?"};
	struct http_req out;
	build_ok(&req, NULL, NULL, &out);
	assert_string_equal(buf_str(&out.url), "http://127.0.0.1:11434/api/chat");
	/* Ollama streams unless told not to: stream is always sent; an
	 * empty system prompt and unset options are not. */
	assert_string_equal(buf_str(&out.body),
			    "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\","
			    "\"content\":\"Why is the sky blue?\"}],\"stream\":false}");
	assert_int_equal(out.nheaders, 1);
	assert_true(has_header(&out, "Content-Type: application/json"));
	http_req_release(&out);
}

static void build_full(void **state)
{
	(void)state;
	const char *stop[] = {"\n\n", "END"};
	struct chat_request req = {
		.model = "qwen2.5:7b", .system = "Be brief.", .prompt = "Say \"hi\"\xff",
		.has_temperature = 1, .temperature = 0.7, .max_tokens = 256,
		.has_top_p = 1, .top_p = 0.9, .has_seed = 1,
		.seed = 9007199254740993LL, .stop = stop, .nstop = 2, .stream = 1};
	struct http_req out;
	build_ok(&req, "http://gpu-box:11434///", "sk-proxy", &out);
	assert_string_equal(buf_str(&out.url), "http://gpu-box:11434/api/chat");
	assert_string_equal(
		buf_str(&out.body),
		"{\"model\":\"qwen2.5:7b\",\"messages\":[{\"role\":\"system\","
		"\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":"
		"\"Say \\\"hi\\\"\xef\xbf\xbd\"}],\"stream\":true,\"options\":{"
		"\"temperature\":0.7,\"top_p\":0.9,\"seed\":9007199254740993,"
		"\"num_predict\":256,\"stop\":[\"\\n\\n\",\"END\"]}}");
	assert_true(has_header(&out, "Authorization: Bearer sk-proxy"));
	assert_true(has_header(&out, "Accept: application/x-ndjson"));
	assert_int_equal(out.nheaders, 3);
	http_req_release(&out);
}

static void build_params(void **state)
{
	(void)state;
	static const struct {
		const char *params;
		const char *body_tail;  /* after the messages */
	} cases[] = {
		/* their option keys win, ours fill the rest */
		{"{\"options\": {\"num_ctx\": 8192, \"temperature\": 0}, \"keep_alive\": \"5m\"}",
		 "\"stream\":false,\"options\":{\"num_ctx\":8192,\"temperature\":0,"
		 "\"num_predict\":64},\"keep_alive\":\"5m\"}"},
		/* top-level keys replace ours */
		{"{\"stream\": true, \"think\": false}",
		 "\"stream\":true,\"think\":false,\"options\":{\"temperature\":0.5,"
		 "\"num_predict\":64}}"},
		/* a null options asks for the model's defaults */
		{"{\"options\": null}", "\"stream\":false,\"options\":null}"},
		{"{}", "\"stream\":false,\"options\":{\"temperature\":0.5,"
		       "\"num_predict\":64}}"},
	};
	struct chat_request req = {.model = "m", .prompt = "p", .has_temperature = 1,
				   .temperature = 0.5, .max_tokens = 64};
	const char *head = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
			   "\"content\":\"p\"}],";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_req out;
		req.params_json = cases[i].params;
		build_ok(&req, NULL, "", &out);
		const char *b = buf_str(&out.body);
		assert_int_equal(strncmp(b, head, strlen(head)), 0);
		assert_string_equal(b + strlen(head), cases[i].body_tail);
		assert_int_equal(out.nheaders, 1);  /* "" is no key */
		http_req_release(&out);
	}
}

static void build_refused(void **state)
{
	(void)state;
	struct chat_request req = {.model = "m", .prompt = "p"};
	struct http_req out = {0};
	struct qerr e;
	req.params_json = "[1]";
	assert_int_equal(ollama()->build(&req, NULL, NULL, &out, &e), -1);
	assert_string_equal(e.msg, "params must be a JSON object, not an array");
	req.params_json = NULL;
	assert_int_equal(ollama()->build(&req, NULL, "k\r\nX-Evil: 1", &out, &e), -1);
	assert_null(strstr(e.msg, "Evil"));
	assert_int_equal(out.nheaders, 0);
	req.model = "";
	assert_int_equal(ollama()->build(&req, NULL, NULL, &out, &e), -1);
	assert_string_equal(e.msg, "no model name for provider 'ollama'");
	http_req_release(&out);
}

/* ---- responses ---- */

static const struct feed_case table[] = {
	/* streams */
	{"stream_ok.ndjson", 1, ERR_NONE, TEXT, "stop", 26, 7, NULL},
	{"stream_crlf.ndjson", 1, ERR_NONE, TEXT, "stop", 26, 7, NULL},
	{"stream_no_final_newline.ndjson", 1, ERR_NONE, TEXT, "stop", 26, 7, NULL},
	{"stream_thinking.ndjson", 1, ERR_NONE, TEXT, "stop", 26, 7, NULL},
	{"stream_no_counts.ndjson", 1, ERR_NONE, TEXT, "stop", -1, -1, NULL},
	{"stream_length.ndjson", 1, ERR_NONE, "One, two, three", "length", 12, 3, NULL},
	{"stream_no_done.ndjson", 1, ERR_TRUNCATED, TEXT, "", -1, -1,
	 "stream ended after 41 bytes of text, before its last line (\"done\": true)"},
	{"stream_cut.ndjson", 1, ERR_TRUNCATED, "Hello! Voil\xc3\xa0: \"blue\"", "", -1,
	 -1, "stream ended inside a line"},
	{"stream_error_line.ndjson", 1, ERR_SERVER, NULL, "", -1, -1,
	 "an error was encountered while running the model: unexpected EOF"},
	{"stream_error_not_found.ndjson", 1, ERR_NOT_FOUND, "", "", -1, -1,
	 "model 'llama3.2' not found, try pulling it first"},
	{"stream_malformed.ndjson", 1, ERR_MALFORMED, NULL, "", -1, -1,
	 "stream line is not JSON: {\"model\":\"llama3.2\",\"message\""},
	{"stream_wrong_types.ndjson", 1, ERR_MALFORMED, NULL, "", -1, -1,
	 "'message.content' is a number, not a string"},
	{"stream_done_wrong_type.ndjson", 1, ERR_MALFORMED, NULL, "", -1, -1,
	 "'done' is a string, not a boolean"},
	{"stream_bad_utf8.ndjson", 1, ERR_MALFORMED, NULL, "stop", 26, 7,
	 "answer is not valid UTF-8 (byte 0x20 at offset 17, after 0xc3)"},
	/* a stream asked for, one object sent (a server that ignored it) */
	{"chat_ok.json", 1, ERR_NONE, TEXT, "stop", 26, 7, NULL},
	{"chat_error_200.json", 1, ERR_NOT_FOUND, "", "", -1, -1,
	 "model 'llama3.2' not found"},
	{"err_500.json", 1, ERR_SERVER, "", "", -1, -1,
	 "llama runner process has terminated: signal: killed"},
	{"err_404_page.txt", 1, ERR_MALFORMED, "", "", -1, -1,
	 "stream line is not JSON: 404 page not found"},
	/* whole bodies */
	{"chat_ok.json", 0, ERR_NONE, TEXT, "stop", 26, 7, NULL},
	{"chat_length.json", 0, ERR_NONE, "One, two, three", "length", 12, 3, NULL},
	{"chat_no_counts.json", 0, ERR_NONE, TEXT, "stop", -1, -1, NULL},
	{"chat_cut.json", 0, ERR_TRUNCATED, "", "", -1, -1,
	 "response body ended after 171 bytes, mid-JSON"},
	{"chat_wrong_types.json", 0, ERR_MALFORMED, "", "", -1, -1,
	 "'message.content' is an array, not a string"},
	{"chat_no_message.json", 0, ERR_MALFORMED, "", "", -1, -1,
	 "response has no 'message' object"},
	{"chat_error_200.json", 0, ERR_NOT_FOUND, "", "", -1, -1,
	 "model 'llama3.2' not found, try pulling it first"},
	{"err_404_page.txt", 0, ERR_MALFORMED, "", "", -1, -1,
	 "response is not JSON: 404 page not found"},
	/* lines where one object was asked for (a server that streamed) */
	{"stream_ok.ndjson", 0, ERR_NONE, TEXT, "stop", 26, 7, NULL},
	{"stream_no_done.ndjson", 0, ERR_TRUNCATED, TEXT, "", -1, -1,
	 "before its last line"},
};

static const struct feed_err_case errs[] = {
	{404, "err_404_model.json", NULL, NULL, ERR_NOT_FOUND,
	 "model 'llama3.2' not found, try pulling it first", -1},
	{404, "err_404_page.txt", NULL, NULL, ERR_NOT_FOUND,
	 "HTTP 404 (is base_url an Ollama server?): 404 page not found", -1},
	{500, "err_500.json", NULL, NULL, ERR_SERVER,
	 "llama runner process has terminated: signal: killed", -1},
	{400, "err_400.json", NULL, NULL, ERR_BAD_REQUEST,
	 "json: cannot unmarshal string into Go struct field "
	 "ChatRequest.messages of type []api.Message",
	 -1},
	{503, NULL, "", "5", ERR_OVERLOADED, "HTTP 503 with an empty body", 5000},
	{429, NULL, "{\"error\": {\"message\": \"Too many requests\"}}", "1.5",
	 ERR_RATE_LIMITED, "Too many requests", 1500},
	{401, NULL, "{\"error\": \"unauthorized\"}", NULL, ERR_AUTH,
	 "unauthorized", -1},
	{500, NULL, "{\"error\": 42}", NULL, ERR_SERVER,
	 "the server reported an error: {\"error\": 42}", -1},
	{500, NULL, "{\"error\": \"line one\\nline\\ttwo\\u0001\"}", NULL,
	 ERR_SERVER, "line one line two?", -1},
	{502, NULL, "Bad Gateway\r\n", NULL, ERR_SERVER, "HTTP 502: Bad Gateway", -1},
};

static const struct feed_answer cuts[] = {
	{"stream_ok.ndjson", 1, TEXT},
	{"stream_crlf.ndjson", 1, TEXT},
	{"stream_thinking.ndjson", 1, TEXT},
	{"stream_length.ndjson", 1, "One, two, three"},
	{"chat_ok.json", 0, TEXT},
	{"chat_ok.json", 1, TEXT},
	{"stream_ok.ndjson", 0, TEXT},
};

static const struct feed_answer caps[] = {
	{"chat_ok.json", 0, TEXT},
	{"stream_ok.ndjson", 1, TEXT},
};

static const char *const hostile[] = {
	"stream_ok.ndjson", "stream_crlf.ndjson", "stream_error_line.ndjson",
	"chat_ok.json", "err_404_model.json", "err_500.json",
};

static const struct feed_alloc_case allocs[] = {
	{"stream_ok.ndjson", 1, TEXT, 0, 0, NULL},
	{"chat_ok.json", 0, TEXT, 0, 0, NULL},
	{"err_404_model.json", 0, NULL, 0, 404, "1"},
};

static const char *const alloc_stop[] = {"a", "b"};
static const struct chat_request alloc_req = {
	.model = "m", .system = "s", .prompt = "p\xff", .stop = alloc_stop, .nstop = 2,
	.stream = 1, .has_temperature = 1, .temperature = 1, .has_seed = 1, .seed = 3,
	.max_tokens = 9, .params_json = "{\"options\": {\"num_ctx\": 1, \"seed\": 2}}",
};

/* An endless line or body: '{' and no end. */
static const struct feed_suite suite = {
	.provider = "ollama",
	.cases = table, .ncases = FEED_N(table), .rounds = 30,
	.cuts = cuts, .ncuts = FEED_N(cuts),
	.caps = caps, .ncaps = FEED_N(caps),
	.body_head = {"{", "{"}, .body_fill = 'x',
	.errs = errs, .nerrs = FEED_N(errs),
	.hostile = hostile, .nhostile = FEED_N(hostile), .hostile_seed = 11,
	.allocs = allocs, .nallocs = FEED_N(allocs),
	.alloc_req = &alloc_req, .alloc_key = "k", .tries = 80,
};

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_minimal),
		cmocka_unit_test(build_full),
		cmocka_unit_test(build_params),
		cmocka_unit_test(build_refused),
		FEED_SUITE_TESTS(&suite),
	};
	return cmocka_run_group_tests_name("ollama", tests, NULL, NULL);
}
