#ifndef QUORUM_RUN_H
#define QUORUM_RUN_H
/* One run of a workflow: the ready queue over the DAG, the loop turns,
 * interruption and the wall limit, the status, and what the run writes
 * (report, summary, totals). It owns everything of the run (one arena)
 * and lends the rooms below it what they need: the loop to the calls,
 * the call context to the nodes, the nodeset to the node kinds. Loop
 * thread only. */
#include <stdint.h>

#include "../common/arena.h"
#include "../common/redact.h"
#include "../dag/workflow.h"
#include "budget.h"
#include "call.h"
#include "loop.h"
#include "node.h"
#include "outstream.h"
#include "progress.h"
#include "quorum.h"
#include "trace.h"
#include "verbose.h"

/* The public handle of a loaded workflow. */
struct quorum_workflow {
	struct workflow *wf;
};

struct run {
	struct arena *arena;
	char id[33];                  /* 128 random bits in hex: the report's
				       * run_id, what `quorum feedback` names */
	const struct workflow *wf;
	const struct quorum_options *opts;
	struct quorum_limits lim;
	int64_t t0;                   /* ms, monotonic */
	int64_t t0_wall_us;
	struct loop *loop;            /* the engine's */
	struct pool *pool;            /* the engine's model states */
	struct trace trace;
	struct budget budget;
	struct redact redact;         /* the keys this run may send */
	struct verbose *verbose;      /* --verbose, or NULL */
	struct model_state **models;  /* by wf model idx, in the pool */
	struct call_ctx calls;
	struct nodeset set;
	struct progress *progress;
	struct node_state **ready;    /* ready queue, FIFO */
	size_t ready_head, ready_tail;
	size_t nodes_left;            /* not yet ok/failed/skipped */
	struct timer_entry wall;      /* --limit wall */
	int wall_hit;
	int interrupted;
	int stopped;                  /* interrupted or past its wall limit */
	int cancel;                   /* the engine ends it (as an interrupt) */
	struct call_settings request; /* the caller's sampling (quorum_options) */
	struct outstream out;         /* the answer streamed (on_output_delta) */
};

/* A run's report: the run itself, and what the report says of it. */
struct quorum_report {
	struct run run;
	const char *status;
	const char *json;
	const char *output;   /* the answer, any key in it masked; NULL: none */
	int64_t wall_ms;
	int exit_code;
};

/* runapi.c */
/* A report for a run of o, its trace file opened (any thread). Returns
 * new (quorum_report_free), or NULL with *errors set. */
struct quorum_report *report_new(const struct quorum_options *o, char **errors);
/* Sets the run up on loop l with the engine's model pool (loop thread).
 * Returns 0, or -1 when memory ran out. */
int run_setup(struct run *r, const struct workflow *wf, const struct quorum_options *o,
	      struct loop *l, struct pool *pool);
/* The report of a run that ended: status, output, JSON; the trace closed.
 * Returns 0, or -1 when memory ran out. */
int report_finish(struct quorum_report *rep);

/* api.c */
/* Everything that can be refused before a call: unknown or missing
 * inputs, missing keys, a fan-out past its limit, a base_url that
 * expands to something other than http(s). Returns 0, or -1 with *errors
 * set (new; q_free). */
int run_precheck(const struct workflow *wf, const struct quorum_options *o, char **errors);
/* Sets *errors (when errors is not NULL) to fmt with arg, ": strerror(err)"
 * when err is not 0, and a newline; made with libc's strdup, so that a
 * message about memory running out does not need the allocator that
 * failed (quorum_free frees it). */
void run_set_error(char **errors, const char *fmt, const char *arg, int err);
/* routerfile.c: reads the learned router of every `score` condition into
 * the workflow (threshold from the file when the workflow writes none).
 * Adds a diagnostic at the condition for each problem; returns 0 or -1. */
int routers_load(struct workflow *wf, struct qdiags *d);
/* A router file's text (NUL-terminated, q_free), up to its size limit.
 * NULL with errno set. */
char *router_file_read(const char *path, size_t *len);
/* The query and inputs of a run from its options (the query from an
 * input named query, else the input's default, else ""). */
void run_inputs(const struct workflow *wf, const struct quorum_options *o,
		struct nodeset *set);

/* run.c: loop thread only */
/* The run's own part of a loop turn: stops it when interrupted or past
 * its wall limit, else starts the nodes that became ready. Returns
 * whether it did anything. */
int run_step(struct run *r);
/* Whether a node is ready to start. */
int run_has_ready(const struct run *r);
/* Whether the run wants the loop to wake every 100 ms (progress to draw,
 * or an interrupt flag with no descriptor to wake it). */
int run_needs_polling(const struct run *r);
/* Ends every node still open: nothing can move any more, which only a
 * bug can cause; the run ends rather than spin. */
void run_stall(struct run *r);
/* nodeset.ended: a node ended; its dependents start or are skipped. */
void run_node_ended(void *owner, struct node_state *ns);
/* The run's status word, from its nodes and calls. */
const char *run_status(const struct run *r);
/* The run's answer: the output node's output ("" when it has none), or
 * NULL when that node did not end ok. */
const char *run_output(const struct run *r);
/* Milliseconds since the run started. */
int64_t run_now(const struct run *r);

/* report.c */
/* The run report (the contract's JSON), keys masked, in the arena; NULL
 * when memory ran out. */
char *report_build_json(struct run *r, const char *status, int64_t wall_ms);
/* "7 calls, 3,412 tokens, $0.0012, 2.4 s". Returns new (q_free), or NULL. */
char *report_totals_line(const struct run *r, int64_t wall_ms);
/* The same totals as numbers. */
void report_usage(const struct run *r, int64_t wall_ms, struct quorum_usage *u);
/* Whether the call's first failure says something its final state does
 * not (a fallback answered, or the first error was another). */
int response_first_differs(const struct response *p);

/* explain.c: for a run that is not ok, what went wrong in words (stderr);
 * NULL for an ok run. Returns new (q_free). */
char *explain_run(struct run *r, const char *status, int color);

#endif
