/* Responses from an OpenAI-compatible server, from fixture files: every
 * response fed whole, byte by byte, split at every byte and at random
 * split points must give the same result, and a cut stream is never a
 * short answer (tables over feed.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../providers/provider.h"
#include "feed.h"
#include "util.h"

#define TEXT "Hello! Voil\xc3\xa0: \"blue\"\nsky \xe2\x98\x80\xef\xb8\x8f."
#define TEXT_USAGE                                                             \
	"Paris is the capital of France.\nIt has been since 987 \xe2\x80\x94 "  \
	"\"la Ville Lumi\xc3\xa8re\" \xf0\x9f\x97\xbc."

static const struct provider *openai(void) { return prov_get("openai"); }

static const struct feed_case table[] = {
	/* streams */
	{"stream_ok_usage.sse", 1, ERR_NONE, TEXT, "stop", 19, 10, NULL},
	{"stream_no_usage.sse", 1, ERR_NONE, TEXT, "stop", -1, -1, NULL},
	{"stream_done_nospace.sse", 1, ERR_NONE, TEXT, "stop", 19, 10, NULL},
	{"stream_crlf.sse", 1, ERR_NONE, TEXT, "stop", 19, 10, NULL},
	{"stream_cr.sse", 1, ERR_NONE, TEXT, "stop", 19, 10, NULL},
	{"stream_keepalive.sse", 1, ERR_NONE, TEXT, "stop", 19, 10, NULL},
	{"stream_finish_no_done.sse", 1, ERR_NONE, TEXT, "stop", 19, 10, NULL},
	{"stream_cut.sse", 1, ERR_TRUNCATED, "Hello!", "", -1, -1,
	 "stream ended after 6 bytes of text"},
	{"stream_cut_event.sse", 1, ERR_TRUNCATED, NULL, "", -1, -1, "before its last event"},
	{"stream_error.sse", 1, ERR_SERVER, NULL, "", -1, -1,
	 "The server had an error while processing your request. Sorry about that!"},
	{"stream_error_event.sse", 1, ERR_RATE_LIMITED, NULL, "", -1, -1,
	 "Upstream provider rate limited the request"},
	{"stream_content_filter.sse", 1, ERR_CONTENT_FILTER, TEXT, "content_filter",
	 19, 10, "content filter"},
	{"stream_bad_json.sse", 1, ERR_MALFORMED, NULL, "", -1, -1,
	 "stream event is not JSON: {\"choices\": ["},
	{"stream_wrong_types.sse", 1, ERR_MALFORMED, NULL, "", -1, -1,
	 "'delta.content' is a number, not a string"},
	/* a stream asked for, a whole body or something else sent */
	{"chat_ok.json", 1, ERR_NONE,
	 "The sky looks blue because air scatters short (blue) wavelengths of "
	 "sunlight more than long ones: Rayleigh scattering.",
	 "stop", -1, -1, NULL},
	{"chat_error_200.json", 1, ERR_SERVER, NULL, "", -1, -1,
	 "The server had an error"},
	{"err_500.html", 1, ERR_MALFORMED, NULL, "", -1, -1,
	 "response is not an event stream"},
	/* whole bodies */
	{"chat_ok.json", 0, ERR_NONE,
	 "The sky looks blue because air scatters short (blue) wavelengths of "
	 "sunlight more than long ones: Rayleigh scattering.",
	 "stop", -1, -1, NULL},
	{"chat_ok_usage.json", 0, ERR_NONE, TEXT_USAGE, "stop", 24, 21, NULL},
	{"chat_length.json", 0, ERR_NONE, "One, two, three, four", "length", 12, 8, NULL},
	{"chat_content_filter.json", 0, ERR_CONTENT_FILTER, "", "content_filter",
	 31, 0, "content filter"},
	{"chat_malformed.json", 0, ERR_MALFORMED, NULL, "", -1, -1,
	 "response is not JSON: {\"id\":\"chatcmpl-1\""},
	{"chat_wrong_types.json", 0, ERR_MALFORMED, NULL, "", 5, 1,
	 "'message.content' is a number, not a string"},
	{"chat_missing_choices.json", 0, ERR_MALFORMED, NULL, "", 5, 0,
	 "response has no 'choices' array"},
	{"chat_error_200.json", 0, ERR_SERVER, "", "", -1, -1,
	 "The server had an error while processing your request. Sorry about that!"},
	{"chat_cut.json", 0, ERR_TRUNCATED, "", "", -1, -1, "mid-JSON"},
	{"err_500.html", 0, ERR_MALFORMED, NULL, "", -1, -1,
	 "response is not JSON: <html> <head><title>500 Internal Server Error"},
	{"stream_ok_usage.sse", 0, ERR_MALFORMED, NULL, "", -1, -1,
	 "response is not JSON: data: {"},
};

static const struct feed_answer cuts[] = {
	{"stream_ok_usage.sse", 1, TEXT},
	{"stream_crlf.sse", 1, TEXT},
	{"stream_cr.sse", 1, TEXT},
	{"stream_keepalive.sse", 1, TEXT},
	{"stream_no_usage.sse", 1, TEXT},
	{"chat_ok_usage.json", 0, TEXT_USAGE},
};

