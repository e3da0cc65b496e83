#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "loadctx.h"

/* What users of a loaded workflow ask of it: names, lookups, the
 * effective call settings of one call, and the checks only a run can
 * make (inputs given, API keys set). */

static const char *const kind_names[NK__COUNT] = {
	[NK_GENERATE] = "generate", [NK_VOTE] = "vote", [NK_SYNTHESIZE] = "synthesize",
	[NK_TEMPLATE] = "template", [NK_JUDGE] = "judge", [NK_RANK] = "rank",
	[NK_CASCADE] = "cascade", [NK_ROUTE] = "route", [NK_PLAN] = "plan",
	[NK_BANDIT] = "bandit", [NK_EMBED] = "embed",
};

const char *node_kind_name(enum node_kind k)
{
	return (unsigned)k < NK__COUNT ? kind_names[k] : "unknown";
}

void load_limits_default(struct load_limits *l)
{
	l->max_file_bytes = 4u << 20;
	l->max_yaml_nodes = 100000;
	l->max_depth = 64;
	l->max_nodes = 10000;
	l->max_yaml_bytes = 64u << 20;
}

void workflow_free(struct workflow *wf)
{
	if (wf)
		arena_free(wf->arena);
}

void call_settings_builtin(struct call_settings *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->timeout_ms = 60000;
	cs->first_token_ms = 60000;
	cs->idle_ms = 60000;
	cs->retries = 2;
	cs->max_tokens = 1024;
	cs->stream = 1;
	cs->max_response = 16 * 1024 * 1024;
}

void call_settings_apply(struct call_settings *dst, const struct call_settings *src)
{
	unsigned s = src->set;
#define TAKE(bit, field) \
	if (s & (bit)) \
		dst->field = src->field
	TAKE(CS_TIMEOUT, timeout_ms);
	TAKE(CS_FIRST_TOKEN, first_token_ms);
	TAKE(CS_IDLE, idle_ms);
	TAKE(CS_RETRIES, retries);
	TAKE(CS_TEMPERATURE, temperature);
	TAKE(CS_MAX_TOKENS, max_tokens);
	TAKE(CS_TOP_P, top_p);
	TAKE(CS_SEED, seed);
	TAKE(CS_STOP, stop);
	TAKE(CS_STOP, nstop);
	TAKE(CS_STREAM, stream);
	TAKE(CS_MAX_RESPONSE, max_response);
	TAKE(CS_HTTP_VERSION, http_version);
	TAKE(CS_MAX_CONNECTIONS, max_connections);
	TAKE(CS_CA_CERT, ca_cert);
#undef TAKE
	dst->set |= s;
}

void workflow_call_settings(const struct workflow *wf, const struct wf_node *node,
			    const struct wf_model *model, struct call_settings *out)
{
	call_settings_builtin(out);
	call_settings_apply(out, &wf->defaults);
	if (model)
		call_settings_apply(out, &model->cs);
	if (node)
		call_settings_apply(out, &node->cs);
	/* A timeout written anywhere also bounds the first token and the
	 * silences between chunks, unless those are written themselves. */
	if (!(out->set & CS_FIRST_TOKEN))
		out->first_token_ms = out->timeout_ms;
	if (!(out->set & CS_IDLE))
		out->idle_ms = out->timeout_ms;
}

struct wf_node *workflow_node(const struct workflow *wf, const char *id)
{
	for (size_t i = 0; id && i < wf->nnodes; i++) {
		if (!strcmp(wf->nodes[i]->id, id))
			return wf->nodes[i];
	}
	return NULL;
}

struct wf_model *workflow_model(const struct workflow *wf, const char *id)
{
	for (size_t i = 0; id && i < wf->nmodels; i++) {
		if (!strcmp(wf->models[i]->id, id))
			return wf->models[i];
	}
	return NULL;
}

const struct wf_input *workflow_input(const struct workflow *wf, const char *name)
{
	for (size_t i = 0; name && i < wf->ninputs; i++) {
		if (!strcmp(wf->inputs[i].name, name))
			return &wf->inputs[i];
	}
	return NULL;
}

/* ---- run checks ---- */

static int input_given(const char *name, const char *const *names, size_t n,
		       int has_query)
{
	if (has_query && !strcmp(name, "query"))
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (names[i] && !strcmp(names[i], name))
			return 1;
	}
	return 0;
}

