/* quorum eval as a user reads it: each workflow and each of its models
 * alone scored on a data set, with the numbers a user decides on (accuracy
 * and its interval, McNemar against the best single model, calls, cost,
 * agreement, the frontier); answers compared the vote's way; rubric lines
 * graded by a judge model; malformed lines named; a chart written; and
 * the shipped data set on the simulator showing Condorcet's effect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* good is always right, bad always wrong (the same wrong answer), meh
 * right on questions that mention "easy". The grader passes answers
 * that hold 4. */
static const char scenario[] =
	"models:\n"
	"  good: {answer: \"The sum is 4.\\n\\nAnswer: 4\"}\n"
	"  bad: {answer: \"Answer: 5\"}\n"
	"  meh:\n"
	"    answer: \"Answer: 5\"\n"
	"    rules: [{contains: easy, answer: \"Answer: 4\"}]\n"
	"  grader:\n"
	"    answer: \"It does not.\\nFAIL\"\n"
	"    rules: [{regex: '(?s)Answer to grade:.*4.*Rubric:', answer: \"Right.\\nPASS\"}]\n";

static const char vote_wf[] =
	"version: 1\n"
	"name: council\n"
	"defaults: {retries: 0}\n"
	"models:\n"
	"  good: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: good,"
	" price: {input: 1, output: 1}}\n"
	"  bad: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: bad,"
	" price: {input: 1, output: 1}}\n"
	"  meh: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: meh,"
	" price: {input: 1, output: 1}}\n"
	"  judge: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: grader}\n"
	"nodes:\n"
	"  ans: {kind: generate, models: [good, good, meh], prompt: \"{{ query }}\"}\n"
	"  pick: {kind: vote, from: ans, extract: number}\n"
	"output: pick\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

static const cJSON *sys_named(const cJSON *res, const char *name)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(res, "systems")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return s;
	}
	fail_msg("no system '%s' in the results", name);
	return NULL;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v))
		fail_msg("'%s' is not a number", key);
	return v->valuedouble;
}

/* 10 questions: 4 "easy" ones meh gets right. */
static void write_data(struct harness *h, const char *extra_line)
{
	char text[4096];
	size_t n = 0;
	for (int k = 1; k <= 10; k++)
		n += (size_t)sprintf(text + n, "{\"id\": %d, \"query\": \"%s question %d: 2 + 2?\","
				     " \"expected\": \"4\"}\n", k, k <= 4 ? "easy" : "hard", k);
	if (extra_line)
		sprintf(text + n, "%s", extra_line);
	h_write(h, "set.jsonl", text);
}

