#include <stdio.h>
#include <string.h>

#include "loadctx.h"

/* The structured keys of cascade (`accept`) and route (`routes`); a
 * plan's `run` is a node body, read in load_node.c. Each value is typed
 * here; the models they name are resolved, and the privacy rule of routes
 * checked, in validate.c. */

/* Keys that are not the user's own (x-...): what a mapping really says. */
static size_t real_keys(const struct ynode *map)
{
	size_t n = 0;
	for (size_t i = 0; i < map->npairs; i++)
		n += strncmp(map->pairs[i].key->str, "x-", 2) != 0;
	return n;
}

/* ---- cascade: accept ---- */

static const char *const accept_keys[] = {"self_check", "judge", "agreement", "regex", NULL};

/* One of self_check, judge, agreement: a mapping of numbers (and the
 * judge's model), each key checked against its range. */
static void accept_params(struct nodeload *nl, const struct ynode *key, const struct ynode *v)
{
	static const char *const self_keys[] = {"threshold", "samples", NULL};
	static const char *const judge_keys[] = {"model", "threshold", NULL};
	static const char *const agree_keys[] = {"samples", "min", NULL};
	struct loadctx *c = nl->c;
	struct wf_accept *acc = &nl->node->accept;
	const char *const *keys = acc->kind == ACCEPT_JUDGE ? judge_keys
				  : acc->kind == ACCEPT_AGREEMENT ? agree_keys : self_keys;
	char where[64];
	snprintf(where, sizeof(where), "accept: %s", key->str);
	int64_t n;
	int rc = ld_map(c, key->str, v);
	for (size_t i = 0; rc > 0 && i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		int known = 0;
		for (size_t j = 0; keys[j]; j++)
			known |= !strcmp(keys[j], k->str);
		if (!known) {
			ld_unknown_key(c, k, keys, where);
		} else if (!strcmp(k->str, "threshold")) {
			ld_num(c, "threshold", x, 0, acc->kind == ACCEPT_JUDGE ? 10 : 1,
			       "a number", &acc->threshold);
		} else if (!strcmp(k->str, "min")) {
			ld_num(c, "min", x, 0, 1, "a number", &acc->threshold);
		} else if (!strcmp(k->str, "samples")) {
			/* Agreement compares answers: one sample agrees with itself. */
			int lo = acc->kind == ACCEPT_AGREEMENT ? 2 : 1;
			if (ld_int(c, "samples", x, lo, LD_MAX_CHECK_SAMPLES,
				   lo == 2 ? "an integer of at least 2"
				   : "a positive integer", &n) > 0)
				acc->samples = (int)n;
		} else {
			struct ref_list l = {0};
			if (ld_one_model(c, "model", x, &l) > 0)
				nl->ns->accept_judge = l.v[0];
		}
	}
	const struct ynode *model = ytree_get(v, "model");
	if (acc->kind == ACCEPT_JUDGE && rc >= 0 && (!model || model->type == YT_NULL)) {
		const struct ynode *at = rc ? v : key;
		ld_diag(c, at->line, at->col, "'accept: judge' needs 'model' (the model that "
			"scores the answer)");
	}
}

static void accept_regex(struct nodeload *nl, const struct ynode *v)
{
	struct wf_accept *acc = &nl->node->accept;
	const char *s = NULL;
	int rc = ld_str(nl->c, "regex", v, &s);
	if (rc < 0)
		return;
	if (!rc || !*s) {
		ld_diag(nl->c, v->line, v->col, "'regex' needs a pattern the answer must match");
		return;
	}
	acc->pattern = s;
	acc->re = ld_regex(nl->c, v, 0);
}

void ld_accept(struct nodeload *nl, const struct ynode *v)
{
	static const double threshold[] = {
		[ACCEPT_SELF_CHECK] = 0.7, [ACCEPT_JUDGE] = 7, [ACCEPT_AGREEMENT] = 0.67,
		[ACCEPT_REGEX] = 0,
	};
	struct loadctx *c = nl->c;
	if (ld_map(c, "accept", v) <= 0)
		return;
	const struct ynode *chosen = NULL;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		size_t j = 0;
		while (accept_keys[j] && strcmp(accept_keys[j], k->str))
			j++;
		if (!accept_keys[j]) {
			ld_unknown_key(c, k, accept_keys, "accept");
			continue;
		}
		if (chosen) {
			ld_diag(c, k->line, k->col, "'accept' has both '%s' and '%s' (choose one)",
				chosen->str, k->str);
			continue;
		}
		chosen = k;
		struct wf_accept *acc = &nl->node->accept;
		acc->kind = (enum accept_kind)j;
		acc->threshold = threshold[j];
		acc->samples = 3;
		if (acc->kind == ACCEPT_REGEX)
			accept_regex(nl, x);
		else
			accept_params(nl, k, x);
	}
	if (!chosen && !real_keys(v))
		ld_diag(c, v->line, v->col, "'accept' needs one of self_check, judge, agreement "
			"or regex");
}

/* ---- route: routes ---- */

static const char *const cond_keys[] = {
	"regex", "min_chars", "max_chars", "contains_pii", "input", NULL,
};