static int check_inputs(const struct workflow *wf, const char *const *names, size_t n,
			int has_query, struct qdiags *d)
{
	int rc = 0;
	for (size_t i = 0; i < wf->ninputs; i++) {
		const struct wf_input *in = &wf->inputs[i];
		if (in->required <= 0 || in->def || input_given(in->name, names, n, has_query))
			continue;
		if (!strcmp(in->name, "query"))
			qdiags_add(d, in->line, in->col, "missing required input 'query' (give "
				   "it after the file name or with --input query=VALUE)");
		else
			qdiags_add(d, in->line, in->col, "missing required input '%s' (give it "
				   "with --input %s=VALUE)", in->name, in->name);
		rc = -1;
	}
	return rc;
}

static void mark_one(const struct wf_model *m, unsigned char *mark,
		     const struct wf_model **work, size_t *top)
{
	if (m && !mark[m->idx]) {
		mark[m->idx] = 1;
		work[(*top)++] = m;
	}
}

/* The models one node names: its own, a cascade's judge, a route's
 * targets, ask models and default, an embed model, a bandit's reward
 * judge, and those of a plan's subtasks. */
static void mark_node(const struct wf_node *n, unsigned char *mark,
		      const struct wf_model **work, size_t *top)
{
	for (size_t j = 0; j < n->nmodels; j++)
		mark_one(n->models[j], mark, work, top);
	mark_one(n->accept.judge, mark, work, top);
	for (size_t j = 0; j < n->nroutes; j++) {
		mark_one(n->routes[j].to, mark, work, top);
		mark_one(n->routes[j].ask, mark, work, top);
	}
	mark_one(n->route_default, mark, work, top);
	/* Embeddings and a bandit's judge are calls like any other: a key
	 * missing for them must stop the run before its first call too. */
	mark_one(n->embed, mark, work, top);
	mark_one(n->reward_judge, mark, work, top);
	if (n->run)
		mark_node(n->run, mark, work, top);
}

/* Marks every model a node may call: those it names and, transitively,
 * their fallbacks. A worklist, so a long fallback chain cannot exhaust
 * the stack; each model enters it once. */
static void mark_models(const struct workflow *wf, unsigned char *mark,
			const struct wf_model **work)
{
	size_t top = 0;
	for (size_t i = 0; i < wf->nnodes; i++)
		mark_node(wf->nodes[i], mark, work, &top);
	while (top) {
		const struct wf_model *m = work[--top];
		for (size_t i = 0; i < m->nfallback; i++) {
			const struct wf_model *f = m->fallback[i];
			if (!mark[f->idx]) {
				mark[f->idx] = 1;
				work[top++] = f;
			}
		}
	}
}

/* One key variable a model (or one of its endpoints) sends. */
static int check_key(const struct wf_model *md, const char *env, int line, int col,
		     const char *(*getenv_fn)(const char *), struct qdiags *d)
{
	if (!env || !*env)
		return 0;
	const char *val = getenv_fn(env);
	if (val && *val)
		return 0;
	/* `export OPENAI_API_KEY=` with nothing after it is a slip of its
	 * own: say so, not "not set". */
	if (val)
		qdiags_add(d, line, col, "model '%s' needs the environment variable %s, which "
			   "is set but empty (put the API key in it, or write api_key_env: \"\" "
			   "for a server that takes none)", md->id, env);
	else
		qdiags_add(d, line, col, "model '%s' needs the environment variable %s, which "
			   "is not set", md->id, env);
	return -1;
}

static int check_keys(const struct workflow *wf,
		      const char *(*getenv_fn)(const char *), struct qdiags *d)
{
	size_t n = wf->nmodels ? wf->nmodels : 1;
	unsigned char *mark = q_calloc(n, 1);
	const struct wf_model **work = q_malloc(n * sizeof(*work));
	if (!mark || !work) {
		q_free(mark);
		q_free(work);
		return qdiags_add(d, 0, 0, "out of memory");
	}
	mark_models(wf, mark, work);
	int rc = 0;
	for (size_t i = 0; i < wf->nmodels; i++) {
		const struct wf_model *md = wf->models[i];
		if (!mark[i])
			continue;
		if (!md->nendpoints)
			rc |= check_key(md, md->api_key_env, md->line, md->col, getenv_fn, d);
		for (size_t e = 0; e < md->nendpoints; e++)
			rc |= check_key(md, md->endpoints[e].api_key_env, md->endpoints[e].line,
					md->endpoints[e].col, getenv_fn, d);
	}
	q_free(mark);
	q_free(work);
	return rc;
}

static const char *env_get(const char *name) { return getenv(name); }

int workflow_check_run(const struct workflow *wf, const char *const *names, size_t n,
		       int has_query, const char *(*getenv_fn)(const char *),
		       struct qdiags *d)
{
	size_t base = d->n;
	int rc = check_inputs(wf, names, n, has_query, d);
	if (check_keys(wf, getenv_fn ? getenv_fn : env_get, d))
		rc = -1;
	if (d->n > base)
		qdiags_sort(d);
	return rc;
}
