#ifndef QUORUM_REGEX_H
#define QUORUM_REGEX_H
#include <stddef.h>

#include "qerr.h"

/* Every pattern a user writes is PCRE2 (they write \d+, (?i), lazy
 * quantifiers), compiled once at load, UTF-8 mode. */
struct regex;

/* Returns new; free with regex_free. On a bad pattern returns NULL and
 * sets e to "invalid regular expression at offset N: reason"; *offset gets
 * the 0-based byte offset of the problem when offset is not NULL. */
struct regex *regex_compile(const char *pattern, size_t *offset, struct qerr *e);
void regex_free(struct regex *re);
/* Number of capture groups in the pattern. */
int regex_groups(const struct regex *re);

/* Finds the first match in s[0..len). On a match returns 1 and, when
 * group >= 0 and the group took part, sets [*start, *end) to that group's
 * span (group 0 is the whole match); returns 0 for no match, -1 on a
 * matching error (such as the backtracking limit). */
int regex_search(const struct regex *re, const char *s, size_t len, int group,
		 size_t *start, size_t *end);

#endif
