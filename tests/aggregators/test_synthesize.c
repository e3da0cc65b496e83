#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/synthesize.h"
#include "tests.h"

static void test_default_instruction(void **state)
{
	(void)state;
	assert_non_null(strstr(synth_default_system, "synthesize these responses"));
	assert_non_null(strstr(synth_default_system, "critically evaluate"));
	assert_non_null(strstr(synth_default_system, "biased or incorrect"));
	assert_null(strstr(synth_default_system, "open-source"));
}

/* Every candidate, numbered in order, after the default instruction; the
 * models that wrote them are nowhere. */
static void test_build_default(void **state)
{
	(void)state;
	const char *models[] = {"gpt-4o-mini", "claude-3-5-haiku", "llama3.2"};
	const char *texts[] = {"Rayleigh scattering.", "Blue light scatters more.",
			       "Because of the ocean."};
	struct buf out = BUF_INIT;
	assert_int_equal(synth_build_system(&out, NULL, texts, 3), 0);
	const char *s = buf_str(&out);
	assert_memory_equal(s, synth_default_system, strlen(synth_default_system));
	const char *list = strstr(s, "\n\nResponses from models:\n\n");
	assert_non_null(list);
	assert_string_equal(list, "\n\nResponses from models:\n\n"
				  "1. Rayleigh scattering.\n\n"
				  "2. Blue light scatters more.\n\n"
				  "3. Because of the ocean.");
	for (size_t i = 0; i < 3; i++)
		assert_null(strstr(s, models[i]));
	buf_release(&out);
}

static void test_build_custom(void **state)
{
	(void)state;
	const char *texts[] = {"A", NULL, "C"};
	struct buf out = BUF_INIT;
	assert_int_equal(synth_build_system(&out, "You are the chairman.", texts, 3), 0);
	assert_string_equal(buf_str(&out), "You are the chairman.\n\n"
					   "Responses from models:\n\n1. A\n\n2. \n\n3. C");
	buf_release(&out);
}

static void test_build_full(void **state)
{
	(void)state;
	const char *texts[] = {"a response longer than the cap"};
	struct buf out;
	buf_init(&out, 64);
	assert_int_equal(synth_build_system(&out, NULL, texts, 1), -1);
	buf_release(&out);
	buf_init(&out, 40);
	assert_int_equal(synth_build_system(&out, "short", texts, 1), -1);
	buf_release(&out);
}

int test_synthesize_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_instruction),
		cmocka_unit_test(test_build_default),
		cmocka_unit_test(test_build_custom),
		cmocka_unit_test(test_build_full),
	};
	return cmocka_run_group_tests_name("synthesize", tests, NULL, NULL);
}
