/* The node kinds as the engine runs them: generate fans out calls,
 * synthesize makes one, vote and template need no call. Merge rules live
 * in aggregators/; this file only wires candidates in and output out. */
#include <string.h>

#include "../aggregators/synthesize.h"
#include "../aggregators/vote.h"
#include "../common/clock.h"
#include "run.h"

/* Rendered prompts are capped: a template that pulls in a huge answer
 * fails its node with a clear error instead of building a giant request. */
#define PROMPT_MAX (8 * 1024 * 1024)

/* ---- template rendering against the run ---- */

static const char *env_query(void *ctx)
{
	struct run *r = ctx;
	return r->input_query;
}

static const char *env_input(void *ctx, const char *name)
{
	struct run *r = ctx;
	if (!strcmp(name, "query") && r->input_query)
		return r->input_query;
	for (size_t i = r->ninputs; i-- > 0;)
		if (!strcmp(r->inputs[i].name, name))
			return r->inputs[i].value;
	const struct wf_input *in = workflow_input(r->wf, name);
	return in ? in->def : NULL;
}

static const char *env_node_output(void *ctx, int idx)
{
	struct run *r = ctx;
	return r->nodes[idx].output;
}

/* The texts a node offers as candidates: its successful responses, or
 * its output when it has no responses of its own (vote, template). */
static size_t node_texts(struct run *r, struct node_state *ns, const char **out,
			 const char **models, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ns->nresp && n < max; i++) {
		if (ns->resp[i].status != RESP_OK)
			continue;
		if (models)
			models[n] = ns->resp[i].model;
		out[n++] = ns->resp[i].text;
	}
	if (!ns->nresp && ns->output && n < max) {
		if (models)
			models[n] = ns->node->id;
		out[n++] = ns->output;
	}
	(void)r;
	return n;
}

static size_t node_ntexts(const struct node_state *ns)
{
	return ns->nresp ? ns->nresp : 1;
}

static int env_node_responses(void *ctx, int idx, struct buf *out)
{
	struct run *r = ctx;
	struct node_state *ns = &r->nodes[idx];
	size_t cap = node_ntexts(ns);
	const char **texts = arena_alloc(r->arena, cap * sizeof(*texts));
	if (!texts)
		return -1;
	size_t n = node_texts(r, ns, texts, NULL, cap);
	return tmpl_format_responses(out, texts, n);
}

/* Renders t into the run arena; NULL t renders NULL. Sets *err on failure. */
static const char *render(struct run *r, const struct tmpl *t, const char **err)
{
	if (!t)
		return NULL;
	struct tmpl_env env = {r, env_query, env_input, env_node_output,
			       env_node_responses};
	struct buf b;
	buf_init(&b, PROMPT_MAX);
	if (tmpl_render(t, &env, &b)) {
		buf_release(&b);
		*err = "rendered prompt is larger than 8 MiB";
		return NULL;
	}
	const char *s = arena_strndup(r->arena, buf_str(&b), b.len);
	buf_release(&b);
	return s;
}

/* Candidates from every `from` node, in order. */
static size_t gather(struct run *r, const struct wf_node *n, const char ***texts,
		     const char ***models)
{
	size_t cap = 0;
	for (size_t i = 0; i < n->nfrom; i++)
		cap += node_ntexts(&r->nodes[n->from[i]->idx]);
	*texts = arena_alloc(r->arena, (cap + 1) * sizeof(**texts));
	*models = arena_alloc(r->arena, (cap + 1) * sizeof(**models));
	if (!*texts || !*models)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < n->nfrom; i++)
		k += node_texts(r, &r->nodes[n->from[i]->idx], *texts + k,
				*models + k, cap - k);
	return k;
}

/* ---- the kinds ---- */

static void responses_alloc(struct run *r, struct node_state *ns, size_t n)
{
	ns->resp = arena_alloc(r->arena, (n ? n : 1) * sizeof(*ns->resp));
	ns->calls = arena_alloc(r->arena, (n ? n : 1) * sizeof(*ns->calls));
	ns->nresp = ns->ncalls = n;
}

static void start_calls(struct node_state *ns)
{
	ns->outstanding = ns->ncalls;
	for (size_t i = 0; i < ns->ncalls; i++)
		call_submit(ns->calls[i]);
}

static void generate_start(struct run *r, struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	const char *err = NULL;
	const char *prompt = render(r, n->prompt, &err);
	const char *system = render(r, n->system, &err);
	if (err) {
		node_finish(r, ns, NS_FAILED, err);
		return;
	}
	int samples = n->samples > 0 ? n->samples : 1;
	responses_alloc(r, ns, n->nmodels * (size_t)samples);
	size_t k = 0;
	for (size_t m = 0; m < n->nmodels; m++)
		for (int s = 0; s < samples; s++, k++)
			ns->calls[k] = call_new(r, ns, k, n->models[m], system, prompt);
	start_calls(ns);
}

