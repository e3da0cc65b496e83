#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "graph.h"
#include "loadctx.h"
#include "strmap.h"

/* Validation resolves every name the loader recorded (nodes, models,
 * inputs), creates inline `provider/model` models, finds dependency and
 * fallback cycles, orders the nodes and picks the output. Each problem is
 * reported where the name was written; nothing stops at the first. */

struct vctx {
	struct loadctx *c;
	struct workflow *wf;
	struct strmap nodes, models, inputs;
	const char **node_ids;
	const char **model_ids;   /* declared ones: the suggestions */
	const char **input_names;
	int incomplete;           /* some node or reference could not be read */
};

static int v_maps(struct vctx *v)
{
	struct workflow *wf = v->wf;
	size_t nn = wf->nnodes, nm = wf->nmodels, ni = wf->ninputs;
	v->node_ids = q_malloc((nn + 1) * sizeof(char *));
	v->model_ids = q_malloc((nm + 1) * sizeof(char *));
	v->input_names = q_malloc((ni + 1) * sizeof(char *));
	if (!v->node_ids || !v->model_ids || !v->input_names)
		return -1;
	for (size_t i = 0; i < nn; i++) {
		v->node_ids[i] = wf->nodes[i]->id;
		if (strmap_put(&v->nodes, wf->nodes[i]->id, wf->nodes[i]))
			return -1;
	}
	for (size_t i = 0; i < nm; i++) {
		v->model_ids[i] = wf->models[i]->id;
		if (strmap_put(&v->models, wf->models[i]->id, wf->models[i]))
			return -1;
	}
	for (size_t i = 0; i < ni; i++) {
		v->input_names[i] = wf->inputs[i].name;
		if (strmap_put(&v->inputs, wf->inputs[i].name, &wf->inputs[i]))
			return -1;
	}
	return 0;
}

/* ---- models ---- */

static struct wf_model *v_inline_model(struct vctx *v, const struct name_ref *r,
				       const char *slash)
{
	struct loadctx *c = v->c;
	char prov[64];
	size_t plen = (size_t)(slash - r->name);
	if (plen >= sizeof(prov))
		plen = sizeof(prov) - 1;
	memcpy(prov, r->name, plen);
	prov[plen] = '\0';
	const struct provfacts *p = ld_provider(c, r->line, r->col, prov);
	if (!p)
		return NULL;
	if (!slash[1]) {
		ld_diag(c, r->line, r->col, "'%.60s' names no model after the '/'", r->name);
		return NULL;
	}
	struct wf_model *m = ld_model_add(c, r->name, r->line, r->col);
	if (!m)
		return NULL;
	m->provider = p->name;
	m->model = m->id + plen + 1;
	m->is_inline = 1;
	ld_model_defaults(m);
	if (strmap_put(&v->models, m->id, m)) {
		ld_oom(c);
		return NULL;
	}
	return m;
}

/* A declared id first, then `provider/model` (created once, at its first
 * mention). */
static struct wf_model *v_model(struct vctx *v, const struct name_ref *r)
{
	struct wf_model *m = strmap_get(&v->models, r->name);
	if (m)
		return m;
	const char *slash = strchr(r->name, '/');
	if (slash)
		return v_inline_model(v, r, slash);
	ld_unknown_name(v->c, r->line, r->col, "model", r->name, v->model_ids,
			v->c->ndeclared, "declare it under 'models' or write provider/model");
	return NULL;
}

static struct wf_model **v_model_list(struct vctx *v, const struct ref_list *l, size_t *n)
{
	*n = 0;
	struct wf_model **out = arena_alloc(v->c->a, (l->n ? l->n : 1) * sizeof(*out));
	if (!out) {
		ld_oom(v->c);
		return NULL;
	}
	for (size_t i = 0; i < l->n && !v->c->oom; i++) {
		struct wf_model *m = v_model(v, &l->v[i]);
		if (m)
			out[(*n)++] = m;
		else
			v->incomplete = 1;
	}
	return out;
}

/* A model named once (route `to` and `default`, the accept judge), or
 * NULL when the name is not written or not known. */
static struct wf_model *v_model_one(struct vctx *v, const struct name_ref *r)
{
	if (!r->name)
		return NULL;
	struct wf_model *m = v_model(v, r);
	if (!m)
		v->incomplete = 1;
	return m;
}

