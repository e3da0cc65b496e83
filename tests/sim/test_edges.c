/* What a client must survive beyond plain faults, over real HTTP in every
 * wire format: a proxy that echoes the request's credential (in an error,
 * an answer or a header) while the log keeps none; a kept-alive
 * connection that dies when reused, which libcurl answers by sending the
 * request again on a fresh one; a whole JSON body where a stream was
 * asked for, pretty-printed or with another Content-Type. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../../common/clock.h"
#include "../../sim/reply.h"
#include "../../sim/sim.h"
#include "test_http.h"

static const char scenario[] =
	"seed: 9\n"
	"models:\n"
	"  echo-err: {answer: hi, faults: [{type: reflect}]}\n"
	"  echo-403:\n"
	"    answer: hi\n"
	"    faults: [{type: reflect, where: error, status: 403, message: Forbidden key}]\n"
	"  echo-text:\n"
	"    answer: 'The answer.'\n"
	"    chunk_chars: 1000\n"
	"    faults: [{type: reflect, where: answer}]\n"
	"  echo-hdr: {answer: hi, faults: [{type: reflect, where: header}]}\n"
	"  echo-named:\n"
	"    answer: hi\n"
	"    faults: [{type: reflect, where: header, header: X-Debug-Auth, first: 1}]\n"
	"  flaky: {answer: fine, faults: [{type: drop_reused}]}\n"
	"  flaky-once: {answer: fine, faults: [{type: drop_reused, first: 2}]}\n"
	"  flaky-late: {answer: fine, faults: [{type: drop_reused, latency: 150ms}]}\n"
	"  whole: {answer: 'Hello there.', ignore_stream: true}\n"
	"  whole-pretty: {answer: 'Hello there.', ignore_stream: true, pretty: true}\n"
	"  typed: {answer: hi, content_type: 'text/plain; charset=utf-8'}\n";

static int setup(void **state)
{
	struct qerr e = {0};
	struct mock *m = mock_start("edges", scenario, strlen(scenario), 0, &e);
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

enum wire { OPENAI, ANTHROPIC, GEMINI, GEMINI_QUERY, OLLAMA, N_WIRES };

/* The credential each format sends, and how. */
static const char *const secret[N_WIRES] = {
	[OPENAI] = "Bearer sk-test-0penai-SECRET", [ANTHROPIC] = "sk-ant-SECRET-2",
	[GEMINI] = "AIza-header-SECRET-3", [GEMINI_QUERY] = "AIza-query-SECRET-4",
	[OLLAMA] = "Bearer ollama-SECRET-5",
};

/* One chat request with its format's credential; Gemini streams as SSE. */
static void ask(struct mock *m, enum wire w, const char *model, int stream,
		struct resp *r)
{
	char path[256], body[512], auth[128];
	const char *msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
	const char *s = stream ? "true" : "false";
	const char *hdr[3] = {auth, NULL, NULL};
	switch (w) {
	case OPENAI:
	case OLLAMA:
		snprintf(auth, sizeof(auth), "Authorization: %s", secret[w]);
		snprintf(body, sizeof(body), "{\"model\":\"%s\",\"stream\":%s,%s}",
			 model, s, msgs);
		http_h(mock_port(m), w == OPENAI ? "/v1/chat/completions" : "/api/chat",
		       hdr, body, 5000, r);
		return;
	case ANTHROPIC:
		snprintf(auth, sizeof(auth), "x-api-key: %s", secret[w]);
		hdr[1] = "anthropic-version: 2023-06-01";
		snprintf(body, sizeof(body),
			 "{\"model\":\"%s\",\"max_tokens\":50,\"stream\":%s,%s}", model, s,
			 msgs);
		http_h(mock_port(m), "/v1/messages", hdr, body, 5000, r);
		return;
	case GEMINI:
	case GEMINI_QUERY:
		snprintf(auth, sizeof(auth), "x-goog-api-key: %s", secret[w]);
		snprintf(path, sizeof(path), "/v1beta/models/%s:%s%s%s", model,
			 stream ? "streamGenerateContent?alt=sse" : "generateContent",
			 w == GEMINI ? "" : stream ? "&key=" : "?key=",
			 w == GEMINI ? "" : secret[w]);
		http_h(mock_port(m), path, w == GEMINI ? hdr : NULL,
		       "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}",
		       5000, r);
		return;
	case N_WIRES:
		break;
	}
}

