#include "banditstore.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/alloc.h"
#include "../common/sha256.h"
#include "sqlfile.h"

/* One table names the file's kind and schema; nodes hold each bandit
 * node's pacer, arms what each arm has learnt (the scalars as columns,
 * readable by SQL; the linear model as a blob of k*k + k little-endian
 * IEEE 754 doubles: gram row by row, then xr), decisions what a late
 * reward needs (the arm, the projected context as k doubles) and whether
 * its cost and its reward came (NULL: not yet). */
static const char SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS quorum_bandit_schema ("
	" version INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS nodes ("
	" key TEXT PRIMARY KEY,"
	" nu REAL NOT NULL,"
	" queries INTEGER NOT NULL,"
	" spent REAL NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS arms ("
	" node TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" pulls INTEGER NOT NULL,"
	" costed INTEGER NOT NULL,"
	" cost_sum REAL NOT NULL,"
	" rewarded INTEGER NOT NULL,"
	" reward_sum REAL NOT NULL,"
	" reward_sq REAL NOT NULL,"
	" k INTEGER NOT NULL,"
	" model BLOB,"
	" PRIMARY KEY (node, name));"
	"CREATE TABLE IF NOT EXISTS decisions ("
	" id TEXT PRIMARY KEY,"
	" node TEXT NOT NULL,"
	" arm TEXT NOT NULL,"
	" x BLOB NOT NULL,"
	" cost REAL,"
	" reward REAL,"
	" created INTEGER NOT NULL,"
	" cost_at INTEGER,"
	" reward_at INTEGER);"
	"CREATE INDEX IF NOT EXISTS decisions_created ON decisions (created);"
	"INSERT INTO quorum_bandit_schema (version) SELECT 1"
	" WHERE NOT EXISTS (SELECT 1 FROM quorum_bandit_schema);";

struct bandit_store {
	sqlite3 *db;
	sqlite3_stmt *begin, *commit, *rollback;
	sqlite3_stmt *node_ensure, *node_get, *node_put;
	sqlite3_stmt *arm_ensure, *arm_get, *arm_put;
	sqlite3_stmt *dec_exists, *dec_insert, *dec_get, *dec_cost, *dec_reward;
	char errmsg[512];
};

/* Keeps SQLite's message for bandit_store_error; returns FAIL. */
static int db_fail(struct bandit_store *s)
{
	snprintf(s->errmsg, sizeof(s->errmsg), "%s", sqlite3_errmsg(s->db));
	return BANDIT_STORE_FAIL;
}

/* Sets our own message; returns code. */
static int fail(struct bandit_store *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct bandit_store *s, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

char *bandit_store_default_path(void)
{
	return sqlfile_default_path("XDG_STATE_HOME", "/.local/state/",
				    "quorum/bandit.sqlite");
}

static int exec(struct bandit_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(s);
}

/* The store's file (sqlfile.h), WAL as the response cache's: readers
 * never wait for the writer. */
static const struct sqlfile_kind STORE_FILE = {
	.what = "bandit store",
	.schema_table = "quorum_bandit_schema",
	.version = 1,
	.schema = SCHEMA,
};

#define ARM_COLS "pulls, costed, cost_sum, rewarded, reward_sum, reward_sq," \
	" k, model"

struct bandit_store *bandit_store_open(const char *path, char *err, size_t n)
{
	struct bandit_store *s = q_calloc(1, sizeof(*s));
	if (!s) {
		if (err && n)
			snprintf(err, n, "cannot open bandit store '%s': out of memory",
				 path ? path : "");
		return NULL;
	}
	const struct sqlfile_stmt st[] = {
		{&s->begin, "BEGIN IMMEDIATE"},
		{&s->commit, "COMMIT"},
		{&s->rollback, "ROLLBACK"},
		{&s->node_ensure, "INSERT OR IGNORE INTO nodes (key, nu, queries, spent,"
				  " created) VALUES (?1, 0, 0, 0, " SQLFILE_NOW ")"},
		{&s->node_get, "SELECT nu, queries, spent FROM nodes WHERE key = ?1"},
		{&s->node_put, "UPDATE nodes SET nu = ?2, queries = ?3, spent = ?4"
			       " WHERE key = ?1"},
		{&s->arm_ensure, "INSERT OR IGNORE INTO arms (node, name, " ARM_COLS
				 ") VALUES (?1, ?2, 0, 0, 0, 0, 0, 0, 0, NULL)"},
		{&s->arm_get, "SELECT " ARM_COLS " FROM arms WHERE node = ?1 AND name = ?2"},
		{&s->arm_put, "UPDATE arms SET pulls = ?3, costed = ?4,"
			      " cost_sum = ?5, rewarded = ?6, reward_sum = ?7, reward_sq = ?8,"
			      " k = ?9, model = ?10 WHERE node = ?1 AND name = ?2"},
		{&s->dec_exists, "SELECT 1 FROM decisions WHERE id = ?1"},
		{&s->dec_insert, "INSERT INTO decisions (id, node, arm, x, created)"
				 " VALUES (?1, ?2, ?3, ?4, " SQLFILE_NOW ")"},
		{&s->dec_get, "SELECT node, arm, x, cost, reward FROM decisions"
			      " WHERE id = ?1"},
		{&s->dec_cost, "UPDATE decisions SET cost = ?2, cost_at = " SQLFILE_NOW
			       " WHERE id = ?1"},
		{&s->dec_reward, "UPDATE decisions SET reward = ?2, reward_at = " SQLFILE_NOW
				 " WHERE id = ?1"},
	};
	s->db = sqlfile_open(path, &STORE_FILE, st, sizeof(st) / sizeof(st[0]), err, n);
	if (!s->db) {
		q_free(s);
		return NULL;
	}
	/* Every run adds a decision: without this the file grows for ever. A
	 * failure (a read-only file, a busy writer) costs only the pruning. */
	if (bandit_store_prune(s, BANDIT_DECISION_MAX_AGE_S) < 0)
		s->errmsg[0] = '\0';
	return s;
}

void bandit_store_close(struct bandit_store *s)
{
	if (!s)
		return;
	sqlite3_stmt *all[] = {
		s->begin, s->commit, s->rollback, s->node_ensure, s->node_get,
		s->node_put, s->arm_ensure, s->arm_get, s->arm_put, s->dec_exists,
		s->dec_insert, s->dec_get, s->dec_cost, s->dec_reward,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
	sqlite3_close(s->db);
	q_free(s);
}

const char *bandit_store_error(const struct bandit_store *s)
{
	return s->errmsg;
}

/* A hash field: its length, then its bytes, so no two tuples hash alike. */
static void key_field(struct sha256 *h, const void *p, size_t n)
{
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	sha256_update(h, len, sizeof(len));
	sha256_update(h, p, n);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *bandit_store_node_key(const char *workflow, const char *node,
			    const char *const *arms, size_t narms,
			    const struct bandit_config *cfg)
{
	static const char TAG[] = "quorum bandit node v1";
	const char **sorted = q_malloc((narms ? narms : 1) * sizeof(*sorted));
	if (!sorted)
		return NULL;
	for (size_t i = 0; i < narms; i++)
		sorted[i] = arms[i] ? arms[i] : "";
	qsort(sorted, narms, sizeof(*sorted), name_cmp);
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, TAG, sizeof(TAG));
	unsigned char num[16];
	for (int i = 0; i < 8; i++) {
		num[i] = (unsigned char)((uint64_t)cfg->proj_dim >> (56 - 8 * i));
		num[8 + i] = (unsigned char)(cfg->seed >> (56 - 8 * i));
	}
	sha256_update(&h, num, sizeof(num));
	for (size_t i = 0; i < narms; i++)
		key_field(&h, sorted[i], strlen(sorted[i]));
	q_free(sorted);
	unsigned char d[SHA256_DIGEST_LEN];
	sha256_final(&h, d);
	workflow = workflow ? workflow : "";
	node = node ? node : "";
	size_t n = strlen(workflow) + strlen(node) + 2 + 16 + 1;
	char *key = q_malloc(n);
	if (!key)
		return NULL;
	int at = snprintf(key, n, "%s/%s#", workflow, node);
	for (int i = 0; i < 8; i++)
		at += snprintf(key + at, n - (size_t)at, "%02x", d[i]);
	return key;
}

/* Doubles as little-endian IEEE 754 bytes, whatever the host. */
static void put_f64(unsigned char *p, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(u >> (8 * i));
}

static double get_f64(const unsigned char *p)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)p[i] << (8 * i);
	double v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

static int step_done(struct bandit_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s);
}

static int begin(struct bandit_store *s)
{
	return step_done(s, s->begin);
}

static int commit(struct bandit_store *s)
{
	return step_done(s, s->commit);
}

/* Rolls back, keeping the message of what failed. Returns rc. */
static int rollback(struct bandit_store *s, int rc)
{
	char keep[sizeof(s->errmsg)];
	memcpy(keep, s->errmsg, sizeof(keep));
	if (!sqlite3_get_autocommit(s->db))
		step_done(s, s->rollback);
	memcpy(s->errmsg, keep, sizeof(keep));
	return rc;
}

static int node_ensure(struct bandit_store *s, const char *key)
{
	sqlite3_bind_text(s->node_ensure, 1, key, -1, SQLITE_STATIC);
	return step_done(s, s->node_ensure);
}

/* A count column: one that reads negative (a hand-edited file) is 0,
 * not 2^64 less a little, which no choice or table could survive. */
static uint64_t count_col(sqlite3_stmt *st, int col)
{
	sqlite3_int64 v = sqlite3_column_int64(st, col);
	return v > 0 ? (uint64_t)v : 0;
}

/* The node's pacer; a node not in the file has the zero one. */
static int node_get(struct bandit_store *s, const char *key, struct bandit_budget *b)
{
	sqlite3_stmt *st = s->node_get;
	memset(b, 0, sizeof(*b));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->nu = sqlite3_column_double(st, 0);
		b->queries = count_col(st, 1);
		b->spent = sqlite3_column_double(st, 2);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s);
}

