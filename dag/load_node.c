#include <stdio.h>
#include <string.h>

#include "../common/suggest.h"
#include "loadctx.h"

/* Nodes: one table row per kind, with its own keys and the keys it needs.
 * Kinds in the contract that this build cannot run yet keep their rows,
 * so adding one is a matter of flipping `built` and writing its loader. */

#define MAX_KIND_KEYS 8

struct kind_info {
	const char *name;
	int built;
	enum node_kind kind;
	const char *keys[MAX_KIND_KEYS];     /* NULL-terminated */
	const char *required[3];             /* NULL-terminated */
};

static const struct kind_info kinds[] = {
	{"generate", 1, NK_GENERATE, {"models", "prompt", "system", "samples", "min_ok"},
	 {"models"}},
	{"vote", 1, NK_VOTE, {"from", "extract", "weights", "min_agreement"}, {"from"}},
	{"synthesize", 1, NK_SYNTHESIZE, {"from", "model", "prompt", "system"},
	 {"from", "model"}},
	{"template", 1, NK_TEMPLATE, {"text"}, {"text"}},
	{"judge", 0, NK_JUDGE, {"from", "model", "models", "criteria", "prompt"}, {"from"}},
	{"rank", 0, NK_RANK, {"from", "models", "criteria"}, {"from", "models"}},
	{"moa", 0, NK__COUNT, {"proposers", "layers", "aggregator", "prompt"},
	 {"proposers", "aggregator"}},
	{"council", 0, NK__COUNT, {"members", "chairman", "prompt"}, {"members", "chairman"}},
	{"cascade", 0, NK_CASCADE, {"models", "prompt", "accept"}, {"models"}},
	{"route", 0, NK_ROUTE, {"prompt", "routes", "default"}, {"routes"}},
	{"plan", 0, NK_PLAN, {"model", "prompt", "max_subtasks", "run"}, {"model"}},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Keys every node may have; `timeout` here is the whole node's. */
static const char *const common_keys[] = {
	"kind", "needs", "description", "timeout", "first_token_timeout", "idle_timeout",
	"retries", "temperature", "max_tokens", "top_p", "seed", "stop", "stream",
};

#define NCOMMON (sizeof(common_keys) / sizeof(common_keys[0]))

static const char *const extract_modes[] = {
	"whole", "last_line", "number", "choice", "json:FIELD", "regex:PATTERN",
};

static void node_where(char *out, size_t n, const struct wf_node *node,
		       const struct kind_info *k)
{
	snprintf(out, n, "node '%.60s' (%s)", node->id, k->name);
}

/* ---- kind ---- */

static const struct kind_info *node_kind(struct loadctx *c, const struct wf_node *node,
					 const struct ynode *map)
{
	const struct ynode *v = ytree_get(map, "kind");
	if (!v || v->type == YT_NULL) {
		ld_diag(c, node->line, node->col, "node '%.60s' needs 'kind' (generate, vote, "
			"synthesize or template)", node->id);
		return NULL;
	}
	if (v->type != YT_SCALAR) {
		ld_wrong_type(c, "kind", v, "a string");
		return NULL;
	}
	const char *names[NKINDS];
	for (size_t i = 0; i < NKINDS; i++) {
		if (!strcmp(kinds[i].name, v->str)) {
			if (kinds[i].built)
				return &kinds[i];
			ld_diag(c, v->line, v->col, "node kind '%s' is not available in this "
				"build yet", kinds[i].name);
			return NULL;
		}
		names[i] = kinds[i].name;
	}
	ld_unknown_name(c, v->line, v->col, "node kind", v->str, names, NKINDS,
			"use generate, vote, synthesize or template");
	return NULL;
}

/* ---- values ---- */

static void add_tmpl_refs(struct loadctx *c, struct node_src *ns, struct tmpl *t)
{
	for (size_t i = 0; i < tmpl_nrefs(t); i++) {
		struct tmpl_ref *r = tmpl_ref_at(t, i);
		if (r->kind == TREF_NODE_OUTPUT || r->kind == TREF_NODE_RESPONSES)
			ref_list_add(c, &ns->deps, r->name, r->line, r->col, REF_TMPL, r);
	}
}

static void free_regex(void *re) { regex_free(re); }

static void load_regex(struct loadctx *c, struct wf_node *node, const struct ynode *v,
		       const char *pattern)
{
	struct qerr e = {0};
	size_t off = 0;
	struct regex *re = regex_compile(pattern, &off, &e);
	/* The pattern follows "regex:" on the scalar's first line. */
	int col = v->text_col + 6;
	for (size_t i = 0; i < off && pattern[i]; i++)
		col += ((unsigned char)pattern[i] & 0xC0) != 0x80;
	if (!re) {
		ld_diag(c, v->text_line, col, "%s", e.msg);
		return;
	}
	if (arena_on_free(c->a, free_regex, re)) {
		ld_oom(c);
		return;
	}
	if (regex_groups(re) != 1) {
		ld_diag(c, v->text_line, v->text_col + 6, "the pattern of 'extract' must have "
			"exactly one capture group, it has %d", regex_groups(re));
		return;
	}
	node->extract.mode = EX_REGEX;
	node->extract.re = re;
}

static void load_extract(struct loadctx *c, struct wf_node *node, const struct ynode *v)
{
	static const char *const plain[] = {"whole", "last_line", "number", "choice"};
	const char *s = NULL;
	if (ld_str(c, "extract", v, &s) <= 0)
		return;
	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, plain[i])) {
			node->extract.mode = (enum extract_mode)i;
			return;
		}
	}
	if (!strncmp(s, "json:", 5) && s[5]) {
		node->extract.mode = EX_JSON;
		node->extract.field = s + 5;
	} else if (!strncmp(s, "regex:", 6) && s[6]) {
		load_regex(c, node, v, s + 6);
	} else if (!strncmp(s, "json", 4) || !strncmp(s, "regex", 5)) {
		ld_diag(c, v->line, v->col, "'extract: %.40s' needs %s", s,
			s[0] == 'j' ? "a field name, as in json:answer"
				    : "a pattern, as in regex:Answer: (\\w+)");
	} else {
		ld_unknown_name(c, v->line, v->col, "extract mode", s, extract_modes, 6,
				"use whole, last_line, number, choice, json:FIELD or "
				"regex:PATTERN");
	}
}