/* The request log holds no credential, however the fault echoed it. */
static void expect_log_clean(struct mock *m)
{
	struct resp r;
	http(mock_port(m), "/_mock/requests", NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	for (int w = 0; w < N_WIRES; w++) {
		if (strstr(buf_str(&r.body), secret[w] + (secret[w][0] == 'B' ? 7 : 0)))
			fail_msg("the log keeps the credential %s", secret[w]);
	}
	assert_non_null(strstr(buf_str(&r.body), "\"auth_header\":\"query\""));
	resp_release(&r);
}

/* ---- reflected credentials ---- */

static void test_reflect_error(void **state)
{
	struct mock *m = *state;
	static const char *const type[N_WIRES] = {
		[OPENAI] = "\"code\":\"invalid_api_key\"",
		[ANTHROPIC] = "\"type\":\"authentication_error\"",
		[GEMINI] = "UNAUTHENTICATED", [GEMINI_QUERY] = "UNAUTHENTICATED",
		[OLLAMA] = "{\"error\":",
	};
	for (int w = 0; w < N_WIRES; w++) {
		for (int stream = 0; stream < 2; stream++) {
			struct resp r;
			ask(m, (enum wire)w, "echo-err", stream, &r);
			assert_int_equal(r.rc, CURLE_OK);
			assert_int_equal(r.status, 401);
			assert_non_null(strstr(buf_str(&r.headers), "application/json"));
			char want[160];
			snprintf(want, sizeof(want), "Incorrect API key provided: %s", secret[w]);
			if (!strstr(buf_str(&r.body), want) || !strstr(buf_str(&r.body), type[w]))
				fail_msg("format %d: %s", w, buf_str(&r.body));
			cJSON *j = cJSON_Parse(buf_str(&r.body));
			assert_non_null(cJSON_GetObjectItem(j, "error"));
			cJSON_Delete(j);
			resp_release(&r);
		}
	}
	struct resp r;
	ask(m, ANTHROPIC, "echo-403", 0, &r);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(buf_str(&r.body), "\"message\":\"Forbidden key: sk-ant-SECRET-2\""));
	assert_non_null(strstr(buf_str(&r.body), "permission_error"));
	resp_release(&r);
	/* No credential: the echo says so. */
	http(mock_port(m), "/v1/chat/completions",
	     "{\"model\":\"echo-err\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	     5000, &r);
	assert_non_null(strstr(buf_str(&r.body), "Incorrect API key provided: (none)"));
	resp_release(&r);
	assert_int_equal(mock_fault_count(m, "reflect"), 2 * N_WIRES + 2);
	expect_log_clean(m);
}

/* The answer's text, from a whole body or a stream's events (the echo
 * model sends its text in one piece). */
static void test_reflect_answer(void **state)
{
	struct mock *m = *state;
	for (int w = 0; w < N_WIRES; w++) {
		for (int stream = 0; stream < 2; stream++) {
			struct resp r;
			ask(m, (enum wire)w, "echo-text", stream, &r);
			assert_int_equal(r.status, 200);
			char want[160];
			snprintf(want, sizeof(want), "Credential received: %s\\n\\nThe answer.",
				 secret[w]);
			if (!strstr(buf_str(&r.body), want))
				fail_msg("format %d, stream %d: %s", w, stream, buf_str(&r.body));
			resp_release(&r);
		}
	}
	expect_log_clean(m);
}

static void test_reflect_header(void **state)
{
	struct mock *m = *state;
	for (int w = 0; w < N_WIRES; w++) {
		for (int stream = 0; stream < 2; stream++) {
			struct resp r;
			ask(m, (enum wire)w, "echo-hdr", stream, &r);
			assert_int_equal(r.status, 200);
			char want[160];
			snprintf(want, sizeof(want), "X-Echo-Key: %s\r\n", secret[w]);
			if (!strstr(buf_str(&r.headers), want))
				fail_msg("format %d: %s", w, buf_str(&r.headers));
			assert_non_null(strstr(buf_str(&r.body), "hi"));
			resp_release(&r);
		}
	}
	/* Its own header name, on the first request only. */
	struct resp r;
	ask(m, OPENAI, "echo-named", 1, &r);
	assert_non_null(strstr(buf_str(&r.headers),
			       "X-Debug-Auth: Bearer sk-test-0penai-SECRET\r\n"));
	resp_release(&r);
	ask(m, OPENAI, "echo-named", 1, &r);
	assert_null(strstr(buf_str(&r.headers), "X-Debug-Auth"));
	resp_release(&r);
	expect_log_clean(m);
}

/* ---- a kept-alive connection that dies on reuse ---- */

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

/* One POST on c, which keeps its connection between calls. Returns the
 * connections curl opened for it. */
static long post_on(CURL *c, int port, const char *model, struct resp *r)
{
	char url[128], body[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/chat/completions", port);
	snprintf(body, sizeof(body), "{\"model\":\"%s\",\"messages\":"
				     "[{\"role\":\"user\",\"content\":\"hi\"}]}", model);
	memset(r, 0, sizeof(*r));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	long fresh = -1;
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &fresh);
	return fresh;
}

static CURL *keepalive_handle(struct curl_slist **h)
{
	CURL *c = curl_easy_init();
	/* As quorum does: no "Expect: 100-continue" (whose interim 100
	 * would be a response byte, and stop curl from retrying). */
	*h = curl_slist_append(NULL, "Expect:");
	*h = curl_slist_append(*h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	return c;
}

/* libcurl 7.88 sends the request again, on a fresh connection, when a
 * reused one closes before any byte of the response: the caller sees one
 * good answer, the server counts two requests. */
static void test_drop_reused_curl(void **state)
{
	struct mock *m = *state;
	struct curl_slist *h;
	CURL *c = keepalive_handle(&h);
	struct resp r;
	long once = 0, sent = 0;
	assert_int_equal(post_on(c, mock_port(m), "flaky", &r), 1);
	assert_int_equal(r.rc, CURLE_OK);
	assert_non_null(strstr(buf_str(&r.body), "fine"));
	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &once);
	resp_release(&r);
	for (int i = 0; i < 3; i++) {
		/* Reused, dropped, sent again on a new connection. */
		assert_int_equal(post_on(c, mock_port(m), "flaky", &r), 1);
		assert_int_equal(r.rc, CURLE_OK);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(buf_str(&r.body), "fine"));
		/* What the caller can see of it: curl counts the
		 * request's bytes twice. */
		curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
		assert_int_equal(sent, 2 * once);
		resp_release(&r);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(h);

	struct mock_stats st;
	mock_get_stats(m, &st);
	assert_int_equal(st.requests, 7); /* 4 answers, 3 drops */
	assert_int_equal(mock_model_requests(m, "flaky"), 7);
	assert_int_equal(mock_fault_count(m, "drop_reused"), 3);
	assert_int_equal(st.connections, 4);
	assert_int_equal(st.completed, 7); /* a drop is the server's doing */
	assert_int_equal(st.aborted, 0);

	/* The log holds every request that came, the drops with no status. */
	http(mock_port(m), "/_mock/requests?model=flaky", NULL, 5000, &r);
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_int_equal(cJSON_GetArraySize(j), 7);
	cJSON *second = cJSON_GetArrayItem(j, 1);
	assert_string_equal(cJSON_GetObjectItem(second, "fault")->valuestring, "drop_reused");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(second, "status")));
	cJSON_Delete(j);
	resp_release(&r);
}

