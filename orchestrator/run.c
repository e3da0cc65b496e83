/* The ready queue over the DAG and the event loop: one thread, one curl
 * multi handle, curl_multi_poll with the nearest timer as its timeout. A
 * node starts the moment its last input is done. */
#include "../common/clock.h"
#include "run.h"

/* Without a wake pipe the interrupt flag is polled this often. */
#define POLL_SLICE_MS 100

int64_t run_now(const struct run *r) { return clock_ms() - r->t0; }

double run_random(struct run *r)
{
	/* xorshift64*: good enough for jitter, and reproducible per seed. */
	uint64_t x = r->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

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
		struct node_state *u = &r->nodes[ns->node->deps[i]->idx];
		if (u->nsinks == 0 || --u->nsinks > 0)
			continue;
		if (u->node == r->wf->output || is_terminal(u->status))
			continue;
		node_cancel(r, u, "no node needs its output any more");
	}
}

/* The class of a node that failed without naming one: that of its first
 * call that failed (an auth error sinks a generate as "auth"), else
 * "internal". */
static void node_infer_class(struct node_state *ns)
{
	for (size_t i = 0; i < ns->nresp; i++) {
		const struct response *p = &ns->resp[i];
		if (p->status == RESP_OK || p->err == ERR_NONE)
			continue;
		ns->err_class = err_class_name(p->err);
		ns->err_http = p->http_status;
		return;
	}
	ns->err_class = "internal";
}

void node_fail(struct run *r, struct node_state *ns, const char *cls, const char *msg)
{
	if (is_terminal(ns->status))
		return;
	ns->err_class = cls;
	node_finish(r, ns, NS_FAILED, msg);
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
		node_finish(r, d, NS_SKIPPED,
			    arena_printf(r->arena, "needs '%s', which %s", ns->node->id,
					 st == NS_FAILED ? "failed" : "was skipped"));
	}
	if (!pass)
		release_upstream(r, ns);
}

void node_finish(struct run *r, struct node_state *ns, enum node_status st,
		 const char *error)
{
	if (is_terminal(ns->status))
		return;
	ns->status = st;
	ns->error = error;
	if (st != NS_OK && !ns->err_class)
		node_infer_class(ns);
	if (st == NS_FAILED && ns->node->continue_on_error)
		r->any_degraded = 1;
	ns->ended_ms = run_now(r);
	timer_disarm(&r->timers, &ns->deadline);
	r->nodes_left--;
	trace_event(r, "node_end", "\"node\":\"%s\",\"status\":\"%s\",\"wall_ms\":%lld",
		    trace_str(r, ns->node->id),
		    st == NS_OK ? "ok" : st == NS_FAILED ? "failed" : "skipped",
		    (long long)(ns->started_ms >= 0 ? ns->ended_ms - ns->started_ms : 0));
	progress_node_done(r->progress, ns);
	release_dependents(r, ns);
}

void node_degrade(struct run *r, struct node_state *ns, const char *why)
{
	ns->degraded = why;
	ns->confident = 0;
	r->any_degraded = 1;
	trace_event(r, "degraded", "\"node\":\"%s\",\"why\":\"%s\"",
		    trace_str(r, ns->node->id), trace_str(r, why));
}

void node_cancel(struct run *r, struct node_state *ns, const char *why)
{
	if (ns->status == NS_RUNNING) {
		ns->err_class = "cancelled";
		node_finish(r, ns, NS_SKIPPED, why);
	}
	for (size_t i = 0; i < ns->ncalls; i++)
		call_cancel(ns->calls[i], ERR_CANCELLED, why);
}

/* Ends the run now: a signal (interrupted) or the wall-time limit. What
 * finished stays in the report; calls in flight are cancelled. */
static void stop_all(struct run *r, enum err_class why, const char *msg)
{
	trace_event(r, "stop", "\"reason\":\"%s\"", why == ERR_TIMEOUT ? "wall" : "signal");
	const char *cls = why == ERR_TIMEOUT ? "timeout" : "cancelled";
	for (size_t i = 0; i < r->wf->nnodes; i++) {
		struct node_state *ns = &r->nodes[i];
		if (!is_terminal(ns->status))
			ns->err_class = cls;
		if (ns->status == NS_RUNNING)
			node_finish(r, ns, NS_FAILED, msg);
		else if (ns->status == NS_WAITING)
			node_finish(r, ns, NS_SKIPPED, msg);
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
		if (!is_terminal(r->nodes[i].status))
			node_fail(r, &r->nodes[i], "internal",
				  "internal error: the run stalled");
}

static int poll_timeout(struct run *r)
{
	int64_t next = timer_next(&r->timers);
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

void run_loop(struct run *r)
{
	while (r->nodes_left > 0) {
		if (interrupted(r)) {
			r->interrupted = 1;
			stop_all(r, ERR_CANCELLED, "interrupted");
			break;
		}
		if (r->wall_hit) {
			stop_all(r, ERR_TIMEOUT, "the run's wall-time limit passed (--limit wall)");
			break;
		}
		while (r->ready_head < r->ready_tail)
			node_start(r, r->ready[r->ready_head++]);
		/* Pump after the timers and the reaping: a retry whose backoff
		 * ended and the fallback of a call that just failed queue their
		 * calls there, and must start now, not after the next event. */
		timer_run(&r->timers, clock_ms());
		loop_reap(r);
		calls_pump(r);
		if (r->nodes_left == 0)
			break;
		/* A timer may have ended the run (--limit wall): act on it now,
		 * not after the next socket event or timer. */
		if (r->wall_hit || interrupted(r))
			continue;
		if (r->ready_head < r->ready_tail)
			continue;
		if (!r->running_attempts && timer_next(&r->timers) < 0) {
			calls_pump(r);
			if (!r->running_attempts && r->ready_head == r->ready_tail &&
			    timer_next(&r->timers) < 0 && r->nodes_left > 0) {
				stalled(r);
				break;
			}
			continue;
		}
		loop_wait(r, r->pump_more ? 0 : poll_timeout(r));
		progress_update(r->progress, 0);
	}
	progress_update(r->progress, 1);
}

const char *run_output(const struct run *r)
{
	const struct node_state *out = &r->nodes[r->wf->output->idx];
	if (out->status != NS_OK)
		return NULL;
	return out->output ? out->output : "";
}

const char *run_status(const struct run *r)
{
	if (r->interrupted)
		return "interrupted";
	if (r->budget_hit)
		return "budget_exceeded";
	if (!run_output(r))
		return "failed";
	if (r->any_call_failed || r->any_degraded)
		return "partial";
	for (size_t i = 0; i < r->wf->nnodes; i++)
		if (r->nodes[i].status != NS_OK)
			return "partial";
	return "ok";
}
