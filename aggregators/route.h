#ifndef QUORUM_ROUTE_H
#define QUORUM_ROUTE_H
#include <stddef.h>

#include "../common/arena.h"
#include "../dag/workflow.h"

/* The route node's choice: the first route whose `when` holds. Pure: the
 * caller fetches what a condition needs (the prompt's embedding, the
 * learned scores) and asks again. A score route's threshold is set at
 * load (the file's own when the workflow writes none). */

/* What the routes are tested against, gathered once per prompt. */
struct route_facts {
	const char *prompt;
	size_t len, chars;
	unsigned pii;
	int pii_done;
	/* A plan's subtask: the planner's estimates; -1 otherwise. */
	double difficulty;
	long tokens;
	/* The prompt's embedding, once the caller has it;
	 * vec_failed: it could not be had, so semantic and score never hold. */
	const float *vec;
	size_t dim;
	int vec_failed;
	/* Per route: its semantic examples' vectors (nexamples x dim), NULL
	 * when it has none; its learned scorer's score of vec, NaN when none
	 * (the caller scores: the scorer is not this file's). */
	const float *const *examples;
	const double *scores;
	const char *(*input)(void *ctx, const char *name);
	void *ctx;
};

/* Fills f for prompt (NULL reads as ""): no embedding, no estimates. */
void route_facts_init(struct route_facts *f, const char *prompt);

enum route_test {
	ROUTE_NO,            /* a key does not hold */
	ROUTE_YES,           /* every key holds */
	ROUTE_NEEDS_VECTOR,  /* every other key holds; semantic or score needs
			      * f->vec (or f->vec_failed) to decide */
};

/* Tests route i of node (a `when` route; an ask route is the caller's):
 * every key written must hold (regex matches, min_chars/max_chars in UTF-8
 * code points, contains_pii as pii_scan says, each `input` equal to
 * f->input(ctx, NAME), difficulty and tokens within their ranges, the
 * semantic examples' best cosine at or above the threshold, the learned
 * scorer's score at or above its threshold). A regex that fails to run
 * counts as not matching, as does an input f->input returns NULL for.
 * rule (n bytes) gets the keys checked, naming kinds and limits but never
 * the matched text or an input's value: "contains_pii (email, card)",
 * "regex, max_chars 200", "semantic 0.91", "score 0.74". */
enum route_test route_test(const struct wf_node *node, size_t i, struct route_facts *f,
			   char *rule, size_t n);

/* The whole choice when no condition needs a vector (one that does counts
 * as not holding, as does an ask route): the index of the first route
 * that holds, or -1 for the default. *rule_out (when not NULL) gets
 * "routes[1]: contains_pii (email, card)" or "default", allocated in a (a
 * static string when a is NULL or memory ran out). */
int route_pick(const struct wf_node *node, const char *prompt,
	       const char *(*input)(void *ctx, const char *name), void *ctx,
	       struct arena *a, const char **rule_out);
/* The same over prepared facts (a plan's subtask has estimates). */
int route_pick_facts(const struct wf_node *node, struct route_facts *f, struct arena *a,
		     const char **rule_out);

/* Whether node (a plan's run) is a route with a difficulty or tokens
 * condition: the planner is then asked for its estimates. */
int route_uses_estimates(const struct wf_node *node);

/* Number of UTF-8 code points in s (bytes that do not continue one). */
size_t route_utf8_len(const char *s);

#endif
