/* quorum batch as a user drives it: a file of queries in, one report a
 * line out; malformed lines named and skipped; --resume after a stop;
 * SIGINT that leaves whole lines; two shards that make one run; and the
 * response cache, down to "a batch killed halfway, re-run with --cache and
 * --resume, makes exactly the calls that had not finished", counted by
 * the mock server. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031 /* Linux's, hidden without _GNU_SOURCE */
#endif

/* %s: slow's faults. With its first N requests hanging until the client
 * goes, a batch stopped then has those calls unfinished and all else done. */
#define SCENARIO \
	"models:\n" \
	"  fast-a: {answer: \"Answer: 4\"}\n" \
	"  fast-b: {answer: \"Answer: 4\"}\n" \
	"  slow: {answer: \"Answer: 4\"%s}\n" \
	"  cyc: {answers: [\"Answer: 1\", \"Answer: 2\", \"Answer: 3\"]}\n" \
	"  broken: {faults: [{type: status, status: 500}]}\n"

static const char council_wf[] =
	"version: 1\n"
	"defaults: {retries: 0}\n"
	"models:\n"
	"  a: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: fast-a,"
	" price: {input: 1, output: 2}}\n"
	"  b: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: fast-b,"
	" price: {input: 1, output: 2}}\n"
	"  s: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: slow,"
	" price: {input: 1, output: 2}}\n"
	"nodes:\n"
	"  ans: {kind: generate, models: [a, b, s], prompt: \"{{ query }}\"}\n"
	"  pick: {kind: vote, from: ans, extract: number}\n"
	"output: pick\n";

static int setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));
	char scenario[1024];
	snprintf(scenario, sizeof(scenario), SCENARIO, "");
	h_start(h, scenario);
	h_workflow(h, council_wf);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	h_stop(*state);
	free(*state);
	return 0;
}

/* n lines {"id": "qK", "query": "QK: what is 2 + 2?"} (ids: K from 1),
 * or without ids. */
static void write_queries(struct harness *h, const char *name, int n, int ids)
{
	char *text = calloc((size_t)n, 96);
	size_t len = 0;
	for (int k = 1; k <= n; k++)
		len += (size_t)(ids ? sprintf(text + len, "{\"id\": \"q%d\", \"query\": \"Q%d: what "
					      "is 2 + 2?\"}\n", k, k)
				   : sprintf(text + len, "{\"query\": \"Q%d: what is 2 + 2?\"}\n",
					     k));
	h_write(h, name, text);
	free(text);
}

/* The report lines of a file, parsed (NULL past the last). */
static cJSON **read_reports(struct harness *h, const char *name, size_t *n)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	char *text = h_read(path);
	assert_non_null(text);
	cJSON **v = calloc(strlen(text) + 2, sizeof(*v));
	*n = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		v[*n] = cJSON_Parse(line);
		if (!v[*n])
			fail_msg("%s: line %zu is not JSON: %.80s", name, *n + 1, line);
		++*n;
	}
	free(text);
	return v;
}

static void free_reports(cJSON **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(v[i]);
	free(v);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The id of a report as text ("q3", or "3" for a number). */
static void id_of(const cJSON *r, char *out, size_t n)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
	if (cJSON_IsString(id))
		snprintf(out, n, "%s", id->valuestring);
	else if (cJSON_IsNumber(id))
		snprintf(out, n, "%d", id->valueint);
	else
		fail_msg("a report without an id");
}

