/* common/strset: see strset.h. */
#include "strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static uint64_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot of key, or of the empty one where it would go; cap is a power
 * of two and never full (load at most 1/2). */
static size_t slot_of(char *const *keys, size_t cap, const char *key)
{
	size_t i = (size_t)hash_of(key) & (cap - 1);
	while (keys[i] && strcmp(keys[i], key))
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	char **keys = calloc(cap, sizeof(*keys));
	long *vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->keys[i])
			continue;
		size_t j = slot_of(keys, cap, s->keys[i]);
		keys[j] = s->keys[i];
		vals[j] = s->vals[i];
	}
	free(s->keys);
	free(s->vals);
	s->keys = keys;
	s->vals = vals;
	s->cap = cap;
	return 0;
}

int strset_add(struct strset *s, const char *key, long val, long *was)
{
	if ((s->n + 1) * 2 > s->cap && grow(s))
		return -1;
	size_t i = slot_of(s->keys, s->cap, key);
	if (s->keys[i]) {
		if (was)
			*was = s->vals[i];
		return 0;
	}
	if (!(s->keys[i] = q_strdup(key)))
		return -1;
	s->vals[i] = val;
	s->n++;
	return 1;
}

int strset_has(const struct strset *s, const char *key)
{
	return s->n && s->keys[slot_of(s->keys, s->cap, key)] != NULL;
}

void strset_release(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		q_free(s->keys[i]);
	free(s->keys);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}
