/* The mock provider server over real HTTP on a free loopback port: the
 * OpenAI wire format, faults, latency without blocked threads, counters,
 * and the scenario loader's errors. The other formats: test_wire.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "../../common/buf.h"
#include "../../common/clock.h"
#include "../../sim/sim.h"
#include "test_http.h"

static const char scenario[] =
	"seed: 1\n"
	"models:\n"
	"  fixed: {answer: 'The fixed answer, said in pieces.', chunk_chars: 5}\n"
	"  cycle: {answers: [one, two]}\n"
	"  rl:\n"
	"    answer: ok\n"
	"    faults: [{type: status, status: 429, retry_after: 1, first: 1}]\n"
	"  boom: {faults: [{type: status, status: 500}]}\n"
	"  every3: {answer: ok, faults: [{type: status, status: 503, every: 3}]}\n"
	"  mal: {answer: hello, faults: [{type: malformed}]}\n"
	"  cut:\n"
	"    answer: 0123456789abcdefghijklmnopqrstuvwxyz\n"
	"    chunk_chars: 4\n"
	"    faults: [{type: cut, after_chars: 12}]\n"
	"  hang: {faults: [{type: hang}]}\n"
	"  slow: {answer: slow, latency: 300ms}\n"
	"  drip: {answer: abcdefghij, chunk_chars: 2, chunk_delay: 60ms}\n"
	"  acc: {accuracy: 0.7}\n"
	"  quiet: {answer: hush, usage: false}\n"
	"  slowf: {answer: x, faults: [{type: slow, latency: 400ms, every: 2}]}\n"
	"  flaky: {answer: ok, faults: [{type: status, status: 500, rate: 0.5}]}\n"
	"  utf: {answer: 'na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 \xe2\x98\x83\xe2\x98\x83', chunk_chars: 3}\n"
	"bank:\n"
	"  - q: What is the capital of Australia?\n"
	"    a: Canberra is the capital of Australia.\n"
	"    short: Canberra\n"
	"    wrong: [Sydney, Melbourne]\n";

/* A chat request body for model with one user message. */
static char *chat_body(const char *model, const char *question, int stream,
		       int include_usage)
{
	static char b[1024];
	snprintf(b, sizeof(b),
		 "{\"model\":\"%s\",\"stream\":%s,%s\"messages\":["
		 "{\"role\":\"system\",\"content\":\"Be brief.\"},"
		 "{\"role\":\"user\",\"content\":\"%s\"}]}",
		 model, stream ? "true" : "false",
		 include_usage ? "\"stream_options\":{\"include_usage\":true}," : "",
		 question);
	return b;
}

static void chat(int port, const char *model, int stream, struct resp *r)
{
	http(port, "/v1/chat/completions", chat_body(model, "hi", stream, 1), 5000, r);
}

static int setup(void **state)
{
	struct qerr e = {0};
	struct mock *m = mock_start("test", scenario, strlen(scenario), 0, &e);
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

static int port_of(void **state) { return mock_port(*state); }

/* Waits up to 2 s for the stats to show `aborted` aborts and nothing in
 * flight: MHD reports a closed connection a moment after the client. */
static void wait_settled(struct mock *m, long aborted, struct mock_stats *st)
{
	for (int i = 0; i < 200; i++) {
		mock_get_stats(m, st);
		if (st->aborted >= aborted && st->in_flight == 0)
			return;
		usleep(10000);
	}
}

/* ---- the wire format ---- */

static void test_fixed_json(void **state)
{
	struct resp r;
	chat(port_of(state), "fixed", 0, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(buf_str(&r.headers), "application/json"));
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring,
			    "chat.completion");
	assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "fixed");
	assert_non_null(strstr(cJSON_GetObjectItem(j, "id")->valuestring, "chatcmpl-"));
	cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
	cJSON *msg = cJSON_GetObjectItem(ch, "message");
	assert_string_equal(cJSON_GetObjectItem(msg, "role")->valuestring, "assistant");
	assert_string_equal(cJSON_GetObjectItem(msg, "content")->valuestring,
			    "The fixed answer, said in pieces.");
	assert_string_equal(cJSON_GetObjectItem(ch, "finish_reason")->valuestring, "stop");
	cJSON *u = cJSON_GetObjectItem(j, "usage");
	int pt = cJSON_GetObjectItem(u, "prompt_tokens")->valueint;
	int ct = cJSON_GetObjectItem(u, "completion_tokens")->valueint;
	assert_true(pt > 0 && ct > 0);
	assert_int_equal(cJSON_GetObjectItem(u, "total_tokens")->valueint, pt + ct);
	cJSON_Delete(j);
	resp_release(&r);

	http(port_of(state), "/v1/chat/completions", chat_body("quiet", "hi", 0, 0),
	     5000, &r);
	j = cJSON_Parse(buf_str(&r.body));
	assert_non_null(j);
	assert_null(cJSON_GetObjectItem(j, "usage"));
	cJSON_Delete(j);
	resp_release(&r);
}

