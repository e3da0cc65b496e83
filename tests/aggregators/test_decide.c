#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/decide.h"
#include "tests.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

struct decide_case {
	const char *what;
	const char *done[5][2];      /* model, text */
	size_t ndone;
	const char *pending[4];
	size_t npending;
	int weighted;                /* gpt 2, claude 0.5, off 0 */
	int want;
};

static const struct decide_case cases[] = {
	{"3 of 5 agree, 2 pending: 3 > 0 + 2", {{"a", "42"}, {"b", "42"}, {"c", "42"}}, 3,
	 {"d", "e"}, 2, 0, 1},
	{"2 of 5 agree, 3 pending: they could all say 41", {{"a", "42"}, {"b", "42"}}, 2,
	 {"c", "d", "e"}, 3, 0, 0},
	{"2-1 with 1 pending: a tie is possible", {{"a", "42"}, {"b", "42"}, {"c", "41"}}, 3,
	 {"d"}, 1, 0, 0},
	{"3-1 with 1 pending: 3 > 1 + 1", {{"a", "42"}, {"b", "42"}, {"c", "42"}, {"d", "41"}},
	 4, {"e"}, 1, 0, 1},
	{"2-0 with 2 pending: a tie 2-2 is possible", {{"a", "42"}, {"b", "42"}}, 2,
	 {"c", "d"}, 2, 0, 0},
	{"failed calls do not vote", {{"a", "42"}, {"b", NULL}, {"c", "42"}}, 3, {"d"}, 1, 0,
	 1},
	{"nothing answered yet", {{"a", NULL}}, 1, {"b", "c"}, 2, 0, 0},
	{"nothing done, nothing pending", {{NULL, NULL}}, 0, {NULL}, 0, 0, 1},
	{"weights: gpt 2 + a 1 = 3 > 1 + claude 0.5 + b 1",
	 {{"gpt", "42"}, {"a", "42"}, {"c", "41"}}, 3, {"claude", "b"}, 2, 1, 1},
	{"weights: 3 is not > 1 + 0.5 + 1 + 1",
	 {{"gpt", "42"}, {"a", "42"}, {"c", "41"}}, 3, {"claude", "b", "d"}, 3, 1, 0},
	{"weights: 3 > 0.5 + 0.5 + 1", {{"gpt", "42"}, {"a", "42"}}, 2,
	 {"claude", "claude", "b"}, 3, 1, 1},
	{"weights: a pending model with weight 0 cannot change anything",
	 {{"gpt", "42"}, {"a", "41"}}, 2, {"off", "off"}, 2, 1, 1},
	{"weights: a heavy pending model can", {{"a", "42"}, {"b", "42"}}, 2, {"gpt"}, 1, 1,
	 0},
};

static void test_decided_table(void **state)
{
	(void)state;
	struct wf_weight w[] = {{"gpt", 2}, {"claude", 0.5}, {"off", 0}};
	for (size_t i = 0; i < N(cases); i++) {
		const struct decide_case *c = &cases[i];
		struct wf_node node;
		memset(&node, 0, sizeof(node));
		node.kind = NK_VOTE;
		node.extract.mode = EX_NUMBER;
		node.min_agreement = 0.5;
		node.stop_when_decided = 1;
		if (c->weighted) {
			node.weights = w;
			node.nweights = N(w);
		}
		struct vote_candidate done[5];
		for (size_t k = 0; k < c->ndone; k++)
			done[k] = (struct vote_candidate){c->done[k][0], c->done[k][1]};
		int got = vote_decided(&node, done, c->ndone, c->pending, c->npending);
		if (got != c->want)
			fail_msg("%s: got %d, want %d", c->what, got, c->want);
	}
}

/* Weights that sum inexactly (0.1 + 0.2 vs 0.3) tie as vote.c says, so
 * an exact tie in intent is not "decided". */
static void test_decided_float_tie(void **state)
{
	(void)state;
	struct wf_weight w[] = {{"x", 0.1}, {"y", 0.2}, {"z", 0.3}};
	struct wf_node node;
	memset(&node, 0, sizeof(node));
	node.kind = NK_VOTE;
	node.extract.mode = EX_WHOLE;
	node.weights = w;
	node.nweights = 3;
	struct vote_candidate done[] = {{"x", "yes"}, {"y", "yes"}};
	const char *pending[] = {"z"};
	assert_int_equal(vote_decided(&node, done, 2, pending, 1), 0);
}

int test_decide_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decided_table),
		cmocka_unit_test(test_decided_float_tie),
	};
	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
