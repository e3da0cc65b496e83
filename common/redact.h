#ifndef QUORUM_REDACT_H
#define QUORUM_REDACT_H
#include <stddef.h>

/* Keys never leave quorum, even when a server or a proxy echoes one back:
 * every text a run writes (answers, error messages, the report, the trace,
 * --verbose lines) passes through redact_mask first. The set borrows the
 * key strings (the environment's own), so no further copy of a key is
 * made. */

/* Keys shorter than this are not masked: a one-letter "key" would mask
 * every such letter of every answer, and no provider issues one. */
#define REDACT_MIN_KEY 8

struct redact {
	const char **keys;   /* borrowed */
	size_t n, cap;
};

void redact_init(struct redact *rd);
/* Adds key (borrowed until redact_release): NULL, short keys and
 * duplicates are ignored. Returns 0, or -1 when memory is exhausted. */
int redact_add(struct redact *rd, const char *key);
/* Overwrites every occurrence of a key in s[0..n) with '*', in place.
 * Returns how many were masked. */
size_t redact_mask(const struct redact *rd, char *s, size_t n);
/* The same over a NUL-terminated string; NULL is left alone. */
size_t redact_mask_str(const struct redact *rd, char *s);
void redact_release(struct redact *rd);

#endif
