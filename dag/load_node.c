#include <stdio.h>
#include <string.h>

#include "../common/suggest.h"
#include "loadctx.h"

/* Nodes: one table row per kind, with its own keys and the keys it needs.
 * The keys of judge, cascade, route and plan are read in load_kinds.c;
 * moa and council are read here and expanded in expand.c. */

#define MAX_KIND_KEYS 12

struct kind_info {
	const char *name;
	enum node_kind kind;                 /* moa, council: their last node's */
	int macro;                           /* MACRO_*: expands at load */
	const char *keys[MAX_KIND_KEYS];     /* NULL-terminated */
	const char *required[3];             /* NULL-terminated */
};

static const struct kind_info kinds[] = {
	{"generate", NK_GENERATE, 0,
	 {"models", "prompt", "system", "samples", "min_ok", "stop_when"}, {"models"}},
	{"vote", NK_VOTE, 0, {"from", "extract", "weights", "min_agreement", "stop_when"},
	 {"from"}},
	{"synthesize", NK_SYNTHESIZE, 0, {"from", "model", "prompt", "system"},
	 {"from", "model"}},
	{"template", NK_TEMPLATE, 0, {"text"}, {"text"}},
	{"judge", NK_JUDGE, 0, {"from", "model", "models", "criteria", "prompt"}, {"from"}},
	{"rank", NK_RANK, 0, {"from", "models", "criteria"}, {"from", "models"}},
	{"moa", NK_SYNTHESIZE, MACRO_MOA, {"proposers", "layers", "aggregator", "prompt"},
	 {"proposers", "aggregator"}},
	{"council", NK_SYNTHESIZE, MACRO_COUNCIL, {"members", "chairman", "prompt"},
	 {"members", "chairman"}},
	{"cascade", NK_CASCADE, 0, {"models", "prompt", "accept"}, {"models"}},
	{"route", NK_ROUTE, 0, {"prompt", "system", "routes", "default", "embed"},
	 {"routes", "default"}},
	{"plan", NK_PLAN, 0, {"model", "prompt", "max_subtasks", "run"}, {"model"}},
	{"bandit", NK_BANDIT, 0,
	 {"arms", "prompt", "system", "policy", "embed", "reward", "cost_weight", "budget",
	  "explore", "state"},
	 {"arms", "state"}},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
#define KIND_LIST "generate, vote, synthesize, judge, rank, moa, council, cascade, " \
	"route, plan, bandit or template"

/* Keys every node may have; `timeout` here is the whole node's. */
static const char *const common_keys[] = {
	"kind", "needs", "description", "timeout", "first_token_timeout", "idle_timeout",
	"retries", "temperature", "max_tokens", "top_p", "seed", "stop", "stream",
	"max_response_bytes", "continue_on_error",
};

#define NCOMMON (sizeof(common_keys) / sizeof(common_keys[0]))

static const char *const extract_modes[] = {
	"whole", "last_line", "number", "choice", "json:FIELD", "regex:PATTERN",
};

/* "node 'ID' (KIND)" or "the 'run' of node 'PLAN' (KIND)", for messages. */
static void node_where(const struct nodeload *nl, char *out, size_t n)
{
	if (nl->plan)
		snprintf(out, n, "the 'run' of node '%.60s' (%s)", nl->plan->id, nl->kind);
	else
		snprintf(out, n, "node '%.60s' (%s)", nl->node->id, nl->kind);
}

/* ---- kind ---- */

static const struct kind_info *find_kind(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++) {
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	}
	return NULL;
}

/* A plan's run is a generate (when `kind` is not written) or a route. */
static const struct kind_info *run_kind(struct nodeload *nl, const struct ynode *v)
{
	static const char *const allowed[] = {"generate", "route"};
	if (!v || v->type == YT_NULL)
		return find_kind("generate");
	if (v->type != YT_SCALAR) {
		ld_wrong_type(nl->c, "kind", v, "a string");
		return NULL;
	}
	if (!strcmp(v->str, "generate") || !strcmp(v->str, "route"))
		return find_kind(v->str);
	if (find_kind(v->str))
		ld_diag(nl->c, v->line, v->col, "the 'run' of a plan must be of kind generate "
			"or route, got '%.40s'", v->str);
	else
		ld_unknown_name(nl->c, v->line, v->col, "node kind", v->str, allowed, 2,
				"a plan's subtasks run as generate or route");
	return NULL;
}

