/* The ready queue over the DAG: a node starts the moment its last input
 * is done; what stops a run; its status. The engine turns the loop. */
#include "../common/clock.h"
#include "run.h"

int64_t run_now(const struct run *r) { return clock_ms() - r->t0; }

static void ready_push(struct run *r, struct node_state *ns)
{
	r->ready[r->ready_tail++] = ns;
}

static int is_terminal(enum node_status st)
{
	return st == NS_OK || st == NS_FAILED || st == NS_SKIPPED;
}

/* A node whose every consumer was skipped is no longer needed, unless it
 * is the run's output: its calls in flight are cancelled. */
static void release_upstream(struct run *r, struct node_state *ns)
{
	for (size_t i = 0; i < ns->node->ndeps; i++) {
		struct node_state *u = &r->set.nodes[ns->node->deps[i]->idx];
		if (u->nsinks == 0 || --u->nsinks > 0)
			continue;
		if (u->node == r->wf->output || is_terminal(u->status))
			continue;
		node_cancel(&r->set, u, "no node needs its output any more");
	}
}

/* Lets the dependents of a node that ended go on: a node that is ok, or
 * that failed with continue_on_error (its output then renders empty),
 * counts as done; otherwise they are skipped, naming it. */
static void release_dependents(struct run *r, struct node_state *ns)
{
	enum node_status st = ns->status;
	int pass = st == NS_OK || (st == NS_FAILED && ns->node->continue_on_error);
	for (size_t i = 0; i < ns->ndependents; i++) {
		struct node_state *d = ns->dependents[i];
		if (pass) {
			if (--d->pending_deps == 0 && d->status == NS_WAITING)
				ready_push(r, d);
			continue;
		}
		if (is_terminal(d->status))
			continue;
		d->err_class = "dependency";
		node_finish(&r->set, d, NS_SKIPPED,
			    arena_printf(r->arena, "needs '%s', which %s", ns->node->id,
					 st == NS_FAILED ? "failed" : "was skipped"));
	}
	if (!pass)
		release_upstream(r, ns);
}

void run_node_ended(void *owner, struct node_state *ns)
{
	struct run *r = owner;
	r->nodes_left--;
	progress_node_done(r->progress, ns);
	if (r->opts->on_node_done)
		r->opts->on_node_done(ns->node->id, ns->status == NS_OK ? "ok"
					    : ns->status == NS_FAILED ? "failed" : "skipped",
				      r->opts->on_node_done_ctx);
	release_dependents(r, ns);
}

/* Ends the run now: a signal (interrupted) or the wall-time limit. What
 * finished stays in the report; calls in flight are cancelled. */
static void stop_all(struct run *r, enum err_class why, const char *msg)
{
	trace_event(&r->trace, "stop", "\"reason\":\"%s\"", why == ERR_TIMEOUT ? "wall" : "signal");
	const char *cls = why == ERR_TIMEOUT ? "timeout" : "cancelled";
	for (size_t i = 0; i < r->wf->nnodes; i++) {
		struct node_state *ns = &r->set.nodes[i];
		if (!is_terminal(ns->status))
			ns->err_class = cls;
		if (ns->status == NS_RUNNING)
			node_finish(&r->set, ns, NS_FAILED, msg);
		else if (ns->status == NS_WAITING)
			node_finish(&r->set, ns, NS_SKIPPED, msg);
		for (size_t k = 0; k < ns->ncalls; k++)
			call_cancel(ns->calls[k], why, msg);
	}
}

static int interrupted(const struct run *r)
{
	return r->cancel || (r->opts->interrupt && *r->opts->interrupt);
}

void run_stall(struct run *r)
{
	for (size_t i = 0; i < r->wf->nnodes; i++)
		if (!is_terminal(r->set.nodes[i].status))
			node_fail(&r->set, &r->set.nodes[i], "internal",
				  "internal error: the run stalled");
}

int run_needs_polling(const struct run *r)
{
	return r->progress || (r->opts->interrupt && r->opts->wake_fd < 0);
}

int run_has_ready(const struct run *r)
{
	return r->ready_head < r->ready_tail;
}

int run_step(struct run *r)
{
	if (r->nodes_left == 0 || r->stopped)
		return 0;
	if (interrupted(r)) {
		r->interrupted = r->stopped = 1;
		stop_all(r, ERR_CANCELLED, "interrupted");
		return 1;
	}
	if (r->wall_hit) {
		r->stopped = 1;
		stop_all(r, ERR_TIMEOUT, "the run's wall-time limit passed (--limit wall)");
		return 1;
	}
	int moved = 0;
	while (r->ready_head < r->ready_tail) {
		node_start(&r->set, r->ready[r->ready_head++]);
		moved = 1;
	}
	return moved;
}

const char *run_output(const struct run *r)
{
	const struct node_state *out = &r->set.nodes[r->wf->output->idx];
	if (out->status != NS_OK)
		return NULL;
	return out->output ? out->output : "";
}

const char *run_status(const struct run *r)
{
	if (r->interrupted)
		return "interrupted";
	if (r->budget.hit)
		return "budget_exceeded";
	if (!run_output(r))
		return "failed";
	if (r->calls.any_failed || r->set.degraded)
		return "partial";
	for (size_t i = 0; i < r->wf->nnodes; i++)
		if (r->set.nodes[i].status != NS_OK)
			return "partial";
	return "ok";
}
