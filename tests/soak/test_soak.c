/* The soak: 1,000 workflow runs in one process against the mock server
 * with `chaos` (tests/soak/scenario.yaml: 30% of requests reset, cut,
 * dripped, redirected, answered in HTML, too big, ...) and one model on a
 * port where nothing listens. It proves what a user relies on:
 *
 * - every run ends with a report in which every call is accounted for
 *   (ok, failed with a class and a message, or cancelled) and every node
 *   is ok, failed or skipped, with usage.calls the sum of the attempts;
 * - nothing is left behind: the same file descriptors and about the same
 *   memory after the runs as before them (the mock runs as its own
 *   process, quorum-mock, so only quorum's descriptors are counted);
 * - a finished node's output is never lost because a later node failed.
 *
 * Runs go WORKERS at a time, each on its own thread, so that timeouts
 * and backoffs overlap; quorum_run promises nothing more than that a
 * loaded workflow is read-only, which is what this leans on. */
#include <arpa/inet.h>
#include <dirent.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "quorum.h"

#define RUNS 1000      /* QUORUM_SOAK_RUNS overrides */
#define QUARTERS 4
#define WORKERS 16
#define WARMUP (2 * WORKERS)
#define QUERY "What is six times seven?"
/* What the second half of the runs may add at most: a leak of a few KiB
 * a run would pass these. (The first half may grow the allocator's pools
 * and ASan's quarantine to their working size.) */
#define HEAP_SLACK_BYTES (1024 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_ASAN 1
#endif
#endif
#ifdef SOAK_ASAN
/* Freed memory waits in ASan's quarantine (256 MiB by default) before it
 * is reused, which RSS would count: keep it small. ASAN_OPTIONS still
 * wins. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=16"; }
/* ASan's allocator keeps the quarantine and per-size free lists, which
 * fill in steps of megabytes: RSS says little there. A leak is what
 * LeakSanitizer reports at exit, and growth what the plain build's heap
 * check (HEAP_SLACK_BYTES) catches. */
#define RSS_SLACK_KB (32 * 1024)
#else
#define RSS_SLACK_KB (8 * 1024)
#endif

enum { WF_COUNCIL, WF_PANEL, WF_DOWNSTREAM, NWF };
static const char *const wf_files[NWF] = {"council.yaml", "panel.yaml",
					  "downstream.yaml"};

static const char *const err_classes[] = {
	"auth", "bad_request", "not_found", "rate_limited", "quota", "overloaded",
	"server", "timeout", "connection", "truncated", "malformed",
	"content_filter", "too_large", "budget", "cancelled",
};
#define NCLASS (sizeof(err_classes) / sizeof(*err_classes))

struct soak {
	pid_t mock_pid;
	int port;
	char dir[64];
	struct quorum_workflow *wf[NWF];
};

/* What the runs of one worker saw; summed when they are done. */
struct tally {
	long runs, calls, responses, resp_ok, resp_failed, resp_cancelled;
	long unstarted;           /* failed without an attempt: a model skipped */
	long nodes, node_ok, node_failed, node_skipped;
	long run_ok, run_partial, run_failed;
	long kept;                /* downstream runs whose answers were checked */
	long refused;             /* calls to the port where nothing listens */
	long classes[NCLASS];
	long max_wall_ms;
	long problems;
	char first[600];          /* the first problem, for the failure message */
};

struct worker {
	struct soak *s;
	long from, to, step;
	struct tally t;
	pthread_t th;
};

/* ---- the mock, as its own process ---- */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &n))
		fail_msg("cannot find a free port");
	close(fd); /* closed: nothing listens there */
	return ntohs(sa.sin_port);
}