static const struct kind_info *node_kind(struct nodeload *nl, const struct ynode *map)
{
	const struct ynode *v = ytree_get(map, "kind");
	if (nl->plan)
		return run_kind(nl, v);
	if (!v || v->type == YT_NULL) {
		ld_diag(nl->c, nl->node->line, nl->node->col, "node '%.60s' needs 'kind' ("
			KIND_LIST ")", nl->node->id);
		return NULL;
	}
	if (v->type != YT_SCALAR) {
		ld_wrong_type(nl->c, "kind", v, "a string");
		return NULL;
	}
	const struct kind_info *k = find_kind(v->str);
	if (k)
		return k;
	const char *names[NKINDS];
	for (size_t i = 0; i < NKINDS; i++)
		names[i] = kinds[i].name;
	ld_unknown_name(nl->c, v->line, v->col, "node kind", v->str, names, NKINDS,
			"use " KIND_LIST);
	return NULL;
}

/* ---- values ---- */

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
		struct regex *re = ld_regex(c, v, 6);
		if (re && regex_groups(re) != 1) {
			ld_diag(c, v->text_line, v->text_col + 6, "the pattern of 'extract' must "
				"have exactly one capture group, it has %d", regex_groups(re));
		} else if (re) {
			node->extract.mode = EX_REGEX;
			node->extract.re = re;
		}
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
		char key[96];
		snprintf(key, sizeof(key), "weights: %.60s", k->str);
		if (ld_num(c, key, v->pairs[i].val, 0, LD_MAX_WEIGHT, "a non-negative number",
			   &w) <= 0)
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

static void load_stop_when(struct loadctx *c, struct wf_node *node, const struct ynode *v)
{
	static const char *const values[] = {"decided"};
	const char *s = NULL;
	if (ld_str(c, "stop_when", v, &s) <= 0)
		return;
	if (!strcmp(s, "decided"))
		node->stop_when_decided = 1;
	else
		ld_unknown_name(c, v->line, v->col, "stop_when", s, values, 1,
				"the only one is 'decided'");
}

static void load_count(struct loadctx *c, const char *key, const struct ynode *v,
		       int64_t max, int *out)
{
	int64_t n;
	if (ld_int(c, key, v, 1, max, "a positive integer", &n) > 0)
		*out = (int)n;
}

/* ---- keys ---- */

static void load_default(struct loadctx *c, struct node_src *ns, const struct ynode *v)
{
	struct ref_list l = {0};
	if (ld_one_model(c, "default", v, &l) > 0)
		ns->route_default = l.v[0];
}

/* Keys whose value is a list of names or one name. */
static int load_name_key(struct nodeload *nl, const char *key, const struct ynode *v)
{
	struct loadctx *c = nl->c;
	struct node_src *ns = nl->ns;
	if (!strcmp(key, "from"))
		ld_names(c, key, v, REF_FROM, &ns->deps);
	else if (!strcmp(key, "models") || !strcmp(key, "proposers") ||
		 !strcmp(key, "members") || !strcmp(key, "arms"))
		ld_names(c, key, v, REF_NEEDS, &ns->models);
	else if (!strcmp(key, "embed")) {
		struct ref_list l = {0};
		if (ld_one_model(c, key, v, &l) > 0)
			ns->embed = l.v[0];
	}
	else if (!strcmp(key, "model"))
		ld_one_model(c, key, v, &ns->models);
	else if (!strcmp(key, "aggregator") || !strcmp(key, "chairman"))
		ld_one_model(c, key, v, &ns->chair);
	else if (!strcmp(key, "default"))
		load_default(c, ns, v);
	else
		return 0;
	return 1;
}

