#ifndef QUORUM_NODE_H
#define QUORUM_NODE_H
/* Nodes: what every node kind shares, and the kinds behind one small
 * interface. A kind is started, asks for calls with node_call (in as many
 * rounds as it likes: a judge re-asked, a cascade escalating, a plan's
 * subtasks as their inputs finish), hears about each call as it ends, and
 * ends the node with node_finish. Merge rules live in aggregators/; these
 * files only wire them. A node knows the run only through its nodeset:
 * when a node ends, the run is told through nodeset.ended. */
#include <stdint.h>

#include "../common/arena.h"
#include "../dag/workflow.h"
#include "call.h"
#include "quorum.h"
#include "trace.h"

enum node_status { NS_WAITING, NS_RUNNING, NS_OK, NS_FAILED, NS_SKIPPED };

struct nodeset;

struct node_state {
	const struct wf_node *node;
	struct nodeset *set;          /* the run's nodes this one belongs to */
	enum node_status status;
	size_t pending_deps;
	struct node_state **dependents;
	size_t ndependents;
	size_t nsinks;                /* dependents not yet skipped (need) */
	struct call **calls;          /* every call the node made, in order */
	size_t ncalls, cap;
	size_t outstanding;           /* calls not finished */
	void *kstate;                 /* the node kind's own state */
	/* What the node offers downstream as candidates when that is not
	 * simply its successful responses (judge: the pick, plan: results). */
	const char **cand, **cand_models;
	size_t ncand;
	int has_cand;
	const char *report_json;      /* the kind's own report fields, or NULL */
	const char *output;
	const char *error;            /* why the node failed or was skipped */
	const char *err_class;        /* its class: a call's class, "dependency",
				       * "cancelled", "internal", ...; NULL while ok */
	int err_http;                 /* the HTTP status behind it; 0: none */
	const char *degraded;         /* why an aggregator degraded, or NULL */
	int confident;                /* -1: not a vote, judge or rank */
	double agreement;
	const void *vote;             /* struct vote_result *, for the report */
	int64_t started_ms, ended_ms; /* since run start; -1 not yet */
	struct timer_entry deadline;  /* the node's `timeout` */
	int timed_out;
	int decided;                  /* a `stop_when: decided` vote cut it short */
};

/* The nodes of one run and what their kinds may see of it. */
struct nodeset {
	struct arena *arena;
	const struct workflow *wf;
	struct node_state *nodes;     /* by wf node idx */
	const char *query;
	const struct quorum_input *inputs;
	size_t ninputs;
	size_t prompt_bytes;          /* --limit prompt_bytes */
	uint64_t seed;                /* shuffles differ per run */
	struct trace *trace;
	const char *run_id;           /* the report's */
	struct call_ctx *calls;       /* where node_call's calls go */
	int degraded;                 /* an aggregator degraded, or a node failed
				       * under continue_on_error */
	/* The run's side: a node ended. */
	void (*ended)(void *owner, struct node_state *ns);
	void *owner;
};

/* The response record of call i of the node. */
#define NODE_RESP(ns, i) (&(ns)->calls[i]->resp)

/* Starts the node's kind (its `timeout` armed). */
void node_start(struct nodeset *g, struct node_state *ns);
/* Ends the node (once; later calls do nothing). A node that did not end
 * ok without a class set takes its first failed call's. Then the run is
 * told (nodeset.ended), which starts or skips its dependents. */
void node_finish(struct nodeset *g, struct node_state *ns, enum node_status st,
		 const char *error);
/* Fails the node with an error class of its own ("too_large",
 * "malformed", "internal", ...). */
void node_fail(struct nodeset *g, struct node_state *ns, const char *cls, const char *msg);
/* Marks an aggregator that went on with less than it wanted (no answer to
 * vote on, no ballot, no verdict): confident false, why in the report,
 * and the run partial. The node still ends ok. */
void node_degrade(struct nodeset *g, struct node_state *ns, const char *why);
/* Ends a node nobody needs any more (skipped, class "cancelled") and
 * cancels its calls. */
void node_cancel(struct nodeset *g, struct node_state *ns, const char *why);

struct kind {
	void (*start)(struct nodeset *g, struct node_state *ns);
	/* One of the node's calls ended: ok, failed or cancelled. */
	void (*call_done)(struct nodeset *g, struct node_state *ns, struct call *c);
};

extern const struct kind kind_generate, kind_synthesize, kind_vote, kind_template;
extern const struct kind kind_judge, kind_rank, kind_cascade, kind_route, kind_plan;
extern const struct kind kind_embed, kind_bandit;

/* The end of every "... prompt is too large" message. */
#define PROMPT_TOO_LARGE \
	" is larger than the prompt_bytes limit (raise it with --limit prompt_bytes=N)"

/* Renders t into the run arena; NULL renders NULL. On failure returns
 * NULL and sets *err to a message. */
const char *node_render(struct nodeset *g, const struct tmpl *t, const char **err);
/* The candidates of every `from` node, in order: texts and the models
 * that wrote them, in the run arena. Returns how many. */
size_t node_gather(struct nodeset *g, const struct wf_node *n, const char ***texts,
		   const char ***models);
/* Makes room for up to max calls in the node's record. Returns 0 or -1. */
int node_reserve(struct nodeset *g, struct node_state *ns, size_t max);
/* Starts a call of the node (queued for its model). role names what it is
 * for in the report (NULL: an answer), tag is the kind's. Returns the
 * call, or NULL when memory ran out. */
struct call *node_call(struct nodeset *g, struct node_state *ns, const struct wf_model *m,
		       const char *system, const char *prompt, int tag, const char *role);
/* Starts an embeddings call of the node (role "embedding") for texts[0..n)
 * (borrowed for the call's life). Its answer is packed vectors
 * (embed_unpack); it never counts as a candidate. Returns the call, or
 * NULL when memory ran out. */
struct call *node_embed(struct nodeset *g, struct node_state *ns, const struct wf_model *m,
			const char *const *texts, size_t n, int tag);
/* Sets what the node offers downstream as candidates. */
void node_set_candidates(struct node_state *ns, const char **texts,
			 const char **models, size_t n);
/* The question a node's own prompt asks: its rendered `prompt`, or the
 * query. NULL with *err set when rendering failed. */
const char *node_question(struct nodeset *g, struct node_state *ns, const char **err);
/* A seed for shuffles that differs per run and per node. */
uint64_t node_seed(const struct nodeset *g, const struct node_state *ns);
/* Copies a buffer into the run arena ("" when empty). */
const char *node_keep(struct nodeset *g, const struct buf *b);
/* The number of the node's calls that succeeded, and the first text. */
size_t node_ok_count(const struct node_state *ns, const char **first);
/* node_route.c: the model route node n sends prompt to (NULL: none);
 * *rule gets what fired, never the matched text. */
const struct wf_model *route_choose(struct nodeset *g, const struct wf_node *n,
				    const char *prompt, const char **rule);
/* The same for a plan's subtask, with the planner's estimates (-1: none). */
const struct wf_model *route_choose_estimated(struct nodeset *g, const struct wf_node *n,
					      const char *prompt, double difficulty, long tokens,
					      const char **rule);
struct route_facts;
/* Sets f up to test node routes of the run g on prompt (borrowed): the
 * run's inputs answer `input` conditions. */
void route_facts_of_run(struct nodeset *g, struct route_facts *f, const char *prompt);
/* The system message an ask route sends: the node's (NULL: none), then
 * the instruction to answer or reply with decline alone. In a; NULL when
 * memory ran out. */
const char *route_ask_system(struct arena *a, const char *system, const char *decline);

#endif