/* Splits an SSE body into its `data:` payloads; checks the framing. */
static int sse_split(const char *body, char **out, int max)
{
	int n = 0;
	const char *p = body;
	while (*p && n < max) {
		assert_memory_equal(p, "data: ", 6);
		const char *end = strstr(p, "\n\n");
		assert_non_null(end);
		out[n++] = strndup(p + 6, (size_t)(end - p - 6));
		p = end + 2;
	}
	return n;
}

static void sse_free(char **ev, int n)
{
	for (int i = 0; i < n; i++)
		free(ev[i]);
}

static void check_stream(const char *body, int want_usage, const char *want_text)
{
	char *ev[64];
	int n = sse_split(body, ev, 64);
	assert_true(n >= 4);
	assert_string_equal(ev[n - 1], "[DONE]");
	char text[256] = "";
	int finish = 0, usage = 0;
	for (int i = 0; i < n - 1; i++) {
		cJSON *j = cJSON_Parse(ev[i]);
		assert_non_null(j);
		assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring,
				    "chat.completion.chunk");
		cJSON *choices = cJSON_GetObjectItem(j, "choices");
		cJSON *ch = cJSON_GetArrayItem(choices, 0);
		if (!ch) {
			/* The usage chunk: empty choices, last before [DONE]. */
			assert_int_equal(i, n - 2);
			cJSON *u = cJSON_GetObjectItem(j, "usage");
			assert_true(cJSON_GetObjectItem(u, "total_tokens")->valueint > 0);
			usage = 1;
		} else {
			cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "delta"), "content");
			if (cJSON_IsString(c))
				strcat(text, c->valuestring);
			cJSON *f = cJSON_GetObjectItem(ch, "finish_reason");
			if (cJSON_IsString(f)) {
				assert_string_equal(f->valuestring, "stop");
				finish = 1;
			}
		}
		cJSON_Delete(j);
	}
	assert_string_equal(text, want_text);
	assert_true(finish);
	assert_int_equal(usage, want_usage);
	sse_free(ev, n);
}

static void test_fixed_stream(void **state)
{
	struct resp r;
	chat(port_of(state), "fixed", 1, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(buf_str(&r.headers), "text/event-stream"));
	check_stream(buf_str(&r.body), 1, "The fixed answer, said in pieces.");
	resp_release(&r);

	http(port_of(state), "/chat/completions", chat_body("fixed", "hi", 1, 0), 5000, &r);
	assert_int_equal(r.status, 200);
	check_stream(buf_str(&r.body), 0, "The fixed answer, said in pieces.");
	resp_release(&r);
}

static void test_stream_delay(void **state)
{
	struct resp r;
	chat(port_of(state), "drip", 1, &r);
	assert_int_equal(r.rc, CURLE_OK);
	check_stream(buf_str(&r.body), 1, "abcdefghij");
	/* Five pieces, four gaps of 60 ms. */
	assert_true(r.ms >= 230);
	assert_true(r.ms < 2000);
	resp_release(&r);
}