static int load_number_key(struct nodeload *nl, const char *key, const struct ynode *v)
{
	struct loadctx *c = nl->c;
	struct wf_node *node = nl->node;
	int64_t n;
	if (!strcmp(key, "samples")) {
		load_count(c, key, v, LD_MAX_SAMPLES, &node->samples);
	} else if (!strcmp(key, "min_ok")) {
		load_count(c, key, v, LD_MAX_MIN_OK, &node->min_ok);
		nl->ns->min_ok = v;
	} else if (!strcmp(key, "min_agreement")) {
		ld_num(c, key, v, 0, 1, "a number", &node->min_agreement);
	} else if (!strcmp(key, "layers")) {
		load_count(c, key, v, LD_MAX_LAYERS, &nl->ns->layers);
	} else if (!strcmp(key, "max_subtasks")) {
		if (ld_int(c, key, v, 1, LD_MAX_SUBTASKS, "a positive integer", &n) > 0)
			node->max_subtasks = (int)n;
	} else {
		return 0;
	}
	return 1;
}

/* ---- plan: run ---- */

/* Reads one node mapping into nl->node (a plan's run allows only generate
 * and route). Returns the kind's MACRO_* (MACRO_NONE for a primitive
 * kind), or -1 when the node has no usable kind (nl->ns->skip is set). A
 * plan's run is a node body of its own. */
static int node_body(struct nodeload *nl, const struct ynode *map);

/* The anonymous node of a plan's run, at line:col. */
static struct wf_node *run_new(struct nodeload *nl, int line, int col)
{
	struct loadctx *c = nl->c;
	struct wf_node *run = arena_alloc(c->a, sizeof(*run));
	struct node_src *rns = arena_alloc(c->a, sizeof(*rns));
	if (!run || !rns) {
		ld_oom(c);
		return NULL;
	}
	run->idx = -1;
	run->line = line;
	run->col = col;
	nl->node->run = run;
	nl->ns->run = rns;
	return run;
}

static void load_run(struct nodeload *nl, const struct ynode *v)
{
	if (ld_map(nl->c, "run", v) <= 0)
		return;
	struct wf_node *run = run_new(nl, v->line, v->col);
	if (!run)
		return;
	struct nodeload sub = {nl->c, run, nl->ns->run, nl->tmpl_to, nl->node, NULL};
	node_body(&sub, v);
}

/* After a plan's keys: a plan without `run` runs each subtask as a
 * generate by its planner. */
static void plan_finish(struct nodeload *nl)
{
	if (nl->node->run)
		return;
	struct wf_node *run = run_new(nl, nl->node->line, nl->node->col);
	if (!run)
		return;
	ld_node_defaults(run);
	run->kind = NK_GENERATE;
	nl->ns->run->models = nl->ns->models;
}

/* ---- keys of a kind ---- */

static int load_kind_key(struct nodeload *nl, const char *key, const struct ynode *v)
{
	struct loadctx *c = nl->c;
	struct wf_node *node = nl->node;
	struct tmpl **t = !strcmp(key, "prompt") ? &node->prompt
			  : !strcmp(key, "system") ? &node->system
			  : !strcmp(key, "text")   ? &node->text : NULL;
	if (t) {
		*t = ld_template(c, key, v);
		ld_tmpl_refs(nl, *t);
	} else if (load_name_key(nl, key, v) || load_number_key(nl, key, v)) {
		return 1;
	} else if (!strcmp(key, "extract")) {
		load_extract(c, node, v);
	} else if (!strcmp(key, "weights")) {
		load_weights(c, nl->ns, v);
	} else if (!strcmp(key, "stop_when")) {
		load_stop_when(c, node, v);
	} else if (!strcmp(key, "criteria")) {
		ld_str(c, key, v, &node->criteria);
	} else if (!strcmp(key, "accept")) {
		ld_accept(nl, v);
	} else if (!strcmp(key, "routes")) {
		ld_routes(nl, v);
	} else if (!strcmp(key, "run")) {
		load_run(nl, v);
	} else if (ld_bandit_key(nl, key, v)) {
		return 1;
	} else {
		return 0;
	}
	return 1;
}

