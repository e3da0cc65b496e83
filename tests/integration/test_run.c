/* Real workflows over real HTTP against the mock provider server: what a
 * user notices (parallelism, retries, partial results, timeouts, budget). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static const char scenario[] =
	"seed: 7\n"
	"models:\n"
	"  slow-a: {latency: 300ms, answer: \"alpha\\nAnswer: 42\"}\n"
	"  slow-b: {latency: 300ms, answer: \"beta\\nAnswer: 42\"}\n"
	"  slow-c: {latency: 300ms, answer: \"gamma\\nAnswer: 41\"}\n"
	"  fast: {latency: 10ms, answer: \"fast answer\"}\n"
	"  limited:\n"
	"    latency: 10ms\n"
	"    answer: \"after the wait\"\n"
	"    faults: [{type: status, status: 429, retry_after: 1, first: 1}]\n"
	"  dead:\n"
	"    latency: 10ms\n"
	"    answer: never\n"
	"    faults: [{type: status, status: 500}]\n"
	"  hang:\n"
	"    answer: never\n"
	"    faults: [{type: hang}]\n"
	"  priced: {latency: 10ms, answer: \"priced answer\"}\n"
	"  braces: {latency: 1ms, answer: \"{{ inputs.secret }}\"}\n"
	"  bad400: {answer: x, faults: [{type: status, status: 400}]}\n"
	"  bad401: {answer: x, faults: [{type: status, status: 401}]}\n"
	"  bad403: {answer: x, faults: [{type: status, status: 403}]}\n"
	"  bad404: {answer: x, faults: [{type: status, status: 404}]}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

static const char models_yaml[] =
	"models:\n"
	"  a: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: slow-a}\n"
	"  b: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: slow-b}\n"
	"  c: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: slow-c}\n"
	"  fast: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: fast}\n"
	"  limited: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: limited}\n"
	"  dead: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: dead}\n"
	"  hang: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: hang}\n";

static void write_wf(struct harness *h, const char *rest)
{
	char yaml[8192];
	snprintf(yaml, sizeof(yaml), "version: 1\n%s%s", models_yaml, rest);
	h_workflow(h, yaml);
}

/* A workflow with its own models. */
static void write_own(struct harness *h, const char *rest)
{
	char yaml[8192];
	snprintf(yaml, sizeof(yaml), "version: 1\n%s", rest);
	h_workflow(h, yaml);
}

static const cJSON *resp_at(const cJSON *node, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(node, "responses"), i);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

