/* The network faults over real HTTP, in every wire format: resets at
 * once and midway (an RST, not a FIN), a body that drips, a huge body
 * made as it is sent, an HTML page, an error body under 200, redirects;
 * and `chaos`, which mixes faults at random (seeded) across models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../../common/clock.h"
#include "../../sim/sim.h"
#include "test_http.h"

static const char scenario[] =
	"seed: 3\n"
	"models:\n"
	"  rst: {answer: hello, faults: [{type: reset}]}\n"
	"  rst-late: {answer: hello, faults: [{type: reset, latency: 100ms}]}\n"
	"  rst-mid:\n"
	"    answer: 0123456789abcdefghijklmnopqrstuvwxyz\n"
	"    chunk_chars: 4\n"
	"    faults: [{type: reset, after_chars: 12}]\n"
	"  drip: {answer: abcdefgh, faults: [{type: drip, interval: 5ms}]}\n"
	"  drip-slow: {answer: abcdefgh, faults: [{type: drip}]}\n"
	"  huge: {faults: [{type: huge, bytes: 3000000}]}\n"
	"  html: {faults: [{type: content_type, value: text/html}]}\n"
	"  html502: {faults: [{type: content_type, status: 502}]}\n"
	"  errbody: {faults: [{type: error_body, status: 429}]}\n"
	"  moved: {faults: [{type: redirect}]}\n"
	"  moved301:\n"
	"    faults: [{type: redirect, status: 301, location: 'http://127.0.0.1:1/v1'}]\n";

static int setup(void **state)
{
	struct qerr e = {0};
	struct mock *m = mock_start("faults", scenario, strlen(scenario), 0, &e);
	if (!m)
		fprintf(stderr, "mock_start: %s\n", e.msg);
	*state = m;
	return m ? 0 : -1;
}

static int teardown(void **state)
{
	mock_stop(*state);
	return 0;
}

enum wire { OPENAI, ANTHROPIC, GEMINI, OLLAMA };

/* One chat request for model in a wire format; Gemini streams as SSE
 * unless gemini_array. */
static void ask(struct mock *m, enum wire w, const char *model, int stream,
		long timeout_ms, struct resp *r)
{
	static const char *const hdr[] = {"anthropic-version: 2023-06-01", NULL};
	char path[256], body[512];
	const char *msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
	const char *s = stream ? "true" : "false";
	switch (w) {
	case OPENAI:
	case OLLAMA:
		snprintf(body, sizeof(body), "{\"model\":\"%s\",\"stream\":%s,%s}",
			 model, s, msgs);
		http(mock_port(m), w == OPENAI ? "/v1/chat/completions" : "/api/chat",
		     body, timeout_ms, r);
		return;
	case ANTHROPIC:
		snprintf(body, sizeof(body),
			 "{\"model\":\"%s\",\"max_tokens\":50,\"stream\":%s,%s}", model, s,
			 msgs);
		http_h(mock_port(m), "/v1/messages", hdr, body, timeout_ms, r);
		return;
	case GEMINI:
		snprintf(path, sizeof(path), "/v1beta/models/%s:%s", model,
			 stream ? "streamGenerateContent?alt=sse" : "generateContent");
		http(mock_port(m), path,
		     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}",
		     timeout_ms, r);
		return;
	}
}

/* Waits up to 2 s for nothing in flight. */
static void settle(struct mock *m, struct mock_stats *st)
{
	for (int i = 0; i < 200; i++) {
		mock_get_stats(m, st);
		if (st->in_flight == 0)
			return;
		usleep(10000);
	}
}

/* ---- resets ---- */

static void test_reset_at_once(void **state)
{
	struct mock *m = *state;
	for (int w = OPENAI; w <= OLLAMA; w++) {
		for (int stream = 0; stream < 2; stream++) {
			struct resp r;
			ask(m, (enum wire)w, "rst", stream, 2000, &r);
			/* An RST, not an orderly close ("empty reply"). */
			assert_int_equal(r.rc, CURLE_RECV_ERROR);
			assert_int_equal(r.status, 0);
			assert_int_equal(r.body.len, 0);
			resp_release(&r);
		}
	}
	struct resp r;
	ask(m, OPENAI, "rst-late", 0, 2000, &r);
	assert_int_equal(r.rc, CURLE_RECV_ERROR);
	assert_true(r.ms >= 90);
	resp_release(&r);
	struct mock_stats st;
	settle(m, &st);
	assert_int_equal(st.completed, 9); /* the server's doing, not aborts */
	assert_int_equal(st.aborted, 0);
	assert_int_equal(mock_fault_count(m, "reset"), 9);
}