static void synthesize_start(struct run *r, struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	const char **texts, **models;
	size_t k = gather(r, n, &texts, &models);
	if (!k) {
		node_finish(r, ns, NS_FAILED, "no candidates to synthesize");
		return;
	}
	const char *err = NULL;
	const char *prompt = n->prompt ? render(r, n->prompt, &err) : r->input_query;
	const char *system = render(r, n->system, &err);
	if (err) {
		node_finish(r, ns, NS_FAILED, err);
		return;
	}
	struct buf sys;
	buf_init(&sys, PROMPT_MAX);
	if (synth_build_system(&sys, system, texts, k)) {
		buf_release(&sys);
		node_finish(r, ns, NS_FAILED, "synthesis prompt is larger than 8 MiB");
		return;
	}
	system = arena_strndup(r->arena, buf_str(&sys), sys.len);
	buf_release(&sys);
	responses_alloc(r, ns, 1);
	ns->calls[0] = call_new(r, ns, 0, n->models[0], system, prompt ? prompt : "");
	start_calls(ns);
}

static void vote_start(struct run *r, struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	const char **texts, **models;
	size_t k = gather(r, n, &texts, &models);
	struct vote_candidate *cand = arena_alloc(r->arena, (k + 1) * sizeof(*cand));
	for (size_t i = 0; i < k; i++)
		cand[i] = (struct vote_candidate){models[i], texts[i]};
	struct vote_result *vr = arena_alloc(r->arena, sizeof(*vr));
	ns->vote = vr;
	if (vote_run(n, cand, k, r->arena, vr)) {
		node_finish(r, ns, NS_FAILED,
			    k ? "no candidate has an answer the extract mode can find"
			      : "no candidates to vote on");
		return;
	}
	ns->output = vr->output;
	ns->confident = vr->confident;
	ns->agreement = vr->agreement;
	node_finish(r, ns, NS_OK, NULL);
}

static void template_start(struct run *r, struct node_state *ns)
{
	const char *err = NULL;
	ns->output = render(r, ns->node->text, &err);
	node_finish(r, ns, err ? NS_FAILED : NS_OK, err);
}

static void node_timeout_fire(void *ctx)
{
	struct node_state *ns = ctx;
	struct call *c0 = ns->ncalls ? ns->calls[0] : NULL;
	if (!c0)
		return;
	ns->timed_out = 1;
	for (size_t i = 0; i < ns->ncalls; i++)
		call_cancel(ns->calls[i], ERR_TIMEOUT, "the node's timeout ended this call");
}

void node_start(struct run *r, struct node_state *ns)
{
	ns->status = NS_RUNNING;
	ns->started_ms = run_now(r);
	trace_event(r, "node_start", "\"node\":\"%s\",\"kind\":\"%s\"", ns->node->id,
		    node_kind_name(ns->node->kind));
	if (ns->node->timeout_ms > 0) {
		ns->deadline.fire = node_timeout_fire;
		ns->deadline.ctx = ns;
		timer_arm(&r->timers, &ns->deadline, clock_ms() + ns->node->timeout_ms);
	}
	switch (ns->node->kind) {
	case NK_GENERATE:
		generate_start(r, ns);
		break;
	case NK_SYNTHESIZE:
		synthesize_start(r, ns);
		break;
	case NK_VOTE:
		vote_start(r, ns);
		break;
	case NK_TEMPLATE:
		template_start(r, ns);
		break;
	default:
		node_finish(r, ns, NS_FAILED, "node kind not available in this build");
		break;
	}
	progress_update(r->progress, 0);
}

void node_call_done(struct run *r, struct node_state *ns, struct call *c)
{
	(void)c;
	progress_update(r->progress, 0);
	if (--ns->outstanding > 0 || ns->status != NS_RUNNING)
		return;
	size_t ok = 0;
	const char *first = NULL;
	for (size_t i = 0; i < ns->nresp; i++) {
		if (ns->resp[i].status != RESP_OK)
			continue;
		if (!ok++)
			first = ns->resp[i].text;
	}
	size_t need = ns->node->kind == NK_GENERATE && ns->node->min_ok > 0
			      ? (size_t)ns->node->min_ok : 1;
	if (ok >= need) {
		ns->output = first;
		node_finish(r, ns, NS_OK, NULL);
		return;
	}
	const char *why = ns->timed_out ? "the node's timeout passed"
					: "too few calls succeeded";
	node_finish(r, ns, NS_FAILED,
		    arena_printf(r->arena, "%s: %zu of %zu calls succeeded, %zu needed",
				 why, ok, ns->nresp, need));
}
