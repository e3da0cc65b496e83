#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/extract.h"
#include "../../common/alloc.h"
#include "tests.h"

/* What users see in model outputs, and what a vote should take from it.
 * want NULL: no answer. */
struct row {
	const char *text;
	const char *want;
};

#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

static void check_rows(const struct extract_spec *spec, const struct row *rows, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		struct buf out = BUF_INIT;
		int rc = extract_apply(spec, rows[i].text, &out);
		int ok = rows[i].want ? rc == 1 && strcmp(buf_str(&out), rows[i].want) == 0
				      : rc == 0 && out.len == 0;
		if (!ok) {
			print_error("row %zu: %s\n  got rc %d '%s', want '%s'\n", i,
				    rows[i].text ? rows[i].text : "(null)", rc, buf_str(&out),
				    rows[i].want ? rows[i].want : "(none)");
			bad++;
		}
		buf_release(&out);
	}
	assert_int_equal(bad, 0);
}

static void run_mode(enum extract_mode mode, const struct row *rows, size_t n)
{
	struct extract_spec spec = {.mode = mode};
	check_rows(&spec, rows, n);
}

static void test_whole(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"Paris", "Paris"},
		{"  Paris  \n", "Paris"},
		{"The answer is 42.", "The answer is 42."},
		{"line one\nline two\n", "line one\nline two"},
		{"\t**Bold**\r\n", "**Bold**"},
		{"", NULL},
		{"   \n\t\r\n", NULL},
		{NULL, NULL},
	};
	run_mode(EX_WHOLE, rows, NROWS(rows));
}

static void test_last_line(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"Let me think.\nThe answer is 42.\n", "The answer is 42."},
		{"Reasoning...\n\n**Final answer: Paris**\n\n", "Final answer: Paris"},
		{"**Answer:** B", "Answer: B"},
		{"one\r\ntwo\r\n", "two"},
		{"# Heading\n## Result", "Result"},
		{"the answer\n---\n", "the answer"},
		{"Here:\n```\nprint(1)\n```\n", "print(1)"},
		{"Steps:\n- 42", "42"},
		{"> quoted answer", "quoted answer"},
		{"`x = 3`", "x = 3"},
		{"_Paris_", "Paris"},
		{"snake_case_name", "snake_case_name"},
		{"-3", "-3"},
		{"single", "single"},
		{"a\n\n\n   \n", "a"},
		{"   ", NULL},
		{"\n\n\n", NULL},
		{"```\n```", NULL},
		{"", NULL},
		{NULL, NULL},
	};
	run_mode(EX_LAST_LINE, rows, NROWS(rows));
}

static void test_number(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"The answer is 42.", "42"},
		{"42", "42"},
		{"So the answer is **42**.", "42"},
		{"The answer is **42**.", "42"},
		{"5 + 7 = 12, so the answer is 12", "12"},
		{"We have 1,234.5 apples", "1,234.5"},
		{"Answer: 12,345,678", "12,345,678"},
		{"It costs $12.", "$12"},
		{"A refund of -$5.00 was issued", "-$5.00"},
		{"Price: 12\xe2\x82\xac", "12\xe2\x82\xac"},
		{"about 45% of cases", "45%"},
		{"x = -3", "-3"},
		{"The temperature is \xe2\x88\x92" "3 degrees", "\xe2\x88\x92" "3"},
		{"(-4)", "-4"},
		{"tolerance 1e-3", "1e-3"},
		{"Avogadro: 6.022E23", "6.022E23"},
		{"It is 3.", "3"},
		{"Use .5 cups", ".5"},
		{"0.5", "0.5"},
		{"the list 1,2,3", "3"},
		{"between 5-10 items", "10"},
		{"GPT-4 thinks it's 7", "7"},
		{"Using gpt4 the result is 10", "10"},
		{"gpt4 says nothing", NULL},
		{"x2 and H2O and gpt-4o", NULL},
		{"H2O has 3 atoms", "3"},
		{"version 1.2.3 was used; total 15", "15"},
		{"Released in v2.0", NULL},
		{"server 192.168.0.1", NULL},
		{"It's 5km away", "5"},
		{"The 3rd one", "3"},
		{"The answer is $\\boxed{42}$. Check with 3 examples.", "42"},
		{"\\boxed{\\frac{1}{2}} hmm, no: \\boxed{7} is it, 8 tries", "7"},
		{"Natalia sold 48 clips.\n#### 72", "72"},
		{"#### Step 2\nThe total is 9", "9"},
		{"#### 1,000.", "1,000"},
		{"Huge: 1e400", "1e400"},
		{"The answer is 1/2", "1/2"},
		{"It's -3/4.", "-3/4"},
		{"Due 12/25/2024", NULL},
		{"1/0 is undefined", NULL},
		{"Population: 1\xc2\xa0" "000\xc2\xa0" "000 people", "1\xc2\xa0" "000\xc2\xa0" "000"},
		{"No numbers here", NULL},
		{"$", NULL},
		{"-", NULL},
		{"...", NULL},
		{"", NULL},
		{NULL, NULL},
	};
	run_mode(EX_NUMBER, rows, NROWS(rows));
}

