#include "strmap.h"

#include <stdint.h>
#include <string.h>

#include "../common/alloc.h"

static uint64_t strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

void strmap_init(struct strmap *m) { memset(m, 0, sizeof(*m)); }

static struct strmap_slot *strmap_find(const struct strmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	for (size_t i = strmap_hash(key) & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->slots[i];
		if (!s->key || !strcmp(s->key, key))
			return s;
	}
}

static int strmap_grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	struct strmap_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->slots = q_calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -1;
	}
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key)
			*strmap_find(m, old[i].key) = old[i];
	}
	q_free(old);
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *val)
{
	/* Keep the load under 1/2 so probe runs stay short. */
	if ((m->n + 1) * 2 > m->cap && strmap_grow(m))
		return -1;
	struct strmap_slot *s = strmap_find(m, key);
	if (!s->key) {
		s->key = key;
		m->n++;
	}
	s->val = val;
	return 0;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	if (!m->n)
		return NULL;
	struct strmap_slot *s = strmap_find(m, key);
	return s->key ? s->val : NULL;
}

void strmap_release(struct strmap *m)
{
	q_free(m->slots);
	memset(m, 0, sizeof(*m));
}
