#include <string.h>

#include "loadctx.h"

/* A model's `endpoints` (the same model behind several base URLs or keys,
 * LiteLLM's deployments), the `strategy` that picks one per call and the
 * `cooldown` of one that failed. Each base URL is checked like a model's
 * in validate.c, once every key variable is known. */

static void load_endpoint(struct loadctx *c, struct wf_model *m, struct model_src *ms,
			  const struct ynode *v)
{
	static const char *const keys[] = {"base_url", "api_key_env", "weight", NULL};
	if (v->type != YT_MAP) {
		char got[64];
		ld_diag(c, v->line, v->col, "each entry of 'endpoints' must be a mapping "
			"(base_url, api_key_env, weight), got %s", ld_got(v, got, sizeof(got)));
		return;
	}
	size_t j = m->nendpoints++;
	struct wf_endpoint *e = &m->endpoints[j];
	e->weight = 1;
	e->line = v->line;
	e->col = v->col;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		if (!strcmp(k->str, "base_url")) {
			if (ld_str(c, "base_url", x, &e->base_url) > 0)
				ms->endpoint_urls[j] = x;
		} else if (!strcmp(k->str, "api_key_env")) {
			ld_str(c, "api_key_env", x, &e->api_key_env);
		} else if (!strcmp(k->str, "weight")) {
			ld_num(c, "weight", x, 0, LD_MAX_WEIGHT, "a non-negative number",
			       &e->weight);
		} else {
			ld_unknown_key(c, k, keys, "an endpoint");
		}
	}
	if (!e->base_url)
		ld_diag(c, v->line, v->col, "an endpoint needs 'base_url' (where this copy of "
			"the model answers)");
}

static void load_endpoints(struct loadctx *c, struct wf_model *m, struct model_src *ms,
			   const struct ynode *v)
{
	if (v->type != YT_SEQ || !v->nitems || v->nitems > LD_MAX_ENDPOINTS) {
		ld_wrong_type(c, "endpoints", v, "a list of 1 to 64 endpoints ({base_url, "
			      "api_key_env, weight})");
		return;
	}
	m->endpoints = arena_alloc(c->a, v->nitems * sizeof(*m->endpoints));
	ms->endpoint_urls = arena_alloc(c->a, v->nitems * sizeof(*ms->endpoint_urls));
	if (!m->endpoints || !ms->endpoint_urls) {
		ld_oom(c);
		return;
	}
	for (size_t i = 0; i < v->nitems; i++)
		load_endpoint(c, m, ms, v->items[i]);
}

static void load_strategy(struct loadctx *c, struct wf_model *m, const struct ynode *v)
{
	static const char *const names[] = {"shuffle", "least_busy", "latency"};
	const char *s = NULL;
	if (ld_str(c, "strategy", v, &s) <= 0)
		return;
	for (int i = 0; i < 3; i++) {
		if (!strcmp(s, names[i])) {
			m->strategy = (enum endpoint_strategy)i;
			return;
		}
	}
	ld_unknown_name(c, v->line, v->col, "strategy", s, names, 3,
			"use shuffle, least_busy or latency");
}

int ld_endpoints_key(struct loadctx *c, struct wf_model *m, struct model_src *ms,
		     const char *key, const struct ynode *v)
{
	if (!strcmp(key, "endpoints"))
		load_endpoints(c, m, ms, v);
	else if (!strcmp(key, "strategy"))
		load_strategy(c, m, v);
	else if (!strcmp(key, "cooldown"))
		ld_duration(c, "cooldown", v, 0, &m->cooldown_ms);
	else
		return 0;
	return 1;
}

void ld_endpoints_check(struct loadctx *c, const struct wf_model *m, const struct ynode *map)
{
	const struct ynode *eps = ytree_get(map, "endpoints");
	static const char *const needs[] = {"strategy", "cooldown"};
	for (int i = 0; i < 2 && !eps; i++) {
		const struct ynode *x = ytree_get(map, needs[i]);
		if (x)
			ld_diag(c, x->line, x->col, "model '%.60s' has '%s' but no 'endpoints': it "
				"says how to pick among endpoints (list them, or remove '%s')",
				m->id, needs[i], needs[i]);
	}
	/* Only shuffle reads the weights; least_busy and latency ignore them. */
	double sum = 0;
	for (size_t i = 0; i < m->nendpoints; i++)
		sum += m->endpoints[i].weight;
	if (eps && m->nendpoints && sum <= 0 && m->strategy == EP_SHUFFLE)
		ld_diag(c, eps->line, eps->col, "every endpoint has weight 0: strategy shuffle "
			"would never pick one by its weight (give one a weight above 0)");
}
