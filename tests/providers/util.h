#ifndef QUORUM_TESTS_PROVIDERS_UTIL_H
#define QUORUM_TESTS_PROVIDERS_UTIL_H
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../../providers/provider.h"

/* Shared by the providers tests: fixtures, a repeatable PRNG, and
 * building a request to look at. */

/* Reads $QUORUM_FIXTURES/openai/<name> (falls back to tests/fixtures
 * next to the working directory). Returns new, NUL-terminated; free with
 * q_free. Fails the test when the file is missing. */
char *fixture_read(const char *name, size_t *len);
/* The same for $QUORUM_FIXTURES/<sub>/<name> (sub: "ollama", ...). */
char *fixture_read_in(const char *sub, const char *name, size_t *len);

/* xorshift64*: the same numbers on every machine, so a failing split is
 * reproducible from its seed. */
uint64_t rng_next(uint64_t *state);

/* The provider of that name; fails the test when there is none. */
const struct provider *prov_get(const char *name);

/* Builds req with prov into out (and e), both reset first; on success
 * parses the body into *body when body is not NULL (cJSON_Delete it).
 * Returns what build returned. */
int build_req(const struct provider *prov, const struct chat_request *req,
	      const char *base, const char *key, struct http_req *out, cJSON **body,
	      struct qerr *e);

/* The value of the header called name (case-sensitive) in r, or NULL. */
const char *req_header(const struct http_req *r, const char *name);

/* o[key], case-sensitive; NULL when absent. */
const cJSON *jget(const cJSON *o, const char *key);

/* One group per file, run by main (test_main.c; an executable of its own
 * has its own main and links util.c without test_main.c). */
int test_errclass(void);
int test_sse(void);
int test_openai_build(void);
int test_openai_parse(void);
int test_registry(void);

#endif