static void mock_spawn(struct soak *s, const char *scenario)
{
	const char *bin = getenv("QUORUM_MOCK_BIN");
	if (!bin)
		fail_msg("QUORUM_MOCK_BIN is not set (meson sets it)");
	int p[2];
	assert_int_equal(pipe(p), 0);
	s->mock_pid = fork();
	assert_true(s->mock_pid >= 0);
	if (s->mock_pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(bin, bin, "--scenario", scenario, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	char line[128] = "";
	if (!f || !fgets(line, sizeof(line), f))
		fail_msg("quorum-mock did not start (%s)", bin);
	fclose(f);
	const char *colon = strrchr(line, ':');
	assert_non_null(colon);
	s->port = atoi(colon + 1);
	assert_true(s->port > 0);
}

/* Stops the mock; returns 0 when it exited cleanly (under a sanitizer
 * that means without a leak or an error of its own). */
static int mock_kill(struct soak *s)
{
	if (s->mock_pid <= 0)
		return 0;
	kill(s->mock_pid, SIGTERM);
	int st = 0;
	waitpid(s->mock_pid, &st, 0);
	s->mock_pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	fprintf(stderr, "quorum-mock ended badly (status %d)\n", st);
	return -1;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	cJSON **out = ud;
	(void)out;
	/* /_mock/stats is small: one write. */
	char *s = strndup(p, size * n);
	cJSON_Delete(*out);
	*out = s ? cJSON_Parse(s) : NULL;
	free(s);
	return size * n;
}

/* GET or POST path on the mock; returns its JSON (cJSON_Delete). */
static cJSON *mock_http(struct soak *s, const char *path, int post)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	cJSON *j = NULL;
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &j);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || !j)
		fail_msg("mock %s: %s", path, curl_easy_strerror(rc));
	return j;
}

static long jlong(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

/* ---- files ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *t = malloc((size_t)n + 1);
	assert_non_null(t);
	assert_int_equal(fread(t, 1, (size_t)n, f), (size_t)n);
	t[n] = '\0';
	fclose(f);
	return t;
}

/* Writes src to dst with BASE_URL and DEAD_URL filled in. */
static void write_wf(const char *src, const char *dst, const char *base,
		     const char *dead)
{
	char *t = slurp(src);
	FILE *f = fopen(dst, "w");
	assert_non_null(f);
	for (const char *p = t; *p;) {
		const char *b = strstr(p, "BASE_URL"), *d = strstr(p, "DEAD_URL");
		const char *hit = b && (!d || b < d) ? b : d;
		if (!hit) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(hit - p), f);
		fputs(hit == b ? base : dead, f);
		p = hit + 8;
	}
	fclose(f);
	free(t);
}

static void src_path(char *out, size_t n, const char *name)
{
	const char *root = getenv("QUORUM_SRCDIR");
	snprintf(out, n, "%s/tests/soak/%s", root ? root : ".", name);
}

/* ---- what the process holds ---- */

struct usage {
	long fds, rss_kb, heap;
};

static long soak_runs(void)
{
	const char *env = getenv("QUORUM_SOAK_RUNS");
	long n = env ? atol(env) : RUNS;
	return n >= QUARTERS ? n : RUNS;
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

/* A line of /proc/self/status, in KiB. */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(key);
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			kb = atol(line + n + 1);
	if (f)
		fclose(f);
	return kb;
}

/* Descriptors, RSS once malloc gave back what it can, and the bytes
 * malloc has handed out and not had back (0 where a sanitizer's
 * allocator stands in for glibc's). */
static void measure(struct usage *u)
{
	malloc_trim(0);
	struct mallinfo2 mi = mallinfo2();
	u->heap = (long)(mi.uordblks + mi.hblkhd);
	u->rss_kb = status_kb("VmRSS");
	u->fds = count_fds();
}

/* ---- checking one report ---- */