static int load_common_key(struct nodeload *nl, const struct ynode *k, const struct ynode *v)
{
	struct loadctx *c = nl->c;
	struct wf_node *node = nl->node;
	if (!strcmp(k->str, "kind"))
		return 1;
	if (!strcmp(k->str, "needs")) {
		if (nl->plan)
			ld_diag(c, k->line, k->col, "'needs' has no place in the 'run' of a plan "
				"(a subtask's dependencies come from the plan)");
		else
			ld_names(c, "needs", v, REF_NEEDS, &nl->ns->deps);
		return 1;
	}
	if (!strcmp(k->str, "description"))
		return ld_str(c, "description", v, &node->description), 1;
	if (!strcmp(k->str, "continue_on_error")) {
		/* A subtask's failure is the plan's: the plan node carries it. */
		if (nl->plan)
			ld_diag(c, k->line, k->col, "'continue_on_error' has no place in the "
				"'run' of a plan (write it on the plan node '%.60s')",
				nl->plan->id);
		else
			ld_bool(c, "continue_on_error", v, &node->continue_on_error);
		return 1;
	}
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

/* The keys a node of kind k may have, NULL-terminated; returns how many. */
static size_t node_keys(const struct nodeload *nl, const struct kind_info *k,
			const char **known)
{
	size_t n = 0;
	for (size_t i = 0; i < NCOMMON; i++) {
		if (!nl->plan || strcmp(common_keys[i], "needs"))
			known[n++] = common_keys[i];
	}
	for (size_t i = 0; i < MAX_KIND_KEYS && k->keys[i]; i++)
		known[n++] = k->keys[i];
	known[n] = NULL;
	return n;
}

/* Whether a key of map that the kind does not have is a misspelling of
 * `want` (reported as such: `chairmen` is not also a missing `chairman`). */
static int misspelt_as(const struct nodeload *nl, const struct kind_info *k,
		       const struct ynode *map, const char *want)
{
	const char *known[NCOMMON + MAX_KIND_KEYS + 1];
	size_t n = node_keys(nl, k, known);
	for (size_t i = 0; i < map->npairs; i++) {
		const char *key = map->pairs[i].key->str;
		/* x- keys are the user's own and never reported. */
		int is_known = !strncmp(key, "x-", 2);
		for (size_t j = 0; j < n && !is_known; j++)
			is_known = !strcmp(known[j], key);
		const char *near = is_known ? NULL : suggest_nearest(key, known, n);
		if (near && !strcmp(near, want))
			return 1;
	}
	return 0;
}

static void node_unknown_key(struct nodeload *nl, const struct kind_info *k,
			     const struct ynode *key)
{
	const char *known[NCOMMON + MAX_KIND_KEYS + 1];
	node_keys(nl, k, known);
	char where[160], hint[160];
	node_where(nl, where, sizeof(where));
	/* Nothing near: name the kind's own keys, the ones a user mixes up
	 * between kinds (a rank has `criteria`, not `prompt`). */
	size_t w = (size_t)snprintf(hint, sizeof(hint), "%s keys:", k->name);
	for (size_t i = 0; i < MAX_KIND_KEYS && k->keys[i] && w < sizeof(hint); i++)
		w += (size_t)snprintf(hint + w, sizeof(hint) - w, "%s %s", i ? "," : "",
				      k->keys[i]);
	ld_unknown_key_hint(nl->c, key, known, where, hint);
}

static int has_value(const struct ynode *map, const char *key)
{
	const struct ynode *v = ytree_get(map, key);
	return v && v->type != YT_NULL && !(v->type == YT_SEQ && !v->nitems);
}

/* What a required key holds, so the message says what to write. */
static const char *required_hint(const char *key)
{
	static const char *const hints[][2] = {
		{"models", "a list of model ids or provider/model names"},
		{"from", "the node whose answers it reads"},
		{"model", "a model id or provider/model"},
		{"text", "the text it renders"},
		{"proposers", "the models of each round"},
		{"members", "the models that answer and rank"},
		{"aggregator", "the model that writes the final answer"},
		{"chairman", "the model that writes the final answer"},
		{"routes", "a list of {when: ..., to: MODEL} or {ask: MODEL}"},
		{"default", "the model for prompts no route takes"},
		{"arms", "the models it chooses among"},
		{"state", "the file where what it learns is kept"},
	};
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		if (!strcmp(hints[i][0], key))
			return hints[i][1];
	}
	return "";
}