static void test_reset_midway(void **state)
{
	struct mock *m = *state;
	struct resp r;
	ask(m, OPENAI, "rst-mid", 0, 2000, &r);
	assert_int_equal(r.rc, CURLE_RECV_ERROR);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 12);
	assert_memory_equal(r.body.data, "{\"id\":\"chatc", 12);
	resp_release(&r);

	for (int w = OPENAI; w <= OLLAMA; w++) {
		ask(m, (enum wire)w, "rst-mid", 1, 2000, &r);
		assert_int_equal(r.rc, CURLE_RECV_ERROR);
		assert_int_equal(r.status, 200);
		const char *b = buf_str(&r.body);
		assert_non_null(strstr(b, "89ab")); /* the pieces up to 12 chars */
		assert_null(strstr(b, "cdef"));
		resp_release(&r);
	}
}

/* ---- drip ---- */

static void test_drip(void **state)
{
	struct mock *m = *state;
	struct resp r;
	ask(m, OPENAI, "drip", 0, 20000, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_non_null(j);
	cJSON_Delete(j);
	/* Every byte after the first waited its interval. */
	assert_true(r.ms >= (int64_t)(r.body.len - 1) * 5);
	resp_release(&r);

	/* One byte a second: a client with a 300 ms timeout has one byte and
	 * gives up; the mock sees it go while it waits for the next. */
	for (int w = OPENAI; w <= OLLAMA; w++) {
		ask(m, (enum wire)w, "drip-slow", w % 2, 300, &r);
		assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body.len, 1);
		assert_true(r.ms < 1000);
		resp_release(&r);
	}
	struct mock_stats st;
	settle(m, &st);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.aborted, 4);
}

/* ---- huge ---- */

static void test_huge_body(void **state)
{
	struct mock *m = *state;
	for (int w = OPENAI; w <= OLLAMA; w++) {
		struct resp r;
		ask(m, (enum wire)w, "huge", 0, 20000, &r);
		assert_int_equal(r.rc, CURLE_OK);
		assert_int_equal(r.status, 200);
		assert_true(r.body.len >= 3000000 && r.body.len < 3000000 + 8192);
		cJSON *j = cJSON_Parse(buf_str(&r.body));
		assert_non_null(j); /* a valid answer, only too big */
		cJSON_Delete(j);
		assert_non_null(strstr(buf_str(&r.body), "lorem ipsum lorem ipsum"));
		resp_release(&r);
	}
}

/* How often `what` is in b. Not strstr in a loop: ASan's strstr measures
 * the whole haystack on every call. */
static int count(const struct buf *b, const char *what)
{
	size_t len = strlen(what);
	int n = 0;
	for (size_t i = 0; i + len <= b->len; i++) {
		if (b->data[i] == what[0] && !memcmp(b->data + i, what, len)) {
			n++;
			i += len - 1;
		}
	}
	return n;
}

static void test_huge_stream(void **state)
{
	struct mock *m = *state;
	struct resp r;
	/* A stream of valid events that ends as the format ends one. */
	static const char *const last[] = {
		[OPENAI] = "data: [DONE]", [ANTHROPIC] = "event: message_stop",
		[GEMINI] = "\"finishReason\":\"STOP\"", [OLLAMA] = "\"done\":true",
	};
	for (int w = OPENAI; w <= OLLAMA; w++) {
		ask(m, (enum wire)w, "huge", 1, 20000, &r);
		assert_int_equal(r.rc, CURLE_OK);
		assert_int_equal(r.status, 200);
		assert_true(r.body.len >= 3000000 && r.body.len < 3000000 + 16384);
		assert_int_equal(count(&r.body, last[w]), 1);
		assert_true(count(&r.body, "lorem ipsum ") > 3000000 / 13);
		resp_release(&r);
	}
	/* Gemini without alt=sse: one JSON array of every piece. */
	http(mock_port(m), "/v1beta/models/huge:streamGenerateContent",
	     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}",
	     20000, &r);
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_non_null(j);
	assert_true(cJSON_GetArraySize(j) > 3000000 / 4500);
	cJSON_Delete(j);
	resp_release(&r);
	assert_int_equal(mock_fault_count(m, "huge"), 5);
}