static long lines_in(struct harness *h, const char *name)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	char *text = h_read(path);
	long n = 0;
	for (const char *p = text; p && *p; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* `quorum ARGS` in the background, in the temp dir; its pid. */
static pid_t spawn(struct harness *h, const char *args)
{
	const char *bin = getenv("QUORUM_BIN");
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cd '%s' && exec %s %s </dev/null >bg-out.txt 2>bg-err.txt",
		 h->dir, bin ? bin : "quorum", args);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits (up to 30 s) until name has n lines. */
static void wait_lines(struct harness *h, const char *name, long n)
{
	for (int i = 0; i < 1500 && lines_in(h, name) < n; i++)
		sleep_ms(20);
	assert_int_equal(lines_in(h, name), n);
}

/* Waits (up to 30 s) until the cache holds n answers. */
static void wait_cached(struct harness *h, const char *cache, long n)
{
	char args[512], want[64];
	snprintf(args, sizeof(args), "cache stats --cache=%s", cache);
	snprintf(want, sizeof(want), "answers: %ld ", n);
	for (int i = 0; i < 1500; i++) {
		char *out = NULL, *err = NULL;
		h_cli(h, args, &out, &err);
		int done = out && strstr(out, want);
		free(out);
		free(err);
		if (done)
			return;
		sleep_ms(20);
	}
	fail_msg("the cache never held %ld answers", n);
}

/* ---- the tests ---- */

/* Every line runs, each report carries its line's id, a bare string is a
 * query, and malformed lines are named by number and skipped. */
static void test_lines_and_malformed(void **state)
{
	struct harness *h = *state;
	mock_reset_stats(h->mock);
	h_write(h, "in.jsonl",
		"{\"id\": 70, \"query\": \"Q1\"}\n"
		"not json at all\n"
		"\n"
		"{\"query\": 5}\n"
		"[1, 2]\n"
		"{\"id\": {\"x\": 1}, \"query\": \"Q2\"}\n"
		"\"Q3 as a bare string\"\n"
		"{\"id\": \"last\", \"query\": \"Q4\", \"inputs\": {\"n\": 3}}\n"
		"{\"id\": 9, \"query\": \"Q5\"} {\"id\": 10}\n"
		"{\"id\": 1e400, \"query\": \"Q6\"}\n"
		"{\"id\": 12345678901234567890, \"query\": \"Q7\"}\n"
		"{\"id\": 70, \"query\": \"Q8\"}\n"
		"{\"query\": \"Is 2\\u0000 + 2 = 5?\"}\n");
	char *out, *err;
	int rc = h_cli(h, "batch wf.yaml --in in.jsonl --out out.jsonl --parallel 4", &out,
		       &err);
	assert_int_equal(rc, 1); /* malformed lines */
	assert_non_null(strstr(err, "in.jsonl:2: not JSON"));
	assert_non_null(strstr(err, "in.jsonl:4: \"query\" must be a string"));
	assert_non_null(strstr(err, "in.jsonl:5: a line is an object or a string"));
	assert_non_null(strstr(err, "in.jsonl:6: \"id\" must be a string or a number"));
	/* An input the workflow does not declare: that line is refused, the
	 * others run. */
	assert_non_null(strstr(err, "in.jsonl:8: unknown input 'n'"));
	/* Two objects on a line are one broken line, not its first half. */
	assert_non_null(strstr(err, "in.jsonl:9: not JSON"));
	/* A number id that would go back out other than it came in (null, or
	 * rounded) could not be joined to its query. */
	assert_non_null(strstr(err, "in.jsonl:10: \"id\" as a number must be a whole number"));
	assert_non_null(strstr(err, "in.jsonl:11: \"id\" as a number must be a whole number"));
	/* Two reports with one id could not be told apart. */
	assert_non_null(strstr(err, "in.jsonl:12: the id of line 1 again"));
	/* A query cut short at a NUL would be asked as "Is 2". */
	assert_non_null(strstr(err, "in.jsonl:13: holds a NUL character"));
	size_t n;
	cJSON **r = read_reports(h, "out.jsonl", &n);
	assert_int_equal(n, 2);
	int got70 = 0, got7 = 0;
	for (size_t i = 0; i < n; i++) {
		char id[32];
		id_of(r[i], id, sizeof(id));
		got70 += !strcmp(id, "70");
		got7 += !strcmp(id, "7"); /* the bare string: its line number */
		assert_string_equal(str_of(r[i], "status"), "ok");
		assert_string_equal(str_of(r[i], "output"), "4");
		assert_non_null(cJSON_GetObjectItemCaseSensitive(r[i], "nodes"));
	}
	assert_int_equal(got70, 1);
	assert_int_equal(got7, 1);
	free_reports(r, n);
	free(out);
	free(err);
}

/* --resume skips the ids a report file has (not interrupted ones), and a
 * half-written last line is dropped before appending. */
static void test_resume(void **state)
{
	struct harness *h = *state;
	write_queries(h, "q.jsonl", 6, 1);
	char *out, *err;
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out done.jsonl", &out, &err), 0);
	free(out);
	free(err);
	/* Keep q1, q2 and q3, turn q3 into an interrupted one, and leave half
	 * a line as a killed writer would. */
	size_t n;
	cJSON **r = read_reports(h, "done.jsonl", &n);
	assert_int_equal(n, 6);
	char *text = calloc(1, 1 << 16);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		char id[32];
		id_of(r[i], id, sizeof(id));
		if (strcmp(id, "q1") && strcmp(id, "q2") && strcmp(id, "q3"))
			continue;
		if (!strcmp(id, "q3"))
			cJSON_ReplaceItemInObject(r[i], "status", cJSON_CreateString("interrupted"));
		char *line = cJSON_PrintUnformatted(r[i]);
		kept += (size_t)sprintf(text + kept, "%s\n", line);
		free(line);
	}
	strcat(text, "{\"id\":\"q4\",\"status\":\"ok\",\"outp");
	h_write(h, "out.jsonl", text);
	free(text);
	free_reports(r, n);

	mock_reset_stats(h->mock);
	long before = mock_model_requests(h->mock, "fast-a");
	int rc = h_cli(h, "batch wf.yaml --in q.jsonl --out out.jsonl --resume out.jsonl",
		       &out, &err);
	assert_int_equal(rc, 0);
	/* q3 (interrupted), q4 (half a line), q5, q6: four runs. */
	assert_int_equal(mock_model_requests(h->mock, "fast-a") - before, 4);
	r = read_reports(h, "out.jsonl", &n);
	assert_int_equal(n, 3 + 4);
	int seen[7] = {0};
	for (size_t i = 0; i < n; i++) {
		char id[32];
		id_of(r[i], id, sizeof(id));
		if (strcmp(str_of(r[i], "status"), "interrupted"))
			seen[atoi(id + 1)]++;
	}
	for (int k = 1; k <= 6; k++)
		assert_int_equal(seen[k], 1);
	free_reports(r, n);
	free(out);
	free(err);
}

