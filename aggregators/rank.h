#ifndef QUORUM_RANK_H
#define QUORUM_RANK_H
#include <stddef.h>

#include "../common/buf.h"

/* The rank node's pure parts, after llm-council's stage 2 (Karpathy,
 * 2025): each member sees the candidates anonymised as "Response A",
 * "Response B", ... in its own shuffled order (judge_shuffle), evaluates
 * them, then ends with a "FINAL RANKING:" numbered list. Ballots are
 * merged by Borda count. Shown positions map back to candidates through
 * the member's permutation: candidate = perm[position]. */

/* Appends the ranking request (one user message): the question, criteria
 * when not NULL, texts[perm[0]] as "Response A", texts[perm[1]] as
 * "Response B", ..., and the required answer format. No model name
 * appears. Returns 0, or -1 when n is 0 or out is full. */
int rank_build_prompt(struct buf *out, const char *query, const char *criteria,
		      const char *const *texts, const size_t *perm, size_t n);

/* Appends what to send a member whose ranking could not be read, after
 * its original request: the strict format alone, listing all n labels.
 * Returns 0, or -1 when n is 0 or out is full. */
int rank_retry_note(struct buf *out, size_t n);

/* Reads a member's ranking of n shown responses into order[0..n) (shown
 * positions, best first). Reads the numbered list after the last "FINAL
 * RANKING" heading, any case ("1. Response C", "2) **Response A** -
 * clear", "3. B"); where that section has no numbered list, the "Response
 * X" mentions on its first lines ("Response C > Response A > Response
 * B", "- Response C" bullets), or failing those its capital letters ("C,
 * A, B"); without the heading, the last numbered list of labels in the
 * reply. Returns n for a
 * full ranking, or -1 (an abstention) when it is partial, names a
 * response twice, names one out of range, or is missing. order is
 * written only on success. */
int rank_parse(const char *reply, size_t n, size_t *order);

/* Borda count over nballots ballots of n candidates: ballots[b * n + k] is
 * the CANDIDATE at rank k of ballot b (best first); pass only full
 * ballots, abstentions are left out. A candidate gets n-1 points for each
 * first place, n-2 for each second, ..., 0 for each last; points_out[c]
 * gets candidate c's total when not NULL. order_out[0..n) gets the
 * candidates by points, best first; ties go to the candidate with more
 * first places, then to the lower candidate index (the order of the node
 * the candidates came from, which no ranker saw), so the merge is
 * deterministic. Returns 0, or -1 when a ballot is not a permutation of
 * 0..n-1 or memory ran out (outputs then unspecified). */
int borda_merge(const size_t *ballots, size_t nballots, size_t n, double *points_out,
		size_t *order_out);

/* Appends the merged ranking, one line per candidate, best first:
 * "1. Response 2 (7 points)\n2. Response 1 (4 points)\n...". labels[c]
 * names candidate c; with labels NULL it is "Response c+1", which matches
 * the numbering of {{ nodes.ID.responses }}. Returns 0 or -1 (out
 * full). */
int rank_format(struct buf *out, const size_t *order, const double *points, size_t n,
		const char *const *labels);

#endif
