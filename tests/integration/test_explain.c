/* A run explains itself where the user looks: standard error says what
 * failed and why, in words, without --json; the command line takes what
 * users give it (-, --, many inputs) and never fails silently. */
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
	"  ok-model: {latency: 5ms, answer: \"the answer\"}\n"
	"  other: {latency: 5ms, answer: \"another answer\"}\n"
	"  prose: {latency: 5ms, answer: \"no short answer here\"}\n"
	"  dead: {latency: 5ms, answer: x, faults: [{type: status, status: 401,"
	" message: \"Incorrect API key provided: sk-...abcd\"}]}\n"
	"  limited: {latency: 5ms, answer: \"after the wait\","
	" faults: [{type: status, status: 429, retry_after: 1, first: 1}]}\n"
	"  hang: {answer: x, faults: [{type: hang}]}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

static const char models_yaml[] =
	"version: 1\n"
	"models:\n"
	"  ok: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: ok-model}\n"
	"  other: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: other}\n"
	"  prose: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: prose}\n"
	"  dead: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: dead,"
	" retries: 0, max_concurrency: 1}\n"
	"  rescued: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: dead,"
	" retries: 0, fallback: [ok]}\n"
	"  limited: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: limited}\n"
	"  hang: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: hang}\n"
	"nodes:\n";

static void write_wf(struct harness *h, const char *nodes)
{
	char yaml[4096];
	snprintf(yaml, sizeof(yaml), "%s%s", models_yaml, nodes);
	h_workflow(h, yaml);
}

static void has(const char *text, const char *want)
{
	if (!text || !strstr(text, want))
		fail_msg("expected '%s' in:\n%s", want, text ? text : "(null)");
}

/* A failed run says on stderr which call failed, where, how and in the
 * provider's words, and which node was skipped because of it; --quiet and
 * --json do not hide it. */
static void test_failed_run_explains(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [dead], prompt: \"{{ query }}\"}\n"
		    "  final: {kind: synthesize, from: ask, model: ok}\n");
	static const char *const variants[] = {"", " --quiet", " --json", " --quiet --json"};
	char port[32];
	snprintf(port, sizeof(port), "127.0.0.1:%d", mock_port(h->mock));
	for (size_t i = 0; i < 4; i++) {
		char args[256], *out, *err;
		snprintf(args, sizeof(args), "run wf.yaml 'a question'%s", variants[i]);
		assert_int_equal(h_cli(h, args, &out, &err), 1);
		has(err, "quorum: run failed: no answer");
		has(err, "ask (generate) failed");
		has(err, "dead (");
		has(err, port);
		has(err, "authentication failed, HTTP 401: Incorrect API key provided");
		has(err, "final (synthesize) skipped: needs 'ask', which failed");
		assert_null(strstr(err, "\033["));
		free(out);
		free(err);
	}
}

/* A partial run prints its answer on stdout and, on stderr, what went
 * wrong: the degraded vote and why, the call that a fallback rescued with
 * its first error. */
static void test_partial_run_explains(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [prose, rescued], prompt: \"{{ query }}\"}\n"
		    "  count: {kind: vote, from: ask, extract: \"regex:Answer:\\\\s*(.+)\"}\n"
		    "  final: {kind: template, text: \"{{ nodes.ask.output }}\"}\n"
		    "output: final\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --quiet", &out, &err), 0);
	assert_string_equal(out, "no short answer here\n");
	has(err, "quorum: run partial");
	has(err, "count (vote) degraded: no candidate has an answer the extract mode can find");
	has(err, "rescued (");
	has(err, "authentication failed, HTTP 401");
	has(err, "answered by fallback ok");
	free(out);
	free(err);
}

/* A model the breaker skips reports its first error, not "skipped". */
static void test_breaker_keeps_first_error(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [dead], samples: 5,"
		    " prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --json", &out, &err), 1);
	cJSON *rep = cJSON_Parse(out);
	assert_non_null(rep);
	const cJSON *resp = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "nodes"), "ask"), "responses");
	assert_int_equal(cJSON_GetArraySize(resp), 5);
	const cJSON *last = cJSON_GetArrayItem(resp, 4);
	assert_int_equal(cJSON_GetObjectItem(last, "attempts")->valueint, 0);
	const cJSON *e = cJSON_GetObjectItem(last, "error");
	assert_string_equal(cJSON_GetObjectItem(e, "class")->valuestring, "auth");
	assert_int_equal(cJSON_GetObjectItem(e, "http_status")->valueint, 401);
	has(cJSON_GetObjectItem(e, "message")->valuestring,
	    "failed 3 times in a row; its first error: Incorrect API key provided");
	has(err, "authentication failed, HTTP 401: model 'dead' skipped");
	cJSON_Delete(rep);
	free(out);
	free(err);
}