/* Two shards, --shard 0/2 and 1/2, together are one run's ids (line
 * numbers, as the whole file counts them); so are two halves of a file
 * with ids, as GNU parallel --pipe hands them out. */
static void test_shards(void **state)
{
	struct harness *h = *state;
	write_queries(h, "q.jsonl", 9, 0);
	char *out, *err;
	const char *runs[] = {
		"batch wf.yaml --in q.jsonl --out all.jsonl",
		"batch wf.yaml --in q.jsonl --out s0.jsonl --shard 0/2",
		"batch wf.yaml --in q.jsonl --out s1.jsonl --shard 1/2",
	};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(h_cli(h, runs[i], &out, &err), 0);
		free(out);
		free(err);
	}
	size_t na, n0, n1;
	cJSON **all = read_reports(h, "all.jsonl", &na);
	cJSON **s0 = read_reports(h, "s0.jsonl", &n0);
	cJSON **s1 = read_reports(h, "s1.jsonl", &n1);
	assert_int_equal(na, 9);
	assert_int_equal(n0, 5); /* lines 1, 3, 5, 7, 9 */
	assert_int_equal(n1, 4);
	int in_all[10] = {0}, in_shards[10] = {0};
	char id[32];
	for (size_t i = 0; i < na; i++) {
		id_of(all[i], id, sizeof(id));
		in_all[atoi(id)]++;
	}
	for (size_t i = 0; i < n0; i++) {
		id_of(s0[i], id, sizeof(id));
		assert_int_equal(atoi(id) % 2, 1);
		in_shards[atoi(id)]++;
	}
	for (size_t i = 0; i < n1; i++) {
		id_of(s1[i], id, sizeof(id));
		in_shards[atoi(id)]++;
	}
	for (int k = 1; k <= 9; k++) {
		assert_int_equal(in_all[k], 1);
		assert_int_equal(in_shards[k], 1);
	}
	free_reports(all, na);
	free_reports(s0, n0);
	free_reports(s1, n1);

	/* Halves of a file with ids, through standard input. */
	write_queries(h, "ids.jsonl", 8, 1);
	const char *bin = getenv("QUORUM_BIN");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "cd '%s' && head -n 4 ids.jsonl | %s batch wf.yaml > "
		 "p0.jsonl 2>/dev/null && tail -n +5 ids.jsonl | %s batch wf.yaml > p1.jsonl "
		 "2>/dev/null", h->dir, bin, bin);
	assert_int_equal(h_sh(cmd), 0);
	cJSON **p0 = read_reports(h, "p0.jsonl", &n0);
	cJSON **p1 = read_reports(h, "p1.jsonl", &n1);
	assert_int_equal(n0 + n1, 8);
	int seen[9] = {0};
	for (size_t i = 0; i < n0 + n1; i++) {
		id_of(i < n0 ? p0[i] : p1[i - n0], id, sizeof(id));
		seen[atoi(id + 1)]++;
	}
	for (int k = 1; k <= 8; k++)
		assert_int_equal(seen[k], 1);
	free_reports(p0, n0);
	free_reports(p1, n1);
}

