/* What `quorum validate` prints: the file's shape and the worst case of
 * one run, retries and fallbacks included, so a user sees the bill before
 * the first call. Each kind counts the calls it may make at most, as its
 * node_*.c makes them; a budget the worst case could pass gets a warning. */
#include <string.h>

#include "../common/alloc.h"
#include "quorum.h"
#include "run.h"

struct worst {
	long calls, attempts;
	double usd;
	int price_unknown;
};

/* What an aggregator's prompt adds to its template: the candidates, the
 * question, its own instructions. Unknown before the run; an estimate. */
#define CANDIDATES_BYTES 4096

/* The template's source stands in for the prompt: the size of what it
 * pulls in is not known before the run. */
static size_t tmpl_len(const struct tmpl *t)
{
	return t ? strlen(tmpl_source(t)) : 0;
}

static void worst_add(struct worst *w, const struct worst *x, long times)
{
	w->calls += x->calls * times;
	w->attempts += x->attempts * times;
	w->usd += x->usd * (double)times;
	w->price_unknown |= x->price_unknown;
}

/* The larger of each count: a bound for "one of these". */
static void worst_max(struct worst *w, const struct worst *x)
{
	if (x->calls > w->calls)
		w->calls = x->calls;
	if (x->attempts > w->attempts)
		w->attempts = x->attempts;
	if (x->usd > w->usd)
		w->usd = x->usd;
	w->price_unknown |= x->price_unknown;
}

/* One call of node n to model m: its retries, then each fallback of m
 * with its own retries (fallbacks are not followed further). cs_node
 * gives the node's call settings. */
static void chain(const struct workflow *wf, const struct wf_node *cs_node,
		  const struct wf_model *m, size_t prompt_bytes, struct worst *w)
{
	const struct wf_model *first = m;
	w->calls++;
	for (size_t k = 0;; k++) {
		struct call_settings cs;
		workflow_call_settings(wf, cs_node, m, &cs);
		long tries = 1 + (cs.retries > 0 ? cs.retries : 0);
		w->attempts += tries;
		if (!m->price_known)
			w->price_unknown = 1;
		w->usd += (double)tries * budget_worst_case_usd(m, &cs, NULL, NULL) +
			  (double)tries * (double)prompt_bytes * m->price_in / 1e6;
		if (k >= first->nfallback)
			break;
		m = first->fallback[k];
	}
}

/* `times` calls to m. */
static void calls(const struct workflow *wf, const struct wf_node *n, const struct wf_model *m,
		  size_t bytes, long times, struct worst *w)
{
	struct worst one = {0};
	if (!m || times <= 0)
		return;
	chain(wf, n, m, bytes, &one);
	worst_add(w, &one, times);
}

/* The texts of one request of semantic examples, as node_route.c sends
 * them. */
#define EXAMPLES_PER_CALL 96

/* The embeddings a route may fetch: the prompt's, once, when a semantic
 * or score route is reached, and the examples' in chunks (the engine
 * keeps them, but the first run of an engine pays for them). */
static void route_embeds(const struct workflow *wf, const struct wf_node *cs_node,
			 const struct wf_node *n, size_t bytes, struct worst *w)
{
	size_t examples = 0, example_bytes = 0;
	int vector = 0;
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct wf_cond *c = &n->routes[i].when;
		vector |= c->semantic || c->score;
		for (size_t k = 0; c->semantic && k < c->semantic->nexamples; k++) {
			examples++;
			example_bytes += strlen(c->semantic->examples[k]);
		}
	}
	if (!vector || !n->embed)
		return;
	calls(wf, cs_node, n->embed, bytes, 1, w);
	long chunks = (long)((examples + EXAMPLES_PER_CALL - 1) / EXAMPLES_PER_CALL);
	calls(wf, cs_node, n->embed, chunks ? example_bytes / (size_t)chunks : 0, chunks, w);
}

/* A route may ask every ask route's model (each may decline), fetch the
 * embeddings its conditions need, then send one call to whichever route
 * fires: the dearest. */
