/* A run from set-up to report, and reading the report. The engine
 * (engine.c) makes a report when a run is submitted, sets the run up on
 * its loop, and finishes the report when the run ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "envsubst.h"
#include "run.h"

/* The run's models in the engine's pool (their base URLs expanded), and
 * the key each may send added to the mask. */
static int models_setup(struct run *r)
{
	for (size_t i = 0; i < r->wf->nmodels; i++) {
		const struct wf_model *m = r->wf->models[i];
		size_t n = m->nendpoints ? m->nendpoints : 1;
		const char **urls = arena_alloc(r->arena, n * sizeof(*urls));
		if (!urls)
			return -1;
		for (size_t e = 0; e < n; e++)
			if (!(urls[e] = env_expand(r->arena, m->nendpoints ? m->endpoints[e].base_url
									  : m->base_url)))
				return -1;
		if (!(r->models[i] = pool_model(r->pool, m, urls)))
			return -1;
		/* Whatever key this run may send is masked in all it writes,
		 * even under --sim (the key sits in the environment). */
		const char *env = m->api_key_env;
		if (env && *env && redact_add(&r->redact, getenv(env)))
			return -1;
		for (size_t e = 0; e < m->nendpoints; e++) {
			env = m->endpoints[e].api_key_env;
			if (env && *env && redact_add(&r->redact, getenv(env)))
				return -1;
		}
	}
	return 0;
}

/* Links each node to the nodes that need it, for the ready queue and for
 * cancelling what nobody needs any more. */
static int nodes_setup(struct run *r)
{
	const struct workflow *wf = r->wf;
	struct node_state *nodes = r->set.nodes;
	for (size_t i = 0; i < wf->nnodes; i++) {
		struct node_state *ns = &nodes[i];
		ns->node = wf->nodes[i];
		ns->set = &r->set;
		ns->started_ms = ns->ended_ms = -1;
		ns->confident = -1;
		ns->deadline.pos = (size_t)-1;
		ns->pending_deps = ns->node->ndeps;
		for (size_t k = 0; k < ns->node->ndeps; k++)
			nodes[ns->node->deps[k]->idx].ndependents++;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		struct node_state *ns = &nodes[i];
		ns->dependents = arena_alloc(r->arena, (ns->ndependents + 1) * sizeof(*ns->dependents));
		if (!ns->dependents)
			return -1;
		ns->nsinks = ns->ndependents;
		ns->ndependents = 0;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		struct node_state *ns = &nodes[i];
		for (size_t k = 0; k < ns->node->ndeps; k++) {
			struct node_state *u = &nodes[ns->node->deps[k]->idx];
			u->dependents[u->ndependents++] = ns;
		}
	}
	return 0;
}

static void wall_fire(void *ctx)
{
	struct run *r = ctx;
	r->wall_hit = 1;
}

/* The caller's temperature and max_tokens, as call settings over the
 * workflow's defaults (call.c decides where they apply). */
static void request_settings(struct run *r)
{
	const struct quorum_options *o = r->opts;
	struct call_settings *rq = &r->request;
	memset(rq, 0, sizeof(*rq));
	if (o->has_temperature) {
		rq->set |= CS_TEMPERATURE;
		rq->temperature = o->temperature;
	}
	if (o->max_tokens > 0) {
		rq->set |= CS_MAX_TOKENS;
		rq->max_tokens = o->max_tokens;
	}
	r->calls.request = rq->set ? rq : NULL;
}