/* SIGINT: the runs in flight end as interrupted, every line is whole,
 * the status is 130, and --resume runs just the interrupted ones. */
static void test_interrupt(void **state)
{
	struct harness *h = *state;
	char scenario[1024];
	mock_stop(h->mock);
	snprintf(scenario, sizeof(scenario), SCENARIO, ", faults: [{type: hang, first: 5}]");
	struct qerr e = {0};
	h->mock = mock_start("scenario", scenario, strlen(scenario), 0, &e);
	assert_non_null(h->mock);
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%d/v1", mock_port(h->mock));
	h_workflow(h, council_wf);
	write_queries(h, "q.jsonl", 12, 1);
	pid_t pid = spawn(h, "batch wf.yaml --in q.jsonl --out out.jsonl --parallel 12");
	wait_lines(h, "out.jsonl", 7); /* every run but the 5 on a hung call */
	kill(pid, SIGINT);
	assert_int_equal(wait_exit(pid), QUORUM_EXIT_INTERRUPTED);
	size_t n;
	cJSON **r = read_reports(h, "out.jsonl", &n);
	assert_int_equal(n, 12);
	int interrupted = 0;
	for (size_t i = 0; i < n; i++)
		interrupted += !strcmp(str_of(r[i], "status"), "interrupted");
	assert_int_equal(interrupted, 5);
	free_reports(r, n);

	char *out, *err;
	long before = mock_model_requests(h->mock, "fast-a");
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out out.jsonl --resume "
			      "out.jsonl", &out, &err), 0);
	assert_int_equal(mock_model_requests(h->mock, "fast-a") - before, 5);
	assert_int_equal(lines_in(h, "out.jsonl"), 17);
	free(out);
	free(err);
}

/* A second batch over the same queries with --cache sends nothing, and its
 * reports say which calls the cache answered and what they saved. */
static void test_cache_hits(void **state)
{
	struct harness *h = *state;
	write_queries(h, "q.jsonl", 4, 1);
	char *out, *err;
	/* slow hangs on its first 10 requests: use a workflow without it. */
	h_workflow(h, "version: 1\n"
		      "defaults: {retries: 0}\n"
		      "models:\n"
		      "  a: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		      " model: fast-a, price: {input: 1, output: 2}}\n"
		      "  b: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		      " model: fast-b, price: {input: 1, output: 2}}\n"
		      "nodes:\n"
		      "  ans: {kind: generate, models: [a, b], prompt: \"{{ query }}\"}\n"
		      "  pick: {kind: vote, from: ans, extract: number}\n"
		      "output: pick\n");
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out one.jsonl --cache=c.db",
			       &out, &err), 0);
	free(out);
	free(err);
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	long before = st.requests;
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out two.jsonl --cache=c.db",
			       &out, &err), 0);
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests - before, 0);
	size_t n;
	cJSON **r = read_reports(h, "two.jsonl", &n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(str_of(r[i], "output"), "4");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(r[i], "usage");
		assert_int_equal(cJSON_GetObjectItemCaseSensitive(u, "calls")->valueint, 0);
		assert_int_equal(cJSON_GetObjectItemCaseSensitive(u, "cached")->valueint, 2);
		assert_true(cJSON_GetObjectItemCaseSensitive(u, "saved_usd")->valuedouble > 0);
		assert_true(cJSON_GetObjectItemCaseSensitive(r[i], "cost_usd")->valuedouble == 0);
		const cJSON *resp = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(r[i], "nodes"), "ans"),
			"responses");
		const cJSON *x;
		cJSON_ArrayForEach(x, resp) {
			assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "cached")));
			assert_int_equal(cJSON_GetObjectItemCaseSensitive(x, "attempts")->valueint, 0);
		}
	}
	free_reports(r, n);
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "cache stats --cache=c.db", &out, &err), 0);
	assert_non_null(strstr(out, "answers: 8 "));
	assert_non_null(strstr(out, "8 hits, 8 misses"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "cache clear --cache=c.db", &out, &err), 0);
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "cache stats --cache=c.db", &out, &err), 0);
	assert_non_null(strstr(out, "answers: 0 "));
	free(out);
	free(err);
	h_workflow(h, council_wf);
}

