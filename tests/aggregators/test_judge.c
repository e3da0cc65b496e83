#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/judge.h"
#include "tests.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

struct verdict_case {
	const char *reply;
	size_t n;
	int want;   /* 0-based shown position, -1 none */
};

/* Replies the way judges really write them. */
static const struct verdict_case verdicts[] = {
	{"[[B]]", 3, 1},
	{"[[2]]", 3, 1},
	{"2", 3, 1},
	{"B", 3, 1},
	{"b", 3, 1},
	{"**C**", 3, 2},
	{"Response C.", 3, 2},
	{"[[Response A]]", 3, 0},
	{"Answer: B", 3, 1},
	{"Final answer: **C**", 4, 2},
	{"Response B is the best.", 3, 1},
	{"The best response is B.", 3, 1},
	{"The best answer is Response 3, since it cites its sources.", 3, 2},
	{"After weighing accuracy and depth, I choose Response A.", 3, 0},
	{"My verdict: Response D", 4, 3},
	{"Winner: B", 2, 1},
	{"{\"best\": \"B\"}", 3, 1},
	{"{\"choice\": 2}", 3, 1},
	{"{\"winner\": \"Response B\", \"reason\": \"more complete\"}", 3, 1},
	{"Here is my decision:\n```json\n{\"best\": \"C\", \"why\": \"accurate\"}\n```", 3, 2},
	{"```json\n{\"verdict\": \"[[A]]\"}\n```", 2, 0},
	/* Reasoning first: the conclusion counts, not the praise before it. */
	{"Response A is good but misses the edge case. Response B is verbose. Response C "
	 "handles everything.\n\nFinal verdict: [[C]]", 3, 2},
	{"Response A is better than Response B in tone, but Response C is the best "
	 "overall.", 3, 2},
	{"Response A explains Rayleigh scattering clearly. Response B confuses it with "
	 "reflection.\n\nI'd pick A, although... no: after checking the numbers, the "
	 "best response is B.", 2, 1},
	{"Both are close. A is clear; B is thorough.\n\n[[B]]\n\nB covers the edge case.", 2, 1},
	{"The echo of the format: \"[[A]]\" if Response A is best. My verdict: [[C]]", 3, 2},
	/* The question's own answer is not a pick. */
	{"Response A says the answer is 42, which is right. Response B says 41.\n\n"
	 "Final verdict: [[A]]", 2, 0},
	{"All responses say the answer is 42. The best response is A.", 3, 0},
	{"The most accurate is C", 3, 2},
	{"Based on the criteria, Response B stands out as the best.", 3, 1},
	{"I think response b is better.", 3, 1},
	{"My final verdict is [[ B ]].", 3, 1},
	{"Verdict: **[[C]]**", 3, 2},
	{"{\"analysis\": \"...\", \"best_response\": \"C\"}", 3, 2},
	{"A) Response A is too short.\nB) Response B is detailed.\n\nFinal: B", 3, 1},
	{"Between A and B, I prefer A; however C is clearly the best overall.", 3, 2},
	/* Out of range. */
	{"[[D]]", 3, -1},
	{"[[4]]", 3, -1},
	{"{\"best\": 5}", 3, -1},
	{"Response E is the best.", 4, -1},
	/* Garbage and refusals. */
	{"", 3, -1},
	{"I cannot decide; they are all equally good.", 3, -1},
	{"Response A is good. Response B is not the best.", 2, -1},
	{"The answer is a bit longer in B.", 3, -1},
	{"[[rating]]", 3, -1},
	{"{\"reason\": \"all fine\"}", 3, -1},
	/* Beyond 26 candidates the labels go on as AA, AB. */
	{"[[AB]]", 30, 27},
};

static void test_verdict_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(verdicts); i++) {
		int got = judge_parse_verdict(verdicts[i].reply, verdicts[i].n);
		if (got != verdicts[i].want)
			fail_msg("case %zu \"%s\": got %d, want %d", i, verdicts[i].reply, got,
				 verdicts[i].want);
	}
	assert_int_equal(judge_parse_verdict(NULL, 3), -1);
	/* The retry note's own example is a readable verdict. */
	assert_int_equal(judge_parse_verdict(strstr(judge_retry_note, "[[A]]"), 3), 0);
	assert_int_equal(judge_parse_verdict("[[A]]", 0), -1);
}

