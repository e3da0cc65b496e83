/* common/vec: the cosine and the normalisation of float vectors, summed
 * in double (moved here from tests/providers/test_embed.c with them). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/vec.h"

static void test_cosine(void **state)
{
	(void)state;
	static const float a[] = {1, 2, 3}, b[] = {4, 5, 6}, neg[] = {-1, -2, -3},
			   big[] = {10, 20, 30}, x[] = {1, 0, 0}, y[] = {0, 1, 0},
			   zero[] = {0, 0, 0};
	assert_true(vec_cosine(a, a, 3) == 1.0);
	assert_true(vec_cosine(a, big, 3) == 1.0);
	assert_true(vec_cosine(a, neg, 3) == -1.0);
	assert_true(vec_cosine(x, y, 3) == 0.0);
	/* 32 / sqrt(14 * 77) */
	assert_true(fabs(vec_cosine(a, b, 3) - 0.97463184619707621) < 1e-15);
	assert_true(vec_cosine(b, a, 3) == vec_cosine(a, b, 3));
	assert_true(vec_cosine(a, zero, 3) == 0.0);
	assert_true(vec_cosine(zero, zero, 3) == 0.0);
	assert_true(vec_cosine(a, b, 0) == 0.0);
	/* Near-parallel long vectors stay within [-1, 1]. */
	float u[1000], w[1000];
	for (int i = 0; i < 1000; i++) {
		u[i] = 0.1f + (float)i * 1e-3f;
		w[i] = u[i] * 3;
	}
	double c = vec_cosine(u, w, 1000);
	assert_true(c <= 1.0 && c > 0.99999);
	for (int i = 0; i < 1000; i++)
		w[i] = -u[i];
	c = vec_cosine(u, w, 1000);
	assert_true(c >= -1.0 && c < -0.99999);
	/* Huge values do not overflow: the sums are in double. */
	static const float h[] = {FLT_MAX, FLT_MAX};
	assert_true(fabs(vec_cosine(h, h, 2) - 1.0) < 1e-12);
}

static void test_normalize(void **state)
{
	(void)state;
	float v[] = {3, 4}, zero[] = {0, 0}, a[] = {1, 2, 3}, b[] = {4, 5, 6};
	vec_normalize(v, 2);
	assert_float_equal(v[0], 0.6f, 1e-7);
	assert_float_equal(v[1], 0.8f, 1e-7);
	vec_normalize(zero, 2);
	assert_true(zero[0] == 0 && zero[1] == 0);
	double before = vec_cosine(a, b, 3);
	vec_normalize(a, 3);
	vec_normalize(b, 3);
	assert_float_equal(a[0] * b[0] + a[1] * b[1] + a[2] * b[2], before, 1e-6);
	assert_float_equal(vec_cosine(a, b, 3), before, 1e-6);
	vec_normalize(a, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cosine),
		cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests_name("common_vec", tests, NULL, NULL);
}