static void test_choice(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"Answer: B", "B"},
		{"(c)", "c"},
		{"B.", "B"},
		{"the answer is C", "C"},
		{"**D**", "D"},
		{"A", "A"},
		{"[E]", "E"},
		{"The correct answer is (A) Paris.", "A"},
		{"I think the answer would be E", "E"},
		{"**Answer:** B", "B"},
		{"Answer: **(d)**", "d"},
		{"Final answer: c", "c"},
		{"The answer is: B) 4", "B"},
		{"Answer:\n\nD", "D"},
		{"The answer is option B.", "B"},
		{"Let's examine option A. Option A is wrong.\nThe answer is C.", "C"},
		{"The answer is B. On reflection, the answer is D.", "D"},
		{"Answer: A\n\nOption B is tempting, but no.", "A"},
		{"The answer is a bit tricky.\n\nB", "B"},
		{"$\\boxed{C}$", "C"},
		{"\\boxed{\\text{D}}", "D"},
		{"Correct option: C", "C"},
		{"The best choice is A.", "A"},
		{"B) London is the capital.", "B"},
		{"A is correct.", "A"},
		{"(c) is the right answer", "c"},
		{"Option A is incorrect. B is not correct. C is correct.", "C"},
		{"I'd go with B.", "B"},
		{"Between A and B, I choose B.", "B"},
		{"I would choose option (E).", "E"},
		{"Option (D)", "D"},
		{"$$\\boxed{\\textbf{(C)}}$$", "C"},
		{"So the answer is D.\n\nOption A could also work, but D is best.", "D"},
		{"A is not the answer", NULL},
		{"Optionally, a", NULL},
		{"Reasoning first.\n\n(b) 42\n\nBecause 6*7.", "b"},
		{"Option A is incorrect because it ignores friction.", NULL},
		{"A. Paris\nB. London\nC. Berlin", NULL},
		{"Answer choices: A) 1 B) 2", NULL},
		{"answers vary", NULL},
		{"Answer: 42", NULL},
		{"F", NULL},
		{"a bit", NULL},
		{"", NULL},
		{NULL, NULL},
	};
	run_mode(EX_CHOICE, rows, NROWS(rows));
}

static void run_json(const char *field, const struct row *rows, size_t n)
{
	struct extract_spec spec = {.mode = EX_JSON, .field = field};
	check_rows(&spec, rows, n);
}