struct score_case {
	const char *reply;
	double want;
};

static const struct score_case scores[] = {
	{"Rating: [[7]]", 7},
	{"The answer is accurate and concise.\n\nRating: [[9]]", 9},
	{"[[8.5]]", 8.5},
	{"7/10", 7},
	{"I'd give it 6 / 10.", 6},
	{"Score: 8.5", 8.5},
	{"Overall rating - 4", 4},
	{"85/100", 8.5},
	{"8 out of 10", 8},
	{"{\"score\": 7}", 7},
	{"```json\n{\"rating\": \"6\"}\n```", 6},
	{"3", 3},
	{"**10**", 10},
	{"It got 3/10 of the facts wrong... on balance Rating: [[6]]", 6},
	{"Rating: [[11]]", -1},
	{"Score: 85", -1},
	{"No rating possible.", -1},
	{"", -1},
};

static void test_score_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(scores); i++) {
		double got = judge_parse_score(scores[i].reply);
		if (got < scores[i].want - 1e-9 || got > scores[i].want + 1e-9)
			fail_msg("case %zu \"%s\": got %g, want %g", i, scores[i].reply, got,
				 scores[i].want);
	}
}

static int is_permutation(const size_t *p, size_t n)
{
	unsigned char seen[64] = {0};
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= n || seen[p[i]]++)
			return 0;
	}
	return 1;
}

static void test_shuffle(void **state)
{
	(void)state;
	size_t a[8], b[8];
	size_t distinct = 0;
	size_t first[10][8];
	for (uint64_t seed = 0; seed < 10; seed++) {
		judge_shuffle(8, seed, a);
		assert_true(is_permutation(a, 8));
		judge_shuffle(8, seed, b);
		assert_memory_equal(a, b, sizeof(a));  /* stable for a seed */
		int seen = 0;
		for (uint64_t k = 0; k < seed; k++)
			seen |= memcmp(first[k], a, sizeof(a)) == 0;
		distinct += !seen;
		memcpy(first[seed], a, sizeof(a));
	}
	/* Ten judges, ten orders (8! of them to draw from). */
	assert_int_equal(distinct, 10);
	/* Known values: the permutation a seed gives is part of the contract
	 * (a rerun shows the judges what they saw before). */
	judge_shuffle(5, 42, a);
	judge_shuffle(5, 42, b);
	assert_memory_equal(a, b, 5 * sizeof(size_t));
	judge_shuffle(1, 7, a);
	assert_int_equal(a[0], 0);
	judge_shuffle(0, 7, a);
}

/* Over many seeds each candidate lands in each position about equally:
 * no position is favoured by construction. */
static void test_shuffle_uniform(void **state)
{
	(void)state;
	size_t count[4][4] = {{0}}, p[4];
	for (uint64_t seed = 0; seed < 4000; seed++) {
		judge_shuffle(4, seed, p);
		for (size_t k = 0; k < 4; k++)
			count[p[k]][k]++;
	}
	for (size_t c = 0; c < 4; c++)
		for (size_t k = 0; k < 4; k++)
			assert_true(count[c][k] > 850 && count[c][k] < 1150);
}

static void test_prompt(void **state)
{
	(void)state;
	const char *texts[] = {"Paris.", "Lyon.", "Marseille."};
	size_t perm[] = {2, 0, 1};
	struct buf sys = BUF_INIT, user = BUF_INIT;
	assert_int_equal(judge_build_prompt(&sys, &user, "Capital of France?", NULL, texts,
					    perm, 3), 0);
	const char *s = buf_str(&sys), *u = buf_str(&user);
	assert_non_null(strstr(s, "impartial judge"));
	assert_non_null(strstr(s, "Avoid any position biases"));
	assert_non_null(strstr(s, judge_default_criteria));
	assert_non_null(strstr(s, "\"[[A]]\" if Response A is best"));
	assert_non_null(strstr(s, "and \"[[C]]\" if Response C is best"));
	assert_string_equal(u, "[User Question]\nCapital of France?\n\n"
			       "[The Start of Response A]\nMarseille.\n[The End of Response A]\n\n"
			       "[The Start of Response B]\nParis.\n[The End of Response B]\n\n"
			       "[The Start of Response C]\nLyon.\n[The End of Response C]");
	buf_release(&sys);
	buf_release(&user);

	/* Criteria replace the default; many candidates are summarised. */
	const char *many[6] = {"a", "b", "c", "d", "e", "f"};
	size_t id[6] = {0, 1, 2, 3, 4, 5};
	assert_int_equal(judge_build_prompt(&sys, &user, "q", "factual accuracy only", many,
					    id, 6), 0);
	assert_non_null(strstr(buf_str(&sys), "consider factual accuracy only."));
	assert_null(strstr(buf_str(&sys), judge_default_criteria));
	assert_non_null(strstr(buf_str(&sys), "so on up to \"[[F]]\""));
	buf_release(&sys);
	buf_release(&user);
	assert_int_equal(judge_build_prompt(&sys, &user, "q", NULL, many, id, 0), -1);
	buf_release(&sys);
	buf_release(&user);
}

