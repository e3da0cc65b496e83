#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "../common/sha256.h"
#include "sqlfile.h"

/* Hits and misses are counted in memory and written in batches: a run
 * served from the cache then reads, it does not write per call. */
#define CACHE_FLUSH_EVERY 256
#define CACHE_JSON_DEPTH 128

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
	"INSERT OR IGNORE INTO counters VALUES (1, 0, 0, 0, " SQLFILE_NOW ");";

struct cache {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *put, *flush, *begin, *commit, *rollback;
	long pend_hits, pend_misses;   /* counted, not yet in the file */
	double pend_saved;
	char errmsg[256];
};

/* Keeps SQLite's message for cache_error; returns -1. */
static int db_fail(struct cache *c)
{
	snprintf(c->errmsg, sizeof(c->errmsg), "%s", sqlite3_errmsg(c->db));
	return -1;
}

char *cache_default_path(void)
{
	return sqlfile_default_path("XDG_CACHE_HOME", "/.cache/", "quorum/cache.sqlite");
}

static int exec(struct cache *c, const char *sql)
{
	return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(c);
}

/* The cache's file (sqlfile.h): private, as answers may be; with WAL and
 * synchronous=NORMAL a power cut may lose the last answers, never the
 * file, which is right for a cache. */
static const struct sqlfile_kind CACHE_FILE = {
	.what = "cache",
	.schema_table = "quorum_schema",
	.version = 1,
	.schema = SCHEMA,
};

struct cache *cache_open(const char *path, char *err, size_t n)
{
	struct cache *c = q_calloc(1, sizeof(*c));
	if (!c || (path && !(c->path = q_strdup(path)))) {
		if (err && n)
			snprintf(err, n, "cannot open cache '%s': out of memory",
				 path ? path : "");
		q_free(c);
		return NULL;
	}
	const struct sqlfile_stmt st[] = {
		{&c->get, "SELECT text, finish_reason, input_tokens,"
			  " output_tokens, cost_usd FROM entries WHERE key = ?1"},
		{&c->put, "INSERT OR REPLACE INTO entries (key, model, text,"
			  " finish_reason, input_tokens, output_tokens, cost_usd, created)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " SQLFILE_NOW ")"},
		{&c->flush, "UPDATE counters SET hits = hits + ?1,"
			    " misses = misses + ?2, saved_usd = saved_usd + ?3 WHERE id = 1"},
		{&c->begin, "BEGIN IMMEDIATE"},
		{&c->commit, "COMMIT"},
		{&c->rollback, "ROLLBACK"},
	};
	c->db = sqlfile_open(path, &CACHE_FILE, st, sizeof(st) / sizeof(st[0]), err, n);
	if (!c->db) {
		q_free(c->path);
		q_free(c);
		return NULL;
	}
	return c;
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
		 " since = " SQLFILE_NOW " WHERE id = 1") != 0 ||
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
