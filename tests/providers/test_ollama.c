/* Ollama's native /api/chat: requests as Ollama reads them, and responses
 * from fixture files (tests/fixtures/ollama) fed whole, byte by byte, in
 * two pieces split at every byte and at random split points, all of which
 * must agree; a stream without its "done": true line is never a short
 * answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../providers/provider.h"
#include "feed.h"
#include "util.h"

#define TEXT "Hello! Voil\xc3\xa0: \"blue\"\nsky <\xe2\x98\x80\xef\xb8\x8f> & sea."

static const struct provider *ollama(void)
{
	const struct provider *p = provider_find("ollama");
	assert_non_null(p);
	return p;
}

static char *fixture(const char *name, size_t *len)
{
	return fixture_read_in("ollama", name, len);
}

/* ---- requests ---- */

static void registered(void **state)
{
	(void)state;
	const struct provider *p = ollama();
	assert_string_equal(p->name, "ollama");
	assert_string_equal(p->default_base_url, "http://127.0.0.1:11434");
	assert_null(p->default_key_env);
	int found = 0;
	for (const char *const *n = provider_names(); *n; n++)
		found += !strcmp(*n, "ollama");
	assert_int_equal(found, 1);
}

static void build_ok(const struct chat_request *req, const char *base,
		     const char *key, struct http_req *out)
{
	struct qerr e;
	memset(out, 0, sizeof(*out));
	if (ollama()->build(req, base, key, out, &e))
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

struct expect {
	const char *fixture;
	int stream;
	enum err_class err;
	const char *text;       /* NULL: not checked */
	const char *finish;
	int64_t in, out;
	const char *msg;        /* a substring of err_msg; NULL: not checked */
};

static void check(const struct expect *x, const struct feed_outcome *o)
{
	if (o->r.err != x->err)
		fail_msg("%s (stream %d): got %s '%s', want %s", x->fixture, x->stream,
			 err_class_name(o->r.err), buf_str(&o->r.err_msg),
			 err_class_name(x->err));
	if (x->text)
		assert_string_equal(buf_str(&o->r.text), x->text);
	assert_string_equal(o->r.finish_reason, x->finish);
	assert_int_equal(o->r.input_tokens, x->in);
	assert_int_equal(o->r.output_tokens, x->out);
	if (x->msg && !strstr(buf_str(&o->r.err_msg), x->msg))
		fail_msg("%s: message '%s' lacks '%s'", x->fixture,
			 buf_str(&o->r.err_msg), x->msg);
	if (x->err == ERR_NONE) {
		assert_string_equal(buf_str(&o->r.err_msg), "");
		/* A stream's text is counted as it comes; a whole body's
		 * only exists at the end, as does a last line without its
		 * newline (the .json bodies are one such line). */
		int counted = x->stream && strstr(x->fixture, ".ndjson");
		assert_int_equal(o->reported, counted ? o->r.text.len : 0);
	}
}

static const struct expect table[] = {
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

static void fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct expect *x = &table[i];
		size_t len;
		char *data = fixture(x->fixture, &len);
		struct feed_outcome whole;
		feed_all_slicings(ollama(), x->stream, data, len,
				  0x9e3779b97f4a7c15ULL + i, 30, &whole, x->fixture);
		check(x, &whole);
		feed_outcome_release(&whole);
		q_free(data);
	}
}

/* Cut a good response after every byte: the whole answer or truncated,
 * never a shorter answer. */
static void every_cut(void **state)
{
	(void)state;
	static const struct {
		const char *fixture;
		int stream;
		const char *text;
	} cases[] = {
		{"stream_ok.ndjson", 1, TEXT},
		{"stream_crlf.ndjson", 1, TEXT},
		{"stream_thinking.ndjson", 1, TEXT},
		{"stream_length.ndjson", 1, "One, two, three"},
		{"chat_ok.json", 0, TEXT},
		{"chat_ok.json", 1, TEXT},
		{"stream_ok.ndjson", 0, TEXT},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len;
		char *data = fixture(cases[c].fixture, &len);
		feed_every_cut(ollama(), cases[c].stream, data, len, cases[c].text,
			       cases[c].fixture);
		q_free(data);
	}
}

static void text_cap(void **state)
{
	(void)state;
	for (int stream = 0; stream <= 1; stream++) {
		size_t len;
		char *data = fixture(stream ? "stream_ok.ndjson" : "chat_ok.json", &len);
		for (size_t step = 0; step <= 1; step++) {
			struct feed_outcome o;
			feed_run(ollama(), stream, 10, data, len, step, NULL, &o);
			assert_int_equal(o.rc, -1);
			assert_int_equal(o.r.err, ERR_TOO_LARGE);
			assert_string_equal(buf_str(&o.r.err_msg), "answer ove");
			assert_true(o.r.text.len <= 10);
			feed_outcome_release(&o);
		}
		struct feed_outcome o;
		feed_run(ollama(), stream, strlen(TEXT), data, len, 1, NULL, &o);
		assert_int_equal(o.rc, 0);
		assert_string_equal(buf_str(&o.r.text), TEXT);
		feed_outcome_release(&o);
		q_free(data);
	}
}

