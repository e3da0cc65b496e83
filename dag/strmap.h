#ifndef QUORUM_STRMAP_H
#define QUORUM_STRMAP_H
#include <stddef.h>

/* A string-keyed hash map for the loader: YAML anchors, duplicate keys,
 * node and model ids. Keys and values are borrowed; they must outlive the
 * map. Lookups stay linear-time on hostile files with many ids. */
struct strmap_slot {
	const char *key;
	void *val;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap, n;
};

void strmap_init(struct strmap *m);
/* Adds or replaces key. Returns 0, or -1 when memory ran out. */
int strmap_put(struct strmap *m, const char *key, void *val);
/* Returns the value of key, or NULL when absent. */
void *strmap_get(const struct strmap *m, const char *key);
/* Frees the table; the map can be used again after strmap_init. */
void strmap_release(struct strmap *m);

#endif