static void test_answers_cycle(void **state)
{
	const char *want[] = {"one", "two", "one"};
	for (int i = 0; i < 3; i++) {
		struct resp r;
		chat(port_of(state), "cycle", 0, &r);
		cJSON *j = cJSON_Parse(buf_str(&r.body));
		cJSON *msg = cJSON_GetObjectItem(
			cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
		assert_string_equal(cJSON_GetObjectItem(msg, "content")->valuestring, want[i]);
		cJSON_Delete(j);
		resp_release(&r);
	}
}

/* ---- faults ---- */

static void check_error(const struct resp *r, int status, const char *type)
{
	assert_int_equal(r->status, status);
	cJSON *j = cJSON_Parse(buf_str(&r->body));
	assert_non_null(j);
	cJSON *err = cJSON_GetObjectItem(j, "error");
	assert_true(cJSON_IsString(cJSON_GetObjectItem(err, "message")));
	assert_string_equal(cJSON_GetObjectItem(err, "type")->valuestring, type);
	assert_non_null(cJSON_GetObjectItem(err, "code"));
	cJSON_Delete(j);
}

static void test_rate_limit_then_ok(void **state)
{
	struct resp r;
	chat(port_of(state), "rl", 0, &r);
	check_error(&r, 429, "requests");
	assert_non_null(strstr(buf_str(&r.headers), "Retry-After: 1\r\n"));
	resp_release(&r);
	chat(port_of(state), "rl", 0, &r);
	assert_int_equal(r.status, 200);
	resp_release(&r);
}

static void test_server_errors(void **state)
{
	struct resp r;
	chat(port_of(state), "boom", 1, &r);
	check_error(&r, 500, "server_error");
	resp_release(&r);
	int statuses[6];
	for (int i = 0; i < 6; i++) {
		chat(port_of(state), "every3", 0, &r);
		statuses[i] = (int)r.status;
		resp_release(&r);
	}
	int want[6] = {200, 200, 503, 200, 200, 503};
	assert_memory_equal(statuses, want, sizeof(want));
}

static void test_slow_fault(void **state)
{
	struct resp r;
	chat(port_of(state), "slowf", 0, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.ms < 300);
	resp_release(&r);
	chat(port_of(state), "slowf", 0, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.ms >= 390);
	resp_release(&r);
}

static void flaky_statuses(int port, int n, int *out)
{
	for (int i = 0; i < n; i++) {
		struct resp r;
		chat(port, "flaky", 0, &r);
		out[i] = (int)r.status;
		resp_release(&r);
	}
}

static void test_fault_rate(void **state)
{
	enum { N = 200 };
	int first[N], again[30], errors = 0;
	flaky_statuses(port_of(state), N, first);
	for (int i = 0; i < N; i++) {
		assert_true(first[i] == 200 || first[i] == 500);
		errors += first[i] == 500;
	}
	assert_in_range(errors, 70, 130);
	/* Seeded: a restarted server fails the same requests. */
	mock_stop(*state);
	assert_int_equal(setup(state), 0);
	flaky_statuses(port_of(state), 30, again);
	assert_memory_equal(first, again, sizeof(again));
}

static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2
			: (*p >> 3) == 30 ? 3 : -1;
		if (n < 0)
			return 0;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

static void test_utf8_pieces(void **state)
{
	struct resp r;
	chat(port_of(state), "utf", 1, &r);
	assert_int_equal(r.status, 200);
	char *ev[64];
	int n = sse_split(buf_str(&r.body), ev, 64);
	for (int i = 0; i < n - 1; i++) {
		cJSON *j = cJSON_Parse(ev[i]);
		cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
		cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "delta"), "content");
		if (cJSON_IsString(c))
			assert_true(utf8_valid(c->valuestring));
		cJSON_Delete(j);
	}
	sse_free(ev, n);
	check_stream(buf_str(&r.body), 1,
		     "na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 \xe2\x98\x83\xe2\x98\x83");
	resp_release(&r);
}