/* An endless line or body fails early, before memory goes. */
static void body_cap(void **state)
{
	(void)state;
	const struct provider *prov = ollama();
	for (int stream = 0; stream <= 1; stream++) {
		struct chat_result r;
		chat_result_init(&r, 1);
		struct resp_parser *p = prov->parser_new(stream, 1);
		char junk[4096];
		memset(junk, 'x', sizeof(junk));
		junk[0] = '{';
		int got = 0;
		size_t fed = 0;
		while (got >= 0 && fed < ((size_t)64 << 20)) {
			got = prov->parser_feed(p, junk, sizeof(junk), &r);
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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *x = &cases[i];
		size_t len = x->body ? strlen(x->body) : 0;
		char *data = x->fixture ? fixture(x->fixture, &len) : NULL;
		struct chat_result r;
		chat_result_init(&r, 0);
		ollama()->parse_error(x->status, data ? data : x->body, len,
				      x->retry_after, &r);
		if (r.err != x->err)
			fail_msg("case %zu: got %s, want %s", i, err_class_name(r.err),
				 err_class_name(x->err));
		assert_int_equal(r.http_status, x->status);
		assert_string_equal(buf_str(&r.err_msg), x->msg);
		assert_int_equal(r.retry_after_ms, x->retry_ms);
		chat_result_release(&r);
		q_free(data);
	}
}

static void mutate(char *d, size_t len, uint64_t *rng)
{
	static const char bytes[] = "{}[]\":,\n\r\\ 0a-\xff\xc3";
	int n = 1 + (int)(rng_next(rng) % 8);
	for (int i = 0; i < n && len; i++)
		d[rng_next(rng) % len] = bytes[rng_next(rng) % (sizeof(bytes) - 1)];
}

/* Nothing crashes on any bytes (run under the sanitizers to mean
 * something), and every outcome keeps the contract. */
static void hostile_bytes(void **state)
{
	(void)state;
	static const char *const names[] = {
		"stream_ok.ndjson", "stream_crlf.ndjson", "stream_error_line.ndjson",
		"chat_ok.json", "err_404_model.json", "err_500.json",
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
			feed_run(ollama(), round % 2, round % 7 ? 0 : 64, d, n,
				 round % 3 ? 13 : 1, &rng, &o);
			if (!o.rc && o.r.text.len)
				assert_true(o.r.input_tokens >= -1);
			feed_outcome_release(&o);
			struct chat_result r;
			chat_result_init(&r, 300);
			ollama()->parse_error(400 + round % 200, d, n, d, &r);
			assert_int_not_equal(r.err, ERR_NONE);
			assert_true(r.err_msg.len <= 300);
			chat_result_release(&r);
		}
		q_free(d);
		q_free(orig);
	}
}

/* Every allocation that can fail, failing: an error or the right answer,
 * never a crash or a leak. */
static void alloc_failures(void **state)
{
	(void)state;
	const struct provider *prov = ollama();
	static const char *const names[] = {"stream_ok.ndjson", "chat_ok.json",
					    "err_404_model.json"};
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *data = fixture(names[f], &len);
		for (long n = 1; n < 80; n++) {
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
				prov->parse_error(404, data, len, "1", &r);
			q_alloc_fail_after(0);
			if (!rc && f < 2)
				assert_string_equal(buf_str(&r.text), TEXT);
			chat_result_release(&r);
		}
		q_free(data);
	}
	const char *stop[] = {"a", "b"};
	struct chat_request req = {.model = "m", .system = "s", .prompt = "p\xff",
				   .stop = stop, .nstop = 2, .stream = 1,
				   .has_temperature = 1, .temperature = 1,
				   .has_seed = 1, .seed = 3, .max_tokens = 9,
				   .params_json = "{\"options\": {\"num_ctx\": 1, \"seed\": 2}}"};
	for (long n = 1; n < 60; n++) {
		struct http_req out = {0};
		struct qerr e;
		q_alloc_fail_after(n);
		int rc = prov->build(&req, NULL, "k", &out, &e);
		q_alloc_fail_after(0);
		if (rc)
			assert_int_equal(out.nheaders, 0);
		http_req_release(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registered),
		cmocka_unit_test(build_minimal),
		cmocka_unit_test(build_full),
		cmocka_unit_test(build_params),
		cmocka_unit_test(build_refused),
		cmocka_unit_test(fixtures),
		cmocka_unit_test(every_cut),
		cmocka_unit_test(text_cap),
		cmocka_unit_test(body_cap),
		cmocka_unit_test(error_bodies),
		cmocka_unit_test(hostile_bytes),
		cmocka_unit_test(alloc_failures),
	};
	return cmocka_run_group_tests_name("ollama", tests, NULL, NULL);
}
