#include "cascade.h"

#include <stdint.h>
#include <string.h>

#include "../common/alloc.h"
#include "judge.h"
#include "text.h"
#include "vote.h"

/* ---- self-check ---- */

/* AutoMix's self-verification (Madaan et al., 2023) asks the model that
 * answered whether its own answer is correct, and samples that verdict a
 * few times; FrugalGPT's scorer plays the same part. The one-word answer
 * keeps the verdict parseable and the call cheap. */
int selfcheck_build_prompt(struct buf *out, const char *query, const char *answer)
{
	if (buf_puts(out, "Is the following answer correct?\n\nQuestion:\n") ||
	    buf_puts(out, query ? query : "") || buf_puts(out, "\n\nAnswer:\n") ||
	    buf_puts(out, answer ? answer : "") ||
	    buf_puts(out, "\n\nCheck the answer carefully against the question. "
			  "Reply with exactly one word: correct or incorrect."))
		return -1;
	return 0;
}

struct word {
	size_t b, e;
};

static int word_is(const char *s, struct word w, const char *lit)
{
	size_t n = strlen(lit);
	if (w.e - w.b != n)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (tx_lower(s[w.b + k]) != lit[k])
			return 0;
	return 1;
}

static int word_in(const char *s, struct word w, const char *const *list)
{
	for (size_t k = 0; list[k]; k++)
		if (word_is(s, w, list[k]))
			return 1;
	return 0;
}

/* The next word at or after *i: letters and apostrophes ("isn't"). */
static int next_word(const char *s, size_t len, size_t *i, struct word *w)
{
	while (*i < len && !tx_alpha(s[*i]))
		(*i)++;
	if (*i >= len)
		return 0;
	w->b = *i;
	while (*i < len && (tx_alpha(s[*i]) || s[*i] == '\''))
		(*i)++;
	w->e = *i;
	return 1;
}

/* 1, 0, or -1 when w is no verdict word. Some words are verdicts only
 * where a verdict is certain: "Yes" and "No" as a reply's opening, "right"
 * and "true" there or after a copula ("is right", "is not right"). */
static int polarity(const char *s, struct word w, int first, int copula)
{
	static const char *const pos[] = {"correct", "accurate", NULL};
	static const char *const neg[] = {"incorrect", "wrong", "inaccurate", NULL};
	static const char *const pos1[] = {"right", "true", "valid", NULL};
	static const char *const neg1[] = {"false", "invalid", NULL};
	if (word_in(s, w, pos) || ((first || copula) && word_in(s, w, pos1)) ||
	    (first && word_is(s, w, "yes")))
		return 1;
	if (word_in(s, w, neg) || ((first || copula) && word_in(s, w, neg1)) ||
	    (first && word_is(s, w, "no")))
		return 0;
	return -1;
}

/* Whether the verdict word at w only qualifies what follows ("the correct
 * answer is 5"): 1; or is an echo of the choice ("correct or incorrect",
 * "correct/incorrect"), which takes the verdict word after it along:
 * 2 when "or" comes between them, 3 when '/' does. */
static int not_a_verdict(const char *s, size_t len, struct word w)
{
	static const char *const nouns[] = {
		"answer", "answers", "solution", "result", "value", "one", "approach",
		"response", "reasoning", "way", "option", "choice", "statement", "number",
		"calculation", "formula", "method", "step", "steps", "final", NULL};
	size_t i = w.e;
	while (i < len && (s[i] == ' ' || s[i] == '*'))
		i++;
	if (i < len && s[i] == '/')
		return 3;
	struct word nx;
	size_t j = i;
	if (i >= len || !tx_alpha(s[i]) || !next_word(s, len, &j, &nx))
		return 0;
	return word_is(s, nx, "or") ? 2 : word_in(s, nx, nouns);
}

