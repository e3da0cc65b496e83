/* The wire formats quorum speaks, by the name a workflow's `provider:`
 * key uses: each format's own parts (formats.h) with its row of provider
 * facts, and body.c's parser over its body_format. */
#include <stddef.h>
#include <string.h>

#include "formats.h"

#define PROVIDER_DEFINE(name, id)                                             \
	static struct resp_parser *name##_parser_new(int stream, size_t max)  \
	{                                                                     \
		return body_parser_new(&name##_body, stream, max);            \
	}                                                                     \
	static const struct provider name##_provider = {                     \
		.facts = &provfacts[id],                                      \
		.build = name##_build,                                        \
		.parser_new = name##_parser_new,                              \
		.parser_content_type = body_parser_content_type,             \
		.parser_feed = body_parser_feed,                              \
		.parser_finish = body_parser_finish,                          \
		.parser_free = body_parser_free,                              \
		.parse_error = name##_parse_error,                            \
	};
PROVIDERS(PROVIDER_DEFINE)

#define PROVIDER_ENTRY(name, id) [id] = &name##_provider,
static const struct provider *const providers[PROV_COUNT] = {PROVIDERS(PROVIDER_ENTRY)};

const struct provider *provider_find(const char *name)
{
	const struct provfacts *f = provfacts_find(name);
	return f ? providers[f - provfacts] : NULL;
}

const char *const *provider_names(void) { return provfacts_names; }