__attribute__((format(printf, 3, 4)))
static void problem(struct tally *t, long run, const char *fmt, ...)
{
	if (!t->problems++) {
		int n = snprintf(t->first, sizeof(t->first), "run %ld: ", run);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(t->first + n, sizeof(t->first) - (size_t)n, fmt, ap);
		va_end(ap);
	}
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Whether o's string key is val. */
static int is(const cJSON *o, const char *key, const char *val)
{
	const char *s = jstr(o, key);
	return s && !strcmp(s, val);
}

static int class_index(const char *c)
{
	for (size_t i = 0; c && i < NCLASS; i++)
		if (!strcmp(c, err_classes[i]))
			return (int)i;
	return -1;
}

/* An error object with a known class and a message. */
static int check_error(struct tally *t, long run, const char *node,
		       const cJSON *err)
{
	const char *cls = jstr(err, "class"), *msg = jstr(err, "message");
	int k = class_index(cls);
	if (k < 0 || !msg || !*msg) {
		problem(t, run, "node %s: a response's error has class '%s' and "
			"message '%s'", node, cls ? cls : "(none)", msg ? msg : "(none)");
		return -1;
	}
	t->classes[k]++;
	return 0;
}

/* One call accounted for; returns its attempts. */
static long check_response(struct tally *t, long run, const char *node,
			   const cJSON *r)
{
	const char *st = jstr(r, "status");
	long attempts = jlong(r, "attempts");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
	t->responses++;
	t->refused += is(r, "model", "dead") || is(r, "requested_model", "dead");
	if (st && !strcmp(st, "ok")) {
		t->resp_ok++;
		if (attempts < 1 || !jstr(r, "text") || !cJSON_IsNull(err))
			problem(t, run, "node %s: an ok response without text or "
				"attempts", node);
	} else if (st && !strcmp(st, "failed")) {
		t->resp_failed++;
		if (!check_error(t, run, node, err) && attempts < 1) {
			/* Only a model skipped after failing in a row, or a
			 * budget, may fail a call that never started. */
			const char *msg = jstr(err, "message");
			if (strstr(msg, "skipped") || strstr(msg, "budget"))
				t->unstarted++;
			else
				problem(t, run, "node %s: failed with no attempt: %s",
					node, msg);
		}
	} else if (st && !strcmp(st, "cancelled")) {
		t->resp_cancelled++;
		check_error(t, run, node, err);
	} else {
		problem(t, run, "node %s: a response has status '%s'", node,
			st ? st : "(none)");
	}
	return attempts;
}

/* Every node ok, failed or skipped; returns the attempts of its calls. */
static long check_node(struct tally *t, long run, const cJSON *n)
{
	const char *id = n->string, *st = jstr(n, "status");
	const char *err = jstr(cJSON_GetObjectItemCaseSensitive(n, "error"), "message");
	t->nodes++;
	if (st && !strcmp(st, "ok")) {
		t->node_ok++;
		if (!jstr(n, "output"))
			problem(t, run, "node %s is ok without an output", id);
	} else if (st && (!strcmp(st, "failed") || !strcmp(st, "skipped"))) {
		*(st[0] == 'f' ? &t->node_failed : &t->node_skipped) += 1;
		if (!err || !*err || strstr(err, "internal error"))
			problem(t, run, "node %s %s: '%s'", id, st, err ? err : "(no reason)");
	} else {
		problem(t, run, "node %s has status '%s'", id, st ? st : "(none)");
	}
	long attempts = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(n, "responses"))
		attempts += check_response(t, run, id, r);
	return attempts;
}

/* The downstream workflow: its output node always fails, and the
 * answers before it must be in the report whole. */
static void check_kept(struct tally *t, long run, const cJSON *nodes,
		       const char *status)
{
	const cJSON *ans = cJSON_GetObjectItemCaseSensitive(nodes, "answers");
	const cJSON *fin = cJSON_GetObjectItemCaseSensitive(nodes, "final");
	const cJSON *agree = cJSON_GetObjectItemCaseSensitive(nodes, "agree");
	if (strcmp(status, "failed") || !is(fin, "status", "failed")) {
		problem(t, run, "downstream: the doomed node did not fail (%s)", status);
		return;
	}
	if (!is(ans, "status", "ok") || !jstr(ans, "output") ||
	    !is(agree, "status", "ok") || !jstr(agree, "output")) {
		problem(t, run, "downstream: a finished node lost its output");
		return;
	}
	const cJSON *r;
	int steady = 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ans, "responses"))
	{
		const char *text = jstr(r, "text");
		if (is(r, "status", "ok") && (!text || !*text))
			problem(t, run, "downstream: an ok answer lost its text");
		steady += is(r, "model", "st") && text && strstr(text, "Answer:");
	}
	if (!steady)
		problem(t, run, "downstream: the steady model's answer is missing");
	t->kept++;
}

