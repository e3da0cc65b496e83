#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/judge.h"
#include "../../aggregators/rank.h"
#include "tests.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

struct rank_case {
	const char *reply;
	size_t n;
	int want;            /* n or -1 */
	size_t order[4];     /* shown positions, best first */
};

static const struct rank_case ranks[] = {
	/* llm-council's own format. */
	{"Response A provides good detail but misses the edge case.\n"
	 "Response B is accurate but shallow.\n"
	 "Response C is the most complete.\n\n"
	 "FINAL RANKING:\n1. Response C\n2. Response A\n3. Response B", 3, 3, {2, 0, 1}},
	/* Markdown, notes after the list, a closing remark. */
	{"**Evaluation**\n...\n\n**FINAL RANKING:**\n1. **Response B**\n"
	 "2. **Response C** (close second)\n3. **Response A**\n\nHope this helps!", 3, 3,
	 {1, 2, 0}},
	/* A numbered evaluation before the ranking does not count. */
	{"1. Response A: clear.\n2. Response B: wrong unit.\n3. Response C: thorough.\n\n"
	 "FINAL RANKING:\n1. Response C\n2. Response A\n3. Response B", 3, 3, {2, 0, 1}},
	/* Justification as a second numbered list after the ranking. */
	{"FINAL RANKING:\n1. Response B\n2. Response A\n\nWhy:\n1. Response B cites "
	 "sources.\n2. Response A does not.", 2, 2, {1, 0}},
	{"Final ranking: 1) Response D 2) Response A 3) Response C 4) Response B", 4, 4,
	 {3, 0, 2, 1}},
	{"FINAL RANKING:\nResponse B > Response C > Response A", 3, 3, {1, 2, 0}},
	{"FINAL RANKING:\n1. B\n2. A", 2, 2, {1, 0}},
	{"### FINAL RANKING:\n\n1. Response C\n\n2. Response A\n\n3. Response B\n", 3, 3,
	 {2, 0, 1}},
	{"Final Ranking\n- Response C\n- Response A\n- Response B", 3, 3, {2, 0, 1}},
	{"FINAL RANKING: C, A, B", 3, 3, {2, 0, 1}},
	/* No heading: the last numbered list. */
	{"Here is how they compare.\n1. Response A is first because...\n2. Response B\n\n"
	 "On reflection, my ranking:\n1. Response B\n2. Response A", 2, 2, {1, 0}},
	/* Abstentions. */
	{"FINAL RANKING:\n1. Response C\n2. Response A", 3, -1, {0}},
	{"FINAL RANKING:\n1. Response C\n2. Response C\n3. Response A", 3, -1, {0}},
	{"FINAL RANKING:\n1. Response A\n2. Response B\n3. Response D", 3, -1, {0}},
	{"FINAL RANKING:\n1. Response A\n2. Response B\n3. Response C\n4. Response A", 3,
	 -1, {0}},
	{"They are all equally good; I will not rank them.", 3, -1, {0}},
	{"", 2, -1, {0}},
};

static void test_rank_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(ranks); i++) {
		size_t order[4] = {9, 9, 9, 9};
		int got = rank_parse(ranks[i].reply, ranks[i].n, order);
		if (got != ranks[i].want)
			fail_msg("case %zu: got %d, want %d", i, got, ranks[i].want);
		if (got > 0 && memcmp(order, ranks[i].order, ranks[i].n * sizeof(size_t)))
			fail_msg("case %zu: wrong order %zu %zu %zu", i, order[0], order[1],
				 order[2]);
	}
	size_t order[2] = {7, 7};
	assert_int_equal(rank_parse("FINAL RANKING:\n1. Response A", 2, order), -1);
	assert_int_equal(order[0], 7);   /* untouched on failure */
	assert_int_equal(rank_parse(NULL, 2, order), -1);
}

struct borda_case {
	size_t nballots, n;
	size_t ballots[4 * 4];
	double points[4];
	size_t order[4];
};

static const struct borda_case bordas[] = {
	/* Clear winner. */
	{3, 3, {0, 1, 2, 0, 2, 1, 1, 0, 2}, {5, 3, 1}, {0, 1, 2}},
	/* All tie at 4 points: 2 has two first places, 0 and 1 one each, and
	 * between those the lower index goes first. */
	{4, 3, {2, 1, 0, 1, 0, 2, 0, 1, 2, 2, 0, 1}, {4, 4, 4}, {2, 0, 1}},
	/* Full tie, same firsts: lower index first. */
	{2, 2, {0, 1, 1, 0}, {1, 1}, {0, 1}},
	/* 1, 2 and 3 tie at 4 points; 1 and 3 have a first place, 2 none. */
	{3, 4, {1, 0, 3, 2, 0, 2, 1, 3, 3, 2, 0, 1}, {6, 4, 4, 4}, {0, 1, 3, 2}},
	/* One ballot. */
	{1, 4, {3, 1, 2, 0}, {0, 2, 1, 3}, {3, 1, 2, 0}},
	/* No ballots: everything ties at 0, index order. */
	{0, 3, {0}, {0, 0, 0}, {0, 1, 2}},
};

