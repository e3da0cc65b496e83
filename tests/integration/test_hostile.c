/* What adversarial servers and networks do, over real HTTP: a proxy that
 * echoes the key, a kept-alive connection that dies when reused, a server
 * that ignores stream: true, an HTML page under status 200, a body far
 * larger than max_response_bytes, a base_url that expands to a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define KEY "sk-test-REFLECTED-0a1b2c3d4e5f"

static const char scenario[] =
	"models:\n"
	"  echo-error: {latency: 2ms, answer: x, faults: [{type: reflect}]}\n"
	"  echo-answer: {latency: 2ms, answer: \"fine\", faults: [{type: reflect, where: answer}]}\n"
	"  echo-header: {latency: 2ms, answer: \"fine\", faults: [{type: reflect, where: header}]}\n"
	"  dropper: {latency: 2ms, answer: \"kept\", faults: [{type: drop_reused}]}\n"
	"  whole: {latency: 2ms, answer: \"a whole body\", ignore_stream: true}\n"
	"  pretty: {latency: 2ms, answer: \"a pretty body\", ignore_stream: true, pretty: true}\n"
	"  portal: {latency: 2ms, answer: x, faults: [{type: content_type}]}\n"
	"  huge: {latency: 2ms, answer: x, faults: [{type: huge, bytes: 4000000000}]}\n"
	"  slow-429: {latency: 2ms, answer: x, faults: [{type: status, status: 429,"
	" message: \"Rate limit reached for requests\", drip: 15ms}]}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

static void has(const char *text, const char *want)
{
	if (!text || !strstr(text, want))
		fail_msg("expected '%s' in:\n%s", want, text ? text : "(null)");
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *response(struct harness *h, const char *node, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(h_node(h, node), "responses"), i);
}

/* A proxy that echoes the key, in an error, an answer or a header: the
 * key appears in nothing quorum writes (stdout, stderr, report, trace,
 * --verbose). */
static void test_reflected_key_never_leaks(void **state)
{
	struct harness *h = *state;
	static const char *const providers[] = {"openai", "anthropic", "gemini"};
	static const char *const models[] = {"echo-error", "echo-answer", "echo-header"};
	for (size_t p = 0; p < 3; p++) {
		char yaml[2048];
		int n = snprintf(yaml, sizeof(yaml), "version: 1\nmodels:\n");
		for (size_t m = 0; m < 3; m++)
			n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
				      "  %s: {provider: %s, base_url: %s, api_key_env: QKEY,"
				      " model: %s, retries: 0}\n", models[m], providers[p],
				      "BASE_URL", models[m]);
		snprintf(yaml + n, sizeof(yaml) - (size_t)n,
			 "nodes:\n  ask: {kind: generate, models: [echo-error, echo-answer,"
			 " echo-header], prompt: \"{{ query }}\"}\n");
		h_workflow(h, yaml);
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "cd '%s' && QKEY=%s %s run wf.yaml q --verbose "
			 "--trace t.jsonl >out.txt 2>err.txt; QKEY=%s %s run wf.yaml q --json "
			 ">report.json 2>>err.txt", h->dir, KEY, getenv("QUORUM_BIN"), KEY,
			 getenv("QUORUM_BIN"));
		h_sh(cmd);
		static const char *const files[] = {"out.txt", "err.txt", "t.jsonl",
						    "report.json"};
		for (size_t f = 0; f < 4; f++) {
			char path[400];
			snprintf(path, sizeof(path), "%s/%s", h->dir, files[f]);
			char *text = h_read(path);
			assert_non_null(text);
			if (strstr(text, KEY))
				fail_msg("%s: the key is in %s:\n%s", providers[p], files[f], text);
			free(text);
		}
		/* the echo did happen: the masked key is there */
		char path[400];
		snprintf(path, sizeof(path), "%s/report.json", h->dir);
		char *report = h_read(path);
		has(report, "*****");
		free(report);
	}
}

/* libcurl sends a request again when a reused connection died: every
 * request that leaves is an attempt in the report. */