static void test_malformed(void **state)
{
	struct resp r;
	chat(port_of(state), "mal", 0, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_null(j);
	resp_release(&r);

	chat(port_of(state), "mal", 1, &r);
	assert_int_equal(r.rc, CURLE_OK);
	char *ev[16];
	int n = sse_split(buf_str(&r.body), ev, 16);
	int bad = 0;
	for (int i = 0; i < n - 1; i++) {
		j = cJSON_Parse(ev[i]);
		bad += j == NULL;
		cJSON_Delete(j);
	}
	assert_int_equal(bad, 1);
	assert_string_equal(ev[n - 1], "[DONE]");
	sse_free(ev, n);
	resp_release(&r);
}

static void test_cut(void **state)
{
	struct resp r;
	chat(port_of(state), "cut", 1, &r);
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	assert_int_equal(r.status, 200);
	const char *b = buf_str(&r.body);
	assert_null(strstr(b, "[DONE]"));
	assert_null(strstr(b, "finish_reason\":\"stop"));
	assert_non_null(strstr(b, "\"89ab\""));  /* pieces up to 12 chars */
	assert_null(strstr(b, "\"cdef\""));
	resp_release(&r);

	chat(port_of(state), "cut", 0, &r);
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	assert_int_equal(r.body.len, 12);
	resp_release(&r);

	struct mock_stats st;
	wait_settled(*state, 0, &st);
	assert_int_equal(st.completed, 2); /* a cut is not a client abort */
	assert_int_equal(st.aborted, 0);
}

static void test_hang(void **state)
{
	for (int i = 0; i < 2; i++) {
		struct resp r;
		http(port_of(state), "/v1/chat/completions",
		     chat_body("hang", "hi", i, 0), 300, &r);
		assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
		assert_true(r.ms < 1000);
		resp_release(&r);
	}
	struct mock_stats st;
	wait_settled(*state, 2, &st);
	assert_int_equal(st.aborted, 2);
	assert_int_equal(st.in_flight, 0);
}

/* ---- concurrency and counters ---- */

/* Runs n requests at once with curl multi; returns the wall time. */
static int64_t run_multi(int port, const char *model, int n, long timeout_ms,
			 struct resp *rs)
{
	CURLM *mh = curl_multi_init();
	int64_t t0 = clock_ms();
	for (int i = 0; i < n; i++)
		curl_multi_add_handle(mh, easy_new(port, "/v1/chat/completions",
						   chat_body(model, "hi", 0, 0),
						   timeout_ms, &rs[i], NULL));
	int running = 1;
	while (running) {
		curl_multi_perform(mh, &running);
		curl_multi_poll(mh, NULL, 0, 100, NULL);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(mh, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			CURL *c = msg->easy_handle;
			CURLcode rc = msg->data.result;
			struct resp *r;
			curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&r);
			curl_multi_remove_handle(mh, c);
			easy_done(c, r, rc, t0);
		}
	}
	curl_multi_cleanup(mh);
	return clock_ms() - t0;
}

static void test_peak_in_flight(void **state)
{
	struct resp rs[5];
	int64_t ms = run_multi(port_of(state), "slow", 5, 5000, rs);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(rs[i].status, 200);
		resp_release(&rs[i]);
	}
	/* Latency parks connections: five 300 ms waits overlap. */
	assert_true(ms >= 290);
	assert_true(ms < 1200);
	struct mock_stats st;
	wait_settled(*state, 0, &st);
	assert_true(st.peak_in_flight >= 5);
	assert_int_equal(st.requests, 5);
	assert_int_equal(st.completed, 5);
	assert_int_equal(mock_model_requests(*state, "slow"), 5);
}

static void test_aborted(void **state)
{
	struct resp rs[3];
	int64_t ms = run_multi(port_of(state), "slow", 3, 100, rs);
	assert_true(ms < 290);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rs[i].rc, CURLE_OPERATION_TIMEDOUT);
		resp_release(&rs[i]);
	}
	/* Seen at once through the hang-up, not when the latency ends. */
	struct mock_stats st;
	wait_settled(*state, 3, &st);
	assert_int_equal(st.aborted, 3);
	assert_int_equal(st.completed, 0);

	struct resp r;
	http(port_of(state), "/v1/chat/completions", chat_body("drip", "hi", 1, 0), 100, &r);
	assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	resp_release(&r);
	wait_settled(*state, 4, &st);
	assert_int_equal(st.aborted, 4);
}

static void test_unknown_model(void **state)
{
	struct resp r;
	chat(port_of(state), "gpt-nonexistent", 0, &r);
	check_error(&r, 404, "invalid_request_error");
	assert_non_null(strstr(buf_str(&r.body), "gpt-nonexistent"));
	assert_non_null(strstr(buf_str(&r.body), "model_not_found"));
	resp_release(&r);
}

static long json_num(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(j, k);
	assert_true(cJSON_IsNumber(v));
	return (long)v->valuedouble;
}

