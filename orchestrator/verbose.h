#ifndef QUORUM_VERBOSE_H
#define QUORUM_VERBOSE_H
/* --verbose: each request's and response's head as curl sees it, with
 * every header that can carry a credential redacted and any configured
 * key value masked wherever it appears. */
#include <curl/curl.h>
#include <stdio.h>

#include "../common/arena.h"
#include "../common/redact.h"

struct verbose;

/* Returns a logger to out (in a), or NULL when memory ran out. redact is
 * borrowed for its life. */
struct verbose *verbose_new(struct arena *a, FILE *out, const struct redact *redact);
/* Logs the transfers of handle e. */
void verbose_attach(CURL *e, struct verbose *v);

#endif
