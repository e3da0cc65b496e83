/* The kinds of the core: generate fans one prompt out to its models,
 * synthesize has one model merge the candidates, vote and template make
 * no call. */
#include <string.h>

#include "../aggregators/decide.h"
#include "../aggregators/synthesize.h"
#include "../aggregators/vote.h"
#include "node.h"

/* A node whose calls have all ended: ok when enough of them succeeded. */
static void finish_by_count(struct nodeset *g, struct node_state *ns, size_t need)
{
	const char *first;
	size_t ok = node_ok_count(ns, &first);
	if (ok >= need) {
		ns->output = first;
		node_finish(g, ns, NS_OK, NULL);
		return;
	}
	const char *why = ns->timed_out ? "the node's timeout passed" : "too few calls succeeded";
	node_finish(g, ns, NS_FAILED,
		    arena_printf(g->arena, "%s: %zu of %zu calls succeeded, %zu needed",
				 why, ok, ns->ncalls, need));
}

static void generate_start(struct nodeset *g, struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	const char *err = NULL;
	const char *prompt = node_render(g, n->prompt, &err);
	const char *system = node_render(g, n->system, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	int samples = n->samples > 0 ? n->samples : 1;
	if (node_reserve(g, ns, n->nmodels * (size_t)samples)) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	for (size_t m = 0; m < n->nmodels; m++)
		for (int s = 0; s < samples; s++)
			node_call(g, ns, n->models[m], system, prompt, 0, NULL);
}

/* The vote that reads only this node and may stop it early, or NULL. */
static const struct wf_node *deciding_vote(const struct node_state *ns)
{
	for (size_t i = 0; i < ns->ndependents; i++) {
		const struct wf_node *d = ns->dependents[i]->node;
		/* `stop_when: decided` written on the vote, or on the
		 * generate it reads (the contract's place for it). */
		if (d->kind == NK_VOTE && d->nfrom == 1 &&
		    (d->stop_when_decided || ns->node->stop_when_decided))
			return d;
	}
	return NULL;
}

/* `stop_when: decided`: the moment no call still out can change the
 * vote's winner, those calls are cancelled (the report marks them so). */
static void maybe_decide(struct nodeset *g, struct node_state *ns)
{
	const struct wf_node *vote = deciding_vote(ns);
	if (!vote || !ns->outstanding || ns->decided)
		return;
	struct vote_candidate *done = arena_alloc(g->arena, ns->ncalls * sizeof(*done));
	const char **pending = arena_alloc(g->arena, ns->ncalls * sizeof(*pending));
	if (!done || !pending)
		return;
	size_t nd = 0, np = 0;
	for (size_t i = 0; i < ns->ncalls; i++) {
		const struct response *p = NODE_RESP(ns, i);
		if (p->status == RESP_PENDING)
			pending[np++] = ns->calls[i]->first ? ns->calls[i]->first->id
							    : ns->calls[i]->model->id;
		else
			done[nd++] = (struct vote_candidate){p->model,
							     p->status == RESP_OK ? p->text : NULL};
	}
	if (!vote_decided(vote, done, nd, pending, np))
		return;
	ns->decided = 1; /* cancelling below must not decide again */
	trace_event(g->trace, "decided", "\"node\":\"%s\",\"vote\":\"%s\",\"cancelled\":%zu",
		    trace_str(g->arena, ns->node->id), trace_str(g->arena, vote->id), np);
	for (size_t i = 0; i < ns->ncalls; i++)
		call_cancel(ns->calls[i], ERR_CANCELLED,
			    "the vote was decided: no answer still out could change it");
}

static void generate_call_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	(void)c;
	maybe_decide(g, ns);
	if (ns->status == NS_RUNNING && ns->outstanding == 0)
		finish_by_count(g, ns, ns->node->min_ok > 0 ? (size_t)ns->node->min_ok : 1);
}

const struct kind kind_generate = {generate_start, generate_call_done};

static void synthesize_start(struct nodeset *g, struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	const char **texts, **models;
	size_t k = node_gather(g, n, &texts, &models);
	if (!k) {
		node_fail(g, ns, "dependency", "no candidates to synthesize");
		return;
	}
	const char *err = NULL;
	const char *prompt = n->prompt ? node_render(g, n->prompt, &err) : g->query;
	const char *system = node_render(g, n->system, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	struct buf sys;
	buf_init(&sys, g->prompt_bytes);
	if (synth_build_system(&sys, system, texts, k)) {
		buf_release(&sys);
		node_fail(g, ns, "too_large", "synthesis prompt" PROMPT_TOO_LARGE);
		return;
	}
	system = arena_strndup(g->arena, buf_str(&sys), sys.len);
	buf_release(&sys);
	if (!node_call(g, ns, n->models[0], system, prompt, 0, NULL))
		node_fail(g, ns, "internal", "out of memory");
}

const struct kind kind_synthesize = {synthesize_start, generate_call_done};

static void vote_start(struct nodeset *g, struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	const char **texts, **models;
	size_t k = node_gather(g, n, &texts, &models);
	struct vote_candidate *cand = arena_alloc(g->arena, (k + 1) * sizeof(*cand));
	struct vote_result *vr = arena_alloc(g->arena, sizeof(*vr));
	if (!cand || !vr) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	for (size_t i = 0; i < k; i++)
		cand[i] = (struct vote_candidate){models[i], texts[i]};
	ns->vote = vr;
	int rc = vote_run(n, cand, k, g->arena, vr);
	if (rc < 0) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	if (rc > 0) {
		/* Nothing to count is not a reason to throw away the answers
		 * downstream nodes still read: the vote says so and goes on. */
		ns->output = "";
		node_degrade(g, ns, k ? "no candidate has an answer the extract mode can find"
				      : "no candidates to vote on");
		node_finish(g, ns, NS_OK, NULL);
		return;
	}
	ns->output = vr->output;
	ns->confident = vr->confident;
	ns->agreement = vr->agreement;
	node_finish(g, ns, NS_OK, NULL);
}

static void no_calls(struct nodeset *g, struct node_state *ns, struct call *c)
{
	(void)g;
	(void)ns;
	(void)c;
}

const struct kind kind_vote = {vote_start, no_calls};

static void template_start(struct nodeset *g, struct node_state *ns)
{
	const char *err = NULL;
	ns->output = node_render(g, ns->node->text, &err);
	if (err)
		node_fail(g, ns, "too_large", err);
	else
		node_finish(g, ns, NS_OK, NULL);
}

const struct kind kind_template = {template_start, no_calls};