/* `first: 2`: only the model's second request, if it comes on a reused
 * connection; a fault's latency delays the close. */
static void test_drop_reused_conditions(void **state)
{
	struct mock *m = *state;
	struct curl_slist *h;
	CURL *c = keepalive_handle(&h);
	struct resp r;
	for (int i = 0; i < 4; i++) {
		post_on(c, mock_port(m), "flaky-once", &r);
		assert_int_equal(r.status, 200);
		resp_release(&r);
	}
	assert_int_equal(mock_model_requests(m, "flaky-once"), 5);
	assert_int_equal(mock_fault_count(m, "drop_reused"), 1);

	/* On fresh connections every time, the fault never applies. */
	for (int i = 0; i < 3; i++) {
		http(mock_port(m), "/v1/chat/completions",
		     "{\"model\":\"flaky\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
		     5000, &r);
		assert_int_equal(r.status, 200);
		resp_release(&r);
	}
	assert_int_equal(mock_model_requests(m, "flaky"), 3);

	curl_easy_cleanup(c);
	curl_slist_free_all(h);

	c = keepalive_handle(&h);
	post_on(c, mock_port(m), "flaky-late", &r); /* fresh: answered */
	resp_release(&r);
	int64_t t0 = clock_ms();
	post_on(c, mock_port(m), "flaky-late", &r); /* reused: dropped late */
	assert_int_equal(r.status, 200);
	assert_true(clock_ms() - t0 >= 140);
	resp_release(&r);
	assert_int_equal(mock_model_requests(m, "flaky-late"), 3);
	assert_int_equal(mock_fault_count(m, "drop_reused"), 2);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
}