static int node_put(struct bandit_store *s, const char *key, const struct bandit_budget *b)
{
	sqlite3_stmt *st = s->node_put;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, b->nu);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)b->queries);
	sqlite3_bind_double(st, 4, b->spent);
	return step_done(s, st);
}

static int arm_ensure(struct bandit_store *s, const char *node, const char *arm)
{
	sqlite3_bind_text(s->arm_ensure, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->arm_ensure, 2, arm, -1, SQLITE_STATIC);
	return step_done(s, s->arm_ensure);
}

/* The arm's state (the prior when it has no row); *k gets its linear
 * model's size (0: none yet). A model blob of the wrong size reads as
 * none. */
static int arm_get(struct bandit_store *s, const char *node, const char *arm,
		   struct bandit_arm_state *a, unsigned *k)
{
	sqlite3_stmt *st = s->arm_get;
	memset(a, 0, sizeof(*a));
	*k = 0;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, arm, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->pulls = count_col(st, 0);
		a->costed = count_col(st, 1);
		a->cost_sum = sqlite3_column_double(st, 2);
		a->rewarded = count_col(st, 3);
		a->reward_sum = sqlite3_column_double(st, 4);
		a->reward_sq = sqlite3_column_double(st, 5);
		sqlite3_int64 kk = sqlite3_column_int64(st, 6);
		const unsigned char *m = sqlite3_column_blob(st, 7);
		size_t len = (size_t)sqlite3_column_bytes(st, 7);
		if (kk > 0 && kk <= BANDIT_K_MAX && m &&
		    len == (size_t)(kk * kk + kk) * 8) {
			unsigned n = (unsigned)kk;
			for (unsigned i = 0; i < n; i++)
				for (unsigned j = 0; j < n; j++)
					a->gram[i * BANDIT_K_MAX + j] =
						get_f64(m + 8 * (i * n + j));
			for (unsigned i = 0; i < n; i++)
				a->xr[i] = get_f64(m + 8 * (n * n + i));
			*k = n;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s);
}