static void test_scores_and_baselines(void **state)
{
	struct harness *h = *state;
	h_workflow(h, vote_wf);
	write_data(h, NULL);
	char *out, *err;
	int rc = h_cli(h, "eval wf.yaml --data set.jsonl --json --plot chart.svg --details d.jsonl",
		       &out, &err);
	if (rc)
		fail_msg("eval failed (%d): %s", rc, err);
	cJSON *res = cJSON_Parse(out);
	assert_non_null(res);
	assert_int_equal((int)num(res, "questions"), 10);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(res, "compare")->valuestring,
			    "number");
	/* The workflow, then its models alone; the judge model too (it is a
	 * model of the file), though no node calls it. */
	const cJSON *wf = sys_named(res, "wf.yaml");
	const cJSON *good = sys_named(res, "good alone");
	const cJSON *meh = sys_named(res, "meh alone");
	const cJSON *bad = sys_named(res, "bad alone");
	assert_true(num(wf, "accuracy") == 1.0);
	assert_true(num(good, "accuracy") == 1.0);
	assert_true(num(meh, "accuracy") == 0.4);
	assert_true(num(bad, "accuracy") == 0.0);
	/* good gets "The sum is 4. Answer: 4", compared as a number. */
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(res, "best_single")->valuestring,
			    "good alone");
	/* 3 calls a question, the member agreement 2 of 3 on hard ones and 3
	 * of 3 on easy ones. */
	assert_int_equal((int)num(wf, "calls"), 30);
	assert_int_equal((int)num(good, "calls"), 10);
	const cJSON *ag = cJSON_GetObjectItemCaseSensitive(wf, "agreement");
	assert_true(num(ag, "unanimous") == 0.4);
	assert_true(num(ag, "mean") > 0.79 && num(ag, "mean") < 0.81);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(good, "agreement"), "mean")));
	/* The interval of 10 of 10 reaches 1 and not below ~0.72. */
	const cJSON *ci = cJSON_GetObjectItemCaseSensitive(wf, "ci95");
	assert_true(cJSON_GetArrayItem(ci, 1)->valuedouble == 1.0);
	assert_true(cJSON_GetArrayItem(ci, 0)->valuedouble > 0.70 &&
		    cJSON_GetArrayItem(ci, 0)->valuedouble < 0.73);
	/* McNemar: meh and good differ on the 6 hard questions only (exact
	 * test, p = 2 / 2^6 = 0.03125); the council and good never differ. */
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(meh, "mcnemar");
	assert_int_equal((int)num(m, "only_this_right"), 0);
	assert_int_equal((int)num(m, "only_best_right"), 6);
	assert_true(num(m, "p") > 0.0312 && num(m, "p") < 0.0313);
	assert_true(num(cJSON_GetObjectItemCaseSensitive(wf, "mcnemar"), "p") == 1.0);
	/* Cost: the council costs more than good alone for the same accuracy,
	 * so good alone is on the frontier and the council is not. */
	assert_true(num(wf, "cost_usd") > num(good, "cost_usd"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(good, "pareto")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(wf, "pareto")));
	cJSON_Delete(res);
	free(out);
	free(err);

	char path[400];
	snprintf(path, sizeof(path), "%s/chart.svg", h->dir);
	char *svg = h_read(path);
	assert_non_null(svg);
	assert_non_null(strstr(svg, "<svg"));
	assert_non_null(strstr(svg, "good alone"));
	assert_non_null(strstr(svg, "</svg>"));
	free(svg);

	/* The details: a line per question and system (the workflow and its
	 * four models), what `quorum router train` learns from. */
	snprintf(path, sizeof(path), "%s/d.jsonl", h->dir);
	char *details = h_read(path);
	assert_non_null(details);
	int lines = 0, meh_right = 0;
	for (char *l = strtok(details, "\n"); l; l = strtok(NULL, "\n")) {
		cJSON *d = cJSON_Parse(l);
		assert_non_null(d);
		lines++;
		const cJSON *sys = cJSON_GetObjectItemCaseSensitive(d, "system");
		if (!strcmp(sys->valuestring, "meh alone")) {
			const cJSON *q = cJSON_GetObjectItemCaseSensitive(d, "query");
			int right = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "correct"));
			assert_int_equal(right, strstr(q->valuestring, "easy") != NULL);
			meh_right += right;
		}
		cJSON_Delete(d);
	}
	assert_int_equal(lines, 50);
	assert_int_equal(meh_right, 4);
	free(details);

	/* The table a person reads. */
	assert_int_equal(h_cli(h, "eval wf.yaml --data set.jsonl", &out, &err), 0);
	assert_non_null(strstr(out, "10 questions from set.jsonl, answers compared by number"));
	assert_non_null(strstr(out, "best single"));
	assert_non_null(strstr(out, "100.0%"));
	free(out);
	free(err);
}

/* A line's own "compare", rubric lines graded by --judge, and malformed
 * lines named by number. */
static void test_compare_rubric_malformed(void **state)
{
	struct harness *h = *state;
	h_workflow(h, vote_wf);
	write_data(h, "{\"query\": \"easy: say the sum\", \"rubric\": \"says 4\"}\n"
		      "{\"query\": \"no answer given\"}\n"
		      "{\"query\": \"easy 2 + 2\", \"expected\": \"Answer: 4\", \"compare\": "
		      "\"exact\"}\n"
		      "{\"query\": \"x\", \"expected\": \"4\", \"compare\": \"regex:x+\"}\n"
		      "oops\n");
	char *out, *err;
	int rc = h_cli(h, "eval wf.yaml --data set.jsonl --json --judge judge --no-baselines",
		       &out, &err);
	assert_int_equal(rc, 1); /* malformed lines */
	assert_non_null(strstr(err, "set.jsonl:12: needs \"expected\""));
	assert_non_null(strstr(err, "set.jsonl:14: \"compare\": "));
	assert_non_null(strstr(err, "set.jsonl:15: not JSON"));
	cJSON *res = cJSON_Parse(out);
	assert_non_null(res);
	assert_int_equal((int)num(res, "questions"), 12);
	assert_int_equal((int)num(res, "malformed_lines"), 3);
	const cJSON *wf = sys_named(res, "wf.yaml");
	/* 10 numbers right and the rubric passed (the grader saw 4); the
	 * exact line is wrong: the vote's output is not "Answer: 4". */
	assert_int_equal((int)num(wf, "correct"), 11);
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(res, "grading");
	assert_int_equal((int)num(g, "calls"), 1);
	cJSON_Delete(res);
	free(out);
	free(err);

	/* Rubric lines need --judge; an unknown judge is refused. */
	rc = h_cli(h, "eval wf.yaml --data set.jsonl --no-baselines --judge nobody", &out, &err);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(err, "--judge 'nobody' is not a model of 'wf.yaml'"));
	free(out);
	free(err);
	rc = h_cli(h, "eval wf.yaml --data set.jsonl --no-baselines", &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "set.jsonl:11: has a rubric: name the model that grades "
				    "with --judge MODEL"));
	free(out);
	free(err);
}