static void test_resent_requests_are_attempts(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  d: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: dropper,"
		      " retries: 0, max_concurrency: 1}\n"
		      "nodes:\n"
		      "  first: {kind: generate, models: [d], prompt: \"{{ query }}\"}\n"
		      "  second: {kind: generate, models: [d], samples: 3,"
		      " prompt: \"{{ nodes.first.output }}\"}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	long attempts = 0;
	for (int i = 0; i < 3; i++)
		attempts += cJSON_GetObjectItem(response(h, "second", i), "attempts")->valueint;
	attempts += cJSON_GetObjectItem(response(h, "first", 0), "attempts")->valueint;
	long served = mock_model_requests(h->mock, "dropper");
	assert_true(served > 4); /* some requests were dropped and sent again */
	assert_int_equal(attempts, served);
	const cJSON *usage = cJSON_GetObjectItem(h->report, "usage");
	assert_int_equal(cJSON_GetObjectItem(usage, "calls")->valueint, served);
}

/* A JSON body when a stream was asked for is read whole, by its
 * Content-Type, in every format; Ollama's pretty-printed one too. */
static void test_json_body_for_stream(void **state)
{
	struct harness *h = *state;
	static const char *const providers[] = {"openai", "anthropic", "gemini", "ollama"};
	for (size_t p = 0; p < 4; p++) {
		char yaml[1024];
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nmodels:\n"
			 "  w: {provider: %s, base_url: %s, api_key_env: \"\", model: whole,"
			 " stream: true}\n"
			 "  p: {provider: %s, base_url: %s, api_key_env: \"\", model: pretty,"
			 " stream: true}\n"
			 "nodes:\n  ask: {kind: generate, models: [w, p], prompt: \"{{ query }}\"}\n",
			 providers[p], "BASE_URL", providers[p],
			 "BASE_URL");
		h_workflow(h, yaml);
		if (strcmp(h_run(h, "q", NULL), "ok"))
			fail_msg("%s: %s", providers[p], h->report_text);
		assert_string_equal(str_of(response(h, "ask", 0), "text"), "a whole body");
		assert_string_equal(str_of(response(h, "ask", 1), "text"), "a pretty body");
	}
}

/* An HTML page under 200 is not the provider's format: malformed. */
static void test_html_page_is_malformed(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\nmodels:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: portal,"
		      " retries: 0}\n"
		      "nodes:\n  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	assert_string_equal(h_run(h, "q", NULL), "failed");
	const cJSON *e = cJSON_GetObjectItem(response(h, "ask", 0), "error");
	assert_string_equal(str_of(e, "class"), "malformed");
	has(str_of(e, "message"), "text/html");
}

/* max_response_bytes bounds the bytes received: twenty samples of a 4 GB
 * body each stop at the limit, and the process stays small. */
static void test_response_limit_bounds_bytes(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\nmodels:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: huge,"
		      " retries: 0, max_response_bytes: 1000000}\n"
		      "nodes:\n  ask: {kind: generate, models: [m], samples: 20,"
		      " prompt: \"{{ query }}\"}\n");
	assert_string_equal(h_run(h, "q", NULL), "failed");
	for (int i = 0; i < 20; i++) {
		const cJSON *e = cJSON_GetObjectItem(response(h, "ask", i), "error");
		assert_string_equal(str_of(e, "class"), "too_large");
		has(str_of(e, "message"), "passed 1000000 bytes");
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	assert_true(ru.ru_maxrss < 200 * 1024); /* KiB */
}

/* A 429 whose body is cut by the attempt's timeout is still rate_limited,
 * with what came of the provider's words. */
static void test_cut_429_keeps_its_class(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\nmodels:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		      " model: slow-429, retries: 0, timeout: 1s}\n"
		      "nodes:\n  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	assert_string_equal(h_run(h, "q", NULL), "failed");
	const cJSON *e = cJSON_GetObjectItem(response(h, "ask", 0), "error");
	assert_string_equal(str_of(e, "class"), "rate_limited");
	assert_int_equal(cJSON_GetObjectItem(e, "http_status")->valueint, 429);
	has(str_of(e, "message"), "Rate limit");
	has(str_of(e, "message"), "did not come within 1000 ms");
}