int selfcheck_parse(const char *reply)
{
	static const char *const negators[] = {"not", "isn't", "wasn't", "never",
					       "hardly", "nor", "aren't", NULL};
	static const char *const hedges[] = {"partially", "partly", "mostly", "somewhat",
					     "largely", "almost", "entirely", "fully",
					     "completely", "quite", NULL};
	if (!reply)
		return -1;
	size_t len = strlen(reply), i = 0, idx = 0;
	struct word w, prev[2] = {{0, 0}, {0, 0}};
	int last = -1;
	size_t echo = SIZE_MAX;   /* the word after "correct or" */
	static const char *const copulas[] = {"is", "was", "seems", "looks", "be", NULL};
	for (; next_word(reply, len, &i, &w); idx++) {
		int copula = (idx >= 1 && word_in(reply, prev[0], copulas)) ||
			     (idx >= 2 && word_in(reply, prev[1], copulas) &&
			      (word_in(reply, prev[0], negators) || word_in(reply, prev[0], hedges)));
		int p = polarity(reply, w, idx == 0, copula);
		int skip = p >= 0 ? not_a_verdict(reply, len, w) : 0;
		if (skip >= 2)
			echo = idx + (skip == 2 ? 2 : 1);
		if (p >= 0 && !skip && idx != echo) {
			/* "not correct", "not entirely correct", "partially
			 * correct": all short of correct. */
			size_t start = idx;
			int h0 = idx >= 1 && word_in(reply, prev[0], hedges);
			int n0 = idx >= 1 && word_in(reply, prev[0], negators);
			int n1 = idx >= 2 && h0 && word_in(reply, prev[1], negators);
			if (n0 || h0)
				p = 0;
			start -= (size_t)(n0 || h0) + (size_t)n1;
			if (start == 0)
				return p;
			last = p;
		}
		prev[1] = prev[0];
		prev[0] = w;
	}
	return last;
}

/* ---- judge acceptance ---- */

/* MT-Bench's single-answer grading prompt (Zheng et al., 2023, fig. 6):
 * an explanation, then "Rating: [[5]]" on a 1-10 scale. */
int cascade_judge_prompt(struct buf *system, struct buf *user, const char *query,
			 const char *answer, const char *criteria)
{
	if (buf_puts(system, "Please act as an impartial judge and evaluate the quality "
			     "of the response provided by an AI assistant to the user "
			     "question displayed below. Your evaluation should consider ") ||
	    buf_puts(system, criteria ? criteria
				      : "factors such as the helpfulness, relevance, "
					"accuracy, depth, creativity, and level of detail "
					"of the response") ||
	    buf_puts(system, ". Begin your evaluation by providing a short "
			     "explanation. Be as objective as possible. After providing "
			     "your explanation, you must rate the response on a scale of "
			     "1 to 10 by strictly following this format: \"[[rating]]\", "
			     "for example: \"Rating: [[5]]\"."))
		return -1;
	if (buf_puts(user, "[Question]\n") || buf_puts(user, query ? query : "") ||
	    buf_puts(user, "\n\n[The Start of Assistant's Answer]\n") ||
	    buf_puts(user, answer ? answer : "") ||
	    buf_puts(user, "\n[The End of Assistant's Answer]"))
		return -1;
	return 0;
}

/* ---- agreement ---- */

double agreement_share(const char *const *texts, size_t n, const struct extract_spec *spec)
{
	if (n == 0)
		return 0;
	struct arena *a = arena_new();
	struct vote_candidate *c = a ? arena_alloc(a, n * sizeof(*c)) : NULL;
	if (!c) {
		arena_free(a);
		return -1;
	}
	/* A vote node with equal weights: its agreement is the share asked
	 * for, with the same extraction and normalisation a vote uses. */
	struct wf_node node;
	memset(&node, 0, sizeof(node));
	node.kind = NK_VOTE;
	if (spec)
		node.extract = *spec;
	for (size_t i = 0; i < n; i++)
		c[i].text = texts[i];
	struct vote_result r;
	double share = vote_run(&node, c, n, a, &r) == 0 ? r.agreement
			: r.nvalid == 0 ? 0 : -1;
	arena_free(a);
	return share;
}