/* ---- the boxes in between ---- */

static void test_content_type(void **state)
{
	struct mock *m = *state;
	struct resp r;
	for (int stream = 0; stream < 2; stream++) {
		ask(m, OPENAI, "html", stream, 2000, &r);
		assert_int_equal(r.rc, CURLE_OK);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(buf_str(&r.headers), "Content-Type: text/html\r\n"));
		assert_memory_equal(r.body.data, "<!DOCTYPE html>", 15);
		resp_release(&r);
	}
	ask(m, GEMINI, "html502", 0, 2000, &r);
	assert_int_equal(r.status, 502);
	assert_non_null(strstr(buf_str(&r.headers), "text/html; charset=utf-8"));
	assert_non_null(strstr(buf_str(&r.body), "</html>"));
	resp_release(&r);
}

static void test_error_body(void **state)
{
	struct mock *m = *state;
	/* Each format's error shape for a 429, under status 200. */
	static const char *const want[] = {
		[OPENAI] = "\"code\":\"rate_limit_exceeded\"",
		[ANTHROPIC] = "\"type\":\"rate_limit_error\"",
		[GEMINI] = "RESOURCE_EXHAUSTED", [OLLAMA] = "{\"error\":\"",
	};
	for (int w = OPENAI; w <= OLLAMA; w++) {
		struct resp r;
		ask(m, (enum wire)w, "errbody", w % 2, 2000, &r);
		assert_int_equal(r.rc, CURLE_OK);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(buf_str(&r.headers), "application/json"));
		assert_non_null(strstr(buf_str(&r.body), want[w]));
		cJSON *j = cJSON_Parse(buf_str(&r.body));
		assert_non_null(cJSON_GetObjectItem(j, "error"));
		cJSON_Delete(j);
		resp_release(&r);
	}
}

static void test_redirect(void **state)
{
	struct mock *m = *state;
	struct resp r;
	ask(m, OPENAI, "moved", 1, 2000, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 302);
	assert_non_null(strstr(buf_str(&r.headers), "Location: /_mock/moved\r\n"));
	resp_release(&r);
	ask(m, ANTHROPIC, "moved301", 0, 2000, &r);
	assert_int_equal(r.status, 301);
	assert_non_null(strstr(buf_str(&r.headers), "Location: http://127.0.0.1:1/v1\r\n"));
	resp_release(&r);
	assert_int_equal(mock_fault_count(m, "redirect"), 2);
	assert_int_equal(mock_fault_count(m, NULL), 2);

	/* The counters are in /_mock/stats, and a reset zeroes them. */
	http(mock_port(m), "/_mock/stats", NULL, 2000, &r);
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_int_equal(cJSON_GetObjectItem(j, "faults_injected")->valueint, 2);
	cJSON *f = cJSON_GetObjectItem(j, "faults");
	assert_int_equal(cJSON_GetObjectItem(f, "redirect")->valueint, 2);
	assert_int_equal(cJSON_GetArraySize(f), 1);
	cJSON_Delete(j);
	resp_release(&r);
	mock_reset_stats(m);
	assert_int_equal(mock_fault_count(m, NULL), 0);
}

/* ---- chaos ---- */

static const char chaos_scenario[] =
	"seed: 5\n"
	"models:\n"
	"  default: {answer: fine}\n"
	"  own: {answer: fine, faults: [{type: status, status: 418}]}\n"
	"chaos:\n"
	"  rate: 0.4\n"
	"  except: [spared]\n"
	"  faults:\n"
	"    - {type: status, status: 503}\n"
	"    - {type: error_body}\n"
	"    - {type: redirect}\n"
	"    - {type: content_type}\n";

/* The statuses of n requests to each of four models, in order. */
static void chaos_run(struct mock *m, long *statuses, int n)
{
	static const char *const models[] = {"a", "b", "c", "d"};
	for (int i = 0; i < n; i++) {
		struct resp r;
		ask(m, OPENAI, models[i % 4], 0, 2000, &r);
		assert_int_equal(r.rc, CURLE_OK);
		/* error_body: a 200 that is no answer */
		statuses[i] = r.status == 200 && !strstr(buf_str(&r.body), "fine")
				      ? 1 : r.status;
		resp_release(&r);
	}
}

