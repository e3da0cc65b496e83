#ifndef QUORUM_PROVIDERS_FORMATS_H
#define QUORUM_PROVIDERS_FORMATS_H
#include <stddef.h>

#include "../common/provfacts.h"
#include "../common/qerr.h"
#include "body.h"
#include "provider.h"

/* The wire formats, by the name of their file and their row in the table
 * of provider facts. Private to providers/: each file defines three things
 * under its name, and registry.c makes them a struct provider. Adding a
 * format is a line here, its row in common/provfacts.c, and its file. */
#define PROVIDERS(X)                                                          \
	X(openai, PROV_OPENAI)                                                \
	X(anthropic, PROV_ANTHROPIC)                                          \
	X(gemini, PROV_GEMINI)                                                \
	X(ollama, PROV_OLLAMA)

/* NAME_build: provider.build. NAME_body: how its 2xx responses read (the
 * parser is body.c's over it). NAME_parse_error: provider.parse_error. */
#define PROVIDER_DECLARE(name, id)                                            \
	int name##_build(const struct chat_request *req, const char *base_url, \
			 const char *api_key, struct http_req *out,            \
			 struct qerr *e);                                      \
	extern const struct body_format name##_body;                          \
	void name##_parse_error(int http_status, const char *body, size_t len, \
				const char *retry_after, struct chat_result *r);
PROVIDERS(PROVIDER_DECLARE)

#endif
