#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loadctx.h"

/* A route node's `routes`: each `{when: {...}, to: MODEL}` or `{ask:
 * MODEL, decline: MARKER}`. Conditions are typed here; the models they
 * name are resolved, and the privacy rule checked, in validate.c. */

static const char *const cond_keys[] = {
	"regex", "min_chars", "max_chars", "contains_pii", "input", "semantic", "score",
	"difficulty", "tokens", NULL,
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

/* semantic: {examples: [TEXT, ...], threshold: 0.8} */
static void when_semantic(struct loadctx *c, struct wf_cond *w, const struct ynode *v)
{
	static const char *const keys[] = {"examples", "threshold", NULL};
	if (ld_map(c, "semantic", v) <= 0)
		return;
	struct wf_semantic *s = arena_alloc(c->a, sizeof(*s));
	if (!s) {
		ld_oom(c);
		return;
	}
	s->threshold = 0.8;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		if (!strcmp(k->str, "threshold")) {
			ld_num(c, "threshold", x, -1, 1, "a cosine similarity", &s->threshold);
		} else if (!strcmp(k->str, "examples")) {
			if (x->type != YT_SEQ || !x->nitems || x->nitems > LD_MAX_EXAMPLES) {
				ld_wrong_type(c, "examples", x, "a list of 1 to 2048 example texts");
				continue;
			}
			s->examples = arena_alloc(c->a, x->nitems * sizeof(*s->examples));
			if (!s->examples) {
				ld_oom(c);
				return;
			}
			for (size_t j = 0; j < x->nitems; j++) {
				const char *t = NULL;
				if (ld_str(c, "an example", x->items[j], &t) > 0 && *t)
					s->examples[s->nexamples++] = t;
				else if (t)
					ld_diag(c, x->items[j]->line, x->items[j]->col,
						"an example is empty");
			}
		} else {
			ld_unknown_key(c, k, keys, "semantic");
		}
	}
	if (!ytree_get(v, "examples"))
		ld_diag(c, v->line, v->col, "'semantic' needs 'examples' (texts of the kind of "
			"prompt this route takes)");
	w->semantic = s;
}

/* score: {file: router.json, threshold: T}; the file is read after load
 * (the scorer is not the loader's to parse), but it must exist now. */
static void when_score(struct loadctx *c, struct wf_cond *w, const struct ynode *v)
{
	static const char *const keys[] = {"file", "threshold", NULL};
	if (ld_map(c, "score", v) <= 0)
		return;
	struct wf_score *s = arena_alloc(c->a, sizeof(*s));
	if (!s) {
		ld_oom(c);
		return;
	}
	s->threshold = NAN;
	s->line = v->line;
	s->col = v->col;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		if (!strcmp(k->str, "threshold")) {
			ld_num(c, "threshold", x, 0, 1, "a score from 0 to 1", &s->threshold);
		} else if (!strcmp(k->str, "file")) {
			if (ld_str(c, "file", x, &s->file) > 0 &&
			    !(s->path = ld_relative_path(c, s->file)))
				ld_oom(c);
			s->line = x->line;
			s->col = x->col;
		} else {
			ld_unknown_key(c, k, keys, "score");
		}
	}
	if (!s->file)
		ld_diag(c, v->line, v->col, "'score' needs 'file' (a router that 'quorum router "
			"train' wrote)");
	w->score = s;
}

/* difficulty: {min: 0.5, max: 1} or a name: easy, medium, hard. */
static void when_difficulty(struct loadctx *c, struct wf_cond *w, const struct ynode *v)
{
	static const char *const keys[] = {"min", "max", NULL};
	static const char *const names[] = {"easy", "medium", "hard"};
	if (v->type == YT_SCALAR) {
		for (int i = 0; i < 3; i++) {
			if (!strcmp(v->str, names[i])) {
				w->min_difficulty = i / 3.0;
				w->max_difficulty = (i + 1) / 3.0;
				return;
			}
		}
		ld_unknown_name(c, v->line, v->col, "difficulty", v->str, names, 3,
				"use easy, medium, hard or {min: X, max: Y} from 0 to 1");
		return;
	}
	if (ld_map(c, "difficulty", v) <= 0)
		return;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		if (!strcmp(k->str, "min"))
			ld_num(c, "min", x, 0, 1, "a difficulty from 0 (easy) to 1 (hard)",
			       &w->min_difficulty);
		else if (!strcmp(k->str, "max"))
			ld_num(c, "max", x, 0, 1, "a difficulty from 0 (easy) to 1 (hard)",
			       &w->max_difficulty);
		else
			ld_unknown_key(c, k, keys, "difficulty");
	}
}