/* A server that answers every connection with a 10 MB header line. */
struct big_header_server {
	int fd, port;
	pthread_t thread;
};

static void *big_header_serve(void *arg)
{
	struct big_header_server *sv = arg;
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "X-Big: ";
	size_t big = 10u << 20;
	char *line = malloc(big);
	memset(line, 'a', big);
	for (;;) {
		int c = accept(sv->fd, NULL, NULL);
		if (c < 0)
			break;
		char req[65536];
		if (recv(c, req, sizeof(req), 0) > 0 &&
		    send(c, head, sizeof(head) - 1, MSG_NOSIGNAL) > 0)
			send(c, line, big, MSG_NOSIGNAL);
		close(c);
	}
	free(line);
	return NULL;
}

static void big_header_start(struct big_header_server *sv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	sv->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(sv->fd >= 0);
	assert_int_equal(bind(sv->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(sv->fd, 8), 0);
	assert_int_equal(getsockname(sv->fd, (struct sockaddr *)&a, &len), 0);
	sv->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&sv->thread, NULL, big_header_serve, sv), 0);
}

static void big_header_stop(struct big_header_server *sv)
{
	shutdown(sv->fd, SHUT_RDWR);
	close(sv->fd);
	pthread_join(sv->thread, NULL);
}

/* A response header far over what anyone sends is too_large, not "out of
 * memory" nor a connection error. */
static void test_huge_header_is_too_large(void **state)
{
	struct harness *h = *state;
	struct big_header_server sv;
	big_header_start(&sv);
	char yaml[512];
	snprintf(yaml, sizeof(yaml), "version: 1\nmodels:\n"
		 "  m: {provider: openai, base_url: \"http://127.0.0.1:%d/v1\", api_key_env: \"\","
		 " model: x, retries: 0}\n"
		 "nodes:\n  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n", sv.port);
	h_workflow(h, yaml);
	assert_string_equal(h_run(h, "q", NULL), "failed");
	big_header_stop(&sv);
	const cJSON *e = cJSON_GetObjectItem(response(h, "ask", 0), "error");
	assert_string_equal(str_of(e, "class"), "too_large");
	has(str_of(e, "message"), "header");
}

/* --limit json_depth bounds the nesting of what a server sends: a
 * response nested deeper is malformed, for this run only. */
static void test_json_depth_limit(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\nmodels:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		      " model: whole, retries: 0}\n"
		      "nodes:\n  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --limit json_depth=2", &out, &err), 1);
	has(err, "not the provider's format");
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml q", &out, &err), 0);
	assert_string_equal(out, "a whole body\n");
	free(out);
	free(err);
}

/* A base_url whose variable expands to another scheme is refused before
 * any call, at the model's line. */
static void test_expanded_url_checked(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\nmodels:\n"
		      "  m: {provider: openai, base_url: \"${QURL:-http://127.0.0.1:1}\","
		      " api_key_env: \"\", model: x}\n"
		      "nodes:\n  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --dry-run >/dev/null 2>&1; QURL=file:///etc/passwd "
			     "$QUORUM_BIN run wf.yaml q", &out, &err), 2);
	has(err, "wf.yaml:3:3: base_url of model 'm' expands to 'file:///etc/passwd'");
	assert_null(strstr(out, "root:"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reflected_key_never_leaks),
		cmocka_unit_test(test_resent_requests_are_attempts),
		cmocka_unit_test(test_json_body_for_stream),
		cmocka_unit_test(test_html_page_is_malformed),
		cmocka_unit_test(test_response_limit_bounds_bytes),
		cmocka_unit_test(test_cut_429_keeps_its_class),
		cmocka_unit_test(test_huge_header_is_too_large),
		cmocka_unit_test(test_json_depth_limit),
		cmocka_unit_test(test_expanded_url_checked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
