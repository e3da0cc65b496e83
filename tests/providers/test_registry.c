/* The providers quorum speaks, by name, with their facts (the table in
 * common/provfacts.c): the defaults a workflow's models get and the header
 * each key goes in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../providers/provider.h"
#include "util.h"

static const struct {
	const char *name, *base_url, *key_env, *key_header;
} want[] = {
	{"openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "Authorization: Bearer "},
	{"anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", "x-api-key: "},
	{"gemini", "https://generativelanguage.googleapis.com", "GEMINI_API_KEY",
	 "x-goog-api-key: "},
	/* no key by default; one given anyway goes in as a bearer token */
	{"ollama", "http://127.0.0.1:11434", "", "Authorization: Bearer "},
};

#define NWANT (sizeof(want) / sizeof(want[0]))

static void facts(void **state)
{
	(void)state;
	for (size_t i = 0; i < NWANT; i++) {
		const struct provider *p = prov_get(want[i].name);
		assert_string_equal(p->facts->name, want[i].name);
		assert_string_equal(p->facts->base_url, want[i].base_url);
		assert_string_equal(p->facts->key_env, want[i].key_env);
		/* The header the facts name is the one build writes. */
		struct chat_request req = {.model = "m", .prompt = "p"};
		struct http_req out;
		struct qerr e;
		assert_int_equal(build_req(p, &req, NULL, "k-123", &out, NULL, &e), 0);
		char line[64];
		snprintf(line, sizeof(line), "%sk-123", want[i].key_header);
		size_t seen = 0;
		for (size_t h = 0; h < out.nheaders; h++)
			seen += !strcmp(out.headers[h], line);
		assert_int_equal(seen, 1);
		/* With no base_url, the default. */
		assert_int_equal(strncmp(buf_str(&out.url), want[i].base_url,
					 strlen(want[i].base_url)), 0);
		http_req_release(&out);
	}
}

static void names(void **state)
{
	(void)state;
	const char *const *n = provider_names();
	size_t k = 0;
	for (; n[k]; k++) {
		assert_true(k < NWANT);
		assert_string_equal(n[k], want[k].name);
		assert_ptr_equal(provider_find(n[k])->facts->name, n[k]);
	}
	assert_int_equal(k, NWANT);
	static const char *const unknown[] = {"OpenAI", "Anthropic", "gtp", "", "openai "};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_null(provider_find(unknown[i]));
	assert_null(provider_find(NULL));
}

int test_registry(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(facts),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
