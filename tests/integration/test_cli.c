/* The quorum command as a user runs it: exit codes, where output goes,
 * error messages with positions, and keys that never leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define KEY "sk-test-SECRET-9f8e7d6c5b4a"

static const char scenario[] =
	"models:\n"
	"  ok-model: {latency: 20ms, answer: \"the answer\"}\n"
	"  dead: {latency: 5ms, answer: x, faults: [{type: status, status: 401}]}\n"
	"  flaky: {latency: 5ms, answer: \"flaky answer\","
	" faults: [{type: status, status: 500, first: 1}]}\n"
	"  hang: {answer: x, faults: [{type: hang}]}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

static const char *bin(void)
{
	const char *b = getenv("QUORUM_BIN");
	return b ? b : "quorum";
}

static void test_answer_on_stdout_only(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: ok-model}\n"
		      "nodes:\n"
		      "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml 'a question'", &out, &err), 0);
	assert_string_equal(out, "the answer\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
}

static void test_json_report(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: ok-model}\n"
		      "nodes:\n"
		      "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --json", &out, &err), 0);
	cJSON *rep = cJSON_Parse(out);
	assert_non_null(rep);
	assert_string_equal(cJSON_GetObjectItem(rep, "status")->valuestring, "ok");
	assert_string_equal(cJSON_GetObjectItem(rep, "output")->valuestring, "the answer");
	assert_string_equal(cJSON_GetObjectItem(rep, "workflow")->valuestring, "wf");
	cJSON_Delete(rep);
	free(out);
	free(err);
}

/* (g) an API key never appears in stdout, stderr, the report or the trace,
 * even when calls fail and are retried */
static void test_key_never_leaks(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "defaults: {retries: 1}\n"
		      "models:\n"
		      "  good: {provider: openai, base_url: BASE_URL, api_key_env: QT_KEY, model: ok-model}\n"
		      "  bad: {provider: openai, base_url: BASE_URL, api_key_env: QT_KEY, model: dead}\n"
		      "  flaky: {provider: openai, base_url: BASE_URL, api_key_env: QT_KEY, model: flaky}\n"
		      "nodes:\n"
		      "  ask: {kind: generate, models: [good, bad, flaky], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	setenv("QT_KEY", KEY, 1);
	int rc = h_cli(h, "run wf.yaml q --json --trace trace.jsonl", &out, &err);
	unsetenv("QT_KEY");
	assert_int_equal(rc, 0);
	char path[400];
	snprintf(path, sizeof(path), "%s/trace.jsonl", h->dir);
	char *trace = h_read(path);
	assert_non_null(trace);
	assert_non_null(strstr(trace, "\"event\":\"retry\""));
	assert_non_null(strstr(out, "\"status\":\"partial\""));
	assert_null(strstr(out, KEY));
	assert_null(strstr(err, KEY));
	assert_null(strstr(trace, KEY));
	free(out);
	free(err);
	free(trace);
}

static void test_missing_key_refused_before_any_call(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: QT_NOT_SET_KEY,"
		      " model: ok-model}\n"
		      "nodes:\n"
		      "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	unsetenv("QT_NOT_SET_KEY");
	mock_reset_stats(h->mock);
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q", &out, &err), 2);
	assert_non_null(strstr(err, "wf.yaml:3:"));
	assert_non_null(strstr(err, "QT_NOT_SET_KEY"));
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 0);
	free(out);
	free(err);
}

static void test_missing_input(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "inputs:\n"
		      "  doc: {required: true}\n"
		      "nodes:\n"
		      "  t: {kind: template, text: \"{{ inputs.doc }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml", &out, &err), 2);
	assert_non_null(strstr(err, "wf.yaml:3:3: missing required input 'doc'"));
	free(out);
	free(err);
	h_write(h, "doc.txt", "from a file");
	assert_int_equal(h_cli(h, "run wf.yaml --input doc=@doc.txt", &out, &err), 0);
	assert_string_equal(out, "from a file\n");
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml --input doc=inline", &out, &err), 0);
	assert_string_equal(out, "inline\n");
	free(out);
	free(err);
}