/* A bandit learns from rubric lines as from expected answers, and a
 * route's embeddings model, which answers nothing, has no baseline. */
static void test_rubric_rewards_bandit_no_embed_baseline(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "name: learner\n"
		      "defaults: {retries: 0}\n"
		      "models:\n"
		      "  good: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: good}\n"
		      "  bad: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: bad}\n"
		      "  judge: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		      " model: grader}\n"
		      "  emb: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: emb}\n"
		      "nodes:\n"
		      "  r:\n"
		      "    kind: route\n"
		      "    embed: emb\n"
		      "    routes: [{when: {semantic: {examples: [refund]}}, to: bad}]\n"
		      "    default: good\n"
		      "  pick: {kind: bandit, arms: [good, bad], policy: ucb, state: rubric.db}\n"
		      "output: pick\n");
	h_write(h, "rubric.jsonl", "{\"query\": \"say the sum\", \"rubric\": \"says 4\"}\n"
		   "{\"query\": \"say it again\", \"rubric\": \"says 4\"}\n"
		   "{\"query\": \"and again\", \"rubric\": \"says 4\"}\n");
	char *out, *err;
	int rc = h_cli(h, "eval wf.yaml --data rubric.jsonl --judge judge --parallel 1 --json",
		       &out, &err);
	if (rc)
		fail_msg("eval failed (%d): %s", rc, err);
	cJSON *res = cJSON_Parse(out);
	assert_non_null(res);
	sys_named(res, "good alone");
	const cJSON *sys;
	cJSON_ArrayForEach(sys, cJSON_GetObjectItemCaseSensitive(res, "systems"))
		assert_string_not_equal(cJSON_GetObjectItemCaseSensitive(sys, "name")->valuestring,
					"emb alone");
	cJSON_Delete(res);
	free(out);
	free(err);
	/* Both arms were rewarded by the grader's verdicts: UCB scores them
	 * (an arm never rewarded scores null). */
	h_run(h, "one more", NULL);
	const cJSON *dg = cJSON_GetObjectItem(h_node(h, "pick"), "degraded");
	if (dg)
		fail_msg("degraded: %s", cJSON_PrintUnformatted(dg));
	const cJSON *scores = cJSON_GetObjectItem(cJSON_GetObjectItem(h_node(h, "pick"),
								      "bandit"), "scores");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(scores, "good")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(scores, "bad")));
}

/* The command line: no data, no workflow, a bad --compare. */
static void test_usage(void **state)
{
	struct harness *h = *state;
	h_workflow(h, vote_wf);
	write_data(h, NULL);
	char *out, *err;
	assert_int_equal(h_cli(h, "eval wf.yaml", &out, &err), 2);
	assert_non_null(strstr(err, "--data FILE"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "eval --data set.jsonl", &out, &err), 2);
	assert_non_null(strstr(err, "at least one workflow FILE"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "eval wf.yaml --data set.jsonl --compare numbr", &out, &err),
			 2);
	assert_non_null(strstr(err, "unknown comparison 'numbr'"));
	free(out);
	free(err);
}

/* The shipped data set on the simulator: three independent 0.7 models
 * voting beat each alone (Condorcet), and five samples of one beat it
 * too (self-consistency). 1,000 questions: the gaps to the luckiest of
 * three 0.7 models (~6 and ~11 points) are 3 and 5 standard errors wide. */
static void test_shipped_condorcet(void **state)
{
	struct harness *h = *state;
	const char *src = getenv("QUORUM_SRCDIR");
	assert_non_null(src);
	char args[2048];
	snprintf(args, sizeof(args),
		 "eval %s/eval/vote.yaml %s/eval/self-consistency.yaml --data "
		 "%s/eval/arithmetic.jsonl --sim=%s/eval/sim.yaml --parallel 64 --json",
		 src, src, src, src);
	char *out, *err;
	int rc = h_cli(h, args, &out, &err);
	if (rc)
		fail_msg("eval failed (%d): %s", rc, err);
	cJSON *res = cJSON_Parse(out);
	assert_non_null(res);
	assert_int_equal((int)num(res, "questions"), 1000);
	double vote = -1, sc = -1, single = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(res, "systems")) {
		const char *name = cJSON_GetObjectItemCaseSensitive(s, "name")->valuestring;
		double acc = num(s, "accuracy");
		if (strstr(name, "vote.yaml"))
			vote = acc;
		else if (strstr(name, "self-consistency.yaml"))
			sc = acc;
		else if (acc > single)
			single = acc;
	}
	assert_true(single > 0.6 && single < 0.8);
	assert_true(vote > single);
	assert_true(sc > single);
	cJSON_Delete(res);
	free(out);
	free(err);
}

