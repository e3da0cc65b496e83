/* Responses from an OpenAI-compatible server, from fixture files: every
 * stream fed whole, byte by byte and at random split points must give the
 * same result, and a cut stream is never a short answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../providers/provider.h"
#include "util.h"

#define TEXT "Hello! Voil\xc3\xa0: \"blue\"\nsky \xe2\x98\x80\xef\xb8\x8f."
#define TEXT_USAGE                                                             \
	"Paris is the capital of France.\nIt has been since 987 \xe2\x80\x94 "  \
	"\"la Ville Lumi\xc3\xa8re\" \xf0\x9f\x97\xbc."

static const struct provider *openai(void)
{
	const struct provider *p = provider_find("openai");
	assert_non_null(p);
	return p;
}

/* What a run of the parser produced, to compare slicings. */
struct outcome {
	int rc;                /* parser_finish */
	int feed_failed;       /* a feed returned -1 */
	size_t reported;       /* sum of the feeds' text byte counts */
	struct chat_result r;
};

/* Feeds data in slices: step 0 whole, step 1 byte by byte, else random
 * sizes in [1, step] from rng. */
static void run(int stream, size_t max, const char *data, size_t len,
		size_t step, uint64_t *rng, struct outcome *o)
{
	const struct provider *prov = openai();
	memset(o, 0, sizeof(*o));
	chat_result_init(&o->r, max);
	struct resp_parser *p = prov->parser_new(stream, max);
	assert_non_null(p);
	for (size_t i = 0; i < len;) {
		size_t n = len - i;
		if (step == 1)
			n = 1;
		else if (step && rng)
			n = 1 + rng_next(rng) % step;
		if (n > len - i)
			n = len - i;
		int got = prov->parser_feed(p, data + i, n, &o->r);
		i += n;
		if (got < 0) {
			o->feed_failed = 1;
			assert_int_not_equal(o->r.err, ERR_NONE);
			break;
		}
		o->reported += (size_t)got;
	}
	o->rc = prov->parser_finish(p, &o->r);
	prov->parser_free(p);
	/* finish says success exactly when r holds no error. */
	assert_int_equal(o->rc == 0, o->r.err == ERR_NONE);
	if (!o->rc)
		assert_int_equal(o->r.complete, 1);
}

static void outcome_release(struct outcome *o) { chat_result_release(&o->r); }

static void same_outcome(const struct outcome *a, const struct outcome *b,
			 const char *what)
{
	if (a->rc != b->rc || a->r.err != b->r.err ||
	    strcmp(buf_str(&a->r.text), buf_str(&b->r.text)) ||
	    strcmp(buf_str(&a->r.err_msg), buf_str(&b->r.err_msg)) ||
	    strcmp(a->r.finish_reason, b->r.finish_reason) ||
	    a->r.input_tokens != b->r.input_tokens ||
	    a->r.output_tokens != b->r.output_tokens ||
	    a->r.complete != b->r.complete || a->feed_failed != b->feed_failed)
		fail_msg("%s: slicing changed the result: %s '%s' vs %s '%s'", what,
			 err_class_name(a->r.err), buf_str(&a->r.err_msg),
			 err_class_name(b->r.err), buf_str(&b->r.err_msg));
	/* Text counts are reported as the text arrives, whatever the slicing
	 * (a feed that fails reports -1, not the text it added first). */
	if (!a->feed_failed && a->reported != b->reported)
		fail_msg("%s: reported %zu vs %zu text bytes", what, a->reported,
			 b->reported);
}

struct expect {
	const char *fixture;
	int stream;
	enum err_class err;
	const char *text;       /* NULL: not checked */
	const char *finish;
	int64_t in, out;
	const char *msg;        /* a substring of err_msg; NULL: not checked */
};

static void check(const struct expect *x, const struct outcome *o)
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

static void fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct expect *x = &table[i];
		size_t len;
		char *data = fixture_read(x->fixture, &len);
		struct outcome whole, o;
		run(x->stream, 0, data, len, 0, NULL, &whole);
		check(x, &whole);
		run(x->stream, 0, data, len, 1, NULL, &o);
		same_outcome(&whole, &o, x->fixture);
		outcome_release(&o);
		uint64_t rng = 0x9e3779b97f4a7c15ULL + i;
		for (int round = 0; round < 60; round++) {
			size_t step = round % 3 == 0 ? 16384 : round % 3 == 1 ? 64 : 7;
			run(x->stream, 0, data, len, step, &rng, &o);
			same_outcome(&whole, &o, x->fixture);
			outcome_release(&o);
		}
		outcome_release(&whole);
		q_free(data);
	}
}

/* Cut a good response after every byte: the result is the whole answer or
 * a failure, never a shorter answer. */
static void every_cut(void **state)
{
	(void)state;
	static const struct {
		const char *fixture;
		int stream;
		const char *text;
	} cases[] = {
		{"stream_ok_usage.sse", 1, TEXT},
		{"stream_crlf.sse", 1, TEXT},
		{"stream_cr.sse", 1, TEXT},
		{"stream_keepalive.sse", 1, TEXT},
		{"stream_no_usage.sse", 1, TEXT},
		{"chat_ok_usage.json", 0, TEXT_USAGE},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len;
		char *data = fixture_read(cases[c].fixture, &len);
		for (size_t k = 0; k < len; k++) {
			struct outcome o;
			run(cases[c].stream, 0, data, k, 0, NULL, &o);
			if (o.rc == 0) {
				assert_string_equal(buf_str(&o.r.text), cases[c].text);
			} else if (o.r.err != ERR_TRUNCATED) {
				fail_msg("%s cut at %zu: %s '%s'", cases[c].fixture, k,
					 err_class_name(o.r.err), buf_str(&o.r.err_msg));
			}
			outcome_release(&o);
		}
		q_free(data);
	}
}

