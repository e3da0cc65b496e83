/* orchestrator/banditstore: the bandit node's memory in SQLite. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../common/alloc.h"
#include "../../orchestrator/banditstore.h"
#include "../../orchestrator/cache.h"
#include "tmpdir.h"

static struct bandit_store *open_ok(const char *path)
{
	char err[512];
	struct bandit_store *s = bandit_store_open(path, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	return s;
}

static void expect_open_error(const char *path, const char *want)
{
	char err[512];
	struct bandit_store *s = bandit_store_open(path, err, sizeof(err));
	if (s) {
		bandit_store_close(s);
		fail_msg("'%s' opened", path);
	}
	char quoted[600];
	snprintf(quoted, sizeof(quoted), "'%s'", path);
	if (!strstr(err, quoted) || !strstr(err, want))
		fail_msg("message '%s' lacks %s or '%s'", err, quoted, want);
}

/* Runs SQL on a file with SQLite directly. */
static void sql(const char *path, const char *q)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", q, msg);
	sqlite3_close(db);
}

static const char *const ARMS[] = {"cheap", "middle", "dear"};

static struct bandit_config config(enum bandit_policy p)
{
	struct bandit_config cfg;
	bandit_config_init(&cfg);
	cfg.policy = p;
	cfg.cost_weight = 50;
	cfg.seed = 7;
	return cfg;
}

