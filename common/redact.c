/* Masking configured keys in whatever quorum is about to write. */
#include <string.h>

#include "alloc.h"
#include "redact.h"

void redact_init(struct redact *rd)
{
	rd->keys = NULL;
	rd->n = rd->cap = 0;
}

int redact_add(struct redact *rd, const char *key)
{
	if (!key || strlen(key) < REDACT_MIN_KEY)
		return 0;
	for (size_t i = 0; i < rd->n; i++)
		if (!strcmp(rd->keys[i], key))
			return 0;
	if (rd->n == rd->cap) {
		size_t cap = rd->cap ? rd->cap * 2 : 4;
		const char **k = q_realloc(rd->keys, cap * sizeof(*k));
		if (!k)
			return -1;
		rd->keys = k;
		rd->cap = cap;
	}
	rd->keys[rd->n++] = key;
	return 0;
}

static size_t mask_one(const char *key, char *s, size_t n)
{
	size_t klen = strlen(key), hits = 0;
	char *p = s, *end = s + n;
	while ((size_t)(end - p) >= klen) {
		char *m = memchr(p, key[0], (size_t)(end - p) - klen + 1);
		if (!m)
			break;
		if (!memcmp(m, key, klen)) {
			memset(m, '*', klen);
			hits++;
			p = m + klen;
		} else {
			p = m + 1;
		}
	}
	return hits;
}

size_t redact_mask(const struct redact *rd, char *s, size_t n)
{
	size_t hits = 0;
	for (size_t i = 0; s && i < rd->n; i++)
		hits += mask_one(rd->keys[i], s, n);
	return hits;
}

size_t redact_mask_str(const struct redact *rd, char *s)
{
	return s ? redact_mask(rd, s, strlen(s)) : 0;
}

void redact_release(struct redact *rd)
{
	q_free(rd->keys);
	redact_init(rd);
}
