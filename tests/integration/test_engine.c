/* Many runs, one engine: they run at once and share connections (the mock
 * server counts them), one model's limits hold across all of them, and
 * one run's failure or cancellation leaves the others' results intact. */
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
	"  a: {latency: 50ms, answer: \"Answer: 4\"}\n"
	"  b: {latency: 60ms, answer: \"Answer: 4\"}\n"
	"  c: {latency: 40ms, answer: \"Answer: 5\"}\n"
	"  chair: {latency: 30ms, answer: \"four\"}\n"
	"  limited: {latency: 5ms, answer: \"ok\"}\n"
	"  slow: {latency: 2s, answer: \"late\"}\n"
	"  dead: {latency: 5ms, answer: x, faults: [{type: status, status: 401}]}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

struct results {
	size_t done, ok, interrupted, failed;
	struct quorum_report *kept[256];
	size_t nkept;
};

static void collect(struct quorum_report *rep, const char *error, void *ctx)
{
	struct results *res = ctx;
	assert_non_null(rep);
	assert_null(error);
	res->done++;
	const char *st = quorum_report_status(rep);
	res->ok += !strcmp(st, "ok");
	res->interrupted += !strcmp(st, "interrupted");
	res->failed += !strcmp(st, "failed");
	if (res->nkept < 256)
		res->kept[res->nkept++] = rep;
	else
		quorum_report_free(rep);
}

static void release(struct results *res)
{
	for (size_t i = 0; i < res->nkept; i++)
		quorum_report_free(res->kept[i]);
	res->nkept = 0;
}

static struct quorum_workflow *load(struct harness *h, const char *yaml)
{
	h_workflow(h, yaml);
	char *errors = NULL;
	struct quorum_workflow *wf = quorum_workflow_load(h->wf_path, &errors);
	if (!wf)
		fail_msg("%s", errors);
	return wf;
}

/* 200 councils at once: every one answers, the calls of different runs
 * were in flight together, and connections were reused across runs. */
static void test_200_runs_share_one_engine(void **state)
{
	struct harness *h = *state;
	struct quorum_workflow *wf = load(h,
		"version: 1\n"
		"models:\n"
		"  a: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: a}\n"
		"  b: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: b}\n"
		"  c: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: c}\n"
		"  chair: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: chair}\n"
		"nodes:\n"
		"  answers: {kind: generate, models: [a, b, c], prompt: \"{{ query }}\"}\n"
		"  count: {kind: vote, from: answers, extract: number}\n"
		"  final: {kind: synthesize, from: answers, model: chair,"
		" prompt: \"{{ query }} {{ nodes.count.output }}\"}\n");
	struct quorum_engine *e = quorum_engine_new(-1);
	assert_non_null(e);
	mock_reset_stats(h->mock);
	static struct quorum_options opts[200];
	struct results res = {0};
	for (int i = 0; i < 200; i++) {
		opts[i] = (struct quorum_options){.query = "2+2?", .wake_fd = -1};
		char *errors = NULL;
		assert_int_equal(quorum_engine_submit(e, wf, &opts[i], collect, &res, &errors), 0);
	}
	assert_int_equal(quorum_engine_run(e, -1), 0);
	assert_int_equal(res.done, 200);
	assert_int_equal(res.ok, 200);
	for (size_t i = 0; i < res.nkept; i++)
		assert_string_equal(quorum_report_output(res.kept[i]), "four");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 800);
	/* the first layers of many runs were out at once (600 at most) */
	printf("# peak %ld connections %ld requests %ld\n", st.peak_in_flight, st.connections, st.requests);
	assert_true(st.peak_in_flight >= 300);
	/* the chairmen went out on connections the answers had opened */
	assert_true(st.connections < st.requests);
	release(&res);
	quorum_engine_free(e);
	quorum_workflow_free(wf);
}

/* rpm: 5 holds across ten runs of the same model: five calls go out, the
 * other five wait for the window; freeing the engine interrupts them. */
static void test_rpm_holds_across_runs(void **state)
{
	struct harness *h = *state;
	struct quorum_workflow *wf = load(h,
		"version: 1\n"
		"models:\n"
		"  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: limited,"
		" rpm: 5}\n"
		"nodes:\n"
		"  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	struct quorum_engine *e = quorum_engine_new(-1);
	mock_reset_stats(h->mock);
	static struct quorum_options opts[10];
	struct results res = {0};
	for (int i = 0; i < 10; i++) {
		opts[i] = (struct quorum_options){.query = "q", .wake_fd = -1};
		assert_int_equal(quorum_engine_submit(e, wf, &opts[i], collect, &res, NULL), 0);
	}
	assert_int_equal(quorum_engine_run(e, 1000), 5);
	assert_int_equal(mock_model_requests(h->mock, "limited"), 5);
	assert_int_equal(res.ok, 5);
	quorum_engine_free(e);
	assert_int_equal(res.done, 10);
	assert_int_equal(res.interrupted, 5);
	assert_int_equal(mock_model_requests(h->mock, "limited"), 5);
	release(&res);
	quorum_workflow_free(wf);
}

/* One run fails (its model refuses the key), one is interrupted while its
 * call is out; the eighteen others end ok with their answers. */
static void test_one_run_failing_leaves_others(void **state)
{
	struct harness *h = *state;
	struct quorum_workflow *good = load(h,
		"version: 1\n"
		"models:\n"
		"  a: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: a}\n"
		"  s: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: slow}\n"
		"nodes:\n"
		"  ask: {kind: generate, models: [a], prompt: \"{{ query }}\"}\n"
		"  wait: {kind: generate, models: [s], prompt: \"{{ query }}\"}\n"
		"output: ask\n");
	struct quorum_workflow *bad = load(h,
		"version: 1\n"
		"models:\n"
		"  d: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: dead,"
		" retries: 0}\n"
		"nodes:\n"
		"  ask: {kind: generate, models: [d], prompt: \"{{ query }}\"}\n");
	struct quorum_engine *e = quorum_engine_new(-1);
	static struct quorum_options opts[20];
	static volatile sig_atomic_t stop_one;
	stop_one = 0;
	struct results res = {0};
	for (int i = 0; i < 20; i++) {
		opts[i] = (struct quorum_options){.query = "q", .wake_fd = -1};
		if (i == 7)
			opts[i].interrupt = &stop_one;
		assert_int_equal(quorum_engine_submit(e, i == 3 ? bad : good, &opts[i], collect,
						      &res, NULL), 0);
	}
	assert_true(quorum_engine_run(e, 300) > 0);
	stop_one = 1;
	quorum_engine_wakeup(e);
	assert_int_equal(quorum_engine_run(e, -1), 0);
	assert_int_equal(res.done, 20);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.interrupted, 1);
	/* the rest are partial: their slow node is cut by nothing, so ok */
	size_t answered = 0;
	for (size_t i = 0; i < res.nkept; i++) {
		const char *out = quorum_report_output(res.kept[i]);
		if (out && !strcmp(out, "Answer: 4"))
			answered++;
	}
	assert_true(answered >= 18);
	release(&res);
	quorum_engine_free(e);
	quorum_workflow_free(good);
	quorum_workflow_free(bad);
}

int main(void)
{
	quorum_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_200_runs_share_one_engine),
		cmocka_unit_test(test_rpm_holds_across_runs),
		cmocka_unit_test(test_one_run_failing_leaves_others),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	quorum_global_cleanup();
	return rc;
}