/* The promise: killed halfway, re-run with --cache and --resume, the batch
 * makes exactly the calls that had not finished. slow's first 10 requests
 * hang, so 10 of 20 lines finish and the other 10 have their two fast
 * answers in the cache and their slow call unfinished. */
static void test_killed_then_cache_resume(void **state)
{
	struct harness *h = *state;
	char scenario[1024];
	mock_stop(h->mock);
	snprintf(scenario, sizeof(scenario), SCENARIO, ", faults: [{type: hang, first: 10}]");
	struct qerr e = {0};
	h->mock = mock_start("scenario", scenario, strlen(scenario), 0, &e);
	assert_non_null(h->mock);
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%d/v1", mock_port(h->mock));
	h_workflow(h, council_wf);
	write_queries(h, "q.jsonl", 20, 1);
	pid_t pid = spawn(h, "batch wf.yaml --in q.jsonl --out out.jsonl --parallel 20 "
			     "--cache=kill.db");
	wait_lines(h, "out.jsonl", 10);
	wait_cached(h, "kill.db", 10 * 3 + 10 * 2);
	kill(pid, SIGKILL);
	wait_exit(pid);

	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	long requests = st.requests, slow = mock_model_requests(h->mock, "slow");
	long fast = mock_model_requests(h->mock, "fast-a") + mock_model_requests(h->mock, "fast-b");
	assert_int_equal(slow, 20);
	assert_int_equal(fast, 40);
	char *out, *err;
	int rc = h_cli(h, "batch wf.yaml --in q.jsonl --out out.jsonl --resume out.jsonl "
			  "--cache=kill.db", &out, &err);
	assert_int_equal(rc, 0);
	mock_get_stats(h->mock, &st);
	/* The 10 slow calls that never finished, and nothing else. */
	assert_int_equal(st.requests - requests, 10);
	assert_int_equal(mock_model_requests(h->mock, "slow") - slow, 10);
	size_t n;
	cJSON **r = read_reports(h, "out.jsonl", &n);
	assert_int_equal(n, 20);
	int seen[21] = {0};
	for (size_t i = 0; i < n; i++) {
		char id[32];
		id_of(r[i], id, sizeof(id));
		assert_string_equal(str_of(r[i], "status"), "ok");
		seen[atoi(id + 1)]++;
	}
	for (int k = 1; k <= 20; k++)
		assert_int_equal(seen[k], 1);
	free_reports(r, n);
	free(out);
	free(err);
}

/* Samples of one model stay distinct in the cache, so self-consistency
 * is not collapsed into one answer; errors are never cached. */