static void when_inputs(struct nodeload *nl, struct wf_cond *w, const struct ynode *v)
{
	struct loadctx *c = nl->c;
	if (ld_map(c, "input", v) <= 0)
		return;
	w->inputs = arena_alloc(c->a, (v->npairs ? v->npairs : 1) * sizeof(*w->inputs));
	if (!w->inputs) {
		ld_oom(c);
		return;
	}
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		const char *val = NULL, *name = arena_strdup(c->a, k->str);
		if (!name) {
			ld_oom(c);
			return;
		}
		if (x->type == YT_NULL) {
			ld_wrong_type(c, k->str, x, "a string (the value the input must have)");
			continue;
		}
		if (ld_str(c, k->str, x, &val) <= 0)
			continue;
		w->inputs[w->ninputs++] = (struct wf_input_eq){name, val};
		ref_list_add(c, &nl->ns->route_inputs, name, k->line, k->col, REF_NEEDS, NULL);
	}
}

static void when_key(struct nodeload *nl, struct wf_cond *w, const struct ynode *k,
		     const struct ynode *x)
{
	struct loadctx *c = nl->c;
	int64_t n;
	if (!strcmp(k->str, "regex")) {
		const char *s = NULL;
		int rc = ld_str(c, "regex", x, &s);
		if (rc == 0 || (rc > 0 && !*s))
			ld_diag(c, x->line, x->col, "'regex' needs a pattern the prompt must match");
		else if (rc > 0 && (w->re = ld_regex(c, x, 0)))
			w->pattern = s;
	} else if (!strcmp(k->str, "min_chars")) {
		if (ld_int(c, k->str, x, 0, LD_MAX_CHARS, "a non-negative integer", &n) > 0)
			w->min_chars = (long)n;
	} else if (!strcmp(k->str, "max_chars")) {
		if (ld_int(c, k->str, x, 0, LD_MAX_CHARS, "a non-negative integer", &n) > 0)
			w->max_chars = (long)n;
	} else if (!strcmp(k->str, "contains_pii")) {
		ld_bool(c, "contains_pii", x, &w->contains_pii);
	} else if (!strcmp(k->str, "input")) {
		when_inputs(nl, w, x);
	} else {
		ld_unknown_key(c, k, cond_keys, "when");
	}
}

static void load_when(struct nodeload *nl, struct wf_cond *w, const struct ynode *v)
{
	struct loadctx *c = nl->c;
	w->line = v->line;
	w->col = v->col;
	if (v->type != YT_NULL && v->type != YT_MAP) {
		ld_wrong_type(c, "when", v, "a mapping of conditions");
		return;
	}
	if (v->type == YT_NULL || !real_keys(v)) {
		ld_diag(c, v->line, v->col, "'when' is empty (a route needs a condition: regex, "
			"min_chars, max_chars, contains_pii or input; 'default' takes the rest)");
		return;
	}
	for (size_t i = 0; i < v->npairs; i++)
		when_key(nl, w, v->pairs[i].key, v->pairs[i].val);
	const struct ynode *max = ytree_get(v, "max_chars");
	if (w->min_chars >= 0 && w->max_chars >= 0 && w->min_chars > w->max_chars)
		ld_diag(c, max->line, max->col, "'max_chars' is %ld, less than 'min_chars' (%ld): "
			"this route can never be taken", w->max_chars, w->min_chars);
}

static void load_route(struct nodeload *nl, const struct ynode *v)
{
	static const char *const route_keys[] = {"when", "to", NULL};
	struct loadctx *c = nl->c;
	struct wf_node *node = nl->node;
	if (v->type != YT_MAP) {
		char got[64];
		ld_diag(c, v->line, v->col, "each entry of 'routes' must be a mapping (when, to), "
			"got %s", ld_got(v, got, sizeof(got)));
		return;
	}
	size_t j = node->nroutes++;
	struct wf_route *r = &node->routes[j];
	r->line = v->line;
	r->col = v->col;
	r->when.min_chars = r->when.max_chars = -1;
	r->when.contains_pii = -1;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		struct ref_list l = {0};
		if (!strcmp(k->str, "when"))
			load_when(nl, &r->when, x);
		else if (!strcmp(k->str, "to") && ld_one_model(c, "to", x, &l) > 0)
			nl->ns->route_to[j] = l.v[0];
		else if (strcmp(k->str, "to"))
			ld_unknown_key(c, k, route_keys, "a route");
	}
	if (!ytree_get(v, "when"))
		ld_diag(c, v->line, v->col, "a route needs 'when' (its condition; 'default' "
			"takes what no route does)");
	const struct ynode *to = ytree_get(v, "to");
	if (!to || to->type == YT_NULL)
		ld_diag(c, v->line, v->col, "a route needs 'to' (the model it sends to)");
}

void ld_routes(struct nodeload *nl, const struct ynode *v)
{
	struct loadctx *c = nl->c;
	if (!v || v->type == YT_NULL)
		return;
	if (v->type != YT_SEQ) {
		ld_wrong_type(c, "routes", v, "a list of routes ({when: ..., to: MODEL})");
		return;
	}
	size_t n = v->nitems ? v->nitems : 1;
	nl->node->routes = arena_alloc(c->a, n * sizeof(*nl->node->routes));
	nl->ns->route_to = arena_alloc(c->a, n * sizeof(*nl->ns->route_to));
	if (!nl->node->routes || !nl->ns->route_to) {
		ld_oom(c);
		return;
	}
	for (size_t i = 0; i < v->nitems; i++)
		load_route(nl, v->items[i]);
}