/* Every model a node names; a plan's run included. */
static void v_models_of(struct vctx *v, struct wf_node *node, const struct node_src *ns)
{
	if (ns->skip)
		return;
	if (ns->models.n)
		node->models = v_model_list(v, &ns->models, &node->nmodels);
	node->accept.judge = v_model_one(v, &ns->accept_judge);
	for (size_t i = 0; i < node->nroutes; i++) {
		node->routes[i].to = v_model_one(v, &ns->route_to[i]);
		if (ns->route_ask)
			node->routes[i].ask = v_model_one(v, &ns->route_ask[i]);
	}
	node->route_default = v_model_one(v, &ns->route_default);
	node->embed = v_model_one(v, &ns->embed);
	node->reward_judge = v_model_one(v, &ns->reward_judge);
	if (node->run && ns->run)
		v_models_of(v, node->run, ns->run);
}

static void v_node_models(struct vctx *v)
{
	for (size_t i = 0; i < v->wf->nnodes; i++)
		v_models_of(v, v->wf->nodes[i], &v->c->ns[i]);
	for (size_t i = 0; i < v->c->ndeclared; i++) {
		struct wf_model *m = v->wf->models[i];
		m->fallback = v_model_list(v, &v->c->ms[i].fallback, &m->nfallback);
	}
}

static void v_weights(struct vctx *v)
{
	for (size_t i = 0; i < v->wf->nnodes; i++) {
		struct node_src *ns = &v->c->ns[i];
		struct wf_node *node = v->wf->nodes[i];
		if (ns->skip || !ns->weights.n)
			continue;
		node->weights = arena_alloc(v->c->a, ns->weights.n * sizeof(*node->weights));
		if (!node->weights) {
			ld_oom(v->c);
			return;
		}
		for (size_t j = 0; j < ns->weights.n; j++) {
			const struct name_ref *r = &ns->weights.v[j];
			const struct wf_model *m = strmap_get(&v->models, r->name);
			if (!m) {
				ld_unknown_name(v->c, r->line, r->col, "model", r->name,
						v->model_ids, v->c->ndeclared, NULL);
				continue;
			}
			node->weights[node->nweights++] = (struct wf_weight){m->id,
									     ns->weight_vals[j]};
		}
	}
}

/* ---- routes ---- */

/* The first model that m's failures could reach (m itself, then its
 * fallbacks, breadth first) that is not marked local, or NULL. */
static const struct wf_model *v_first_cloud(struct vctx *v, const struct wf_model *m)
{
	size_t n = v->wf->nmodels;
	unsigned char *seen = q_calloc(n ? n : 1, 1);
	const struct wf_model **queue = q_malloc((n ? n : 1) * sizeof(*queue));
	const struct wf_model *cloud = NULL;
	size_t head = 0, tail = 0;
	if (!seen || !queue) {
		ld_oom(v->c);
		goto done;
	}
	queue[tail++] = m;
	seen[m->idx] = 1;
	while (head < tail && !cloud) {
		const struct wf_model *x = queue[head++];
		if (!x->local)
			cloud = x;
		for (size_t i = 0; i < x->nfallback; i++) {
			if (!seen[x->fallback[i]->idx]) {
				seen[x->fallback[i]->idx] = 1;
				queue[tail++] = x->fallback[i];
			}
		}
	}
done:
	q_free(seen);
	q_free(queue);
	return cloud;
}

/* Routes are tried in order, so every route before a route for personal
 * data sees the prompts that carry it: a model asked there, or the
 * embeddings model a semantic or score condition there calls, must be
 * local too. */
static void v_seen_before(struct vctx *v, const struct wf_node *node,
			  const struct node_src *ns, size_t pii_route)
{
	for (size_t j = 0; j < pii_route; j++) {
		const struct wf_route *r = &node->routes[j];
		const struct wf_model *m = r->ask ? r->ask
					   : (r->when.semantic || r->when.score) ? node->embed
					   : NULL;
		const struct name_ref *at = r->ask ? &ns->route_ask[j] : &ns->embed;
		const struct wf_model *cloud = m ? v_first_cloud(v, m) : NULL;
		if (cloud)
			ld_diag(v->c, at->line ? at->line : r->line, at->line ? at->col : r->col,
				"'%s' sees prompts with personal data before routes[%zu] (for "
				"personal data) is tried, and %s'%s' is not marked local: true",
				m->id, pii_route, cloud == m ? "" : "its fallback ", cloud->id);
	}
}

