/* common/: the pieces every room stands on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../common/arena.h"
#include "../../common/buf.h"
#include "../../common/duration.h"
#include "../../common/json.h"
#include "../../common/provfacts.h"
#include "../../common/qerr.h"
#include "../../common/regex.h"
#include "../../common/suggest.h"
#include "../../common/timer.h"

static void test_durations(void **state)
{
	(void)state;
	static const struct { const char *in; int64_t ms; } ok[] = {
		{"500ms", 500}, {"30s", 30000}, {"2m", 120000}, {"1h", 3600000},
		{"1.5s", 1500}, {"45", 45000}, {"0", 0}, {"0.25", 250},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ms = -1;
		assert_int_equal(duration_parse(ok[i].in, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	static const char *const bad[] = {"", "-1s", "5 sec", "1d", "s", "1e400", "ms", " 5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms;
		assert_int_equal(duration_parse(bad[i], &ms), -1);
	}
}

static void test_buf_cap_fails_cleanly(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "0123456789"), 0);
	assert_int_equal(buf_putc(&b, 'x'), -1);
	assert_true(b.overflow);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_puts(&b, "y"), -1); /* stays failed */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "ok"), 0);
	assert_string_equal(buf_str(&b), "ok");
	buf_release(&b);
}

static void test_buf_json_escaping(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_put_json_str(&b, "a\"b\\c\nd\x01");
	assert_string_equal(buf_str(&b), "\"a\\\"b\\\\c\\nd\\u0001\"");
	buf_reset(&b);
	/* Valid UTF-8 stays as it is; invalid bytes become U+FFFD. */
	buf_put_json_str(&b, "caf\xc3\xa9 \xff \xc3 \xed\xa0\x80 \xf0\x9f\x98\x80");
	assert_string_equal(buf_str(&b),
			    "\"caf\xc3\xa9 \\ufffd \\ufffd \\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80\"");
	buf_release(&b);
}

static void test_arena(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	char *s = arena_printf(a, "%s-%d", "x", 42);
	assert_string_equal(s, "x-42");
	void *big = arena_alloc(a, 1 << 20);
	assert_non_null(big);
	for (int i = 0; i < 10000; i++)
		assert_non_null(arena_alloc(a, 24));
	assert_string_equal(s, "x-42");
	arena_free(a);
	arena_free(NULL);
}

static void test_json_depth_bound(void **state)
{
	(void)state;
	char deep[2001];
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	deep[2000] = '\0';
	assert_null(json_parse(deep, 2000, 64));
	cJSON *j = json_parse("{\"a\": [1, {\"b\": \"[[[[\"}]} ", 26, 4);
	assert_non_null(j);
	cJSON_Delete(j);
	assert_null(json_parse("{} x", 4, 8));
}

/* A caller that answers a client tells "nested too deep" from "not JSON":
 * the two say different things to fix. */
static void test_json_parse_why(void **state)
{
	(void)state;
	enum json_fail why = JSON_FAIL_NONE;
	assert_null(json_parse_why("[[[1]]]", 7, 2, &why));
	assert_int_equal(why, JSON_FAIL_DEPTH);
	assert_null(json_parse_why("{nope", 5, 8, &why));
	assert_int_equal(why, JSON_FAIL_SYNTAX);
	assert_null(json_parse_why("{} x", 4, 8, &why));
	assert_int_equal(why, JSON_FAIL_SYNTAX);
	cJSON *j = json_parse_why("[[1]]", 5, 2, &why);
	assert_non_null(j);
	assert_int_equal(why, JSON_FAIL_NONE);
	cJSON_Delete(j);
	/* Brackets inside strings are not nesting. */
	j = json_parse_why("[\"[[[[\"]", 8, 1, &why);
	assert_non_null(j);
	cJSON_Delete(j);
	/* why may be NULL: json_parse is that. */
	assert_null(json_parse_why("[[1]]", 5, 1, NULL));
}

/* A string that writes \u0000 would end there in cJSON's C string; an
 * escaped backslash followed by the letters "u0000" is not one. */