static void test_open_and_refuse(void **state)
{
	char path[512];
	snprintf(path, sizeof(path), "%s", in_dir(state, "deep/er/bandit.sqlite"));
	struct bandit_store *s = open_ok(path);
	assert_string_equal(bandit_store_error(s), "");
	bandit_store_close(s);
	bandit_store_close(NULL);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	bandit_store_close(open_ok(path));   /* again: the same file */

	/* Not a database. */
	const char *junk = in_dir(state, "junk.sqlite");
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	for (int i = 0; i < 100; i++)
		fputs("this is not a database, only text\n", f);
	fclose(f);
	expect_open_error(junk, "file is not a database");
	assert_null(bandit_store_open(junk, NULL, 0));
	expect_open_error("", "empty path");

	/* Another program's database; the response cache; and the cache
	 * refuses a bandit store. */
	char other[512];
	snprintf(other, sizeof(other), "%s", in_dir(state, "other.sqlite"));
	sql(other, "CREATE TABLE t (x)");
	expect_open_error(other, "not a quorum bandit store");
	char cpath[512];
	snprintf(cpath, sizeof(cpath), "%s", in_dir(state, "cache.sqlite"));
	char err[512];
	struct cache *c = cache_open(cpath, err, sizeof(err));
	assert_non_null(c);
	cache_close(c);
	expect_open_error(cpath, "not a quorum bandit store");
	assert_null(cache_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a quorum cache"));

	/* A newer schema. */
	sql(path, "UPDATE quorum_bandit_schema SET version = 9");
	expect_open_error(path, "schema version 9");
}

static void test_default_path(void **state)
{
	(void)state;
	char *save_xdg = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME")) : NULL;
	char *save_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("XDG_STATE_HOME", "/x/state", 1);
	setenv("HOME", "/home/u", 1);
	char *p = bandit_store_default_path();
	assert_string_equal(p, "/x/state/quorum/bandit.sqlite");
	q_free(p);
	setenv("XDG_STATE_HOME", "relative", 1);
	p = bandit_store_default_path();
	assert_string_equal(p, "/home/u/.local/state/quorum/bandit.sqlite");
	q_free(p);
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	assert_null(bandit_store_default_path());
	if (save_xdg)
		setenv("XDG_STATE_HOME", save_xdg, 1);
	if (save_home)
		setenv("HOME", save_home, 1);
	free(save_xdg);
	free(save_home);
}

static void test_node_key(void **state)
{
	(void)state;
	struct bandit_config cfg = config(BANDIT_THOMPSON);
	char *a = bandit_store_node_key("triage", "route", ARMS, 3, &cfg);
	assert_non_null(a);
	assert_int_equal(strlen(a), strlen("triage/route#") + 16);
	assert_memory_equal(a, "triage/route#", 13);
	/* Order does not matter; the policy and the weights do not either. */
	const char *shuffled[] = {"dear", "cheap", "middle"};
	struct bandit_config other = cfg;
	other.policy = BANDIT_LIN_UCB;
	other.cost_weight = 3;
	other.budget_per_query = 0.01;
	char *b = bandit_store_node_key("triage", "route", shuffled, 3, &other);
	assert_string_equal(a, b);
	q_free(b);
	/* A renamed arm, another k or seed: another key. */
	const char *renamed[] = {"cheap", "middle", "dearest"};
	b = bandit_store_node_key("triage", "route", renamed, 3, &cfg);
	assert_string_not_equal(a, b);
	q_free(b);
	other = cfg;
	other.proj_dim = 8;
	b = bandit_store_node_key("triage", "route", ARMS, 3, &other);
	assert_string_not_equal(a, b);
	q_free(b);
	other = cfg;
	other.seed = 8;
	b = bandit_store_node_key("triage", "route", ARMS, 3, &other);
	assert_string_not_equal(a, b);
	q_free(b);
	/* Names are length-prefixed: "ab","c" is not "a","bc". */
	const char *x[] = {"ab", "c"}, *y[] = {"a", "bc"};
	char *kx = bandit_store_node_key("w", "n", x, 2, &cfg);
	char *ky = bandit_store_node_key("w", "n", y, 2, &cfg);
	assert_string_not_equal(kx, ky);
	q_free(kx);
	q_free(ky);
	q_free(a);
}

/* The reward of arm i in this file's small world. */
static double world_reward(size_t arm, unsigned t)
{
	static const double p[] = {0.3, 0.6, 0.9};
	uint64_t z = (uint64_t)t * 0x9E3779B97F4A7C15u + arm;
	z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9u;
	return (double)(z >> 11) * 0x1.0p-53 < p[arm] ? 1.0 : 0.0;
}

static const double COSTS[] = {0.0001, 0.0005, 0.002};

/* The query embedding of step t: two clusters in 64 dims. */
static void embedding(unsigned t, float *e)
{
	for (int i = 0; i < 64; i++)
		e[i] = (float)((t % 2 ? i % 3 == 0 : i % 5 == 0) + 0.01 * ((t * 7 + i) % 11));
}

/* Through the store and in memory, with the pure functions, the same
 * steps (rewards 5 decisions late) give the same choices and, after a
 * close and a reopen, the same state to the last bit. */
static void test_replay_and_persist(void **state)
{
	const char *path = in_dir(state, "replay.sqlite");
	struct bandit_config cfg = config(BANDIT_LIN_TS);
	cfg.budget_per_query = 0.0008;
	char *key = bandit_store_node_key("wf", "pick", ARMS, 3, &cfg);
	struct bandit_store *s = open_ok(path);
	static struct bandit_arm_state mem[3], got[3];
	memset(mem, 0, sizeof(mem));
	struct bandit_budget bud = {0}, gotb;
	static struct bandit_choice why[200];
	uint64_t rng_store = 11, rng_mem = 11;
	float e[64];
	for (unsigned t = 0; t < 200; t++) {
		char id[32];
		snprintf(id, sizeof(id), "run%u/pick", t);
		embedding(t, e);
		struct bandit_choice w;
		assert_int_equal(bandit_store_decide(s, key, ARMS, 3, &cfg, e, 64, id,
						     &rng_store, &why[t]), 0);
		size_t a = bandit_choose(&cfg, mem, 3, e, 64, &bud, &rng_mem, &w);
		assert_int_equal(a, why[t].arm);
		assert_true(rng_store == rng_mem);
		bandit_pull(&mem[a]);
		double cost = COSTS[a] * (0.5 + (t % 7) / 6.0);
		assert_int_equal(bandit_store_cost(s, id, cost, &cfg), 0);
		bandit_update_cost(&cfg, &mem[a], &bud, cost);
		if (t >= 5) {
			unsigned d = t - 5;
			snprintf(id, sizeof(id), "run%u/pick", d);
			double r = world_reward(why[d].arm, d);
			assert_int_equal(bandit_store_feedback(s, id, r), 0);
			bandit_update_reward(&mem[why[d].arm], r, why[d].x, why[d].k);
		}
		/* Reopen now and then: nothing lives only in memory. */
		if (t % 50 == 49) {
			bandit_store_close(s);
			s = open_ok(path);
		}
	}
	assert_int_equal(bandit_store_load(s, key, ARMS, 3, got, &gotb), 0);
	assert_memory_equal(got, mem, sizeof(mem));
	assert_memory_equal(&gotb, &bud, sizeof(bud));
	/* It learnt: the worst arm (0.3 right) got under a third. */
	assert_true(3 * mem[0].pulls < 200);
	/* An arm the file does not know loads as the prior. */
	const char *more[] = {"cheap", "newcomer"};
	assert_int_equal(bandit_store_load(s, key, more, 2, got, NULL), 0);
	assert_memory_equal(&got[0], &mem[0], sizeof(mem[0]));
	static const struct bandit_arm_state zero;
	assert_memory_equal(&got[1], &zero, sizeof(zero));
	bandit_store_close(s);
	q_free(key);
}

static void test_exactly_once(void **state)
{
	const char *path = in_dir(state, "once.sqlite");
	struct bandit_config cfg = config(BANDIT_THOMPSON);
	struct bandit_store *s = open_ok(path);
	struct bandit_choice why;
	uint64_t rng = 1;
	assert_int_equal(bandit_store_decide(s, "wf/n#1", ARMS, 3, &cfg, NULL, 0, "r1/n",
					     &rng, &why), 0);
	assert_true(why.arm < 3);
	assert_int_equal(why.cold_start, 1);
	/* The id is taken. */
	assert_int_equal(bandit_store_decide(s, "wf/n#1", ARMS, 3, &cfg, NULL, 0, "r1/n",
					     &rng, &why), BANDIT_STORE_DONE);
	assert_string_equal(bandit_store_error(s), "bandit decision 'r1/n' exists already");
	assert_true(why.arm == BANDIT_NONE);
	/* Cost once. */
	assert_int_equal(bandit_store_cost(s, "r1/n", 0.001, &cfg), 0);
	assert_int_equal(bandit_store_cost(s, "r1/n", 0.001, &cfg), BANDIT_STORE_DONE);
	assert_string_equal(bandit_store_error(s), "bandit decision 'r1/n' already has its cost");
	assert_int_equal(bandit_store_cost(s, "r1/n", -1, &cfg), BANDIT_STORE_FAIL);
	assert_int_equal(bandit_store_cost(s, "r9/n", 0.001, &cfg), BANDIT_STORE_UNKNOWN);
	/* Reward once; out of range or unknown, refused. */
	assert_int_equal(bandit_store_feedback(s, "r1/n", 1.5), BANDIT_STORE_FAIL);
	assert_string_equal(bandit_store_error(s),
			    "reward 1.5 for bandit decision 'r1/n' out of range 0..1");
	assert_int_equal(bandit_store_feedback(s, "r1/n", NAN), BANDIT_STORE_FAIL);
	assert_int_equal(bandit_store_feedback(s, "r1/n", 0.75), 0);
	assert_string_equal(bandit_store_error(s), "");
	assert_int_equal(bandit_store_feedback(s, "r1/n", 0.25), BANDIT_STORE_DONE);
	assert_string_equal(bandit_store_error(s),
			    "bandit decision 'r1/n' already has a reward (0.75)");
	assert_int_equal(bandit_store_feedback(s, "nope", 1), BANDIT_STORE_UNKNOWN);
	assert_string_equal(bandit_store_error(s), "no bandit decision 'nope'");
	assert_int_equal(bandit_store_feedback(s, "", 1), BANDIT_STORE_FAIL);
	/* The refused ones changed nothing; a reopened store refuses too. */
	bandit_store_close(s);
	s = open_ok(path);
	assert_int_equal(bandit_store_feedback(s, "r1/n", 0.25), BANDIT_STORE_DONE);
	static struct bandit_arm_state st[3];
	struct bandit_budget b;
	assert_int_equal(bandit_store_load(s, "wf/n#1", ARMS, 3, st, &b), 0);
	uint64_t pulls = 0, rewarded = 0, costed = 0;
	double rsum = 0;
	for (int i = 0; i < 3; i++) {
		pulls += st[i].pulls;
		rewarded += st[i].rewarded;
		costed += st[i].costed;
		rsum += st[i].reward_sum;
	}
	assert_true(pulls == 1 && rewarded == 1 && costed == 1 && rsum == 0.75);
	assert_true(b.queries == 1 && b.spent == 0.001);
	/* Bad arm lists. */
	const char *twice[] = {"a", "b", "a"};
	assert_int_equal(bandit_store_decide(s, "k", twice, 3, &cfg, NULL, 0, "r2/n", &rng,
					     &why), BANDIT_STORE_FAIL);
	assert_string_equal(bandit_store_error(s), "bandit arm 'a' named twice");
	assert_int_equal(bandit_store_decide(s, "k", ARMS, 0, &cfg, NULL, 0, "r2/n", &rng,
					     &why), BANDIT_STORE_FAIL);
	assert_int_equal(bandit_store_decide(s, "", ARMS, 3, &cfg, NULL, 0, "r2/n", &rng,
					     &why), BANDIT_STORE_FAIL);
	bandit_store_close(s);
}

static void test_feedback_run(void **state)
{
	struct bandit_store *s = open_ok(in_dir(state, "run.sqlite"));
	struct bandit_config cfg = config(BANDIT_THOMPSON);
	struct bandit_choice why;
	uint64_t rng = 3;
	const char *ids[] = {"r1/a", "r1/b", "r10/a", "r2/a"};
	for (int i = 0; i < 4; i++)
		assert_int_equal(bandit_store_decide(s, i == 1 ? "wf/b#2" : "wf/a#1", ARMS, 3,
						     &cfg, NULL, 0, ids[i], &rng, &why), 0);
	assert_int_equal(bandit_store_feedback(s, "r2/a", 0), 0);
	size_t n = 99;
	assert_int_equal(bandit_store_feedback_run(s, "r1", 1, &n), 0);
	assert_int_equal(n, 2);   /* r1/a and r1/b, not r10/a */
	assert_int_equal(bandit_store_feedback(s, "r10/a", 0.5), 0);
	assert_int_equal(bandit_store_feedback_run(s, "r1", 1, &n), BANDIT_STORE_DONE);
	assert_int_equal(n, 0);
	assert_string_equal(bandit_store_error(s),
			    "every bandit decision of run 'r1' already has a reward");
	assert_int_equal(bandit_store_feedback_run(s, "r2", 1, NULL), BANDIT_STORE_DONE);
	assert_int_equal(bandit_store_feedback_run(s, "r3", 1, NULL), BANDIT_STORE_UNKNOWN);
	assert_string_equal(bandit_store_error(s), "no bandit decision for run 'r3'");
	assert_int_equal(bandit_store_feedback_run(s, "r3", 2, NULL), BANDIT_STORE_FAIL);
	bandit_store_close(s);
}

struct collected {
	int n;
	char line[8][160];
};

static int collect(void *ctx, const struct bandit_arm_stats *st)
{
	struct collected *c = ctx;
	if (c->n == 8)
		return 7;
	snprintf(c->line[c->n++], sizeof(c->line[0]), "%s %s %llu %llu %.3f %.5f %llu %.5f",
		 st->node_key, st->arm, (unsigned long long)st->pulls,
		 (unsigned long long)st->rewarded, st->mean_reward, st->mean_cost,
		 (unsigned long long)st->node_queries, st->node_mean_cost);
	return 0;
}

static void test_stats_and_prune(void **state)
{
	const char *path = in_dir(state, "stats.sqlite");
	struct bandit_store *s = open_ok(path);
	struct bandit_config cfg = config(BANDIT_THOMPSON);
	cfg.explore = 2;
	struct bandit_choice why;
	uint64_t rng = 5;
	const char *two[] = {"x", "y"};
	/* Cold start: x, y (or y, x), then again. */
	for (int i = 0; i < 4; i++) {
		char id[32];
		snprintf(id, sizeof(id), "r%d/n", i);
		assert_int_equal(bandit_store_decide(s, "wf/n#1", two, 2, &cfg, NULL, 0, id,
						     &rng, &why), 0);
		assert_int_equal(bandit_store_cost(s, id, why.arm ? 0.004 : 0.002, &cfg), 0);
		if (i < 3)
			assert_int_equal(bandit_store_feedback(s, id, why.arm ? 1.0 : 0.5), 0);
	}
	assert_int_equal(bandit_store_decide(s, "other#2", two, 1, &cfg, NULL, 0, "z/n",
					     &rng, &why), 0);
	struct collected c = {0};
	assert_int_equal(bandit_store_stats(s, NULL, collect, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.line[0], "other#2 x 1 0 nan nan 0 nan");
	/* Two pulls each; x has rewards 0.5 (twice, or once), y 1.0. */
	assert_memory_equal(c.line[1], "wf/n#1 x 2 ", 11);
	assert_memory_equal(c.line[2], "wf/n#1 y 2 ", 11);
	assert_non_null(strstr(c.line[1], " 0.500 0.00200 4 0.00300"));
	assert_non_null(strstr(c.line[2], " 1.000 0.00400 4 0.00300"));
	memset(&c, 0, sizeof(c));
	assert_int_equal(bandit_store_stats(s, "other#2", collect, &c), 0);
	assert_int_equal(c.n, 1);
	c.n = 8;
	assert_int_equal(bandit_store_stats(s, NULL, collect, &c), 7);

	/* Prune: decisions older than a day go; a reward for one is then
	 * for an unknown decision. */
	bandit_store_close(s);
	sql(path, "UPDATE decisions SET created = created - 100000 WHERE id = 'r3/n'");
	s = open_ok(path);
	assert_int_equal(bandit_store_prune(s, 86400), 1);
	assert_int_equal(bandit_store_feedback(s, "r3/n", 1), BANDIT_STORE_UNKNOWN);
	assert_int_equal(bandit_store_feedback(s, "z/n", 1), 0);
	bandit_store_close(s);

	/* Opening prunes by itself what is past BANDIT_DECISION_MAX_AGE_S, so
	 * the file does not grow for ever; what the arms learnt stays. */
	char q[160];
	snprintf(q, sizeof(q), "UPDATE decisions SET created = created - %ld WHERE id = 'r2/n'",
		 BANDIT_DECISION_MAX_AGE_S + 10);
	sql(path, q);
	s = open_ok(path);
	assert_int_equal(bandit_store_feedback(s, "r2/n", 1), BANDIT_STORE_UNKNOWN);
	assert_int_equal(bandit_store_feedback(s, "r1/n", 1), BANDIT_STORE_DONE);
	memset(&c, 0, sizeof(c));
	assert_int_equal(bandit_store_stats(s, "wf/n#1", collect, &c), 0);
	assert_int_equal(c.n, 2);
	bandit_store_close(s);

	/* A hand-edited count below zero reads as none, not as 2^64 less a
	 * little (which the table and every choice would then show). */
	sql(path, "UPDATE arms SET pulls = -5, rewarded = -1 WHERE name = 'x'");
	s = open_ok(path);
	memset(&c, 0, sizeof(c));
	assert_int_equal(bandit_store_stats(s, "wf/n#1", collect, &c), 0);
	assert_int_equal(c.n, 2);
	assert_memory_equal(c.line[0], "wf/n#1 x 0 0 nan ", 17);
	bandit_store_close(s);
}

/* One process's share of the concurrent test: decisions, costs and
 * rewards on one node, each its own transaction. */
static int hammer(const char *path, unsigned who, unsigned n)
{
	char err[512];
	struct bandit_store *s = bandit_store_open(path, err, sizeof(err));
	if (!s)
		return 1;
	struct bandit_config cfg = config(BANDIT_LIN_UCB);
	uint64_t rng = who;
	float e[64];
	int bad = 0;
	for (unsigned i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "p%u-%u/n", who, i);
		struct bandit_choice why;
		embedding(i, e);
		if (bandit_store_decide(s, "shared#1", ARMS, 3, &cfg, e, 64, id, &rng, &why) != 0 ||
		    bandit_store_cost(s, id, 0.001, &cfg) != 0 ||
		    bandit_store_feedback(s, id, world_reward(why.arm, i)) != 0)
			bad++;
	}
	if (bad)
		fprintf(stderr, "process %u: %d failed, last: %s\n", who, bad,
			bandit_store_error(s));
	bandit_store_close(s);
	return bad != 0;
}

/* Two processes on one file lose no update: every pull, cost and reward
 * is counted, and the models hold every reward's context. */
static void test_two_processes(void **state)
{
	const char *path = in_dir(state, "procs/bandit.sqlite");
	enum { N = 300 };
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(hammer(path, 1, N));
	int mine = hammer(path, 2, N);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(mine, 0);
	struct bandit_store *s = open_ok(path);
	static struct bandit_arm_state st[3];
	struct bandit_budget b;
	assert_int_equal(bandit_store_load(s, "shared#1", ARMS, 3, st, &b), 0);
	uint64_t pulls = 0, rewarded = 0, costed = 0;
	double gram00 = 0;
	for (int i = 0; i < 3; i++) {
		pulls += st[i].pulls;
		rewarded += st[i].rewarded;
		costed += st[i].costed;
		gram00 += st[i].gram[0];   /* x[0] = 1: one per reward */
	}
	assert_int_equal(pulls, 2 * N);
	assert_int_equal(rewarded, 2 * N);
	assert_int_equal(costed, 2 * N);
	assert_true(gram00 == 2 * N);
	assert_int_equal(b.queries, 2 * N);
	assert_true(fabs(b.spent - 2 * N * 0.001) < 1e-9);
	bandit_store_close(s);
}

/* Memory running out at each of our allocations in turn: an error, no
 * crash, no leak, and the file stays consistent. */
static void test_out_of_memory(void **state)
{
	const char *path = in_dir(state, "oom.sqlite");
	struct bandit_config cfg = config(BANDIT_THOMPSON);
	struct bandit_store *s = open_ok(path);
	uint64_t rng = 1;
	struct bandit_choice why;
	int ok = 0;
	for (long n = 1; n < 10; n++) {   /* 7 allocations in all */
		char id[32];
		snprintf(id, sizeof(id), "m%ld/n", n);
		q_alloc_fail_after(n);
		int rc = bandit_store_decide(s, "wf#1", ARMS, 3, &cfg, NULL, 0, id, &rng, &why);
		if (rc == 0)
			rc = bandit_store_cost(s, id, 0.001, &cfg);
		if (rc == 0)
			rc = bandit_store_feedback(s, id, 1);
		q_alloc_fail_after(0);
		if (rc == 0)
			ok++;
		else
			assert_int_equal(rc, BANDIT_STORE_FAIL);
		char *k = NULL;
		q_alloc_fail_after(n);
		k = bandit_store_node_key("w", "n", ARMS, 3, &cfg);
		q_alloc_fail_after(0);
		q_free(k);
	}
	assert_true(ok > 0);
	q_alloc_fail_after(1);
	assert_null(bandit_store_open(in_dir(state, "oom2.sqlite"), NULL, 0));
	q_alloc_fail_after(0);
	bandit_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_and_refuse, dir_setup, dir_teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_node_key),
		cmocka_unit_test_setup_teardown(test_replay_and_persist, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_exactly_once, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_feedback_run, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_stats_and_prune, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory, dir_setup, dir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
