/* orchestrator/cache: the response cache's keys and storage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../orchestrator/cache.h"
#include "tmpdir.h"

static struct cache *open_ok(const char *path)
{
	char err[512];
	struct cache *c = cache_open(path, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	return c;
}

static void key_of(struct cache_key *k, const char *body, unsigned sample)
{
	cache_key(k, "openai", "https://api.openai.com/v1/chat/completions", body,
		  strlen(body), sample);
}

static void test_key_canonical(void **state)
{
	(void)state;
	struct cache_key a, b;
	key_of(&a, "{\"model\":\"gpt\",\"temperature\":0.7,\"messages\":[{\"role\":\"user\","
		   "\"content\":\"hi\"}],\"opts\":{\"x\":1,\"a\":[1,2]}}", 0);
	key_of(&b, "  {\n  \"opts\": {\"a\": [1, 2], \"x\": 1},\n"
		   "  \"messages\": [ { \"content\": \"hi\", \"role\": \"user\" } ],\n"
		   "  \"temperature\": 0.70, \"model\": \"gpt\"\n}\n", 0);
	assert_memory_equal(a.h, b.h, sizeof(a.h));
	/* Same text by another escape. */
	key_of(&a, "{\"s\":\"\\u00e9\\/\"}", 0);
	key_of(&b, "{\"s\":\"\xc3\xa9/\"}", 0);
	assert_memory_equal(a.h, b.h, sizeof(a.h));
	/* Stable from call to call. */
	key_of(&b, "{\"s\":\"\\u00e9\\/\"}", 0);
	assert_memory_equal(a.h, b.h, sizeof(a.h));
	/* Array order matters; a body that is not JSON is used as it is. */
	key_of(&a, "{\"a\":[1,2]}", 0);
	key_of(&b, "{\"a\":[2,1]}", 0);
	assert_memory_not_equal(a.h, b.h, sizeof(a.h));
	key_of(&a, "not json {", 0);
	key_of(&b, "not json {", 0);
	assert_memory_equal(a.h, b.h, sizeof(a.h));
	key_of(&b, "not json  {", 0);
	assert_memory_not_equal(a.h, b.h, sizeof(a.h));
	/* Only len bytes of the body count. */
	cache_key(&a, "p", "u", "{\"a\":1}XYZ", 7, 0);
	cache_key(&b, "p", "u", "{\"a\":1}", 7, 0);
	assert_memory_equal(a.h, b.h, sizeof(a.h));
}

static void test_key_inputs_differ(void **state)
{
	(void)state;
	const char *body = "{\"model\":\"m\",\"messages\":[]}";
	size_t len = strlen(body);
	struct cache_key base, k;
	cache_key(&base, "openai", "https://x/v1", body, len, 0);
	cache_key(&k, "openai", "https://x/v1", body, len, 1);
	assert_memory_not_equal(base.h, k.h, sizeof(k.h));
	cache_key(&k, "openai", "https://y/v1", body, len, 0);
	assert_memory_not_equal(base.h, k.h, sizeof(k.h));
	cache_key(&k, "anthropic", "https://x/v1", body, len, 0);
	assert_memory_not_equal(base.h, k.h, sizeof(k.h));
	cache_key(&k, "openai", "https://x/v1", "{\"model\":\"n\",\"messages\":[]}", len, 0);
	assert_memory_not_equal(base.h, k.h, sizeof(k.h));
	/* Fields are framed: moving a byte from one to the next changes the key. */
	cache_key(&base, "ab", "c", body, len, 0);
	cache_key(&k, "a", "bc", body, len, 0);
	assert_memory_not_equal(base.h, k.h, sizeof(k.h));
	/* NULLs read as empty. */
	cache_key(&base, NULL, NULL, NULL, 0, 0);
	cache_key(&k, "", "", "", 0, 0);
	assert_memory_equal(base.h, k.h, sizeof(k.h));
}

/* Duplicate keys keep their order (the last one wins for most readers),
 * and nesting past the bound is hashed raw, not refused. */