static void route_worst(const struct workflow *wf, const struct wf_node *cs_node,
			const struct wf_node *n, size_t bytes, struct worst *w)
{
	struct worst best = {0};
	for (size_t i = 0; i <= n->nroutes; i++) {
		const struct wf_model *m = i < n->nroutes ? n->routes[i].to : n->route_default;
		struct worst one = {0};
		calls(wf, cs_node, m, bytes, 1, &one);
		worst_max(&best, &one);
		if (i < n->nroutes)
			calls(wf, cs_node, n->routes[i].ask, bytes, 1, w);
	}
	worst_add(w, &best, 1);
	route_embeds(wf, cs_node, n, bytes, w);
}

/* A bandit asks one arm (the dearest, at worst), embeds the prompt first
 * under policy linear, and has its judge rate the answer. */
static void bandit_worst(const struct workflow *wf, const struct wf_node *n, size_t bytes,
			 struct worst *w)
{
	struct worst best = {0};
	for (size_t i = 0; i < n->nmodels; i++) {
		struct worst one = {0};
		calls(wf, n, n->models[i], bytes, 1, &one);
		worst_max(&best, &one);
	}
	worst_add(w, &best, 1);
	if (n->policy == WF_BANDIT_LINEAR)
		calls(wf, n, n->embed, bytes, 1, w);
	calls(wf, n, n->reward_judge, bytes + CANDIDATES_BYTES, 1, w);
}

/* Each step: its answers (samples of them when agreement decides), then
 * its check (self_check samples by the same model, or one judge call);
 * the last model's answer is kept unchecked. */
static void cascade_worst(const struct workflow *wf, const struct wf_node *n, size_t bytes,
			  struct worst *w)
{
	const struct wf_accept *a = &n->accept;
	long samples = a->samples > 0 ? a->samples : 3;
	for (size_t i = 0; i < n->nmodels; i++) {
		int last = i + 1 == n->nmodels;
		long answers = a->kind == ACCEPT_AGREEMENT && !last ? samples : 1;
		calls(wf, n, n->models[i], bytes, answers, w);
		if (last)
			continue;
		if (a->kind == ACCEPT_SELF_CHECK)
			calls(wf, n, n->models[i], bytes + CANDIDATES_BYTES, samples, w);
		else if (a->kind == ACCEPT_JUDGE)
			calls(wf, n, a->judge, bytes + CANDIDATES_BYTES, 1, w);
	}
}

/* What one subtask runs, with the plan's call settings under the run's
 * own (the larger of the two where they differ). */
static void subtask_worst(const struct workflow *wf, const struct wf_node *plan,
			  struct worst *w)
{
	const struct wf_node *run = plan->run;
	struct wf_node merged = *run;
	merged.cs = plan->cs;
	call_settings_apply(&merged.cs, &run->cs);
	size_t bytes = tmpl_len(run->prompt) + tmpl_len(run->system) + CANDIDATES_BYTES;
	struct worst best = {0};
	for (int pass = 0; pass < 2; pass++) {
		const struct wf_node *cs_node = pass ? &merged : plan;
		struct worst one = {0};
		if (run->kind == NK_ROUTE) {
			route_worst(wf, cs_node, run, bytes, &one);
		} else {
			long samples = run->samples > 0 ? run->samples : 1;
			for (size_t i = 0; i < run->nmodels; i++)
				calls(wf, cs_node, run->models[i], bytes, samples, &one);
		}
		worst_max(&best, &one);
	}
	worst_add(w, &best, 1);
}

/* The planner, asked once more when its plan is invalid, then
 * max_subtasks subtasks. */
static void plan_worst(const struct workflow *wf, const struct wf_node *n, size_t bytes,
		       struct worst *w)
{
	calls(wf, n, n->nmodels ? n->models[0] : NULL, bytes + CANDIDATES_BYTES, 2, w);
	if (!n->run)
		return;
	struct worst sub = {0};
	subtask_worst(wf, n, &sub);
	worst_add(w, &sub, n->max_subtasks > 0 ? n->max_subtasks : 8);
}

