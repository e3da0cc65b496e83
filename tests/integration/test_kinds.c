/* The aggregators and routers end to end over real HTTP, with scripted
 * answers: what each kind promises a user, proven by the report and by
 * what the mock server saw. */
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
	"models:\n"
	"  w1: {latency: 5ms, answer: \"A weak answer about it.\"}\n"
	"  w2: {latency: 5ms, answer: \"Another weak answer.\"}\n"
	"  best: {latency: 5ms, answer: \"THE BEST ANSWER, with care.\"}\n"
	"  judge1: {latency: 5ms, rules: [{kind: judge, pick: \"THE BEST\"}]}\n"
	"  judge2: {latency: 5ms, rules: [{kind: judge, pick: \"THE BEST\"}]}\n"
	"  mumbler: {latency: 5ms, answer: \"I cannot decide, they are all fine.\"}\n"
	"  ranker1: {latency: 5ms, rules: [{kind: rank, rank: [\"THE BEST\", \"Another\", \"A weak\"]}]}\n"
	"  ranker2: {latency: 5ms, rules: [{kind: rank, rank: [\"Another\", \"THE BEST\", \"A weak\"]}]}\n"
	"  ranker3: {latency: 5ms, rules: [{kind: rank, rank: [\"THE BEST\", \"A weak\", \"Another\"]}]}\n"
	"  cheap-sure:\n"
	"    latency: 5ms\n"
	"    rules: [{kind: self_check, answer: correct}, {answer: \"cheap answer\\nAnswer: 4\"}]\n"
	"  cheap-unsure:\n"
	"    latency: 5ms\n"
	"    rules: [{kind: self_check, answer: incorrect}, {answer: \"cheap guess\\nAnswer: 5\"}]\n"
	"  strong: {latency: 5ms, answer: \"strong answer\\nAnswer: 4\"}\n"
	"  local-llm: {latency: 5ms, answer: \"handled locally\"}\n"
	"  cloud-llm: {latency: 5ms, answer: \"handled in the cloud\"}\n"
	"  planner-cyclic:\n"
	"    latency: 5ms\n"
	"    answer: '{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\", \"needs\": [\"s2\"]},"
	" {\"id\": \"s2\", \"task\": \"b\", \"needs\": [\"s1\"]}]}'\n"
	"  planner-big:\n"
	"    latency: 5ms\n"
	"    answer: '{\"subtasks\": [{\"id\": \"a\", \"task\": \"x\"}, {\"id\": \"b\", \"task\": \"y\"},"
	" {\"id\": \"c\", \"task\": \"z\"}]}'\n"
	"  planner-ok:\n"
	"    latency: 5ms\n"
	"    answers:\n"
	"      - 'Here is my plan: {\"subtasks\": [oops'\n"
	"      - '```json\\n{\"subtasks\": [{\"id\": \"facts\", \"task\": \"list the facts\"},"
	" {\"id\": \"answer\", \"task\": \"answer from the facts\", \"needs\": [\"facts\"]}]}\\n```'\n"
	"  worker: {latency: 5ms, rules: [{contains: \"answer from the facts\", answer: \"final part\"},"
	" {answer: \"facts part\"}]}\n"
	"  worker-500: {latency: 2ms, answer: x, faults: [{type: status, status: 500}]}\n"
	"  fast42: {latency: 5ms, answer: \"Answer: 42\"}\n"
	"  slow: {latency: 20s, answer: \"Answer: 41\"}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *output_of(struct harness *h)
{
	return str_of(h->report, "output");
}

/* A workflow whose models are all the mock's, by the same names. */
static void write_wf(struct harness *h, const char *models, const char *nodes)
{
	char yaml[8192];
	int n = snprintf(yaml, sizeof(yaml), "version: 1\ndefaults: {retries: 0}\nmodels:\n");
	for (const char *p = models; *p;) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);
		n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
			      "  %.*s: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
			      " model: %.*s%s}\n",
			      (int)len, p, (int)len, p,
			      !strncmp(p, "local-llm", len) ? ", local: true" : "");
		p += len;
		while (*p == ' ')
			p++;
	}
	snprintf(yaml + n, sizeof(yaml) - (size_t)n, "nodes:\n%s", nodes);
	h_workflow(h, yaml);
}

