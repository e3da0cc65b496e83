#ifndef QUORUM_SUGGEST_H
#define QUORUM_SUGGEST_H
#include <stddef.h>

/* Returns the candidate nearest to `word` by edit distance, or NULL when
 * none is close enough to be a plausible typo. Borrowed from candidates. */
const char *suggest_nearest(const char *word, const char *const *candidates,
			    size_t n);

#endif