static void test_chaos(void **state)
{
	(void)state;
	enum { N = 400 };
	long s1[N], s2[N];
	struct qerr e = {0};
	struct mock *m = mock_start("chaos", chaos_scenario, strlen(chaos_scenario), 0, &e);
	assert_non_null(m);
	chaos_run(m, s1, N);
	int faulted = 0, seen[3] = {0};
	for (int i = 0; i < N; i++) {
		faulted += s1[i] != 200;
		seen[0] += s1[i] == 503;
		seen[1] += s1[i] == 1;
		seen[2] += s1[i] == 302;
	}
	assert_true(faulted > N * 0.3 && faulted < N * 0.5);
	for (int k = 0; k < 3; k++)
		assert_true(seen[k] > N / 20);
	assert_int_equal(mock_fault_count(m, NULL), faulted);
	assert_true(mock_fault_count(m, "content_type") > N / 20);

	/* A model's own faults come first; chaos spares those in except. */
	struct resp r;
	for (int i = 0; i < 20; i++) {
		ask(m, OPENAI, "own", 0, 2000, &r);
		assert_int_equal(r.status, 418);
		resp_release(&r);
		ask(m, OPENAI, "spared", 0, 2000, &r);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(buf_str(&r.body), "fine"));
		resp_release(&r);
	}
	mock_stop(m);

	/* The same seed, the same faults on the same requests. */
	m = mock_start("chaos", chaos_scenario, strlen(chaos_scenario), 0, &e);
	assert_non_null(m);
	chaos_run(m, s2, N);
	assert_memory_equal(s1, s2, sizeof(s1));
	mock_stop(m);
}

/* ---- the scenario's errors ---- */

static void expect_bad(const char *text, const char *want)
{
	struct qerr e = {0};
	struct mock *m = mock_start("bad.yaml", text, strlen(text), 0, &e);
	assert_null(m);
	if (!strstr(e.msg, want))
		fprintf(stderr, "got: %s\nwant: %s\n", e.msg, want);
	assert_non_null(strstr(e.msg, want));
}

static void test_fault_errors(void **state)
{
	(void)state;
	expect_bad("models:\n  a: {faults: [{type: rest}]}\n",
		   "models.a.faults[0]: unknown fault type 'rest' (did you mean 'reset'?)");
	expect_bad("models:\n  a: {faults: [{type: redirect, status: 200}]}\n",
		   "models.a.faults[0]: a redirect needs a 3xx status, not 200");
	expect_bad("models:\n  a: {faults: [{type: drip, interval: 0}]}\n",
		   "models.a.faults[0].interval: expected a duration above 0");
	expect_bad("models:\n  a: {faults: [{type: huge, bytes: 0}]}\n",
		   "models.a.faults[0].bytes: expected a number from 1");
	expect_bad("models:\n  a: {faults: [{type: huge, byts: 10}]}\n",
		   "unknown key 'byts' (did you mean 'bytes'?)");
	expect_bad("chaos: {rate: 0.5}\n", "chaos: needs a 'rate' and a list of 'faults'");
	expect_bad("chaos: {rate: 2, faults: [{type: reset}]}\n",
		   "chaos.rate: expected a number from 0 to 1");
	expect_bad("chaos: {rate: 0.5, faults: []}\n",
		   "chaos.faults: expected at least one fault");
	expect_bad("chaos: {rate: 0.5, faults: [{type: hung}]}\n",
		   "chaos.faults[0]: unknown fault type 'hung' (did you mean 'hang'?)");
	expect_bad("chaos: {rate: 0.5, fault: []}\n",
		   "chaos: unknown key 'fault' (did you mean 'faults'?)");
	expect_bad("chaos: {rate: 0.5, faults: [{type: hang}], except: a}\n",
		   "chaos.except: expected a list of strings");
}

int test_faults_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
		cmocka_unit_test(test_chaos),
		cmocka_unit_test(test_fault_errors),
	};
	return cmocka_run_group_tests_name("network faults", tests, NULL, NULL);
}