static void test_key_edges(void **state)
{
	(void)state;
	struct cache_key a, b;
	key_of(&a, "{\"a\":1,\"a\":2}", 0);
	key_of(&b, "{\"a\":2,\"a\":1}", 0);
	assert_memory_not_equal(a.h, b.h, sizeof(a.h));
	key_of(&b, "{ \"a\" : 1 , \"a\" : 2 }", 0);
	assert_memory_equal(a.h, b.h, sizeof(a.h));
	/* Many members (the sort's heap path). */
	char big1[4096], big2[4096];
	size_t n1 = 0, n2 = 0;
	n1 += (size_t)snprintf(big1 + n1, sizeof(big1) - n1, "{");
	n2 += (size_t)snprintf(big2 + n2, sizeof(big2) - n2, "{");
	for (int i = 0; i < 100; i++) {
		n1 += (size_t)snprintf(big1 + n1, sizeof(big1) - n1, "%s\"k%03d\":%d",
				       i ? "," : "", i, i);
		n2 += (size_t)snprintf(big2 + n2, sizeof(big2) - n2, "%s\"k%03d\":%d",
				       i ? "," : "", 99 - i, 99 - i);
	}
	snprintf(big1 + n1, sizeof(big1) - n1, "}");
	snprintf(big2 + n2, sizeof(big2) - n2, "}");
	key_of(&a, big1, 0);
	key_of(&b, big2, 0);
	assert_memory_equal(a.h, b.h, sizeof(a.h));
	char deep[1000];
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	deep[600] = '\0';
	key_of(&a, deep, 0);
	key_of(&b, deep, 0);
	assert_memory_equal(a.h, b.h, sizeof(a.h));
}

