/* ${VAR} and ${VAR:-default} in base_url, as docker-compose users expect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../orchestrator/envsubst.h"

static void test_expand(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	setenv("QT_HOST", "proxy.internal:8443", 1);
	unsetenv("QT_UNSET");
	static const struct { const char *in, *out; } rows[] = {
		{"https://api.openai.com/v1", "https://api.openai.com/v1"},
		{"https://${QT_HOST}/v1", "https://proxy.internal:8443/v1"},
		{"${QT_UNSET:-http://127.0.0.1:11434}", "http://127.0.0.1:11434"},
		{"${QT_HOST:-fallback}", "proxy.internal:8443"},
		{"x${QT_UNSET}y", "xy"},
		{"${unclosed", "${unclosed"},
		{"$QT_HOST", "$QT_HOST"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_string_equal(env_expand(a, rows[i].in), rows[i].out);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