/* Whether got[0..have) holds a whole response with a Content-Length. */
static int response_whole(const char *got, size_t have)
{
	const char *end = strstr(got, "\r\n\r\n"), *cl = strstr(got, "Content-Length: ");
	if (!end || !cl)
		return 0;
	return have >= (size_t)(end + 4 - got) + strtoul(cl + 16, NULL, 10);
}

/* What the client really sees, below curl: the second request on a
 * connection is read, then the connection ends in an orderly close (a
 * FIN, no RST) with not one byte of response. */
static void test_drop_reused_wire(void **state)
{
	struct mock *m = *state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)mock_port(m)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	static const char body[] =
		"{\"model\":\"flaky\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	char req[512], got[4096] = "";
	int n = snprintf(req, sizeof(req),
			 "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(body), body);
	assert_int_equal(send(fd, req, (size_t)n, 0), n);
	size_t have = 0;
	while (!response_whole(got, have)) {
		ssize_t k = recv(fd, got + have, sizeof(got) - 1 - have, 0);
		assert_true(k > 0);
		have += (size_t)k;
		got[have] = '\0';
	}
	assert_int_equal(send(fd, req, (size_t)n, 0), n);
	assert_int_equal(recv(fd, got, sizeof(got), 0), 0); /* EOF, no bytes */
	close(fd);
	assert_int_equal(mock_model_requests(m, "flaky"), 2);
	assert_int_equal(mock_fault_count(m, "drop_reused"), 1);
}

/* ---- a JSON answer to a stream request ---- */