static int arm_put(struct bandit_store *s, const char *node, const char *arm,
		   const struct bandit_arm_state *a, unsigned k)
{
	unsigned char m[(BANDIT_K_MAX * BANDIT_K_MAX + BANDIT_K_MAX) * 8];
	sqlite3_stmt *st = s->arm_put;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, arm, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)a->pulls);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)a->costed);
	sqlite3_bind_double(st, 5, a->cost_sum);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)a->rewarded);
	sqlite3_bind_double(st, 7, a->reward_sum);
	sqlite3_bind_double(st, 8, a->reward_sq);
	sqlite3_bind_int(st, 9, (int)k);
	if (k > 0 && k <= BANDIT_K_MAX) {
		for (unsigned i = 0; i < k; i++)
			for (unsigned j = 0; j < k; j++)
				put_f64(m + 8 * (i * k + j), a->gram[i * BANDIT_K_MAX + j]);
		for (unsigned i = 0; i < k; i++)
			put_f64(m + 8 * (k * k + i), a->xr[i]);
		sqlite3_bind_blob(st, 10, m, (int)((k * k + k) * 8), SQLITE_STATIC);
	} else
		sqlite3_bind_null(st, 10);
	return step_done(s, st);
}

static int check_key(struct bandit_store *s, const char *what, const char *v)
{
	if (!v || !v[0])
		return fail(s, BANDIT_STORE_FAIL, "empty bandit %s", what);
	return 0;
}

