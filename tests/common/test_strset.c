/* common/strset: the ids a batch has met; found again after growing,
 * told apart by every byte, and with the number each came with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../common/strset.h"

static void test_add_and_find(void **state)
{
	(void)state;
	struct strset s = {0};
	assert_false(strset_has(&s, "a"));
	char key[32];
	for (long i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "\"id-%ld\"", i);
		assert_int_equal(strset_add(&s, key, i + 1, NULL), 1);
	}
	assert_int_equal(s.n, 5000);
	for (long i = 0; i < 5000; i++) {
		long was = -1;
		snprintf(key, sizeof(key), "\"id-%ld\"", i);
		assert_true(strset_has(&s, key));
		assert_int_equal(strset_add(&s, key, 99999, &was), 0);
		assert_int_equal(was, i + 1);
	}
	assert_false(strset_has(&s, "\"id-5000\""));
	assert_false(strset_has(&s, "\"id-1"));
	assert_false(strset_has(&s, ""));
	assert_int_equal(strset_add(&s, "", 7, NULL), 1);
	assert_true(strset_has(&s, ""));
	assert_int_equal(s.n, 5001);
	strset_release(&s);
	assert_false(strset_has(&s, "\"id-1\""));
	strset_release(&s); /* twice is harmless */
}

/* A key whose copy cannot be made is not added, and the set holds on. */
static void test_out_of_memory(void **state)
{
	(void)state;
	struct strset s = {0};
	assert_int_equal(strset_add(&s, "one", 1, NULL), 1);
	q_alloc_fail_after(1);
	assert_int_equal(strset_add(&s, "two", 2, NULL), -1);
	q_alloc_fail_after(0);
	assert_false(strset_has(&s, "two"));
	assert_true(strset_has(&s, "one"));
	assert_int_equal(strset_add(&s, "two", 2, NULL), 1);
	strset_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_find),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
