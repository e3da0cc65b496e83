#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/pii.h"
#include "../../common/alloc.h"
#include "../../common/clock.h"
#include "tests.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

struct pii_case {
	const char *text;
	unsigned want;
};

static const struct pii_case positives[] = {
	{"Write to john.doe+quorum@example.co.uk about it.", PII_EMAIL},
	{"mail: a@b.io", PII_EMAIL},
	{"<ANNA_K@Mail.Example.org>", PII_EMAIL},
	{"Call +1 (415) 555-2671 tomorrow", PII_PHONE},
	{"London office +44 20 7946 0958.", PII_PHONE},
	{"Mon portable : +33 6 12 34 56 78", PII_PHONE},
	{"+4915123456789", PII_PHONE},
	{"(415) 555-2671", PII_PHONE},
	{"ring 415-555-2671 after five", PII_PHONE},
	{"415.555.2671", PII_PHONE},
	{"1 415 555 2671", PII_PHONE},
	{"1-800-555-0199", PII_PHONE},
	{"Büro 030 1234567", PII_PHONE},
	{"020 7946 0958", PII_PHONE},
	{"06 12 34 56 78", PII_PHONE},
	{"0049 30 1234567", PII_PHONE},
	{"my phone is 5551234", PII_PHONE},
	{"Tel: 4155552671", PII_PHONE},
	{"Card 4111 1111 1111 1111, exp 12/27", PII_CARD},
	{"4111111111111111", PII_CARD},
	{"MC 5500-0000-0000-0004", PII_CARD},
	{"amex 3782 822463 10005 please", PII_CARD},
	{"6011111111111117.", PII_CARD},
	{"IBAN DE89 3704 0044 0532 0130 00 (Commerzbank)", PII_IBAN},
	{"GB82 WEST 1234 5698 7654 32", PII_IBAN},
	{"FR14 2004 1010 0505 0001 3M02 606 is the account", PII_IBAN},
	{"NL91ABNA0417164300", PII_IBAN},
	{"ch93 0076 2011 6238 5295 7", PII_IBAN},
	{"Norway: NO9386011117947.", PII_IBAN},
	{"Refund jane@corp.com, card 4012 8888 8888 1881, phone +49 30 1234567, "
	 "IBAN BE68 5390 0754 7034",
	 PII_EMAIL | PII_CARD | PII_PHONE | PII_IBAN},
};

/* Numbers people write that are not personal data. */
static const struct pii_case negatives[] = {
	{"In 2024 sales grew 12%.", 0},
	{"Due on 2024-05-01 or 01.05.2024, at 10:30.", 0},
	{"It costs $1,299.99 (or 1 299 999 € wholesale).", 0},
	{"Upgrade from 1.2.3 to 10.4.12.", 0},
	{"Server at 192.168.100.200", 0},
	{"Order #123456789012 shipped.", 0},
	{"ISBN 978-3-16-148410-0", 0},
	{"555-1234 widgets in stock", 0},
	{"pi = 3.14159265358979", 0},
	{"coordinates 48.8566, 2.3522", 0},
	{"ZIP 94103, population 870000", 0},
	{"growth +5% and +12.5%", 0},
	{"ranges 1000-2000 and 3000-4000", 0},
	{"ssh to user@localhost or ping @handle", 0},
	{"math: a@b, x@y.1", 0},
	{"4111 1111 1111 1112 fails Luhn", 0},
	{"1234 5678 9012 3456", 0},
	{"DE89 3704 0044 0532 0130 01 has a wrong check digit", 0},
	{"GB82 WEST 1234 5698 7654 33", 0},
	{"DE89 3704 0044 0532 0130 is too short", 0},
	{"The ISO 13616 standard and RFC 5322.", 0},
	{"", 0},
};

static void check_table(const struct pii_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned got = pii_scan(t[i].text, strlen(t[i].text));
		if (got != t[i].want)
			fail_msg("\"%s\": got 0x%x, want 0x%x", t[i].text, got, t[i].want);
	}
}

static void test_positives(void **state)
{
	(void)state;
	check_table(positives, N(positives));
}

static void test_negatives(void **state)
{
	(void)state;
	check_table(negatives, N(negatives));
}

static void test_luhn(void **state)
{
	(void)state;
	assert_true(luhn_valid("4111111111111111", 16));
	assert_true(luhn_valid("4111 1111 1111 1111", 19));
	assert_true(luhn_valid("3782-822463-10005", 17));
	assert_true(luhn_valid("79927398713", 11));
	assert_false(luhn_valid("79927398710", 11));
	assert_false(luhn_valid("4111111111111112", 16));
	assert_false(luhn_valid("4111x11111111111", 16));
	assert_false(luhn_valid("0", 1));
	assert_false(luhn_valid("", 0));
}

static void test_iban(void **state)
{
	(void)state;
	static const char *const good[] = {
		"DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
		"FR14 2004 1010 0505 0001 3M02 606", "NL91ABNA0417164300",
		"MT84MALT011000012345MTLCAST001S", "be68 5390 0754 7034",
	};
	static const char *const bad[] = {
		"DE89 3704 0044 0532 0130 01",   /* check digits */
		"DE89 3704 0044 0532 0130 000",  /* length for DE */
		"GB82 WEST 1234 5698 7654 3",    /* length for GB */
		"XX00",                          /* too short */
		"DE89-3704-0044-0532-0130-00",   /* not an IBAN's separator */
		"8989 3704 0044 0532 0130 00",   /* no country */
	};
	for (size_t i = 0; i < N(good); i++)
		if (!iban_valid(good[i], strlen(good[i])))
			fail_msg("\"%s\" should be valid", good[i]);
	for (size_t i = 0; i < N(bad); i++)
		if (iban_valid(bad[i], strlen(bad[i])))
			fail_msg("\"%s\" should be invalid", bad[i]);
}

static void test_kinds(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(pii_kinds(PII_EMAIL | PII_CARD, out, sizeof(out)), "email, card");
	assert_string_equal(pii_kinds(0, out, sizeof(out)), "");
	assert_string_equal(pii_kinds(PII_PHONE | PII_IBAN, out, sizeof(out)), "phone, iban");
	assert_string_equal(pii_kinds(PII_EMAIL | PII_PHONE, out, 8), "email");
}

/* A megabyte of each shape a scanner could trip on takes about as long
 * as a megabyte of prose: no start position re-reads the whole rest. */
static void test_linear(void **state)
{
	(void)state;
	static const char *const units[] = {
		"1 ", "@a", "a@", "a.", "DE89 ", "+1 ", "4111 ", "(1", "0 0 ", "x@a.",
		"Lorem ipsum dolor sit amet. ",
	};
	const size_t size = 1 << 20;
	char *text = q_malloc(size + 1);
	assert_non_null(text);
	int64_t worst = 0;
	for (size_t u = 0; u < N(units); u++) {
		size_t ul = strlen(units[u]);
		for (size_t i = 0; i < size; i++)
			text[i] = units[u][i % ul];
		text[size] = '\0';
		int64_t t0 = clock_us();
		pii_scan(text, size);
		int64_t dt = clock_us() - t0;
		if (dt > worst)
			worst = dt;
	}
	q_free(text);
	/* Generous for sanitizer builds; a quadratic scan takes minutes. */
	assert_true(worst < 2 * 1000 * 1000);
}

int test_pii_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positives),
		cmocka_unit_test(test_negatives),
		cmocka_unit_test(test_luhn),
		cmocka_unit_test(test_iban),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_linear),
	};
	return cmocka_run_group_tests_name("pii", tests, NULL, NULL);
}
