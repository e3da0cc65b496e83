/* quorum_run under memory exhaustion: allocation n fails, for n = 1, 2,
 * ... until a run no longer meets a failure. Each run either refuses to
 * start with a message (nothing half-made is reported) or returns a
 * report that is valid JSON; nothing crashes or leaks (ASan checks the
 * second). The mock server's threads are untouched: the failure count is
 * per thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../sim/sim.h"
#include "quorum.h"

static const char scenario[] =
	"models:\n"
	"  a: {answer: \"Answer: 4\"}\n"
	"  b: {answer: \"Answer: 4\"}\n"
	"  chair: {answer: \"four\"}\n";

static const char workflow[] =
	"version: 1\n"
	"models:\n"
	"  a: {provider: openai, base_url: %s, api_key_env: \"\", model: a}\n"
	"  b: {provider: anthropic, base_url: %s, api_key_env: \"\", model: b}\n"
	"  chair: {provider: gemini, base_url: %s, api_key_env: \"\", model: chair}\n"
	"nodes:\n"
	"  ask: {kind: generate, models: [a, b], prompt: \"{{ query }}\"}\n"
	"  count: {kind: vote, from: ask, extract: number}\n"
	"  final: {kind: synthesize, from: ask, model: chair,"
	" prompt: \"{{ query }} {{ nodes.count.output }}\"}\n";

static void test_every_allocation_failing(void **state)
{
	(void)state;
	struct qerr e = {0};
	struct mock *m = mock_start("s", scenario, strlen(scenario), 0, &e);
	assert_non_null(m);
	char dir[] = "/tmp/quorum-oom-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char url[64], wf_path[128], trace[128], yaml[2048];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", mock_port(m));
	snprintf(wf_path, sizeof(wf_path), "%s/wf.yaml", dir);
	snprintf(trace, sizeof(trace), "%s/t.jsonl", dir);
	snprintf(yaml, sizeof(yaml), workflow, url, url, url);
	FILE *f = fopen(wf_path, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	char *errors = NULL;
	struct quorum_workflow *wf = quorum_workflow_load(wf_path, &errors);
	assert_non_null(wf);
	struct quorum_options o = {.query = "2+2?", .trace_path = trace, .wake_fd = -1};
	int streak = 0, refused = 0, degraded = 0;
	long n;
	for (n = 1; n < 20000 && streak < 30; n++) {
		q_alloc_fail_after(n);
		struct quorum_report *rep = quorum_run(wf, &o, &errors);
		q_alloc_fail_after(0);
		if (!rep) {
			assert_non_null(errors);
			if (!strstr(errors, "out of memory"))
				fail_msg("allocation %ld: %s", n, errors);
			quorum_free(errors);
			errors = NULL;
			refused++;
			streak = 0;
			continue;
		}
		cJSON *json = cJSON_Parse(quorum_report_json(rep));
		assert_non_null(json);
		cJSON_Delete(json);
		if (!strcmp(quorum_report_status(rep), "ok") &&
		    !strcmp(quorum_report_output(rep), "four")) {
			streak++;
		} else {
			degraded++;
			streak = 0;
		}
		quorum_report_free(rep);
	}
	printf("# %ld allocation points: %d runs refused to start, %d ended not ok\n", n,
	       refused, degraded);
	assert_true(streak >= 30);
	assert_true(refused > 0);
	quorum_workflow_free(wf);
	mock_stop(m);
	unlink(wf_path);
	unlink(trace);
	rmdir(dir);
}

int main(void)
{
	quorum_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_allocation_failing),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	quorum_global_cleanup();
	return rc;
}