/* What the calls and the nodes of the run are lent. */
static void lend(struct run *r)
{
	const struct quorum_options *o = r->opts;
	uint64_t seed = (uint64_t)clock_wall_us() * 0x9E3779B97F4A7C15ULL | 1;
	r->calls = (struct call_ctx){
		.arena = r->arena, .wf = r->wf, .loop = r->loop, .pool = r->pool,
		.models = r->models,
		.budget = &r->budget, .trace = &r->trace, .redact = &r->redact,
		.verbose = r->verbose, .sim_base_url = o->sim_base_url,
		.insecure = o->insecure, .json_depth = r->lim.json_depth, .t0 = r->t0,
		.rng = seed, .cache = o->cache ? o->cache->store : NULL,
		.cache_scope = o->cache_scope,
	};
	request_settings(r);
	outstream_init(&r->out, r->wf, o, &r->redact);
	if (r->out.node) {
		r->calls.on_text = outstream_text;
		r->calls.on_text_ctx = &r->out;
	}
	r->set.arena = r->arena;
	r->set.wf = r->wf;
	r->set.prompt_bytes = r->lim.prompt_bytes;
	r->set.seed = seed;
	r->set.trace = &r->trace;
	r->set.calls = &r->calls;
	r->set.ended = run_node_ended;
	r->set.owner = r;
	r->set.run_id = r->id;
	run_inputs(r->wf, o, &r->set);
}

int run_setup(struct run *r, const struct workflow *wf, const struct quorum_options *o,
	      struct loop *l, struct pool *pool)
{
	struct arena *a = r->arena;
	r->wf = wf;
	r->opts = o;
	r->loop = l;
	r->pool = pool;
	if (o->limits)
		r->lim = *o->limits;
	else
		quorum_limits_default(&r->lim);
	if (o->verbose && !(r->verbose = verbose_new(a, o->verbose, &r->redact)))
		return -1;
	if (o->insecure)
		fprintf(stderr, "quorum: warning: TLS certificate verification is off "
				"(--insecure): any server on the path can answer as the provider\n");
	r->t0 = clock_ms();
	r->t0_wall_us = clock_wall_us();
	r->trace.t0_ms = r->t0;
	r->trace.t0_wall_us = r->t0_wall_us;
	r->trace.redact = &r->redact;
	budget_init(&r->budget, wf);
	r->set.nodes = arena_alloc(a, wf->nnodes * sizeof(*r->set.nodes));
	r->models = arena_alloc(a, (wf->nmodels + 1) * sizeof(*r->models));
	r->ready = arena_alloc(a, wf->nnodes * sizeof(*r->ready));
	r->wall.pos = (size_t)-1;
	if (!r->set.nodes || !r->models || !r->ready)
		return -1;
	lend(r);
	if (models_setup(r) || nodes_setup(r))
		return -1;
	r->nodes_left = wf->nnodes;
	for (size_t i = 0; i < wf->nnodes; i++)
		if (!r->set.nodes[wf->order[i]->idx].pending_deps)
			r->ready[r->ready_tail++] = &r->set.nodes[wf->order[i]->idx];
	if (o->progress && !(r->progress = progress_new(&r->set, o->progress, o->color, o->plain)))
		return -1;
	if (r->lim.wall_ms > 0) {
		r->wall.fire = wall_fire;
		r->wall.ctx = r;
		if (loop_timer_arm(r->loop, &r->wall, r->t0 + r->lim.wall_ms))
			return -1;
	}
	return 0;
}

static int exit_code_of(const struct run *r)
{
	if (r->interrupted)
		return QUORUM_EXIT_INTERRUPTED;
	return run_output(r) ? QUORUM_EXIT_OK : QUORUM_EXIT_FAILED;
}

int report_finish(struct quorum_report *rep)
{
	struct run *r = &rep->run;
	rep->wall_ms = run_now(r);
	rep->status = run_status(r);
	rep->exit_code = exit_code_of(r);
	const char *out = run_output(r);
	if (out) {
		char *copy = arena_strdup(r->arena, out);
		if (!copy)
			return -1;
		redact_mask_str(&r->redact, copy);
		rep->output = copy;
	}
	rep->json = report_build_json(r, rep->status, rep->wall_ms);
	trace_event(&r->trace, "run_end", "\"status\":\"%s\",\"wall_ms\":%lld", rep->status,
		    (long long)rep->wall_ms);
	if (r->trace.f && fclose(r->trace.f) && !r->trace.err)
		r->trace.err = errno ? errno : EIO;
	r->trace.f = NULL;
	return rep->json ? 0 : -1;
}

