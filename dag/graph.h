#ifndef QUORUM_DAG_GRAPH_H
#define QUORUM_DAG_GRAPH_H
#include <stddef.h>

#include "../common/buf.h"

/* Internal to dag/: the graph algorithms validation needs, over an
 * abstract graph of vertices 0..n-1 (nodes and their dependencies, models
 * and their fallbacks), so they know nothing of the workflow. graph.c also
 * draws the workflow (workflow_graph in workflow.h). */

struct graph_walk {
	size_t n;
	void *ctx;                                          /* passed to each */
	size_t (*degree)(void *ctx, size_t u);              /* edges out of u */
	size_t (*succ)(void *ctx, size_t u, size_t k);      /* u's k-th edge */
	/* A cycle: path[0..len), each vertex with an edge to the next and the
	 * last with one to the first. */
	void (*cycle)(void *ctx, const size_t *path, size_t len);
};

/* A depth-first walk: fills order[0..n) with the vertices in post-order
 * (each after every vertex it has an edge to: a topological order when
 * there is no cycle), and reports each cycle whose vertices were in no
 * cycle reported before. Iterative, so a long chain cannot exhaust the
 * stack. Returns the number of cycles, or -1 when memory ran out. */
int graph_walk(const struct graph_walk *g, size_t *order);

/* Writes the cycle path[0..len) as "a -> b -> a", from its vertex with the
 * lowest index, in the path's direction or (reverse) against it, back to
 * that vertex; name gives a vertex's name. Returns the start vertex. */
size_t graph_cycle_text(struct buf *b, const size_t *path, size_t len, int reverse,
			const char *(*name)(void *ctx, size_t u), void *ctx);

#endif