static void test_stats_reset(void **state)
{
	struct resp r;
	chat(port_of(state), "fixed", 0, &r);
	resp_release(&r);
	chat(port_of(state), "cycle", 0, &r);
	resp_release(&r);
	struct mock_stats st;
	mock_get_stats(*state, &st); /* settles; the HTTP view is a snapshot */
	assert_int_equal(st.completed, 2);
	http(port_of(state), "/_mock/stats", NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_non_null(j);
	assert_int_equal(json_num(j, "requests"), 2);
	assert_int_equal(json_num(j, "completed"), 2);
	assert_int_equal(json_num(j, "aborted"), 0);
	assert_int_equal(json_num(j, "in_flight"), 0);
	assert_int_equal(json_num(j, "peak_in_flight"), 1);
	cJSON *models = cJSON_GetObjectItem(j, "models");
	assert_int_equal(json_num(models, "fixed"), 1);
	assert_int_equal(json_num(models, "cycle"), 1);
	cJSON_Delete(j);
	resp_release(&r);

	http(port_of(state), "/_mock/reset", "", 5000, &r);
	assert_int_equal(r.status, 200);
	resp_release(&r);
	mock_get_stats(*state, &st);
	assert_int_equal(st.requests, 0);
	assert_int_equal(st.completed, 0);
	assert_int_equal(mock_model_requests(*state, "fixed"), 0);
	/* Reset restarts the scripts too: `answers` cycles from the top. */
	chat(port_of(state), "cycle", 0, &r);
	assert_non_null(strstr(buf_str(&r.body), "\"content\":\"one\""));
	resp_release(&r);

	http(port_of(state), "/_mock/stats", "{}", 5000, &r);
	assert_int_equal(r.status, 405);
	resp_release(&r);
	http(port_of(state), "/nowhere", NULL, 5000, &r);
	assert_int_equal(r.status, 404);
	resp_release(&r);
}

static void test_request_log(void **state)
{
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer sk-very-secret");
	h = curl_slist_append(h, "Content-Type: application/json");
	struct resp r;
	CURL *c = easy_new(port_of(state), "/v1/chat/completions",
			   chat_body("fixed", "my private prompt", 0, 0), 5000, &r, h);
	easy_done(c, &r, curl_easy_perform(c), clock_ms());
	curl_slist_free_all(h);
	resp_release(&r);
	chat(port_of(state), "cycle", 0, &r);
	resp_release(&r);

	http(port_of(state), "/_mock/requests", NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(buf_str(&r.body), "sk-very-secret"));
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_int_equal(cJSON_GetArraySize(j), 2);
	cJSON *first = cJSON_GetArrayItem(j, 0);
	assert_string_equal(cJSON_GetObjectItem(first, "model")->valuestring, "fixed");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(first, "auth")));
	cJSON *msgs = cJSON_GetObjectItem(first, "messages");
	cJSON *user = cJSON_GetArrayItem(msgs, 1);
	assert_string_equal(cJSON_GetObjectItem(user, "role")->valuestring, "user");
	assert_string_equal(cJSON_GetObjectItem(user, "content")->valuestring,
			    "my private prompt");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "auth")));
	cJSON_Delete(j);
	resp_release(&r);

	http(port_of(state), "/_mock/requests?model=cycle", NULL, 5000, &r);
	j = cJSON_Parse(buf_str(&r.body));
	assert_int_equal(cJSON_GetArraySize(j), 1);
	cJSON_Delete(j);
	resp_release(&r);
}

/* ---- bad input never hurts the server ---- */

static void test_bad_requests(void **state)
{
	static const char *const bodies[] = {
		"", "garbage", "{", "[1,2]", "null", "{\"model\":3}",
		"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
		"{\"model\":\"fixed\"}",
		"{\"model\":\"fixed\",\"messages\":[]}",
		"{\"model\":\"fixed\",\"messages\":{}}",
		"{\"model\":\"fixed\",\"messages\":[3]}",
		"{\"model\":\"fixed\",\"messages\":[{\"content\":\"x\"}]}",
		"{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":7}]}",
		"{\"model\":\"fixed\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\"}]}",
		"{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		struct resp r;
		http(port_of(state), "/v1/chat/completions", bodies[i], 5000, &r);
		if (r.status != 400)
			fprintf(stderr, "body %zu: status %ld\n", i, r.status);
		check_error(&r, 400, "invalid_request_error");
		resp_release(&r);
	}
	/* Deep nesting, then a body past the cap. */
	struct buf deep = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_putc(&deep, '[');
	struct resp r;
	http(port_of(state), "/v1/chat/completions", buf_str(&deep), 5000, &r);
	assert_int_equal(r.status, 400);
	resp_release(&r);
	buf_release(&deep);
	char *big = malloc((17u << 20) + 1);
	memset(big, 'x', 17u << 20);
	big[17u << 20] = '\0';
	http(port_of(state), "/v1/chat/completions", big, 10000, &r);
	free(big);
	check_error(&r, 413, "invalid_request_error");
	resp_release(&r);
	http(port_of(state), "/v1/chat/completions", NULL, 5000, &r);
	assert_int_equal(r.status, 405);
	resp_release(&r);
	/* Content parts are joined; the server still answers. */
	http(port_of(state), "/v1/chat/completions",
	     "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":"
	     "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image_url\"}]}]}",
	     5000, &r);
	assert_int_equal(r.status, 200);
	resp_release(&r);
}