static void test_round_trip(void **state)
{
	const char *path = in_dir(state, "a/b/cache.sqlite");
	struct cache *c = open_ok(path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct cache_key k;
	key_of(&k, "{\"q\":1}", 0);
	struct cache_entry e;
	assert_int_equal(cache_get(c, &k, &e), 0);
	assert_null(e.text);

	static const char bin[] = "a\0b\xff\x01\nz";
	assert_int_equal(cache_put(c, &k, "openai gpt-4o-mini", bin, sizeof(bin) - 1,
				   "stop", -1, -1, 0.25), 0);
	assert_int_equal(cache_get(c, &k, &e), 1);
	assert_int_equal(e.len, sizeof(bin) - 1);
	assert_memory_equal(e.text, bin, e.len);
	assert_int_equal(e.text[e.len], '\0');
	assert_string_equal(e.finish_reason, "stop");
	assert_int_equal(e.input_tokens, -1);
	assert_int_equal(e.output_tokens, -1);
	assert_true(e.cost_usd == 0.25);
	cache_entry_release(&e);
	assert_null(e.text);

	/* Replaced; tokens kept; a long finish reason cut to fit. */
	assert_int_equal(cache_put(c, &k, "openai gpt-4o-mini", "new", 3,
				   "a_finish_reason_longer_than_thirty_one_bytes", 12, 0, 0.5), 0);
	assert_int_equal(cache_get(c, &k, &e), 1);
	assert_int_equal(e.len, 3);
	assert_string_equal(e.text, "new");
	assert_int_equal(strlen(e.finish_reason), 31);
	assert_int_equal(e.input_tokens, 12);
	assert_int_equal(e.output_tokens, 0);
	cache_entry_release(&e);

	/* An empty answer is an answer. */
	struct cache_key k2;
	key_of(&k2, "{\"q\":2}", 0);
	assert_int_equal(cache_put(c, &k2, "m", NULL, 0, NULL, 1, 2, 0), 0);
	assert_int_equal(cache_get(c, &k2, &e), 1);
	assert_int_equal(e.len, 0);
	assert_string_equal(e.text, "");
	assert_string_equal(e.finish_reason, "");
	cache_entry_release(&e);
	cache_entry_release(NULL);
	assert_string_equal(cache_error(c), "");
	cache_close(c);

	/* Still there after reopening. */
	c = open_ok(path);
	assert_int_equal(cache_get(c, &k, &e), 1);
	assert_string_equal(e.text, "new");
	cache_entry_release(&e);
	cache_close(c);
	cache_close(NULL);
}

struct model_row {
	char model[64];
	long entries;
	long long bytes;
	double cost;
};

static int collect(void *ctx, const char *model, long entries, long long bytes,
		   double cost_usd)
{
	struct model_row *rows = ctx;
	while (rows->model[0])
		rows++;
	snprintf(rows->model, sizeof(rows->model), "%s", model);
	rows->entries = entries;
	rows->bytes = bytes;
	rows->cost = cost_usd;
	return 0;
}

static void test_stats_and_clear(void **state)
{
	const char *path = in_dir(state, "cache.sqlite");
	struct cache *c = open_ok(path);
	struct cache_stats s;
	assert_int_equal(cache_stats(c, &s), 0);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.bytes, 0);
	assert_int_equal(s.hits, 0);
	assert_int_equal(s.misses, 0);
	assert_string_equal(s.path, path);

	struct cache_key k[3];
	struct cache_entry e;
	for (unsigned i = 0; i < 3; i++) {
		key_of(&k[i], "{}", i);
		assert_int_equal(cache_get(c, &k[i], &e), 0);
	}
	assert_int_equal(cache_put(c, &k[0], "openai a", "0123456789", 10, "stop", 1, 1, 0.5), 0);
	assert_int_equal(cache_put(c, &k[1], "openai a", "abc", 3, "stop", 1, 1, 0.25), 0);
	assert_int_equal(cache_put(c, &k[2], "gemini b", "xy", 2, "stop", 1, 1, 1.0), 0);
	for (int round = 0; round < 2; round++)
		for (unsigned i = 0; i < 3; i++) {
			assert_int_equal(cache_get(c, &k[i], &e), 1);
			cache_entry_release(&e);
		}
	assert_int_equal(cache_stats(c, &s), 0);
	assert_int_equal(s.entries, 3);
	assert_int_equal(s.bytes, 15);
	assert_int_equal(s.hits, 6);
	assert_int_equal(s.misses, 3);
	assert_true(s.saved_usd > 3.499 && s.saved_usd < 3.501);

	struct model_row rows[4];
	memset(rows, 0, sizeof(rows));
	assert_int_equal(cache_stats_models(c, collect, rows), 0);
	assert_string_equal(rows[0].model, "openai a");
	assert_int_equal(rows[0].entries, 2);
	assert_int_equal(rows[0].bytes, 13);
	assert_true(rows[0].cost == 0.75);
	assert_string_equal(rows[1].model, "gemini b");
	assert_int_equal(rows[1].entries, 1);
	assert_string_equal(rows[2].model, "");

	/* Persisted: a new connection sees the counters. */
	assert_int_equal(cache_get(c, &k[0], &e), 1);
	cache_entry_release(&e);
	cache_close(c);
	c = open_ok(path);
	assert_int_equal(cache_stats(c, &s), 0);
	assert_int_equal(s.hits, 7);
	assert_int_equal(s.misses, 3);
	assert_true(s.saved_usd > 3.999 && s.saved_usd < 4.001);

	assert_int_equal(cache_clear(c), 0);
	assert_int_equal(cache_stats(c, &s), 0);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.bytes, 0);
	assert_int_equal(s.hits, 0);
	assert_int_equal(s.misses, 0);
	assert_true(s.saved_usd == 0);
	assert_int_equal(cache_get(c, &k[0], &e), 0);
	cache_close(c);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	c = open_ok(path);
	assert_int_equal(cache_stats(c, &s), 0);
	assert_int_equal(s.misses, 1);
	cache_close(c);
}

/* Two connections on one file, as two processes would have. */
static void test_two_connections(void **state)
{
	const char *path = in_dir(state, "shared.sqlite");
	struct cache *a = open_ok(path), *b = open_ok(path);
	struct cache_key k;
	struct cache_entry e;
	key_of(&k, "{\"shared\":true}", 0);
	assert_int_equal(cache_get(b, &k, &e), 0);
	assert_int_equal(cache_put(a, &k, "m", "from a", 6, "stop", 3, 4, 0.1), 0);
	assert_int_equal(cache_get(b, &k, &e), 1);
	assert_string_equal(e.text, "from a");
	assert_int_equal(e.input_tokens, 3);
	assert_int_equal(e.output_tokens, 4);
	cache_entry_release(&e);
	/* b's pending counters ride in its put. */
	struct cache_key k2;
	key_of(&k2, "{\"shared\":true}", 1);
	assert_int_equal(cache_put(b, &k2, "m", "from b", 6, "stop", 1, 1, 0.2), 0);
	assert_int_equal(cache_get(a, &k2, &e), 1);
	assert_string_equal(e.text, "from b");
	cache_entry_release(&e);
	struct cache_stats s;
	assert_int_equal(cache_stats(a, &s), 0);
	assert_int_equal(s.entries, 2);
	assert_int_equal(s.hits, 2);     /* b's one, written; a's own, pending */
	assert_int_equal(s.misses, 1);
	/* A clear by one is seen by the other. */
	assert_int_equal(cache_clear(b), 0);
	assert_int_equal(cache_get(a, &k, &e), 0);
	cache_close(a);
	cache_close(b);
}

