/* The wire formats quorum speaks, by the name a workflow's `provider:`
 * key uses. Adding one is one line in PROVIDERS (and its file in
 * meson.build). */
#include <stddef.h>
#include <string.h>

#include "provider.h"

#define PROVIDERS(X) X(openai) X(anthropic) X(gemini) X(ollama)

#define PROVIDER_DECLARE(name) extern const struct provider name##_provider;
PROVIDERS(PROVIDER_DECLARE)

#define PROVIDER_ENTRY(name) &name##_provider,
static const struct provider *const providers[] = {PROVIDERS(PROVIDER_ENTRY)};

#define PROVIDER_NAME(name) #name,
static const char *const names[] = {PROVIDERS(PROVIDER_NAME) NULL};

const struct provider *provider_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
		if (!strcmp(providers[i]->name, name))
			return providers[i];
	return NULL;
}

const char *const *provider_names(void) { return names; }