static void test_cache_samples_and_errors(void **state)
{
	struct harness *h = *state;
	h_workflow(h, "version: 1\n"
		      "defaults: {retries: 0}\n"
		      "models:\n"
		      "  c: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: cyc}\n"
		      "  x: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		      " model: broken}\n"
		      "nodes:\n"
		      "  s: {kind: generate, models: [c], samples: 3, prompt: \"{{ query }}\"}\n"
		      "  bad: {kind: generate, models: [x], prompt: \"{{ query }}\","
		      " continue_on_error: true}\n"
		      "  out: {kind: template, text: \"{{ nodes.s.responses }}|{{ nodes.bad.output "
		      "}}\"}\n"
		      "output: out\n");
	char *out1, *out2, *err;
	mock_reset_stats(h->mock);
	h_cli(h, "run wf.yaml 'count' --cache=s.db --quiet", &out1, &err);
	free(err);
	long broken = mock_model_requests(h->mock, "broken");
	long cyc = mock_model_requests(h->mock, "cyc");
	assert_int_equal(cyc, 3);
	h_cli(h, "run wf.yaml 'count' --cache=s.db --quiet", &out2, &err);
	/* The three samples come back from the cache, still three answers. */
	assert_int_equal(mock_model_requests(h->mock, "cyc"), cyc);
	assert_non_null(strstr(out2, "Answer: 1"));
	assert_non_null(strstr(out2, "Answer: 2"));
	assert_non_null(strstr(out2, "Answer: 3"));
	/* The failing model is asked again. */
	assert_int_equal(mock_model_requests(h->mock, "broken"), broken + 1);
	free(out1);
	free(out2);
	free(err);
	h_workflow(h, council_wf);
}

/* A --resume file with no finished report (empty, cut short, not JSON,
 * binary, only interrupted runs) skips nothing and runs every line. */
static void test_resume_nothing_done(void **state)
{
	struct harness *h = *state;
	write_queries(h, "q.jsonl", 3, 1);
	const char *files[] = {
		"",
		"{\"id\":\"q1\",\"status\":\"ok\",\"outp",
		"not json\n\x01\x02\xff\xfe\n[1,2]\n\"q1\"\n",
		"{\"id\":\"q1\",\"status\":\"interrupted\"}\n{\"id\":\"q2\"}\n",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		h_write(h, "done.jsonl", files[i]);
		char *out, *err;
		int rc = h_cli(h, "batch wf.yaml --in q.jsonl --out out.jsonl --resume done.jsonl",
			       &out, &err);
		if (rc)
			fail_msg("resume file %zu: exit %d: %s", i, rc, err);
		size_t n;
		cJSON **r = read_reports(h, "out.jsonl", &n);
		size_t ok = 0;
		for (size_t k = 0; k < n; k++)
			ok += !strcmp(str_of(r[k], "status"), "ok");
		assert_int_equal(ok, 3);
		free_reports(r, n);
		free(out);
		free(err);
	}
}

/* A killed writer may leave a last line that is whole JSON but lacks its
 * newline: it is cut off, so its id must run again, not be skipped and
 * lost. */
static void test_resume_last_line_without_newline(void **state)
{
	struct harness *h = *state;
	write_queries(h, "q.jsonl", 4, 1);
	char *out, *err;
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out all.jsonl", &out, &err), 0);
	free(out);
	free(err);
	size_t n;
	cJSON **r = read_reports(h, "all.jsonl", &n);
	assert_int_equal(n, 4);
	/* q1's report, then q2's without its newline. */
	char *line[2] = {NULL, NULL};
	for (size_t i = 0; i < n; i++) {
		char id[32];
		id_of(r[i], id, sizeof(id));
		if (!strcmp(id, "q1") || !strcmp(id, "q2"))
			line[id[1] - '1'] = cJSON_PrintUnformatted(r[i]);
	}
	assert_non_null(line[0]);
	assert_non_null(line[1]);
	char *text = calloc(1, strlen(line[0]) + strlen(line[1]) + 2);
	sprintf(text, "%s\n%s", line[0], line[1]);
	free(line[0]);
	free(line[1]);
	h_write(h, "out.jsonl", text);
	free(text);
	free_reports(r, n);

	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out out.jsonl --resume out.jsonl",
			       &out, &err), 0);
	r = read_reports(h, "out.jsonl", &n);
	int seen[5] = {0};
	for (size_t i = 0; i < n; i++) {
		char id[32];
		id_of(r[i], id, sizeof(id));
		seen[atoi(id + 1)]++;
	}
	for (int k = 1; k <= 4; k++)
		if (seen[k] != 1)
			fail_msg("q%d has %d reports", k, seen[k]);
	free_reports(r, n);
	free(out);
	free(err);
}

