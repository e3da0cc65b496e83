/* `quorum validate`'s summary (orchestrator/summary.c through the public
 * header): the worst case of one run counts every call each kind may
 * make, and a budget that worst case passes gets a warning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "quorum.h"

/* Every model's output costs $1 per million tokens and input nothing, so
 * an attempt costs max_tokens (1000) millionths: $0.001. */
#define MODELS                                                                          \
	"version: 1\n"                                                                  \
	"defaults: {retries: 0, max_tokens: 1000}\n"                                    \
	"models:\n"                                                                     \
	"  a: {provider: ollama, model: a, price: {input: 0, output: 1}}\n"             \
	"  b: {provider: ollama, model: b, price: {input: 0, output: 1}}\n"             \
	"  c: {provider: ollama, model: c, price: {input: 0, output: 1}}\n"             \
	"  d: {provider: ollama, model: d, price: {input: 0, output: 1}}\n"             \
	"  dear: {provider: ollama, model: e, price: {input: 0, output: 10}}\n"         \
	"  backed: {provider: ollama, model: f, retries: 1, fallback: [a, b],"          \
	" price: {input: 0, output: 1}}\n"

/* The summary of a workflow given as text; returns new (free). */
static char *summary_of(const char *text)
{
	char path[] = "/tmp/quorum-summary-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	char *errors = NULL;
	struct quorum_workflow *wf = quorum_workflow_load(path, &errors);
	unlink(path);
	if (!wf)
		fprintf(stderr, "%s", errors ? errors : "(no errors)\n");
	assert_non_null(wf);
	char *s = quorum_workflow_summary(wf);
	quorum_workflow_free(wf);
	assert_non_null(s);
	return s;
}

static void has(const char *s, const char *want)
{
	if (!strstr(s, want))
		fprintf(stderr, "wanted: %s\nin:\n%s", want, s);
	assert_non_null(strstr(s, want));
}

static void lacks(const char *s, const char *bad)
{
	if (strstr(s, bad))
		fprintf(stderr, "did not want: %s\nin:\n%s", bad, s);
	assert_null(strstr(s, bad));
}

static void test_cascade(void **state)
{
	(void)state;
	/* self_check: each step but the last answers once and checks 3
	 * times; the last answers once: 4 + 4 + 1. */
	char *s = summary_of(MODELS "nodes:\n  k: {kind: cascade, models: [a, b, c], "
			     "accept: {self_check: {samples: 3}}}\n");
	has(s, "    k                cascade    9 calls, at most 9 attempts\n");
	has(s, "  worst case per run: 9 calls (9 with every retry and fallback), $0.0090\n");
	free(s);
	/* judge: one answer and one judge call per step but the last. */
	s = summary_of(MODELS "nodes:\n  k: {kind: cascade, models: [a, b, c], "
		       "accept: {judge: {model: dear}}}\n");
	has(s, "k                cascade    5 calls, at most 5 attempts\n");
	has(s, "$0.0230\n");
	free(s);
	/* agreement: samples answers per step but the last. */
	s = summary_of(MODELS "nodes:\n  k: {kind: cascade, models: [a, b, c], "
		       "accept: {agreement: {samples: 4}}}\n");
	has(s, "k                cascade    9 calls, at most 9 attempts\n");
	free(s);
	s = summary_of(MODELS "nodes:\n  k: {kind: cascade, models: [a, b], "
		       "accept: {regex: x}}\n");
	has(s, "k                cascade    2 calls, at most 2 attempts\n");
	free(s);
}