/* The first condition of w besides contains_pii, by its key; NULL when
 * there is none. */
static const char *v_other_condition(const struct wf_cond *w)
{
	if (w->pattern)
		return "regex";
	if (w->min_chars >= 0 || w->max_chars >= 0)
		return w->min_chars >= 0 ? "min_chars" : "max_chars";
	if (w->ninputs)
		return "input";
	if (w->semantic || w->score)
		return w->semantic ? "semantic" : "score";
	if (w->min_difficulty >= 0 || w->max_difficulty >= 0)
		return "difficulty";
	if (w->min_tokens >= 0 || w->max_tokens >= 0)
		return "tokens";
	return NULL;
}

/* The models route j lets see a prompt with personal data that reached
 * it: its embeddings model, its ask model or its target. A route that
 * rules personal data out sees none; into out[], at most 2. */
static size_t v_route_sees(const struct wf_node *node, size_t j, const struct wf_model **out)
{
	const struct wf_route *r = &node->routes[j];
	size_t n = 0;
	if (r->ask) {
		out[n++] = r->ask;
		return n;
	}
	if (r->when.contains_pii == 0)
		return 0;
	if ((r->when.semantic || r->when.score) && node->embed)
		out[n++] = node->embed;
	if (r->to)
		out[n++] = r->to;
	return n;
}

/* A route for personal data with other conditions too passes on the
 * personal data it does not take: every model that can see it after that
 * (later routes, up to one for personal data alone, and the default) must
 * be local, so a prompt with personal data never leaves, whatever else it
 * says. */
static void v_passed_on(struct vctx *v, const struct wf_node *node, size_t pii_route)
{
	const struct wf_route *r = &node->routes[pii_route];
	const char *other = v_other_condition(&r->when);
	if (!other)
		return;
	const struct wf_model *cloud = NULL;
	/* Its own embedding sees what it then passes on; its target is
	 * checked on its own. */
	if ((r->when.semantic || r->when.score) && node->embed)
		cloud = v_first_cloud(v, node->embed);
	for (size_t j = pii_route + 1; j < node->nroutes && !cloud; j++) {
		const struct wf_route *x = &node->routes[j];
		if (x->when.contains_pii == 1 && !x->ask && !v_other_condition(&x->when))
			return;
		const struct wf_model *sees[2];
		size_t n = v_route_sees(node, j, sees);
		for (size_t k = 0; k < n && !cloud; k++)
			cloud = v_first_cloud(v, sees[k]);
	}
	if (!cloud && node->route_default)
		cloud = v_first_cloud(v, node->route_default);
	if (cloud)
		ld_diag(v->c, r->when.line, r->when.col, "routes[%zu] for personal data also "
			"tests %s, so personal data that fails it goes on and can reach '%s', "
			"which is not marked local: true (give personal data a route of its own, "
			"with contains_pii alone)", pii_route, other, cloud->id);
}

/* A prompt with personal data goes only to a model marked local, and
 * stays local when that model fails over. */
static void v_route_privacy(struct vctx *v, const struct wf_node *node,
			    const struct node_src *ns)
{
	if (ns->skip)
		return;
	for (size_t i = 0; i < node->nroutes; i++) {
		const struct wf_route *r = &node->routes[i];
		const struct name_ref *at = &ns->route_to[i];
		if (r->when.contains_pii != 1 || !r->to)
			continue;
		const struct wf_model *cloud = v_first_cloud(v, r->to);
		if (cloud == r->to)
			ld_diag(v->c, at->line, at->col, "route for personal data goes to '%s', "
				"which is not marked local: true", r->to->id);
		else if (cloud)
			ld_diag(v->c, at->line, at->col, "route for personal data goes to '%s', "
				"whose fallback '%s' is not marked local: true", r->to->id,
				cloud->id);
		v_seen_before(v, node, ns, i);
		v_passed_on(v, node, i);
	}
	if (node->run && ns->run)
		v_route_privacy(v, node->run, ns->run);
}

/* Route conditions on inputs name declared inputs. Returns whether one
 * of them is the query. */