/* Two processes writing and reading one file at once: the busy timeout
 * and WAL keep every put and get from failing. */
static int hammer(const char *path, unsigned who)
{
	char err[512];
	struct cache *c = cache_open(path, err, sizeof(err));
	if (!c)
		return 1;
	int bad = 0;
	for (unsigned i = 0; i < 300; i++) {
		struct cache_key k;
		char body[64];
		int n = snprintf(body, sizeof(body), "{\"who\":%u,\"i\":%u}", who, i);
		cache_key(&k, "p", "u", body, (size_t)n, 0);
		struct cache_entry e;
		if (cache_get(c, &k, &e) != 0)
			bad++;
		if (cache_put(c, &k, "m", body, (size_t)n, "stop", 1, 1, 0.001) != 0)
			bad++;
		if (cache_get(c, &k, &e) != 1)
			bad++;
		cache_entry_release(&e);
	}
	cache_close(c);
	return bad != 0;
}

static void test_two_processes(void **state)
{
	const char *path = in_dir(state, "procs/cache.sqlite");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(hammer(path, 1));
	int mine = hammer(path, 2);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(mine, 0);
	struct cache *c = open_ok(path);
	struct cache_stats s;
	assert_int_equal(cache_stats(c, &s), 0);
	assert_int_equal(s.entries, 600);
	assert_int_equal(s.hits, 600);
	assert_int_equal(s.misses, 600);
	cache_close(c);
}

static void expect_open_error(const char *path, const char *want)
{
	char err[512];
	struct cache *c = cache_open(path, err, sizeof(err));
	if (c) {
		cache_close(c);
		fail_msg("'%s' opened", path);
	}
	char quoted[600];
	snprintf(quoted, sizeof(quoted), "'%s'", path);
	if (!strstr(err, quoted) || !strstr(err, want))
		fail_msg("message '%s' lacks %s or '%s'", err, quoted, want);
}

static void test_open_errors(void **state)
{
	/* Not a database. */
	const char *junk = in_dir(state, "junk.sqlite");
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	for (int i = 0; i < 100; i++)
		fputs("this is not a database, only text\n", f);
	fclose(f);
	expect_open_error(junk, "file is not a database");

	/* A folder in the way, a file in the way of a folder. */
	expect_open_error(in_dir(state, ""), "Is a directory");
	char sub[512];
	snprintf(sub, sizeof(sub), "%s/x/cache.sqlite", junk);
	expect_open_error(sub, "Not a directory");
	expect_open_error("", "empty path");

	/* Another program's SQLite database is left alone. */
	const char *other = in_dir(state, "other.sqlite");
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "command -v sqlite3 >/dev/null && "
		 "sqlite3 '%s' 'CREATE TABLE t(x)'", other);
	if (system(cmd) == 0)
		expect_open_error(other, "not a quorum cache");

	/* A folder we may not write (root may write anywhere). */
	if (geteuid() != 0) {
		const char *ro = in_dir(state, "ro");
		assert_int_equal(mkdir(ro, 0500), 0);
		snprintf(sub, sizeof(sub), "%s/cache.sqlite", ro);
		expect_open_error(sub, "Permission denied");
		snprintf(sub, sizeof(sub), "%s/deeper/cache.sqlite", ro);
		expect_open_error(sub, "Permission denied");
	}

	/* err may be NULL. */
	assert_null(cache_open(junk, NULL, 0));
}

static void test_schema_version(void **state)
{
	const char *path = in_dir(state, "v.sqlite");
	cache_close(open_ok(path));
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "command -v sqlite3 >/dev/null && "
		 "sqlite3 '%s' 'UPDATE quorum_schema SET version = 9'", path);
	if (system(cmd) != 0)
		skip();
	expect_open_error(path, "schema version 9");
}