static void text_cap(void **state)
{
	(void)state;
	static const struct {
		const char *fixture;
		int stream;
	} cases[] = {
		{"stream_ok_usage.sse", 1},
		{"chat_ok_usage.json", 0},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len;
		char *data = fixture_read(cases[c].fixture, &len);
		for (size_t step = 0; step <= 1; step++) {
			struct outcome o;
			run(cases[c].stream, 10, data, len, step, NULL, &o);
			assert_int_equal(o.rc, -1);
			assert_int_equal(o.r.err, ERR_TOO_LARGE);
			/* The message is capped with the text. */
			assert_string_equal(buf_str(&o.r.err_msg), "answer ove");
			assert_true(o.r.text.len <= 10);
			outcome_release(&o);
		}
		/* Exactly at the cap is fine. */
		struct outcome o;
		size_t n = strlen(cases[c].stream ? TEXT : TEXT_USAGE);
		run(cases[c].stream, n, data, len, 1, NULL, &o);
		assert_int_equal(o.rc, 0);
		outcome_release(&o);
		q_free(data);
	}
}

/* A body past its cap fails early, before memory goes. */
static void body_cap(void **state)
{
	(void)state;
	struct chat_result r;
	const struct provider *prov = openai();
	for (int stream = 0; stream <= 1; stream++) {
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
	const char *msg;        /* the whole message */
	int64_t retry_ms;
};

static void error_bodies(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
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
	const struct provider *prov = openai();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *x = &cases[i];
		size_t len = x->body ? strlen(x->body) : 0;
		char *data = x->fixture ? fixture_read(x->fixture, &len) : NULL;
		struct chat_result r;
		chat_result_init(&r, 0);
		prov->parse_error(x->status, data ? data : x->body, len, x->retry_after, &r);
		if (r.err != x->err)
			fail_msg("case %zu: got %s, want %s", i, err_class_name(r.err),
				 err_class_name(x->err));
		assert_int_equal(r.http_status, x->status);
		if (x->msg)
			assert_string_equal(buf_str(&r.err_msg), x->msg);
		assert_int_equal(r.retry_after_ms, x->retry_ms);
		chat_result_release(&r);
		q_free(data);
	}
}

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
		"stream_ok_usage.sse", "stream_crlf.sse", "stream_keepalive.sse",
		"stream_error.sse", "chat_ok_usage.json", "chat_ok.json",
		"err_401.json", "err_429_quota.json", "err_400_vllm.json",
	};
	uint64_t rng = 7;
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *orig = fixture_read(names[f], &len);
		char *d = q_malloc(len + 1);
		d[len] = '\0';
		for (int round = 0; round < 150; round++) {
			memcpy(d, orig, len);
			mutate(d, len, &rng);
			size_t n = round % 5 ? len : rng_next(&rng) % (len + 1);
			struct outcome o;
			run(round % 2, round % 7 ? 0 : 64, d, n, round % 3 ? 13 : 1, &rng, &o);
			outcome_release(&o);
			struct chat_result r;
			chat_result_init(&r, 300);
			openai()->parse_error(400 + round % 200, d, n, d, &r);
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
		struct outcome o;
		run(round % 2, 0, noise, n, 17, &rng, &o);
		outcome_release(&o);
	}
}

/* Every allocation that can fail, failing: an error or the right answer,
 * never a crash or a leak. */
static void alloc_failures(void **state)
{
	(void)state;
	const struct provider *prov = openai();
	static const char *const names[] = {"stream_ok_usage.sse", "chat_ok_usage.json",
					    "err_429_quota.json"};
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *data = fixture_read(names[f], &len);
		for (long n = 1; n < 60; n++) {
			struct chat_result r;
			chat_result_init(&r, 0);
			q_alloc_fail_after(n);
			struct resp_parser *p = prov->parser_new(f == 0, 0);
			int rc = -1;
			if (p) {
				for (size_t i = 0; i < len; i += 5)
					if (prov->parser_feed(p, data + i,
							      len - i < 5 ? len - i : 5, &r) < 0)
						break;
				rc = prov->parser_finish(p, &r);
				prov->parser_free(p);
			}
			if (f == 2)
				prov->parse_error(429, data, len, "1", &r);
			q_alloc_fail_after(0);
			if (!rc && f == 0)
				assert_string_equal(buf_str(&r.text), TEXT);
			chat_result_release(&r);
		}
		q_free(data);
	}
	const char *stop[] = {"a", "b"};
	struct chat_request req = {.model = "m", .system = "s", .prompt = "p\xff",
				   .stop = stop, .nstop = 2, .stream = 1,
				   .params_json = "{\"x\": 1}"};
	for (long n = 1; n < 30; n++) {
		struct http_req out = {0};
		struct qerr e;
		q_alloc_fail_after(n);
		int rc = prov->build(&req, NULL, "sk-k", &out, &e);
		q_alloc_fail_after(0);
		if (rc)
			assert_int_equal(out.nheaders, 0);
		http_req_release(&out);
	}
}

int test_openai_parse(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixtures),
		cmocka_unit_test(every_cut),
		cmocka_unit_test(text_cap),
		cmocka_unit_test(body_cap),
		cmocka_unit_test(error_bodies),
		cmocka_unit_test(error_excerpt),
		cmocka_unit_test(hostile_bytes),
		cmocka_unit_test(alloc_failures),
	};
	return cmocka_run_group_tests_name("openai_parse", tests, NULL, NULL);
}