/* An "expected" no answer can ever meet (empty; no number to compare by
 * number; no option letter to compare by choice) is a malformed line, not
 * a question every system silently gets wrong. */
static void test_expected_no_answer_meets(void **state)
{
	struct harness *h = *state;
	h_workflow(h, vote_wf);
	h_write(h, "odd.jsonl",
		"{\"query\": \"easy: 2 + 2?\", \"expected\": \"4\"}\n"
		"{\"query\": \"easy: 2 + 2?\", \"expected\": \"\"}\n"
		"{\"query\": \"easy: 2 + 2?\", \"expected\": \" \\t \"}\n"
		"{\"query\": \"easy: 2 + 2?\", \"expected\": \"four\"}\n"
		"{\"query\": \"easy: 2 + 2?\", \"expected\": \"4\", \"compare\": \"choice\"}\n"
		"{\"query\": \"easy: pick one\", \"expected\": \"(B)\", \"compare\": \"choice\"}\n"
		"{\"query\": \"easy: 2 + 2?\", \"expected\": \"Four\", \"compare\": \"exact\"}\n"
		"{\"query\": \"easy: 2 + 2?\", \"expected\": 4}\n");
	char *out, *err;
	int rc = h_cli(h, "eval wf.yaml --data odd.jsonl --json --no-baselines", &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "odd.jsonl:2: \"expected\" is empty"));
	assert_non_null(strstr(err, "odd.jsonl:3: \"expected\" is empty"));
	assert_non_null(strstr(err, "odd.jsonl:4: \"expected\" 'four' holds no number"));
	assert_non_null(strstr(err, "odd.jsonl:5: \"expected\" '4' holds no choice"));
	assert_null(strstr(err, "odd.jsonl:6:"));
	assert_null(strstr(err, "odd.jsonl:7:"));
	assert_null(strstr(err, "odd.jsonl:8:")); /* a number is an answer too */
	cJSON *res = cJSON_Parse(out);
	assert_non_null(res);
	assert_int_equal((int)num(res, "questions"), 4);
	assert_int_equal((int)num(res, "malformed_lines"), 4);
	cJSON_Delete(res);
	free(out);
	free(err);
}

/* Where the results go is checked before any run: a --details or --plot
 * that cannot be written, or that names the data set, is refused with
 * nothing asked (not after every question is paid for); so is a --data
 * that is a folder. */
static void test_outputs_checked_first(void **state)
{
	struct harness *h = *state;
	h_workflow(h, vote_wf);
	write_data(h, NULL);
	char path[400];
	snprintf(path, sizeof(path), "%s/set.jsonl", h->dir);
	char *data = h_read(path);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/adir'", h->dir);
	assert_int_equal(h_sh(cmd), 0);
	struct {
		const char *args, *says;
	} cases[] = {
		{"eval wf.yaml --data set.jsonl --details nodir/d.jsonl",
		 "cannot write the details to 'nodir/d.jsonl': No such file or directory"},
		{"eval wf.yaml --data set.jsonl --plot nodir/p.svg",
		 "cannot write the chart to 'nodir/p.svg': No such file or directory"},
		{"eval wf.yaml --data set.jsonl --details ./set.jsonl",
		 "--details './set.jsonl' is the --data file"},
		{"eval wf.yaml --data adir", "cannot read 'adir': Is a directory"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mock_reset_stats(h->mock);
		char *out, *err;
		int rc = h_cli(h, cases[i].args, &out, &err);
		if (rc != 2 || !strstr(err, cases[i].says))
			fail_msg("%s: exit %d: %s", cases[i].args, rc, err);
		struct mock_stats st;
		mock_get_stats(h->mock, &st);
		assert_int_equal(st.requests, 0);
		free(out);
		free(err);
	}
	char *after = h_read(path);
	assert_string_equal(data, after);
	free(after);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scores_and_baselines),
		cmocka_unit_test(test_compare_rubric_malformed),
		cmocka_unit_test(test_rubric_rewards_bandit_no_embed_baseline),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_expected_no_answer_meets),
		cmocka_unit_test(test_outputs_checked_first),
		cmocka_unit_test(test_shipped_condorcet),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