static void check_report(struct tally *t, long run, int kind,
			 const struct quorum_report *rep)
{
	cJSON *j = cJSON_Parse(quorum_report_json(rep));
	const char *st = jstr(j, "status");
	if (!st) {
		problem(t, run, "the report is not JSON with a status");
		cJSON_Delete(j);
		return;
	}
	t->runs++;
	*(!strcmp(st, "ok")        ? &t->run_ok
	  : !strcmp(st, "partial") ? &t->run_partial
				   : &t->run_failed) += 1;
	if (strcmp(st, "ok") && strcmp(st, "partial") && strcmp(st, "failed"))
		problem(t, run, "run status '%s'", st);
	int has_out = quorum_report_output(rep) != NULL;
	if (has_out != !!jstr(j, "output") || has_out != !!strcmp(st, "failed") ||
	    quorum_report_exit_code(rep) != (has_out ? 0 : 1))
		problem(t, run, "status '%s' and the output or exit code disagree", st);
	long wall = jlong(j, "wall_ms");
	if (wall > t->max_wall_ms)
		t->max_wall_ms = wall;
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(j, "nodes"), *n;
	long attempts = 0;
	int nn = 0;
	cJSON_ArrayForEach(n, nodes)
	{
		attempts += check_node(t, run, n);
		nn++;
	}
	static const int want_nodes[NWF] = {5, 5, 3};
	if (nn != want_nodes[kind])
		problem(t, run, "%d nodes in the report, not %d", nn, want_nodes[kind]);
	long calls = jlong(cJSON_GetObjectItemCaseSensitive(j, "usage"), "calls");
	if (calls != attempts)
		problem(t, run, "usage.calls %ld but %ld attempts", calls, attempts);
	t->calls += calls;
	if (kind == WF_DOWNSTREAM)
		check_kept(t, run, nodes, st);
	cJSON_Delete(j);
}

/* ---- running ---- */

static void run_one(struct soak *s, long i, struct tally *t)
{
	int kind = (int)(i % NWF);
	char *errors = NULL;
	struct quorum_options o = {.query = QUERY, .wake_fd = -1};
	struct quorum_report *rep = quorum_run(s->wf[kind], &o, &errors);
	if (!rep) {
		problem(t, i, "the run did not start: %s", errors ? errors : "");
		quorum_free(errors);
		return;
	}
	check_report(t, i, kind, rep);
	quorum_report_free(rep);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (long i = w->from; i < w->to; i += w->step)
		run_one(w->s, i, &w->t);
	return NULL;
}

static void tally_add(struct tally *sum, const struct tally *t)
{
	long *a = &sum->runs;
	const long *b = &t->runs;
	/* Every field up to max_wall_ms is a long count. */
	for (size_t k = 0; k < offsetof(struct tally, max_wall_ms) / sizeof(long); k++)
		a[k] += b[k];
	if (t->max_wall_ms > sum->max_wall_ms)
		sum->max_wall_ms = t->max_wall_ms;
	if (t->problems && !sum->problems)
		memcpy(sum->first, t->first, sizeof(sum->first));
	sum->problems += t->problems;
}