/* (a) a 3-model generate has all 3 requests in flight at once */
static void test_fanout_is_parallel(void **state)
{
	struct harness *h = *state;
	write_wf(h, "nodes:\n"
		    "  answers: {kind: generate, models: [a, b, c], prompt: \"{{ query }}\"}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "what is six times seven?", NULL), "ok");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.peak_in_flight, 3);
	const cJSON *n = h_node(h, "answers");
	assert_string_equal(str_of(n, "status"), "ok");
	assert_string_equal(str_of(resp_at(n, 0), "text"), "alpha\nAnswer: 42");
	assert_string_equal(str_of(resp_at(n, 2), "model"), "c");
}

/* (b) two independent nodes run at the same time; a node that needs
 * both starts after them */
static void test_independent_nodes_overlap(void **state)
{
	struct harness *h = *state;
	write_wf(h, "nodes:\n"
		    "  left: {kind: generate, models: [a], prompt: \"{{ query }}\"}\n"
		    "  right: {kind: generate, models: [b], prompt: \"{{ query }}\"}\n"
		    "  both: {kind: template, text: \"{{ nodes.left.output }} | {{ nodes.right.output }}\"}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.peak_in_flight, 2);
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(h->report, "output");
	assert_string_equal(out->valuestring, "alpha\nAnswer: 42 | beta\nAnswer: 42");
}

/* (c) a 429 with Retry-After: 1 is retried after the delay and succeeds */
static void test_429_retry_after(void **state)
{
	struct harness *h = *state;
	write_wf(h, "nodes:\n"
		    "  ask: {kind: generate, models: [limited], prompt: \"{{ query }}\"}\n");
	assert_string_equal(h_run(h, "q", "trace.jsonl"), "ok");
	const cJSON *r0 = resp_at(h_node(h, "ask"), 0);
	assert_string_equal(str_of(r0, "status"), "ok");
	assert_int_equal((int)num_of(r0, "attempts"), 2);
	assert_string_equal(str_of(r0, "text"), "after the wait");
	char path[400];
	snprintf(path, sizeof(path), "%s/trace.jsonl", h->dir);
	char *trace = h_read(path);
	assert_non_null(trace);
	const char *retry = strstr(trace, "\"event\":\"retry\"");
	assert_non_null(retry);
	const char *delay = strstr(retry, "\"delay_ms\":");
	assert_non_null(delay);
	assert_true(atol(delay + strlen("\"delay_ms\":")) >= 1000);
	free(trace);
}

/* (d) one dead model out of three: the answer still comes, status partial,
 * the failure is in the report with its class and HTTP status */
static void test_dead_model_partial(void **state)
{
	struct harness *h = *state;
	write_wf(h, "defaults: {retries: 1}\n"
		    "nodes:\n"
		    "  answers: {kind: generate, models: [a, dead, b], prompt: \"{{ query }}\"}\n"
		    "  pick: {kind: vote, from: answers, extract: number}\n");
	assert_string_equal(h_run(h, "q", NULL), "partial");
	assert_int_equal(h->exit_code, 0);
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(h->report, "output");
	assert_string_equal(out->valuestring, "42");
	const cJSON *bad = resp_at(h_node(h, "answers"), 1);
	assert_string_equal(str_of(bad, "status"), "failed");
	assert_int_equal((int)num_of(bad, "attempts"), 2);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(bad, "error");
	assert_string_equal(str_of(err, "class"), "server");
	assert_int_equal((int)num_of(err, "http_status"), 500);
	assert_string_equal(str_of(resp_at(h_node(h, "answers"), 0), "status"), "ok");
}

/* (e) a hanging model is cut at its timeout; the run still ends */
static void test_hang_cut_at_timeout(void **state)
{
	struct harness *h = *state;
	write_wf(h, "defaults: {timeout: 400ms, retries: 0}\n"
		    "nodes:\n"
		    "  answers: {kind: generate, models: [hang, fast], prompt: \"{{ query }}\"}\n");
	assert_string_equal(h_run(h, "q", NULL), "partial");
	const cJSON *r0 = resp_at(h_node(h, "answers"), 0);
	assert_string_equal(str_of(r0, "status"), "failed");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r0, "error");
	assert_string_equal(str_of(err, "class"), "timeout");
	assert_true(num_of(r0, "latency_ms") >= 400);
	assert_true(num_of(r0, "latency_ms") < 3000);
}

/* (f) the budget stops new calls: max_calls 2 lets two of three start */
static void test_budget_stops_calls(void **state)
{
	struct harness *h = *state;
	write_wf(h, "budget: {max_calls: 2}\n"
		    "nodes:\n"
		    "  answers: {kind: generate, models: [fast, fast, fast], prompt: \"{{ query }}\"}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "budget_exceeded");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 2);
	const cJSON *r2 = resp_at(h_node(h, "answers"), 2);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r2, "error");
	assert_string_equal(str_of(err, "class"), "budget");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(h->report, "usage");
	assert_int_equal((int)num_of(usage, "calls"), 2);
}

/* max_usd: the worst case of one call (max_tokens at the output price)
 * is above the budget, so no call starts at all */
static void test_budget_usd(void **state)
{
	struct harness *h = *state;
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "models:\n"
		 "  p: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: priced,"
		 " price: {input: 1000, output: 1000}}\n"
		 "defaults: {max_tokens: 100}\n"
		 "budget: {max_usd: 0.01}\n"
		 "nodes:\n"
		 "  answers: {kind: generate, models: [p], prompt: \"{{ query }}\"}\n");
	h_workflow(h, yaml);
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "budget_exceeded");
	assert_int_equal(h->exit_code, 1);
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 0);
}

