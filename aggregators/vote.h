#ifndef QUORUM_VOTE_H
#define QUORUM_VOTE_H
#include <stddef.h>

#include "../common/arena.h"
#include "../dag/workflow.h"

/* Majority vote over candidates, no model call. Pure. */

struct vote_candidate {
	const char *model;   /* model id, for weights */
	const char *text;
};

struct vote_bucket {
	const char *key;     /* normalised answer */
	const char *answer;  /* the answer as first extracted */
	double weight;       /* sum of the weights of its voters */
	size_t count;
	size_t first;        /* index of the first candidate that gave it */
};

struct vote_result {
	const char *output;  /* whole: the winner's first text; otherwise its answer */
	size_t winner;       /* index of the first candidate in the winning bucket */
	double agreement;    /* winning weight / weight of all candidates */
	int confident;       /* agreement >= min_agreement and no tie for first */
	size_t nvalid;       /* candidates with an extractable answer */
	struct vote_bucket *buckets; /* by weight, descending; ties by first */
	size_t nbuckets;
};

/* Votes with node's extract, weights (default 1) and min_agreement. Ties
 * go to the answer seen first. All memory from a. Returns 0; 1 when no
 * candidate has an extractable answer (out->nvalid == 0: nothing to
 * count, which the node reports as a degraded vote); -1 when memory ran
 * out. */
int vote_run(const struct wf_node *node, const struct vote_candidate *c, size_t n,
	     struct arena *a, struct vote_result *out);

/* The weight of a vote by model under node's weights: as written, 1 when
 * not written (or model is NULL), 0 when written zero, negative or not
 * finite, which removes the voter. */
double vote_weight(const struct wf_node *node, const char *model);

#endif
