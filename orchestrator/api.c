/* include/quorum.h: load a workflow, run it, read the report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "../common/suggest.h"
#include "quorum.h"
#include "node.h"
#include "run.h"

struct quorum_report {
	struct run run;
	const char *status;
	const char *json;
	const char *output;   /* the answer, any key in it masked; NULL: none */
	int64_t wall_ms;
	int exit_code;
};

void quorum_free(void *p) { q_free(p); }

/* A wide fan-out needs a socket per call: lift the soft open-files limit
 * to the hard one so 10,000 calls do not fail at 1,024. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int quorum_global_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void quorum_global_cleanup(void) { curl_global_cleanup(); }

static char *diags_text(struct qdiags *d)
{
	struct buf b;
	buf_init(&b, 0);
	qdiags_sort(d);
	for (size_t i = 0; i < d->n; i++) {
		char line[1024];
		qdiags_format(d, i, line, sizeof(line));
		/* A problem at a position reads FILE:LINE:COL, as compilers
		 * write it; one about the file as a whole (it cannot be read)
		 * or the command line starts with the program's name. */
		buf_printf(&b, "%s%s\n", d->items[i].line > 0 ? "" : "quorum: ", line);
	}
	char *s = q_strdup(buf_str(&b));
	buf_release(&b);
	return s;
}

struct quorum_workflow *quorum_workflow_load(const char *path, char **errors)
{
	return quorum_workflow_load_limited(path, NULL, errors);
}

/* Loads from a file (text NULL) or from memory. */
static struct quorum_workflow *load_any(const char *path, const char *text, size_t len,
					const struct quorum_limits *limits, char **errors)
{
	struct load_limits lim;
	load_limits_default(&lim);
	if (limits) {
		lim.max_file_bytes = limits->file_bytes;
		lim.max_yaml_nodes = limits->yaml_nodes;
		lim.max_depth = limits->yaml_depth;
		lim.max_nodes = limits->nodes;
		lim.max_yaml_bytes = limits->yaml_bytes;
	}
	struct qdiags d;
	qdiags_init(&d, path);
	struct workflow *wf = text ? workflow_load_string(path, text, len, &lim, &d)
				   : workflow_load_file(path, &lim, &d);
	struct quorum_workflow *qw = wf ? q_calloc(1, sizeof(*qw)) : NULL;
	if (qw) {
		qw->wf = wf;
	} else {
		workflow_free(wf);
		if (errors)
			*errors = d.n ? diags_text(&d)
				      : q_strdup("quorum: out of memory loading the workflow\n");
	}
	qdiags_release(&d);
	return qw;
}

struct quorum_workflow *quorum_workflow_load_limited(const char *path,
						     const struct quorum_limits *limits,
						     char **errors)
{
	return load_any(path, NULL, 0, limits, errors);
}

struct quorum_workflow *quorum_workflow_load_buffer(const char *name, const char *text,
						    size_t len,
						    const struct quorum_limits *limits,
						    char **errors)
{
	return load_any(name, text ? text : "", len, limits, errors);
}

void quorum_workflow_free(struct quorum_workflow *qw)
{
	if (!qw)
		return;
	workflow_free(qw->wf);
	q_free(qw);
}

char *quorum_workflow_graph(const struct quorum_workflow *qw, const char *format)
{
	struct buf b;
	buf_init(&b, 0);
	char *s = NULL;
	if (workflow_graph(qw->wf, format, &b) == 0)
		s = q_strdup(buf_str(&b));
	buf_release(&b);
	return s;
}

static const char *sim_getenv(const char *name)
{
	(void)name;
	return "sim";
}

/* `--input NAME=...` for an input the file does not declare: the nearest
 * name, or the names there are. */
static void unknown_input(const struct workflow *wf, const char **known, const char *name,
			  struct qdiags *d)
{
	const char *near = known ? suggest_nearest(name, known, wf->ninputs) : NULL;
	if (near) {
		qdiags_add(d, 0, 0, "unknown input '%s' in --input (did you mean '%s'?)", name,
			   near);
		return;
	}
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < wf->ninputs; i++)
		buf_printf(&b, "%s'%s'", !i ? "" : i + 1 == wf->ninputs ? " and " : ", ",
			   wf->inputs[i].name);
	qdiags_add(d, 0, 0, "unknown input '%s' in --input (the workflow's inputs are %s)",
		   name, buf_str(&b));
	buf_release(&b);
}

