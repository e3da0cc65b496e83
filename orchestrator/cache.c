#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "../common/sha256.h"

#define CACHE_SCHEMA_VERSION 1
#define CACHE_BUSY_MS 5000
/* Hits and misses are counted in memory and written in batches: a run
 * served from the cache then reads, it does not write per call. */
#define CACHE_FLUSH_EVERY 256
#define CACHE_JSON_DEPTH 128
/* Seconds since the epoch, in SQL any SQLite 3 understands. */
#define NOW "CAST(strftime('%s', 'now') AS INTEGER)"

/* One table names the file's kind and schema, one holds the answers, one
 * the counters (a single row). The key is the request's SHA-256; a NULL
 * token count was not reported. */
static const char SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS quorum_schema ("
	" version INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS entries ("
	" key BLOB PRIMARY KEY CHECK (length(key) = 32),"
	" model TEXT NOT NULL,"
	" text BLOB NOT NULL,"
	" finish_reason TEXT NOT NULL,"
	" input_tokens INTEGER,"
	" output_tokens INTEGER,"
	" cost_usd REAL NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS counters ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" hits INTEGER NOT NULL,"
	" misses INTEGER NOT NULL,"
	" saved_usd REAL NOT NULL,"
	" since INTEGER NOT NULL);"
	"INSERT INTO quorum_schema (version) SELECT 1"
	" WHERE NOT EXISTS (SELECT 1 FROM quorum_schema);"
	"INSERT OR IGNORE INTO counters VALUES (1, 0, 0, 0, " NOW ");";

struct cache {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *put, *flush, *begin, *commit, *rollback;
	long pend_hits, pend_misses;   /* counted, not yet in the file */
	double pend_saved;
	char errmsg[256];
};

static void set_err(char *err, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t n, const char *fmt, ...)
{
	if (!err || !n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

/* Keeps SQLite's message for cache_error; returns -1. */
static int db_fail(struct cache *c)
{
	snprintf(c->errmsg, sizeof(c->errmsg), "%s", sqlite3_errmsg(c->db));
	return -1;
}

char *cache_default_path(void)
{
	static const char TAIL[] = "quorum/cache.sqlite";
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	const char *base, *mid;
	/* The XDG spec: a relative XDG_CACHE_HOME is invalid, ignore it. */
	if (xdg && xdg[0] == '/') {
		base = xdg;
		mid = "/";
	} else if (home && home[0]) {
		base = home;
		mid = "/.cache/";
	} else
		return NULL;
	size_t n = strlen(base) + strlen(mid) + sizeof(TAIL);
	char *p = q_malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", base, mid, TAIL);
	return p;
}

/* mkdir -p of the folders above path (0700: answers may be private). */
static int make_parents(const char *path, char *err, size_t n)
{
	char *p = q_strdup(path);
	if (!p) {
		set_err(err, n, "cannot open cache '%s': out of memory", path);
		return -1;
	}
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			set_err(err, n, "cannot open cache '%s': cannot create '%s': %s",
				path, p, strerror(errno));
			q_free(p);
			return -1;
		}
		*s = '/';
	}
	q_free(p);
	return 0;
}

static int exec(struct cache *c, const char *sql)
{
	return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(c);
}

/* WAL: readers never wait for the writer, commits need no fsync with
 * synchronous=NORMAL (a power cut may lose the last answers, never the
 * file: right for a cache). Turning a new file to WAL needs it alone,
 * and SQLite answers "busy" there without its busy handler when another
 * process is opening it too: wait here instead, as long as the handler
 * would. */
static int set_wal(struct cache *c)
{
	for (int waited = 0;; waited += 5) {
		int rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= CACHE_BUSY_MS)
			return db_fail(c);
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
}

/* Runs a statement that yields one integer; -2 on an error. */
static long long query_int(struct cache *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -2;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		db_fail(c);
	sqlite3_finalize(st);
	return v;
}

/* Creates the tables of a new file, checks those of an old one. One
 * write transaction, so two processes opening a new file at once do not
 * both create it. Returns 0, or -1 with a message in err. */
static int check_schema(struct cache *c, char *err, size_t n)
{
	if (exec(c, "BEGIN IMMEDIATE") != 0)
		goto fail;
	long long ours = query_int(c, "SELECT count(*) FROM sqlite_master"
				      " WHERE type = 'table' AND name = 'quorum_schema'");
	long long all = query_int(c, "SELECT count(*) FROM sqlite_master");
	if (ours < 0 || all < 0)
		goto fail_rollback;
	if (ours) {
		long long v = query_int(c, "SELECT max(version) FROM quorum_schema");
		if (v == -2)
			goto fail_rollback;
		if (v != CACHE_SCHEMA_VERSION) {
			set_err(err, n, "cannot open cache '%s': schema version %lld, "
				"this quorum reads version %d (made by a newer quorum?)",
				c->path, v, CACHE_SCHEMA_VERSION);
			exec(c, "ROLLBACK");
			return -1;
		}
	} else if (all) {
		set_err(err, n, "cannot open cache '%s': an SQLite database, but "
			"not a quorum cache", c->path);
		exec(c, "ROLLBACK");
		return -1;
	}
	if (exec(c, SCHEMA) != 0 || exec(c, "COMMIT") != 0)
		goto fail_rollback;
	return 0;
fail_rollback:
	set_err(err, n, "cannot open cache '%s': %s", c->path, c->errmsg);
	exec(c, "ROLLBACK");
	return -1;
fail:
	set_err(err, n, "cannot open cache '%s': %s", c->path, c->errmsg);
	return -1;
}

static int prepare(struct cache *c, sqlite3_stmt **st, const char *sql)
{
	return sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
				  NULL) == SQLITE_OK ? 0 : db_fail(c);
}

