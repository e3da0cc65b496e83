#ifndef QUORUM_ARENA_H
#define QUORUM_ARENA_H
#include <stdarg.h>
#include <stddef.h>

/* A region allocator: allocate freely, free everything at once with
 * arena_free (nginx's pools). One per loaded workflow and one per run.
 * Allocation functions return NULL only when memory is exhausted. */
struct arena;

/* Returns new; free with arena_free. */
struct arena *arena_new(void);
/* Frees every block of the arena; arena_free(NULL) is a no-op. */
void arena_free(struct arena *a);

/* Returns n bytes aligned for any type, zeroed, borrowed until arena_free. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);
/* Copies n elements of size sz (a growable array snapshot). */
void *arena_memdup(struct arena *a, const void *p, size_t n);

/* Runs fn(p) when the arena is freed, newest first: how resources that
 * are not memory (compiled regexes) share the arena's lifetime. Returns 0
 * or -1 when memory is exhausted (fn is then called at once). */
int arena_on_free(struct arena *a, void (*fn)(void *), void *p);

/* Bytes handed out so far (for limits and benchmarks). */
size_t arena_used(const struct arena *a);

#endif