/* Runs runs [from, to) on WORKERS threads. */
static void run_many(struct soak *s, long from, long to, struct tally *sum)
{
	struct worker w[WORKERS];
	for (int k = 0; k < WORKERS; k++) {
		w[k] = (struct worker){.s = s, .from = from + k, .to = to, .step = WORKERS};
		assert_int_equal(pthread_create(&w[k].th, NULL, worker_main, &w[k]), 0);
	}
	memset(sum, 0, sizeof(*sum));
	for (int k = 0; k < WORKERS; k++) {
		pthread_join(w[k].th, NULL);
		tally_add(sum, &w[k].t);
	}
}

/* ---- the tests ---- */

static int setup(void **state)
{
	struct soak *s = calloc(1, sizeof(*s));
	*state = s;
	snprintf(s->dir, sizeof(s->dir), "/tmp/quorum-soak-XXXXXX");
	if (!s || !mkdtemp(s->dir))
		return -1;
	char path[512], dst[512], base[64], dead[64];
	src_path(path, sizeof(path), "scenario.yaml");
	mock_spawn(s, path);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", s->port);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", free_port());
	for (int k = 0; k < NWF; k++) {
		src_path(path, sizeof(path), wf_files[k]);
		snprintf(dst, sizeof(dst), "%s/%s", s->dir, wf_files[k]);
		write_wf(path, dst, base, dead);
		char *errors = NULL;
		s->wf[k] = quorum_workflow_load(dst, &errors);
		if (!s->wf[k]) {
			fprintf(stderr, "%s", errors ? errors : "out of memory\n");
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	struct soak *s = *state;
	int rc = mock_kill(s);
	for (int k = 0; k < NWF; k++) {
		quorum_workflow_free(s->wf[k]);
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", s->dir, wf_files[k]);
		unlink(p);
	}
	rmdir(s->dir);
	free(s);
	return rc;
}

static void print_tally(const struct tally *t, double secs)
{
	printf("soak: %ld runs in %.1f s (%ld ok, %ld partial, %ld failed; longest "
	       "%ld ms), %ld calls (attempts)\n",
	       t->runs, secs, t->run_ok, t->run_partial, t->run_failed,
	       t->max_wall_ms, t->calls);
	printf("soak: %ld responses: %ld ok, %ld failed (%ld never started: a "
	       "model skipped), %ld cancelled\n",
	       t->responses, t->resp_ok, t->resp_failed, t->unstarted,
	       t->resp_cancelled);
	printf("soak: %ld nodes: %ld ok, %ld failed, %ld skipped; %ld downstream "
	       "runs kept their answers; %ld calls to a closed port\n",
	       t->nodes, t->node_ok, t->node_failed, t->node_skipped, t->kept,
	       t->refused);
	printf("soak: errors by class:");
	for (size_t k = 0; k < NCLASS; k++)
		if (t->classes[k])
			printf(" %s %ld", err_classes[k], t->classes[k]);
	printf("\n");
}

static void print_mock(const cJSON *st)
{
	printf("soak: the mock saw %ld requests (%ld completed, %ld aborted by "
	       "quorum, %ld in flight) and injected %ld faults:",
	       jlong(st, "requests"), jlong(st, "completed"), jlong(st, "aborted"),
	       jlong(st, "in_flight"), jlong(st, "faults_injected"));
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(st, "faults"))
		printf(" %s %ld", f->string, (long)f->valuedouble);
	printf("\n");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_usage(const struct usage *u)
{
	printf("soak: open descriptors %ld before, %ld after; VmRSS %ld KiB before, "
	       "%ld KiB after (%+ld; by quarter:", u[0].fds, u[QUARTERS].fds,
	       u[0].rss_kb, u[QUARTERS].rss_kb, u[QUARTERS].rss_kb - u[0].rss_kb);
	for (int q = 1; q <= QUARTERS; q++)
		printf(" %+ld", u[q].rss_kb - u[q - 1].rss_kb);
	printf(")");
	if (u[0].heap > 0)
		printf("; heap in use %ld bytes before, %ld after (%+ld)", u[0].heap,
		       u[QUARTERS].heap, u[QUARTERS].heap - u[0].heap);
	printf("\n");
}

static void test_soak(void **state)
{
	struct soak *s = *state;
	struct tally warm, t = {0}, tq;
	struct usage u[QUARTERS + 1];
	long runs = soak_runs();
	/* The first runs fill caches, thread arenas and curl's lazily made
	 * state: count after them. */
	run_many(s, 0, WARMUP, &warm);
	if (warm.problems)
		fail_msg("warm-up: %ld problems; %s", warm.problems, warm.first);
	cJSON_Delete(mock_http(s, "/_mock/reset", 1));
	measure(&u[0]);
	double t0 = now_s();
	for (int q = 0; q < QUARTERS; q++) {
		run_many(s, WARMUP + runs * q / QUARTERS, WARMUP + runs * (q + 1) / QUARTERS,
			 &tq);
		tally_add(&t, &tq);
		measure(&u[q + 1]);
	}
	double secs = now_s() - t0;

	cJSON *st = mock_http(s, "/_mock/stats", 0);
	print_tally(&t, secs);
	print_mock(st);
	print_usage(u);
	fflush(stdout);

	if (t.problems)
		fail_msg("%ld problems; the first: %s", t.problems, t.first);
	assert_int_equal(t.runs, runs);
	long downstream = 0;
	for (long i = WARMUP; i < WARMUP + runs; i++)
		downstream += i % NWF == WF_DOWNSTREAM;
	assert_int_equal(t.kept, downstream);
	/* Faults of most kinds reached quorum, and quorum ended what it
	 * started: nothing in flight at the mock once the runs are done. */
	assert_true(jlong(st, "faults_injected") > runs);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "faults")) >= 10);
	assert_int_equal(jlong(st, "in_flight"), 0);
	cJSON_Delete(st);
	assert_true(u[QUARTERS].fds <= u[0].fds);
	assert_true(u[QUARTERS].rss_kb - u[QUARTERS / 2].rss_kb < RSS_SLACK_KB);
	if (u[0].heap > 0)
		assert_true(u[QUARTERS].heap - u[0].heap < HEAP_SLACK_BYTES);
}

