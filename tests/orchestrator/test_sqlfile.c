/* orchestrator/sqlfile: what the response cache and the bandit store
 * share when they open their files (each one's own tests check its
 * wording): the kind and version check, statements NULL after a failure,
 * err "" after a success. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../orchestrator/sqlfile.h"
#include "tmpdir.h"

static const struct sqlfile_kind KIND = {
	.what = "test file",
	.schema_table = "quorum_test_schema",
	.version = 3,
	.schema = "CREATE TABLE IF NOT EXISTS quorum_test_schema (version INTEGER NOT NULL);"
		  "CREATE TABLE IF NOT EXISTS t (x INTEGER, at INTEGER);"
		  "INSERT INTO quorum_test_schema (version) SELECT 3"
		  " WHERE NOT EXISTS (SELECT 1 FROM quorum_test_schema);",
};

static sqlite3_stmt *put, *get;

static sqlite3 *open_kind(const char *path, char *err, size_t n)
{
	const struct sqlfile_stmt st[] = {
		{&put, "INSERT INTO t VALUES (?1, " SQLFILE_NOW ")"},
		{&get, "SELECT x, at FROM t"},
	};
	return sqlfile_open(path, &KIND, st, 2, err, n);
}

static void close_kind(sqlite3 *db)
{
	sqlite3_finalize(put);
	sqlite3_finalize(get);
	sqlite3_close(db);
}

/* Runs SQL on the file with SQLite directly. */
static void sql(const char *path, const char *q)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void expect_refused(const char *path, const char *want)
{
	char err[512];
	put = get = (sqlite3_stmt *)&err;   /* must come back NULL */
	assert_null(open_kind(path, err, sizeof(err)));
	assert_null(put);
	assert_null(get);
	char head[600];
	snprintf(head, sizeof(head), "cannot open test file '%s': ", path);
	if (strncmp(err, head, strlen(head)) || !strstr(err, want))
		fail_msg("message '%s' is not '%s...%s'", err, head, want);
}

static void test_open_use_reopen(void **state)
{
	char path[512], err[512] = "junk";
	snprintf(path, sizeof(path), "%s", in_dir(state, "a/b/f.sqlite"));
	sqlite3 *db = open_kind(path, err, sizeof(err));
	assert_non_null(db);
	assert_string_equal(err, "");
	sqlite3_bind_int(put, 1, 42);
	assert_int_equal(sqlite3_step(put), SQLITE_DONE);
	close_kind(db);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(in_dir(state, "a/b"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Again: the same file, its row kept, WAL on. */
	db = open_kind(path, NULL, 0);
	assert_non_null(db);
	assert_int_equal(sqlite3_step(get), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(get, 0), 42);
	assert_true(sqlite3_column_int64(get, 1) > 1600000000);
	sqlite3_stmt *jm = NULL;
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &jm, NULL);
	assert_int_equal(sqlite3_step(jm), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(jm, 0), "wal");
	sqlite3_finalize(jm);
	close_kind(db);
}

static void test_refused(void **state)
{
	expect_refused("", "empty path");
	const char *other = in_dir(state, "other.sqlite");
	sql(other, "CREATE TABLE t (x)");
	expect_refused(other, "an SQLite database, but not a quorum test file");
	/* An older, a newer and an unset version are all refused. */
	char path[512];
	snprintf(path, sizeof(path), "%s", in_dir(state, "v.sqlite"));
	close_kind(open_kind(path, NULL, 0));
	sql(path, "UPDATE quorum_test_schema SET version = 2");
	expect_refused(path, "schema version 2, this quorum reads version 3 (made by an "
			     "older quorum)");
	sql(path, "UPDATE quorum_test_schema SET version = 4");
	expect_refused(path, "schema version 4, this quorum reads version 3 (made by a "
			     "newer quorum)");
	sql(path, "DELETE FROM quorum_test_schema");
	expect_refused(path, "its schema table \"quorum_test_schema\" names no version");
	/* A statement SQLite cannot prepare. */
	snprintf(path, sizeof(path), "%s", in_dir(state, "bad.sqlite"));
	sqlite3_stmt *bad = (sqlite3_stmt *)path;
	const struct sqlfile_stmt st[] = {{&bad, "SELECT x FROM nowhere"}};
	char err[512];
	assert_null(sqlfile_open(path, &KIND, st, 1, err, sizeof(err)));
	assert_null(bad);
	if (!strstr(err, "no such table: nowhere"))
		fail_msg("%s", err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_use_reopen, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_refused, dir_setup, dir_teardown),
	};
	return cmocka_run_group_tests_name("orchestrator_sqlfile", tests, NULL, NULL);
}