static void test_borda_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bordas); i++) {
		const struct borda_case *c = &bordas[i];
		double pts[4];
		size_t order[4];
		assert_int_equal(borda_merge(c->ballots, c->nballots, c->n, pts, order), 0);
		for (size_t k = 0; k < c->n; k++) {
			if (pts[k] != c->points[k])
				fail_msg("case %zu: candidate %zu has %g points, want %g", i, k,
					 pts[k], c->points[k]);
			if (order[k] != c->order[k])
				fail_msg("case %zu: rank %zu is %zu, want %zu", i, k, order[k],
					 c->order[k]);
		}
	}
}

static void test_borda_refuses_bad_ballots(void **state)
{
	(void)state;
	size_t order[3];
	const size_t dup[] = {0, 0, 1};
	const size_t range[] = {0, 1, 3};
	assert_int_equal(borda_merge(dup, 1, 3, NULL, order), -1);
	assert_int_equal(borda_merge(range, 1, 3, NULL, order), -1);
}

/* Shuffled ballots, mapped back through each member's permutation,
 * merge to the candidate every member put first. */
static void test_rank_end_to_end(void **state)
{
	(void)state;
	const char *texts[] = {"ok", "best", "worst"};
	size_t ballots[3 * 3];
	for (size_t m = 0; m < 3; m++) {
		size_t perm[3], shown[3];
		judge_shuffle(3, 77 + m, perm);
		/* The member ranks by content: "best" first, "worst" last. */
		char reply[128] = "FINAL RANKING:\n";
		const char *want[] = {"best", "ok", "worst"};
		for (size_t r = 0; r < 3; r++) {
			size_t k = 0;
			while (strcmp(texts[perm[k]], want[r]) != 0)
				k++;
			char line[32];
			snprintf(line, sizeof(line), "%zu. Response %c\n", r + 1, (char)('A' + k));
			strcat(reply, line);
		}
		assert_int_equal(rank_parse(reply, 3, shown), 3);
		for (size_t r = 0; r < 3; r++)
			ballots[m * 3 + r] = perm[shown[r]];
	}
	double pts[3];
	size_t order[3];
	assert_int_equal(borda_merge(ballots, 3, 3, pts, order), 0);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[2], 2);
	struct buf out = BUF_INIT;
	assert_int_equal(rank_format(&out, order, pts, 3, NULL), 0);
	assert_string_equal(buf_str(&out), "1. Response 2 (6 points)\n"
					   "2. Response 1 (3 points)\n"
					   "3. Response 3 (0 points)");
	buf_reset(&out);
	const char *labels[] = {"gpt", "claude", "local"};
	const double one[] = {1, 2, 0};
	assert_int_equal(rank_format(&out, order, one, 3, labels), 0);
	assert_string_equal(buf_str(&out), "1. claude (2 points)\n2. gpt (1 point)\n"
					   "3. local (0 points)");
	buf_release(&out);
}

static void test_rank_prompt(void **state)
{
	(void)state;
	const char *texts[] = {"first", "second"};
	const size_t perm[] = {1, 0};
	struct buf out = BUF_INIT;
	assert_int_equal(rank_build_prompt(&out, "Why?", "brevity", texts, perm, 2), 0);
	const char *s = buf_str(&out);
	assert_non_null(strstr(s, "Question: Why?"));
	assert_non_null(strstr(s, "Response A:\nsecond\n"));
	assert_non_null(strstr(s, "Response B:\nfirst\n"));
	assert_non_null(strstr(s, "Judge the responses on: brevity"));
	assert_non_null(strstr(s, "FINAL RANKING:"));
	assert_non_null(strstr(s, "1. Response C\n2. Response A\n3. Response B"));
	buf_release(&out);
}

int test_rank_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rank_parse_table),
		cmocka_unit_test(test_borda_table),
		cmocka_unit_test(test_borda_refuses_bad_ballots),
		cmocka_unit_test(test_rank_end_to_end),
		cmocka_unit_test(test_rank_prompt),
	};
	return cmocka_run_group_tests_name("rank", tests, NULL, NULL);
}