static void load_weights(struct loadctx *c, struct node_src *ns, const struct ynode *v)
{
	if (ld_map(c, "weights", v) <= 0)
		return;
	ns->weight_vals = arena_alloc(c->a, (v->npairs ? v->npairs : 1) * sizeof(double));
	if (!ns->weight_vals) {
		ld_oom(c);
		return;
	}
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key;
		double w = 0;
		if (ld_num(c, "weights", v->pairs[i].val, 0, LD_NOMAX,
			   "a non-negative number", &w) <= 0)
			continue;
		const char *id = arena_strdup(c->a, k->str);
		if (!id) {
			ld_oom(c);
			return;
		}
		ns->weight_vals[ns->weights.n] = w;
		ref_list_add(c, &ns->weights, id, k->line, k->col, REF_NEEDS, NULL);
	}
}

static void load_count(struct loadctx *c, const char *key, const struct ynode *v,
		       int64_t max, int *out)
{
	int64_t n;
	if (ld_int(c, key, v, 1, max, "a positive integer", &n) > 0)
		*out = (int)n;
}

/* ---- keys ---- */

static int load_kind_key(struct loadctx *c, struct wf_node *node, struct node_src *ns,
			 const char *key, const struct ynode *v)
{
	struct tmpl **t = !strcmp(key, "prompt") ? &node->prompt
			  : !strcmp(key, "system") ? &node->system
			  : !strcmp(key, "text")   ? &node->text : NULL;
	if (t) {
		*t = ld_template(c, key, v);
		add_tmpl_refs(c, ns, *t);
	} else if (!strcmp(key, "from")) {
		ld_names(c, key, v, REF_FROM, &ns->deps);
	} else if (!strcmp(key, "models")) {
		ld_names(c, key, v, REF_NEEDS, &ns->models);
	} else if (!strcmp(key, "model")) {
		if (v->type == YT_SEQ || v->type == YT_MAP)
			ld_wrong_type(c, key, v, "a string (one model id)");
		else
			ld_names(c, key, v, REF_NEEDS, &ns->models);
	} else if (!strcmp(key, "samples")) {
		load_count(c, key, v, 1000, &node->samples);
	} else if (!strcmp(key, "min_ok")) {
		load_count(c, key, v, 1000000, &node->min_ok);
		ns->min_ok = v;
	} else if (!strcmp(key, "extract")) {
		load_extract(c, node, v);
	} else if (!strcmp(key, "weights")) {
		load_weights(c, ns, v);
	} else if (!strcmp(key, "min_agreement")) {
		ld_num(c, key, v, 0, 1, "a number", &node->min_agreement);
	} else {
		return 0;
	}
	return 1;
}