/* A judge panel picks the scripted best answer even when it is listed
 * last; the output is that answer byte for byte. */
static void test_judge_panel_picks_best_listed_last(void **state)
{
	struct harness *h = *state;
	write_wf(h, "w1 w2 best judge1 judge2",
		 "  answers: {kind: generate, models: [w1, w2, best], prompt: \"{{ query }}\"}\n"
		 "  pick: {kind: judge, from: answers, models: [judge1, judge2]}\n");
	for (int run = 0; run < 5; run++) {
		assert_string_equal(h_run(h, "q", NULL), "ok");
		assert_string_equal(output_of(h), "THE BEST ANSWER, with care.");
	}
	const cJSON *scores = cJSON_GetObjectItem(h_node(h, "pick"), "scores");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(scores, 2), "votes")->valueint, 2);
}

/* An unreadable verdict is asked again once, then counts as abstention. */
static void test_judge_unreadable_verdict_abstains(void **state)
{
	struct harness *h = *state;
	write_wf(h, "w1 w2 best judge1 mumbler",
		 "  answers: {kind: generate, models: [w1, w2, best], prompt: \"{{ query }}\"}\n"
		 "  pick: {kind: judge, from: answers, models: [mumbler, judge1]}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_string_equal(output_of(h), "THE BEST ANSWER, with care.");
	assert_int_equal(mock_model_requests(h->mock, "mumbler"), 2);
	const cJSON *ballots = cJSON_GetObjectItem(h_node(h, "pick"), "ballots");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(ballots, 0), "pick")));
}

/* rank: ballots merged by Borda count. Candidates 1 "A weak", 2
 * "Another", 3 "THE BEST"; ballots (3,2,1) (2,3,1) (3,1,2) give 3: 5
 * points, 2: 3, 1: 1. */
static void test_rank_borda(void **state)
{
	struct harness *h = *state;
	write_wf(h, "w1 w2 best ranker1 ranker2 ranker3",
		 "  answers: {kind: generate, models: [w1, w2, best], prompt: \"{{ query }}\"}\n"
		 "  review: {kind: rank, from: answers, models: [ranker1, ranker2, ranker3]}\n"
		 "  top: {kind: template, text: \"{{ nodes.review.responses }}\"}\n");
	assert_string_equal(h_run(h, "q", NULL), "ok");
	const cJSON *ranking = cJSON_GetObjectItem(h_node(h, "review"), "ranking");
	static const int cand[] = {3, 2, 1}, points[] = {5, 3, 1};
	for (int i = 0; i < 3; i++) {
		const cJSON *e = cJSON_GetArrayItem(ranking, i);
		assert_int_equal(cJSON_GetObjectItem(e, "candidate")->valueint, cand[i]);
		assert_int_equal(cJSON_GetObjectItem(e, "points")->valueint, points[i]);
	}
	/* Downstream, the candidates come best first. */
	assert_true(!strncmp(output_of(h), "1. THE BEST ANSWER", 18));
}

/* A cascade stops at the cheap model when its self-check passes... */
static void test_cascade_stops_at_cheap(void **state)
{
	struct harness *h = *state;
	write_wf(h, "cheap-sure strong",
		 "  a: {kind: cascade, models: [cheap-sure, strong], prompt: \"{{ query }}\","
		 " accept: {self_check: {threshold: 0.7, samples: 3}}}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_string_equal(output_of(h), "cheap answer\nAnswer: 4");
	const cJSON *c = cJSON_GetObjectItem(h_node(h, "a"), "cascade");
	assert_string_equal(str_of(c, "answered_by"), "cheap-sure");
	assert_int_equal(mock_model_requests(h->mock, "strong"), 0);
	assert_int_equal(mock_model_requests(h->mock, "cheap-sure"), 4);
}

/* ...and escalates when it fails. */
static void test_cascade_escalates(void **state)
{
	struct harness *h = *state;
	write_wf(h, "cheap-unsure strong",
		 "  a: {kind: cascade, models: [cheap-unsure, strong], prompt: \"{{ query }}\","
		 " accept: {self_check: {threshold: 0.7, samples: 3}}}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_string_equal(output_of(h), "strong answer\nAnswer: 4");
	const cJSON *c = cJSON_GetObjectItem(h_node(h, "a"), "cascade");
	assert_string_equal(str_of(c, "answered_by"), "strong");
	const cJSON *steps = cJSON_GetObjectItem(c, "steps");
	assert_int_equal(cJSON_GetArraySize(steps), 2);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 0), "accepted")));
	assert_int_equal(mock_model_requests(h->mock, "strong"), 1);
}

