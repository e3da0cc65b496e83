#ifndef QUORUM_SERVER_TOKENS_H
#define QUORUM_SERVER_TOKENS_H
/* The bearer tokens clients may present to quorum serve (--tokens FILE):
 * one a line, blank lines and lines starting with '#' ignored. */
#include <stddef.h>

struct tokens;

/* Reads the file's text[0..len). Returns new (tokens_free), or NULL with
 * why set to a static message (no token in it, a NUL byte in it, out of
 * memory). */
struct tokens *tokens_parse(const char *text, size_t len, const char **why);
void tokens_free(struct tokens *t);
size_t tokens_count(const struct tokens *t);
/* Whether an Authorization header value ("Bearer TOKEN") names one of
 * them. Compares in constant time for a given length, so the time taken
 * does not tell how much of a guess was right. NULL header, or no token
 * after "Bearer ": no. */
int tokens_check(const struct tokens *t, const char *authorization);

#endif