static int load_common_key(struct loadctx *c, struct wf_node *node, struct node_src *ns,
			   const struct ynode *k, const struct ynode *v)
{
	if (!strcmp(k->str, "kind"))
		return 1;
	if (!strcmp(k->str, "needs"))
		return ld_names(c, "needs", v, REF_NEEDS, &ns->deps), 1;
	if (!strcmp(k->str, "description"))
		return ld_str(c, "description", v, &node->description), 1;
	if (!strcmp(k->str, "timeout"))
		return ld_duration(c, "timeout", v, 1, &node->timeout_ms), 1;
	return ld_call_setting(c, &node->cs, k, v, 0);
}

static int kind_has_key(const struct kind_info *k, const char *key)
{
	for (size_t i = 0; i < MAX_KIND_KEYS && k->keys[i]; i++) {
		if (!strcmp(k->keys[i], key))
			return 1;
	}
	return 0;
}

static void node_unknown_key(struct loadctx *c, const struct wf_node *node,
			     const struct kind_info *k, const struct ynode *key)
{
	const char *known[NCOMMON + MAX_KIND_KEYS + 1];
	size_t n = 0;
	for (size_t i = 0; i < NCOMMON; i++)
		known[n++] = common_keys[i];
	for (size_t i = 0; i < MAX_KIND_KEYS && k->keys[i]; i++)
		known[n++] = k->keys[i];
	known[n] = NULL;
	char where[128];
	node_where(where, sizeof(where), node, k);
	ld_unknown_key(c, key, known, where);
}

static void node_required(struct loadctx *c, const struct wf_node *node,
			  const struct kind_info *k, const struct ynode *map)
{
	for (size_t i = 0; i < 3 && k->required[i]; i++) {
		const struct ynode *v = ytree_get(map, k->required[i]);
		if (v && v->type != YT_NULL && !(v->type == YT_SEQ && !v->nitems))
			continue;
		char where[128];
		node_where(where, sizeof(where), node, k);
		ld_diag(c, node->line, node->col, "%s needs '%s'", where, k->required[i]);
	}
}

static void load_node(struct loadctx *c, struct wf_node *node, struct node_src *ns,
		      const struct ynode *map)
{
	node->samples = 1;
	node->min_ok = 1;
	node->min_agreement = 0.5;
	node->extract.mode = EX_WHOLE;
	ns->skip = 1;
	if (map->type != YT_MAP) {
		ld_diag(c, map->line, map->col, "node '%.60s' must be a mapping, got %s",
			node->id, ytree_kind_name(map));
		return;
	}
	const struct kind_info *k = node_kind(c, node, map);
	if (!k)
		return;
	ns->skip = 0;
	node->kind = k->kind;
	for (size_t i = 0; i < map->npairs; i++) {
		const struct ynode *key = map->pairs[i].key, *v = map->pairs[i].val;
		if (load_common_key(c, node, ns, key, v))
			continue;
		if (!kind_has_key(k, key->str) || !load_kind_key(c, node, ns, key->str, v))
			node_unknown_key(c, node, k, key);
	}
	node_required(c, node, k, map);
}

void load_nodes(struct loadctx *c, const struct ynode *key, const struct ynode *nodes)
{
	struct workflow *wf = c->wf;
	if (ld_map(c, "nodes", nodes) < 0)
		return;
	if (!nodes || nodes->type == YT_NULL || !nodes->npairs) {
		ld_diag(c, key->line, key->col, "'nodes' is empty (a workflow needs at least "
			"one node)");
		return;
	}
	if (nodes->npairs > c->lim->max_nodes) {
		ld_diag(c, key->line, key->col, "too many nodes (%zu; at most %zu)",
			nodes->npairs, c->lim->max_nodes);
		return;
	}
	size_t n = nodes->npairs;
	wf->nodes = arena_alloc(c->a, n * sizeof(*wf->nodes));
	c->ns = arena_alloc(c->a, n * sizeof(*c->ns));
	if (!wf->nodes || !c->ns) {
		ld_oom(c);
		return;
	}
	for (size_t i = 0; i < n && !c->oom; i++) {
		const struct ynode *k = nodes->pairs[i].key;
		struct wf_node *node = arena_alloc(c->a, sizeof(*node));
		if (!node || !(node->id = arena_strdup(c->a, k->str))) {
			ld_oom(c);
			return;
		}
		node->idx = (int)i;
		node->line = k->line;
		node->col = k->col;
		wf->nodes[wf->nnodes++] = node;
		if (!ld_valid_id(node->id))
			ld_diag(c, k->line, k->col, "invalid node id '%.60s' (use letters, digits, "
				"'_' and '-', starting with a letter or '_')", node->id);
		load_node(c, node, &c->ns[i], nodes->pairs[i].val);
	}
}