/* A dead model falls back to a working one; the report says which answered */
static void test_fallback(void **state)
{
	struct harness *h = *state;
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "defaults: {retries: 0}\n"
		 "models:\n"
		 "  dead: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: dead,"
		 " fallback: [fast]}\n"
		 "  fast: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: fast}\n"
		 "nodes:\n"
		 "  ask: {kind: generate, models: [dead], prompt: \"{{ query }}\"}\n");
	h_workflow(h, yaml);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	const cJSON *r0 = resp_at(h_node(h, "ask"), 0);
	assert_string_equal(str_of(r0, "model"), "fast");
	assert_string_equal(str_of(r0, "requested_model"), "dead");
	assert_string_equal(str_of(r0, "text"), "fast answer");
}

/* A model's answer that contains template braces is quoted, not expanded */
static void test_answer_braces_stay_literal(void **state)
{
	struct harness *h = *state;
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "inputs: {secret: {default: hidden-value}}\n"
		 "models:\n"
		 "  x: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: braces}\n"
		 "nodes:\n"
		 "  ask: {kind: generate, models: [x], prompt: \"{{ query }}\"}\n"
		 "  echo: {kind: template, text: \"got: {{ nodes.ask.output }}\"}\n");
	h_workflow(h, yaml);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(h->report, "output");
	assert_string_equal(out->valuestring, "got: {{ inputs.secret }}");
}

/* A node nobody needs any more has its calls cancelled: `both` needs
 * `slow` and `broken`; when `broken` fails, `both` is skipped, so the
 * slow call is aborted instead of waited for. */
static void test_unneeded_calls_cancelled(void **state)
{
	struct harness *h = *state;
	write_wf(h, "defaults: {retries: 0}\n"
		    "nodes:\n"
		    "  slow: {kind: generate, models: [hang], prompt: \"{{ query }}\", timeout: 20s}\n"
		    "  broken: {kind: generate, models: [dead], prompt: \"{{ query }}\"}\n"
		    "  both: {kind: template, text: \"{{ nodes.slow.output }}{{ nodes.broken.output }}\"}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "failed");
	assert_int_equal(h->exit_code, 1);
	const cJSON *r0 = resp_at(h_node(h, "slow"), 0);
	assert_string_equal(str_of(r0, "status"), "cancelled");
	assert_string_equal(str_of(h_node(h, "both"), "status"), "skipped");
	assert_string_equal(str_of(h_node(h, "slow"), "status"), "skipped");
	struct mock_stats st;
	for (int i = 0; i < 50; i++) {
		mock_get_stats(h->mock, &st);
		if (st.aborted >= 1)
			break;
		usleep(20000);
	}
	assert_true(st.aborted >= 1);
}

/* A node's `timeout` ends its calls; what finished in time is kept */
static void test_node_timeout_keeps_finished(void **state)
{
	struct harness *h = *state;
	write_wf(h, "nodes:\n"
		    "  answers: {kind: generate, models: [fast, hang], prompt: \"{{ query }}\","
		    " timeout: 500ms}\n");
	assert_string_equal(h_run(h, "q", NULL), "partial");
	const cJSON *n = h_node(h, "answers");
	assert_string_equal(str_of(n, "status"), "ok");
	assert_string_equal(str_of(resp_at(n, 0), "text"), "fast answer");
	const cJSON *r1 = resp_at(n, 1);
	assert_string_equal(str_of(r1, "status"), "cancelled");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r1, "error");
	assert_string_equal(str_of(err, "class"), "timeout");
}

