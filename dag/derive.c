/* Workflows made from a loaded one, for `quorum eval` and `quorum
 * router`: one model of it asked alone (the single-model baseline), one
 * model grading an answer against a rubric, or a node's embedding of its
 * prompt. A derived workflow points into its parent (models,
 * templates, inputs), so the parent must outlive it; it owns an arena of
 * its own for the few structs that differ. */
#include <string.h>

#include "../common/alloc.h"
#include "workflow.h"

static const char grader_system[] =
	"You grade one answer against a rubric. Be strict: the answer passes only "
	"when it meets every point of the rubric. Give a one-sentence reason, then "
	"a last line that is exactly PASS or FAIL.";

static const char grader_prompt[] =
	"Question:\n{{ query }}\n\n"
	"Answer to grade:\n{{ inputs.answer }}\n\n"
	"Rubric:\n{{ inputs.rubric }}\n\n"
	"Does the answer meet the rubric? End with PASS or FAIL on a line of its own.";

/* The node the parent asks its question with: the first generate node
 * (in order) that reads nothing but the inputs. NULL when none does. */
static const struct wf_node *entry_node(const struct workflow *wf)
{
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->order[i];
		if (n->kind == NK_GENERATE && n->ndeps == 0)
			return n;
	}
	return NULL;
}

/* The parent's inputs, then `extra` ones (required) it lacks. */
static int copy_inputs(struct workflow *d, const struct workflow *wf,
		       const char *const *extra, size_t nextra)
{
	d->inputs = arena_alloc(d->arena, (wf->ninputs + nextra) * sizeof(*d->inputs));
	if (!d->inputs)
		return -1;
	memcpy(d->inputs, wf->inputs, wf->ninputs * sizeof(*d->inputs));
	d->ninputs = wf->ninputs;
	for (size_t i = 0; i < nextra; i++)
		if (!workflow_input(wf, extra[i]))
			d->inputs[d->ninputs++] = (struct wf_input){
				.name = extra[i], .required = 1, .line = 1, .col = 1};
	return 0;
}

/* The shell shared by both kinds: one model (no fallbacks), one generate
 * node of one call, the parent's defaults. */
static struct workflow *derive(const struct workflow *wf, const struct wf_model *m,
			       const char *name)
{
	struct arena *a = arena_new();
	struct workflow *d = a ? arena_alloc(a, sizeof(*d)) : NULL;
	struct wf_model *mc = d ? arena_alloc(a, sizeof(*mc)) : NULL;
	struct wf_node *n = mc ? arena_alloc(a, sizeof(*n)) : NULL;
	struct wf_node **nodes = n ? arena_alloc(a, sizeof(*nodes)) : NULL;
	struct wf_model **models = nodes ? arena_alloc(a, sizeof(*models)) : NULL;
	if (!models || !(d->name = arena_printf(a, "%s: %s %s", wf->name, m->id, name))) {
		arena_free(a);
		return NULL;
	}
	*mc = *m;
	mc->idx = 0;
	mc->fallback = NULL;
	mc->nfallback = 0;
	models[0] = mc;
	*n = (struct wf_node){.id = "answer", .kind = NK_GENERATE, .models = models,
			      .nmodels = 1, .samples = 1, .min_ok = 1, .line = 1, .col = 1};
	nodes[0] = n;
	d->arena = a;
	d->file = wf->file;
	d->description = wf->description;
	d->defaults = wf->defaults;
	d->models = models;
	d->nmodels = 1;
	d->nodes = nodes;
	d->order = nodes;
	d->nnodes = 1;
	d->output = n;
	return d;
}

struct workflow *workflow_single(const struct workflow *wf, const struct wf_model *m)
{
	struct workflow *d = derive(wf, m, "alone");
	if (!d || copy_inputs(d, wf, NULL, 0)) {
		workflow_free(d);
		return NULL;
	}
	struct wf_node *n = d->nodes[0];
	const struct wf_node *e = entry_node(wf);
	if (e) {
		n->prompt = e->prompt;
		n->system = e->system;
		n->cs = e->cs;
		n->timeout_ms = e->timeout_ms;
		n->line = e->line;
		n->col = e->col;
		return d;
	}
	struct qdiags diags;
	qdiags_init(&diags, wf->file);
	n->prompt = tmpl_compile(d->arena, "{{ query }}", 1, 1, 0, &diags);
	qdiags_release(&diags);
	if (!n->prompt) {
		workflow_free(d);
		return NULL;
	}
	return d;
}

struct workflow *workflow_grader(const struct workflow *wf, const struct wf_model *m)
{
	static const char *const extra[] = {"answer", "rubric"};
	struct workflow *d = derive(wf, m, "grading");
	if (!d || copy_inputs(d, wf, extra, 2)) {
		workflow_free(d);
		return NULL;
	}
	struct wf_node *n = d->nodes[0];
	struct qdiags diags;
	qdiags_init(&diags, wf->file);
	n->prompt = tmpl_compile(d->arena, grader_prompt, 1, 1, 0, &diags);
	n->system = tmpl_compile(d->arena, grader_system, 1, 1, 0, &diags);
	qdiags_release(&diags);
	n->cs.set = CS_TEMPERATURE;
	n->cs.temperature = 0;
	if (!n->prompt || !n->system) {
		workflow_free(d);
		return NULL;
	}
	return d;
}

struct workflow *workflow_embedder(const struct workflow *wf, const struct wf_node *src)
{
	if (!src->embed)
		return NULL;
	struct workflow *d = derive(wf, src->embed, "embedding");
	if (!d || copy_inputs(d, wf, NULL, 0)) {
		workflow_free(d);
		return NULL;
	}
	struct wf_node *n = d->nodes[0];
	n->kind = NK_EMBED;
	n->prompt = src->prompt;
	n->line = src->line;
	n->col = src->col;
	return d;
}

/* Marks (in role[]: 1 chat, 2 embeddings) the models node n names. */
static void mark_roles(const struct wf_node *n, unsigned char *role)
{
	for (size_t i = 0; i < n->nmodels; i++)
		role[n->models[i]->idx] |= 1;
	const struct wf_model *chat[] = {n->accept.judge, n->route_default, n->reward_judge};
	for (size_t i = 0; i < sizeof(chat) / sizeof(chat[0]); i++)
		if (chat[i])
			role[chat[i]->idx] |= 1;
	for (size_t i = 0; i < n->nroutes; i++) {
		if (n->routes[i].to)
			role[n->routes[i].to->idx] |= 1;
		if (n->routes[i].ask)
			role[n->routes[i].ask->idx] |= 1;
	}
	if (n->embed)
		role[n->embed->idx] |= 2;
	if (n->run)
		mark_roles(n->run, role);
}

int workflow_embeds_only(const struct workflow *wf, const struct wf_model *m)
{
	unsigned char *role = q_calloc(wf->nmodels ? wf->nmodels : 1, 1);
	if (!role)
		return 0;
	for (size_t i = 0; i < wf->nnodes; i++)
		mark_roles(wf->nodes[i], role);
	/* A fallback takes its model's role; chains are acyclic, so as many
	 * passes as models reach every link. */
	for (size_t pass = 0; pass < wf->nmodels; pass++) {
		int changed = 0;
		for (size_t i = 0; i < wf->nmodels; i++) {
			const struct wf_model *x = wf->models[i];
			for (size_t k = 0; k < x->nfallback; k++) {
				unsigned char *r = &role[x->fallback[k]->idx];
				changed |= (*r | role[i]) != *r;
				*r |= role[i];
			}
		}
		if (!changed)
			break;
	}
	int only = role[m->idx] == 2;
	q_free(role);
	return only;
}