/* The same promise on one run, said plainly: the output node fails,
 * the run fails, and the answers before it are all in the report. */
static void test_failed_output_keeps_answers(void **state)
{
	struct soak *s = *state;
	char *errors = NULL;
	struct quorum_options o = {.query = QUERY, .wake_fd = -1};
	struct quorum_report *rep = quorum_run(s->wf[WF_DOWNSTREAM], &o, &errors);
	assert_non_null(rep);
	assert_string_equal(quorum_report_status(rep), "failed");
	assert_int_equal(quorum_report_exit_code(rep), 1);
	assert_null(quorum_report_output(rep));
	cJSON *j = cJSON_Parse(quorum_report_json(rep));
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(j, "nodes");
	const cJSON *fin = cJSON_GetObjectItemCaseSensitive(nodes, "final");
	assert_string_equal(jstr(fin, "status"), "failed");
	const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(fin, "responses"), 0);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
	assert_string_equal(jstr(err, "class"), "bad_request");
	assert_non_null(strstr(jstr(err, "message"), "doomed by the soak's script"));
	struct tally t = {0};
	check_kept(&t, 0, nodes, "failed");
	if (t.problems)
		fail_msg("%s", t.first);
	cJSON_Delete(j);
	quorum_report_free(rep);
}

int main(void)
{
	/* glibc gives each thread an arena of its own and keeps their freed
	 * pages (malloc_trim or not): 16 workers grew RSS by 20-40 MiB with
	 * the bytes in use unchanged. One arena makes RSS measure quorum. */
	mallopt(M_ARENA_MAX, 1);
	quorum_global_init();
	setvbuf(stdout, NULL, _IOLBF, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_output_keeps_answers),
		cmocka_unit_test(test_soak),
	};
	int rc = cmocka_run_group_tests_name("soak", tests, setup, teardown);
	quorum_global_cleanup();
	return rc;
}
