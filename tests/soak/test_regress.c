/* Engine bugs the soak found, each pinned down as one small run over the
 * in-process mock, so the default integration suite keeps them fixed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../integration/harness.h"

static const char scenario[] =
	"models:\n"
	"  good: {answer: 'the good answer'}\n"
	"  flaky: {faults: [{type: status, status: 500}]}\n"
	"  slow: {answer: 'slow answer', latency: 100ms}\n"
	"  once: {answer: 'second try', faults: [{type: status, status: 500, first: 1}]}\n"
	"  sloth: {answer: 'at last', latency: 2500ms}\n"
	"  late: {answer: 'late answer', latency: 1s}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A call waits out its backoff while other calls fail its model three
 * times in a row; when the retry comes, the model is skipped and the
 * cascade moves on to `good`, a model listed earlier. The call for it
 * used to queue behind the pump that had just served that model: with
 * nothing else in flight the run ended "internal error: the run
 * stalled" (and, with calls in flight, the call waited for their next
 * event). */
static void test_next_call_after_skipped_model(void **state)
{
	struct harness *h = *state;
	h_workflow(h,
		   "version: 1\n"
		   "defaults: {timeout: 2s, retries: 1}\n"
		   "models:\n"
		   "  good: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: good}\n"
		   "  flaky: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: flaky}\n"
		   "  slow: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: slow}\n"
		   "nodes:\n"
		   "  c: {kind: cascade, models: [flaky, good], prompt: \"{{ query }}\","
		   " accept: {regex: answer}}\n"
		   "  wait: {kind: generate, models: [slow], prompt: \"{{ query }}\"}\n"
		   "  burn:\n"
		   "    kind: generate\n"
		   "    needs: [wait]\n"
		   "    models: [flaky]\n"
		   "    samples: 3\n"
		   "    retries: 0\n"
		   "    prompt: \"{{ query }}\"\n"
		   "output: c\n");
	const char *status = h_run(h, "q", NULL);
	const cJSON *c = h_node(h, "c");
	if (jstr(c, "error"))
		fail_msg("the cascade failed: %s", jstr(c, "error"));
	assert_string_equal(status, "partial");
	assert_string_equal(jstr(c, "status"), "ok");
	assert_string_equal(jstr(c, "output"), "the good answer");
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(c, "responses");
	assert_int_equal(cJSON_GetArraySize(resp), 2);
	const cJSON *first = cJSON_GetArrayItem(resp, 0);
	assert_string_equal(jstr(first, "status"), "failed");
	assert_non_null(strstr(jstr(cJSON_GetObjectItem(first, "error"), "message"),
			       "skipped"));
	assert_string_equal(jstr(h_node(h, "burn"), "status"), "failed");
	/* The retry waited at most 500 ms; nothing after it should wait. */
	assert_true(cJSON_GetObjectItem(h->report, "wall_ms")->valuedouble < 1500);
}

/* The t_ms of the trace's first event of that kind for slot 0's attempt
 * n; -1 when there is none. */
static double trace_ms(const char *path, const char *event, int attempt)
{
	char *text = h_read(path), want[64];
	snprintf(want, sizeof(want), "\"event\":\"%s\"", event);
	double ms = -1;
	for (char *line = text; ms < 0 && line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		cJSON *j = strstr(line, want) ? cJSON_Parse(line) : NULL;
		const cJSON *slot = cJSON_GetObjectItem(j, "slot");
		const cJSON *att = cJSON_GetObjectItem(j, "attempt");
		if (j && slot && slot->valueint == 0 && att && att->valueint == attempt)
			ms = cJSON_GetObjectItem(j, "t_ms")->valuedouble;
		cJSON_Delete(j);
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	return ms;
}

/* A retry whose backoff ends while another call is in flight starts
 * then. It used to wait for the loop's next event: with a wake pipe (the
 * CLI's) that was the other call's answer, here 2.5 s later. */
static void test_retry_starts_when_due(void **state)
{
	struct harness *h = *state;
	h_workflow(h,
		   "version: 1\n"
		   "defaults: {retries: 1}\n"
		   "models:\n"
		   "  once: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: once}\n"
		   "  sloth: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: sloth}\n"
		   "nodes:\n"
		   "  a: {kind: generate, models: [once, sloth], prompt: \"{{ query }}\"}\n");
	char *errors = NULL, trace[400];
	snprintf(trace, sizeof(trace), "%s/retry.jsonl", h->dir);
	struct quorum_workflow *wf = quorum_workflow_load(h->wf_path, &errors);
	assert_non_null(wf);
	int wake[2];
	assert_int_equal(pipe(wake), 0);
	struct quorum_options o = {.query = "q", .trace_path = trace, .wake_fd = wake[0]};
	struct quorum_report *rep = quorum_run(wf, &o, &errors);
	assert_non_null(rep);
	assert_string_equal(quorum_report_status(rep), "ok");
	quorum_report_free(rep);
	quorum_workflow_free(wf);
	close(wake[0]);
	close(wake[1]);
	double due = trace_ms(trace, "retry", 2), started = trace_ms(trace, "attempt_start", 2);
	assert_true(due >= 0 && started >= 0);
	/* The backoff is at most 500 ms; then it starts at once. */
	if (started > 1000)
		fail_msg("the retry started at %.0f ms, its backoff began at %.0f ms",
			 started, due);
}

/* A cascade that has escalated once, then is cancelled because the node
 * that needs it can no longer run: its log of steps was heap memory that
 * only the cascade's own end freed, so it leaked (LeakSanitizer, under
 * the sanitized build, fails this test at exit if it comes back). */
static void test_cancelled_cascade(void **state)
{
	struct harness *h = *state;
	h_workflow(h,
		   "version: 1\n"
		   "defaults: {retries: 0}\n"
		   "models:\n"
		   "  flaky: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: flaky}\n"
		   "  late: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: late}\n"
		   "  slow: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: slow}\n"
		   "nodes:\n"
		   "  c: {kind: cascade, models: [flaky, late], prompt: \"{{ query }}\","
		   " accept: {regex: answer}}\n"
		   "  wait: {kind: generate, models: [slow], prompt: \"{{ query }}\"}\n"
		   "  bad: {kind: generate, needs: [wait], models: [flaky], prompt: \"{{ query }}\"}\n"
		   "  out: {kind: template, text: \"{{ nodes.c.output }} {{ nodes.bad.output }}\"}\n");
	assert_string_equal(h_run(h, "q", NULL), "failed");
	const cJSON *c = h_node(h, "c");
	assert_string_equal(jstr(c, "status"), "skipped");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(c, "error");
	assert_string_equal(jstr(err, "class"), "cancelled");
	assert_string_equal(jstr(err, "message"), "no node needs its output any more");
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(c, "responses");
	assert_string_equal(jstr(cJSON_GetArrayItem(resp, 1), "status"), "cancelled");
}

int main(void)
{
	quorum_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_call_after_skipped_model),
		cmocka_unit_test(test_retry_starts_when_due),
		cmocka_unit_test(test_cancelled_cascade),
	};
	int rc = cmocka_run_group_tests_name("soak regressions", tests, setup, teardown);
	quorum_global_cleanup();
	return rc;
}