/* ---- the question bank ---- */

static void ask_bank(int port, int n, unsigned char *correct)
{
	for (int i = 0; i < n; i++) {
		struct resp r;
		http(port, "/v1/chat/completions",
		     chat_body("acc", "Quick: What is the capital of Australia?", 0, 0),
		     5000, &r);
		assert_int_equal(r.status, 200);
		const char *b = buf_str(&r.body);
		correct[i] = strstr(b, "\\n\\nAnswer: Canberra\"") != NULL;
		assert_true(correct[i] || strstr(b, "\\n\\nAnswer: Sydney\"") ||
			    strstr(b, "\\n\\nAnswer: Melbourne\""));
		resp_release(&r);
	}
}

static void test_bank_accuracy(void **state)
{
	enum { N = 400 };
	unsigned char first[N], again[N];
	ask_bank(port_of(state), N, first);
	int right = 0;
	for (int i = 0; i < N; i++)
		right += first[i];
	/* accuracy 0.7: the binomial's sd over 400 is 0.023. */
	assert_in_range(right, (int)(0.62 * N), (int)(0.78 * N));

	/* The same seed and counters give the same answers after a restart. */
	mock_stop(*state);
	assert_int_equal(setup(state), 0);
	ask_bank(port_of(state), 40, again);
	assert_memory_equal(first, again, 40);
}

/* ---- lifecycle and scenarios ---- */

static void test_stop_with_hung(void **state)
{
	(void)state;
	struct qerr e = {0};
	struct mock *m = mock_start("test", scenario, strlen(scenario), 0, &e);
	assert_non_null(m);
	CURLM *mh = curl_multi_init();
	struct resp rs[3];
	const char *models[3] = {"hang", "slow", "drip"};
	for (int i = 0; i < 3; i++) {
		curl_multi_add_handle(mh, easy_new(mock_port(m), "/v1/chat/completions",
						   chat_body(models[i], "hi", i == 2, 0),
						   5000, &rs[i], NULL));
	}
	struct mock_stats st = {0};
	int running = 1;
	for (int i = 0; i < 100 && st.in_flight < 3; i++) {
		curl_multi_perform(mh, &running);
		curl_multi_poll(mh, NULL, 0, 10, NULL);
		mock_get_stats(m, &st);
	}
	assert_int_equal(st.in_flight, 3);
	int64_t t0 = clock_ms();
	mock_stop(m);
	assert_true(clock_ms() - t0 < 500);
	while (running) {
		curl_multi_perform(mh, &running);
		curl_multi_poll(mh, NULL, 0, 10, NULL);
	}
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(mh, &left))) {
		CURL *c = msg->easy_handle;
		assert_int_not_equal(msg->data.result, CURLE_OPERATION_TIMEDOUT);
		curl_multi_remove_handle(mh, c);
		curl_easy_cleanup(c);
	}
	for (int i = 0; i < 3; i++)
		resp_release(&rs[i]);
	curl_multi_cleanup(mh);
	mock_stop(NULL);
}

static void expect_bad(const char *text, const char *want, int line)
{
	struct qerr e = {0};
	struct mock *m = mock_start("bad.yaml", text, strlen(text), 0, &e);
	assert_null(m);
	if (!strstr(e.msg, want))
		fprintf(stderr, "got: %s\n", e.msg);
	assert_non_null(strstr(e.msg, want));
	assert_string_equal(e.file, "bad.yaml");
	assert_int_equal(e.line, line);
}