/* 128 bits from the kernel (the clock and a counter should it refuse):
 * ids that never repeat across processes and machines. */
static void run_new_id(char out[33])
{
	static uint64_t counter;
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		uint64_t x[2] = {(uint64_t)clock_wall_us(), ++counter ^ (uint64_t)getpid() << 32};
		memcpy(b, x, sizeof(b));
	}
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

struct quorum_report *report_new(const struct quorum_options *o, char **errors)
{
	struct quorum_report *rep = q_calloc(1, sizeof(*rep));
	struct run *r = rep ? &rep->run : NULL;
	if (!rep || !(r->arena = arena_new())) {
		q_free(rep);
		run_set_error(errors, "quorum: out of memory starting the run%s", "", 0);
		return NULL;
	}
	redact_init(&r->redact);
	if (o->run_id && strlen(o->run_id) == 32 && strspn(o->run_id, "0123456789abcdef") == 32)
		memcpy(r->id, o->run_id, 33);
	else
		run_new_id(r->id);
	if (o->trace_path && !(r->trace.f = fopen(o->trace_path, "w"))) {
		run_set_error(errors, "quorum: cannot write the trace file '%s'", o->trace_path,
			      errno);
		quorum_report_free(rep);
		return NULL;
	}
	return rep;
}

const char *quorum_report_status(const struct quorum_report *rep) { return rep->status; }

const char *quorum_report_run_id(const struct quorum_report *rep) { return rep->run.id; }

const char *quorum_report_output(const struct quorum_report *rep) { return rep->output; }

const char *quorum_report_json(const struct quorum_report *rep) { return rep->json; }

int quorum_report_exit_code(const struct quorum_report *rep) { return rep->exit_code; }

int quorum_report_trace_error(const struct quorum_report *rep) { return rep->run.trace.err; }

char *quorum_report_explain(const struct quorum_report *rep, int color)
{
	return explain_run((struct run *)&rep->run, rep->status, color);
}

char *quorum_report_totals(const struct quorum_report *rep)
{
	return report_totals_line(&rep->run, rep->wall_ms);
}

void quorum_report_usage(const struct quorum_report *rep, struct quorum_usage *u)
{
	report_usage(&rep->run, rep->wall_ms, u);
}

/* The answers of a generate that is the output, one per successful call. */
static size_t answers_of(const struct run *r, const struct node_state **out)
{
	const struct node_state *ns = &r->set.nodes[r->wf->output->idx];
	*out = ns;
	if (ns->node->kind != NK_GENERATE || ns->status != NS_OK)
		return 0;
	return node_ok_count(ns, NULL);
}

const char *quorum_report_answer(const struct quorum_report *rep, size_t i,
				 const char **label)
{
	const struct run *r = &rep->run;
	const struct node_state *ns;
	*label = NULL;
	if (answers_of(r, &ns) < 2)
		return i == 0 ? rep->output : NULL;
	for (size_t k = 0; k < ns->ncalls; k++) {
		const struct response *p = NODE_RESP(ns, k);
		if (p->status != RESP_OK || p->role || i--)
			continue;
		/* Which sample of its model this is, when there are several. */
		size_t nth = 1;
		for (size_t j = 0; j < k; j++)
			if (NODE_RESP(ns, j)->status == RESP_OK &&
			    !strcmp(NODE_RESP(ns, j)->model, p->model))
				nth++;
		*label = nth > 1 ? arena_printf(r->arena, "%s #%zu", p->model, nth) : p->model;
		return p->text;
	}
	return NULL;
}

void quorum_report_free(struct quorum_report *rep)
{
	if (!rep)
		return;
	if (rep->run.trace.f)
		fclose(rep->run.trace.f);
	redact_release(&rep->run.redact);
	outstream_release(&rep->run.out);
	arena_free(rep->run.arena);
	q_free(rep);
}