static int v_route_inputs(struct vctx *v, const struct wf_node *node,
			  const struct node_src *ns)
{
	int query = 0;
	if (ns->skip)
		return 0;
	for (size_t i = 0; i < ns->route_inputs.n; i++) {
		const struct name_ref *r = &ns->route_inputs.v[i];
		if (!strcmp(r->name, "query"))
			query = 1;
		else if (!strmap_get(&v->inputs, r->name))
			ld_unknown_name(v->c, r->line, r->col, "input", r->name, v->input_names,
					v->wf->ninputs, "declare it under 'inputs'");
	}
	if (node->run && ns->run)
		query |= v_route_inputs(v, node->run, ns->run);
	return query;
}

/* After every model is known: a base_url may not name any model's key
 * variable. */
static void v_base_urls(struct vctx *v)
{
	for (size_t i = 0; i < v->c->ndeclared; i++) {
		const struct model_src *ms = &v->c->ms[i];
		const struct wf_model *m = v->wf->models[i];
		if (ms->base_url && m->base_url)
			ld_check_base_url(v->c, m->base_url, ms->base_url);
		for (size_t e = 0; ms->endpoint_urls && e < m->nendpoints; e++)
			if (ms->endpoint_urls[e] && m->endpoints[e].base_url)
				ld_check_base_url(v->c, m->endpoints[e].base_url,
						  ms->endpoint_urls[e]);
	}
}

/* An embeddings model: one whose provider has an embeddings endpoint. */
static void v_embed_model(struct vctx *v, const struct wf_model *m, const struct name_ref *at)
{
	const struct provfacts *f = m ? provfacts_find(m->provider) : NULL;
	if (f && !f->embeddings)
		ld_diag(v->c, at->line, at->col, "'embed' model '%s' is %s %s model, and %s has "
			"no embeddings API (use an openai-compatible, gemini or ollama one)", m->id,
			m->provider[0] && strchr("aeiou", m->provider[0]) ? "an" : "a", m->provider,
			m->provider);
}

/* What a route's conditions need: an embeddings model for semantic and
 * score; a plan's subtask for difficulty and tokens. */
static void v_route_needs(struct vctx *v, const struct wf_node *node,
			  const struct node_src *ns, int in_plan)
{
	if (ns->skip)
		return;
	for (size_t i = 0; i < node->nroutes; i++) {
		const struct wf_cond *w = &node->routes[i].when;
		/* A subtask is routed at once, as the plan starts it. */
		if (in_plan && (w->semantic || w->score || node->routes[i].ask)) {
			ld_diag(v->c, node->routes[i].line, node->routes[i].col, "routes[%zu] of a "
				"plan's 'run' %s: a subtask is routed by what it says and the "
				"planner's estimates (regex, min_chars, max_chars, contains_pii, "
				"input, difficulty, tokens)", i, node->routes[i].ask
				? "asks a model" : w->semantic ? "is semantic" : "has a score");
			continue;
		}
		if ((w->semantic || w->score) && !ns->embed.name)
			ld_diag(v->c, w->line, w->col, "routes[%zu] has a %s condition: the node "
				"needs 'embed' (the model that embeds the prompt)", i,
				w->semantic ? "semantic" : "score");
		if (!in_plan && (w->min_difficulty >= 0 || w->max_difficulty >= 0 ||
				 w->min_tokens >= 0 || w->max_tokens >= 0))
			ld_diag(v->c, w->line, w->col, "routes[%zu] has a %s condition, which only "
				"a plan's subtasks have (write this route in a plan's 'run')", i,
				w->min_difficulty >= 0 || w->max_difficulty >= 0 ? "difficulty"
										  : "tokens");
	}
	if (node->embed)
		v_embed_model(v, node->embed, &ns->embed);
	if (node->run && ns->run)
		v_route_needs(v, node->run, ns->run, 1);
}

/* Each arm once: a second copy would split one model's rewards in two. */
static void v_bandit_twice(struct vctx *v, const struct wf_node *node,
			   const struct node_src *ns)
{
	/* Only when every name resolved do node->models and ns->models line
	 * up one to one. */
	if (node->nmodels != ns->models.n)
		return;
	for (size_t i = 1; i < node->nmodels; i++) {
		for (size_t j = 0; j < i; j++) {
			if (node->models[i] != node->models[j])
				continue;
			const struct name_ref *at = &ns->models.v[i], *first = &ns->models.v[j];
			ld_diag(v->c, at->line, at->col, "arm '%s' is named twice (first at "
				"%d:%d): name each arm once", node->models[i]->id, first->line,
				first->col);
			break;
		}
	}
}

/* A bandit: two arms or more, at most what its state holds, each once;
 * a linear policy learns from the prompt's embedding. */