static void node_required(struct nodeload *nl, const struct kind_info *k,
			  const struct ynode *map)
{
	char where[160];
	node_where(nl, where, sizeof(where));
	int line = nl->plan ? map->line : nl->node->line;
	int col = nl->plan ? map->col : nl->node->col;
	for (size_t i = 0; i < 3 && k->required[i]; i++) {
		if (has_value(map, k->required[i]))
			continue;
		nl->c->incomplete = 1;
		if (!misspelt_as(nl, k, map, k->required[i]))
			ld_diag(nl->c, line, col, "%s needs '%s' (%s)", where, k->required[i],
				required_hint(k->required[i]));
	}
	if (k->kind != NK_JUDGE)
		return;
	/* One judge or a panel: exactly one of the two, reported at whichever
	 * key was written second. */
	const struct ynode *second = NULL;
	int seen = 0;
	for (size_t i = 0; i < map->npairs && !second; i++) {
		const char *key = map->pairs[i].key->str;
		if (!strcmp(key, "model") || !strcmp(key, "models"))
			second = seen++ ? map->pairs[i].key : NULL;
	}
	if (!has_value(map, "model") && !has_value(map, "models") &&
	    !misspelt_as(nl, k, map, "model") && !misspelt_as(nl, k, map, "models"))
		ld_diag(nl->c, line, col, "%s needs 'model' (one judge) or 'models' (a panel)",
			where);
	else if (second)
		ld_diag(nl->c, second->line, second->col, "%s has both 'model' and 'models' "
			"(use 'model' for one judge or 'models' for a panel)", where);
}

static int node_body(struct nodeload *nl, const struct ynode *map)
{
	struct wf_node *node = nl->node;
	ld_node_defaults(node);
	nl->ns->skip = 1;
	nl->ns->layers = 3;
	const struct kind_info *k = node_kind(nl, map);
	if (!k)
		return -1;
	nl->ns->skip = 0;
	nl->kind = k->name;
	node->kind = k->kind;
	for (size_t i = 0; i < map->npairs; i++) {
		const struct ynode *key = map->pairs[i].key, *v = map->pairs[i].val;
		if (load_common_key(nl, key, v))
			continue;
		if (!kind_has_key(k, key->str) || !load_kind_key(nl, key->str, v))
			node_unknown_key(nl, k, key);
	}
	node_required(nl, k, map);
	if (k->kind == NK_PLAN)
		plan_finish(nl);
	return k->macro;
}

/* ---- the node list ---- */

static void load_node(struct loadctx *c, const struct ynode *k, const struct ynode *map)
{
	struct wf_node *node = arena_alloc(c->a, sizeof(*node));
	if (!node || !(node->id = arena_strdup(c->a, k->str))) {
		ld_oom(c);
		return;
	}
	node->line = k->line;
	node->col = k->col;
	int valid = ld_valid_id(node->id);
	if (!valid)
		ld_diag(c, k->line, k->col, "invalid node id '%.60s' (use letters, digits, "
			"'_' and '-', starting with a letter or '_')", node->id);
	struct node_src ns = {0};
	struct nodeload nl = {c, node, &ns, &ns, NULL, NULL};
	int macro = MACRO_NONE;
	if (map->type != YT_MAP) {
		char got[64];
		ld_diag(c, map->line, map->col, "node '%.60s' must be a mapping (kind, ...), "
			"got %s", node->id, ld_got(map, got, sizeof(got)));
		ld_node_defaults(node);
		ns.skip = 1;
	} else {
		macro = node_body(&nl, map);
	}
	/* Expansion names nodes after this one: only a valid id can be
	 * referred to. */
	if (macro > 0 && valid) {
		ld_expand(c, node, &ns, macro);
		return;
	}
	if (macro > 0)
		ns.skip = 1;
	ld_node_add(c, node, &ns);
}

void load_nodes(struct loadctx *c, const struct ynode *key, const struct ynode *nodes)
{
	if (ld_map(c, "nodes", nodes) < 0)
		return;
	if (!nodes || nodes->type == YT_NULL || !nodes->npairs) {
		ld_diag(c, key->line, key->col, "'nodes' is empty (a workflow needs at least "
			"one node)");
		return;
	}
	if (nodes->npairs > c->lim->max_nodes) {
		ld_diag(c, key->line, key->col, "too many nodes (%zu; the nodes limit is %zu)",
			nodes->npairs, c->lim->max_nodes);
		return;
	}
	for (size_t i = 0; i < nodes->npairs && !c->oom && !c->too_many_nodes; i++)
		load_node(c, nodes->pairs[i].key, nodes->pairs[i].val);
}
