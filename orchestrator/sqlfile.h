#ifndef QUORUM_SQLFILE_H
#define QUORUM_SQLFILE_H
/* A quorum SQLite file: the response cache (cache.c) and the bandit store
 * (banditstore.c) open theirs alike. The file and its missing folders are
 * made private, the file is refused unless it is new or of the caller's
 * kind and schema, several processes may share it (WAL, a busy timeout),
 * and the caller's statements are prepared once. What the tables hold
 * and how they are read stays with the caller. */
#include <stddef.h>

#include <sqlite3.h>

/* Seconds since the epoch, in SQL any SQLite 3 understands. */
#define SQLFILE_NOW "CAST(strftime('%s', 'now') AS INTEGER)"

/* A kind of file. */
struct sqlfile_kind {
	/* In messages: "cannot open WHAT 'PATH': ...", "not a quorum WHAT". */
	const char *what;
	/* The table that names the kind and holds the schema version (its
	 * max(version) is the file's). */
	const char *schema_table;
	int version;          /* the one this quorum reads */
	/* Creates every table IF NOT EXISTS and the version row: run on every
	 * open, in the transaction that checked the file. */
	const char *schema;
};

/* One statement to prepare: *st gets it. */
struct sqlfile_stmt {
	sqlite3_stmt **st;
	const char *sql;
};

/* The default place of a file: $ENV/tail when the environment variable
 * env holds an absolute path (the XDG spec: a relative one is invalid),
 * else $HOME followed by home_mid (as "/.cache/") and tail. Returns new
 * text (q_free), or NULL when neither is set or memory ran out. */
char *sqlfile_default_path(const char *env, const char *home_mid, const char *tail);

/* Opens the file of kind k at path, creating it (mode 0600) and its
 * missing folders (0700), with WAL, synchronous=NORMAL and a busy
 * timeout; creates the tables of a new file, refuses one that is not a
 * database, an SQLite database of something else, or a file of another
 * schema version; prepares the nst statements (persistent). Returns the
 * connection: the caller finalizes the statements and then closes it.
 * NULL on failure, with every *st NULL and a message in err[0..n) (git
 * style, naming the path and the reason: "cannot open cache 'P':
 * Permission denied"); err may be NULL. err is "" on success. */
sqlite3 *sqlfile_open(const char *path, const struct sqlfile_kind *k,
		      const struct sqlfile_stmt *st, size_t nst, char *err, size_t n);

#endif