/* Files a batch cannot use are refused before anything runs, and the
 * files named are left as they were: --out naming the --in file, --in a
 * folder, a cache that cannot be opened. */
static void test_refused_files_untouched(void **state)
{
	struct harness *h = *state;
	write_queries(h, "q.jsonl", 2, 1);
	char path[400];
	snprintf(path, sizeof(path), "%s/q.jsonl", h->dir);
	char *before = h_read(path);
	mock_reset_stats(h->mock);
	char *out, *err;
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out ./q.jsonl", &out, &err), 2);
	assert_non_null(strstr(err, "./q.jsonl"));
	assert_non_null(strstr(err, "--in"));
	char *after = h_read(path);
	assert_string_equal(before, after);
	free(after);
	free(out);
	free(err);

	char cmd[512];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/adir'", h->dir);
	assert_int_equal(h_sh(cmd), 0);
	assert_int_equal(h_cli(h, "batch wf.yaml --in adir --out o.jsonl", &out, &err), 2);
	assert_non_null(strstr(err, "cannot read 'adir': Is a directory"));
	free(out);
	free(err);
	/* A --resume that cannot be read would run again what is done. */
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out o.jsonl --resume adir", &out,
			       &err), 2);
	assert_non_null(strstr(err, "cannot read 'adir' for --resume: Is a directory"));
	free(out);
	free(err);

	/* Earlier reports survive a cache that cannot be opened. */
	h_write(h, "keep.jsonl", "{\"id\":\"old\",\"status\":\"ok\"}\n");
	h_write(h, "notadb", "this is not an SQLite file, it is text and more text\n");
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --out keep.jsonl --cache=notadb",
			       &out, &err), 2);
	assert_non_null(strstr(err, "cannot open cache 'notadb'"));
	assert_int_equal(lines_in(h, "keep.jsonl"), 1);
	free(out);
	free(err);
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 0);
	free(before);
}

/* SIGINT while the batch waits to write to a pipe nobody reads yet: the
 * write the signal cuts short is finished, not given up, so the status
 * is 130, every line is whole, and the runs in flight still write their
 * interrupted reports. */
static void test_interrupt_while_writing(void **state)
{
	struct harness *h = *state;
	write_queries(h, "q.jsonl", 40, 1);
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	/* One page: the second report fills it. */
	fcntl(fd[1], F_SETPIPE_SZ, 4096);
	const char *bin = getenv("QUORUM_BIN");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "cd '%s' && exec %s batch wf.yaml --in q.jsonl --parallel 4 "
		 "</dev/null 2>int-err.txt", h->dir, bin ? bin : "quorum");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	/* Wait for the pipe to fill: what it holds stops growing while the
	 * writer waits on it. */
	int queued = 0, was = -1;
	for (int i = 0; i < 100 && (queued == 0 || queued != was); i++) {
		was = queued;
		sleep_ms(300);
		ioctl(fd[0], FIONREAD, &queued);
	}
	assert_true(queued > 0 && queued == was);
	kill(pid, SIGINT);
	sleep_ms(300);
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap + 1);
	ssize_t k;
	while ((k = read(fd[0], text + len, cap - len)) > 0)
		len += (size_t)k;
	text[len] = '\0';
	close(fd[0]);
	int rc = wait_exit(pid);
	char path[400];
	snprintf(path, sizeof(path), "%s/int-err.txt", h->dir);
	char *err = h_read(path);
	if (rc != QUORUM_EXIT_INTERRUPTED)
		fail_msg("exit %d: %s", rc, err);
	assert_null(strstr(err, "cannot write"));
	assert_true(len > 0 && text[len - 1] == '\n');
	int lines = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		cJSON *r = cJSON_Parse(line);
		if (!r)
			fail_msg("line %d is not JSON: %.80s", lines + 1, line);
		/* Finished, or in flight when the signal came. */
		const char *st = str_of(r, "status");
		assert_true(!strcmp(st, "ok") || !strcmp(st, "interrupted"));
		cJSON_Delete(r);
		lines++;
	}
	assert_true(lines >= 2);
	free(err);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines_and_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_hits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_then_cache_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_samples_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_nothing_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_last_line_without_newline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_files_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_while_writing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
