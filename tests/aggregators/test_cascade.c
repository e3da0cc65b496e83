#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/cascade.h"
#include "../../aggregators/judge.h"
#include "tests.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

struct check_case {
	const char *reply;
	int want;
};

static const struct check_case checks[] = {
	{"correct", 1},
	{"Correct.", 1},
	{"**Correct**", 1},
	{"CORRECT", 1},
	{"incorrect", 0},
	{"INCORRECT", 0},
	{"Incorrect.", 0},
	{"Yes", 1},
	{"Yes, the answer is correct.", 1},
	{"No.", 0},
	{"No. 17 * 3 is 51, not 41.", 0},
	{"The answer is correct", 1},
	{"The answer is correct.", 1},
	{"The answer is not correct.", 0},
	{"not correct", 0},
	{"Not correct: the capital is Canberra.", 0},
	{"The answer isn't correct.", 0},
	{"Partially correct", 0},
	{"The answer is not entirely correct.", 0},
	{"The answer is wrong; it should be 12.", 0},
	{"Incorrect. The correct answer is 5.", 0},
	{"Let me check: 17 * 3 = 51, and the answer says 51. So the answer is correct.", 1},
	{"Checking each step... the final step divides by zero. Verdict: incorrect", 0},
	{"The correct answer is 5, and the answer given is 5, so it is accurate.", 1},
	{"Correct - the capital of Australia is Canberra.", 1},
	{"The given answer (42) is right.", 1},
	{"This is not right.", 0},
	{"False.", 0},
	{"correct or incorrect", -1},
	{"correct/incorrect", -1},
	{"I cannot verify this without more context.", -1},
	{"", -1},
};

static void test_selfcheck_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(checks); i++) {
		int got = selfcheck_parse(checks[i].reply);
		if (got != checks[i].want)
			fail_msg("case %zu \"%s\": got %d, want %d", i, checks[i].reply, got,
				 checks[i].want);
	}
	assert_int_equal(selfcheck_parse(NULL), -1);
}

static void test_selfcheck_prompt(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	assert_int_equal(selfcheck_build_prompt(&out, "What is 17*3?", "51"), 0);
	const char *s = buf_str(&out);
	assert_true(strncmp(s, "Is the following answer correct?", 32) == 0);
	assert_non_null(strstr(s, "Question:\nWhat is 17*3?"));
	assert_non_null(strstr(s, "Answer:\n51"));
	assert_non_null(strstr(s, "Reply with exactly one word: correct or incorrect"));
	buf_release(&out);
}

static void test_judge_prompt(void **state)
{
	(void)state;
	struct buf sys = BUF_INIT, user = BUF_INIT;
	assert_int_equal(cascade_judge_prompt(&sys, &user, "Why is the sky blue?",
					      "Rayleigh scattering.", NULL), 0);
	assert_non_null(strstr(buf_str(&sys), "scale of 1 to 10"));
	assert_non_null(strstr(buf_str(&sys), "\"Rating: [[5]]\""));
	assert_non_null(strstr(buf_str(&user), "[Question]\nWhy is the sky blue?"));
	assert_non_null(strstr(buf_str(&user), "Answer]\nRayleigh scattering.\n[The End"));
	/* The reply it asks for reads back. */
	assert_true(judge_parse_score("Accurate and brief.\n\nRating: [[8]]") == 8);
	buf_release(&sys);
	buf_release(&user);
}

static void test_agreement(void **state)
{
	(void)state;
	struct extract_spec num = {EX_NUMBER, NULL, NULL};
	const char *three[] = {"The answer is 42.", "42", "I think 41."};
	double s = agreement_share(three, 3, &num);
	assert_true(s > 0.666 && s < 0.667);
	const char *same[] = {"**1,000**", "1000.00", "It is 1e3."};
	assert_true(agreement_share(same, 3, &num) == 1.0);
	/* No answer counts as disagreement; NULL texts too. */
	const char *holes[] = {"7", NULL, "no idea", "7"};
	assert_true(agreement_share(holes, 4, &num) == 0.5);
	const char *none[] = {"no idea", NULL};
	assert_true(agreement_share(none, 2, &num) == 0.0);
	assert_true(agreement_share(none, 0, &num) == 0.0);
	/* Whole texts, normalised: case and spacing do not matter. */
	const char *whole[] = {"Paris", "paris ", "Lyon", "PARIS"};
	assert_true(agreement_share(whole, 4, NULL) == 0.75);
}

int test_cascade_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selfcheck_table),
		cmocka_unit_test(test_selfcheck_prompt),
		cmocka_unit_test(test_judge_prompt),
		cmocka_unit_test(test_agreement),
	};
	return cmocka_run_group_tests_name("cascade", tests, NULL, NULL);
}
