#ifndef QUORUM_PROVFACTS_H
#define QUORUM_PROVFACTS_H

/* The facts about each provider quorum speaks that more than one room
 * needs, in one table: dag/ checks a workflow's `provider:` against the
 * names (and suggests one) and fills in a model's default base URL and
 * key variable; providers/ falls back on the same base URL and puts the
 * key in the header named here. Adding a provider is a row here and its
 * wire format file in providers/. */

enum provfacts_id {
	PROV_OPENAI,
	PROV_ANTHROPIC,
	PROV_GEMINI,
	PROV_OLLAMA,
	PROV_COUNT,
};

struct provfacts {
	const char *name;        /* as a workflow's `provider:` writes it */
	const char *base_url;    /* the default base URL */
	const char *key_env;     /* the default key variable; "" for none */
	const char *key_header;  /* the header that carries the key */
	const char *key_prefix;  /* before the key in it: "Bearer ", or "" */
	int embeddings;          /* it has an embeddings endpoint */
};

/* The table, indexed by enum provfacts_id. */
extern const struct provfacts provfacts[PROV_COUNT];

/* The names, in table order, NULL-terminated (for "did you mean"). */
extern const char *const provfacts_names[PROV_COUNT + 1];

/* Returns the row of the provider of that name (case-sensitive), or NULL
 * when there is none or name is NULL. */
const struct provfacts *provfacts_find(const char *name);

#endif
