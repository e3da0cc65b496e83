/* Error classes, HTTP statuses, Retry-After, results and requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../providers/provider.h"
#include "util.h"

static void status_classes(void **state)
{
	(void)state;
	static const struct {
		int status;
		enum err_class want;
	} cases[] = {
		{0, ERR_CONNECTION},      {200, ERR_NONE},
		{204, ERR_NONE},          {100, ERR_MALFORMED},
		{301, ERR_MALFORMED},     {302, ERR_MALFORMED},
		{400, ERR_BAD_REQUEST},   {401, ERR_AUTH},
		{402, ERR_QUOTA},         {403, ERR_AUTH},
		{404, ERR_NOT_FOUND},     {405, ERR_BAD_REQUEST},
		{408, ERR_TIMEOUT},       {409, ERR_BAD_REQUEST},
		{410, ERR_NOT_FOUND},     {413, ERR_TOO_LARGE},
		{422, ERR_BAD_REQUEST},   {429, ERR_RATE_LIMITED},
		{499, ERR_BAD_REQUEST},   {500, ERR_SERVER},
		{501, ERR_SERVER},        {502, ERR_SERVER},
		{503, ERR_OVERLOADED},    {504, ERR_SERVER},
		{520, ERR_SERVER},        {529, ERR_OVERLOADED},
		{599, ERR_SERVER},        {600, ERR_MALFORMED},
		{-1, ERR_MALFORMED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum err_class got = err_class_from_status(cases[i].status);
		if (got != cases[i].want)
			fail_msg("status %d: got %s, want %s", cases[i].status,
				 err_class_name(got), err_class_name(cases[i].want));
	}
}

/* The report's names are the contract in workflow-format.md. */
static void class_names_and_retry(void **state)
{
	(void)state;
	static const struct {
		enum err_class c;
		const char *name;
		int retry;
	} cases[] = {
		{ERR_AUTH, "auth", 0},
		{ERR_BAD_REQUEST, "bad_request", 0},
		{ERR_NOT_FOUND, "not_found", 0},
		{ERR_RATE_LIMITED, "rate_limited", 1},
		{ERR_QUOTA, "quota", 0},
		{ERR_OVERLOADED, "overloaded", 1},
		{ERR_SERVER, "server", 1},
		{ERR_TIMEOUT, "timeout", 1},
		{ERR_CONNECTION, "connection", 1},
		{ERR_TRUNCATED, "truncated", 1},
		{ERR_MALFORMED, "malformed", 0},
		{ERR_CONTENT_FILTER, "content_filter", 0},
		{ERR_TOO_LARGE, "too_large", 0},
		{ERR_BUDGET, "budget", 0},
		{ERR_CANCELLED, "cancelled", 0},
		{ERR_NONE, "none", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(err_class_name(cases[i].c), cases[i].name);
		assert_int_equal(err_class_retryable(cases[i].c), cases[i].retry);
	}
	assert_string_equal(err_class_name((enum err_class)999), "unknown");
}

static void retry_after_seconds(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int64_t want;
	} cases[] = {
		{"120", 120000},
		{"0", 0},
		{"007", 7000},
		{" 7 ", 7000},
		{"\t3\r\n", 3000},
		{"1.5", 1500},
		{"2.250", 2250},
		{"0.0001", 1},      /* rounds up: never early */
		{"0.0010", 1},
		{"0.001", 1},
		{"1.9999", 2000},
		{"9223372036854774", INT64_C(9223372036854774000)},
		{"9223372036854775", -1},  /* would overflow in ms */
		{"99999999999999999999999", -1},
		{"", -1},
		{"   ", -1},
		{"-1", -1},
		{"+1", -1},
		{"1s", -1},
		{"1.", -1},
		{".5", -1},
		{"1 2", -1},
		{"1e3", -1},
		{"0x10", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = retry_after_parse(cases[i].v, 1000);
		if (got != cases[i].want)
			fail_msg("'%s': got %lld, want %lld", cases[i].v,
				 (long long)got, (long long)cases[i].want);
	}
	assert_int_equal(retry_after_parse(NULL, 1000), -1);
}

static void retry_after_dates(void **state)
{
	(void)state;
	/* 784111777 is Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example). */
	static const struct {
		const char *v;
		int64_t now;
		int64_t want;
	} cases[] = {
		{"Sun, 06 Nov 1994 08:49:37 GMT", 784111777, 0},
		{"Sun, 06 Nov 1994 08:50:37 GMT", 784111777, 60000},
		{"Sun, 06 Nov 1994 08:49:36 GMT", 784111777, 0},  /* past */
		{"Sunday, 06-Nov-94 08:49:47 GMT", 784111777, 10000},
		{"Sun Nov  6 08:49:57 1994", 784111777, 20000},
		{"Wed Nov 16 08:49:37 1994", 784111777, 10 * 86400 * 1000LL},
		{"Thu, 29 Feb 2024 00:00:00 GMT", 1709164800 - 5, 5000},
		{"Thu, 01 Jan 2026 00:00:00 GMT", 1735689600, 365 * 86400000LL},
		/* A two-digit year more than 50 years ahead is in the past. */
		{"Thursday, 01-Jan-26 00:00:00 GMT", 1735689600, 365 * 86400000LL},
		{"Friday, 01-Jan-99 00:00:00 GMT", 1735689600, 0},
		{"Sun, 06 Nov 1994 08:49:37 GMT  ", 784111777, 0},
		{"Sun, 06 Nov 1994 08:49:37 UTC", 784111777, -1},
		{"Sun, 06 Nov 1994 08:49:37", 784111777, -1},
		{"Sun, 6 Nov 1994 08:49:37 GMT", 784111777, -1},
		{"sun, 06 Nov 1994 08:49:37 GMT", 784111777, -1},
		{"Sun, 06 nov 1994 08:49:37 GMT", 784111777, -1},
		{"Sun, 31 Feb 1994 08:49:37 GMT", 784111777, -1},
		{"Sun, 29 Feb 2023 08:49:37 GMT", 784111777, -1},
		{"Sun, 06 Nov 1994 24:00:00 GMT", 784111777, -1},
		{"Sun, 06 Nov 1994 08:60:00 GMT", 784111777, -1},
		{"Sun, 06 Nov 1994 08:49:37 GMT x", 784111777, -1},
		{"Sun Nov 6 08:49:37 1994", 784111777, -1},
		{"Sun, 06-Nov-94 08:49:37 GMT", 784111777, -1},
		{"Tomorrow", 784111777, -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = retry_after_parse(cases[i].v, cases[i].now);
		if (got != cases[i].want)
			fail_msg("'%s': got %lld, want %lld", cases[i].v,
				 (long long)got, (long long)cases[i].want);
	}
}

static void result_lifecycle(void **state)
{
	(void)state;
	struct chat_result r;
	chat_result_init(&r, 5);
	assert_int_equal(r.err, ERR_NONE);
	assert_int_equal(r.input_tokens, -1);
	assert_int_equal(r.output_tokens, -1);
	assert_int_equal(r.retry_after_ms, -1);
	assert_int_equal(r.complete, 0);
	assert_string_equal(r.finish_reason, "");
	/* The cap cuts on a character boundary: "é" is two bytes. */
	assert_int_equal(chat_result_fail(&r, ERR_AUTH, "%s", "abcd\xc3\xa9"), -1);
	assert_int_equal(r.err, ERR_AUTH);
	assert_string_equal(buf_str(&r.err_msg), "abcd");
	chat_result_fail(&r, ERR_SERVER, "x%d", 1);
	assert_string_equal(buf_str(&r.err_msg), "x1");
	chat_result_release(&r);

	chat_result_init(&r, 0);
	chat_result_fail(&r, ERR_TIMEOUT, "no answer within %d ms", 30000);
	assert_string_equal(buf_str(&r.err_msg), "no answer within 30000 ms");
	chat_result_release(&r);
}

static void request_release(void **state)
{
	(void)state;
	struct http_req req = {0};
	buf_puts(&req.url, "https://example.com/v1/chat/completions");
	buf_puts(&req.body, "{}");
	req.headers[0] = q_strdup("Authorization: Bearer sk-secret");
	req.headers[1] = q_strdup("Content-Type: application/json");
	req.nheaders = 2;
	http_req_release(&req);
	assert_null(req.url.data);
	assert_null(req.body.data);
	assert_null(req.headers[0]);
	assert_int_equal(req.nheaders, 0);
	http_req_release(&req);  /* twice is harmless */
}

int test_errclass(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_classes),
		cmocka_unit_test(class_names_and_retry),
		cmocka_unit_test(retry_after_seconds),
		cmocka_unit_test(retry_after_dates),
		cmocka_unit_test(result_lifecycle),
		cmocka_unit_test(request_release),
	};
	return cmocka_run_group_tests_name("errclass", tests, NULL, NULL);
}
