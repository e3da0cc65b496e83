/* What every node kind shares: rendering templates against the run,
 * gathering candidates, asking for calls, and the dispatch to the kind. */
#include <string.h>

#include "../common/clock.h"
#include "node.h"

/* ---- template rendering against the run ----
 * Rendered prompts are capped (--limit prompt_bytes): a template that
 * pulls in a huge answer fails its node with a clear error instead of
 * building a giant request. */

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

/* A node that did not end ok (one with continue_on_error) renders as "". */
static const char *env_node_output(void *ctx, int idx)
{
	struct run *r = ctx;
	return r->nodes[idx].status == NS_OK ? r->nodes[idx].output : NULL;
}

/* How many candidates a node may offer at most. */
static size_t node_ntexts(const struct node_state *ns)
{
	if (ns->has_cand)
		return ns->ncand;
	return ns->nresp ? ns->nresp : 1;
}

/* The candidates a node offers: what its kind set, else its successful
 * responses, else its output (vote, template). */
static size_t node_texts(const struct node_state *ns, const char **out,
			 const char **models, size_t max)
{
	size_t n = 0;
	if (ns->has_cand) {
		for (; n < ns->ncand && n < max; n++) {
			out[n] = ns->cand[n];
			if (models)
				models[n] = ns->cand_models[n];
		}
		return n;
	}
	for (size_t i = 0; i < ns->nresp && n < max; i++) {
		if (ns->resp[i].status != RESP_OK || ns->resp[i].role)
			continue;
		if (models)
			models[n] = ns->resp[i].model;
		out[n++] = ns->resp[i].text;
	}
	if (!n && ns->status == NS_OK && ns->output && max) {
		if (models)
			models[n] = ns->node->id;
		out[n++] = ns->output;
	}
	return n;
}

static int env_node_responses(void *ctx, int idx, struct buf *out)
{
	struct run *r = ctx;
	struct node_state *ns = &r->nodes[idx];
	size_t cap = node_ntexts(ns);
	const char **texts = arena_alloc(r->arena, (cap + 1) * sizeof(*texts));
	if (!texts)
		return -1;
	size_t n = node_texts(ns, texts, NULL, cap);
	return tmpl_format_responses(out, texts, n);
}

const char *node_render(struct run *r, const struct tmpl *t, const char **err)
{
	if (!t)
		return NULL;
	struct tmpl_env env = {r, env_query, env_input, env_node_output,
			       env_node_responses};
	struct buf b;
	buf_init(&b, r->lim.prompt_bytes);
	if (tmpl_render(t, &env, &b)) {
		buf_release(&b);
		*err = "rendered prompt" PROMPT_TOO_LARGE;
		return NULL;
	}
	const char *s = arena_strndup(r->arena, buf_str(&b), b.len);
	buf_release(&b);
	return s;
}

size_t node_gather(struct run *r, const struct wf_node *n, const char ***texts,
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
		k += node_texts(&r->nodes[n->from[i]->idx], *texts + k, *models + k, cap - k);
	return k;
}

/* ---- calls ---- */

int node_reserve(struct run *r, struct node_state *ns, size_t max)
{
	if (max <= ns->cap)
		return 0;
	struct response *resp = arena_alloc(r->arena, max * sizeof(*resp));
	struct call **calls = arena_alloc(r->arena, max * sizeof(*calls));
	if (!resp || !calls)
		return -1;
	/* Calls point into resp by slot, so the records move with their calls. */
	if (ns->nresp)
		memcpy(resp, ns->resp, ns->nresp * sizeof(*resp));
	if (ns->ncalls)
		memcpy(calls, ns->calls, ns->ncalls * sizeof(*calls));
	ns->resp = resp;
	ns->calls = calls;
	ns->cap = max;
	return 0;
}

struct call *node_call(struct run *r, struct node_state *ns, const struct wf_model *m,
		       const char *system, const char *prompt, int tag, const char *role)
{
	if (ns->nresp >= ns->cap && node_reserve(r, ns, ns->cap ? ns->cap * 2 : 4))
		return NULL;
	size_t slot = ns->nresp;
	struct call *c = call_new(r, ns, slot, m, system, prompt ? prompt : "");
	if (!c)
		return NULL;
	ns->nresp++;
	ns->calls[ns->ncalls++] = c;
	ns->resp[slot].role = role;
	c->tag = tag;
	ns->outstanding++;
	call_submit(c);
	return c;
}

void node_set_candidates(struct node_state *ns, const char **texts,
			 const char **models, size_t n)
{
	ns->cand = texts;
	ns->cand_models = models;
	ns->ncand = n;
	ns->has_cand = 1;
}

const char *node_question(struct run *r, struct node_state *ns, const char **err)
{
	if (!ns->node->prompt)
		return r->input_query;
	return node_render(r, ns->node->prompt, err);
}

uint64_t node_seed(struct run *r, struct node_state *ns)
{
	return r->rng ^ ((uint64_t)ns->node->idx * 0x9E3779B97F4A7C15ULL);
}

const char *node_keep(struct run *r, const struct buf *b)
{
	return arena_strndup(r->arena, buf_str(b), b->len);
}

size_t node_ok_count(const struct node_state *ns, const char **first)
{
	size_t ok = 0;
	if (first)
		*first = NULL;
	for (size_t i = 0; i < ns->nresp; i++) {
		if (ns->resp[i].status != RESP_OK || ns->resp[i].role)
			continue;
		if (!ok++ && first)
			*first = ns->resp[i].text;
	}
	return ok;
}

/* ---- dispatch ---- */

static const struct kind *kind_of(enum node_kind k)
{
	switch (k) {
	case NK_GENERATE: return &kind_generate;
	case NK_SYNTHESIZE: return &kind_synthesize;
	case NK_VOTE: return &kind_vote;
	case NK_TEMPLATE: return &kind_template;
	case NK_JUDGE: return &kind_judge;
	case NK_RANK: return &kind_rank;
	case NK_ROUTE: return &kind_route;
	case NK_CASCADE: return &kind_cascade;
	case NK_PLAN: return &kind_plan;
	default: return NULL;
	}
}

static void node_timeout_fire(void *ctx)
{
	struct node_state *ns = ctx;
	ns->timed_out = 1;
	for (size_t i = 0; i < ns->ncalls; i++)
		call_cancel(ns->calls[i], ERR_TIMEOUT, "the node's timeout ended this call");
}

void node_start(struct run *r, struct node_state *ns)
{
	ns->status = NS_RUNNING;
	ns->started_ms = run_now(r);
	trace_event(r, "node_start", "\"node\":\"%s\",\"kind\":\"%s\"",
		    trace_str(r, ns->node->id), node_kind_name(ns->node->kind));
	if (ns->node->timeout_ms > 0) {
		ns->deadline.fire = node_timeout_fire;
		ns->deadline.ctx = ns;
		timer_arm(&r->timers, &ns->deadline, clock_ms() + ns->node->timeout_ms);
	}
	const struct kind *k = kind_of(ns->node->kind);
	if (k)
		k->start(r, ns);
	else
		node_fail(r, ns, "internal", "node kind not available in this build");
	progress_update(r->progress, 0);
}

void node_call_done(struct run *r, struct node_state *ns, struct call *c)
{
	progress_update(r->progress, 0);
	ns->outstanding--;
	if (ns->status != NS_RUNNING)
		return;
	kind_of(ns->node->kind)->call_done(r, ns, c);
}