/* Sets *errors (when errors is not NULL) to the message fmt with arg,
 * ": strerror(err)" when err is not 0, and a newline. */
static void set_error(char **errors, const char *fmt, const char *arg, int err)
{
	if (!errors)
		return;
	char msg[640];
	int n = snprintf(msg, sizeof(msg), fmt, arg);
	if (err && n > 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));
	size_t len = strlen(msg);
	if (len + 1 < sizeof(msg)) {
		msg[len] = '\n';
		msg[len + 1] = '\0';
	}
	/* libc's strdup, not q_strdup: a message about memory running out
	 * must not need the allocator that failed (and q_free frees it). */
	*errors = strdup(msg);
}

/* A node that would start more calls at once than the fan-out limit is
 * refused before any call, not cut short halfway. */
static void check_fanout(const struct workflow *wf, const struct quorum_limits *lim,
			 struct qdiags *d)
{
	struct quorum_limits def;
	if (!lim) {
		quorum_limits_default(&def);
		lim = &def;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		size_t width = n->nmodels * (size_t)(n->samples > 0 ? n->samples : 1);
		if (n->kind == NK_GENERATE && width > lim->fanout)
			qdiags_add(d, n->line, n->col,
				   "node '%s' makes %zu calls at once, more than the fan-out limit "
				   "of %zu (raise it with --limit fanout=%zu)",
				   n->id, width, lim->fanout, width);
	}
}

/* A base_url whose ${VAR} expands, at run time, into something other
 * than an http(s) URL is refused before any call, at the model. */
static void check_urls(const struct workflow *wf, const struct quorum_options *o,
		       struct qdiags *d)
{
	if (o->sim_base_url)
		return;
	struct arena *a = arena_new();
	for (size_t i = 0; a && i < wf->nmodels; i++) {
		const struct wf_model *m = wf->models[i];
		if (!strchr(m->base_url, '$'))
			continue;
		const char *url = env_expand(a, m->base_url);
		char why[256];
		if (url && workflow_url_check(url, why, sizeof(why)))
			qdiags_add(d, m->line, m->col, "base_url of model '%s' expands to '%s': %s",
				   m->id, url, why);
	}
	if (!a)
		d->lost++;
	arena_free(a);
}

int run_precheck(const struct workflow *wf, const struct quorum_options *o, char **errors)
{
	struct qdiags d;
	qdiags_init(&d, wf->file);
	const char **names = q_calloc(o->ninputs + 1, sizeof(*names));
	if (!names) {
		set_error(errors, "quorum: out of memory checking the run%s", "", 0);
		return -1;
	}
	const char **known = q_calloc(wf->ninputs + 1, sizeof(*known));
	for (size_t i = 0; known && i < wf->ninputs; i++)
		known[i] = wf->inputs[i].name;
	for (size_t i = 0; i < o->ninputs; i++) {
		names[i] = o->inputs[i].name;
		if (workflow_input(wf, names[i]))
			continue;
		unknown_input(wf, known, names[i], &d);
	}
	check_fanout(wf, o->limits, &d);
	check_urls(wf, o, &d);
	workflow_check_run(wf, names, o->ninputs, o->query != NULL,
			   o->sim_base_url ? sim_getenv : (const char *(*)(const char *))getenv,
			   &d);
	q_free(names);
	q_free(known);
	int bad = d.n > 0 || d.lost;
	if (bad && errors)
		*errors = d.n && !d.lost ? diags_text(&d) : NULL;
	if (bad && errors && !*errors)
		set_error(errors, "quorum: out of memory checking the run%s", "", 0);
	qdiags_release(&d);
	return bad ? -1 : 0;
}

