/* What every node kind shares: rendering templates against the run,
 * gathering candidates, asking for calls, the dispatch to the kind, and
 * the end of a node. */
#include <string.h>

#include "../common/clock.h"
#include "node.h"

/* ---- template rendering against the run ----
 * Rendered prompts are capped (--limit prompt_bytes): a template that
 * pulls in a huge answer fails its node with a clear error instead of
 * building a giant request. */

static const char *env_query(void *ctx)
{
	struct nodeset *g = ctx;
	return g->query;
}

static const char *env_input(void *ctx, const char *name)
{
	struct nodeset *g = ctx;
	if (!strcmp(name, "query") && g->query)
		return g->query;
	for (size_t i = g->ninputs; i-- > 0;)
		if (!strcmp(g->inputs[i].name, name))
			return g->inputs[i].value;
	const struct wf_input *in = workflow_input(g->wf, name);
	return in ? in->def : NULL;
}

/* A node that did not end ok (one with continue_on_error) renders as "". */
static const char *env_node_output(void *ctx, int idx)
{
	struct nodeset *g = ctx;
	return g->nodes[idx].status == NS_OK ? g->nodes[idx].output : NULL;
}

/* How many candidates a node may offer at most. */
static size_t node_ntexts(const struct node_state *ns)
{
	if (ns->has_cand)
		return ns->ncand;
	return ns->ncalls ? ns->ncalls : 1;
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
	for (size_t i = 0; i < ns->ncalls && n < max; i++) {
		const struct response *p = NODE_RESP(ns, i);
		if (p->status != RESP_OK || p->role)
			continue;
		if (models)
			models[n] = p->model;
		out[n++] = p->text;
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
	struct nodeset *g = ctx;
	struct node_state *ns = &g->nodes[idx];
	size_t cap = node_ntexts(ns);
	const char **texts = arena_alloc(g->arena, (cap + 1) * sizeof(*texts));
	if (!texts)
		return -1;
	size_t n = node_texts(ns, texts, NULL, cap);
	return tmpl_format_responses(out, texts, n);
}

const char *node_render(struct nodeset *g, const struct tmpl *t, const char **err)
{
	if (!t)
		return NULL;
	struct tmpl_env env = {g, env_query, env_input, env_node_output, env_node_responses};
	struct buf b;
	buf_init(&b, g->prompt_bytes);
	if (tmpl_render(t, &env, &b)) {
		buf_release(&b);
		*err = "rendered prompt" PROMPT_TOO_LARGE;
		return NULL;
	}
	const char *s = arena_strndup(g->arena, buf_str(&b), b.len);
	buf_release(&b);
	return s;
}

size_t node_gather(struct nodeset *g, const struct wf_node *n, const char ***texts,
		   const char ***models)
{
	size_t cap = 0;
	for (size_t i = 0; i < n->nfrom; i++)
		cap += node_ntexts(&g->nodes[n->from[i]->idx]);
	*texts = arena_alloc(g->arena, (cap + 1) * sizeof(**texts));
	*models = arena_alloc(g->arena, (cap + 1) * sizeof(**models));
	if (!*texts || !*models)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < n->nfrom; i++)
		k += node_texts(&g->nodes[n->from[i]->idx], *texts + k, *models + k, cap - k);
	return k;
}

/* ---- calls ---- */

int node_reserve(struct nodeset *g, struct node_state *ns, size_t max)
{
	if (max <= ns->cap)
		return 0;
	struct call **calls = arena_alloc(g->arena, max * sizeof(*calls));
	if (!calls)
		return -1;
	if (ns->ncalls)
		memcpy(calls, ns->calls, ns->ncalls * sizeof(*calls));
	ns->calls = calls;
	ns->cap = max;
	return 0;
}

static const struct kind *kind_of(enum node_kind k);

/* A call of the node ended: its kind hears of it while the node runs. */
static void node_call_done(struct call *c, void *ctx)
{
	struct node_state *ns = ctx;
	ns->outstanding--;
	if (ns->status != NS_RUNNING)
		return;
	kind_of(ns->node->kind)->call_done(ns->set, ns, c);
}

struct call *node_call(struct nodeset *g, struct node_state *ns, const struct wf_model *m,
		       const char *system, const char *prompt, int tag, const char *role)
{
	if (ns->ncalls >= ns->cap && node_reserve(g, ns, ns->cap ? ns->cap * 2 : 4))
		return NULL;
	struct call *c = call_new(g->calls, ns->node, ns->node->id, ns->ncalls, m, system,
				  prompt, node_call_done, ns);
	if (!c)
		return NULL;
	ns->calls[ns->ncalls++] = c;
	c->resp.role = role;
	c->tag = tag;
	ns->outstanding++;
	call_submit(c);
	return c;
}

