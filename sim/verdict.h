#ifndef QUORUM_SIM_VERDICT_H
#define QUORUM_SIM_VERDICT_H
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "prompt.h"

/* What a model answers to an aggregator's request, in the format the
 * request asks for: a scripted verdict (a rule's pick, rank or rating) or
 * a simulated one that is right as often as the model is accurate. */

/* The key of a simulated choice: the same (seed, model, prompt, nth)
 * always draws the same numbers. */
struct draw {
	uint64_t seed;
	const char *model;
	uint64_t prompt;   /* a hash of the prompt */
	uint64_t nth;      /* how many times the model has seen it */
};

/* Appends a judge's reasoning and "[[X]]" for the first section (by label)
 * whose text holds fragment (any case); without one, a reply that names
 * no response, which quorum counts as an abstention. Returns 0 or -1. */
int verdict_pick(struct buf *out, const struct section *sec, size_t n,
		 const char *fragment);

/* Appends an evaluation of every section, then "FINAL RANKING:" and the
 * labels numbered best first: those whose text holds frags[0] (any case),
 * then frags[1], ..., then the rest, each group in label order. Returns 0
 * or -1. */
int verdict_rank(struct buf *out, const struct section *sec, size_t n,
		 const char *const *frags, size_t nfrags);

/* Appends a short evaluation and "Rating: [[N]]". Returns 0 or -1. */
int verdict_rating(struct buf *out, double rating);

/* Appends a judge's rating of an answer that is right (ok 1: 9), wrong
 * (0: 2) or cannot be told (-1: 5), as `rating: auto` rates. Returns 0
 * or -1. */
int verdict_rating_auto(struct buf *out, int ok);

/* A simulated model's answer to one aggregator request. */
struct verdict_sim {
	enum prompt_kind kind;
	const struct section *sec;  /* judge, rank: the sections, by label */
	size_t nsec;
	const signed char *correct; /* per section: 1 it gives the bank's
				     * answer, 0 not; NULL: no bank question */
	int answer_ok;              /* self-check, rating: 1, 0, -1 unknown */
	double accuracy;
	struct draw d;
	const char *task;           /* plan: the task and the most subtasks */
	size_t task_len, max_subtasks;
};

/* Appends the answer: a judge picks a right response with probability
 * accuracy (else another), a ranker puts the right ones first with
 * probability accuracy (else any order), a self-check tells the truth
 * with probability accuracy, a rating is 8-9 for a right answer and 3-4
 * for a wrong one, a planner returns a valid plan of the task in 1-3
 * subtasks. Returns 0, 1 when a judge or ranker got no sections (nothing
 * written), or -1 when out is full. */
int verdict_simulate(struct buf *out, const struct verdict_sim *v);

#endif