/* A prompt with personal data never reaches the cloud model; the report
 * names the rule, never the data. */
static void test_pii_stays_local(void **state)
{
	struct harness *h = *state;
	static const char *const nodes =
		"  a: {kind: route, prompt: \"{{ query }}\", routes: [{when: {contains_pii: true},"
		" to: local-llm}], default: cloud-llm}\n";
	write_wf(h, "local-llm cloud-llm", nodes);
	static const char *const private_queries[] = {
		"Email jane.doe@example.com about her invoice",
		"Charge card 4111 1111 1111 1111 again",
		"Pay to DE89 3704 0044 0532 0130 00 please",
		"Call me on +44 20 7946 0958 tomorrow",
	};
	mock_reset_stats(h->mock);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(h_run(h, private_queries[i], NULL), "ok");
		assert_string_equal(output_of(h), "handled locally");
		const char *rule = str_of(cJSON_GetObjectItem(h_node(h, "a"), "route"), "rule");
		assert_non_null(strstr(rule, "contains_pii"));
		/* The route's record names the rule, never the data; the
		 * run's inputs (the user's own query) are the one place it
		 * appears. */
		char *node = cJSON_PrintUnformatted(h_node(h, "a"));
		assert_null(strstr(node, "jane.doe"));
		assert_null(strstr(node, "4111"));
		cJSON_free(node);
		const cJSON *inputs = cJSON_GetObjectItem(h->report, "inputs");
		assert_string_equal(str_of(inputs, "query"), private_queries[i]);
	}
	assert_int_equal(mock_model_requests(h->mock, "cloud-llm"), 0);
	assert_int_equal(mock_model_requests(h->mock, "local-llm"), 4);
	assert_string_equal(h_run(h, "What is the boiling point of water?", NULL), "ok");
	assert_string_equal(output_of(h), "handled in the cloud");
}

static void expect_plan_refused(struct harness *h, const char *planner, const char *max,
				const char *message)
{
	char nodes[512];
	snprintf(nodes, sizeof(nodes),
		 "  p: {kind: plan, model: %s, prompt: \"{{ query }}\"%s}\n", planner, max);
	char models[64];
	snprintf(models, sizeof(models), "%s", planner);
	write_wf(h, models, nodes);
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "failed");
	const cJSON *error = cJSON_GetObjectItem(h_node(h, "p"), "error");
	assert_string_equal(str_of(error, "class"), "malformed");
	const char *err = str_of(error, "message");
	assert_non_null(err);
	if (!strstr(err, message))
		fail_msg("error '%s' does not say '%s'", err, message);
	/* asked once more with the error, then refused */
	assert_int_equal(mock_model_requests(h->mock, planner), 2);
}

static void test_plan_cyclic_refused(void **state)
{
	expect_plan_refused(*state, "planner-cyclic", "", "s1 -> s2 -> s1");
}

static void test_plan_oversized_refused(void **state)
{
	expect_plan_refused(*state, "planner-big", ", max_subtasks: 2",
			    "more than max_subtasks 2");
}

/* A plan answered badly once is asked again; its subtasks then run in
 * dependency order, each seeing its needs' results. */