static void test_json(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"{\"answer\": \"Paris\"}", "Paris"},
		{"Sure! Here it is:\n```json\n{\"answer\": 42}\n```", "42"},
		{"{\"answer\": 0.1}", "0.1"},
		{"{\"answer\": 3.0}", "3"},
		{"{\"answer\": -12.5}", "-12.5"},
		{"{\"answer\": true}", "true"},
		{"{\"answer\": false}", "false"},
		{"{\"answer\": [1, 2]}", "[1,2]"},
		{"{\"answer\": {\"x\": 1}}", "{\"x\":1}"},
		{"{\"Answer\": \"case\"}", "case"},
		{"{\"answer\": \"  padded  \"}", "padded"},
		{"{\"answer\": \"a } b\"}", "a } b"},
		{"Use {x} here. {\"answer\": \"ok\"}", "ok"},
		{"{\"thinking\": \"hmm\"} then {\"answer\": 1}", "1"},
		{"Example: {\"answer\": \"no\"}\n```json\n{\"answer\": \"yes\"}\n```", "yes"},
		{"```JSON\n{\"answer\": \"upper fence\"}\n```", "upper fence"},
		{"{\"answer\": null}", NULL},
		{"{\"answer\": \"\"}", NULL},
		{"{\"answer\": 1e400}", NULL},
		{"{\"other\": 1}", NULL},
		{"{answer: 1}", NULL},
		{"[{\"answer\": 5}]", "5"},
		{"no json here", NULL},
		{"{", NULL},
		{"", NULL},
		{NULL, NULL},
	};
	run_json("answer", rows, NROWS(rows));

	static const struct row dotted[] = {
		{"{\"result\": {\"value\": \"x\"}}", "x"},
		{"{\"result.value\": 5}", "5"},
		{"{\"result\": {\"other\": 1}}", NULL},
		{"{\"result\": 3}", NULL},
	};
	run_json("result.value", dotted, NROWS(dotted));

	static const struct row indexed[] = {
		{"{\"items\": [\"a\", \"b\"]}", "b"},
		{"{\"items\": [\"a\"]}", NULL},
	};
	run_json("items.1", indexed, NROWS(indexed));
}

static void test_regex(void **state)
{
	(void)state;
	struct qerr e;
	struct extract_spec spec = {.mode = EX_REGEX};

	spec.re = regex_compile("(?i)answer:\\s*(\\d+)", NULL, &e);
	assert_non_null(spec.re);
	static const struct row rows[] = {
		{"ANSWER: 17", "17"},
		{"answer:3 and later answer: 4", "3"},
		{"no match", NULL},
		{"\xff\xfe answer: 9 \xc3", "9"},
		{"", NULL},
		{NULL, NULL},
	};
	check_rows(&spec, rows, NROWS(rows));
	regex_free(spec.re);

	spec.re = regex_compile("(x)?y", NULL, &e);
	static const struct row optional[] = {{"y", NULL}, {"xy", "x"}};
	check_rows(&spec, optional, NROWS(optional));
	regex_free(spec.re);

	spec.re = regex_compile("\\d+", NULL, &e);
	static const struct row nogroup[] = {{"abc 12 34", "12"}};
	check_rows(&spec, nogroup, NROWS(nogroup));
	regex_free(spec.re);

	spec.re = regex_compile("\\(([^)]*)\\)", NULL, &e);
	static const struct row trimmed[] = {{"value ( 5 )", "5"}, {"()", NULL}};
	check_rows(&spec, trimmed, NROWS(trimmed));
	regex_free(spec.re);

	/* A pattern that backtracks past the limit finds nothing, quickly. */
	spec.re = regex_compile("(a+)+b", NULL, &e);
	char *as = q_malloc(4001);
	memset(as, 'a', 4000);
	as[4000] = '\0';
	struct buf out = BUF_INIT;
	assert_int_equal(extract_apply(&spec, as, &out), 0);
	buf_release(&out);
	q_free(as);
	regex_free(spec.re);

	spec.re = NULL;
	check_rows(&spec, (const struct row[]){{"anything", NULL}}, 1);
}

/* Hostile or broken texts: every mode answers 0 or 1, never crashes. */
static char *repeat(const char *unit, size_t times)
{
	size_t n = strlen(unit);
	char *s = q_malloc(n * times + 1);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * n, unit, n);
	s[n * times] = '\0';
	return s;
}

static void test_hostile_inputs(void **state)
{
	(void)state;
	struct qerr e;
	struct regex *re = regex_compile("(\\d+)", NULL, &e);
	struct extract_spec specs[] = {
		{.mode = EX_WHOLE}, {.mode = EX_LAST_LINE}, {.mode = EX_NUMBER},
		{.mode = EX_CHOICE}, {.mode = EX_JSON, .field = "a.b"},
		{.mode = EX_REGEX, .re = re},
	};
	char *texts[] = {
		repeat("9", 10000), repeat("{", 200000), repeat("{\"a\":", 5000),
		repeat("\\boxed{", 50000), repeat("####", 50000), repeat("```json\n{", 20000),
		repeat("\xff\xfe\xc3", 1000), repeat("answer is ", 20000),
		repeat("1,", 50000), repeat("-", 100000), repeat("\n", 100000),
		repeat("e", 100000), repeat("1e99999999999999999999999 ", 100),
	};
	for (size_t t = 0; t < NROWS(texts); t++) {
		for (size_t m = 0; m < NROWS(specs); m++) {
			struct buf out = BUF_INIT;
			int rc = extract_apply(&specs[m], texts[t], &out);
			assert_true(rc == 0 || rc == 1);
			buf_release(&out);
		}
		q_free(texts[t]);
	}
	regex_free(re);

	/* The 10,000-digit number comes back whole. */
	char *big = repeat("7", 10000);
	struct buf out = BUF_INIT;
	assert_int_equal(extract_apply(&specs[2], big, &out), 1);
	assert_int_equal(out.len, 10000);
	buf_release(&out);
	q_free(big);
}

