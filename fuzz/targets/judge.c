/* The judge's reply readers: a verdict among n shown responses and a
 * 0..10 score, from whatever a judge model writes.
 *
 * Input: byte 0 the number of responses shown (0..40); the rest is the
 * judge's reply. */
#include "../../aggregators/judge.h"
#include "../fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	size_t n = fuzz_byte(&in) % 41;
	char *reply = fuzz_rest(&in);
	if (!reply)
		return 0;
	int pos = judge_parse_verdict(reply, n);
	fuzz_check(pos == -1 || (pos >= 0 && (size_t)pos < n), "verdict %d of %zu", pos, n);
	double score = judge_parse_score(reply);
	fuzz_check(score == -1 || (score >= 0 && score <= 10), "score %g", score);

	/* The panel's tally over what was read: the winner has the most
	 * votes, ties to the lower index. */
	if (n) {
		size_t perm[40], votes[40];
		judge_shuffle(n, (uint64_t)size, perm);
		int picks[3] = {pos >= 0 ? (int)perm[pos] : -1, (int)(perm[0]),
				pos >= 0 ? (int)perm[n - 1 - (size_t)pos] : -1};
		int win = judge_tally(picks, 3, n, votes);
		fuzz_check(win >= 0 && (size_t)win < n, "tally %d of %zu", win, n);
		for (size_t c = 0; c < n; c++)
			fuzz_check(votes[c] < votes[win] || (votes[c] == votes[win] &&
							   c >= (size_t)win),
				   "tally picked %d over %zu", win, c);
	}
	q_free(reply);
	return 0;
}
