/* Correlated errors: models of one `error_group` share their draws for a
 * bank question with probability `correlation`, so their mistakes
 * coincide as often as configured (bench/eval measures majority votes on
 * it), while correlation 0 leaves every model's answers as they were. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../../sim/sim.h"
#include "test_http.h"

enum { NQ = 300, ANS_MAX = 16 };

/* models plus a bank of NQ sums, each with two wrong answers so that
 * "wrong alike" is something the draws decide. */
static char *corr_scenario(const char *models)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "seed: 11\nmodels:\n%sbank:\n", models);
	for (int i = 0; i < NQ; i++)
		buf_printf(&b, "  - {q: 'What is %d plus %d?', a: '%d', wrong: ['%d', '%d']}\n",
			   i, 2 * i + 1, 3 * i + 1, 3 * i + 11, 3 * i + 21);
	return b.data;
}

static struct mock *corr_start(const char *models)
{
	char *text = corr_scenario(models);
	assert_non_null(text);
	struct qerr e = {0};
	struct mock *m = mock_start("corr", text, strlen(text), 0, &e);
	if (!m)
		fprintf(stderr, "mock_start: %s\n", e.msg);
	free(text);
	assert_non_null(m);
	return m;
}

/* Asks model every question once; ans[i] is its short answer to i. */
static void ask_all(int port, const char *model, char (*ans)[ANS_MAX])
{
	for (int i = 0; i < NQ; i++) {
		char body[256];
		snprintf(body, sizeof(body),
			 "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\","
			 "\"content\":\"What is %d plus %d?\"}]}",
			 model, i, 2 * i + 1);
		struct resp r;
		http(port, "/v1/chat/completions", body, 5000, &r);
		assert_int_equal(r.status, 200);
		cJSON *j = cJSON_Parse(buf_str(&r.body));
		cJSON *msg = cJSON_GetObjectItem(
			cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
		const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "content"));
		assert_non_null(text);
		const char *a = strstr(text, "Answer: ");
		assert_non_null(a);
		snprintf(ans[i], ANS_MAX, "%s", a + 8);
		cJSON_Delete(j);
		resp_release(&r);
	}
}

struct pair {
	double acc1, acc2; /* each model's share of right answers */
	double phi;        /* the correlation of being right */
	int same_wrong;    /* both wrong with the same answer */
	int diff_wrong;    /* both wrong, differently */
};

static struct pair compare(char (*x)[ANS_MAX], char (*y)[ANS_MAX])
{
	struct pair p = {0};
	int r1 = 0, r2 = 0, r12 = 0;
	for (int i = 0; i < NQ; i++) {
		char right[ANS_MAX];
		snprintf(right, sizeof(right), "%d", 3 * i + 1);
		int a = !strcmp(x[i], right), b = !strcmp(y[i], right);
		r1 += a;
		r2 += b;
		r12 += a && b;
		if (!a && !b)
			*(strcmp(x[i], y[i]) ? &p.diff_wrong : &p.same_wrong) += 1;
	}
	p.acc1 = (double)r1 / NQ;
	p.acc2 = (double)r2 / NQ;
	double cov = (double)r12 / NQ - p.acc1 * p.acc2;
	p.phi = cov / sqrt(p.acc1 * (1 - p.acc1) * p.acc2 * (1 - p.acc2));
	return p;
}

static void test_error_groups(void **state)
{
	(void)state;
	struct mock *m = corr_start(
		"  default: {accuracy: 0.7}\n"
		"  half1: {accuracy: 0.7, error_group: g, correlation: 0.5}\n"
		"  half2: {accuracy: 0.7, error_group: g, correlation: 0.5}\n"
		"  all1: {accuracy: 0.7, error_group: h, correlation: 1}\n"
		"  all2: {accuracy: 0.7, error_group: h, correlation: 1}\n");
	static char a[6][NQ][ANS_MAX];
	const char *names[6] = {"ind1", "ind2", "half1", "half2", "all1", "all2"};
	for (int i = 0; i < 6; i++)
		ask_all(mock_port(m), names[i], a[i]);
	mock_stop(m);

	/* The binomial's sd over 300 at 0.7 is 0.026; phi's about 0.06. */
	struct pair ind = compare(a[0], a[1]), half = compare(a[2], a[3]),
		    all = compare(a[4], a[5]);
	const struct pair *ps[3] = {&ind, &half, &all};
	for (int i = 0; i < 3; i++) {
		assert_true(ps[i]->acc1 > 0.6 && ps[i]->acc1 < 0.8);
		assert_true(ps[i]->acc2 > 0.6 && ps[i]->acc2 < 0.8);
	}
	assert_true(fabs(ind.phi) < 0.2);
	assert_true(half.phi > 0.3 && half.phi < 0.7);
	/* Correlation 1: right together, and wrong with the same answer. */
	assert_memory_equal(a[4], a[5], sizeof(a[4]));
	assert_true(all.same_wrong > 50);
	/* Independent mistakes pick their wrong answer apart: about half the
	 * shared ones differ. */
	assert_true(ind.diff_wrong > 5 && ind.same_wrong > 5);
	assert_true(half.same_wrong > half.diff_wrong);
}

static void test_correlation_zero_changes_nothing(void **state)
{
	(void)state;
	static char plain[NQ][ANS_MAX], grouped[NQ][ANS_MAX];
	struct mock *m = corr_start("  m1: {accuracy: 0.7}\n");
	ask_all(mock_port(m), "m1", plain);
	mock_stop(m);
	m = corr_start("  m1: {accuracy: 0.7, error_group: g}\n");
	ask_all(mock_port(m), "m1", grouped);
	mock_stop(m);
	assert_memory_equal(plain, grouped, sizeof(plain));
}

static void expect_refused(const char *text, const char *want)
{
	struct qerr e = {0};
	struct mock *m = mock_start("bad.yaml", text, strlen(text), 0, &e);
	assert_null(m);
	if (!strstr(e.msg, want))
		fprintf(stderr, "got: %s\n", e.msg);
	assert_non_null(strstr(e.msg, want));
}

static void test_group_errors(void **state)
{
	(void)state;
	expect_refused("models:\n  a: {correlation: 0.5}\n",
		       "models.a: 'correlation' needs an 'error_group'");
	expect_refused("models:\n  a: {error_group: g, correlation: 1.5}\n",
		       "models.a.correlation: expected a number from 0 to 1");
	expect_refused("models:\n  a: {error_group: '', correlation: 1}\n",
		       "models.a.error_group: expected a group name");
	expect_refused("models:\n  a: {error_grup: g}\n", "did you mean 'error_group'");
	/* The defaults may set the correlation, each model its group. */
	const char *ok = "defaults: {correlation: 0.3}\n"
			 "models:\n  a: {error_group: g}\n  b: {error_group: g}\n";
	struct qerr e = {0};
	struct mock *m = mock_start("ok.yaml", ok, strlen(ok), 0, &e);
	assert_non_null(m);
	mock_stop(m);
}

int test_corr_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_groups),
		cmocka_unit_test(test_correlation_zero_changes_nothing),
		cmocka_unit_test(test_group_errors),
	};
	return cmocka_run_group_tests_name("mock_error_groups", tests, NULL, NULL);
}
