#include "sqlfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/alloc.h"

#define SQLFILE_BUSY_MS 5000

/* One open in progress. */
struct opener {
	sqlite3 *db;
	const char *path;
	const struct sqlfile_kind *k;
	char *err;
	size_t n;
};

/* err = "cannot open WHAT 'PATH': " and the rest; returns -1. */
static int fail(struct opener *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct opener *o, const char *fmt, ...)
{
	if (!o->err || !o->n)
		return -1;
	int at = snprintf(o->err, o->n, "cannot open %s '%s': ", o->k->what, o->path);
	if (at >= 0 && (size_t)at < o->n) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(o->err + at, o->n - (size_t)at, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* SQLite's own words for what just failed; returns -1. */
static int db_fail(struct opener *o)
{
	return fail(o, "%s", sqlite3_errmsg(o->db));
}

char *sqlfile_default_path(const char *env, const char *home_mid, const char *tail)
{
	const char *xdg = getenv(env);
	const char *home = getenv("HOME");
	const char *base, *mid;
	if (xdg && xdg[0] == '/') {
		base = xdg;
		mid = "/";
	} else if (home && home[0]) {
		base = home;
		mid = home_mid;
	} else
		return NULL;
	size_t n = strlen(base) + strlen(mid) + strlen(tail) + 1;
	char *p = q_malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", base, mid, tail);
	return p;
}

/* mkdir -p of the folders above the path (0700: what they hold may be
 * private). */
static int make_parents(struct opener *o)
{
	char *p = q_strdup(o->path);
	if (!p)
		return fail(o, "out of memory");
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			fail(o, "cannot create '%s': %s", p, strerror(errno));
			q_free(p);
			return -1;
		}
		*s = '/';
	}
	q_free(p);
	return 0;
}

/* Makes the file, then opens it. Made here rather than by SQLite:
 * private (0600; SQLite gives its -wal and -shm files the same mode), and
 * the system's own words when it cannot be made. */
static int open_file(struct opener *o)
{
	if (make_parents(o) != 0)
		return -1;
	int fd = open(o->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(o, "%s", strerror(errno));
	close(fd);
	/* A relative name could read as a URI ("file:...") or as ":memory:". */
	size_t len = strlen(o->path) + 3;
	char *fname = q_malloc(len);
	if (!fname)
		return fail(o, "out of memory");
	snprintf(fname, len, "%s%s", o->path[0] == '/' ? "" : "./", o->path);
	int rc = sqlite3_open_v2(fname, &o->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	q_free(fname);
	if (rc != SQLITE_OK)
		return fail(o, "%s", o->db ? sqlite3_errmsg(o->db) : "out of memory");
	return 0;
}

static int exec(struct opener *o, const char *sql)
{
	return sqlite3_exec(o->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(o);
}

/* WAL: readers never wait for the writer, commits need no fsync with
 * synchronous=NORMAL (a power cut may lose the last writes, never the
 * file). Turning a new file to WAL needs it alone, and SQLite answers
 * "busy" there without its busy handler when another process is opening
 * it too: wait here instead, as long as the handler would. */
static int set_wal(struct opener *o)
{
	for (int waited = 0;; waited += 5) {
		int rc = sqlite3_exec(o->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= SQLFILE_BUSY_MS)
			return db_fail(o);
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
}

/* Runs sql, which yields one integer, with text ?1 bound to arg (when not
 * NULL). Returns it, or -2 with err set. */
static long long query_int(struct opener *o, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	long long v = -2;
	if (sqlite3_prepare_v2(o->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    (!arg || sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC) == SQLITE_OK) &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		db_fail(o);
	sqlite3_finalize(st);
	return v;
}

/* Whether the file is new (no tables) or of our kind and version.
 * Returns 0, or -1 with err set. */
static int check_kind(struct opener *o)
{
	long long ours = query_int(o, "SELECT count(*) FROM sqlite_master"
				      " WHERE type = 'table' AND name = ?1",
				   o->k->schema_table);
	long long all = query_int(o, "SELECT count(*) FROM sqlite_master", NULL);
	if (ours < 0 || all < 0)
		return -1;
	if (!ours)
		return all ? fail(o, "an SQLite database, but not a quorum %s", o->k->what)
			   : 0;
	char *sql = sqlite3_mprintf("SELECT max(version) FROM \"%w\"", o->k->schema_table);
	if (!sql)
		return fail(o, "out of memory");
	long long v = query_int(o, sql, NULL);
	sqlite3_free(sql);
	if (v == -2)
		return -1;
	if (v <= 0)
		return fail(o, "its schema table \"%s\" names no version (a damaged file?)",
			    o->k->schema_table);
	if (v != o->k->version)
		return fail(o, "schema version %lld, this quorum reads version %d (made "
			       "by %s quorum)", v, o->k->version, v > o->k->version ? "a newer"
										: "an older");
	return 0;
}

/* Creates the tables of a new file, checks those of an old one. One
 * write transaction, so two processes opening a new file at once do not
 * both create it. Returns 0, or -1 with err set. */
static int check_schema(struct opener *o)
{
	if (exec(o, "BEGIN IMMEDIATE") != 0)
		return -1;
	if (check_kind(o) == 0 && exec(o, o->k->schema) == 0 && exec(o, "COMMIT") == 0)
		return 0;
	/* err says what failed; the ROLLBACK's own outcome is not news. */
	sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int prepare_all(struct opener *o, const struct sqlfile_stmt *st, size_t nst)
{
	for (size_t i = 0; i < nst; i++)
		if (sqlite3_prepare_v3(o->db, st[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
				       st[i].st, NULL) != SQLITE_OK)
			return db_fail(o);
	return 0;
}

sqlite3 *sqlfile_open(const char *path, const struct sqlfile_kind *k,
		      const struct sqlfile_stmt *st, size_t nst, char *err, size_t n)
{
	struct opener o = {.path = path ? path : "", .k = k, .err = err, .n = n};
	for (size_t i = 0; i < nst; i++)
		*st[i].st = NULL;
	if (err && n)
		err[0] = '\0';
	if (!o.path[0]) {
		fail(&o, "empty path");
		return NULL;
	}
	if (open_file(&o) != 0)
		goto fail;
	sqlite3_busy_timeout(o.db, SQLFILE_BUSY_MS);
	if (set_wal(&o) != 0 || exec(&o, "PRAGMA synchronous = NORMAL") != 0 ||
	    check_schema(&o) != 0 || prepare_all(&o, st, nst) != 0)
		goto fail;
	return o.db;
fail:
	for (size_t i = 0; i < nst; i++) {
		sqlite3_finalize(*st[i].st);
		*st[i].st = NULL;
	}
	sqlite3_close(o.db);
	return NULL;
}