static int models_setup(struct run *r)
{
	for (size_t i = 0; i < r->wf->nmodels; i++) {
		struct model_state *ms = &r->models[i];
		ms->model = r->wf->models[i];
		ms->base_url = env_expand(r->arena, ms->model->base_url);
		if (!ms->base_url)
			return -1;
		/* Whatever key this run may send is masked in all it writes,
		 * even under --sim (the key sits in the environment). */
		const char *env = ms->model->api_key_env;
		if (env && *env && redact_add(&r->redact, getenv(env)))
			return -1;
		if (ms->model->rpm <= 0)
			continue;
		ms->rpm_cap = ms->model->rpm < 1 ? 1 : (size_t)ms->model->rpm;
		ms->starts = arena_alloc(r->arena, ms->rpm_cap * sizeof(*ms->starts));
		if (!ms->starts)
			return -1;
	}
	return 0;
}

/* Links each node to the nodes that need it, for the ready queue and for
 * cancelling what nobody needs any more. */
static int nodes_setup(struct run *r)
{
	const struct workflow *wf = r->wf;
	for (size_t i = 0; i < wf->nnodes; i++) {
		struct node_state *ns = &r->nodes[i];
		ns->node = wf->nodes[i];
		ns->started_ms = ns->ended_ms = -1;
		ns->confident = -1;
		ns->pending_deps = ns->node->ndeps;
		for (size_t k = 0; k < ns->node->ndeps; k++)
			r->nodes[ns->node->deps[k]->idx].ndependents++;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		struct node_state *ns = &r->nodes[i];
		ns->dependents = arena_alloc(r->arena, (ns->ndependents + 1) * sizeof(*ns->dependents));
		if (!ns->dependents)
			return -1;
		ns->nsinks = ns->ndependents;
		ns->ndependents = 0;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		struct node_state *ns = &r->nodes[i];
		for (size_t k = 0; k < ns->node->ndeps; k++) {
			struct node_state *u = &r->nodes[ns->node->deps[k]->idx];
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

void run_inputs_init(struct run *r, const struct workflow *wf, const struct quorum_options *o)
{
	r->input_query = o->query;
	r->inputs = o->inputs;
	r->ninputs = o->ninputs;
	for (size_t i = 0; !r->input_query && i < o->ninputs; i++)
		if (!strcmp(o->inputs[i].name, "query"))
			r->input_query = o->inputs[i].value;
	if (!r->input_query) {
		const struct wf_input *q = workflow_input(wf, "query");
		r->input_query = q && q->def ? q->def : "";
	}
}

static int run_setup(struct run *r, const struct workflow *wf, const struct quorum_options *o)
{
	struct arena *a = r->arena;
	r->wf = wf;
	r->opts = o;
	if (o->limits)
		r->lim = *o->limits;
	else
		quorum_limits_default(&r->lim);
	timer_heap_init(&r->timers);
	if (o->verbose && !(r->verbose = verbose_new(r, o->verbose)))
		return -1;
	if (o->insecure)
		fprintf(stderr, "quorum: warning: TLS certificate verification is off "
				"(--insecure): any server on the path can answer as the provider\n");
	r->t0 = clock_ms();
	r->t0_wall_us = clock_wall_us();
	r->rng = (uint64_t)clock_wall_us() * 0x9E3779B97F4A7C15ULL | 1;
	run_inputs_init(r, wf, o);
	r->nodes = arena_alloc(a, wf->nnodes * sizeof(*r->nodes));
	r->models = arena_alloc(a, (wf->nmodels + 1) * sizeof(*r->models));
	r->ready = arena_alloc(a, wf->nnodes * sizeof(*r->ready));
	if (!r->nodes || !r->models || !r->ready || loop_init(r))
		return -1;
	if (models_setup(r) || nodes_setup(r))
		return -1;
	r->nodes_left = wf->nnodes;
	for (size_t i = 0; i < wf->nnodes; i++)
		if (!r->nodes[wf->order[i]->idx].pending_deps)
			r->ready[r->ready_tail++] = &r->nodes[wf->order[i]->idx];
	if (o->progress && !(r->progress = progress_new(r, o->progress)))
		return -1;
	if (r->lim.wall_ms > 0) {
		r->wall.fire = wall_fire;
		r->wall.ctx = r;
		timer_arm(&r->timers, &r->wall, r->t0 + r->lim.wall_ms);
	}
	return 0;
}

static int exit_code_of(const struct run *r)
{
	if (r->interrupted)
		return QUORUM_EXIT_INTERRUPTED;
	return run_output(r) ? QUORUM_EXIT_OK : QUORUM_EXIT_FAILED;
}


/* The engine's side of a run: curl handles, the loop, the timers. Safe
 * on a run set up only in part (every field starts empty). */
static void run_release(struct run *r)
{
	calls_release(r);
	loop_release(r);
	timer_heap_release(&r->timers);
}

/* The report of a run that ended. Returns 0, or -1 when memory ran out. */
static int report_finish(struct quorum_report *rep)
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
	trace_event(r, "run_end", "\"status\":\"%s\",\"wall_ms\":%lld", rep->status,
		    (long long)rep->wall_ms);
	if (r->trace && fclose(r->trace) && !r->trace_errno)
		r->trace_errno = errno ? errno : EIO;
	r->trace = NULL;
	return rep->json ? 0 : -1;
}

struct quorum_report *quorum_run(const struct quorum_workflow *qw,
				 const struct quorum_options *o, char **errors)
{
	const struct workflow *wf = qw->wf;
	if (run_precheck(wf, o, errors))
		return NULL;
	struct quorum_report *rep = q_calloc(1, sizeof(*rep));
	struct run *r = rep ? &rep->run : NULL;
	if (!rep || !(r->arena = arena_new()))
		goto fail_alloc;
	r->epfd = -1;
	redact_init(&r->redact);
	if (o->trace_path && !(r->trace = fopen(o->trace_path, "w"))) {
		set_error(errors, "quorum: cannot write the trace file '%s'", o->trace_path,
			  errno);
		goto fail;
	}
	if (run_setup(r, wf, o))
		goto fail_setup;
	trace_event(r, "run_start", "\"workflow\":\"%s\",\"nodes\":%zu",
		    trace_str(r, wf->name), wf->nnodes);
	run_loop(r);
	run_release(r);
	if (report_finish(rep))
		goto fail_report;
	return rep;

fail_report:
	set_error(errors, "quorum: out of memory writing the run's report%s", "", 0);
	goto fail;
fail_setup:
	set_error(errors, "quorum: out of memory setting up the run%s", "", 0);
fail:
	run_release(r);
	if (r->trace)
		fclose(r->trace);
	redact_release(&r->redact);
	arena_free(r->arena);
fail_alloc:
	if (!rep || !r->arena)
		set_error(errors, "quorum: out of memory starting the run%s", "", 0);
	q_free(rep);
	return NULL;
}

const char *quorum_report_status(const struct quorum_report *rep) { return rep->status; }

const char *quorum_report_output(const struct quorum_report *rep) { return rep->output; }

const char *quorum_report_json(const struct quorum_report *rep) { return rep->json; }

int quorum_report_exit_code(const struct quorum_report *rep) { return rep->exit_code; }

int quorum_report_trace_error(const struct quorum_report *rep) { return rep->run.trace_errno; }

char *quorum_report_explain(const struct quorum_report *rep, int color)
{
	return explain_run((struct run *)&rep->run, rep->status, color);
}

char *quorum_report_totals(const struct quorum_report *rep)
{
	return report_totals_line(&rep->run, rep->wall_ms);
}

/* The answers of a generate that is the output, one per successful call. */
static size_t answers_of(const struct run *r, const struct node_state **out)
{
	const struct node_state *ns = &r->nodes[r->wf->output->idx];
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
	for (size_t k = 0; k < ns->nresp; k++) {
		const struct response *p = &ns->resp[k];
		if (p->status != RESP_OK || p->role || i--)
			continue;
		/* Which sample of its model this is, when there are several. */
		size_t nth = 1;
		for (size_t j = 0; j < k; j++)
			if (ns->resp[j].status == RESP_OK && !strcmp(ns->resp[j].model, p->model))
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
	redact_release(&rep->run.redact);
	arena_free(rep->run.arena);
	q_free(rep);
}
