/* --shared redis://: several quorum processes against one real
 * redis-server (started here on a free port, no persistence, in the temp
 * folder) and the mock provider, which counts what reaches it. One rpm
 * held across three processes, a breaker one process opens for the
 * others, one budget, a cache hit across two cache files, three `quorum
 * serve` holding one rpm, and Redis killed mid-batch without a result
 * lost. Skipped when redis-server is
 * not installed. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "../../common/clock.h"
#include "../../orchestrator/shared.h"
#include "harness.h"

#define SCENARIO \
	"models:\n" \
	"  limited: {latency: 5ms, answer: \"Answer: 4\"}\n" \
	"  broken: {latency: 5ms, faults: [{type: status, status: 500}]}\n" \
	"  priced: {latency: 5ms, answer: \"Answer: 4\"}\n" \
	"  cached: {latency: 5ms, answer: \"Answer: 4\"}\n" \
	"  steady: {latency: 40ms, answer: \"Answer: 4\"}\n"

struct fixture {
	struct harness h;
	pid_t redis;
	int port;
	char url[64];
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &n)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static int have_redis(void) { return h_sh("command -v redis-server >/dev/null 2>&1") == 0; }

/* A command on a fresh connection to the fixture's Redis; NULL when it
 * does not answer. */
static redisReply *redis_do(const struct fixture *f, const char *fmt, ...)
{
	struct timeval tv = {1, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", f->port, tv);
	if (!c || c->err) {
		redisFree(c);
		return NULL;
	}
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

/* Starts Redis on port (0: a free one). */
static void redis_start_on(struct fixture *f, int port_wanted)
{
	f->port = port_wanted ? port_wanted : free_port();
	assert_true(f->port > 0);
	char port[16];
	snprintf(port, sizeof(port), "%d", f->port);
	f->redis = fork();
	assert_true(f->redis >= 0);
	if (f->redis == 0) {
		if (!freopen("/dev/null", "w", stdout) || chdir(f->h.dir))
			_exit(127);
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--save", "", "--appendonly", "no", "--dir", f->h.dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 250; i++) {
		redisReply *r = redis_do(f, "PING");
		int up = r && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (up)
			break;
		sleep_ms(20);
	}
	snprintf(f->url, sizeof(f->url), "redis://127.0.0.1:%d", f->port);
}

static void redis_start(struct fixture *f) { redis_start_on(f, 0); }

static void redis_stop(struct fixture *f)
{
	if (f->redis <= 0)
		return;
	kill(f->redis, SIGKILL);
	waitpid(f->redis, NULL, 0);
	f->redis = 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	h_start(&f->h, SCENARIO);
	if (have_redis())
		redis_start(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	redis_stop(f);
	h_stop(&f->h);
	free(f);
	return 0;
}

/* Each test starts from an empty Redis and a mock that counted nothing. */
static struct fixture *fresh(void **state)
{
	struct fixture *f = *state;
	if (!f->redis)
		skip();
	freeReplyObject(redis_do(f, "FLUSHALL"));
	mock_reset_stats(f->h.mock);
	return f;
}

/* `quorum ARGS` in the background in the temp dir, its output to
 * NAME.out and NAME.err there; its pid. */
static pid_t spawn(struct fixture *f, const char *name, const char *args)
{
	const char *bin = getenv("QUORUM_BIN");
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cd '%s' && exec %s %s </dev/null >%s.out 2>%s.err",
		 f->h.dir, bin ? bin : "quorum", args, name, name);
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

static char *read_in(struct fixture *f, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", f->h.dir, name);
	char *s = h_read(path);
	assert_non_null(s);
	return s;
}

/* How many reports (lines) of NAME have the run status WHAT. */
static long count_status(struct fixture *f, const char *name, const char *what)
{
	char *text = read_in(f, name);
	long n = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		cJSON *rep = cJSON_Parse(line);
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(rep, "status");
		n += cJSON_IsString(st) && !strcmp(st->valuestring, what);
		cJSON_Delete(rep);
	}
	free(text);
	return n;
}

static long count_of(const char *text, const char *needle)
{
	long n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* n query lines, "q PREFIX-i", into NAME. */
static void write_queries(struct fixture *f, const char *name, const char *prefix, int n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", f->h.dir, name);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	for (int i = 0; i < n; i++)
		fprintf(out, "{\"query\": \"q %s-%d\"}\n", prefix, i);
	fclose(out);
}

#define RPM 300
/* More than the window holds: no process can finish in it. */
#define PER_PROCESS (RPM + 20)

/* Three batches of 320 against a model with rpm: 300. Alone, each would
 * send 300 at once (900 in all); sharing one window, the provider
 * sees 300 in the first minute, and no more while it lasts. A minute is
 * too long for a test, and the first window says it all: the test waits
 * until the 300th request, then 2 s more, then interrupts the batches.
 * 40 runs in flight each: the three race for the slots over many rounds,
 * not one burst each. */
static void test_three_processes_hold_one_rpm(void **state)
{
	struct fixture *f = fresh(state);
	char yaml[512];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "models:\n"
		 "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: limited,"
		 " rpm: %d}\n"
		 "nodes:\n"
		 "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n", RPM);
	h_workflow(&f->h, yaml);
	pid_t pids[3];
	char args[512], name[16], in[16];
	for (int i = 0; i < 3; i++) {
		snprintf(in, sizeof(in), "in%d.jsonl", i);
		snprintf(name, sizeof(name), "p%d", i);
		write_queries(f, in, name, PER_PROCESS);
		snprintf(args, sizeof(args), "batch wf.yaml --in %s --out %s.jsonl --parallel 40 "
			 "--quiet --shared %s", in, name, f->url);
		pids[i] = spawn(f, name, args);
	}
	int64_t t0 = clock_ms();
	while (mock_model_requests(f->h.mock, "limited") < RPM && clock_ms() - t0 < 15000)
		sleep_ms(20);
	int64_t reached = clock_ms() - t0;
	sleep_ms(2000);
	long seen = mock_model_requests(f->h.mock, "limited");
	for (int i = 0; i < 3; i++)
		kill(pids[i], SIGINT);
	long ok[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(wait_exit(pids[i]), QUORUM_EXIT_INTERRUPTED);
		snprintf(name, sizeof(name), "p%d.jsonl", i);
		ok[i] = count_status(f, name, "ok");
	}
	printf("# rpm %d over 3 processes: the provider saw %ld in the window (%.1f %%), "
	       "%lld ms to reach it; per process %ld %ld %ld\n", RPM, seen,
	       100.0 * (double)(seen - RPM) / RPM, (long long)reached, ok[0], ok[1], ok[2]);
	/* Within 5 % of the limit, never above it: the window is exact. */
	assert_true(seen <= RPM);
	assert_true(seen >= RPM - RPM / 20);
	assert_int_equal(ok[0] + ok[1] + ok[2], seen);
	/* Nothing was left for a whole window in Redis's log. */
	redisReply *r = redis_do(f, "KEYS quorum:rpm:*");
	assert_non_null(r);
	assert_int_equal(r->elements, 1);
	freeReplyObject(r);
}

/* The same three batches without --shared: each holds its own window,
 * so the provider gets three times the limit. What the test above
 * proves is the sharing, not the batch. */
static void test_without_shared_each_holds_its_own(void **state)
{
	struct fixture *f = fresh(state);
	char yaml[512];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "models:\n"
		 "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: limited,"
		 " rpm: %d}\n"
		 "nodes:\n"
		 "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n", RPM / 10);
	h_workflow(&f->h, yaml);
	pid_t pids[3];
	char args[512], name[16], in[16];
	for (int i = 0; i < 3; i++) {
		snprintf(in, sizeof(in), "in%d.jsonl", i);
		snprintf(name, sizeof(name), "p%d", i);
		write_queries(f, in, name, RPM / 10 + 5);
		snprintf(args, sizeof(args), "batch wf.yaml --in %s --out %s.jsonl --quiet", in,
			 name);
		pids[i] = spawn(f, name, args);
	}
	int64_t t0 = clock_ms();
	while (mock_model_requests(f->h.mock, "limited") < 3 * (RPM / 10) &&
	       clock_ms() - t0 < 15000)
		sleep_ms(20);
	sleep_ms(300);
	for (int i = 0; i < 3; i++)
		kill(pids[i], SIGINT);
	for (int i = 0; i < 3; i++)
		wait_exit(pids[i]);
	assert_int_equal(mock_model_requests(f->h.mock, "limited"), 3 * (RPM / 10));
}

/* The window slides: three connections (three processes' worth) ask for
 * slots of a 1 s window of 50 for 3.5 s, each waiting as told. Any 1 s
 * holds at most 50 admissions, and a new slot opens as the oldest
 * leaves. Also what one admission costs on loopback. */
static void test_window_slides_across_connections(void **state)
{
	struct fixture *f = fresh(state);
	char err[256];
	struct shared *s[3];
	for (int i = 0; i < 3; i++)
		assert_non_null(s[i] = shared_open(f->url, err, sizeof(err)));
	static int64_t at[1000];
	size_t n = 0;
	int64_t t0 = clock_ms(), next[3] = {0, 0, 0};
	int64_t spent_us = 0, calls = 0;
	while (clock_ms() - t0 < 3500 && n < 1000) {
		for (int i = 0; i < 3; i++) {
			int64_t now = clock_ms();
			if (now < next[i])
				continue;
			int64_t wait = 0;
			long fails = 0;
			struct timespec a, b;
			clock_gettime(CLOCK_MONOTONIC, &a);
			long granted = 0;
			enum shared_admit v = shared_admit(s[i], "quorum:rpm:test", 50, 1000, 3,
							   30000, 1, &wait, &fails, &granted);
			clock_gettime(CLOCK_MONOTONIC, &b);
			spent_us += (b.tv_sec - a.tv_sec) * 1000000 +
				    (b.tv_nsec - a.tv_nsec) / 1000;
			calls++;
			assert_true(v == SHARED_GO || v == SHARED_WAIT);
			if (v == SHARED_GO)
				at[n++] = now;
			else
				next[i] = now + wait;
		}
		sleep_ms(1);
	}
	long most = 0;
	for (size_t i = 0; i < n; i++) {
		long in = 0;
		for (size_t j = i; j < n && at[j] < at[i] + 1000 - 2; j++)
			in++;
		if (in > most)
			most = in;
	}
	printf("# window 1 s, limit 50, 3 connections, 3.5 s: %zu admitted, at most %ld in "
	       "any second; one admission %.1f us on average (%lld calls)\n", n, most,
	       (double)spent_us / (double)calls, (long long)calls);
	assert_true(most <= 50);
	assert_true(n >= 190 && n <= 200);
	for (int i = 0; i < 3; i++) {
		assert_null(shared_lost(s[i]));
		shared_free(s[i]);
	}
}

/* One round trip asks for several starts: the window grants what it has
 * room for, and no more, then says how long to wait. */
static void test_window_grants_batches(void **state)
{
	struct fixture *f = fresh(state);
	char err[256];
	struct shared *s = shared_open(f->url, err, sizeof(err));
	assert_non_null(s);
	static const long want[] = {20, 20, 20, 5};
	static const long granted_want[] = {20, 20, 10, 0};
	for (size_t i = 0; i < 4; i++) {
		int64_t wait = 0;
		long fails = 0, granted = 0;
		enum shared_admit v = shared_admit(s, "quorum:rpm:batch", 50, 60000, 3, 30000,
						   want[i], &wait, &fails, &granted);
		if (granted_want[i]) {
			assert_int_equal(v, SHARED_GO);
			assert_int_equal(granted, granted_want[i]);
		} else {
			assert_int_equal(v, SHARED_WAIT);
			assert_true(wait > 59000 && wait <= 60000);
		}
	}
	redisReply *r = redis_do(f, "ZCARD quorum:rpm:batch");
	assert_true(r && r->integer == 50);
	freeReplyObject(r);
	shared_free(s);
}

/* One process's failures open the breaker for another: the second run
 * sends nothing to the broken model and says why. */
static void test_breaker_is_shared(void **state)
{
	struct fixture *f = fresh(state);
	h_workflow(&f->h,
		   "version: 1\n"
		   "defaults: {retries: 0}\n"
		   "models:\n"
		   "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: broken}\n"
		   "nodes:\n"
		   "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	write_queries(f, "in.jsonl", "b", 3);
	char args[512], *out, *err;
	snprintf(args, sizeof(args), "batch wf.yaml --in in.jsonl --parallel 1 --quiet "
		 "--shared %s", f->url);
	assert_int_equal(h_cli(&f->h, args, &out, &err), 1);
	free(out);
	free(err);
	assert_int_equal(mock_model_requests(f->h.mock, "broken"), 3);
	snprintf(args, sizeof(args), "run wf.yaml q --json --quiet --shared %s", f->url);
	assert_int_equal(h_cli(&f->h, args, &out, &err), 1);
	assert_int_equal(mock_model_requests(f->h.mock, "broken"), 3);
	/* The first error the other process saw, not "skipped". */
	assert_non_null(strstr(out, "here or in another process sharing --shared; its first "
				    "error: "));
	assert_non_null(strstr(out, "\"class\":\"server\""));
	assert_non_null(strstr(out, "\"http_status\":500"));
	free(out);
	free(err);
	/* Without --shared the other process knows nothing of it. */
	assert_int_equal(h_cli(&f->h, "run wf.yaml q --quiet", &out, &err), 1);
	assert_int_equal(mock_model_requests(f->h.mock, "broken"), 4);
	free(out);
	free(err);
}

/* Two processes, one after the other, against one --shared-budget: what
 * both spend stays under it, and the second stops early because of what
 * the first spent. Redis's tally is what the reports say they cost. */
static void test_budget_is_shared(void **state)
{
	struct fixture *f = fresh(state);
	/* $1 per 1000 tokens; one call's worst case (17 input, 10 output
	 * tokens) is $0.027, what it costs about half of it. */
	h_workflow(&f->h,
		   "version: 1\n"
		   "models:\n"
		   "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: priced,"
		   " max_tokens: 10, price: {input: 1000, output: 1000}}\n"
		   "nodes:\n"
		   "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	write_queries(f, "in.jsonl", "c", 12);
	char args[512], *out, *err;
	for (int i = 0; i < 2; i++) {
		snprintf(args, sizeof(args), "batch wf.yaml --in in.jsonl --out b%d.jsonl "
			 "--parallel 1 --quiet --shared %s --shared-budget 0.1", i, f->url);
		h_cli(&f->h, args, &out, &err);
		free(out);
		free(err);
	}
	long ok0 = count_status(f, "b0.jsonl", "ok"), ok1 = count_status(f, "b1.jsonl", "ok");
	long over = count_status(f, "b0.jsonl", "budget_exceeded") +
		    count_status(f, "b1.jsonl", "budget_exceeded");
	redisReply *r = redis_do(f, "HGET quorum:budget spent");
	assert_true(r && r->type == REDIS_REPLY_STRING);
	double spent = strtod(r->str, NULL);
	freeReplyObject(r);
	printf("# shared budget $0.10: %ld then %ld calls, %ld refused, $%.4f spent\n", ok0, ok1,
	       over, spent);
	assert_true(spent <= 0.1 + 1e-9);
	assert_true(spent > 0.1 - 0.032);  /* used up to one worst case ($0.031) */
	assert_true(ok0 > 0 && ok1 < ok0); /* the second found it mostly spent */
	assert_int_equal(ok0 + ok1 + over, 24);
	assert_int_equal(mock_model_requests(f->h.mock, "priced"), ok0 + ok1);
	/* --shared-budget alone has nothing to keep the spend in. */
	assert_int_equal(h_cli(&f->h, "run wf.yaml q --shared-budget 1", &out, &err), 2);
	assert_non_null(strstr(err, "--shared-budget needs --shared"));
	free(out);
	free(err);
}

/* A cache hit across machines: two cache files (two machines' worth), one
 * Redis. The second process answers from Redis without a request. */
static void test_cache_is_shared(void **state)
{
	struct fixture *f = fresh(state);
	h_workflow(&f->h,
		   "version: 1\n"
		   "models:\n"
		   "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: cached}\n"
		   "nodes:\n"
		   "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	char args[512], *out, *err;
	snprintf(args, sizeof(args), "run wf.yaml same --json --quiet --cache=a.sqlite "
		 "--shared %s", f->url);
	assert_int_equal(h_cli(&f->h, args, &out, &err), 0);
	assert_null(strstr(out, "\"cached\":1"));
	free(out);
	free(err);
	assert_int_equal(mock_model_requests(f->h.mock, "cached"), 1);
	snprintf(args, sizeof(args), "run wf.yaml same --json --quiet --cache=b.sqlite "
		 "--shared %s", f->url);
	assert_int_equal(h_cli(&f->h, args, &out, &err), 0);
	assert_non_null(strstr(out, "\"cached\":1"));
	assert_non_null(strstr(out, "Answer: 4"));
	free(out);
	free(err);
	assert_int_equal(mock_model_requests(f->h.mock, "cached"), 1);
	/* The entry has a TTL: Redis forgets it by itself. */
	redisReply *r = redis_do(f, "KEYS quorum:cache:*");
	assert_true(r && r->elements == 1);
	redisReply *t = redis_do(f, "TTL %s", r->element[0]->str);
	assert_true(t && t->integer > 0 && t->integer <= SHARED_CACHE_TTL_S);
	freeReplyObject(t);
	freeReplyObject(r);
}

/* An entry another program wrote under our key (tokens past any int64
 * sum, a cost of NaN) is a miss: the call goes to the model, the report
 * stays JSON, the totals do not overflow, and the new answer replaces it. */
static void test_cache_entry_another_program_wrote(void **state)
{
	struct fixture *f = fresh(state);
	h_workflow(&f->h,
		   "version: 1\n"
		   "models:\n"
		   "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: cached}\n"
		   "nodes:\n"
		   "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	char args[512], *out, *err;
	snprintf(args, sizeof(args), "run wf.yaml same --json --quiet --cache=c.sqlite "
		 "--shared %s", f->url);
	assert_int_equal(h_cli(&f->h, args, &out, &err), 0);
	free(out);
	free(err);
	redisReply *r = redis_do(f, "KEYS quorum:cache:*");
	assert_true(r && r->elements == 1);
	static const char forged[] = "qc1 9223372036854775807 9223372036854775807 nan 4\n"
				     "stopAnswer: forged";
	redisReply *w = redis_do(f, "SET %s %b", r->element[0]->str, forged, sizeof(forged) - 1);
	assert_true(w && w->type == REDIS_REPLY_STATUS);
	freeReplyObject(w);
	snprintf(args, sizeof(args), "run wf.yaml same --json --quiet --cache=d.sqlite "
		 "--shared %s", f->url);
	assert_int_equal(h_cli(&f->h, args, &out, &err), 0);
	assert_null(strstr(out, "forged"));
	assert_null(strstr(out, "nan"));
	assert_null(strstr(out, "\"cached\":1"));
	cJSON *rep = cJSON_Parse(out);
	assert_non_null(rep);
	cJSON_Delete(rep);
	free(out);
	free(err);
	assert_int_equal(mock_model_requests(f->h.mock, "cached"), 2);
	redisReply *g = redis_do(f, "GET %s", r->element[0]->str);
	assert_true(g && g->type == REDIS_REPLY_STRING && !strstr(g->str, "forged"));
	freeReplyObject(g);
	freeReplyObject(r);
}

/* Redis that cannot be reached refuses the command before any run; the
 * message names the URL, never the password. */
static void test_unreachable_is_refused(void **state)
{
	struct fixture *f = *state;
	h_workflow(&f->h,
		   "version: 1\n"
		   "models:\n"
		   "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: cached}\n"
		   "nodes:\n"
		   "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	int port = free_port();
	char args[512], *out, *err, want[128];
	snprintf(args, sizeof(args), "run wf.yaml q --shared redis://:hunter2-secret@127.0.0.1:%d",
		 port);
	assert_int_equal(h_cli(&f->h, args, &out, &err), QUORUM_EXIT_INVALID);
	snprintf(want, sizeof(want), "quorum: --shared redis://127.0.0.1:%d: connection refused\n",
		 port);
	assert_string_equal(err, want);
	assert_null(strstr(err, "hunter2"));
	free(out);
	free(err);
	write_queries(f, "in.jsonl", "u", 2);
	snprintf(args, sizeof(args), "batch wf.yaml --in in.jsonl --shared redis://127.0.0.1:%d",
		 port);
	assert_int_equal(h_cli(&f->h, args, &out, &err), QUORUM_EXIT_INVALID);
	assert_string_equal(err, want);
	free(out);
	free(err);
	assert_int_equal(h_cli(&f->h, "run wf.yaml q --shared http://x", &out, &err),
			 QUORUM_EXIT_INVALID);
	assert_non_null(strstr(err, "is not a redis://HOST:PORT or unix:///PATH URL"));
	free(out);
	free(err);
}

/* ---- three quorum serve instances ---- */

#define SERVE_RPM 150
#define SERVE_EACH 100

/* `quorum serve` on a free port with args; its pid, and its port in *port
 * once it says where it listens. */
static pid_t serve_start(struct fixture *f, int k, const char *args, int *port)
{
	char name[16], err[512];
	snprintf(name, sizeof(name), "srv%d", k);
	snprintf(err, sizeof(err), "%s/%s.err", f->h.dir, name);
	char full[1024];
	snprintf(full, sizeof(full), "serve wf.yaml --listen 127.0.0.1:0 --quiet --grace 1s %s",
		 args);
	pid_t pid = spawn(f, name, full);
	*port = 0;
	for (int i = 0; i < 1000 && !*port; i++) {
		char *text = h_read(err);
		const char *at = text ? strstr(text, "on http://127.0.0.1:") : NULL;
		if (at)
			*port = atoi(at + strlen("on http://127.0.0.1:"));
		free(text);
		if (!*port)
			sleep_ms(10);
	}
	assert_true(*port > 0);
	return pid;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p, (void)ud;
	return size * n;
}

/* SERVE_EACH chat requests to each of three instances at once (curl multi
 * in this thread), until the provider has seen `until` requests and 2 s
 * more have passed (or 15 s). Returns the 200 answers; the rest are
 * abandoned (the servers cancel their runs). */
static long serve_load(struct fixture *f, const int *ports, long until, long *per)
{
	static CURL *easy[3 * SERVE_EACH];
	static char bodies[3 * SERVE_EACH][128];
	CURLM *m = curl_multi_init();
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	char url[3][96];
	for (int k = 0; k < 3; k++)
		snprintf(url[k], sizeof(url[k]), "http://127.0.0.1:%d/v1/chat/completions",
			 ports[k]);
	for (int i = 0; i < 3 * SERVE_EACH; i++) {
		snprintf(bodies[i], sizeof(bodies[i]), "{\"model\": \"wf\", \"messages\": "
			 "[{\"role\": \"user\", \"content\": \"q %d\"}]}", i);
		CURL *e = easy[i] = curl_easy_init();
		curl_easy_setopt(e, CURLOPT_URL, url[i % 3]);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, bodies[i]);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)url[i % 3]);
		curl_multi_add_handle(m, e);
	}
	int64_t t0 = clock_ms(), reached = 0;
	long ok = 0;
	for (int running = 1; running && clock_ms() - t0 < 15000;) {
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			long status = 0;
			char *which = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &which);
			int good = msg->data.result == CURLE_OK && status == 200;
			ok += good;
			per[(which - url[0]) / (int)sizeof(url[0])] += good;
		}
		if (!reached && mock_model_requests(f->h.mock, "limited") >= until)
			reached = clock_ms();
		if (reached && clock_ms() - reached > 2000)
			break;
		curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	for (int i = 0; i < 3 * SERVE_EACH; i++) {
		curl_multi_remove_handle(m, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(hd);
	return ok;
}

/* Three `quorum serve` behind no balancer but the client's round robin,
 * 100 requests each at once, a model with rpm: 150. Each alone would
 * send its 100 (300 in all); sharing one Redis, the provider sees 150
 * in the window and no more. */
static void test_three_servers_hold_one_rpm(void **state)
{
	struct fixture *f = fresh(state);
	char yaml[512];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "models:\n"
		 "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: limited,"
		 " rpm: %d}\n"
		 "nodes:\n"
		 "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n", SERVE_RPM);
	h_workflow(&f->h, yaml);
	char args[256];
	snprintf(args, sizeof(args), "--shared %s", f->url);
	int ports[3];
	pid_t pids[3];
	for (int k = 0; k < 3; k++)
		pids[k] = serve_start(f, k, args, &ports[k]);
	long per[3] = {0, 0, 0};
	long ok = serve_load(f, ports, SERVE_RPM, per);
	long seen = mock_model_requests(f->h.mock, "limited");
	for (int k = 0; k < 3; k++) {
		kill(pids[k], SIGTERM);
		assert_int_equal(wait_exit(pids[k]), 0);
	}
	printf("# rpm %d over 3 quorum serve: the provider saw %ld, %ld requests answered 200 "
	       "(%ld %ld %ld)\n", SERVE_RPM, seen, ok, per[0], per[1], per[2]);
	assert_true(seen <= SERVE_RPM);
	assert_true(seen >= SERVE_RPM - SERVE_RPM / 20);
	/* Which instance gets the slots is a race (one round trip may take up
	 * to 64): only their sum is held. */
	assert_int_equal(per[0] + per[1] + per[2], ok);
	assert_int_equal(ok, seen);
	/* Unreachable Redis: the instance does not start. */
	int port = free_port();
	char *out, *err;
	snprintf(args, sizeof(args), "serve wf.yaml --listen 127.0.0.1:0 --shared "
		 "redis://127.0.0.1:%d", port);
	assert_int_equal(h_cli(&f->h, args, &out, &err), QUORUM_EXIT_INVALID);
	assert_non_null(strstr(err, "connection refused"));
	free(out);
	free(err);
}

/* `quorum batch --shared` of n queries of a steady model, parallel at
 * once, in the background as NAME (its reports NAME.jsonl); returns once
 * the provider has seen `seen` requests. */
static pid_t batch_until(struct fixture *f, const char *name, int n, int parallel, long seen)
{
	h_workflow(&f->h,
		   "version: 1\n"
		   "models:\n"
		   "  m: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: steady,"
		   " rpm: 100000}\n"
		   "nodes:\n"
		   "  ask: {kind: generate, models: [m], prompt: \"{{ query }}\"}\n");
	write_queries(f, "in.jsonl", name, n);
	char args[512];
	snprintf(args, sizeof(args), "batch wf.yaml --in in.jsonl --out %s.jsonl --parallel %d "
		 "--quiet --shared %s", name, parallel, f->url);
	pid_t pid = spawn(f, name, args);
	int64_t t0 = clock_ms();
	while (mock_model_requests(f->h.mock, "steady") < seen && clock_ms() - t0 < 10000)
		sleep_ms(5);
	return pid;
}

/* Redis killed in the middle of a batch: every line still gets its
 * answer, the process says once that it went on alone, and the reports
 * after the loss say so. Last: it leaves no Redis behind. */
static void test_redis_killed_mid_batch(void **state)
{
	struct fixture *f = fresh(state);
	pid_t pid = batch_until(f, "k", 60, 4, 12);
	redis_stop(f);
	assert_int_equal(wait_exit(pid), 0);
	assert_int_equal(count_status(f, "k.jsonl", "ok"), 60);
	char *err = read_in(f, "k.err");
	assert_int_equal(count_of(err, "lost ("), 1);
	free(err);
	char *out = read_in(f, "k.jsonl");
	long lost = count_of(out, "\"lost\":");
	printf("# Redis killed after %ld requests: 60 of 60 answered, %ld reports say lost\n",
	       12L, lost);
	assert_true(lost > 0 && lost < 60);
	free(out);
}

/* Redis restarted in the middle of a batch: the process goes on alone
 * while it is down, then finds it again by itself and shares its limits
 * once more (the window's log fills again in the new Redis). */
static void test_redis_back_after_restart(void **state)
{
	struct fixture *f = fresh(state);
	pid_t pid = batch_until(f, "b", 200, 2, 10);
	int port = f->port;
	redis_stop(f);
	sleep_ms(300);
	redis_start_on(f, port);
	assert_int_equal(wait_exit(pid), 0);
	assert_int_equal(count_status(f, "b.jsonl", "ok"), 200);
	char *err = read_in(f, "b.err");
	assert_int_equal(count_of(err, "lost ("), 1);
	assert_int_equal(count_of(err, ": back;"), 1);
	free(err);
	/* The calls after the return were logged in the new, empty Redis. */
	redisReply *r = redis_do(f, "KEYS quorum:rpm:*");
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 1);
	redisReply *n = redis_do(f, "ZCARD %s", r->element[0]->str);
	assert_non_null(n);
	printf("# Redis restarted mid-batch: 200 of 200 answered, %lld calls shared after "
	       "its return\n", n->integer);
	assert_true(n->integer > 0 && n->integer < 200);
	freeReplyObject(n);
	freeReplyObject(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_processes_hold_one_rpm),
		cmocka_unit_test(test_redis_back_after_restart),
		cmocka_unit_test(test_without_shared_each_holds_its_own),
		cmocka_unit_test(test_window_slides_across_connections),
		cmocka_unit_test(test_window_grants_batches),
		cmocka_unit_test(test_breaker_is_shared),
		cmocka_unit_test(test_budget_is_shared),
		cmocka_unit_test(test_cache_is_shared),
		cmocka_unit_test(test_cache_entry_another_program_wrote),
		cmocka_unit_test(test_unreachable_is_refused),
		cmocka_unit_test(test_three_servers_hold_one_rpm),
		cmocka_unit_test(test_redis_killed_mid_batch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