static void test_plan_runs_subtasks(void **state)
{
	struct harness *h = *state;
	write_wf(h, "planner-ok worker",
		 "  p: {kind: plan, model: planner-ok, prompt: \"{{ query }}\","
		 " run: {kind: generate, models: [worker]}}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	const char *out = output_of(h);
	const char *facts = strstr(out, "facts part"), *final = strstr(out, "final part");
	assert_non_null(facts);
	assert_non_null(final);
	assert_true(facts < final);
	assert_int_equal(mock_model_requests(h->mock, "worker"), 2);
}

/* A subtask's calls take the call settings of the plan's `run`. */
static void test_plan_run_settings(void **state)
{
	struct harness *h = *state;
	write_wf(h, "planner-ok worker-500",
		 "  p: {kind: plan, model: planner-ok, prompt: \"{{ query }}\", retries: 2,"
		 " run: {kind: generate, models: [worker-500], retries: 0}}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "failed");
	const cJSON *resp = cJSON_GetObjectItem(h_node(h, "p"), "responses");
	const cJSON *sub = cJSON_GetArrayItem(resp, 2);
	assert_string_equal(str_of(sub, "role"), "subtask facts");
	assert_int_equal(cJSON_GetObjectItem(sub, "attempts")->valueint, 1);
	assert_int_equal(mock_model_requests(h->mock, "worker-500"), 1);
}

/* stop_when: decided: three agreeing answers out of five decide the vote,
 * the two slow calls are cancelled (the mock counts them aborted). */
static void test_early_decision_cancels(void **state)
{
	struct harness *h = *state;
	write_wf(h, "fast42 slow",
		 "  s: {kind: generate, models: [fast42, slow, fast42, slow, fast42],"
		 " prompt: \"{{ query }}\"}\n"
		 "  v: {kind: vote, from: s, extract: number, stop_when: decided}\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_string_equal(output_of(h), "42");
	const cJSON *resp = cJSON_GetObjectItem(h_node(h, "s"), "responses");
	assert_string_equal(str_of(cJSON_GetArrayItem(resp, 1), "status"), "cancelled");
	assert_string_equal(str_of(cJSON_GetArrayItem(resp, 3), "status"), "cancelled");
	struct mock_stats st;
	for (int i = 0; i < 100; i++) {
		mock_get_stats(h->mock, &st);
		if (st.aborted >= 2)
			break;
		usleep(20000);
	}
	assert_int_equal(st.aborted, 2);
	const cJSON *wall = cJSON_GetObjectItem(h->report, "wall_ms");
	assert_true(wall->valuedouble < 10000);
}

/* The contract's place for it: stop_when on the generate the vote reads. */
static void test_early_decision_on_generate(void **state)
{
	struct harness *h = *state;
	write_wf(h, "fast42 slow",
		 "  s: {kind: generate, models: [fast42, slow, fast42, slow, fast42],"
		 " prompt: \"{{ query }}\", stop_when: decided}\n"
		 "  v: {kind: vote, from: s, extract: number}\n");
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_string_equal(output_of(h), "42");
	const cJSON *resp = cJSON_GetObjectItem(h_node(h, "s"), "responses");
	assert_string_equal(str_of(cJSON_GetArrayItem(resp, 1), "status"), "cancelled");
	assert_string_equal(str_of(cJSON_GetArrayItem(resp, 3), "status"), "cancelled");
}

int main(void)
{
	quorum_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_panel_picks_best_listed_last),
		cmocka_unit_test(test_judge_unreadable_verdict_abstains),
		cmocka_unit_test(test_rank_borda),
		cmocka_unit_test(test_cascade_stops_at_cheap),
		cmocka_unit_test(test_cascade_escalates),
		cmocka_unit_test(test_pii_stays_local),
		cmocka_unit_test(test_plan_cyclic_refused),
		cmocka_unit_test(test_plan_oversized_refused),
		cmocka_unit_test(test_plan_runs_subtasks),
		cmocka_unit_test(test_plan_run_settings),
		cmocka_unit_test(test_early_decision_cancels),
		cmocka_unit_test(test_early_decision_on_generate),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	quorum_global_cleanup();
	return rc;
}