static void v_bandit(struct vctx *v, const struct wf_node *node, const struct node_src *ns)
{
	if (ns->skip || node->kind != NK_BANDIT)
		return;
	if (node->nmodels == 1 && ns->models.n == 1)
		ld_diag(v->c, ns->models.v[0].line, ns->models.v[0].col, "a bandit needs two "
			"arms or more (with one there is nothing to learn)");
	if (ns->models.n > WF_BANDIT_ARMS_MAX)
		ld_diag(v->c, ns->models.v[WF_BANDIT_ARMS_MAX].line,
			ns->models.v[WF_BANDIT_ARMS_MAX].col, "a bandit has %zu arms, more than "
			"the %d it can learn about: keep the %d most promising", ns->models.n,
			WF_BANDIT_ARMS_MAX, WF_BANDIT_ARMS_MAX);
	v_bandit_twice(v, node, ns);
	if (node->policy == WF_BANDIT_LINEAR && !ns->embed.name)
		ld_diag(v->c, node->line, node->col, "policy linear learns from the prompt's "
			"embedding: the node needs 'embed' (the model that embeds it)");
}

static void v_routes(struct vctx *v)
{
	for (size_t i = 0; i < v->wf->nnodes && !v->c->oom; i++) {
		v_route_privacy(v, v->wf->nodes[i], &v->c->ns[i]);
		v_route_needs(v, v->wf->nodes[i], &v->c->ns[i], 0);
		v_bandit(v, v->wf->nodes[i], &v->c->ns[i]);
	}
}

/* ---- cycles and order ---- */

/* The dependency graph (nodes) or the fallback graph (models) of the
 * workflow, for graph_walk. */
struct v_graph {
	struct vctx *v;
	int models;
};

static size_t vg_degree(void *ctx, size_t u)
{
	const struct v_graph *g = ctx;
	const struct workflow *wf = g->v->wf;
	return g->models ? wf->models[u]->nfallback : wf->nodes[u]->ndeps;
}

static size_t vg_succ(void *ctx, size_t u, size_t k)
{
	const struct v_graph *g = ctx;
	const struct workflow *wf = g->v->wf;
	return (size_t)(g->models ? wf->models[u]->fallback[k]->idx
				  : wf->nodes[u]->deps[k]->idx);
}

static const char *vg_name(void *ctx, size_t u)
{
	const struct v_graph *g = ctx;
	return g->models ? g->v->wf->models[u]->id : g->v->wf->nodes[u]->id;
}

static void vg_cycle(void *ctx, const size_t *path, size_t len)
{
	const struct v_graph *g = ctx;
	const struct workflow *wf = g->v->wf;
	struct buf b = BUF_INIT;
	/* The walk follows "depends on": nodes are shown the way data flows,
	 * as `quorum graph` draws them; fallbacks in the order they are
	 * tried. */
	size_t first = graph_cycle_text(&b, path, len, !g->models, vg_name, ctx);
	if (g->models)
		ld_diag(g->v->c, wf->models[first]->line, wf->models[first]->col,
			"fallback cycle: %s (remove one of these fallbacks)", buf_str(&b));
	else
		ld_diag(g->v->c, wf->nodes[first]->line, wf->nodes[first]->col,
			"cycle: %s (remove one of these dependencies)", buf_str(&b));
	buf_release(&b);
}

/* Walks one graph (models: the fallbacks, else the dependencies),
 * reporting its cycles, and sets *cycles to their number. Returns the
 * vertices in post-order, new (q_free it), or NULL when memory ran out
 * (recorded). */
static size_t *v_walk(struct vctx *v, int models, int *cycles)
{
	struct v_graph vg = {v, models};
	struct graph_walk g = {models ? v->wf->nmodels : v->wf->nnodes, &vg, vg_degree,
			       vg_succ, vg_cycle};
	size_t *order = q_malloc((g.n ? g.n : 1) * sizeof(size_t));
	*cycles = order ? graph_walk(&g, order) : -1;
	if (*cycles < 0) {
		ld_oom(v->c);
		q_free(order);
		return NULL;
	}
	return order;
}

static void v_fallback_cycles(struct vctx *v)
{
	int cycles;
	q_free(v_walk(v, 1, &cycles));
}

/* Without a cycle, the post-order of the dependency graph is the order
 * the nodes can run in. */