static void test_validate_reports_positions(void **state)
{
	struct harness *h = *state;
	h_write(h, "bad.yaml", "version: 1\n"
				  "defaults: {temprature: 0.5}\n"
				  "nodes:\n"
				  "  a: {kind: generate, models: [nope], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "validate bad.yaml", &out, &err), 2);
	assert_non_null(strstr(err, "bad.yaml:2:12: unknown key 'temprature'"));
	assert_non_null(strstr(err, "did you mean 'temperature'?"));
	assert_non_null(strstr(err, "bad.yaml:4:32:"));
	assert_non_null(strstr(err, "'nope'"));
	assert_string_equal(out, "");
	free(out);
	free(err);
}

static void test_validate_ok_prints_worst_case(void **state)
{
	struct harness *h = *state;
	char *out, *err;
	char args[1024];
	snprintf(args, sizeof(args), "validate '%s/workflows/council.yaml'",
		 getenv("QUORUM_SRCDIR"));
	assert_int_equal(h_cli(h, args, &out, &err), 0);
	assert_non_null(strstr(out, "worst case per run: 4 calls"));
	free(out);
	free(err);
}

static void test_graph(void **state)
{
	struct harness *h = *state;
	char *out, *err;
	char args[1024];
	snprintf(args, sizeof(args), "graph '%s/workflows/council.yaml'", getenv("QUORUM_SRCDIR"));
	assert_int_equal(h_cli(h, args, &out, &err), 0);
	assert_non_null(strstr(out, "digraph"));
	assert_non_null(strstr(out, "answers"));
	free(out);
	free(err);
	snprintf(args, sizeof(args), "graph '%s/workflows/council.yaml' --format mermaid",
		 getenv("QUORUM_SRCDIR"));
	assert_int_equal(h_cli(h, args, &out, &err), 0);
	assert_non_null(strstr(out, "flowchart"));
	free(out);
	free(err);
}

static void test_usage_errors(void **state)
{
	struct harness *h = *state;
	char *out, *err;
	assert_int_equal(h_cli(h, "frobnicate", &out, &err), 2);
	assert_non_null(strstr(err, "unknown command 'frobnicate'"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run --help", &out, &err), 0);
	assert_non_null(strstr(out, "usage: quorum run"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run", &out, &err), 2);
	free(out);
	free(err);
}

/* The quick start: the shipped council on the simulated provider */
static void test_sim_council(void **state)
{
	struct harness *h = *state;
	char *out, *err;
	char args[1024];
	snprintf(args, sizeof(args), "run '%s/workflows/council.yaml' 'Why is the sky blue?' --sim",
		 getenv("QUORUM_SRCDIR"));
	assert_int_equal(h_cli(h, args, &out, &err), 0);
	assert_true(strlen(out) > 20);
	free(out);
	free(err);
	snprintf(args, sizeof(args),
		 "run '%s/workflows/self-consistency.yaml' 'What is 17 * 23?' --sim --json",
		 getenv("QUORUM_SRCDIR"));
	assert_int_equal(h_cli(h, args, &out, &err), 0);
	cJSON *rep = cJSON_Parse(out);
	assert_non_null(rep);
	const cJSON *usage = cJSON_GetObjectItem(rep, "usage");
	assert_true(cJSON_GetObjectItem(usage, "calls")->valueint >= 3);
	cJSON_Delete(rep);
	free(out);
	free(err);
	/* A question the simulator's bank does not hold: the council still
	 * answers, and its vote finds the members' "Answer:" lines. */
	snprintf(args, sizeof(args),
		 "run '%s/workflows/council.yaml' 'What is the capital of France?' --sim --json",
		 getenv("QUORUM_SRCDIR"));
	assert_int_equal(h_cli(h, args, &out, &err), 0);
	rep = cJSON_Parse(out);
	assert_non_null(rep);
	assert_string_equal(cJSON_GetObjectItem(rep, "status")->valuestring, "ok");
	const cJSON *vote = cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "nodes"), "agreement");
	assert_non_null(strstr(cJSON_GetObjectItem(vote, "output")->valuestring, "France"));
	cJSON_Delete(rep);
	free(out);
	free(err);
	/* Every other shipped workflow runs end to end on --sim too. */
	static const char *const shipped[] = {"judge", "llm-council", "moa", "cascade",
					      "privacy-route", "plan", "mixed-council"};
	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
		snprintf(args, sizeof(args),
			 "run '%s/workflows/%s.yaml' 'What is the capital of Australia?' --sim",
			 getenv("QUORUM_SRCDIR"), shipped[i]);
		int rc = h_cli(h, args, &out, &err);
		if (rc != 0)
			fail_msg("%s.yaml on --sim exited %d: %s", shipped[i], rc, err);
		assert_true(strlen(out) > 10);
		free(out);
		free(err);
	}
}

/* Ctrl-C: the run ends at once, calls in flight are cancelled, and the
 * report and the trace are still written; exit status 130. */
static void test_interrupt_writes_report(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: ok-model}\n"
		      "  hang: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: hang}\n"
		      "nodes:\n"
		      "  first: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n"
		      "  second: {kind: generate, models: [hang, hang], prompt: \"{{ nodes.first.output }}\"}\n");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && { %s run wf.yaml q --json --trace t.jsonl >out.txt 2>err.txt & pid=$!; "
		 "sleep 0.8; kill -INT $pid; wait $pid; }",
		 h->dir, bin());
	assert_int_equal(h_sh(cmd), 130);
	char path[400];
	snprintf(path, sizeof(path), "%s/out.txt", h->dir);
	char *out = h_read(path);
	cJSON *rep = cJSON_Parse(out);
	assert_non_null(rep);
	assert_string_equal(cJSON_GetObjectItem(rep, "status")->valuestring, "interrupted");
	const cJSON *first = cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "nodes"), "first");
	assert_string_equal(cJSON_GetObjectItem(first, "status")->valuestring, "ok");
	const cJSON *second = cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "nodes"), "second");
	const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(second, "responses"), 0);
	assert_string_equal(cJSON_GetObjectItem(r0, "status")->valuestring, "cancelled");
	snprintf(path, sizeof(path), "%s/t.jsonl", h->dir);
	char *trace = h_read(path);
	assert_non_null(strstr(trace, "\"event\":\"run_end\""));
	cJSON_Delete(rep);
	free(out);
	free(trace);
}

