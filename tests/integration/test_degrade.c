/* An auxiliary node degrades, it does not sink the answer: a vote with
 * nothing to count, a ranking nobody wrote readably, a judge without a
 * verdict, and a node marked continue_on_error all let the run finish
 * with every good answer, status partial, and say why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static const char scenario[] =
	"models:\n"
	"  prose-a: {latency: 5ms, answer: \"It is probably fine, I would say.\"}\n"
	"  prose-b: {latency: 5ms, answer: \"Hard to say; it depends.\"}\n"
	"  sure-a: {latency: 5ms, answer: \"Reasoning.\\n\\nAnswer: 42\"}\n"
	"  sure-b: {latency: 5ms, answer: \"Other reasoning.\\n\\nAnswer: 41\"}\n"
	"  mumbler: {latency: 5ms, answer: \"I like all of them, honestly.\"}\n"
	"  mumbler-2: {latency: 5ms, answer: \"They are all good.\"}\n"
	"  late-ranker: {latency: 5ms, answers: [\"no idea\","
	" \"FINAL RANKING:\\n1. Response B\\n2. Response A\"]}\n"
	"  chair: {latency: 5ms, answer: \"the chairman's answer\"}\n"
	"  dead: {latency: 5ms, answer: x, faults: [{type: status, status: 401,"
	" message: \"Incorrect API key provided\"}]}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

/* A workflow whose models are the scenario's, by name. */
static void write_wf(struct harness *h, const char *nodes, const char *output)
{
	static const char *const names[] = {"prose-a", "prose-b", "sure-a", "sure-b",
					    "mumbler", "mumbler-2", "late-ranker", "chair",
					    "dead"};
	char yaml[8192];
	int n = snprintf(yaml, sizeof(yaml), "version: 1\nmodels:\n");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
			      "  %s: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
			      " model: %s, retries: 0}\n", names[i], names[i]);
	n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "nodes:\n%s", nodes);
	if (output)
		snprintf(yaml + n, sizeof(yaml) - (size_t)n, "output: %s\n", output);
	h_workflow(h, yaml);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_false(const cJSON *o, const char *key)
{
	return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The shipped council's case: nobody writes an "Answer:" line. */
static void test_vote_without_answers_degrades(void **state)
{
	struct harness *h = *state;
	write_wf(h,
		 "  answers: {kind: generate, models: [prose-a, prose-b], prompt: \"{{ query }}\"}\n"
		 "  agreement: {kind: vote, from: answers, extract: \"regex:Answer:\\\\s*(.+)\"}\n"
		 "  final: {kind: synthesize, from: answers, model: chair,"
		 " prompt: \"vote said [{{ nodes.agreement.output }}]\"}\n", NULL);
	assert_string_equal(h_run(h, "q", NULL), "partial");
	assert_int_equal(h->exit_code, 0);
	const cJSON *vote = h_node(h, "agreement");
	assert_string_equal(str_of(vote, "status"), "ok");
	assert_string_equal(str_of(vote, "output"), "");
	assert_true(is_false(vote, "confident"));
	assert_string_equal(str_of(vote, "degraded"),
			    "no candidate has an answer the extract mode can find");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(vote, "error")));
	assert_string_equal(str_of(h_node(h, "final"), "status"), "ok");
	assert_string_equal(str_of(h->report, "output"), "the chairman's answer");
}

/* Members whose ballots cannot be read are asked once more, then
 * abstain; one readable ballot is enough for a ranking. */
static void test_rank_reasks_then_abstains(void **state)
{
	struct harness *h = *state;
	write_wf(h,
		 "  answers: {kind: generate, models: [sure-a, sure-b], prompt: \"{{ query }}\"}\n"
		 "  review: {kind: rank, from: answers, models: [mumbler, late-ranker]}\n", NULL);
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_int_equal(mock_model_requests(h->mock, "mumbler"), 2);
	assert_int_equal(mock_model_requests(h->mock, "late-ranker"), 2);
	const cJSON *rank = h_node(h, "review");
	assert_string_equal(str_of(rank, "status"), "ok");
	const cJSON *ballots = cJSON_GetObjectItem(rank, "ballots");
	const cJSON *b0 = cJSON_GetArrayItem(ballots, 0), *b1 = cJSON_GetArrayItem(ballots, 1);
	assert_string_equal(str_of(b0, "model"), "mumbler");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(b0, "ranking")));
	assert_string_equal(str_of(b1, "model"), "late-ranker");
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(b1, "ranking")));
	/* one ballot of two: a ranking, but not a confident one */
	assert_true(is_false(rank, "confident"));
	assert_null(cJSON_GetObjectItem(rank, "degraded"));
	const cJSON *resp = cJSON_GetObjectItem(rank, "responses");
	assert_int_equal(cJSON_GetArraySize(resp), 4);
	assert_string_equal(str_of(cJSON_GetArrayItem(resp, 2), "role"), "ranking (asked again)");
}

/* A council whose members write no readable ballot still gets its
 * chairman's answer: the ranking is empty, the run partial. */
static void test_council_without_ballots_completes(void **state)
{
	struct harness *h = *state;
	write_wf(h,
		 "  c: {kind: council, members: [mumbler, mumbler-2], chairman: chair}\n", NULL);
	assert_string_equal(h_run(h, "q", NULL), "partial");
	assert_string_equal(str_of(h->report, "output"), "the chairman's answer");
	const cJSON *rank = h_node(h, "c.review");
	assert_string_equal(str_of(rank, "status"), "ok");
	assert_string_equal(str_of(rank, "output"), "");
	assert_true(is_false(rank, "confident"));
	assert_non_null(strstr(str_of(rank, "degraded"), "ranking is empty"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rank, "ranking")), 0);
}