/* Loads node's arms into out (and their models' sizes into ks, when not
 * NULL), making rows for new ones when create. */
static int load_arms(struct bandit_store *s, const char *node,
		     const char *const *arms, size_t narms,
		     struct bandit_arm_state *out, unsigned *ks, int create)
{
	for (size_t i = 0; i < narms; i++) {
		unsigned k;
		if ((create && arm_ensure(s, node, arms[i]) != 0) ||
		    arm_get(s, node, arms[i], &out[i], &k) != 0)
			return BANDIT_STORE_FAIL;
		if (ks)
			ks[i] = k;
	}
	return 0;
}

static int check_arms(struct bandit_store *s, const char *const *arms, size_t narms)
{
	if (narms == 0 || narms > BANDIT_ARMS_MAX)
		return fail(s, BANDIT_STORE_FAIL, "a bandit takes 1 to %d arms, not %zu",
			    BANDIT_ARMS_MAX, narms);
	for (size_t i = 0; i < narms; i++) {
		if (check_key(s, "arm name", arms[i]) != 0)
			return BANDIT_STORE_FAIL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(arms[i], arms[j]) == 0)
				return fail(s, BANDIT_STORE_FAIL,
					    "bandit arm '%s' named twice", arms[i]);
	}
	return 0;
}

int bandit_store_decide(struct bandit_store *s, const char *node_key,
			const char *const *arms, size_t narms,
			const struct bandit_config *cfg, const float *context,
			size_t dim, const char *decision_id, uint64_t *rng,
			struct bandit_choice *why)
{
	memset(why, 0, sizeof(*why));
	why->arm = BANDIT_NONE;
	s->errmsg[0] = '\0';
	if (check_key(s, "node key", node_key) ||
	    check_key(s, "decision id", decision_id) || check_arms(s, arms, narms))
		return BANDIT_STORE_FAIL;
	struct bandit_arm_state *st = q_calloc(narms, sizeof(*st));
	if (!st)
		return fail(s, BANDIT_STORE_FAIL, "out of memory");
	int rc = begin(s);
	if (rc != 0)
		goto done;
	sqlite3_bind_text(s->dec_exists, 1, decision_id, -1, SQLITE_STATIC);
	int ex = sqlite3_step(s->dec_exists);
	sqlite3_reset(s->dec_exists);
	sqlite3_clear_bindings(s->dec_exists);
	if (ex == SQLITE_ROW) {
		rc = rollback(s, fail(s, BANDIT_STORE_DONE,
				      "bandit decision '%s' exists already", decision_id));
		goto done;
	}
	struct bandit_budget b;
	unsigned ks[BANDIT_ARMS_MAX];
	if (ex != SQLITE_DONE || node_ensure(s, node_key) != 0 ||
	    node_get(s, node_key, &b) != 0 ||
	    load_arms(s, node_key, arms, narms, st, ks, 1) != 0) {
		rc = rollback(s, ex != SQLITE_DONE ? db_fail(s) : BANDIT_STORE_FAIL);
		goto done;
	}
	size_t arm = bandit_choose(cfg, st, narms, context, dim, &b, rng, why);
	if (arm == BANDIT_NONE) {
		rc = rollback(s, fail(s, BANDIT_STORE_FAIL, "bandit could not choose"));
		goto done;
	}
	bandit_pull(&st[arm]);
	unsigned char x[BANDIT_K_MAX * 8];
	for (unsigned i = 0; i < why->k; i++)
		put_f64(x + 8 * i, why->x[i]);
	sqlite3_stmt *ins = s->dec_insert;
	sqlite3_bind_text(ins, 1, decision_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, node_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, arms[arm], -1, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 4, x, (int)(why->k * 8), SQLITE_STATIC);
	if (arm_put(s, node_key, arms[arm], &st[arm], ks[arm]) != 0 ||
	    step_done(s, ins) != 0 ||
	    commit(s) != 0) {
		rc = rollback(s, BANDIT_STORE_FAIL);
		goto done;
	}
	rc = 0;
done:
	q_free(st);
	if (rc != 0)
		why->arm = BANDIT_NONE;
	return rc;
}