static void test_scenario_errors(void **state)
{
	(void)state;
	expect_bad("models: {a: {latency: 1s}\n", "", 2);
	expect_bad("models:\n  a: {latncy: 1s}\n", "did you mean 'latency'", 0);
	expect_bad("models:\n  a: {latency: soon}\n", "models.a.latency: invalid duration", 0);
	expect_bad("models:\n  a: {accuracy: 1.5}\n", "models.a.accuracy", 0);
	expect_bad("models:\n  a:\n    faults: [{type: staus}]\n",
		   "models.a.faults[0]: unknown fault type 'staus' (did you mean 'status'?)", 0);
	expect_bad("models:\n  a:\n    faults: [{status: 500}]\n", "needs a 'type'", 0);
	expect_bad("models: {a: {}}\nmodels: {}\n", "duplicate key 'models'", 2);
	expect_bad("x: &a 1\ny: *a\n", "aliases are not supported", 2);
	expect_bad("bank: [{a: x}]\n", "bank[0].q", 0);
	expect_bad("- 1\n- 2\n", "expected a mapping", 0);
	expect_bad("{\"models\": [}", "invalid JSON", 0);

	struct qerr e = {0};
	const char *json = "{\"models\": {\"j\": {\"answer\": \"from json\"}}}";
	struct mock *m = mock_start("s.json", json, strlen(json), 0, &e);
	assert_non_null(m);
	struct resp r;
	chat(mock_port(m), "j", 0, &r);
	assert_non_null(strstr(buf_str(&r.body), "from json"));
	resp_release(&r);
	mock_stop(m);

	m = mock_start_file("/nonexistent/scenario.yaml", 0, &e);
	assert_null(m);
	assert_non_null(strstr(e.msg, "cannot open"));
}

static void test_start_file_and_busy_port(void **state)
{
	char path[] = "/tmp/quorum-mock-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, scenario, strlen(scenario)), (ssize_t)strlen(scenario));
	close(fd);
	struct qerr e = {0};
	struct mock *m = mock_start_file(path, 0, &e);
	unlink(path);
	assert_non_null(m);
	struct resp r;
	chat(mock_port(m), "fixed", 0, &r);
	assert_int_equal(r.status, 200);
	resp_release(&r);
	mock_stop(m);

	m = mock_start("test", scenario, strlen(scenario), port_of(state), &e);
	assert_null(m);
	assert_non_null(strstr(e.msg, "cannot listen on 127.0.0.1:"));
}

static void test_sim_scenario(void **state)
{
	(void)state;
	struct qerr e = {0};
	struct mock *m = mock_start("sim", mock_sim_scenario,
				    strlen(mock_sim_scenario), 0, &e);
	if (!m)
		fprintf(stderr, "%s:%d:%d: %s\n", e.file, e.line, e.col, e.msg);
	assert_non_null(m);
	struct resp r;
	http(mock_port(m), "/v1/chat/completions",
	     chat_body("sim-judge", "Why is the sky blue?", 0, 0), 5000, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.ms >= 200 && r.ms < 1500);
	assert_non_null(strstr(buf_str(&r.body), "Answer: "));
	resp_release(&r);
	const char *models[] = {"sim-strong", "sim-medium", "sim-weak", "anything-else"};
	for (int i = 0; i < 4; i++) {
		http(mock_port(m), "/v1/chat/completions",
		     chat_body(models[i], "What is 17 * 23?", 1, 1), 5000, &r);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(buf_str(&r.body), "data: [DONE]"));
		resp_release(&r);
	}
	http(mock_port(m), "/v1/chat/completions",
	     chat_body("sim-strong", "Tell me a story", 0, 0), 5000, &r);
	assert_non_null(strstr(buf_str(&r.body), "sim-strong"));
	resp_release(&r);
	mock_stop(m);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixed_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fixed_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answers_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_then_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peak_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aborted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bank_accuracy, setup, teardown),
		cmocka_unit_test(test_stop_with_hung),
		cmocka_unit_test(test_scenario_errors),
		cmocka_unit_test_setup_teardown(test_start_file_and_busy_port, setup, teardown),
		cmocka_unit_test(test_sim_scenario),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rc |= test_wire_run();
	rc |= test_rules_run();
	rc |= test_corr_run();
	rc |= test_faults_run();
	rc |= test_edges_run();
	rc |= test_generic_run();
	rc |= test_route_run();
	curl_global_cleanup();
	return rc;
}
