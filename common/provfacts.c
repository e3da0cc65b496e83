/* The table of provider facts (see provfacts.h), written once: the rows
 * and the list of names both come from PROVFACTS. */
#include "provfacts.h"

#include <stddef.h>
#include <string.h>

/* id, name, default base URL, default key variable, key header, prefix,
 * whether it has an embeddings endpoint (Anthropic has none). Ollama
 * takes no key by default; one given anyway (a proxy in front of it) goes
 * in as a bearer token. */
#define PROVFACTS(X)                                                           \
	X(PROV_OPENAI, "openai", "https://api.openai.com/v1", "OPENAI_API_KEY",  \
	  "Authorization", "Bearer ", 1)                                        \
	X(PROV_ANTHROPIC, "anthropic", "https://api.anthropic.com",              \
	  "ANTHROPIC_API_KEY", "x-api-key", "", 0)                               \
	X(PROV_GEMINI, "gemini", "https://generativelanguage.googleapis.com",    \
	  "GEMINI_API_KEY", "x-goog-api-key", "", 1)                             \
	X(PROV_OLLAMA, "ollama", "http://127.0.0.1:11434", "", "Authorization",  \
	  "Bearer ", 1)

#define PROVFACTS_ROW(id, name, url, env, header, prefix, embed) \
	[id] = {name, url, env, header, prefix, embed},
#define PROVFACTS_NAME(id, name, url, env, header, prefix, embed) [id] = name,

const struct provfacts provfacts[PROV_COUNT] = {PROVFACTS(PROVFACTS_ROW)};

const char *const provfacts_names[PROV_COUNT + 1] = {PROVFACTS(PROVFACTS_NAME) NULL};

const struct provfacts *provfacts_find(const char *name)
{
	for (size_t i = 0; name && i < PROV_COUNT; i++) {
		if (!strcmp(provfacts[i].name, name))
			return &provfacts[i];
	}
	return NULL;
}