static const struct feed_err_case errs[] = {
	{401, "err_401.json", NULL, NULL, ERR_AUTH,
	 "Incorrect API key provided: sk-proj-********************abcd. You "
	 "can find your API key at https://platform.openai.com/account/api-keys.",
	 -1},
	{429, "err_429_rate.json", NULL, "20", ERR_RATE_LIMITED,
	 "Rate limit reached for gpt-4o-mini in organization org-abc on "
	 "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try "
	 "again in 20s.",
	 20000},
	{429, "err_429_rate.json", NULL, "0.5", ERR_RATE_LIMITED, NULL, 500},
	{429, "err_429_rate.json", NULL, "soon", ERR_RATE_LIMITED, NULL, -1},
	{429, "err_429_quota.json", NULL, NULL, ERR_QUOTA,
	 "You exceeded your current quota, please check your plan and billing "
	 "details. For more information on this error, read the docs: "
	 "https://platform.openai.com/docs/guides/error-codes/api-errors.",
	 -1},
	{404, "err_404_model.json", NULL, NULL, ERR_NOT_FOUND,
	 "The model `gtp-4o` does not exist or you do not have access to it.", -1},
	{400, "err_400_vllm.json", NULL, NULL, ERR_BAD_REQUEST,
	 "This model's maximum context length is 4096 tokens. However, you "
	 "requested 5000 tokens.",
	 -1},
	{500, "err_500.html", NULL, NULL, ERR_SERVER,
	 "HTTP 500: <html> <head><title>500 Internal Server Error</title></head> "
	 "<body> <center><h1>500 Internal Server Error</h1></center> <hr><center>"
	 "cloudflare</center> </body> </html>",
	 -1},
	{503, NULL, "", "120", ERR_OVERLOADED, "HTTP 503 with an empty body", 120000},
	{502, NULL, "Bad Gateway\r\n", NULL, ERR_SERVER, "HTTP 502: Bad Gateway", -1},
	{422, NULL, "{\"detail\": \"Field required: messages\"}", NULL,
	 ERR_BAD_REQUEST, "Field required: messages", -1},
	{400, NULL, "{\"error\": \"model 'x' not found, try pulling it first\"}",
	 NULL, ERR_BAD_REQUEST, "model 'x' not found, try pulling it first", -1},
	{403, NULL, "{\"error\": {\"code\": \"unsupported_country_region_territory\"}}",
	 NULL, ERR_AUTH, "error 'unsupported_country_region_territory'", -1},
	{400, NULL, "{\"error\": {}}", NULL, ERR_BAD_REQUEST,
	 "the provider reported an error: {\"error\": {}}", -1},
	{500, NULL, "\x01\x02\xff\xfe\tok\n", NULL, ERR_SERVER, "HTTP 500: ???? ok", -1},
};

static const struct feed_answer caps[] = {
	{"stream_ok_usage.sse", 1, TEXT},
	{"chat_ok_usage.json", 0, TEXT_USAGE},
};

static const char *const hostile[] = {
	"stream_ok_usage.sse", "stream_crlf.sse", "stream_keepalive.sse",
	"stream_error.sse", "chat_ok_usage.json", "chat_ok.json",
	"err_401.json", "err_429_quota.json", "err_400_vllm.json",
};

static const struct feed_alloc_case allocs[] = {
	{"stream_ok_usage.sse", 1, TEXT, 0, 0, NULL},
	{"chat_ok_usage.json", 0, TEXT_USAGE, 0, 0, NULL},
	{"err_429_quota.json", 0, NULL, 0, 429, "1"},
};

static const char *const alloc_stop[] = {"a", "b"};
static const struct chat_request alloc_req = {
	.model = "m", .system = "s", .prompt = "p\xff", .stop = alloc_stop, .nstop = 2,
	.stream = 1, .params_json = "{\"x\": 1}",
};

static const struct feed_suite suite = {
	.provider = "openai",
	.cases = table, .ncases = FEED_N(table), .rounds = 60,
	.cuts = cuts, .ncuts = FEED_N(cuts),
	.caps = caps, .ncaps = FEED_N(caps),
	.body_head = {"{", "x"}, .body_fill = ' ',
	.errs = errs, .nerrs = FEED_N(errs),
	.hostile = hostile, .nhostile = FEED_N(hostile), .hostile_seed = 7,
	.allocs = allocs, .nallocs = FEED_N(allocs),
	.alloc_req = &alloc_req, .alloc_key = "sk-k", .tries = 60,
};

/* A long non-JSON body is quoted up to 200 bytes, whole characters only. */
static void error_excerpt(void **state)
{
	(void)state;
	char body[1000];
	for (size_t i = 0; i < sizeof(body); i += 2)
		memcpy(body + i, "\xc3\xa9", 2);
	struct chat_result r;
	chat_result_init(&r, 0);
	openai()->parse_error(500, body, sizeof(body), NULL, &r);
	const char *m = buf_str(&r.err_msg);
	assert_int_equal(strncmp(m, "HTTP 500: ", 10), 0);
	assert_int_equal(strlen(m + 10), 200);
	chat_result_release(&r);
	/* NULL body, and a message over the result's cap. */
	chat_result_init(&r, 8);
	openai()->parse_error(418, NULL, 0, NULL, &r);
	assert_int_equal(r.err, ERR_BAD_REQUEST);
	assert_string_equal(buf_str(&r.err_msg), "HTTP 418");
	chat_result_release(&r);
}

int test_openai_parse(void)
{
	const struct CMUnitTest tests[] = {
		FEED_SUITE_TESTS(&suite),
		cmocka_unit_test(error_excerpt),
	};
	return cmocka_run_group_tests_name("openai_parse", tests, NULL, NULL);
}
