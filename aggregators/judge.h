#ifndef QUORUM_JUDGE_H
#define QUORUM_JUDGE_H
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

/* The judge node's pure parts: an anonymised, per-judge shuffled prompt in
 * the MT-Bench style, and a robust reading of the verdict. A judge sees
 * "Response A", "Response B", ... in its own order and never a model name,
 * so neither position bias nor self-preference is built in. Positions are
 * SHOWN positions: candidate = perm[position]. */

/* Fills perm[0..n) with a permutation of 0..n-1 drawn from seed
 * (splitmix64 driving Fisher-Yates): perm[k] is the candidate shown at
 * position k. The same seed always gives the same permutation, on every
 * platform; seeds that differ by one give unrelated ones, so seed = the
 * run's seed + the judge's index is a good per-judge choice. */
void judge_shuffle(size_t n, uint64_t seed, size_t *perm);

/* The default criteria, used when the node has none. */
extern const char judge_default_criteria[];

/* Appends the judge's system message (the instruction: criteria, NULL for
 * the default, and the "[[A]]" verdict format) to system, and the user
 * message (the question, then texts[perm[0]] as "Response A",
 * texts[perm[1]] as "Response B", ...) to user. No model name appears.
 * Returns 0, or -1 when n is 0 or a buffer is full. */
int judge_build_prompt(struct buf *system, struct buf *user, const char *query,
		       const char *criteria, const char *const *texts,
		       const size_t *perm, size_t n);

/* What to send a judge whose verdict could not be read, as a follow-up
 * user message after its reply (or appended to the original user message
 * when the call cannot carry a conversation): asks for the verdict alone,
 * "[[X]]". */
extern const char judge_retry_note[];

/* Reads which of n shown responses a judge picked. Returns the 0-based
 * shown position, or -1 when the reply names none or names one out of
 * range. Understood, strongest first (within a kind the last one written
 * wins, so a judge that reasons first is read by its conclusion):
 *   1. "[[B]]", "[[2]]", "[[Response B]]"
 *   2. a JSON object (bare or fenced) with best, choice, winner, verdict,
 *      answer, selected, pick or preferred: "B", "Response B", 2
 *   3. phrases: "Final verdict: C", "Answer: B", "The best response is B",
 *      "Response B is the best", "B stands out as the best", "The most
 *      accurate is C", "I choose Response B", "Final: B"
 *   4. a reply that is only a label: "B", "2", "**Response B**."
 * Numbers are 1-based. In phrases a bare number or letter out of range is
 * taken for prose ("the answer is 42") and skipped. */
int judge_parse_verdict(const char *reply, size_t n);

/* Reads a 0..10 score ("Rating: [[7]]", "7/10", "85/100", "8.5 out of 10",
 * "Score: 8.5", JSON {"score": 7} or {"rating": "7"}, a bare "7"), with the
 * same order of strength as judge_parse_verdict. Returns the score, or -1
 * when there is none or it lies outside 0..10. */
double judge_parse_score(const char *reply);

/* Merges a panel's picks (picks[i]: the CANDIDATE index judge i chose, or
 * -1 for an abstention) over n candidates: votes[c] gets the number of
 * picks of candidate c when votes is not NULL. Returns the candidate with
 * the most picks, ties to the lowest candidate index (the generate node's
 * order, which no judge saw), or -1 when every judge abstained. */
int judge_tally(const int *picks, size_t npicks, size_t n, size_t *votes);

#endif