/* --verbose shows the HTTP heads with every credential redacted */
static void test_verbose_redacts_keys(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: QT_KEY, model: ok-model}\n"
		      "  a: {provider: anthropic, base_url: BASE_URL, api_key_env: QT_KEY, model: ok-model}\n"
		      "  g: {provider: gemini, base_url: BASE_URL, api_key_env: QT_KEY, model: ok-model}\n"
		      "nodes:\n"
		      "  ask: {kind: generate, models: [m, a, g], prompt: \"{{ query }}\"}\n");
	setenv("QT_KEY", KEY, 1);
	char *out, *err;
	int rc = h_cli(h, "run wf.yaml q --verbose --json", &out, &err);
	unsetenv("QT_KEY");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(err, "> POST /v1/chat/completions"));
	assert_non_null(strstr(err, "> Authorization: [redacted]"));
	assert_non_null(strstr(err, "> x-api-key: [redacted]"));
	assert_non_null(strstr(err, "> x-goog-api-key: [redacted]"));
	assert_null(strstr(err, KEY));
	assert_null(strstr(out, KEY));
	free(out);
	free(err);
}

/* --insecure is never silent: it warns at every run */
static void test_insecure_warns(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: ok-model}\n"
		      "nodes:\n"
		      "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --insecure --quiet", &out, &err), 0);
	assert_non_null(strstr(err, "warning: TLS certificate verification is off"));
	assert_string_equal(out, "the answer\n");
	free(out);
	free(err);
}

/* Limits end in clear errors: the run's wall time, the fan-out width,
 * the size of a rendered prompt */
static void test_limits(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: ok-model}\n"
		      "  hang: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: hang}\n"
		      "nodes:\n"
		      "  first: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n"
		      "  second: {kind: generate, models: [hang, m], prompt: \"{{ nodes.first.output }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --json --limit wall=600ms", &out, &err), 1);
	cJSON *rep = cJSON_Parse(out);
	assert_non_null(rep);
	const cJSON *nodes = cJSON_GetObjectItem(rep, "nodes");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(nodes, "first"), "status")
				    ->valuestring, "ok");
	const cJSON *second = cJSON_GetObjectItem(nodes, "second");
	const cJSON *error = cJSON_GetObjectItem(second, "error");
	assert_string_equal(cJSON_GetObjectItem(error, "class")->valuestring, "timeout");
	assert_non_null(strstr(cJSON_GetObjectItem(error, "message")->valuestring,
			       "wall-time limit"));
	cJSON_Delete(rep);
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml q --limit fanout=1", &out, &err), 2);
	assert_non_null(strstr(err, "wf.yaml:7:3: node 'second' makes 2 calls at once, more "
				    "than the fan-out limit of 1 (raise it with --limit fanout=2)"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml q --json --limit prompt_bytes=4", &out, &err), 1);
	assert_non_null(strstr(out, "rendered prompt is larger than the prompt_bytes limit"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml q --limit fanot=3", &out, &err), 2);
	assert_non_null(strstr(err, "unknown limit 'fanot' (did you mean 'fanout'?)"));
	free(out);
	free(err);
}

/* SIGTERM ends a run like Ctrl-C: at once, with the report (exit 130) */
static void test_sigterm(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  hang: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: hang}\n"
		      "nodes:\n"
		      "  ask: {kind: generate, models: [hang], prompt: \"{{ query }}\"}\n");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && { %s run wf.yaml q --json >out.txt 2>err.txt & pid=$!; "
		 "sleep 0.5; kill -TERM $pid; wait $pid; }", h->dir, bin());
	assert_int_equal(h_sh(cmd), 130);
	char path[400];
	snprintf(path, sizeof(path), "%s/out.txt", h->dir);
	char *out = h_read(path);
	assert_non_null(strstr(out, "\"status\":\"interrupted\""));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_on_stdout_only),
		cmocka_unit_test(test_json_report),
		cmocka_unit_test(test_key_never_leaks),
		cmocka_unit_test(test_missing_key_refused_before_any_call),
		cmocka_unit_test(test_missing_input),
		cmocka_unit_test(test_validate_reports_positions),
		cmocka_unit_test(test_validate_ok_prints_worst_case),
		cmocka_unit_test(test_graph),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_sim_council),
		cmocka_unit_test(test_interrupt_writes_report),
		cmocka_unit_test(test_verbose_redacts_keys),
		cmocka_unit_test(test_insecure_warns),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sigterm),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
