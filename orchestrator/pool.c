/* The model states an engine's runs share, found by what makes two
 * workflows' models the same endpoint for a provider's limits. */
#include <stdio.h>
#include <string.h>

#include "../common/alloc.h"
#include "call.h"

void pool_init(struct pool *p, struct arena *a, struct loop *l)
{
	memset(p, 0, sizeof(*p));
	p->arena = a;
	p->loop = l;
}

struct pool_store {
	char *path;
	struct bandit_store *store;
};

struct pool_vectors {
	unsigned char key[32];
	float *v;
	size_t n, dim;
};

void pool_release(struct pool *p)
{
	q_free(p->models);
	p->models = NULL;
	p->n = p->cap = 0;
	for (size_t i = 0; i < p->nvectors; i++)
		q_free(p->vectors[i].v);
	q_free(p->vectors);
	p->vectors = NULL;
	p->nvectors = p->capvectors = 0;
	for (size_t i = 0; i < p->nstores; i++) {
		bandit_store_close(p->stores[i].store);
		q_free(p->stores[i].path);
	}
	q_free(p->stores);
	p->stores = NULL;
	p->nstores = 0;
	shared_free(p->shared);
	p->shared = NULL;
}

struct bandit_store *pool_bandit_store(struct pool *p, const char *path, char *err,
				       size_t n)
{
	for (size_t i = 0; i < p->nstores; i++)
		if (!strcmp(p->stores[i].path, path))
			return p->stores[i].store;
	struct pool_store *v = q_realloc(p->stores, (p->nstores + 1) * sizeof(*v));
	if (!v) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	p->stores = v;
	struct bandit_store *s = bandit_store_open(path, err, n);
	char *copy = s ? q_strdup(path) : NULL;
	if (!copy) {
		bandit_store_close(s);
		if (s)
			snprintf(err, n, "out of memory");
		return NULL;
	}
	p->stores[p->nstores++] = (struct pool_store){copy, s};
	return s;
}

/* A handful of semantic routes per engine: a list is enough. */
const float *pool_vectors_get(const struct pool *p, const unsigned char key[32], size_t *n,
			      size_t *dim)
{
	for (size_t i = 0; i < p->nvectors; i++) {
		if (!memcmp(p->vectors[i].key, key, 32)) {
			*n = p->vectors[i].n;
			*dim = p->vectors[i].dim;
			return p->vectors[i].v;
		}
	}
	return NULL;
}

int pool_vectors_put(struct pool *p, const unsigned char key[32], const float *v, size_t n,
		     size_t dim)
{
	size_t had_n, had_dim;
	if (pool_vectors_get(p, key, &had_n, &had_dim))
		return 0;
	if (p->nvectors == p->capvectors) {
		size_t cap = p->capvectors ? p->capvectors * 2 : 8;
		struct pool_vectors *x = q_realloc(p->vectors, cap * sizeof(*x));
		if (!x)
			return -1;
		p->vectors = x;
		p->capvectors = cap;
	}
	float *copy = q_malloc(n * dim * sizeof(*copy));
	if (!copy)
		return -1;
	memcpy(copy, v, n * dim * sizeof(*copy));
	struct pool_vectors *e = &p->vectors[p->nvectors++];
	memcpy(e->key, key, 32);
	e->v = copy;
	e->n = n;
	e->dim = dim;
	return 0;
}

/* The strictest of two limits where 0 means none. */
static double stricter(double a, double b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/* Sizes the rpm window to limit (smaller than before: a new ring). */
static int rpm_size(struct pool *p, struct model_state *ms, double limit)
{
	if (limit <= 0 || (ms->rpm_limit > 0 && ms->rpm_limit <= limit))
		return 0;
	size_t cap = limit < 1 ? 1 : (size_t)limit;
	int64_t *starts = arena_alloc(p->arena, cap * sizeof(*starts));
	if (!starts)
		return -1;
	rpm_init(&ms->rpm, starts, cap);
	ms->rpm_limit = limit;
	return 0;
}

/* A model's endpoints in the pool: where each is, and how it does. */
static int endpoints_add(struct pool *p, struct model_state *ms, const struct wf_model *m,
			 const char *const *urls)
{
	if (!m->nendpoints)
		return 0;
	ms->eps = arena_alloc(p->arena, m->nendpoints * sizeof(*ms->eps));
	if (!ms->eps)
		return -1;
	for (size_t i = 0; i < m->nendpoints; i++) {
		struct endpoint_state *e = &ms->eps[i];
		const char *env = m->endpoints[i].api_key_env;
		if (!(e->base_url = arena_strdup(p->arena, urls[i])) ||
		    !(e->key_env = arena_strdup(p->arena, env ? env : "")))
			return -1;
		e->view.weight = m->endpoints[i].weight;
	}
	ms->neps = m->nendpoints;
	return 0;
}

static struct model_state *pool_add(struct pool *p, const struct wf_model *m,
				    const char *const *urls, const char *ident)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct model_state **v = q_realloc(p->models, cap * sizeof(*v));
		if (!v)
			return NULL;
		p->models = v;
		p->cap = cap;
	}
	struct model_state *ms = arena_alloc(p->arena, sizeof(*ms));
	if (!ms || !(ms->ident = arena_strdup(p->arena, ident)) ||
	    !(ms->base_url = arena_strdup(p->arena, urls[0])) || endpoints_add(p, ms, m, urls))
		return NULL;
	ms->model = m;
	ms->rpm_timer.pos = (size_t)-1;
	shared_model_key(ms->shared_key, sizeof(ms->shared_key), "quorum:rpm:", ident);
	p->models[p->n++] = ms;
	return ms;
}

/* What makes two workflows' models one for a provider's limits: provider,
 * model, and where the calls go with which key. */
static int model_ident(struct buf *b, const struct wf_model *m, const char *const *urls)
{
	if (!m->nendpoints)
		return buf_printf(b, "%s\n%s\n%s\n%s", m->provider, urls[0], m->model,
				  m->api_key_env ? m->api_key_env : "");
	int rc = buf_printf(b, "%s\n%s", m->provider, m->model);
	for (size_t i = 0; !rc && i < m->nendpoints; i++)
		rc = buf_printf(b, "\n%s\n%s", urls[i],
				m->endpoints[i].api_key_env ? m->endpoints[i].api_key_env : "");
	return rc;
}

struct model_state *pool_model(struct pool *p, const struct wf_model *m,
			       const char *const *urls)
{
	/* A lookup per model per run: built on the heap, kept only when new,
	 * so an engine that runs for days does not grow with every run. */
	struct buf ident = BUF_INIT;
	if (model_ident(&ident, m, urls)) {
		buf_release(&ident);
		return NULL;
	}
	struct model_state *ms = NULL;
	for (size_t i = 0; i < p->n && !ms; i++)
		if (!strcmp(p->models[i]->ident, ident.data))
			ms = p->models[i];
	if (!ms)
		ms = pool_add(p, m, urls, ident.data);
	buf_release(&ident);
	if (!ms)
		return NULL;
	ms->max_concurrency = (int)stricter(ms->max_concurrency, m->max_concurrency);
	return rpm_size(p, ms, m->rpm) ? NULL : ms;
}