/* Texts stitched at random from the pieces the finders react to: every
 * mode answers 0 or 1, and normalising is idempotent, so a key never
 * depends on how many times it went through. Fixed seed: reproducible. */
static void test_random_texts(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"answer", " is ", ": ", "(", ")", "B", "c", "E", "\\boxed{", "\\text{",
		"{", "}", "\"a\":", "\"b\"", "```json\n", "```", "1,234", "0", "42",
		".", "e", "-", "+", "$", "%", "/", "\xe2\x88\x92", "\xc2\xa0",
		"\xe2\x82\xac", "\n", "**", "####", "\xff", "\xc3", " ", "option",
		"choose", "correct", "_", "`", "\"", "'", "#", "[", "]", "9", "e-"};
	struct qerr e;
	struct regex *re = regex_compile("([0-9]+|[a-e])", NULL, &e);
	struct extract_spec specs[] = {
		{.mode = EX_WHOLE}, {.mode = EX_LAST_LINE}, {.mode = EX_NUMBER},
		{.mode = EX_CHOICE}, {.mode = EX_JSON, .field = "a"},
		{.mode = EX_REGEX, .re = re},
	};
	unsigned long seed = 12345;
	struct buf text = BUF_INIT, ans = BUF_INIT, k1 = BUF_INIT, k2 = BUF_INIT;
	for (int iter = 0; iter < 3000; iter++) {
		buf_reset(&text);
		size_t n = (size_t)(iter % 40);
		for (size_t p = 0; p < n; p++) {
			seed = seed * 6364136223846793005u + 1442695040888963407u;
			assert_int_equal(buf_puts(&text, pieces[(seed >> 33) % NROWS(pieces)]), 0);
		}
		for (size_t m = 0; m < NROWS(specs); m++) {
			buf_reset(&ans);
			buf_reset(&k1);
			buf_reset(&k2);
			int rc = extract_apply(&specs[m], buf_str(&text), &ans);
			assert_true(rc == 0 || rc == 1);
			assert_int_equal(answer_normalize(buf_str(&ans), specs[m].mode, &k1), 0);
			assert_int_equal(answer_normalize(buf_str(&k1), specs[m].mode, &k2), 0);
			if (strcmp(buf_str(&k1), buf_str(&k2)) != 0)
				fail_msg("not idempotent: '%s' -> '%s' -> '%s'", buf_str(&ans),
					 buf_str(&k1), buf_str(&k2));
		}
	}
	buf_release(&text);
	buf_release(&ans);
	buf_release(&k1);
	buf_release(&k2);
	regex_free(re);
}

/* An output buffer at its cap is an error (-1), not a truncated answer. */
static void test_out_full(void **state)
{
	(void)state;
	struct extract_spec modes[] = {
		{.mode = EX_WHOLE}, {.mode = EX_LAST_LINE}, {.mode = EX_NUMBER},
		{.mode = EX_CHOICE}, {.mode = EX_JSON, .field = "a"},
	};
	const char *texts[] = {"a long enough answer", "x\na long enough last line",
			       "the total is 123456789", "Answer: B",
			       "{\"a\": \"a long enough value\"}"};
	for (size_t m = 0; m < NROWS(modes); m++) {
		struct buf out;
		buf_init(&out, 4);
		assert_true(buf_puts(&out, "xxxx") == 0);
		assert_int_equal(extract_apply(&modes[m], texts[m], &out), -1);
		buf_release(&out);
	}
}

int test_extract_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_last_line),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_hostile_inputs),
		cmocka_unit_test(test_random_texts),
		cmocka_unit_test(test_out_full),
	};
	return cmocka_run_group_tests_name("extract", tests, NULL, NULL);
}
