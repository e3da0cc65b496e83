#ifndef QUORUM_ALLOC_H
#define QUORUM_ALLOC_H
#include <stddef.h>

/* Every allocation in quorum goes through these, so tests can inject
 * failures in one place (sqlite's malloc.c does the same). They return NULL
 * on failure; q_free(NULL) is a no-op. */
void *q_malloc(size_t n);
void *q_calloc(size_t n, size_t size);
void *q_realloc(void *p, size_t n);
char *q_strdup(const char *s);
void q_free(void *p);

/* Test hook: make the calling thread's Nth allocation from now fail (0
 * disables). */
void q_alloc_fail_after(long n);

#endif