static void test_plan(void **state)
{
	(void)state;
	/* The planner twice (one re-plan), then max_subtasks subtasks of 2
	 * models x 2 samples: 2 + 5 x 4. */
	char *s = summary_of(MODELS "nodes:\n  p: {kind: plan, model: a, max_subtasks: 5, "
			     "run: {models: [b, c], samples: 2}}\n");
	has(s, "    p                plan       22 calls, at most 22 attempts\n");
	has(s, "$0.0220\n");
	free(s);
	/* Without run, each of the default 8 subtasks is one call by the
	 * planner. */
	s = summary_of(MODELS "nodes:\n  p: {kind: plan, model: a}\n");
	has(s, "p                plan       10 calls, at most 10 attempts\n");
	free(s);
	/* Subtasks that route: one call each, to the dearest route; the
	 * run's own retries count. */
	s = summary_of(MODELS "nodes:\n  p:\n    kind: plan\n    model: a\n    max_subtasks: 3\n"
		       "    run:\n      kind: route\n      retries: 1\n      default: a\n"
		       "      routes: [{when: {min_chars: 10}, to: dear}]\n");
	has(s, "p                plan       5 calls, at most 8 attempts\n");
	has(s, "$0.0620\n");
	free(s);
}

static void test_route(void **state)
{
	(void)state;
	/* One call, priced at the dearest route, default included. */
	char *s = summary_of(MODELS "nodes:\n  r:\n    kind: route\n    default: a\n"
			     "    routes:\n      - {when: {min_chars: 10}, to: b}\n"
			     "      - {when: {contains_pii: false}, to: dear}\n");
	has(s, "    r                route      1 call, at most 1 attempts\n");
	has(s, "$0.0100\n");
	free(s);
	/* A dear default is counted too; a fallback chain with retries gives
	 * the most attempts: backed twice, then a, then b. */
	s = summary_of(MODELS "nodes:\n  r:\n    kind: route\n    default: dear\n"
		       "    routes:\n      - {when: {min_chars: 10}, to: backed}\n");
	has(s, "r                route      1 call, at most 4 attempts\n");
	has(s, "$0.0100\n");
	free(s);
}

/* A route's ask calls and embeddings count: each ask route may decline,
 * and a semantic route embeds the prompt and its examples. */
static void test_route_ask_and_embed(void **state)
{
	(void)state;
	/* ask a, ask b (both may decline), then the dearest target: 3 calls;
	 * a + b + dear = $0.012. */
	char *s = summary_of(MODELS "nodes:\n  r:\n    kind: route\n    default: dear\n"
			     "    routes:\n      - {ask: a}\n      - {ask: b}\n");
	has(s, "    r                route      3 calls, at most 3 attempts\n");
	has(s, "$0.0120\n");
	free(s);
	/* The prompt's embedding and one request of examples, by c. */
	s = summary_of(MODELS "  emb: {provider: ollama, model: emb}\nnodes:\n  r:\n"
		       "    kind: route\n    embed: emb\n    default: a\n"
		       "    routes:\n      - {when: {semantic: {examples: [x, y]}}, to: b}\n");
	has(s, "    r                route      3 calls, at most 3 attempts\n");
	free(s);
}

/* A bandit is one call of its dearest arm, plus its judge and, under
 * policy linear, the prompt's embedding. */
static void test_bandit(void **state)
{
	(void)state;
	char *s = summary_of(MODELS "nodes:\n  k: {kind: bandit, arms: [a, dear], "
			     "state: /tmp/quorum-summary-never.sqlite}\n");
	has(s, "    k                bandit     1 call, at most 1 attempts\n");
	has(s, "  worst case per run: 1 call (1 with every retry and fallback), $0.0100\n");
	free(s);
	s = summary_of(MODELS "  emb: {provider: ollama, model: emb}\nnodes:\n"
		       "  k: {kind: bandit, arms: [a, b], policy: linear, embed: emb, "
		       "reward: {judge: dear}, state: /tmp/quorum-summary-never.sqlite}\n");
	has(s, "    k                bandit     3 calls, at most 3 attempts\n");
	has(s, "$0.0110 (some models have no price");
	free(s);
}