static void v_order(struct vctx *v)
{
	struct workflow *wf = v->wf;
	int cycles;
	size_t *order = v_walk(v, 0, &cycles);
	if (order && !cycles) {
		wf->order = arena_alloc(v->c->a, (wf->nnodes ? wf->nnodes : 1) * sizeof(*wf->order));
		if (!wf->order)
			ld_oom(v->c);
		for (size_t i = 0; wf->order && i < wf->nnodes; i++)
			wf->order[i] = wf->nodes[order[i]];
	}
	q_free(order);
}

/* ---- node references ---- */

/* `unknown node 'X'`, with the nearest id, or else the ids there are
 * (the first few), so the message says what may be written. */
static void v_unknown_node(struct vctx *v, const struct name_ref *r)
{
	struct buf b = BUF_INIT;
	size_t n = v->wf->nnodes, shown = n < 6 ? n : 6;
	buf_puts(&b, n == 1 ? "the only node is " : "the nodes are ");
	for (size_t i = 0; i < shown; i++)
		buf_printf(&b, "%s'%s'", !i ? "" : i + 1 == n ? " and " : ", ", v->node_ids[i]);
	if (shown < n)
		buf_puts(&b, ", ...");
	ld_unknown_name(v->c, r->line, r->col, "node", r->name, v->node_ids, n, buf_str(&b));
	buf_release(&b);
}

static void v_node_deps(struct vctx *v, struct wf_node *node, const struct node_src *ns,
			unsigned *dep_mark, unsigned *from_mark)
{
	struct arena *a = v->c->a;
	size_t n = ns->deps.n ? ns->deps.n : 1;
	node->deps = arena_alloc(a, n * sizeof(*node->deps));
	node->from = arena_alloc(a, n * sizeof(*node->from));
	if (!node->deps || !node->from) {
		ld_oom(v->c);
		return;
	}
	unsigned stamp = (unsigned)node->idx + 1;
	for (size_t j = 0; j < ns->deps.n; j++) {
		const struct name_ref *r = &ns->deps.v[j];
		struct wf_node *d = strmap_get(&v->nodes, r->name);
		if (!d) {
			v->incomplete = 1;
			v_unknown_node(v, r);
			continue;
		}
		if (r->tref)
			r->tref->node_idx = d->idx;
		if (dep_mark[d->idx] != stamp) {
			dep_mark[d->idx] = stamp;
			node->deps[node->ndeps++] = d;
		}
		if (r->role == REF_FROM && from_mark[d->idx] != stamp) {
			from_mark[d->idx] = stamp;
			node->from[node->nfrom++] = d;
		}
	}
}

static void v_deps(struct vctx *v)
{
	size_t n = v->wf->nnodes;
	unsigned *dep_mark = q_calloc(n ? n : 1, sizeof(unsigned));
	unsigned *from_mark = q_calloc(n ? n : 1, sizeof(unsigned));
	if (!dep_mark || !from_mark)
		ld_oom(v->c);
	for (size_t i = 0; dep_mark && from_mark && i < n && !v->c->oom; i++) {
		if (v->c->ns[i].skip)
			v->incomplete = 1;
		else
			v_node_deps(v, v->wf->nodes[i], &v->c->ns[i], dep_mark, from_mark);
	}
	q_free(dep_mark);
	q_free(from_mark);
}

/* ---- inputs, counts, output ---- */

static int v_tmpl_inputs(struct vctx *v, const struct tmpl *t)
{
	int query = 0;
	for (size_t i = 0; i < tmpl_nrefs(t); i++) {
		const struct tmpl_ref *r = tmpl_ref_get(t, i);
		if (r->kind == TREF_QUERY)
			query = 1;
		else if (r->kind == TREF_INPUT && !strmap_get(&v->inputs, r->name))
			ld_unknown_name(v->c, r->line, r->col, "input", r->name, v->input_names,
					v->wf->ninputs, "declare it under 'inputs'");
	}
	return query;
}

/* `query` is required when a node uses it (a template, or a generate or
 * synthesize without a prompt, which sends the query), unless the file
 * says `required: false` or gives a default. */
