/* The engine: one loop, one set of connections and one pool of per-model
 * limits for any number of runs. Runs are submitted from any thread (a
 * locked queue and an eventfd that wakes the loop); everything else
 * happens on the thread that drives quorum_engine_run. quorum_run is a
 * one-run use of it. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "run.h"

/* Runs that draw progress, or whose interrupt flag no descriptor wakes,
 * have the loop look at them this often; otherwise it sleeps until a
 * socket, a timer or a wakeup. */
#define POLL_SLICE_MS 100
#define IDLE_WAIT_MS 60000

struct entry {
	struct quorum_report *rep;
	const struct workflow *wf;
	const struct quorum_options *opts;
	quorum_done_fn *done;
	void *ctx;
	struct entry *next;
};

struct quorum_engine {
	struct arena *arena;          /* the pool's model states */
	struct loop *loop;
	struct pool pool;
	int wake_fd;                  /* eventfd: a submission, or a wakeup */
	pthread_mutex_t lock;         /* guards queued */
	struct entry *queued, **queued_tail;
	struct entry *active;         /* loop thread only */
	size_t nactive;
};

struct quorum_engine *quorum_engine_new(int wake_fd)
{
	struct quorum_engine *e = q_calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->wake_fd = -1;
	e->queued_tail = &e->queued;
	if (pthread_mutex_init(&e->lock, NULL)) {
		q_free(e);
		return NULL;
	}
	if (!(e->arena = arena_new()) || !(e->loop = loop_new()) ||
	    (e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    loop_watch(e->loop, e->wake_fd) || loop_watch(e->loop, wake_fd)) {
		quorum_engine_free(e);
		return NULL;
	}
	pool_init(&e->pool, e->arena, e->loop);
	return e;
}

void quorum_engine_wakeup(struct quorum_engine *e)
{
	uint64_t one = 1;
	if (write(e->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: the loop is already due to wake */
	}
}

int quorum_engine_submit(struct quorum_engine *e, const struct quorum_workflow *qw,
			 const struct quorum_options *o, quorum_done_fn *done, void *ctx,
			 char **errors)
{
	if (run_precheck(qw->wf, o, errors))
		return -1;
	struct entry *en = q_calloc(1, sizeof(*en));
	struct quorum_report *rep = en ? report_new(o, errors) : NULL;
	if (!rep) {
		if (!en)
			run_set_error(errors, "quorum: out of memory submitting the run%s", "", 0);
		q_free(en);
		return -1;
	}
	*en = (struct entry){rep, qw->wf, o, done, ctx, NULL};
	pthread_mutex_lock(&e->lock);
	*e->queued_tail = en;
	e->queued_tail = &en->next;
	pthread_mutex_unlock(&e->lock);
	quorum_engine_wakeup(e);
	return 0;
}

/* Hands a run's report to its owner and forgets the run. */
static void entry_done(struct entry *en, struct quorum_report *rep, const char *error)
{
	quorum_done_fn *done = en->done;
	void *ctx = en->ctx;
	q_free(en);
	done(rep, error, ctx);
}

/* Starts the runs submitted since the last turn (loop thread). */
static void take_queued(struct quorum_engine *e)
{
	pthread_mutex_lock(&e->lock);
	struct entry *en = e->queued;
	e->queued = NULL;
	e->queued_tail = &e->queued;
	pthread_mutex_unlock(&e->lock);
	while (en) {
		struct entry *next = en->next;
		struct run *r = &en->rep->run;
		if (loop_watch(e->loop, en->opts->wake_fd) ||
		    run_setup(r, en->wf, en->opts, e->loop, &e->pool)) {
			quorum_report_free(en->rep);
			entry_done(en, NULL, "quorum: out of memory setting up the run\n");
		} else {
			trace_event(&r->trace, "run_start", "\"workflow\":\"%s\",\"nodes\":%zu",
				    trace_str(r->arena, en->wf->name), en->wf->nnodes);
			en->next = e->active;
			e->active = en;
			e->nactive++;
		}
		en = next;
	}
}

/* Every active run's own part of the turn. Returns whether any moved. */
static int step_runs(struct quorum_engine *e)
{
	int moved = 0;
	for (struct entry *en = e->active; en; en = en->next)
		moved |= run_step(&en->rep->run);
	return moved;
}

/* Hands back the runs that ended this turn. */
static void finish_runs(struct quorum_engine *e)
{
	for (struct entry **p = &e->active; *p;) {
		struct entry *en = *p;
		struct run *r = &en->rep->run;
		if (r->nodes_left > 0) {
			progress_update(r->progress, 0);
			p = &en->next;
			continue;
		}
		progress_update(r->progress, 1);
		*p = en->next;
		e->nactive--;
		if (report_finish(en->rep)) {
			quorum_report_free(en->rep);
			entry_done(en, NULL, "quorum: out of memory writing the run's report\n");
		} else {
			entry_done(en, en->rep, NULL);
		}
	}
}

/* Nothing in flight, no timer, nothing ready: only a bug gets here. The
 * runs end rather than spin. Returns whether it stalled them. */
static int stalled(struct quorum_engine *e)
{
	if (loop_transfers(e->loop) || loop_timer_next(e->loop) >= 0)
		return 0;
	for (struct entry *en = e->active; en; en = en->next)
		if (run_has_ready(&en->rep->run))
			return 0;
	calls_pump(&e->pool);
	if (loop_transfers(e->loop) || loop_timer_next(e->loop) >= 0)
		return 0;
	for (struct entry *en = e->active; en; en = en->next)
		run_stall(&en->rep->run);
	return 1;
}

static int queue_empty(struct quorum_engine *e)
{
	pthread_mutex_lock(&e->lock);
	int empty = !e->queued;
	pthread_mutex_unlock(&e->lock);
	return empty;
}

/* How long the loop may sleep: until the nearest timer, at most until
 * deadline (ms, monotonic; -1 none), and a slice when a run wants it. */
static int wait_ms(struct quorum_engine *e, int64_t deadline)
{
	int64_t now = clock_ms(), t = IDLE_WAIT_MS;
	for (struct entry *en = e->active; en; en = en->next)
		if (run_needs_polling(&en->rep->run))
			t = POLL_SLICE_MS;
	int64_t next = loop_timer_next(e->loop);
	if (next >= 0 && next - now < t)
		t = next - now;
	if (deadline >= 0 && deadline - now < t)
		t = deadline - now;
	return t < 0 ? 0 : (int)t;
}

/* One turn of the loop: new runs, every run's step, due timers, finished
 * transfers, queued calls, ended runs; then a wait unless work is ready. */
static void engine_turn(struct quorum_engine *e, int64_t deadline)
{
	take_queued(e);
	int moved = step_runs(e);
	/* Pump after the timers and the reaping: a retry whose backoff ended
	 * and the fallback of a call that just failed queue their calls
	 * there, and must start now, not after the next event. */
	loop_timers_run(e->loop, clock_ms());
	loop_reap(e->loop);
	calls_pump(&e->pool);
	moved |= step_runs(e);
	finish_runs(e);
	if (moved || !e->active)
		return;
	if (stalled(e)) {
		finish_runs(e);
		return;
	}
	loop_wait(e->loop, e->pool.pump_more ? 0 : wait_ms(e, deadline));
}

size_t quorum_engine_run(struct quorum_engine *e, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : clock_ms() + timeout_ms;
	for (;;) {
		engine_turn(e, deadline);
		int idle = !e->active && queue_empty(e);
		if (idle || (deadline >= 0 && clock_ms() >= deadline))
			break;
		if (!e->active) {
			/* Nothing to run: sleep until a submission or a wakeup. */
			loop_wait(e->loop, wait_ms(e, deadline));
		}
	}
	pthread_mutex_lock(&e->lock);
	size_t left = e->nactive;
	for (struct entry *en = e->queued; en; en = en->next)
		left++;
	pthread_mutex_unlock(&e->lock);
	return left;
}

/* Ends every run still open, as an interrupt would, and hands each back. */
static void engine_drain(struct quorum_engine *e)
{
	take_queued(e);
	for (struct entry *en = e->active; en; en = en->next) {
		en->rep->run.cancel = 1;
		run_step(&en->rep->run);
	}
	finish_runs(e);
}

void quorum_engine_free(struct quorum_engine *e)
{
	if (!e)
		return;
	if (e->loop)
		engine_drain(e);
	pool_release(&e->pool);
	loop_free(e->loop);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	arena_free(e->arena);
	pthread_mutex_destroy(&e->lock);
	q_free(e);
}

/* quorum_run's done: the one report, or why there is none. */
struct one_run {
	struct quorum_report *rep;
	char *error;
};

static void one_done(struct quorum_report *rep, const char *error, void *ctx)
{
	struct one_run *one = ctx;
	one->rep = rep;
	if (error)
		one->error = strdup(error);
}

struct quorum_report *quorum_run(const struct quorum_workflow *qw,
				 const struct quorum_options *o, char **errors)
{
	struct quorum_engine *e = quorum_engine_new(o->wake_fd);
	struct one_run one = {0};
	if (!e) {
		run_set_error(errors, "quorum: cannot start the engine (out of memory, or of file descriptors)%s", "", 0);
		return NULL;
	}
	if (quorum_engine_submit(e, qw, o, one_done, &one, errors)) {
		quorum_engine_free(e);
		return NULL;
	}
	quorum_engine_run(e, -1);
	quorum_engine_free(e);
	if (!one.rep && errors)
		*errors = one.error ? one.error : strdup("quorum: the run did not start\n");
	else
		free(one.error);
	return one.rep;
}

int quorum_engine_set_shared(struct quorum_engine *e, const char *url, char **errors)
{
	char why[512];
	struct shared *s = NULL;
	if (url && !shared_available()) {
		snprintf(why, sizeof(why), "this build has no Redis support (built without "
			 "hiredis)");
		run_set_error(errors, "quorum: --shared: %s", why, 0);
		return -1;
	}
	if (url && !(s = shared_open(url, why, sizeof(why)))) {
		run_set_error(errors, "quorum: --shared %s", why, 0);
		return -1;
	}
	shared_free(e->pool.shared);
	e->pool.shared = s;
	return 0;
}

void quorum_engine_set_shared_budget(struct quorum_engine *e, double usd)
{
	e->pool.shared_budget_usd = usd > 0 ? usd : 0;
}

struct quorum_report *quorum_engine_run_one(struct quorum_engine *e,
					    const struct quorum_workflow *qw,
					    const struct quorum_options *o, char **errors)
{
	struct one_run one = {0};
	if (quorum_engine_submit(e, qw, o, one_done, &one, errors))
		return NULL;
	quorum_engine_run(e, -1);
	if (!one.rep && errors)
		*errors = one.error ? one.error : strdup("quorum: the run did not start\n");
	else
		free(one.error);
	return one.rep;
}