/* Colours only when asked for, or on a terminal without NO_COLOR. */
static void test_color(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [dead], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --color=always", &out, &err), 1);
	has(err, "\033[");
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml q --color never", &out, &err), 1);
	assert_null(strstr(err, "\033["));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml q --color=sometimes", &out, &err), 2);
	has(err, "quorum: --color wants auto, always or never, got 'sometimes'");
	free(out);
	free(err);
	/* On a terminal: colours unless NO_COLOR; the totals line last. */
	char cmd[2048];
	const char *bin = getenv("QUORUM_BIN");
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && TERM=xterm script -qec '%s run wf.yaml q >out.txt' /dev/null "
		 ">tty.txt 2>&1; TERM=xterm NO_COLOR=1 script -qec '%s run wf.yaml q "
		 ">out.txt' /dev/null >tty-nc.txt 2>&1",
		 h->dir, bin ? bin : "quorum", bin ? bin : "quorum");
	h_sh(cmd);
	char path[400];
	snprintf(path, sizeof(path), "%s/tty.txt", h->dir);
	char *tty = h_read(path);
	has(tty, "\033[31m");
	has(tty, "quorum: 1 call, tokens not reported, $0.0000 (some prices unknown)");
	free(tty);
	snprintf(path, sizeof(path), "%s/tty-nc.txt", h->dir);
	tty = h_read(path);
	assert_null(strstr(tty, "\033[31m"));
	has(tty, "quorum: run failed");
	free(tty);
	/* TERM=dumb: no colours, no cursor movement; a line per node */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && TERM=dumb script -qec '%s run wf.yaml q >out.txt' /dev/null "
		 ">tty-dumb.txt 2>&1", h->dir, bin ? bin : "quorum");
	h_sh(cmd);
	snprintf(path, sizeof(path), "%s/tty-dumb.txt", h->dir);
	tty = h_read(path);
	assert_null(strstr(tty, "\033["));
	has(tty, "quorum: ask failed, 0 of 1 calls ok");
	free(tty);
}

/* While a call waits out a 429, the progress says so. */
static void test_progress_shows_retry(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  b: {kind: generate, models: [limited], prompt: \"{{ query }}\"}\n");
	mock_reset_stats(h->mock);
	FILE *progress = tmpfile();
	assert_non_null(progress);
	struct quorum_options o = {.wake_fd = -1, .progress = progress};
	assert_string_equal(h_run_with(h, "q", NULL, &o), "ok");
	fseek(progress, 0, SEEK_SET);
	char text[65536];
	size_t n = fread(text, 1, sizeof(text) - 1, progress);
	text[n] = '\0';
	fclose(progress);
	has(text, "(limited: 429, retry 2/3 in ");
	assert_null(strstr(text, "\033[3")); /* no colour unless asked */
}

/* A generate as the output prints every answer under its model. */
static void test_every_answer_labelled(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [ok, other], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q", &out, &err), 0);
	assert_string_equal(out, "=== ok ===\nthe answer\n\n=== other ===\nanother answer\n");
	free(out);
	free(err);
}

/* --dry-run prints the first layer's calls and the worst case; nothing
 * is sent. */
static void test_dry_run(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [ok, other], system: \"be brief\","
		    " prompt: \"Q: {{ query }}\"}\n"
		    "  final: {kind: synthesize, from: ask, model: ok}\n");
	mock_reset_stats(h->mock);
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml 'why is the sky blue?' --dry-run", &out, &err), 0);
	char url[200];
	snprintf(url, sizeof(url), "ok: POST %s/chat/completions (openai, model ok-model)", h->url);
	has(out, url);
	has(out, "system: be brief");
	has(out, "user: Q: why is the sky blue?");
	has(out, "then, once the answers they need exist: final (synthesize)");
	has(out, "worst case per run: 3 calls");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 0);
	free(out);
	free(err);
	/* the checks still come first */
	h_workflow(h, "version: 1\n"
		      "models:\n  m: {provider: openai, model: gpt-4o-mini}\n"
		      "nodes:\n  a: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	assert_int_equal(h_cli(h, "run wf.yaml q --dry-run", &out, &err), 2);
	has(err, "OPENAI_API_KEY");
	free(out);
	free(err);
}

/* --dry-run shows the calls a route, a bandit and a model with several
 * endpoints may make: ask routes, the embedding that decides, every arm
 * and the reward judge, every endpoint. */
