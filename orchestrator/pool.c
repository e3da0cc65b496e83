/* The model states an engine's runs share, found by what makes two
 * workflows' models the same endpoint for a provider's limits. */
#include <string.h>

#include "../common/alloc.h"
#include "call.h"

void pool_init(struct pool *p, struct arena *a, struct loop *l)
{
	memset(p, 0, sizeof(*p));
	p->arena = a;
	p->loop = l;
}

void pool_release(struct pool *p)
{
	q_free(p->models);
	p->models = NULL;
	p->n = p->cap = 0;
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

static struct model_state *pool_add(struct pool *p, const struct wf_model *m,
				    const char *base_url, const char *ident)
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
	    !(ms->base_url = arena_strdup(p->arena, base_url)))
		return NULL;
	ms->model = m;
	ms->rpm_timer.pos = (size_t)-1;
	p->models[p->n++] = ms;
	return ms;
}

struct model_state *pool_model(struct pool *p, const struct wf_model *m,
			       const char *base_url)
{
	/* A lookup per model per run: built on the heap, kept only when new,
	 * so an engine that runs for days does not grow with every run. */
	struct buf ident = BUF_INIT;
	if (buf_printf(&ident, "%s\n%s\n%s\n%s", m->provider, base_url, m->model,
		       m->api_key_env ? m->api_key_env : "")) {
		buf_release(&ident);
		return NULL;
	}
	struct model_state *ms = NULL;
	for (size_t i = 0; i < p->n && !ms; i++)
		if (!strcmp(p->models[i]->ident, ident.data))
			ms = p->models[i];
	if (!ms)
		ms = pool_add(p, m, base_url, ident.data);
	buf_release(&ident);
	if (!ms)
		return NULL;
	ms->max_concurrency = (int)stricter(ms->max_concurrency, m->max_concurrency);
	return rpm_size(p, ms, m->rpm) ? NULL : ms;
}