static void test_json_has_nul(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int nul;
	} cases[] = {
		{"{\"q\": \"a\\u0000b\"}", 1},
		{"[\"\\u0000\"]", 1},
		{"\"\\\\\\u0000\"", 1},      /* \\ then \u0000 */
		{"{\"q\": \"a\\\\u0000b\"}", 0}, /* \\ then the letters u0000 */
		{"{\"q\": \"\\u00001\"}", 1},
		{"{\"q\": \"\\u0001\"}", 0},
		{"{\"q\": \"u0000\"}", 0},
		{"\"\\u000", 0},               /* cut short */
		{"\"\\", 0},
		{"", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (json_has_nul(cases[i].text, strlen(cases[i].text)) != cases[i].nul)
			fail_msg("case %zu: %s", i, cases[i].text);
	/* Only len bytes are read. */
	assert_false(json_has_nul("\"\\u0000\"", 5));
}

/* Scanners that match braces as text step over strings with this, so an
 * escaped quote must not end the string and an open one must run to len. */
static void test_json_skip_string(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t end;
	} rows[] = {
		{"\"\"", 1},
		{"\"abc\" x", 4},
		{"\"a\\\"b\"", 5},
		{"\"a\\\\\"b", 4},
		{"\"{[}\"", 4},
		{"\"open", 5},
		{"\"ends in \\", 10},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(json_skip_string(rows[i].s, 0, strlen(rows[i].s)), rows[i].end);
	/* Only the first len bytes count. */
	assert_int_equal(json_skip_string("\"ab\"", 0, 3), 3);
}

static void test_suggest(void **state)
{
	(void)state;
	static const char *const keys[] = {"temperature", "timeout", "retries", "max_tokens"};
	assert_string_equal(suggest_nearest("temprature", keys, 4), "temperature");
	assert_string_equal(suggest_nearest("retires", keys, 4), "retries");
	assert_null(suggest_nearest("banana", keys, 4));
	static const char *const models[] = {"gpt", "claude", "gemini"};
	assert_string_equal(suggest_nearest("gtp", models, 3), "gpt");
}

static void test_regex_pcre(void **state)
{
	(void)state;
	struct qerr e;
	struct regex *re = regex_compile("(?i)answer:\\s*(\\d+)", NULL, &e);
	assert_non_null(re);
	const char *s = "so ANSWER: 42.";
	size_t a, b;
	assert_int_equal(regex_search(re, s, strlen(s), 1, &a, &b), 1);
	assert_int_equal(b - a, 2);
	assert_memory_equal(s + a, "42", 2);
	regex_free(re);
	size_t off = 0;
	assert_null(regex_compile("(unclosed", &off, &e));
	assert_int_equal(off, 9);
	assert_non_null(strstr(e.msg, "offset 9"));
}

static int fired[8];
static void fire(void *ctx) { fired[(intptr_t)ctx]++; }

static void test_timer_heap_order(void **state)
{
	(void)state;
	struct timer_heap h;
	timer_heap_init(&h);
	struct timer_entry e[5];
	memset(e, 0, sizeof(e));
	int64_t when[5] = {50, 10, 40, 20, 30};
	for (int i = 0; i < 5; i++) {
		e[i].fire = fire;
		e[i].ctx = (void *)(intptr_t)i;
		timer_arm(&h, &e[i], when[i]);
	}
	assert_int_equal(timer_next(&h), 10);
	timer_disarm(&h, &e[3]);
	timer_arm(&h, &e[0], 5);
	assert_int_equal(timer_next(&h), 5);
	assert_int_equal(timer_run(&h, 35), 3); /* 5, 10, 30 */
	assert_int_equal(fired[0] + fired[1] + fired[4], 3);
	assert_int_equal(fired[3], 0);
	assert_int_equal(timer_next(&h), 40);
	timer_heap_release(&h);
}

static void test_alloc_failure_injection(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	q_alloc_fail_after(1);
	assert_int_equal(buf_puts(&b, "x"), -1);
	assert_int_equal(buf_puts(&b, "x"), -1); /* a failed buffer stays failed */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "x"), 0);
	buf_release(&b);
	q_alloc_fail_after(1);
	assert_null(arena_new());
}

/* The table of provider facts: one row a provider, the names in its
 * order, found by exact name only. */
static void test_provfacts(void **state)
{
	(void)state;
	for (size_t i = 0; i < PROV_COUNT; i++) {
		const struct provfacts *f = &provfacts[i];
		assert_ptr_equal(provfacts_names[i], f->name);
		assert_ptr_equal(provfacts_find(f->name), f);
		assert_int_equal(strncmp(f->base_url, "http", 4), 0);
		assert_true(*f->key_header);
		assert_non_null(f->key_env);
		assert_non_null(f->key_prefix);
	}
	assert_null(provfacts_names[PROV_COUNT]);
	assert_string_equal(provfacts[PROV_OLLAMA].key_env, "");
	assert_null(provfacts_find("OpenAI"));
	assert_null(provfacts_find(""));
	assert_null(provfacts_find(NULL));
}

/* What json_type_name calls each kind of value. */
static void test_json_type_name(void **state)
{
	(void)state;
	cJSON *v = cJSON_Parse("[\"s\", 1, {}, [], true, null]");
	assert_non_null(v);
	static const char *const want[] = {"a string", "a number", "an object", "an array",
					   "a boolean", "null"};
	for (int i = 0; i < 6; i++)
		assert_string_equal(json_type_name(cJSON_GetArrayItem(v, i)), want[i]);
	assert_string_equal(json_type_name(NULL), "missing");
	cJSON_Delete(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_buf_cap_fails_cleanly),
		cmocka_unit_test(test_buf_json_escaping),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_json_depth_bound),
		cmocka_unit_test(test_json_parse_why),
		cmocka_unit_test(test_json_has_nul),
		cmocka_unit_test(test_json_skip_string),
		cmocka_unit_test(test_json_type_name),
		cmocka_unit_test(test_provfacts),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_regex_pcre),
		cmocka_unit_test(test_timer_heap_order),
		cmocka_unit_test(test_alloc_failure_injection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