struct call *node_embed(struct nodeset *g, struct node_state *ns, const struct wf_model *m,
			const char *const *texts, size_t n, int tag)
{
	if (ns->ncalls >= ns->cap && node_reserve(g, ns, ns->cap ? ns->cap * 2 : 4))
		return NULL;
	struct call *c = call_new(g->calls, ns->node, ns->node->id, ns->ncalls, m, NULL,
				  n ? texts[0] : "", node_call_done, ns);
	if (!c)
		return NULL;
	call_embed(c, texts, n);
	ns->calls[ns->ncalls++] = c;
	c->resp.role = "embedding";
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

const char *node_question(struct nodeset *g, struct node_state *ns, const char **err)
{
	if (!ns->node->prompt)
		return g->query;
	return node_render(g, ns->node->prompt, err);
}

uint64_t node_seed(const struct nodeset *g, const struct node_state *ns)
{
	return g->seed ^ ((uint64_t)ns->node->idx * 0x9E3779B97F4A7C15ULL);
}

const char *node_keep(struct nodeset *g, const struct buf *b)
{
	return arena_strndup(g->arena, buf_str(b), b->len);
}

size_t node_ok_count(const struct node_state *ns, const char **first)
{
	size_t ok = 0;
	if (first)
		*first = NULL;
	for (size_t i = 0; i < ns->ncalls; i++) {
		const struct response *p = NODE_RESP(ns, i);
		if (p->status != RESP_OK || p->role)
			continue;
		if (!ok++ && first)
			*first = p->text;
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
	case NK_EMBED: return &kind_embed;
	case NK_BANDIT: return &kind_bandit;
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

void node_start(struct nodeset *g, struct node_state *ns)
{
	ns->status = NS_RUNNING;
	ns->started_ms = call_ctx_now(g->calls);
	trace_event(g->trace, "node_start", "\"node\":\"%s\",\"kind\":\"%s\"",
		    trace_str(g->arena, ns->node->id), node_kind_name(ns->node->kind));
	if (ns->node->timeout_ms > 0) {
		ns->deadline.fire = node_timeout_fire;
		ns->deadline.ctx = ns;
		loop_timer_arm(g->calls->loop, &ns->deadline, clock_ms() + ns->node->timeout_ms);
	}
	const struct kind *k = kind_of(ns->node->kind);
	if (k)
		k->start(g, ns);
	else
		node_fail(g, ns, "internal", "node kind not available in this build");
}

/* ---- the end of a node ---- */

static int is_terminal(enum node_status st)
{
	return st == NS_OK || st == NS_FAILED || st == NS_SKIPPED;
}

/* The class of a node that failed without naming one: that of its first
 * call that failed (an auth error sinks a generate as "auth"), else
 * "internal". */
static void node_infer_class(struct node_state *ns)
{
	for (size_t i = 0; i < ns->ncalls; i++) {
		const struct response *p = NODE_RESP(ns, i);
		if (p->status == RESP_OK || p->err == ERR_NONE)
			continue;
		ns->err_class = err_class_name(p->err);
		ns->err_http = p->http_status;
		return;
	}
	ns->err_class = "internal";
}

void node_finish(struct nodeset *g, struct node_state *ns, enum node_status st,
		 const char *error)
{
	if (is_terminal(ns->status))
		return;
	ns->status = st;
	ns->error = error;
	if (st != NS_OK && !ns->err_class)
		node_infer_class(ns);
	if (st == NS_FAILED && ns->node->continue_on_error)
		g->degraded = 1;
	ns->ended_ms = call_ctx_now(g->calls);
	loop_timer_disarm(g->calls->loop, &ns->deadline);
	trace_event(g->trace, "node_end", "\"node\":\"%s\",\"status\":\"%s\",\"wall_ms\":%lld",
		    trace_str(g->arena, ns->node->id),
		    st == NS_OK ? "ok" : st == NS_FAILED ? "failed" : "skipped",
		    (long long)(ns->started_ms >= 0 ? ns->ended_ms - ns->started_ms : 0));
	g->ended(g->owner, ns);
}

void node_fail(struct nodeset *g, struct node_state *ns, const char *cls, const char *msg)
{
	if (is_terminal(ns->status))
		return;
	ns->err_class = cls;
	node_finish(g, ns, NS_FAILED, msg);
}

void node_degrade(struct nodeset *g, struct node_state *ns, const char *why)
{
	ns->degraded = why;
	ns->confident = 0;
	g->degraded = 1;
	trace_event(g->trace, "degraded", "\"node\":\"%s\",\"why\":\"%s\"",
		    trace_str(g->arena, ns->node->id), trace_str(g->arena, why));
}

void node_cancel(struct nodeset *g, struct node_state *ns, const char *why)
{
	if (ns->status == NS_RUNNING) {
		ns->err_class = "cancelled";
		node_finish(g, ns, NS_SKIPPED, why);
	}
	for (size_t i = 0; i < ns->ncalls; i++)
		call_cancel(ns->calls[i], ERR_CANCELLED, why);
}
