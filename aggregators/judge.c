#include "judge.h"

#include "../common/rng.h"
#include "label.h"

/* A uniform draw from [0, bound) without modulo bias (Lemire's
 * rejection on the low end), the same on every platform for a seed. */
static uint64_t draw_below(uint64_t *state, uint64_t bound)
{
	uint64_t threshold = (0 - bound) % bound;
	for (;;) {
		uint64_t r = splitmix64_next(state);
		if (r >= threshold)
			return r % bound;
	}
}

void judge_shuffle(size_t n, uint64_t seed, size_t *perm)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	uint64_t state = seed;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)draw_below(&state, (uint64_t)i);
		size_t t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

/* The instruction is MT-Bench's pairwise judge prompt (Zheng et al., 2023,
 * "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena", fig. 5),
 * widened from two assistants to n responses; its warnings against
 * position, length and name bias are kept, and there is no tie verdict:
 * a judge node must pick one. */
const char judge_default_criteria[] =
	"factors such as the helpfulness, relevance, accuracy, depth, creativity, "
	"and level of detail of the responses";

const char judge_retry_note[] =
	"Your reply did not end with a verdict in the required format. Reply with "
	"only your final verdict, the label of the best response in double square "
	"brackets, for example \"[[A]]\".";

static int put_verdict_format(struct buf *b, size_t n)
{
	if (buf_puts(b, "After providing your explanation, output your final verdict "
			"by strictly following this format: "))
		return -1;
	size_t shown = n <= 4 ? n : 2;
	for (size_t k = 0; k < shown; k++) {
		if (buf_puts(b, k == 0 ? "\"[[" : k + 1 == n ? ", and \"[[" : ", \"[[") ||
		    label_put(b, k) || buf_puts(b, "]]\" if Response ") || label_put(b, k) ||
		    buf_puts(b, " is best"))
			return -1;
	}
	if (shown < n && (buf_puts(b, ", and so on up to \"[[") || label_put(b, n - 1) ||
			  buf_puts(b, "]]\" if Response ") || label_put(b, n - 1) ||
			  buf_puts(b, " is best")))
		return -1;
	return buf_puts(b, ". There is no tie: choose exactly one response.");
}

static int put_system(struct buf *b, const char *criteria, size_t n)
{
	if (buf_printf(b,
		       "Please act as an impartial judge and evaluate the quality of the "
		       "responses provided by %zu AI assistants to the user question "
		       "displayed below. You should choose the response that follows the "
		       "user's instructions and answers the user's question best. Your "
		       "evaluation should consider ", n) ||
	    buf_puts(b, criteria ? criteria : judge_default_criteria) ||
	    buf_puts(b, ". Begin your evaluation by comparing the responses and provide "
			"a short explanation. Avoid any position biases and ensure that "
			"the order in which the responses were presented does not "
			"influence your decision. Do not allow the length of the responses "
			"to influence your evaluation. Do not favor certain names of the "
			"assistants. Be as objective as possible. "))
		return -1;
	return put_verdict_format(b, n);
}

int judge_build_prompt(struct buf *system, struct buf *user, const char *query,
		       const char *criteria, const char *const *texts,
		       const size_t *perm, size_t n)
{
	if (n == 0 || put_system(system, criteria, n))
		return -1;
	if (buf_puts(user, "[User Question]\n") || buf_puts(user, query ? query : ""))
		return -1;
	for (size_t k = 0; k < n; k++) {
		const char *t = texts[perm[k]];
		if (buf_puts(user, "\n\n[The Start of Response ") || label_put(user, k) ||
		    buf_puts(user, "]\n") || buf_puts(user, t ? t : "") ||
		    buf_puts(user, "\n[The End of Response ") || label_put(user, k) ||
		    buf_putc(user, ']'))
			return -1;
	}
	return 0;
}

int judge_tally(const int *picks, size_t npicks, size_t n, size_t *votes)
{
	if (votes)
		for (size_t c = 0; c < n; c++)
			votes[c] = 0;
	/* Counting twice over the picks keeps this free of allocation. */
	int best = -1;
	size_t best_votes = 0;
	for (size_t c = 0; c < n; c++) {
		size_t v = 0;
		for (size_t i = 0; i < npicks; i++)
			v += picks[i] >= 0 && (size_t)picks[i] == c;
		if (votes)
			votes[c] = v;
		if (v > best_votes) {
			best = (int)c;
			best_votes = v;
		}
	}
	return best;
}