static void test_ignore_stream(void **state)
{
	struct mock *m = *state;
	static const char *const shape[N_WIRES] = {
		[OPENAI] = "\"object\":\"chat.completion\"",
		[ANTHROPIC] = "\"type\":\"message\"",
		[GEMINI] = "\"finishReason\":\"STOP\"",
		[GEMINI_QUERY] = "\"finishReason\":\"STOP\"",
		[OLLAMA] = "\"done\":true",
	};
	for (int w = 0; w < N_WIRES; w++) {
		struct resp r;
		ask(m, (enum wire)w, "whole", 1, &r);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(buf_str(&r.headers), "Content-Type: application/json\r\n"));
		cJSON *j = cJSON_Parse(buf_str(&r.body));
		if (!cJSON_IsObject(j) || !strstr(buf_str(&r.body), shape[w]) ||
		    !strstr(buf_str(&r.body), "\"Hello there.\""))
			fail_msg("format %d: %s", w, buf_str(&r.body));
		cJSON_Delete(j);
		resp_release(&r);
	}
	/* Gemini's stream without alt=sse: one object, not an array. */
	struct resp r;
	http(mock_port(*state), "/v1beta/models/whole:streamGenerateContent",
	     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}", 5000, &r);
	assert_int_equal(r.body.data[0], '{');
	resp_release(&r);
	/* The log says what the request asked. */
	http(mock_port(m), "/_mock/requests?model=whole", NULL, 5000, &r);
	assert_non_null(strstr(buf_str(&r.body), "\"stream\":true"));
	resp_release(&r);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_pretty(void **state)
{
	struct mock *m = *state;
	struct resp r;
	ask(m, OLLAMA, "whole-pretty", 1, &r);
	const char *b = buf_str(&r.body);
	assert_non_null(strstr(buf_str(&r.headers), "Content-Type: application/json\r\n"));
	static const char head[] = "{\n  \"model\": \"whole-pretty\",\n  \"created_at\": ";
	assert_memory_equal(b, head, strlen(head));
	assert_non_null(strstr(b, "\n  \"message\": {\n    \"role\": \"assistant\",\n"
				  "    \"content\": \"Hello there.\"\n  },\n"));
	assert_true(count_lines(b) > 10);
	assert_int_equal(b[r.body.len - 1], '\n');
	cJSON *j = cJSON_Parse(b);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "done")));
	cJSON_Delete(j);
	resp_release(&r);
	/* Every format's whole body. */
	for (int w = 0; w < N_WIRES; w++) {
		ask(m, (enum wire)w, "whole-pretty", w % 2, &r);
		j = cJSON_Parse(buf_str(&r.body));
		assert_non_null(j);
		assert_true(count_lines(buf_str(&r.body)) > 5);
		cJSON_Delete(j);
		resp_release(&r);
	}
}

/* The indenter alone: strings pass untouched, {} and [] stay whole. */
static void test_pretty_text(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_puts(&b, "{\"a\":[],\"b\":{ },\"c\":\"x,y:{\\\"\",\"d\":[1,{\"e\":null}]}");
	assert_int_equal(reply_pretty(&b), 0);
	assert_string_equal(buf_str(&b), "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": \"x,y:{\\\"\",\n"
					 "  \"d\": [\n    1,\n    {\n      \"e\": null\n    }\n  ]\n}\n");
	buf_release(&b);
}

static void test_content_type_setting(void **state)
{
	struct mock *m = *state;
	for (int stream = 0; stream < 2; stream++) {
		struct resp r;
		ask(m, ANTHROPIC, "typed", stream, &r);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(buf_str(&r.headers),
				       "Content-Type: text/plain; charset=utf-8\r\n"));
		assert_non_null(strstr(buf_str(&r.body), "hi"));
		resp_release(&r);
	}
}

/* ---- the scenario's errors ---- */

static void expect_bad(const char *text, const char *want)
{
	struct qerr e = {0};
	struct mock *m = mock_start("bad.yaml", text, strlen(text), 0, &e);
	assert_null(m);
	if (!strstr(e.msg, want))
		fail_msg("got: %s\nwant: %s", e.msg, want);
}

static void test_edge_errors(void **state)
{
	(void)state;
	expect_bad("models:\n  a: {faults: [{type: reflect, where: body}]}\n",
		   "models.a.faults[0].where: expected error, answer or header");
	expect_bad("models:\n  a: {faults: [{type: reflect, where: header, header: 'X Key'}]}\n",
		   "models.a.faults[0].header: expected a header name");
	expect_bad("models:\n  a: {faults: [{type: drop_reuse}]}\n",
		   "unknown fault type 'drop_reuse' (did you mean 'drop_reused'?)");
	expect_bad("models:\n  a: {ignore_steam: true}\n",
		   "models.a: unknown key 'ignore_steam' (did you mean 'ignore_stream'?)");
	expect_bad("models:\n  a: {pretty: 1}\n", "models.a.pretty: expected true or false");
	expect_bad("models:\n  a: {content_type: ''}\n",
		   "models.a.content_type: expected a media type");
}

int test_edges_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reflect_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reflect_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reflect_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_reused_curl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_reused_conditions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_reused_wire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignore_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pretty, setup, teardown),
		cmocka_unit_test(test_pretty_text),
		cmocka_unit_test_setup_teardown(test_content_type_setting, setup, teardown),
		cmocka_unit_test(test_edge_errors),
	};
	return cmocka_run_group_tests_name("proxies and connections", tests, NULL, NULL);
}