static void test_dry_run_routes_bandits_endpoints(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "models:\n"
		      "  ok: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: ok-model}\n"
		      "  emb: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: e}\n"
		      "  two:\n"
		      "    provider: openai\n"
		      "    model: other\n"
		      "    strategy: least_busy\n"
		      "    endpoints:\n"
		      "      - {base_url: BASE_URL, api_key_env: \"\"}\n"
		      "      - {base_url: \"http://127.0.0.1:9/v1\", api_key_env: \"\"}\n"
		      "output: b\n"
		      "nodes:\n"
		      "  r:\n"
		      "    kind: route\n"
		      "    embed: emb\n"
		      "    routes:\n"
		      "      - {ask: ok}\n"
		      "      - {when: {semantic: {examples: [refund]}}, to: two}\n"
		      "    default: ok\n"
		      "  b: {kind: bandit, arms: [ok, two], reward: {judge: ok}, "
		      "state: state.sqlite}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml 'why?' --dry-run", &out, &err), 0);
	char want[300];
	has(out, "  routes[0]: ask 'ok' (its answer is the output unless it declines)\n");
	has(out, "reply with exactly [[DECLINE]] and nothing else.");
	has(out, "  route: routes[1] needs the prompt's embedding");
	snprintf(want, sizeof(want), "  emb: POST %s/embeddings (openai, model e, embeddings)\n"
		 "    text: why?\n", h->url);
	has(out, want);
	has(out, "  bandit: one of 2 arms, chosen by policy thompson from state.sqlite\n");
	snprintf(want, sizeof(want), "  two: POST %s/chat/completions (openai, model other)\n"
		 "    or POST http://127.0.0.1:9/v1/chat/completions (endpoint 2 of 2, "
		 "strategy least_busy)\n", h->url);
	has(out, want);
	has(out, "  then its reward judge rates the answer:\n");
	/* route: ask, the prompt's and the examples' embeddings, the target;
	 * bandit: arm and judge */
	has(out, "worst case per run: 6 calls");
	free(out);
	free(err);
}

/* The trace records what each attempt sent. */
static void test_trace_has_messages(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [ok], system: \"sys text\","
		    " prompt: \"user text {{ query }}\"}\n");
	assert_string_equal(h_run(h, "q1", "t.jsonl"), "ok");
	char path[400];
	snprintf(path, sizeof(path), "%s/t.jsonl", h->dir);
	char *trace = h_read(path);
	has(trace, "\"messages\":[{\"role\":\"system\",\"content\":\"sys text\"},"
		   "{\"role\":\"user\",\"content\":\"user text q1\"}]");
	has(trace, "\"latency_ms\":");
	has(trace, "\"event\":\"node_end\",\"node\":\"ask\",\"status\":\"ok\",\"wall_ms\":");
	free(trace);
}

/* "--" ends options; "-" is standard input, for the query or the file. */
static void test_dash_arguments(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: template, text: \"[{{ query }}]\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml -- -v", &out, &err), 0);
	assert_string_equal(out, "[-v]\n");
	free(out);
	free(err);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cd '%s' && echo 'from stdin' | %s run wf.yaml - >out.txt",
		 h->dir, getenv("QUORUM_BIN"));
	assert_int_equal(h_sh(cmd), 0);
	char path[400];
	snprintf(path, sizeof(path), "%s/out.txt", h->dir);
	out = h_read(path);
	assert_string_equal(out, "[from stdin]\n");
	free(out);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s run - 'q from args' <wf.yaml >out.txt",
		 h->dir, getenv("QUORUM_BIN"));
	assert_int_equal(h_sh(cmd), 0);
	out = h_read(path);
	assert_string_equal(out, "[q from args]\n");
	free(out);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s validate - <wf.yaml >out.txt",
		 h->dir, getenv("QUORUM_BIN"));
	assert_int_equal(h_sh(cmd), 0);
	out = h_read(path);
	has(out, "<stdin>: ok");
	free(out);
	assert_int_equal(h_cli(h, "run - q --input x=@-", &out, &err), 2);
	has(err, "quorum: standard input cannot give both --input x and the workflow");
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml q --trace -", &out, &err), 2);
	has(err, "quorum: --trace - would mix the trace with the answer");
	free(out);
	free(err);
}

/* An answer that cannot be written is an error: a full disk, a closed
 * standard output, a broken pipe. */