/* The decision's row: its node and arm (new text), its context (x, *k),
 * whether it has a cost and a reward (and which). Returns 0,
 * BANDIT_STORE_UNKNOWN, or FAIL. */
struct decision {
	char *node, *arm;
	double x[BANDIT_K_MAX];
	unsigned k;
	int has_cost, has_reward;
	double reward;
};

static void decision_release(struct decision *d)
{
	q_free(d->node);
	q_free(d->arm);
	d->node = d->arm = NULL;
}

static int decision_get(struct bandit_store *s, const char *id, struct decision *d)
{
	sqlite3_stmt *st = s->dec_get;
	memset(d, 0, sizeof(*d));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), ret = 0;
	if (rc == SQLITE_DONE) {
		ret = fail(s, BANDIT_STORE_UNKNOWN, "no bandit decision '%s'", id);
	} else if (rc == SQLITE_ROW) {
		const unsigned char *node = sqlite3_column_text(st, 0);
		const unsigned char *arm = sqlite3_column_text(st, 1);
		d->node = q_strdup(node ? (const char *)node : "");
		d->arm = q_strdup(arm ? (const char *)arm : "");
		const unsigned char *x = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);
		if (x && len % 8 == 0 && len / 8 <= BANDIT_K_MAX) {
			d->k = (unsigned)(len / 8);
			for (unsigned i = 0; i < d->k; i++)
				d->x[i] = get_f64(x + 8 * i);
		}
		d->has_cost = sqlite3_column_type(st, 3) != SQLITE_NULL;
		d->has_reward = sqlite3_column_type(st, 4) != SQLITE_NULL;
		d->reward = sqlite3_column_double(st, 4);
		if (!d->node || !d->arm) {
			decision_release(d);
			ret = fail(s, BANDIT_STORE_FAIL, "out of memory");
		}
	} else
		ret = db_fail(s);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

int bandit_store_cost(struct bandit_store *s, const char *decision_id,
		      double cost_usd, const struct bandit_config *cfg)
{
	s->errmsg[0] = '\0';
	if (check_key(s, "decision id", decision_id) != 0)
		return BANDIT_STORE_FAIL;
	if (!isfinite(cost_usd) || cost_usd < 0)
		return fail(s, BANDIT_STORE_FAIL, "bandit decision '%s': cost %g is not "
			    "a finite amount of 0 or more", decision_id, cost_usd);
	struct bandit_arm_state *a = q_calloc(1, sizeof(*a));
	if (!a)
		return fail(s, BANDIT_STORE_FAIL, "out of memory");
	struct decision d = {0};
	int rc = begin(s);
	if (rc != 0)
		goto done;
	if ((rc = decision_get(s, decision_id, &d)) != 0) {
		rollback(s, rc);
		goto done;
	}
	if (d.has_cost) {
		rc = rollback(s, fail(s, BANDIT_STORE_DONE, "bandit decision '%s' already "
				      "has its cost", decision_id));
		goto done;
	}
	struct bandit_budget b;
	unsigned k;
	if (node_ensure(s, d.node) != 0 || node_get(s, d.node, &b) != 0 ||
	    arm_ensure(s, d.node, d.arm) != 0 || arm_get(s, d.node, d.arm, a, &k) != 0) {
		rc = rollback(s, BANDIT_STORE_FAIL);
		goto done;
	}
	bandit_update_cost(cfg, a, &b, cost_usd);
	sqlite3_bind_text(s->dec_cost, 1, decision_id, -1, SQLITE_STATIC);
	sqlite3_bind_double(s->dec_cost, 2, cost_usd);
	if (arm_put(s, d.node, d.arm, a, k) != 0 || node_put(s, d.node, &b) != 0 ||
	    step_done(s, s->dec_cost) != 0 || commit(s) != 0) {
		rc = rollback(s, BANDIT_STORE_FAIL);
		goto done;
	}
	rc = 0;
done:
	decision_release(&d);
	q_free(a);
	return rc;
}