static void test_judge_panel_and_rank(void **state)
{
	(void)state;
	/* Each judge may be asked again: 3 x 2. */
	char *s = summary_of(MODELS "nodes:\n  g: {kind: generate, models: [a, b]}\n"
			     "  j: {kind: judge, from: g, models: [a, b, dear]}\n");
	has(s, "    g                generate   2 calls, at most 2 attempts\n");
	has(s, "    j                judge      6 calls, at most 6 attempts\n");
	has(s, "  worst case per run: 8 calls (8 with every retry and fallback), $0.0260\n");
	free(s);
	/* One judge, with retries and fallbacks: 2 calls, each 2 tries by
	 * backed, then 1 by a, then 1 by b. */
	s = summary_of(MODELS "nodes:\n  g: {kind: generate, models: [a, b], samples: 3}\n"
		       "  j: {kind: judge, from: g, model: backed}\n");
	has(s, "g                generate   6 calls, at most 6 attempts\n");
	has(s, "j                judge      2 calls, at most 8 attempts\n");
	free(s);
	s = summary_of(MODELS "nodes:\n  g: {kind: generate, models: [a, b]}\n"
		       "  r: {kind: rank, from: g, models: [a, b, c]}\n");
	has(s, "r                rank       6 calls, at most 6 attempts\n");
	free(s);
}

static void test_council_and_moa(void **state)
{
	(void)state;
	/* answers: 3; review: 3 members, each asked again at most: 6;
	 * the chairman: 1. */
	char *s = summary_of(MODELS "nodes:\n  c: {kind: council, members: [a, b, c], "
			     "chairman: d}\n");
	has(s, "    c.answers        generate   3 calls, at most 3 attempts\n");
	has(s, "    c.review         rank       6 calls, at most 6 attempts\n");
	has(s, "    c                synthesize 1 call, at most 1 attempts\n");
	has(s, "  worst case per run: 10 calls (10 with every retry and fallback), $0.0100\n");
	lacks(s, "warning:");
	free(s);
	/* moa: layers x proposers, then the aggregator. */
	s = summary_of(MODELS "nodes:\n  m: {kind: moa, proposers: [a, b], aggregator: c, "
		       "layers: 3}\n");
	has(s, "  worst case per run: 7 calls (7 with every retry and fallback), $0.0070\n");
	free(s);
}

static void test_budget_warnings(void **state)
{
	(void)state;
	const char *council = "nodes:\n  c: {kind: council, members: [a, b, c], chairman: d}\n";
	char text[2048];
	snprintf(text, sizeof(text), MODELS "budget: {max_calls: 5}\n%s", council);
	char *s = summary_of(text);
	has(s, "  budget: max_calls 5\n");
	has(s, "\nwarning: the worst case makes 10 calls, more than the budget's max_calls 5: "
	       "the run may end budget_exceeded\n");
	free(s);

	/* Within max_calls without retries, past it with them. */
	snprintf(text, sizeof(text), MODELS "budget: {max_calls: 12}\n"
		 "nodes:\n  c: {kind: council, members: [a, b, c], chairman: d, retries: 1}\n");
	s = summary_of(text);
	has(s, "\nwarning: with every retry and fallback the worst case makes 20 attempts, "
	       "more than the budget's max_calls 12 (each attempt counts): the run may end "
	       "budget_exceeded\n");
	free(s);

	snprintf(text, sizeof(text), MODELS "budget: {max_usd: 0.005}\n%s", council);
	s = summary_of(text);
	has(s, "\nwarning: with every retry and fallback the worst case costs $0.0100, more "
	       "than the budget's max_usd $0.0050: the run may end budget_exceeded\n");
	lacks(s, "max_calls");
	free(s);

	/* Exactly at the budget: no warning. */
	snprintf(text, sizeof(text), MODELS "budget: {max_calls: 10, max_usd: 0.01}\n%s",
		 council);
	s = summary_of(text);
	has(s, "  budget: max_calls 10 max_usd $0.0100\n");
	lacks(s, "warning:");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cascade),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_route_ask_and_embed),
		cmocka_unit_test(test_bandit),
		cmocka_unit_test(test_judge_panel_and_rank),
		cmocka_unit_test(test_council_and_moa),
		cmocka_unit_test(test_budget_warnings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