static void test_write_errors(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [ok], prompt: \"{{ query }}\"}\n");
	static const char *const cases[][2] = {
		{"run wf.yaml q >/dev/full", "cannot write the answer to standard output: No "
					     "space left on device"},
		{"run wf.yaml q --json >/dev/full", "cannot write the report to standard output"},
		{"validate wf.yaml >/dev/full", "cannot write the summary to standard output"},
		{"graph wf.yaml >/dev/full", "cannot write the graph to standard output"},
		{"run wf.yaml q >&-", "cannot write the answer to standard output: Bad file "
				      "descriptor"},
		{"run wf.yaml q --trace /dev/full", "cannot write the trace file '/dev/full': No "
						    "space left on device"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "cd '%s' && %s %s 2>err.txt", h->dir,
			 getenv("QUORUM_BIN"), cases[i][0]);
		assert_int_equal(h_sh(cmd), 1);
		char path[400];
		snprintf(path, sizeof(path), "%s/err.txt", h->dir);
		char *err = h_read(path);
		char want[256];
		snprintf(want, sizeof(want), "quorum: %s", cases[i][1]);
		has(err, want);
		free(err);
	}
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && bash -c '%s run wf.yaml q --json 2>err.txt | (exec 0<&-; true); "
		 "exit ${PIPESTATUS[0]}'", h->dir, getenv("QUORUM_BIN"));
	int rc = h_sh(cmd);
	char path[400];
	snprintf(path, sizeof(path), "%s/err.txt", h->dir);
	char *err = h_read(path);
	/* A reader that left before the answer is a broken pipe. */
	if (rc != 0) {
		assert_int_equal(rc, 1);
		has(err, "Broken pipe");
	}
	free(err);
}

/* Inputs: as many as a user gives; files that are directories or hold a
 * NUL byte are refused with the reason. */
static void test_inputs(void **state)
{
	struct harness *h = *state;
	char yaml[8192];
	int n = snprintf(yaml, sizeof(yaml), "version: 1\ninputs:\n");
	for (int i = 0; i < 40; i++)
		n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "  in%d: {required: true}\n", i);
	n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
		      "nodes:\n  t: {kind: template, text: \"{{ inputs.in0 }}{{ inputs.in39 }}\"}\n");
	h_workflow(h, yaml);
	h_write(h, "v.txt", "v");
	char args[4096];
	n = snprintf(args, sizeof(args), "run wf.yaml q");
	for (int i = 0; i < 40; i++)
		n += snprintf(args + n, sizeof(args) - (size_t)n, " --input in%d=@v.txt", i);
	char *out, *err;
	assert_int_equal(h_cli(h, args, &out, &err), 0);
	assert_string_equal(out, "vv\n");
	free(out);
	free(err);

	write_wf(h, "  t: {kind: template, text: \"{{ query }}\"}\n");
	assert_int_equal(h_cli(h, "run wf.yaml q --input x=@/tmp", &out, &err), 2);
	has(err, "quorum: cannot read '/tmp' for --input x: Is a directory");
	free(out);
	free(err);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cd '%s' && printf 'ab\\0cd' > nul.bin && "
		 "printf 'why\\0not' | %s run wf.yaml 2>err.txt", h->dir, getenv("QUORUM_BIN"));
	assert_int_equal(h_sh(cmd), 2);
	char path[400];
	snprintf(path, sizeof(path), "%s/err.txt", h->dir);
	err = h_read(path);
	has(err, "quorum: the query on standard input holds a NUL byte at offset 3");
	free(err);
	assert_int_equal(h_cli(h, "run wf.yaml q --input x=@nul.bin", &out, &err), 2);
	has(err, "quorum: --input x holds a NUL byte at offset 2");
	free(out);
	free(err);
}

/* The wall-time limit ends a hung run when it passes, terminal or not;
 * SIGHUP ends a run like SIGTERM, report written. */
static void test_wall_limit_and_hangup(void **state)
{
	struct harness *h = *state;
	write_wf(h, "  ask: {kind: generate, models: [hang], prompt: \"{{ query }}\"}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml q --json --limit wall=1s", &out, &err), 1);
	cJSON *rep = cJSON_Parse(out);
	assert_non_null(rep);
	/* curl's own 10 s connect timer used to hold the loop past it */
	assert_true(cJSON_GetObjectItem(rep, "wall_ms")->valuedouble < 8000);
	cJSON_Delete(rep);
	free(out);
	free(err);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && { %s run wf.yaml q --json >out.txt 2>err.txt & pid=$!; "
		 "sleep 0.5; kill -HUP $pid; wait $pid; }", h->dir, getenv("QUORUM_BIN"));
	assert_int_equal(h_sh(cmd), 130);
	char path[400];
	snprintf(path, sizeof(path), "%s/out.txt", h->dir);
	out = h_read(path);
	has(out, "\"status\":\"interrupted\"");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_run_explains),
		cmocka_unit_test(test_partial_run_explains),
		cmocka_unit_test(test_breaker_keeps_first_error),
		cmocka_unit_test(test_color),
		cmocka_unit_test(test_progress_shows_retry),
		cmocka_unit_test(test_every_answer_labelled),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_dry_run_routes_bandits_endpoints),
		cmocka_unit_test(test_trace_has_messages),
		cmocka_unit_test(test_dash_arguments),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_inputs),
		cmocka_unit_test(test_wall_limit_and_hangup),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