/* A judge without a usable verdict, even asked again, keeps the first
 * candidate, not confident. */
static void test_judge_without_verdict_falls_back(void **state)
{
	struct harness *h = *state;
	write_wf(h,
		 "  answers: {kind: generate, models: [sure-a, sure-b], prompt: \"{{ query }}\"}\n"
		 "  pick: {kind: judge, from: answers, model: mumbler}\n", NULL);
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "partial");
	assert_int_equal(mock_model_requests(h->mock, "mumbler"), 2);
	const cJSON *judge = h_node(h, "pick");
	assert_string_equal(str_of(judge, "status"), "ok");
	assert_string_equal(str_of(judge, "output"), "Reasoning.\n\nAnswer: 42");
	assert_true(is_false(judge, "confident"));
	assert_non_null(strstr(str_of(judge, "degraded"), "first candidate is kept"));
	assert_int_equal(h->exit_code, 0);
}

/* continue_on_error: the failed node's dependents run, its output
 * renders empty; without it they are skipped, naming it. */
static void test_continue_on_error(void **state)
{
	struct harness *h = *state;
	write_wf(h,
		 "  bad: {kind: generate, models: [dead], prompt: \"{{ query }}\","
		 " continue_on_error: true}\n"
		 "  good: {kind: generate, models: [sure-a], prompt: \"{{ query }}\"}\n"
		 "  final: {kind: template, text: \"[{{ nodes.bad.output }}|"
		 "{{ nodes.good.output }}]\"}\n", "final");
	assert_string_equal(h_run(h, "q", NULL), "partial");
	assert_int_equal(h->exit_code, 0);
	assert_string_equal(str_of(h->report, "output"), "[|Reasoning.\n\nAnswer: 42]");
	const cJSON *bad = h_node(h, "bad");
	assert_string_equal(str_of(bad, "status"), "failed");
	const cJSON *err = cJSON_GetObjectItem(bad, "error");
	assert_string_equal(str_of(err, "class"), "auth");
	assert_int_equal(cJSON_GetObjectItem(err, "http_status")->valueint, 401);
	assert_non_null(str_of(err, "message"));

	write_wf(h,
		 "  bad: {kind: generate, models: [dead], prompt: \"{{ query }}\"}\n"
		 "  good: {kind: generate, models: [sure-a], prompt: \"{{ query }}\"}\n"
		 "  final: {kind: template, text: \"[{{ nodes.bad.output }}|"
		 "{{ nodes.good.output }}]\"}\n", "final");
	assert_string_equal(h_run(h, "q", NULL), "failed");
	assert_int_equal(h->exit_code, 1);
	const cJSON *final = h_node(h, "final");
	assert_string_equal(str_of(final, "status"), "skipped");
	err = cJSON_GetObjectItem(final, "error");
	assert_string_equal(str_of(err, "class"), "dependency");
	assert_string_equal(str_of(err, "message"), "needs 'bad', which failed");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(err, "http_status")));
	/* a node whose only consumer was skipped is not paid for any more:
	 * its calls are cancelled, and it says so */
	const cJSON *good = h_node(h, "good");
	if (!strcmp(str_of(good, "status"), "skipped")) {
		err = cJSON_GetObjectItem(good, "error");
		assert_string_equal(str_of(err, "class"), "cancelled");
		assert_string_equal(str_of(err, "message"), "no node needs its output any more");
	}
}

/* partial: the output exists while something failed; failed: no output. */
static void test_partial_and_failed(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [sure-a, dead], prompt: \"{{ query }}\"}\n",
		 NULL);
	assert_string_equal(h_run(h, "q", NULL), "partial");
	assert_int_equal(h->exit_code, 0);
	write_wf(h, "  ask: {kind: generate, models: [dead], prompt: \"{{ query }}\"}\n", NULL);
	assert_string_equal(h_run(h, "q", NULL), "failed");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(h->report, "output")));
	assert_int_equal(h->exit_code, 1);
}

/* The report's own fields: version, start time, inputs, error shapes. */
static void test_report_fields(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "inputs:\n"
		      "  query: {required: true}\n"
		      "  tone: {default: dry}\n"
		      "models:\n"
		      "  a: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		      " model: sure-a}\n"
		      "nodes:\n"
		      "  ask: {kind: generate, models: [a], prompt: \"{{ query }} {{ inputs.tone }}\"}\n");
	assert_string_equal(h_run(h, "why?", NULL), "ok");
	assert_non_null(str_of(h->report, "quorum_version"));
	const char *at = str_of(h->report, "started_at");
	assert_non_null(at);
	assert_int_equal(strlen(at), strlen("2026-12-03T09:29:31.123Z"));
	assert_true(at[4] == '-' && at[10] == 'T' && at[23] == 'Z');
	const cJSON *inputs = cJSON_GetObjectItem(h->report, "inputs");
	assert_string_equal(str_of(inputs, "query"), "why?");
	assert_string_equal(str_of(inputs, "tone"), "dry");
	const cJSON *node = h_node(h, "ask");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(node, "error")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(node, "wall_ms")));
	const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(node, "responses"), 0);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(r0, "latency_ms")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r0, "error")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vote_without_answers_degrades),
		cmocka_unit_test(test_rank_reasks_then_abstains),
		cmocka_unit_test(test_council_without_ballots_completes),
		cmocka_unit_test(test_judge_without_verdict_falls_back),
		cmocka_unit_test(test_continue_on_error),
		cmocka_unit_test(test_partial_and_failed),
		cmocka_unit_test(test_report_fields),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