static void v_inputs(struct vctx *v)
{
	int used = 0;
	for (size_t i = 0; i < v->wf->nnodes; i++) {
		const struct wf_node *n = v->wf->nodes[i], *run = n->run;
		const struct node_src *ns = &v->c->ns[i];
		if (ns->skip)
			continue;
		used |= v_tmpl_inputs(v, n->prompt) | v_tmpl_inputs(v, n->system) |
			v_tmpl_inputs(v, n->text);
		/* These send the query when they have no prompt; a judge or
		 * rank only shows it when there is one. */
		used |= !n->prompt && (n->kind == NK_GENERATE || n->kind == NK_SYNTHESIZE ||
				       n->kind == NK_CASCADE || n->kind == NK_ROUTE ||
				       n->kind == NK_PLAN || n->kind == NK_BANDIT);
		used |= v_route_inputs(v, n, ns);
		/* A subtask without a prompt sends its task, not the query. */
		if (run && ns->run && !ns->run->skip)
			used |= v_tmpl_inputs(v, run->prompt) | v_tmpl_inputs(v, run->system);
	}
	struct wf_input *q = strmap_get(&v->inputs, "query");
	if (q && q->required < 0)
		q->required = used && !q->def;
}

/* `who` says whose calls: "node 'a'" or "each subtask of node 'p'". */
static void v_min_ok_of(struct vctx *v, const struct wf_node *n, const struct node_src *ns,
			const char *who, const char *id)
{
	if (ns->skip || !ns->min_ok || n->nmodels != ns->models.n || !n->nmodels)
		return;
	size_t calls = n->nmodels * (size_t)n->samples;
	if ((size_t)n->min_ok > calls)
		ld_diag(v->c, ns->min_ok->line, ns->min_ok->col, "'min_ok' is %d but %s '%s' "
			"makes only %zu call%s (use at most %zu, or more models or samples)",
			n->min_ok, who, id, calls, calls == 1 ? "" : "s", calls);
}

static void v_min_ok(struct vctx *v)
{
	for (size_t i = 0; i < v->wf->nnodes; i++) {
		const struct wf_node *n = v->wf->nodes[i];
		const struct node_src *ns = &v->c->ns[i];
		v_min_ok_of(v, n, ns, "node", n->id);
		if (n->run && ns->run && !ns->skip)
			v_min_ok_of(v, n->run, ns->run, "each subtask of node", n->id);
	}
}

static void v_output(struct vctx *v)
{
	struct workflow *wf = v->wf;
	const struct name_ref *r = &v->c->output;
	if (r->name) {
		wf->output = strmap_get(&v->nodes, r->name);
		if (!wf->output)
			v_unknown_node(v, r);
		return;
	}
	if (v->incomplete || v->c->incomplete || !wf->nnodes)
		return;
	unsigned char *used = q_calloc(wf->nnodes, 1);
	if (!used) {
		ld_oom(v->c);
		return;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		for (size_t j = 0; j < wf->nodes[i]->ndeps; j++)
			used[wf->nodes[i]->deps[j]->idx] = 1;
	}
	struct buf b = BUF_INIT;
	size_t nsinks = 0;
	for (size_t i = 0; i < wf->nnodes; i++) {
		if (used[i])
			continue;
		if (nsinks < 8)
			buf_printf(&b, "%s%s", nsinks ? ", " : "", wf->nodes[i]->id);
		else if (nsinks == 8)
			buf_puts(&b, ", ...");
		wf->output = nsinks++ ? NULL : wf->nodes[i];
	}
	if (nsinks > 1)
		ld_diag(v->c, v->c->nodes_key->line, v->c->nodes_key->col,
			"several nodes could be the output (%s): choose one with "
			"'output: NODE'", buf_str(&b));
	buf_release(&b);
	q_free(used);
}

void validate_workflow(struct loadctx *c)
{
	struct vctx v = {.c = c, .wf = c->wf};
	strmap_init(&v.nodes);
	strmap_init(&v.models);
	strmap_init(&v.inputs);
	if (v_maps(&v)) {
		ld_oom(c);
	} else {
		v_node_models(&v);
		if (!c->oom)
			v_base_urls(&v);
		if (!c->oom)
			v_fallback_cycles(&v);
		v_weights(&v);
		if (!c->oom)
			v_deps(&v);
		if (!c->oom)
			v_routes(&v);
		if (!c->oom) {
			v_inputs(&v);
			v_min_ok(&v);
			v_order(&v);
			v_output(&v);
		}
	}
	strmap_release(&v.nodes);
	strmap_release(&v.models);
	strmap_release(&v.inputs);
	q_free(v.node_ids);
	q_free(v.model_ids);
	q_free(v.input_names);
}
