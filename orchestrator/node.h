#ifndef QUORUM_NODE_H
#define QUORUM_NODE_H
/* How the engine runs one node kind: start it, and hear about each of its
 * calls as it ends. A kind asks for calls with node_call, which may be
 * done in several rounds (a judge re-asked, a cascade escalating, a plan's
 * subtasks as their inputs finish); it ends the node with node_finish.
 * Merge rules live in aggregators/; these files only wire them. */
#include "run.h"

struct kind {
	void (*start)(struct run *r, struct node_state *ns);
	/* One of the node's calls ended: ok, failed or cancelled. */
	void (*call_done)(struct run *r, struct node_state *ns, struct call *c);
};

extern const struct kind kind_generate, kind_synthesize, kind_vote, kind_template;
extern const struct kind kind_judge, kind_rank, kind_cascade, kind_route, kind_plan;

/* The end of every "... prompt is too large" message. */
#define PROMPT_TOO_LARGE \
	" is larger than the prompt_bytes limit (raise it with --limit prompt_bytes=N)"

/* Renders t into the run arena; NULL renders NULL. On failure returns
 * NULL and sets *err to a message. */
const char *node_render(struct run *r, const struct tmpl *t, const char **err);
/* The candidates of every `from` node, in order: texts and the models
 * that wrote them, in the run arena. Returns how many. */
size_t node_gather(struct run *r, const struct wf_node *n, const char ***texts,
		   const char ***models);
/* Makes room for up to max calls in the node's record. Returns 0 or -1. */
int node_reserve(struct run *r, struct node_state *ns, size_t max);
/* Starts a call of the node (queued for its model). role names what it is
 * for in the report (NULL: an answer), tag is the kind's. Returns the
 * call, or NULL when the room reserved is used up or memory ran out. */
struct call *node_call(struct run *r, struct node_state *ns, const struct wf_model *m,
		       const char *system, const char *prompt, int tag, const char *role);
/* Sets what the node offers downstream as candidates. */
void node_set_candidates(struct node_state *ns, const char **texts,
			 const char **models, size_t n);
/* The question a node's own prompt asks: its rendered `prompt`, or the
 * query. NULL with *err set when rendering failed. */
const char *node_question(struct run *r, struct node_state *ns, const char **err);
/* A seed for shuffles that differs per run and per node. */
uint64_t node_seed(struct run *r, struct node_state *ns);
/* Copies a buffer into the run arena ("" when empty). */
const char *node_keep(struct run *r, const struct buf *b);
/* node_route.c: the model route node n sends prompt to (NULL: none);
 * *rule gets what fired, never the matched text. */
const struct wf_model *route_choose(struct run *r, const struct wf_node *n,
				    const char *prompt, const char **rule);
/* The number of the node's calls that succeeded, and the first text. */
size_t node_ok_count(const struct node_state *ns, const char **first);

#endif
