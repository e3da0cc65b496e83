/* The rank node's reply reader and the Borda merge of the ballots.
 *
 * Input: byte 0 the number of responses shown (0..30), byte 1 a seed for
 * the other members' ballots; the rest is one member's reply. */
#include "../../aggregators/judge.h"
#include "../../aggregators/rank.h"
#include "../fuzz.h"

#define MAXN 30
#define NBALLOTS 4

static void check_perm(const size_t *p, size_t n, const char *what)
{
	unsigned char seen[MAXN] = {0};
	for (size_t k = 0; k < n; k++) {
		fuzz_check(p[k] < n && !seen[p[k]], "%s is not a permutation", what);
		seen[p[k]] = 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	size_t n = fuzz_byte(&in) % (MAXN + 1);
	uint64_t seed = fuzz_byte(&in);
	char *reply = fuzz_rest(&in);
	if (!reply)
		return 0;
	size_t order[MAXN + 1];
	for (size_t k = 0; k <= MAXN; k++)
		order[k] = 7777;
	int got = rank_parse(reply, n, order);
	fuzz_check(got == -1 || (got == (int)n && n > 0), "rank_parse returned %d of %zu",
		   got, n);
	fuzz_check(order[n] == 7777, "rank_parse wrote past order[%zu]", n);
	if (got > 0) {
		check_perm(order, n, "the ranking");
		/* The member's ballot in candidate terms, and three more. */
		size_t ballots[NBALLOTS * MAXN], perm[MAXN];
		double points[MAXN];
		size_t merged[MAXN];
		judge_shuffle(n, seed, perm);
		for (size_t k = 0; k < n; k++)
			ballots[k] = perm[order[k]];
		for (size_t b = 1; b < NBALLOTS; b++)
			judge_shuffle(n, seed + b, ballots + b * n);
		fuzz_check(!borda_merge(ballots, NBALLOTS, n, points, merged),
			   "borda_merge refused full ballots");
		check_perm(merged, n, "the merged order");
		double total = 0;
		for (size_t c = 0; c < n; c++)
			total += points[c];
		fuzz_check(total == (double)NBALLOTS * (double)(n * (n - 1) / 2),
			   "%g points handed out", total);
		for (size_t k = 1; k < n; k++)
			fuzz_check(points[merged[k - 1]] >= points[merged[k]],
				   "merged order not by points");
		struct buf out = BUF_INIT;
		fuzz_check(!rank_format(&out, merged, points, n, NULL), "rank_format failed");
		buf_release(&out);
		/* A ballot that is not a permutation is refused. */
		if (n > 1) {
			ballots[n] = ballots[n + 1];
			fuzz_check(borda_merge(ballots, 2, n, NULL, merged) == -1,
				   "borda_merge took a ballot with a repeat");
		}
	}
	q_free(reply);
	return 0;
}