static void test_default_path(void **state)
{
	(void)state;
	char *save_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
	char *save_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	char *p = cache_default_path();
	assert_string_equal(p, "/xdg/quorum/cache.sqlite");
	q_free(p);
	setenv("XDG_CACHE_HOME", "relative", 1);
	p = cache_default_path();
	assert_string_equal(p, "/home/u/.cache/quorum/cache.sqlite");
	q_free(p);
	unsetenv("XDG_CACHE_HOME");
	p = cache_default_path();
	assert_string_equal(p, "/home/u/.cache/quorum/cache.sqlite");
	q_free(p);
	unsetenv("HOME");
	assert_null(cache_default_path());
	if (save_xdg)
		setenv("XDG_CACHE_HOME", save_xdg, 1);
	if (save_home)
		setenv("HOME", save_home, 1);
	free(save_xdg);
	free(save_home);
}

/* Running out of memory anywhere in open, put or get fails cleanly (and
 * leaks nothing, under ASan). */
static void test_out_of_memory(void **state)
{
	const char *path = in_dir(state, "oom/cache.sqlite");
	struct cache_key k;
	key_of(&k, "{\"oom\":1}", 0);
	cache_close(open_ok(path));
	for (long n = 1; n < 10; n++) {
		char err[512];
		q_alloc_fail_after(n);
		struct cache *c = cache_open(path, err, sizeof(err));
		q_alloc_fail_after(0);
		if (!c) {
			assert_non_null(strstr(err, "out of memory"));
			continue;
		}
		assert_int_equal(cache_put(c, &k, "m", "v", 1, "stop", 1, 1, 0), 0);
		struct cache_entry e;
		q_alloc_fail_after(1);
		int rc = cache_get(c, &k, &e);
		q_alloc_fail_after(0);
		assert_int_equal(rc, -1);
		assert_null(e.text);
		assert_string_equal(cache_error(c), "out of memory");
		cache_close(c);
	}
	/* A key made while memory runs out misses, never matches wrongly. */
	char big[2048];
	size_t n = (size_t)snprintf(big, sizeof(big), "{");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%d\":%d", i ? "," : "", i, i);
	snprintf(big + n, sizeof(big) - n, "}");
	struct cache_key good, starved;
	key_of(&good, big, 0);
	q_alloc_fail_after(1);
	key_of(&starved, big, 0);
	q_alloc_fail_after(0);
	assert_memory_not_equal(good.h, starved.h, sizeof(good.h));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1,000 puts and 1,000 gets, each its own transaction, well under a
 * second. QUORUM_CACHE_BENCH=1 prints the cost of each. */
static void test_thousand_under_a_second(void **state)
{
	const char *path = in_dir(state, "fast.sqlite");
	struct cache *c = open_ok(path);
	char body[128], text[600];
	memset(text, 'x', sizeof(text));
	struct cache_key *keys = calloc(1000, sizeof(*keys));
	double t0 = now_s();
	for (unsigned i = 0; i < 1000; i++) {
		int n = snprintf(body, sizeof(body), "{\"messages\":[{\"role\":\"user\","
				 "\"content\":\"question %u\"}],\"model\":\"m\"}", i);
		cache_key(&keys[i], "openai", "https://api.openai.com/v1/chat/completions",
			  body, (size_t)n, 0);
	}
	double t1 = now_s();
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(cache_put(c, &keys[i], "openai m", text, sizeof(text),
					   "stop", 20, 150, 0.001), 0);
	double t2 = now_s();
	for (unsigned i = 0; i < 1000; i++) {
		struct cache_entry e;
		assert_int_equal(cache_get(c, &keys[i], &e), 1);
		assert_int_equal(e.len, sizeof(text));
		cache_entry_release(&e);
	}
	double t3 = now_s();
	cache_close(c);
	free(keys);
	if (getenv("QUORUM_CACHE_BENCH"))
		print_message("cache: key %.1f us, put %.1f us, get %.1f us\n",
			      (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3);
	assert_true(t3 - t0 < 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_canonical),
		cmocka_unit_test(test_key_inputs_differ),
		cmocka_unit_test(test_key_edges),
		cmocka_unit_test_setup_teardown(test_round_trip, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_stats_and_clear, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_two_connections, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, dir_setup, dir_teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_out_of_memory, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_thousand_under_a_second, dir_setup,
						dir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
