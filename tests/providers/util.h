#ifndef QUORUM_TESTS_PROVIDERS_UTIL_H
#define QUORUM_TESTS_PROVIDERS_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Shared by the providers tests: fixtures and a repeatable PRNG. */

/* Reads $QUORUM_FIXTURES/openai/<name> (falls back to tests/fixtures
 * next to the working directory). Returns new, NUL-terminated; free with
 * q_free. Fails the test when the file is missing. */
char *fixture_read(const char *name, size_t *len);
/* The same for $QUORUM_FIXTURES/<sub>/<name> (sub: "ollama", ...). */
char *fixture_read_in(const char *sub, const char *name, size_t *len);

/* xorshift64*: the same numbers on every machine, so a failing split is
 * reproducible from its seed. */
uint64_t rng_next(uint64_t *state);

/* One group per file, run by main (test_main.c; an executable of its own
 * has its own main and links util.c without test_main.c). */
int test_errclass(void);
int test_sse(void);
int test_openai_build(void);
int test_openai_parse(void);

#endif
