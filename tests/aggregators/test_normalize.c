#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/extract.h"
#include "../../common/alloc.h"
#include "tests.h"

/* Two answers vote together when these forms are equal. */
struct row {
	const char *in;
	const char *want;
};

#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

static void check_rows(enum extract_mode mode, const struct row *rows, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		struct buf out = BUF_INIT;
		int rc = answer_normalize(rows[i].in, mode, &out);
		if (rc != 0 || strcmp(buf_str(&out), rows[i].want) != 0) {
			print_error("row %zu: '%s'\n  got rc %d '%s', want '%s'\n", i,
				    rows[i].in ? rows[i].in : "(null)", rc, buf_str(&out),
				    rows[i].want);
			bad++;
		}
		buf_release(&out);
	}
	assert_int_equal(bad, 0);
}

static void test_text(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"Paris", "paris"},
		{"  PARIS  ", "paris"},
		{"Paris.", "paris"},
		{"Paris!", "paris"},
		{"Paris...", "paris"},
		{"**Paris**", "paris"},
		{"*Paris*", "paris"},
		{"`paris`", "paris"},
		{"\"Paris\"", "paris"},
		{"'Paris'", "paris"},
		{"\xe2\x80\x9cParis\xe2\x80\x9d", "paris"},
		{"\xc2\xabParis\xc2\xbb", "paris"},
		{"(Paris)", "paris"},
		{"[Paris]", "paris"},
		{"(**\"Paris\"**).", "paris"},
		{"The   quick\n\tbrown  fox", "the quick brown fox"},
		{"no\xc2\xa0" "break", "no break"},
		{"3\xc2\xa0" "apples", "3 apples"},
		{"The answer is **Paris**", "the answer is paris"},
		{"(a) and (b)", "(a) and (b)"},
		{"f(x)", "f(x)"},
		{"-x", "-x"},
		{"#heading", "heading"},
		{"\xc3\x9c" "BER caf\xc3\xa9", "\xc3\x9c" "ber caf\xc3\xa9"},
		{"\xff\xfe ABC \xc3", "\xff\xfe abc \xc3"},
		{"U.S.", "u.s"},
		{"", ""},
		{"   ", ""},
		{"...", ""},
		{"**", ""},
		{NULL, ""},
	};
	check_rows(EX_WHOLE, rows, NROWS(rows));
	check_rows(EX_LAST_LINE, rows, NROWS(rows));
}

static void test_numbers(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"42", "42"},
		{"1,000", "1000"},
		{"1,000.00", "1000"},
		{"+3.50", "3.5"},
		{"3.0", "3"},
		{"3.", "3"},
		{"1e3", "1000"},
		{"1E3", "1000"},
		{"1e+2", "100"},
		{"0.1e1", "1"},
		{"1e-3", "0.001"},
		{"0.001", "0.001"},
		{"-2.50e-1", "-0.25"},
		{"-0", "0"},
		{"-0.0", "0"},
		{"+0e10", "0"},
		{"000", "0"},
		{"00042", "42"},
		{".5", "0.5"},
		{"100", "100"},
		{"1200", "1200"},
		{"$12", "12"},
		{"-$5.00", "-5"},
		{"$-5", "-5"},
		{"$1,234.50", "1234.5"},
		{"12\xe2\x82\xac", "12"},
		{"\xc2\xa3" "7", "7"},
		{"45%", "45"},
		{"10.0%", "10"},
		{"\xe2\x88\x92" "3", "-3"},
		{"**42**.", "42"},
		{"$42$", "42"},
		{"1e30", "1000000000000000000000000000000"},
		{"1e31", "1e31"},
		{"1e400", "1e400"},
		{"1.5e400", "1.5e400"},
		{"15e399", "1.5e400"},
		{"1e-30", "0.000000000000000000000000000001"},
		{"1e-35", "1e-35"},
		{"-1.25e-40", "-1.25e-40"},
		{"1e99999999999999999999999", "1e1000000000000000"},
		{"3.14159265358979323846264338327950288", "3.14159265358979323846264338327950288"},
		{"123456789012345678901234567890", "123456789012345678901234567890"},
		{"0.30000000000000004", "0.30000000000000004"},
		{"6/8", "3/4"},
		{"4/2", "2"},
		{"-0/5", "0"},
		{"-10/4", "-5/2"},
		{"100000000000000000000/0200000000000000000000",
		 "100000000000000000000/200000000000000000000"},
		{"1\xe2\x80\xaf" "234", "1234"},
		{"1\xc2\xa0" "000\xc2\xa0" "000", "1000000"},
		{"42 apples", "42 apples"},
		{"1,5", "1,5"},
		{"1,2345", "1,2345"},
		{"1.2.3", "1.2.3"},
		{"4-5", "4-5"},
	};
	check_rows(EX_NUMBER, rows, NROWS(rows));
	/* A whole answer that is only a number is compared as one. */
	check_rows(EX_WHOLE, rows, NROWS(rows));
}

static void test_choice(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"b", "B"},
		{"B", "B"},
		{"(c)", "C"},
		{"D.", "D"},
		{"**e**", "E"},
		{"[a]", "A"},
		{"none", "none"},
	};
	check_rows(EX_CHOICE, rows, NROWS(rows));
}

static void test_huge(void **state)
{
	(void)state;
	char *digits = q_malloc(10003);
	digits[0] = '0';
	digits[1] = '0';
	memset(digits + 2, '9', 10000);
	digits[10002] = '\0';
	struct buf out = BUF_INIT;
	assert_int_equal(answer_normalize(digits, EX_NUMBER, &out), 0);
	assert_int_equal(out.len, 10000);
	assert_memory_equal(out.data, digits + 2, 10000);
	buf_release(&out);
	q_free(digits);
}

static void test_out_full(void **state)
{
	(void)state;
	const char *ins[] = {"Paris", "1e20", "b", "-0.00000000001"};
	for (size_t i = 0; i < NROWS(ins); i++) {
		struct buf out;
		buf_init(&out, 2);
		assert_int_equal(buf_puts(&out, "xx"), 0);
		assert_int_equal(answer_normalize(ins[i], i == 2 ? EX_CHOICE : EX_NUMBER, &out), -1);
		buf_release(&out);
	}
}

int test_normalize_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_out_full),
	};
	return cmocka_run_group_tests_name("normalize", tests, NULL, NULL);
}