static int prepare_all(struct cache *c)
{
	if (prepare(c, &c->get, "SELECT text, finish_reason, input_tokens,"
		    " output_tokens, cost_usd FROM entries WHERE key = ?1") ||
	    prepare(c, &c->put, "INSERT OR REPLACE INTO entries (key, model, text,"
		    " finish_reason, input_tokens, output_tokens, cost_usd, created)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " NOW ")") ||
	    prepare(c, &c->flush, "UPDATE counters SET hits = hits + ?1,"
		    " misses = misses + ?2, saved_usd = saved_usd + ?3 WHERE id = 1") ||
	    prepare(c, &c->begin, "BEGIN IMMEDIATE") ||
	    prepare(c, &c->commit, "COMMIT") ||
	    prepare(c, &c->rollback, "ROLLBACK"))
		return -1;
	return 0;
}

struct cache *cache_open(const char *path, char *err, size_t n)
{
	set_err(err, n, "%s", "");
	if (!path || !path[0]) {
		set_err(err, n, "cannot open cache '': empty path");
		return NULL;
	}
	struct cache *c = q_calloc(1, sizeof(*c));
	char *fname = NULL;
	if (!c || !(c->path = q_strdup(path)))
		goto fail_oom;
	if (make_parents(path, err, n) != 0)
		goto fail;
	/* Made here rather than by SQLite: private (0600; SQLite gives its
	 * -wal and -shm files the same mode), and the system's own words
	 * when it cannot be made. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_err(err, n, "cannot open cache '%s': %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	/* A relative name could read as a URI ("file:...") or as ":memory:". */
	size_t len = strlen(path) + 3;
	if (!(fname = q_malloc(len)))
		goto fail_oom;
	snprintf(fname, len, "%s%s", path[0] == '/' ? "" : "./", path);
	if (sqlite3_open_v2(fname, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		set_err(err, n, "cannot open cache '%s': %s", path,
			c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	q_free(fname);
	fname = NULL;
	sqlite3_busy_timeout(c->db, CACHE_BUSY_MS);
	if (set_wal(c) != 0 || exec(c, "PRAGMA synchronous = NORMAL") != 0) {
		set_err(err, n, "cannot open cache '%s': %s", path, c->errmsg);
		goto fail;
	}
	if (check_schema(c, err, n) != 0)
		goto fail;
	if (prepare_all(c) != 0) {
		set_err(err, n, "cannot open cache '%s': %s", path, c->errmsg);
		goto fail;
	}
	c->errmsg[0] = '\0';
	return c;
fail_oom:
	set_err(err, n, "cannot open cache '%s': out of memory", path);
fail:
	q_free(fname);
	cache_close(c);
	return NULL;
}

/* Adds the pending counters to the file's, in the caller's transaction
 * or in one of their own. */
static int flush_counters(struct cache *c)
{
	if (!c->pend_hits && !c->pend_misses)
		return 0;
	sqlite3_bind_int64(c->flush, 1, c->pend_hits);
	sqlite3_bind_int64(c->flush, 2, c->pend_misses);
	sqlite3_bind_double(c->flush, 3, c->pend_saved);
	int rc = sqlite3_step(c->flush);
	sqlite3_reset(c->flush);
	if (rc != SQLITE_DONE)
		return db_fail(c);
	c->pend_hits = c->pend_misses = 0;
	c->pend_saved = 0;
	return 0;
}

static int step_done(struct cache *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(c);
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	if (c->flush)
		flush_counters(c);
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_finalize(c->flush);
	sqlite3_finalize(c->begin);
	sqlite3_finalize(c->commit);
	sqlite3_finalize(c->rollback);
	sqlite3_close(c->db);
	q_free(c->path);
	q_free(c);
}

/* A field of the key: its length, then its bytes, so that no two
 * different tuples hash the same bytes. */
static void key_field(struct sha256 *s, const void *p, size_t n)
{
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	sha256_update(s, len, sizeof(len));
	sha256_update(s, p, n);
}

struct member {
	cJSON *item;
	size_t pos;   /* the order of duplicate keys is kept */
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int d = strcmp(x->item->string, y->item->string);
	if (d)
		return d;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Sorts every object's members by key, recursively. Returns 0 or -1 when
 * memory ran out (the tree is then still whole, part sorted). */
static int json_sort(cJSON *j)
{
	size_t n = 0;
	for (cJSON *it = j->child; it; it = it->next) {
		if (json_sort(it) != 0)
			return -1;
		n++;
	}
	if (!cJSON_IsObject(j) || n < 2)
		return 0;
	struct member small[16];
	struct member *m = n <= 16 ? small : q_malloc(n * sizeof(*m));
	if (!m)
		return -1;
	size_t i = 0;
	for (cJSON *it = j->child; it; it = it->next, i++)
		m[i] = (struct member){it, i};
	qsort(m, n, sizeof(*m), member_cmp);
	/* cJSON's list: next ends in NULL, the head's prev is the tail. */
	for (i = 0; i < n; i++) {
		m[i].item->next = i + 1 < n ? m[i + 1].item : NULL;
		m[i].item->prev = i ? m[i - 1].item : m[n - 1].item;
	}
	j->child = m[0].item;
	if (m != small)
		q_free(m);
	return 0;
}

/* The body in canonical form: new text (cJSON_free), or NULL when it is
 * not JSON or memory ran out. */
static char *canonical_json(const char *body, size_t len)
{
	cJSON *j = json_parse(body, len, CACHE_JSON_DEPTH);
	if (!j)
		return NULL;
	char *out = json_sort(j) == 0 ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	return out;
}

void cache_key(struct cache_key *k, const char *provider, const char *url,
	       const char *body, size_t len, unsigned sample)
{
	static const char TAG[] = "quorum cache key v1";
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, TAG, sizeof(TAG));
	provider = provider ? provider : "";
	url = url ? url : "";
	key_field(&s, provider, strlen(provider));
	key_field(&s, url, strlen(url));
	char *canon = body ? canonical_json(body, len) : NULL;
	/* A tag byte: a raw body never hashes like a canonical one. */
	if (canon) {
		sha256_update(&s, "J", 1);
		key_field(&s, canon, strlen(canon));
		cJSON_free(canon);
	} else {
		sha256_update(&s, "R", 1);
		key_field(&s, body ? body : "", body ? len : 0);
	}
	unsigned char idx[8];
	for (int i = 0; i < 8; i++)
		idx[i] = (unsigned char)((uint64_t)sample >> (56 - 8 * i));
	sha256_update(&s, idx, sizeof(idx));
	sha256_final(&s, k->h);
}

static void count(struct cache *c, int hit, double saved)
{
	if (hit) {
		c->pend_hits++;
		c->pend_saved += saved;
	} else
		c->pend_misses++;
	/* A failed flush keeps the counts for the next try. */
	if (c->pend_hits + c->pend_misses >= CACHE_FLUSH_EVERY)
		flush_counters(c);
}

int cache_get(struct cache *c, const struct cache_key *k, struct cache_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->input_tokens = e->output_tokens = -1;
	sqlite3_stmt *st = c->get;
	int ret = -1;
	sqlite3_bind_blob(st, 1, k->h, sizeof(k->h), SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 0;
	} else if (rc == SQLITE_ROW) {
		const void *text = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (!text && len) {
			db_fail(c);   /* out of memory in SQLite */
			goto done;
		}
		if (!(e->text = q_malloc(len + 1))) {
			snprintf(c->errmsg, sizeof(c->errmsg), "out of memory");
			goto done;
		}
		if (len)
			memcpy(e->text, text, len);
		e->text[len] = '\0';
		e->len = len;
		const unsigned char *fr = sqlite3_column_text(st, 1);
		snprintf(e->finish_reason, sizeof(e->finish_reason), "%s",
			 fr ? (const char *)fr : "");
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			e->input_tokens = sqlite3_column_int64(st, 2);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			e->output_tokens = sqlite3_column_int64(st, 3);
		e->cost_usd = sqlite3_column_double(st, 4);
		ret = 1;
	} else
		db_fail(c);
done:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	/* An error costs the caller a call, as a miss does. */
	count(c, ret == 1, ret == 1 ? e->cost_usd : 0);
	return ret;
}

void cache_entry_release(struct cache_entry *e)
{
	if (!e)
		return;
	q_free(e->text);
	e->text = NULL;
	e->len = 0;
}

static int put_row(struct cache *c, const struct cache_key *k, const char *model,
		   const char *text, size_t len, const char *finish_reason,
		   int64_t input_tokens, int64_t output_tokens, double cost_usd)
{
	sqlite3_stmt *st = c->put;
	char fr[32];
	snprintf(fr, sizeof(fr), "%s", finish_reason ? finish_reason : "");
	sqlite3_bind_blob(st, 1, k->h, sizeof(k->h), SQLITE_STATIC);
	sqlite3_bind_text(st, 2, model ? model : "", -1, SQLITE_STATIC);
	/* A NULL pointer would bind SQL NULL; "" binds an empty blob. */
	if (sqlite3_bind_blob64(st, 3, text && len ? text : "", text ? len : 0,
				SQLITE_STATIC) != SQLITE_OK) {
		db_fail(c);   /* past SQLite's length limit */
		sqlite3_clear_bindings(st);
		return -1;
	}
	sqlite3_bind_text(st, 4, fr, -1, SQLITE_STATIC);
	if (input_tokens >= 0)
		sqlite3_bind_int64(st, 5, input_tokens);
	else
		sqlite3_bind_null(st, 5);
	if (output_tokens >= 0)
		sqlite3_bind_int64(st, 6, output_tokens);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_double(st, 7, cost_usd);
	int rc = step_done(c, st);
	sqlite3_clear_bindings(st);
	return rc;
}

int cache_put(struct cache *c, const struct cache_key *k, const char *model,
	      const char *text, size_t len, const char *finish_reason,
	      int64_t input_tokens, int64_t output_tokens, double cost_usd)
{
	if (!c->pend_hits && !c->pend_misses)
		return put_row(c, k, model, text, len, finish_reason, input_tokens,
			       output_tokens, cost_usd);
	/* Counters pending: they ride in the same write transaction. */
	if (step_done(c, c->begin) != 0)
		return -1;
	long hits = c->pend_hits, misses = c->pend_misses;
	double saved = c->pend_saved;
	if (flush_counters(c) != 0 ||
	    put_row(c, k, model, text, len, finish_reason, input_tokens,
		    output_tokens, cost_usd) != 0 ||
	    step_done(c, c->commit) != 0) {
		char keep[sizeof(c->errmsg)];
		memcpy(keep, c->errmsg, sizeof(keep));
		step_done(c, c->rollback);
		memcpy(c->errmsg, keep, sizeof(keep));
		c->pend_hits = hits;
		c->pend_misses = misses;
		c->pend_saved = saved;
		return -1;
	}
	return 0;
}

int cache_stats(struct cache *c, struct cache_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->path = c->path;
	flush_counters(c);   /* on failure, the pending counts are added below */
	sqlite3_stmt *st = NULL;
	int ret = -1;
	if (sqlite3_prepare_v2(c->db, "SELECT (SELECT count(*) FROM entries),"
			       " (SELECT total(length(text)) FROM entries),"
			       " hits, misses, saved_usd FROM counters WHERE id = 1",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(c);
		goto done;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->entries = (long)sqlite3_column_int64(st, 0);
		s->bytes = (long long)sqlite3_column_double(st, 1);
		s->hits = (long)sqlite3_column_int64(st, 2);
		s->misses = (long)sqlite3_column_int64(st, 3);
		s->saved_usd = sqlite3_column_double(st, 4);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		snprintf(c->errmsg, sizeof(c->errmsg), "the counters row is missing");
	} else
		db_fail(c);
done:
	sqlite3_finalize(st);
	s->hits += c->pend_hits;
	s->misses += c->pend_misses;
	s->saved_usd += c->pend_saved;
	return ret;
}

int cache_stats_models(struct cache *c,
		       int (*fn)(void *ctx, const char *model, long entries,
				 long long bytes, double cost_usd),
		       void *ctx)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT model, count(*) AS n,"
			       " total(length(text)), total(cost_usd) FROM entries"
			       " GROUP BY model ORDER BY n DESC, model", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(c);
	int ret = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *model = sqlite3_column_text(st, 0);
		ret = fn(ctx, model ? (const char *)model : "",
			 (long)sqlite3_column_int64(st, 1),
			 (long long)sqlite3_column_double(st, 2),
			 sqlite3_column_double(st, 3));
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_fail(c);
	sqlite3_finalize(st);
	return ret;
}

int cache_clear(struct cache *c)
{
	if (exec(c, "BEGIN IMMEDIATE") != 0)
		return -1;
	if (exec(c, "DELETE FROM entries;"
		 " UPDATE counters SET hits = 0, misses = 0, saved_usd = 0,"
		 " since = " NOW " WHERE id = 1") != 0 ||
	    exec(c, "COMMIT") != 0) {
		char keep[sizeof(c->errmsg)];
		memcpy(keep, c->errmsg, sizeof(keep));
		exec(c, "ROLLBACK");
		memcpy(c->errmsg, keep, sizeof(keep));
		return -1;
	}
	c->pend_hits = c->pend_misses = 0;
	c->pend_saved = 0;
	/* Gives the space back; best effort (another process may be
	 * reading, which VACUUM waits for, then gives up on). */
	exec(c, "VACUUM");
	c->errmsg[0] = '\0';
	return 0;
}

const char *cache_error(const struct cache *c)
{
	return c->errmsg;
}