/* tokens: {min: N, max: N}: the planner's estimate of the answer. */
static void when_tokens(struct loadctx *c, struct wf_cond *w, const struct ynode *v)
{
	static const char *const keys[] = {"min", "max", NULL};
	if (ld_map(c, "tokens", v) <= 0)
		return;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		int64_t n;
		long *out = !strcmp(k->str, "min") ? &w->min_tokens
			    : !strcmp(k->str, "max") ? &w->max_tokens : NULL;
		if (!out)
			ld_unknown_key(c, k, keys, "tokens");
		else if (ld_int(c, k->str, x, 0, LD_MAX_TOKENS, "a number of tokens", &n) > 0)
			*out = (long)n;
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
	} else if (!strcmp(k->str, "semantic")) {
		when_semantic(c, w, x);
	} else if (!strcmp(k->str, "score")) {
		when_score(c, w, x);
	} else if (!strcmp(k->str, "difficulty")) {
		when_difficulty(c, w, x);
	} else if (!strcmp(k->str, "tokens")) {
		when_tokens(c, w, x);
	} else {
		ld_unknown_key(c, k, cond_keys, "when");
	}
}

/* A range whose max is below its min can never hold. */
static void check_range(struct loadctx *c, const struct ynode *when, const char *key,
			double min, double max)
{
	const struct ynode *v = ytree_get(when, key);
	if (v && min >= 0 && max >= 0 && min > max)
		ld_diag(c, v->line, v->col, "'%s' has max %g below min %g: this route can "
			"never be taken", key, max, min);
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
	if (v->type == YT_NULL || !ld_real_keys(v)) {
		ld_diag(c, v->line, v->col, "'when' is empty (a route needs a condition: regex, "
			"min_chars, max_chars, contains_pii, input, semantic, score, difficulty "
			"or tokens; 'default' takes the rest)");
		return;
	}
	for (size_t i = 0; i < v->npairs; i++)
		when_key(nl, w, v->pairs[i].key, v->pairs[i].val);
	const struct ynode *max = ytree_get(v, "max_chars");
	if (w->min_chars >= 0 && w->max_chars >= 0 && w->min_chars > w->max_chars)
		ld_diag(c, max->line, max->col, "'max_chars' is %ld, less than 'min_chars' (%ld): "
			"this route can never be taken", w->max_chars, w->min_chars);
	const struct ynode *d = ytree_get(v, "difficulty");
	if (d && d->type == YT_MAP)
		check_range(c, v, "difficulty", w->min_difficulty, w->max_difficulty);
	check_range(c, v, "tokens", (double)w->min_tokens, (double)w->max_tokens);
}

/* {ask: MODEL, decline: MARKER} */
static void load_ask(struct nodeload *nl, size_t j, const struct ynode *v)
{
	static const char *const keys[] = {"ask", "decline", NULL};
	struct loadctx *c = nl->c;
	struct wf_route *r = &nl->node->routes[j];
	r->decline = "[[DECLINE]]";
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		struct ref_list l = {0};
		if (!strcmp(k->str, "ask")) {
			if (ld_one_model(c, "ask", x, &l) > 0)
				nl->ns->route_ask[j] = l.v[0];
		} else if (!strcmp(k->str, "decline")) {
			const char *m = NULL;
			if (ld_str(c, "decline", x, &m) > 0 && strlen(m) < 2)
				ld_diag(c, x->line, x->col, "'decline' must be a marker of 2 "
					"characters or more (a model would write a shorter one by "
					"chance)");
			else if (m)
				r->decline = m;
		} else if (!strcmp(k->str, "when") || !strcmp(k->str, "to")) {
			ld_diag(c, k->line, k->col, "an 'ask' route has no '%s': the model asked "
				"answers or declines, and a declined prompt goes on to the next "
				"route", k->str);
		} else {
			ld_unknown_key(c, k, keys, "an ask route");
		}
	}
}

static void load_route(struct nodeload *nl, const struct ynode *v)
{
	static const char *const route_keys[] = {"when", "to", "ask", NULL};
	struct loadctx *c = nl->c;
	struct wf_node *node = nl->node;
	if (v->type != YT_MAP) {
		char got[64];
		ld_diag(c, v->line, v->col, "each entry of 'routes' must be a mapping ({when, "
			"to} or {ask}), got %s", ld_got(v, got, sizeof(got)));
		return;
	}
	size_t j = node->nroutes++;
	struct wf_route *r = &node->routes[j];
	r->line = v->line;
	r->col = v->col;
	r->when.min_chars = r->when.max_chars = -1;
	r->when.min_tokens = r->when.max_tokens = -1;
	r->when.min_difficulty = r->when.max_difficulty = -1;
	r->when.contains_pii = -1;
	if (ytree_get(v, "ask")) {
		load_ask(nl, j, v);
		return;
	}
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
			"takes what no route does) or 'ask' (a model that answers or declines)");
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
		ld_wrong_type(c, "routes", v, "a list of routes ({when: ..., to: MODEL} or {ask: "
			      "MODEL})");
		return;
	}
	size_t n = v->nitems ? v->nitems : 1;
	nl->node->routes = arena_alloc(c->a, n * sizeof(*nl->node->routes));
	nl->ns->route_to = arena_alloc(c->a, n * sizeof(*nl->ns->route_to));
	nl->ns->route_ask = arena_alloc(c->a, n * sizeof(*nl->ns->route_ask));
	if (!nl->node->routes || !nl->ns->route_to || !nl->ns->route_ask) {
		ld_oom(c);
		return;
	}
	for (size_t i = 0; i < v->nitems; i++)
		load_route(nl, v->items[i]);
}
