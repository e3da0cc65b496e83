#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/vote.h"
#include "../../common/alloc.h"
#include "tests.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

/* A vote node as the loader would build it: no weights, min_agreement
 * 0.5, so tests start from the defaults a user gets. */
static struct wf_node vote_node(enum extract_mode mode)
{
	struct wf_node n;
	memset(&n, 0, sizeof(n));
	n.id = "vote";
	n.kind = NK_VOTE;
	n.extract.mode = mode;
	n.min_agreement = 0.5;
	return n;
}

static int setup(void **state)
{
	*state = arena_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	arena_free(*state);
	return 0;
}

static void test_majority(void **state)
{
	struct wf_node node = vote_node(EX_NUMBER);
	const struct vote_candidate c[] = {
		{"gpt", "6 * 7 = 42, so the answer is 42."},
		{"claude", "The answer is **42**."},
		{"local", "I believe it is 41."},
	};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "42");
	assert_int_equal(r.winner, 0);
	assert_int_equal(r.nvalid, 3);
	assert_true(r.agreement > 0.666 && r.agreement < 0.667);
	assert_true(r.confident);
	assert_int_equal(r.nbuckets, 2);
	assert_string_equal(r.buckets[0].key, "42");
	assert_int_equal(r.buckets[0].count, 2);
	assert_true(r.buckets[0].weight == 2.0);
	assert_string_equal(r.buckets[1].key, "41");
	assert_int_equal(r.buckets[1].first, 2);
}

/* Different spellings of one number are one answer; the output is the
 * first candidate's spelling. */
static void test_number_forms_agree(void **state)
{
	struct wf_node node = vote_node(EX_NUMBER);
	const struct vote_candidate c[] = {
		{"a", "It costs $1,000."},
		{"b", "Total: 1000.00"},
		{"c", "1e3"},
	};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "$1,000");
	assert_int_equal(r.nbuckets, 1);
	assert_true(r.agreement == 1.0);
	assert_true(r.confident);
}

static void test_weights(void **state)
{
	struct wf_node node = vote_node(EX_CHOICE);
	struct wf_weight w[] = {{"big", 3.0}};
	node.weights = w;
	node.nweights = N(w);
	const struct vote_candidate c[] = {
		{"small1", "Answer: B"},
		{"big", "Answer: A"},
		{"small2", "Answer: B"},
	};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "A");
	assert_int_equal(r.winner, 1);
	assert_true(r.agreement > 0.599 && r.agreement < 0.601);
	assert_true(r.confident);
	assert_true(r.buckets[0].weight == 3.0 && r.buckets[1].weight == 2.0);
}

/* A zero weight removes the voter: its answer and its share of the
 * denominator both go. */
static void test_zero_weight(void **state)
{
	struct wf_node node = vote_node(EX_WHOLE);
	struct wf_weight w[] = {{"muted", 0.0}};
	node.weights = w;
	node.nweights = N(w);
	const struct vote_candidate c[] = {
		{"muted", "X"},
		{"muted", "X"},
		{"voter", "Y"},
	};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "Y");
	assert_int_equal(r.nvalid, 1);
	assert_int_equal(r.nbuckets, 1);
	assert_true(r.agreement == 1.0);

	const struct vote_candidate only_muted[] = {{"muted", "X"}};
	assert_int_equal(vote_run(&node, only_muted, 1, *state, &r), 1);
	assert_int_equal(r.nvalid, 0);
}

/* Equal weight: the answer seen first wins, whatever the order of the
 * rest, and the vote is not confident. */
static void test_tie_break(void **state)
{
	struct wf_node node = vote_node(EX_CHOICE);
	const struct vote_candidate ab[] = {{"m1", "A"}, {"m2", "B"}};
	const struct vote_candidate ba[] = {{"m1", "B"}, {"m2", "A"}};
	struct vote_result r;
	for (int rep = 0; rep < 3; rep++) {
		assert_int_equal(vote_run(&node, ab, 2, *state, &r), 0);
		assert_string_equal(r.output, "A");
		assert_false(r.confident);
		assert_true(r.agreement == 0.5);
		assert_int_equal(vote_run(&node, ba, 2, *state, &r), 0);
		assert_string_equal(r.output, "B");
		assert_int_equal(r.winner, 0);
	}
	/* Two-two with the later answer gathering first: still the earlier. */
	const struct vote_candidate late[] = {
		{"m1", "5"}, {"m2", "6"}, {"m3", "6"}, {"m4", "5"}};
	node.extract.mode = EX_NUMBER;
	assert_int_equal(vote_run(&node, late, 4, *state, &r), 0);
	assert_string_equal(r.output, "5");
	assert_false(r.confident);
	assert_string_equal(r.buckets[1].key, "6");
}

/* 0.1 + 0.2 is not 0.3 in binary; a vote must still call it a tie. */
static void test_float_tie(void **state)
{
	struct wf_node node = vote_node(EX_WHOLE);
	struct wf_weight w[] = {{"a", 0.1}, {"b", 0.2}, {"c", 0.3}};
	node.weights = w;
	node.nweights = N(w);
	const struct vote_candidate c[] = {{"c", "Y"}, {"a", "X"}, {"b", "X"}};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "Y");
	assert_false(r.confident);
}

static void test_min_agreement(void **state)
{
	struct wf_node node = vote_node(EX_NUMBER);
	const struct vote_candidate c[] = {{"a", "1"}, {"b", "1"}, {"c", "2"}};
	struct vote_result r;
	node.min_agreement = 0.67;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "1");
	assert_false(r.confident);
	node.min_agreement = 0.66;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_true(r.confident);
	/* Exactly at the bar counts: 2 of 3 against 2/3. */
	node.min_agreement = 2.0 / 3.0;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_true(r.confident);
	node.min_agreement = 1.0;
	const struct vote_candidate same[] = {{"a", "7"}, {"b", "7.0"}};
	assert_int_equal(vote_run(&node, same, N(same), *state, &r), 0);
	assert_true(r.confident);
}

