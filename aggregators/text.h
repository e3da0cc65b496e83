#ifndef QUORUM_AGG_TEXT_H
#define QUORUM_AGG_TEXT_H
#include <stddef.h>

#include "../common/buf.h"

/* Small ASCII helpers shared by extraction and normalisation. Internal to
 * aggregators/. They look at ASCII only, so UTF-8 bytes (>= 0x80) are
 * never letters, digits or space here and pass through untouched. */

static inline int tx_digit(char c) { return c >= '0' && c <= '9'; }
static inline int tx_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline int tx_alnum(char c) { return tx_alpha(c) || tx_digit(c) || c == '_'; }
static inline int tx_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static inline char tx_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }
static inline char tx_upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

/* Narrows [*b, *e) past ASCII white space at both ends. */
void tx_trim(const char *s, size_t *b, size_t *e);

/* Where lit first occurs in s[from..len), or len when it does not. Linear
 * and bounded by len, unlike strstr in a loop. */
size_t tx_find(const char *s, size_t from, size_t len, const char *lit);

/* Whether the lower-case word w stands at s[i], in any case, as a whole
 * word: no ASCII letter just before or after it, so "is" stands in "B is:"
 * but not in "this" or "isn't". Needs i <= len. */
int tx_word_at(const char *s, size_t len, size_t i, const char *w);

/* Appends the markdown-free form of the line s[b..e): "**" anywhere
 * dropped, then heading marks, quote marks, list bullets, and '*', '_',
 * '`' runs at the ends, then white space. A fence or rule line ("```",
 * "---") comes out empty. Returns 0 or -1 (out full). */
int tx_clean_line(const char *s, size_t b, size_t e, struct buf *out);

#endif