static void node_worst(const struct workflow *wf, const struct wf_node *n,
		       struct worst *w)
{
	size_t bytes = tmpl_len(n->prompt) + tmpl_len(n->system);
	long samples = n->samples > 0 ? n->samples : 1;
	switch (n->kind) {
	case NK_GENERATE:
		for (size_t i = 0; i < n->nmodels; i++)
			calls(wf, n, n->models[i], bytes, samples, w);
		break;
	case NK_SYNTHESIZE:
		calls(wf, n, n->nmodels ? n->models[0] : NULL, bytes + CANDIDATES_BYTES, 1, w);
		break;
	case NK_JUDGE:
	case NK_RANK:
		/* Each judge or member, asked once more when its verdict or
		 * ballot cannot be read. */
		for (size_t i = 0; i < n->nmodels; i++)
			calls(wf, n, n->models[i], bytes + CANDIDATES_BYTES, 2, w);
		break;
	case NK_CASCADE:
		cascade_worst(wf, n, bytes, w);
		break;
	case NK_ROUTE:
		route_worst(wf, n, n, bytes, w);
		break;
	case NK_PLAN:
		plan_worst(wf, n, bytes, w);
		break;
	case NK_BANDIT:
		bandit_worst(wf, n, bytes, w);
		break;
	default:
		break;
	}
}

/* One `warning:` line for each budget limit the worst case passes. */
static void budget_warnings(const struct workflow *wf, const struct worst *w, struct buf *b)
{
	if (wf->has_max_calls && w->calls > wf->max_calls)
		buf_printf(b, "warning: the worst case makes %ld calls, more than the budget's "
			   "max_calls %ld: the run may end budget_exceeded\n", w->calls,
			   wf->max_calls);
	else if (wf->has_max_calls && w->attempts > wf->max_calls)
		buf_printf(b, "warning: with every retry and fallback the worst case makes %ld "
			   "attempts, more than the budget's max_calls %ld (each attempt "
			   "counts): the run may end budget_exceeded\n", w->attempts,
			   wf->max_calls);
	if (wf->has_max_usd && w->usd > wf->max_usd * (1 + 1e-9))
		buf_printf(b, "warning: with every retry and fallback the worst case costs "
			   "$%.4f, more than the budget's max_usd $%.4f: the run may end "
			   "budget_exceeded\n", w->usd, wf->max_usd);
}

char *quorum_workflow_summary(const struct quorum_workflow *qw)
{
	const struct workflow *wf = qw->wf;
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s: ok\n  name: %s\n", wf->file, wf->name);
	if (wf->description)
		buf_printf(&b, "  description: %s\n", wf->description);
	buf_printf(&b, "  nodes: %zu, output: %s\n", wf->nnodes, wf->output->id);
	struct worst w = {0};
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->order[i];
		struct worst nw = {0};
		node_worst(wf, n, &nw);
		buf_printf(&b, "    %-16s %-10s", n->id, node_kind_name(n->kind));
		if (nw.calls)
			buf_printf(&b, " %ld call%s, at most %ld attempts", nw.calls,
				   nw.calls == 1 ? "" : "s", nw.attempts);
		buf_putc(&b, '\n');
		worst_add(&w, &nw, 1);
	}
	buf_printf(&b, "  worst case per run: %ld call%s (%ld with every retry and fallback), "
		       "$%.4f%s\n", w.calls, w.calls == 1 ? "" : "s", w.attempts, w.usd,
		   w.price_unknown ? " (some models have no price: counted as 0)" : "");
	if (wf->has_max_calls || wf->has_max_usd) {
		buf_puts(&b, "  budget:");
		if (wf->has_max_calls)
			buf_printf(&b, " max_calls %ld", wf->max_calls);
		if (wf->has_max_usd)
			buf_printf(&b, " max_usd $%.4f", wf->max_usd);
		buf_putc(&b, '\n');
	}
	budget_warnings(wf, &w, &b);
	char *s = q_strdup(buf_str(&b));
	buf_release(&b);
	return s;
}
