/* The retry policy, pure: backoff with jitter and Retry-After, the retry
 * decision, a model's rpm window and circuit breaker, and curl's codes as
 * error classes. Time is a number the test chooses (a fake clock) and
 * chance is the u it passes, so nothing here waits or touches a network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../orchestrator/policy.h"

static void test_backoff_doubles_with_equal_jitter(void **state)
{
	(void)state;
	/* attempt 1: 500 ms, half fixed and half jitter: 250..500 */
	assert_int_equal(policy_backoff_ms(1, 0.0, -1), 250);
	assert_int_equal(policy_backoff_ms(1, 0.5, -1), 375);
	assert_true(policy_backoff_ms(1, 0.999999, -1) < 500);
	/* then 1 s, 2 s, 4 s ... */
	assert_int_equal(policy_backoff_ms(2, 0.0, -1), 500);
	assert_int_equal(policy_backoff_ms(3, 0.0, -1), 1000);
	assert_int_equal(policy_backoff_ms(4, 1.0 / 2, -1), 3000);
	/* capped at 30 s whatever the attempt */
	assert_int_equal(policy_backoff_ms(10, 0.0, -1), 15000);
	assert_int_equal(policy_backoff_ms(1000, 0.0, -1), 15000);
	assert_true(policy_backoff_ms(60, 0.999999, -1) <= POLICY_BACKOFF_CAP_MS);
	/* chance out of [0, 1) is clamped, never a negative wait */
	assert_int_equal(policy_backoff_ms(1, -3.0, -1), 250);
	assert_true(policy_backoff_ms(1, 7.0, -1) < 500);
}

static void test_backoff_honours_retry_after(void **state)
{
	(void)state;
	assert_int_equal(policy_backoff_ms(1, 0.0, 2000), 2000);   /* longer: wins */
	assert_int_equal(policy_backoff_ms(5, 0.0, 10), 4000);     /* shorter: backoff */
	assert_int_equal(policy_backoff_ms(1, 0.0, 0), 250);
	/* a server asking for ten minutes gets one, not a stalled run */
	assert_int_equal(policy_backoff_ms(1, 0.0, 600000), POLICY_RETRY_AFTER_CAP_MS);
}

static void test_retry_decision(void **state)
{
	(void)state;
	assert_true(policy_should_retry(ERR_RATE_LIMITED, 1, 2, 0));
	assert_true(policy_should_retry(ERR_SERVER, 2, 2, 0));
	assert_false(policy_should_retry(ERR_SERVER, 3, 2, 0));   /* retries spent */
	assert_false(policy_should_retry(ERR_TIMEOUT, 1, 0, 0));  /* retries: 0 */
	assert_false(policy_should_retry(ERR_OVERLOADED, 1, 2, 1)); /* breaker open */
	static const enum err_class never[] = {ERR_AUTH, ERR_BAD_REQUEST, ERR_NOT_FOUND,
					       ERR_CONTENT_FILTER, ERR_BUDGET, ERR_CANCELLED,
					       ERR_TOO_LARGE, ERR_QUOTA, ERR_MALFORMED};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		assert_false(policy_should_retry(never[i], 1, 5, 0));
	static const enum err_class again[] = {ERR_RATE_LIMITED, ERR_OVERLOADED, ERR_SERVER,
					       ERR_TIMEOUT, ERR_CONNECTION, ERR_TRUNCATED};
	for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++)
		assert_true(policy_should_retry(again[i], 1, 5, 0));
}

/* A call that keeps meeting 429s with Retry-After: 1, on a fake clock:
 * three attempts (retries: 2), each after at least the second asked. */
static void test_retry_schedule_on_a_fake_clock(void **state)
{
	(void)state;
	int64_t now = 1000000, sent[8];
	int attempts = 0, retries = 2;
	for (int attempt = 1;; attempt++) {
		sent[attempts++] = now;
		now += 40; /* the 429 comes back */
		if (!policy_should_retry(ERR_RATE_LIMITED, attempt, retries, 0))
			break;
		now += policy_backoff_ms(attempt, 0.25 * attempt, 1000);
	}
	assert_int_equal(attempts, 3);
	for (int i = 1; i < attempts; i++)
		assert_true(sent[i] - sent[i - 1] >= 1040);
}

