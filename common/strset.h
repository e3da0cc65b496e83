#ifndef QUORUM_STRSET_H
#define QUORUM_STRSET_H
/* A set of strings, each with a number (where it was first seen): the
 * ids a batch has met, the ids its reports already hold. Open addressing
 * with FNV-1a; the set copies its keys. Zeroed is empty. */
#include <stddef.h>

struct strset {
	char **keys;
	long *vals;
	size_t cap, n;
};

/* Adds key with val. Returns 1 when added, 0 when key was there already
 * (*was, when not NULL, gets the val it came with), -1 out of memory. */
int strset_add(struct strset *s, const char *key, long val, long *was);
int strset_has(const struct strset *s, const char *key);
void strset_release(struct strset *s);

#endif
