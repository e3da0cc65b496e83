/* The ready queue over the DAG and the loop's turns: one thread, one
 * loop; a node starts the moment its last input is done. */
#include "../common/clock.h"
#include "run.h"

/* Without a wake pipe the interrupt flag is polled this often. */
#define POLL_SLICE_MS 100

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

static int interrupted(struct run *r)
{
	return r->opts->interrupt && *r->opts->interrupt;
}

/* Nothing can move: no attempt in flight, no timer, no ready node. Only
 * a bug gets here; end the run rather than spin. */
static void stalled(struct run *r)
{
	for (size_t i = 0; i < r->wf->nnodes; i++)
		if (!is_terminal(r->set.nodes[i].status))
			node_fail(&r->set, &r->set.nodes[i], "internal",
				  "internal error: the run stalled");
}

static int poll_timeout(struct run *r)
{
	int64_t next = loop_timer_next(r->loop);
	int64_t t = POLL_SLICE_MS;
	if (r->opts->wake_fd >= 0 && !r->progress)
		t = 60000;
	if (next >= 0) {
		int64_t d = next - clock_ms();
		if (d < t)
			t = d < 0 ? 0 : d;
	}
	if (r->progress && t > POLL_SLICE_MS)
		t = POLL_SLICE_MS;
	return (int)t;
}

/* Whether the run must stop now; stops it if so. */
static int run_stopping(struct run *r)
{
	if (interrupted(r)) {
		r->interrupted = 1;
		stop_all(r, ERR_CANCELLED, "interrupted");
		return 1;
	}
	if (r->wall_hit) {
		stop_all(r, ERR_TIMEOUT, "the run's wall-time limit passed (--limit wall)");
		return 1;
	}
	return 0;
}

/* Nothing in flight, no timer armed, nothing ready: pump once more, and
 * if still nothing can move the run has stalled. Returns 1 to stop. */
static int run_idle(struct run *r)
{
	calls_pump(&r->calls);
	if (!loop_transfers(r->loop) && r->ready_head == r->ready_tail &&
	    loop_timer_next(r->loop) < 0 && r->nodes_left > 0) {
		stalled(r);
		return 1;
	}
	return 0;
}

void run_loop(struct run *r)
{
	while (r->nodes_left > 0) {
		if (run_stopping(r))
			break;
		while (r->ready_head < r->ready_tail)
			node_start(&r->set, r->ready[r->ready_head++]);
		/* Pump after the timers and the reaping: a retry whose backoff
		 * ended and the fallback of a call that just failed queue their
		 * calls there, and must start now, not after the next event. */
		loop_timers_run(r->loop, clock_ms());
		loop_reap(r->loop);
		calls_pump(&r->calls);
		/* A timer may have ended the run (--limit wall): act on it now,
		 * not after the next socket event or timer. */
		if (r->nodes_left == 0 || r->wall_hit || interrupted(r))
			continue;
		if (r->ready_head < r->ready_tail)
			continue;
		if (!loop_transfers(r->loop) && loop_timer_next(r->loop) < 0) {
			if (run_idle(r))
				break;
			continue;
		}
		loop_wait(r->loop, r->calls.pump_more ? 0 : poll_timeout(r));
		progress_update(r->progress, 0);
	}
	progress_update(r->progress, 1);
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