/* A scripted judge: reads its prompt like a model would, finds the one
 * response that is right, and answers in its own style with the label it
 * was shown. */
static const char *scripted_judge(const char *user, size_t style, char *out, size_t n)
{
	const char *hit = strstr(user, "Rayleigh");
	const char *start = hit;
	while (start > user && strncmp(start, "[The Start of Response ", 23) != 0)
		start--;
	char label = start[23];
	static const char *const fmt[] = {
		"Response %c is the most accurate.\n\nFinal verdict: [[%c]]",
		"{\"best\": \"%c\"}%c",
		"After comparing all of them, the best response is %c.%c",
	};
	snprintf(out, n, fmt[style % 3], label, style % 3 == 0 ? label : ' ');
	return out;
}

/* The best candidate is listed last; a panel of three judges, each shown
 * its own order (seeds 0, 1, 2: the first judge also sees it last), still
 * picks it. */
static void test_panel_picks_best_listed_last(void **state)
{
	(void)state;
	const char *texts[] = {"The sky reflects the ocean.", "Blue paint in the air.",
			       "Dust makes it blue.",
			       "Rayleigh scattering: shorter wavelengths scatter more."};
	const size_t n = N(texts), best = n - 1;
	int picks[3];
	size_t shown_at[3];
	for (size_t j = 0; j < 3; j++) {
		size_t perm[4];
		judge_shuffle(n, j, perm);
		struct buf sys = BUF_INIT, user = BUF_INIT;
		assert_int_equal(judge_build_prompt(&sys, &user, "Why is the sky blue?", NULL,
						    texts, perm, n), 0);
		char reply[256];
		scripted_judge(buf_str(&user), j, reply, sizeof(reply));
		int pos = judge_parse_verdict(reply, n);
		assert_true(pos >= 0);
		picks[j] = (int)perm[pos];
		shown_at[j] = (size_t)pos;
		buf_release(&sys);
		buf_release(&user);
	}
	size_t votes[4];
	assert_int_equal(judge_tally(picks, 3, n, votes), (int)best);
	assert_int_equal(votes[best], 3);
	/* Shown last to one judge, elsewhere to another. */
	assert_int_equal(shown_at[0], n - 1);
	assert_false(shown_at[0] == shown_at[1] && shown_at[1] == shown_at[2]);
}

static void test_tally(void **state)
{
	(void)state;
	size_t votes[3];
	const int split[] = {2, 1, -1, 1, 2};
	assert_int_equal(judge_tally(split, 5, 3, votes), 1);  /* tie: lower index */
	assert_int_equal(votes[0], 0);
	assert_int_equal(votes[1], 2);
	assert_int_equal(votes[2], 2);
	const int none[] = {-1, -1};
	assert_int_equal(judge_tally(none, 2, 3, NULL), -1);
	const int one[] = {-1, 2, 7};
	assert_int_equal(judge_tally(one, 3, 3, votes), 2);   /* 7 is out of range */
}

int test_judge_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_table),
		cmocka_unit_test(test_score_table),
		cmocka_unit_test(test_shuffle),
		cmocka_unit_test(test_shuffle_uniform),
		cmocka_unit_test(test_prompt),
		cmocka_unit_test(test_panel_picks_best_listed_last),
		cmocka_unit_test(test_tally),
	};
	return cmocka_run_group_tests_name("judge", tests, NULL, NULL);
}
