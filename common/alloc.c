#include "alloc.h"

#include <stdlib.h>
#include <string.h>

/* Per thread: a test that injects failures into a run must not make the
 * mock server's threads fail too (nor race with them). */
static _Thread_local long fail_countdown;

static int should_fail(void)
{
	if (fail_countdown <= 0)
		return 0;
	return --fail_countdown == 0;
}

void q_alloc_fail_after(long n) { fail_countdown = n; }

void *q_malloc(size_t n)
{
	return should_fail() ? NULL : malloc(n ? n : 1);
}

void *q_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *q_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : realloc(p, n ? n : 1);
}

char *q_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = q_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

void q_free(void *p) { free(p); }
