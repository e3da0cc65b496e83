/* Bearer tokens: parsed once at start, checked on every request. */
#include "tokens.h"

#include <string.h>
#include <strings.h>

#include "../common/alloc.h"

struct tokens {
	char **list;
	size_t n;
};

/* A token is what a line holds between its blanks. */
static int add_line(struct tokens *t, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (!n || *s == '#')
		return 0;
	char *tok = q_malloc(n + 1);
	char **list = tok ? q_realloc(t->list, (t->n + 1) * sizeof(*list)) : NULL;
	if (!list) {
		q_free(tok);
		return -1;
	}
	memcpy(tok, s, n);
	tok[n] = '\0';
	t->list = list;
	t->list[t->n++] = tok;
	return 0;
}

struct tokens *tokens_parse(const char *text, size_t len, const char **why)
{
	struct tokens *t = q_calloc(1, sizeof(*t));
	if (!t) {
		*why = "out of memory";
		return NULL;
	}
	/* A NUL would end a token early, and one at a line's start would make
	 * it empty, which "Bearer " alone then matches (a UTF-16 file does
	 * that): the file is text, and a NUL byte says it is not. */
	if (len && memchr(text, '\0', len)) {
		tokens_free(t);
		*why = "it holds a NUL byte (tokens are text, one a line: is the file UTF-16?)";
		return NULL;
	}
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		if (add_line(t, text + i, end - i)) {
			tokens_free(t);
			*why = "out of memory";
			return NULL;
		}
		i = end + 1;
	}
	if (!t->n) {
		tokens_free(t);
		*why = "it holds no token (one a line; '#' starts a comment)";
		return NULL;
	}
	return t;
}

void tokens_free(struct tokens *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		/* A token is a secret: wipe it before the memory goes back. */
		volatile char *p = t->list[i];
		while (*p)
			*p++ = '\0';
		q_free(t->list[i]);
	}
	q_free(t->list);
	q_free(t);
}

size_t tokens_count(const struct tokens *t) { return t ? t->n : 0; }

static int same(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned diff = alen != blen;
	for (size_t i = 0; i < alen; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i < blen ? i : 0];
	return diff == 0;
}

int tokens_check(const struct tokens *t, const char *authorization)
{
	if (!t || !authorization || strncasecmp(authorization, "Bearer ", 7))
		return 0;
	const char *tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	size_t n = strlen(tok);
	if (!n)
		return 0;
	int ok = 0;
	for (size_t i = 0; i < t->n; i++)
		ok |= same(tok, n, t->list[i]);
	return ok;
}