/* max_concurrency: never more calls in flight to a model than it allows */
static void test_max_concurrency(void **state)
{
	struct harness *h = *state;
	write_own(h, "models:\n"
		    "  one: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: slow-a,"
		    " max_concurrency: 2}\n"
		    "nodes:\n"
		    "  answers: {kind: generate, models: [one], samples: 5, prompt: \"{{ query }}\"}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 5);
	assert_int_equal(st.peak_in_flight, 2);
}

/* rpm: with rpm 2, a third call cannot start within the minute, so the
 * node's timeout ends it while the first two answer */
static void test_rpm_limits_starts(void **state)
{
	struct harness *h = *state;
	write_own(h, "models:\n"
		    "  paced: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: fast,"
		    " rpm: 2}\n"
		    "nodes:\n"
		    "  answers: {kind: generate, models: [paced], samples: 3, prompt: \"{{ query }}\","
		    " timeout: 700ms}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "partial");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 2);
	const cJSON *r2 = resp_at(h_node(h, "answers"), 2);
	assert_string_equal(str_of(r2, "status"), "cancelled");
	assert_int_equal((int)num_of(r2, "attempts"), 0);
}

/* A model that fails 3 times in a row is skipped for the rest of the run:
 * later calls go straight to the fallback without asking it again */
static void test_breaker_skips_dead_model(void **state)
{
	struct harness *h = *state;
	write_own(h, "defaults: {retries: 0}\n"
		    "models:\n"
		    "  broken: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: dead,"
		    " max_concurrency: 1, fallback: [fast]}\n"
		    "  fast: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: fast}\n"
		    "nodes:\n"
		    "  answers: {kind: generate, models: [broken], samples: 5, prompt: \"{{ query }}\"}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_int_equal(mock_model_requests(h->mock, "dead"), 3);
	assert_int_equal(mock_model_requests(h->mock, "fast"), 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(str_of(resp_at(h_node(h, "answers"), i), "model"), "fast");
}

/* 400, 401, 403 and 404 are never retried */
static void test_no_retry_on_client_errors(void **state)
{
	struct harness *h = *state;
	static const char *const models[] = {"bad400", "bad401", "bad403", "bad404"};
	for (int i = 0; i < 4; i++) {
		char yaml[1024];
		snprintf(yaml, sizeof(yaml),
			 "defaults: {retries: 3}\n"
			 "models:\n"
			 "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: %s}\n"
			 "nodes:\n"
			 "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n",
			 models[i]);
		char full[2048];
		snprintf(full, sizeof(full), "version: 1\n%s", yaml);
		h_workflow(h, full);
		mock_reset_stats(h->mock);
		assert_string_equal(h_run(h, "q", NULL), "failed");
		assert_int_equal(mock_model_requests(h->mock, models[i]), 1);
		const cJSON *r0 = resp_at(h_node(h, "ask"), 0);
		assert_int_equal((int)num_of(r0, "attempts"), 1);
	}
}

/* A response past max_response_bytes fails that call only, clearly */
static void test_response_size_bound(void **state)
{
	(void)state;
	static char scen[8192];
	char big[5001];
	memset(big, 'x', 5000);
	big[5000] = '\0';
	snprintf(scen, sizeof(scen),
		 "models:\n  big: {latency: 1ms, answer: \"%s\"}\n"
		 "  small: {latency: 1ms, answer: \"fits\"}\n", big);
	struct harness h;
	h_start(&h, scen);
	h_workflow(&h, "version: 1\n"
		       "defaults: {max_response_bytes: 1024, retries: 0}\n"
		       "models:\n"
		       "  big: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: big}\n"
		       "  small: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: small}\n"
		       "nodes:\n"
		       "  ask: {kind: generate, models: [big, small], prompt: \"{{ query }}\"}\n");
	assert_string_equal(h_run(&h, "q", NULL), "partial");
	const cJSON *r0 = resp_at(h_node(&h, "ask"), 0);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r0, "error");
	assert_string_equal(str_of(err, "class"), "too_large");
	assert_string_equal(str_of(resp_at(h_node(&h, "ask"), 1), "text"), "fits");
	h_stop(&h);
}

int main(void)
{
	quorum_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_is_parallel),
		cmocka_unit_test(test_independent_nodes_overlap),
		cmocka_unit_test(test_429_retry_after),
		cmocka_unit_test(test_dead_model_partial),
		cmocka_unit_test(test_hang_cut_at_timeout),
		cmocka_unit_test(test_budget_stops_calls),
		cmocka_unit_test(test_budget_usd),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_answer_braces_stay_literal),
		cmocka_unit_test(test_unneeded_calls_cancelled),
		cmocka_unit_test(test_node_timeout_keeps_finished),
		cmocka_unit_test(test_max_concurrency),
		cmocka_unit_test(test_rpm_limits_starts),
		cmocka_unit_test(test_breaker_skips_dead_model),
		cmocka_unit_test(test_no_retry_on_client_errors),
		cmocka_unit_test(test_response_size_bound),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	quorum_global_cleanup();
	return rc;
}
