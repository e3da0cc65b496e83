#ifndef QUORUM_CASCADE_H
#define QUORUM_CASCADE_H
#include <stddef.h>

#include "../common/buf.h"
#include "../dag/workflow.h"

/* The cascade node's acceptance tests, after FrugalGPT (Chen, Zaharia and
 * Zou, 2023) and AutoMix (Madaan et al., 2023): an answer from a cheap
 * model is kept when it passes, else the next model is tried. Pure. */

/* Appends the self-verification request (one user message) that the model
 * which wrote answer gets about its own answer to query: "Is the following
 * answer correct? ... Reply with exactly one word: correct or incorrect".
 * Returns 0 or -1 (out full). */
int selfcheck_build_prompt(struct buf *out, const char *query, const char *answer);

/* Reads a self-check verdict: 1 correct, 0 incorrect, -1 unknown. The
 * first word decides when it is a verdict ("Correct.", "INCORRECT",
 * "Yes", "No"); otherwise the last verdict in the reply ("The answer is
 * correct", after reasoning). Negations read as incorrect ("not correct",
 * "isn't right"), and so do hedges ("partially correct"). */
int selfcheck_parse(const char *reply);

/* Appends the judge's system and user messages for `accept: {judge: ...}`:
 * the MT-Bench single-answer grading prompt, a 1-10 rating written
 * "Rating: [[5]]", read back with judge_parse_score. criteria NULL: the
 * default. Returns 0 or -1. */
int cascade_judge_prompt(struct buf *system, struct buf *user, const char *query,
			 const char *answer, const char *criteria);

/* The self-consistency share for `accept: {agreement: ...}`: the weight
 * of the most common answer among texts[0..n), extracted with spec and
 * compared in normalised form (as a vote does; spec NULL compares whole
 * texts), divided by n. A text that is NULL or has no extractable answer
 * counts as disagreeing. Returns 0..1 (0 when n is 0), or -1 when memory
 * ran out. */
double agreement_share(const char *const *texts, size_t n, const struct extract_spec *spec);

#endif