/* Failed calls (NULL text) and answers without a number still count as
 * voters that did not agree. */
static void test_no_answer(void **state)
{
	struct wf_node node = vote_node(EX_NUMBER);
	const struct vote_candidate c[] = {
		{"a", NULL}, {"b", "I cannot answer that."}, {"c", "It is 9."}};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "9");
	assert_int_equal(r.winner, 2);
	assert_int_equal(r.nvalid, 1);
	assert_true(r.agreement > 0.333 && r.agreement < 0.334);
	assert_false(r.confident);

	const struct vote_candidate none[] = {{"a", NULL}, {"b", "no idea"}, {"c", ""}};
	assert_int_equal(vote_run(&node, none, N(none), *state, &r), 1);
	assert_int_equal(r.nvalid, 0);
	assert_null(r.output);
	assert_int_equal(vote_run(&node, NULL, 0, *state, &r), 1);
}

/* whole: compared normalised, output the first winner's text as it came. */
static void test_whole_output_unchanged(void **state)
{
	struct wf_node node = vote_node(EX_WHOLE);
	const struct vote_candidate c[] = {
		{"a", "London"}, {"b", "  **Paris.**\n"}, {"c", "paris"}, {"d", "\"Paris\""}};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "  **Paris.**\n");
	assert_int_equal(r.winner, 1);
	assert_string_equal(r.buckets[0].answer, "**Paris.**");
	assert_string_equal(r.buckets[0].key, "paris");
	assert_int_equal(r.buckets[0].count, 3);
}

static void test_bucket_order(void **state)
{
	struct wf_node node = vote_node(EX_NUMBER);
	const struct vote_candidate c[] = {{"m", "1"}, {"m", "2"}, {"m", "2"},
					   {"m", "3"}, {"m", "3"}, {"m", "3"},
					   {"m", "4"}};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	const char *keys[] = {"3", "2", "1", "4"};
	const size_t counts[] = {3, 2, 1, 1}, firsts[] = {3, 1, 0, 6};
	assert_int_equal(r.nbuckets, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(r.buckets[i].key, keys[i]);
		assert_int_equal(r.buckets[i].count, counts[i]);
		assert_int_equal(r.buckets[i].first, firsts[i]);
	}
	assert_string_equal(r.output, "3");
	assert_int_equal(r.winner, 3);
}

static void test_json_and_regex(void **state)
{
	struct wf_node node = vote_node(EX_JSON);
	node.extract.field = "answer";
	const struct vote_candidate c[] = {
		{"a", "```json\n{\"answer\": \"Paris\"}\n```"},
		{"b", "{\"answer\": \"paris\", \"confidence\": 0.9}"},
		{"c", "{\"answer\": \"Lyon\"}"}};
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, N(c), *state, &r), 0);
	assert_string_equal(r.output, "Paris");
	assert_int_equal(r.buckets[0].count, 2);

	struct qerr e;
	node = vote_node(EX_REGEX);
	node.extract.re = regex_compile("FINAL: (\\w+)", NULL, &e);
	const struct vote_candidate d[] = {
		{"a", "FINAL: yes"}, {"b", "FINAL: Yes."}, {"c", "no marker"}};
	assert_int_equal(vote_run(&node, d, N(d), *state, &r), 0);
	assert_string_equal(r.output, "yes");
	assert_int_equal(r.nvalid, 2);
	regex_free(node.extract.re);
}

/* Many distinct answers: every one is its own bucket, the first wins. */
static void test_many_candidates(void **state)
{
	enum { NC = 3000 };
	struct wf_node node = vote_node(EX_WHOLE);
	static struct vote_candidate c[NC];
	static char texts[NC][16];
	for (size_t i = 0; i < NC; i++) {
		snprintf(texts[i], sizeof(texts[i]), "answer %zu", i % 1000);
		c[i].model = "m";
		c[i].text = texts[i];
	}
	struct vote_result r;
	assert_int_equal(vote_run(&node, c, NC, *state, &r), 0);
	assert_int_equal(r.nbuckets, 1000);
	assert_string_equal(r.output, "answer 0");
	assert_int_equal(r.buckets[999].first, 999);
	assert_int_equal(r.buckets[0].count, 3);
	assert_false(r.confident);
}

/* Memory running out at any allocation fails the vote cleanly (-1), and
 * the vote works again once memory is back. */
static void test_out_of_memory(void **state)
{
	(void)state;
	struct wf_node node = vote_node(EX_NUMBER);
	const struct vote_candidate c[] = {
		{"a", "It is 42."}, {"b", "42"}, {"c", "41"}, {"d", NULL}};
	int succeeded = 0;
	for (long k = 1; k < 200 && !succeeded; k++) {
		struct arena *a = arena_new();
		assert_non_null(a);
		struct vote_result r;
		q_alloc_fail_after(k);
		int rc = vote_run(&node, c, N(c), a, &r);
		q_alloc_fail_after(0);
		assert_true(rc == 0 || rc == -1);
		if (rc == 0) {
			assert_string_equal(r.output, "42");
			succeeded = 1;
		}
		arena_free(a);
	}
	assert_true(succeeded);
}

int test_vote_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_majority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_number_forms_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_weight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tie_break, setup, teardown),
		cmocka_unit_test_setup_teardown(test_float_tie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_min_agreement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_output_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bucket_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_and_regex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_candidates, setup, teardown),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests_name("vote", tests, NULL, NULL);
}