static int check_reward(struct bandit_store *s, const char *what, const char *id,
			double reward)
{
	if (!isfinite(reward) || reward < 0 || reward > 1)
		return fail(s, BANDIT_STORE_FAIL, "reward %g for %s '%s' out of range 0..1",
			    reward, what, id);
	return 0;
}

/* Applies one reward inside the caller's transaction; a is scratch. */
static int apply_reward(struct bandit_store *s, const char *id, double reward,
			struct bandit_arm_state *a)
{
	struct decision d;
	int rc = decision_get(s, id, &d);
	if (rc != 0)
		return rc;
	if (d.has_reward) {
		rc = fail(s, BANDIT_STORE_DONE, "bandit decision '%s' already has a "
			  "reward (%g)", id, d.reward);
		goto done;
	}
	unsigned k;
	if (arm_ensure(s, d.node, d.arm) != 0 || arm_get(s, d.node, d.arm, a, &k) != 0) {
		rc = BANDIT_STORE_FAIL;
		goto done;
	}
	/* A model of another size (another k) cannot take this context:
	 * it starts again at this one's. */
	if (d.k && k != d.k) {
		memset(a->gram, 0, sizeof(a->gram));
		memset(a->xr, 0, sizeof(a->xr));
		k = d.k;
	}
	bandit_update_reward(a, reward, d.k ? d.x : NULL, d.k);
	sqlite3_bind_text(s->dec_reward, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_double(s->dec_reward, 2, reward);
	if (arm_put(s, d.node, d.arm, a, k) != 0 || step_done(s, s->dec_reward) != 0)
		rc = BANDIT_STORE_FAIL;
done:
	decision_release(&d);
	return rc;
}

int bandit_store_feedback(struct bandit_store *s, const char *decision_id,
			  double reward)
{
	s->errmsg[0] = '\0';
	if (check_key(s, "decision id", decision_id) != 0 ||
	    check_reward(s, "bandit decision", decision_id, reward) != 0)
		return BANDIT_STORE_FAIL;
	struct bandit_arm_state *a = q_calloc(1, sizeof(*a));
	if (!a)
		return fail(s, BANDIT_STORE_FAIL, "out of memory");
	int rc = begin(s);
	if (rc == 0) {
		rc = apply_reward(s, decision_id, reward, a);
		if (rc == 0 && commit(s) != 0)
			rc = BANDIT_STORE_FAIL;
		if (rc != 0)
			rollback(s, rc);
	}
	q_free(a);
	return rc;
}

int bandit_store_feedback_run(struct bandit_store *s, const char *run_id,
			      double reward, size_t *applied)
{
	if (applied)
		*applied = 0;
	s->errmsg[0] = '\0';
	if (check_key(s, "run id", run_id) != 0 ||
	    check_reward(s, "run", run_id, reward) != 0)
		return BANDIT_STORE_FAIL;
	struct bandit_arm_state *a = q_calloc(1, sizeof(*a));
	char **ids = NULL;
	size_t nids = 0, cap = 0, total = 0;
	sqlite3_stmt *st = NULL;
	if (!a)
		return fail(s, BANDIT_STORE_FAIL, "out of memory");
	int rc = begin(s);
	if (rc != 0)
		goto done;
	/* The ids first, then the updates: no table changes under a cursor. */
	if (sqlite3_prepare_v2(s->db, "SELECT id, reward IS NULL FROM decisions"
			       " WHERE substr(id, 1, length(?1) + 1) = ?1 || '/'"
			       " ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		rc = rollback(s, db_fail(s));
		goto done;
	}
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		total++;
		if (!sqlite3_column_int(st, 1))
			continue;
		if (nids == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			char **more = q_realloc(ids, ncap * sizeof(*ids));
			if (!more) {
				rc = rollback(s, fail(s, BANDIT_STORE_FAIL,
						      "out of memory"));
				goto done;
			}
			ids = more;
			cap = ncap;
		}
		const unsigned char *id = sqlite3_column_text(st, 0);
		if (!(ids[nids] = q_strdup(id ? (const char *)id : ""))) {
			rc = rollback(s, fail(s, BANDIT_STORE_FAIL, "out of memory"));
			goto done;
		}
		nids++;
	}
	if (step != SQLITE_DONE) {
		rc = rollback(s, db_fail(s));
		goto done;
	}
	if (!total) {
		rc = rollback(s, fail(s, BANDIT_STORE_UNKNOWN,
				      "no bandit decision for run '%s'", run_id));
		goto done;
	}
	if (!nids) {
		rc = rollback(s, fail(s, BANDIT_STORE_DONE, "every bandit decision of run "
				      "'%s' already has a reward", run_id));
		goto done;
	}
	for (size_t i = 0; i < nids; i++)
		if ((rc = apply_reward(s, ids[i], reward, a)) != 0) {
			rollback(s, rc);
			goto done;
		}
	if ((rc = commit(s)) != 0) {
		rollback(s, rc);
		goto done;
	}
	if (applied)
		*applied = nids;
done:
	sqlite3_finalize(st);
	for (size_t i = 0; i < nids; i++)
		q_free(ids[i]);
	q_free(ids);
	q_free(a);
	return rc;
}

int bandit_store_load(struct bandit_store *s, const char *node_key,
		      const char *const *arms, size_t narms,
		      struct bandit_arm_state *out, struct bandit_budget *b)
{
	s->errmsg[0] = '\0';
	if (check_key(s, "node key", node_key) != 0)
		return BANDIT_STORE_FAIL;
	for (size_t i = 0; i < narms; i++)
		if (check_key(s, "arm name", arms[i]) != 0)
			return BANDIT_STORE_FAIL;
	/* One read transaction: a consistent snapshot of node and arms. */
	if (exec(s, "BEGIN") != 0)
		return BANDIT_STORE_FAIL;
	struct bandit_budget local;
	int rc = node_get(s, node_key, b ? b : &local);
	if (rc == 0)
		rc = load_arms(s, node_key, arms, narms, out, NULL, 0);
	if (rc == 0)
		rc = exec(s, "COMMIT");
	if (rc != 0)
		rollback(s, rc);
	return rc;
}

static double ratio(double sum, sqlite3_int64 n)
{
	return n > 0 ? sum / (double)n : NAN;
}

int bandit_store_stats(struct bandit_store *s, const char *node_key,
		       int (*fn)(void *ctx, const struct bandit_arm_stats *st),
		       void *ctx)
{
	s->errmsg[0] = '\0';
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT a.node, a.name, a.pulls, a.rewarded,"
			       " a.reward_sum, a.costed, a.cost_sum,"
			       " coalesce(n.queries, 0), coalesce(n.spent, 0),"
			       " coalesce(n.nu, 0)"
			       " FROM arms a LEFT JOIN nodes n ON n.key = a.node"
			       " WHERE ?1 IS NULL OR a.node = ?1"
			       " ORDER BY a.node, a.name", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s);
	if (node_key)
		sqlite3_bind_text(st, 1, node_key, -1, SQLITE_STATIC);
	int ret = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *node = sqlite3_column_text(st, 0);
		const unsigned char *arm = sqlite3_column_text(st, 1);
		uint64_t queries = count_col(st, 7);
		struct bandit_arm_stats a = {
			.node_key = node ? (const char *)node : "",
			.arm = arm ? (const char *)arm : "",
			.pulls = count_col(st, 2),
			.rewarded = count_col(st, 3),
			.mean_reward = ratio(sqlite3_column_double(st, 4),
					     (sqlite3_int64)count_col(st, 3)),
			.mean_cost = ratio(sqlite3_column_double(st, 6),
					   (sqlite3_int64)count_col(st, 5)),
			.node_queries = queries,
			.node_mean_cost = ratio(sqlite3_column_double(st, 8), (sqlite3_int64)queries),
			.node_nu = sqlite3_column_double(st, 9),
		};
		if ((ret = fn(ctx, &a)) != 0)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_fail(s);
	sqlite3_finalize(st);
	return ret;
}

long bandit_store_prune(struct bandit_store *s, long max_age_s)
{
	s->errmsg[0] = '\0';
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM decisions WHERE created < "
			       SQLFILE_NOW " - ?1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s);
	sqlite3_bind_int64(st, 1, max_age_s < 0 ? 0 : max_age_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(s);
	return (long)sqlite3_changes(s->db);
}