static void test_rpm_window(void **state)
{
	(void)state;
	int64_t ring[3];
	struct rpm_window w;
	rpm_init(&w, ring, 3);
	for (int64_t t = 0; t < 30; t += 10) {
		assert_int_equal(rpm_blocked_until(&w, t), 0);
		rpm_record(&w, t);
	}
	/* the fourth call of the minute waits for the first to age out */
	assert_int_equal(rpm_blocked_until(&w, 30), 60000);
	assert_int_equal(rpm_blocked_until(&w, 59999), 60000);
	assert_int_equal(rpm_blocked_until(&w, 60000), 0);
	rpm_record(&w, 60000);
	assert_int_equal(rpm_blocked_until(&w, 60001), 60010);
	assert_int_equal(rpm_blocked_until(&w, 60010), 0);
	/* no cap: never blocked */
	struct rpm_window free_w;
	rpm_init(&free_w, NULL, 0);
	for (int i = 0; i < 1000; i++)
		rpm_record(&free_w, 5);
	assert_int_equal(rpm_blocked_until(&free_w, 5), 0);
}

static void test_breaker(void **state)
{
	(void)state;
	struct breaker b = {0};
	int64_t t = 1000;
	assert_int_equal(breaker_record(&b, 0, t), 0);
	assert_int_equal(breaker_record(&b, 0, t), 0);
	assert_int_equal(breaker_record(&b, 1, t), 0); /* a success resets the run */
	assert_int_equal(b.consecutive, 0);
	assert_int_equal(breaker_record(&b, 0, t), 0);
	assert_int_equal(breaker_record(&b, 0, t), 0);
	assert_false(b.open);
	assert_true(breaker_allows(&b, t));
	assert_int_equal(breaker_record(&b, 0, t), 1); /* the third in a row opens it */
	assert_true(b.open);
	assert_false(breaker_allows(&b, t + 1));
	/* after the cooldown one call may probe; the others still wait */
	t += POLICY_BREAKER_COOLDOWN_MS;
	assert_true(breaker_allows(&b, t));
	assert_false(breaker_allows(&b, t));
	/* the probe fails: open for another cooldown */
	assert_int_equal(breaker_record(&b, 0, t), 0);
	assert_true(b.open);
	assert_false(breaker_allows(&b, t + POLICY_BREAKER_COOLDOWN_MS - 1));
	/* the next probe succeeds: closed */
	t += POLICY_BREAKER_COOLDOWN_MS;
	assert_true(breaker_allows(&b, t));
	assert_int_equal(breaker_record(&b, 1, t), 0);
	assert_false(b.open);
	assert_true(breaker_allows(&b, t));
	assert_true(breaker_allows(&b, t));
}

static void test_curl_classes(void **state)
{
	(void)state;
	const char *msg;
	assert_int_equal(policy_curl_class(CURLE_OPERATION_TIMEDOUT, 0, &msg), ERR_TIMEOUT);
	assert_int_equal(policy_curl_class(CURLE_COULDNT_CONNECT, 0, &msg), ERR_CONNECTION);
	assert_int_equal(policy_curl_class(CURLE_COULDNT_RESOLVE_HOST, 0, &msg), ERR_CONNECTION);
	assert_int_equal(policy_curl_class(CURLE_RECV_ERROR, 0, &msg), ERR_CONNECTION);
	/* an answer that had begun and broke off is truncated, not refused */
	assert_int_equal(policy_curl_class(CURLE_RECV_ERROR, 1, &msg), ERR_TRUNCATED);
	assert_int_equal(policy_curl_class(CURLE_PARTIAL_FILE, 1, &msg), ERR_TRUNCATED);
	assert_string_equal(msg, "the connection closed before the response ended");
	assert_int_equal(policy_curl_class(CURLE_GOT_NOTHING, 0, &msg), ERR_CONNECTION);
	/* curl's word for a header line over 100 KiB */
	assert_int_equal(policy_curl_class(CURLE_OUT_OF_MEMORY, 0, &msg), ERR_TOO_LARGE);
	assert_non_null(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_with_equal_jitter),
		cmocka_unit_test(test_backoff_honours_retry_after),
		cmocka_unit_test(test_retry_decision),
		cmocka_unit_test(test_retry_schedule_on_a_fake_clock),
		cmocka_unit_test(test_rpm_window),
		cmocka_unit_test(test_breaker),
		cmocka_unit_test(test_curl_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
