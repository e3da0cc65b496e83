#ifndef QUORUM_SIM_GENERIC_H
#define QUORUM_SIM_GENERIC_H
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

/* The answer to a question the bank does not hold. The simulator knows
 * nothing, so its right short answer is a placeholder made from the
 * question's key words, clearly marked: "simulated capital France" for
 * "What is the capital of France?". A wrong one adds a variant number
 * ("simulated capital France variant 17"), so right answers agree and
 * wrong ones seldom do. Pure: the draws are the caller's (decide.c). */

/* Wrong answers are "variant 2" .. "variant GENERIC_VARIANTS + 1". */
#define GENERIC_VARIANTS 98

/* The question text asks: the sentence that ends at its first '?' (it
 * starts after a line break or a ". ", ": ", "! " or "? " before it),
 * else its first sentence or line. Leading blanks are skipped; *q is
 * borrowed from text. */
void generic_question(const char *text, const char **q, size_t *len);

/* The key a question is drawn by: a hash of its words, lower-cased, so
 * case, spacing and punctuation do not change it. */
uint64_t generic_key(const char *q, size_t len);

/* Appends the right short answer to q: "simulated" and up to four of its
 * words that are not common ones ("simulated answer" when none is left).
 * Returns 0 or -1. */
int generic_short(struct buf *out, const char *q, size_t len);

/* Whether text asks for a last line "Answer: ...": an "Answer:" (any
 * case) in quotes or followed by a placeholder ("<short answer>",
 * "[...]", "..."), as in `End with one line of the form "Answer: <short
 * answer>"`. A quoted answer ("Answer: Paris") is no such request. */
int generic_wants_line(const char *text);

/* Whether text[0..len) gives the right generic answer: 1, 0 for a wrong
 * variant, -1 when it gives no generic answer. Read from its last
 * "Answer:" line, else its last "In short:". */
int generic_says(const char *text, size_t len);

struct generic {
	const char *model;  /* the model's name, for the wording */
	const char *q;      /* the question, q[0..q_len) */
	size_t q_len;
	int variant;        /* 0: the right answer; else a wrong variant */
	double phrase;      /* [0, 1): which wording */
	int line;           /* end with "Answer: <short>" */
};

/* Appends a simulated answer to g->q: a sentence or two that say it is
 * simulated and quote the question, "In short: <short>.", and with
 * g->line a last line "Answer: <short>". Returns 0 or -1. */
int generic_answer(struct buf *out, const struct generic *g);

#endif
