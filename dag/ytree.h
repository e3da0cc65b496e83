#ifndef QUORUM_YTREE_H
#define QUORUM_YTREE_H
#include <stddef.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/qerr.h"

/* YAML (libyaml's event API) into a small generic tree: null, scalar,
 * mapping, sequence, each with the 1-based line:col where the user wrote
 * it. Aliases are shared, not copied, but count at their expanded size
 * (in nodes and in bytes of text) against limits, so an alias bomb fails at
 * once instead of eating memory.
 * Duplicate keys are reported (the second is dropped) and `<<` merge keys
 * are applied. */

enum ytype { YT_NULL, YT_SCALAR, YT_MAP, YT_SEQ };

/* How a scalar was written. */
enum ystyle { YS_PLAIN, YS_SINGLE, YS_DOUBLE, YS_LITERAL, YS_FOLDED };

struct ynode;

struct ypair {
	struct ynode *key;  /* YT_SCALAR or YT_NULL, with its own position */
	struct ynode *val;
};

struct ynode {
	enum ytype type;
	enum ystyle style;
	int plain;          /* plain and untagged (or tagged int/float/bool/null):
			       its text may be typed as 123, 1.5, true, null */
	int line, col;      /* where the node starts (a quote, `|`, `[`, `{`) */
	int text_line, text_col; /* where a scalar's text starts */
	const char *str;    /* scalars and nulls: the text, NUL-terminated */
	size_t len;
	struct ypair *pairs;    /* YT_MAP */
	size_t npairs;
	struct ynode **items;   /* YT_SEQ */
	size_t nitems;
	size_t weight;      /* nodes in this subtree with aliases expanded */
	size_t bytes;       /* bytes of scalar text (keys included) in this
			       subtree with aliases expanded */
	int height;         /* collections nested in this one, itself included */
};

struct ytree_limits {
	size_t max_nodes;   /* after alias expansion */
	int max_depth;      /* nested collections */
	size_t max_bytes;   /* scalar text after alias expansion */
};

/* Parses text[0..len) (one document) into a tree allocated in a. *root is
 * NULL for a file with no document. Returns 0 when the tree is usable, with
 * problems that do not stop parsing (duplicate keys, bad merges, NUL in a
 * string) added to d; returns -1 after adding the one problem that stopped
 * it (a syntax error with libyaml's words, a limit, an unknown alias). */
int ytree_parse(struct arena *a, const char *text, size_t len,
		const struct ytree_limits *lim, struct ynode **root, struct qdiags *d);

/* What a scalar's text means when it is plain (YAML 1.2 core schema:
 * booleans are true/false only, so `no` stays a string). */
enum yscalar { YK_STRING, YK_NULL, YK_BOOL, YK_INT, YK_FLOAT };
enum yscalar ytree_scalar_kind(const struct ynode *n);

/* A name for error messages: "string", "integer", "number", "boolean",
 * "null", "mapping" or "list". */
const char *ytree_kind_name(const struct ynode *n);

/* Typed reads of plain scalars. Return 0, -1 when n is not of that type,
 * or -2 when it is but does not fit (an integer past int64, 1e999). */
int ytree_int(const struct ynode *n, int64_t *out);
int ytree_number(const struct ynode *n, double *out);
int ytree_bool(const struct ynode *n, int *out);

/* The value of key in a mapping, or NULL (also when map is not one). */
const struct ynode *ytree_get(const struct ynode *map, const char *key);

#endif
