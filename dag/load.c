#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/alloc.h"
#include "loadctx.h"

/* Loading: the file's text to a tree (ytree.c), the tree's top level,
 * inputs, defaults, models and budget to the typed workflow here, nodes in
 * load_node.c, cross-references in validate.c. Every problem is reported,
 * so a stage goes on after one and leaves the value at its default. */

static const char *const top_keys[] = {
	"version", "name", "description", "inputs", "defaults", "models",
	"nodes", "output", "budget", NULL,
};

static const char *const model_keys[] = {
	"provider", "model", "base_url", "api_key_env", "price", "params",
	"max_concurrency", "rpm", "fallback", "local", "timeout", "first_token_timeout",
	"idle_timeout", "retries", "temperature", "max_tokens", "top_p", "seed",
	"stop", "stream", "max_response_bytes", "http_version", "max_connections",
	"ca_cert", "endpoints", "strategy", "cooldown", NULL,
};

/* ---- inputs ---- */

static void load_input_spec(struct loadctx *c, struct wf_input *in, const struct ynode *v)
{
	static const char *const keys[] = {"required", "description", "default", NULL};
	char where[96];
	snprintf(where, sizeof(where), "input '%.60s'", in->name);
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		if (!strcmp(k->str, "required"))
			ld_bool(c, "required", x, &in->required);
		else if (!strcmp(k->str, "description"))
			ld_str(c, "description", x, &in->description);
		else if (!strcmp(k->str, "default"))
			ld_str(c, "default", x, &in->def);
		else
			ld_unknown_key(c, k, keys, where);
	}
}

static void load_inputs(struct loadctx *c, const struct ynode *v)
{
	struct workflow *wf = c->wf;
	size_t n = ld_map(c, "inputs", v) > 0 ? v->npairs : 0;
	int has_query = 0;
	for (size_t i = 0; i < n; i++)
		has_query |= !strcmp(v->pairs[i].key->str, "query");
	wf->inputs = arena_alloc(c->a, (n + 1) * sizeof(*wf->inputs));
	if (!wf->inputs) {
		ld_oom(c);
		return;
	}
	if (!has_query)
		wf->inputs[wf->ninputs++] = (struct wf_input){.name = "query", .required = -1};
	for (size_t i = 0; i < n; i++) {
		const struct ynode *k = v->pairs[i].key, *spec = v->pairs[i].val;
		struct wf_input *in = &wf->inputs[wf->ninputs++];
		char got[64];
		in->name = arena_strdup(c->a, k->str);
		in->line = k->line;
		in->col = k->col;
		if (!in->name) {
			ld_oom(c);
			return;
		}
		if (!ld_valid_id(in->name))
			ld_diag(c, k->line, k->col, "invalid input name '%.60s' (use letters, "
				"digits, '_' and '-', starting with a letter or '_')", in->name);
		/* Unless written, validation decides whether the query is needed. */
		if (!strcmp(in->name, "query"))
			in->required = -1;
		if (spec->type == YT_MAP)
			load_input_spec(c, in, spec);
		else if (spec->type != YT_NULL)
			ld_diag(c, spec->line, spec->col, "input '%.60s' must be a mapping "
				"(required, default, description), got %s", in->name,
				ld_got(spec, got, sizeof(got)));
	}
}

/* ---- models ---- */

static cJSON *json_from_tree(const struct ynode *v);

static cJSON *json_from_scalar(const struct ynode *v)
{
	int64_t i;
	double d;
	int b;
	switch (ytree_scalar_kind(v)) {
	case YK_NULL:
		return cJSON_CreateNull();
	case YK_BOOL:
		ytree_bool(v, &b);
		return cJSON_CreateBool(b);
	case YK_INT:
		if (!ytree_int(v, &i)) {
			/* Raw keeps integers past 2^53 exact, as the user wrote them. */
			char num[32];
			snprintf(num, sizeof(num), "%" PRId64, i);
			return cJSON_CreateRaw(num);
		}
		break;
	case YK_FLOAT:
		if (!ytree_number(v, &d))
			return cJSON_CreateNumber(d);
		break;
	case YK_STRING:
		break;
	}
	return cJSON_CreateString(v->str);
}

static cJSON *json_from_tree(const struct ynode *v)
{
	if (v->type == YT_SCALAR || v->type == YT_NULL)
		return json_from_scalar(v);
	int map = v->type == YT_MAP;
	cJSON *j = map ? cJSON_CreateObject() : cJSON_CreateArray();
	size_t n = map ? v->npairs : v->nitems;
	for (size_t i = 0; j && i < n; i++) {
		cJSON *kid = json_from_tree(map ? v->pairs[i].val : v->items[i]);
		if (!kid) {
			cJSON_Delete(j);
			return NULL;
		}
		if (map)
			cJSON_AddItemToObject(j, v->pairs[i].key->str, kid);
		else
			cJSON_AddItemToArray(j, kid);
	}
	return j;
}

static void load_params(struct loadctx *c, struct wf_model *m, const struct ynode *v)
{
	if (ld_map(c, "params", v) <= 0)
		return;
	/* Every request to the model carries them: big text belongs in a
	 * prompt, where the prompt_bytes limit bounds it. */
	if (v->bytes > LD_MAX_PARAMS_BYTES) {
		ld_diag(c, v->line, v->col, "'params' holds %zu bytes of text, more than "
			"%zu (put long text in the prompt or system instead)", v->bytes,
			LD_MAX_PARAMS_BYTES);
		return;
	}
	cJSON *j = json_from_tree(v);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	if (text)
		m->params_json = arena_strdup(c->a, text);
	if (!m->params_json)
		ld_oom(c);
	cJSON_free(text);
	cJSON_Delete(j);
}

static void load_price(struct loadctx *c, struct wf_model *m, const struct ynode *v)
{
	static const char *const keys[] = {"input", "output", NULL};
	if (ld_map(c, "price", v) <= 0)
		return;
	int got_in = 0, got_out = 0;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		if (!strcmp(k->str, "input"))
			got_in = ld_num(c, "input", x, 0, LD_MAX_PRICE, "a non-negative number",
					&m->price_in) > 0;
		else if (!strcmp(k->str, "output"))
			got_out = ld_num(c, "output", x, 0, LD_MAX_PRICE, "a non-negative number",
					 &m->price_out) > 0;
		else
			ld_unknown_key(c, k, keys, "price");
	}
	if (!ytree_get(v, "input") || !ytree_get(v, "output"))
		ld_diag(c, v->line, v->col, "'price' needs 'input' and 'output' "
			"(USD per million tokens)");
	m->price_known = got_in && got_out;
}

static void load_model_key(struct loadctx *c, struct wf_model *m, struct model_src *ms,
			   const struct ynode *k, const struct ynode *v)
{
	const char *key = k->str;
	int64_t n = 0;
	if (!strcmp(key, "provider")) {
		if (ld_str(c, key, v, &m->provider) > 0)
			ld_provider(c, v->line, v->col, m->provider);
	} else if (!strcmp(key, "model")) {
		ld_str(c, key, v, &m->model);
	} else if (!strcmp(key, "base_url")) {
		if (ld_str(c, key, v, &m->base_url) > 0)
			ms->base_url = v;
	} else if (!strcmp(key, "api_key_env")) {
		ld_str(c, key, v, &m->api_key_env);
	} else if (!strcmp(key, "price")) {
		load_price(c, m, v);
	} else if (!strcmp(key, "params")) {
		load_params(c, m, v);
	} else if (!strcmp(key, "max_concurrency")) {
		if (ld_int(c, key, v, 0, LD_MAX_CONCURRENCY, "a non-negative integer", &n) > 0)
			m->max_concurrency = (int)n;
	} else if (!strcmp(key, "rpm")) {
		ld_num(c, key, v, 0, LD_MAX_RPM, "a non-negative number", &m->rpm);
	} else if (!strcmp(key, "fallback")) {
		ld_names(c, key, v, REF_NEEDS, &ms->fallback);
	} else if (!strcmp(key, "local")) {
		ld_bool(c, key, v, &m->local);
	} else if (ld_endpoints_key(c, m, ms, key, v)) {
		return;
	} else if (!ld_call_setting(c, &m->cs, k, v, 1)) {
		char where[96];
		snprintf(where, sizeof(where), "model '%.60s'", m->id);
		/* `api_key: sk-...` is the usual slip: a key never belongs in
		 * the file, only the name of the variable that holds it. */
		int secret = strstr(key, "key") || strstr(key, "token");
		ld_unknown_key_hint(c, k, model_keys, where, secret ? "keys come from the "
				    "environment: name the variable with api_key_env" : NULL);
	}
}

static int has_value(const struct ynode *map, const char *key)
{
	const struct ynode *v = ytree_get(map, key);
	return v && v->type != YT_NULL;
}

static void load_model(struct loadctx *c, struct wf_model *m, struct model_src *ms,
		       const struct ynode *v)
{
	if (v->type != YT_MAP) {
		char got[64];
		ld_diag(c, v->line, v->col, "model '%.60s' must be a mapping (provider, model, "
			"...), got %s", m->id, ld_got(v, got, sizeof(got)));
		return;
	}
	for (size_t i = 0; i < v->npairs; i++)
		load_model_key(c, m, ms, v->pairs[i].key, v->pairs[i].val);
	char names[128];
	if (!has_value(v, "provider"))
		ld_diag(c, m->line, m->col, "model '%.60s' needs 'provider' (%s)", m->id,
			ld_provider_list(names, sizeof(names)));
	if (!has_value(v, "model"))
		ld_diag(c, m->line, m->col, "model '%.60s' needs 'model' (the provider's "
			"model name)", m->id);
	ld_endpoints_check(c, m, v);
	const struct ynode *eps = ytree_get(v, "endpoints");
	if (eps && m->nendpoints) {
		static const char *const moved[] = {"base_url", "api_key_env"};
		for (int i = 0; i < 2; i++) {
			const struct ynode *x = ytree_get(v, moved[i]);
			if (x)
				ld_diag(c, x->line, x->col, "model '%.60s' has 'endpoints': its "
					"'%s' goes in each endpoint", m->id, moved[i]);
		}
	}
	ld_model_defaults(m);
}

static void load_models(struct loadctx *c, const struct ynode *v)
{
	if (ld_map(c, "models", v) <= 0)
		return;
	c->ms = arena_alloc(c->a, (v->npairs ? v->npairs : 1) * sizeof(*c->ms));
	if (!c->ms) {
		ld_oom(c);
		return;
	}
	for (size_t i = 0; i < v->npairs && !c->oom; i++) {
		const struct ynode *k = v->pairs[i].key;
		if (!*k->str)
			ld_diag(c, k->line, k->col, "a model id may not be empty");
		struct wf_model *m = ld_model_add(c, k->str, k->line, k->col);
		if (m)
			load_model(c, m, &c->ms[i], v->pairs[i].val);
		c->ndeclared = c->wf->nmodels;
	}
}

/* ---- the rest of the top level ---- */

static void load_defaults(struct loadctx *c, const struct ynode *v)
{
	struct call_settings cs = {0};
	if (ld_map(c, "defaults", v) > 0) {
		for (size_t i = 0; i < v->npairs; i++) {
			const struct ynode *k = v->pairs[i].key;
			if (!ld_call_setting(c, &cs, k, v->pairs[i].val, 1))
				ld_unknown_key(c, k, ld_call_keys, "defaults");
		}
	}
	call_settings_builtin(&c->wf->defaults);
	call_settings_apply(&c->wf->defaults, &cs);
	if (!(cs.set & CS_FIRST_TOKEN))
		c->wf->defaults.first_token_ms = c->wf->defaults.timeout_ms;
	if (!(cs.set & CS_IDLE))
		c->wf->defaults.idle_ms = c->wf->defaults.timeout_ms;
}

static void load_budget(struct loadctx *c, const struct ynode *v)
{
	static const char *const keys[] = {"max_usd", "max_calls", NULL};
	struct workflow *wf = c->wf;
	if (ld_map(c, "budget", v) <= 0)
		return;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		int64_t n;
		if (!strcmp(k->str, "max_usd")) {
			wf->has_max_usd = ld_num(c, "max_usd", x, 0, LD_MAX_USD,
						 "a non-negative number", &wf->max_usd) > 0;
		} else if (!strcmp(k->str, "max_calls")) {
			wf->has_max_calls = ld_int(c, "max_calls", x, 1, LD_MAX_CALLS,
						   "a positive integer", &n) > 0;
			if (wf->has_max_calls)
				wf->max_calls = (long)n;
		} else {
			ld_unknown_key(c, k, keys, "budget");
		}
	}
}

static void load_version(struct loadctx *c, const struct ynode *v)
{
	int64_t n;
	if (!v) {
		ld_diag(c, c->root->line, c->root->col, "missing 'version' (add 'version: 1')");
		return;
	}
	int rc = ytree_int(v, &n);
	if (rc == -1)
		ld_wrong_type(c, "version", v, "the number 1");
	else if (rc || n != 1)
		ld_diag(c, v->line, v->col, "unsupported version %.20s (this quorum reads "
			"version 1)", v->str);
}

/* The name a workflow gets when it has none: the file's stem. */
static const char *file_stem(struct loadctx *c, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	return arena_strndup(c->a, base, n);
}

static void load_output(struct loadctx *c, const struct ynode *v)
{
	const char *name = NULL;
	int rc = ld_str(c, "output", v, &name);
	if (rc > 0)
		c->output = (struct name_ref){name, v->line, v->col, REF_FROM, NULL};
	c->incomplete |= rc < 0;
}

enum { K_VERSION, K_NAME, K_DESC, K_INPUTS, K_DEFAULTS, K_MODELS, K_NODES, K_OUTPUT,
       K_BUDGET, K_COUNT };

static void load_top(struct loadctx *c, const struct ynode *root)
{
	const struct ynode *val[K_COUNT] = {0}, *nodes_key = NULL;
	/* A key misspelt as a required one is reported once, as misspelt. */
	int typo_nodes = 0, typo_version = 0;
	for (size_t i = 0; i < root->npairs; i++) {
		const struct ynode *k = root->pairs[i].key;
		size_t j = 0;
		while (top_keys[j] && strcmp(top_keys[j], k->str))
			j++;
		if (!top_keys[j]) {
			const char *near = ld_unknown_key(c, k, top_keys, "the workflow");
			typo_nodes |= near && !strcmp(near, "nodes");
			typo_version |= near && !strcmp(near, "version");
			continue;
		}
		val[j] = root->pairs[i].val;
		if (j == K_NODES)
			nodes_key = k;
	}
	struct workflow *wf = c->wf;
	if (val[K_VERSION] || !typo_version)
		load_version(c, val[K_VERSION]);
	if (ld_str(c, "name", val[K_NAME], &wf->name) <= 0)
		wf->name = file_stem(c, wf->file);
	ld_str(c, "description", val[K_DESC], &wf->description);
	load_inputs(c, val[K_INPUTS]);
	load_defaults(c, val[K_DEFAULTS]);
	load_models(c, val[K_MODELS]);
	c->nodes_key = nodes_key;
	if (nodes_key)
		load_nodes(c, nodes_key, val[K_NODES]);
	else if (!typo_nodes)
		ld_diag(c, root->line, root->col, "missing 'nodes' (a workflow needs at "
			"least one node)");
	load_output(c, val[K_OUTPUT]);
	load_budget(c, val[K_BUDGET]);
}

/* ---- entry points ---- */

/* Sorted by position; the same message at the same place once (a value
 * shared through an alias is read once per use). */
static void finish_diags(struct loadctx *c)
{
	struct qdiags *d = c->d;
	qdiags_sort(d);
	size_t w = c->diag_base;
	for (size_t i = c->diag_base; i < d->n; i++) {
		int dup = 0;
		for (size_t j = w; j-- > c->diag_base && !dup;) {
			if (d->items[j].line != d->items[i].line || d->items[j].col != d->items[i].col)
				break;
			dup = !strcmp(d->items[j].msg, d->items[i].msg);
		}
		if (dup)
			q_free(d->items[i].msg);
		else
			d->items[w++] = d->items[i];
	}
	d->n = w;
	/* The parser and the template compiler report directly: cap them too. */
	for (; d->n - c->diag_base > LOAD_MAX_DIAGS; c->dropped++)
		q_free(d->items[--d->n].msg);
	if (c->dropped)
		qdiags_add(d, 0, 0, "%zu more problems not shown", c->dropped);
}

static void load_tree(struct loadctx *c, const struct ynode *root)
{
	static const struct ynode none = {.type = YT_NULL, .str = ""};
	c->root = root ? root : &none;
	if (!root || root->type == YT_NULL) {
		ld_diag(c, 0, 0, "the file is empty (a workflow needs 'version: 1' and 'nodes')");
		return;
	}
	if (root->type != YT_MAP) {
		char got[64];
		ld_diag(c, root->line, root->col, "a workflow must be a mapping (version, "
			"models, nodes, ...), got %s", ld_got(root, got, sizeof(got)));
		return;
	}
	c->text_bytes = root->bytes;
	load_top(c, root);
	if (!c->oom)
		validate_workflow(c);
}

struct workflow *workflow_load_string(const char *path, const char *text, size_t len,
				      const struct load_limits *lim, struct qdiags *d)
{
	struct load_limits deflim;
	if (!lim) {
		load_limits_default(&deflim);
		lim = &deflim;
	}
	d->file = path;
	size_t base = d->n, lost = d->lost;
	if (len > lim->max_file_bytes) {
		qdiags_add(d, 0, 0, "the file is larger than the file_bytes limit (%zu bytes)",
			   lim->max_file_bytes);
		return NULL;
	}
	struct arena *a = arena_new(), *tmp = arena_new();
	struct workflow *wf = a ? arena_alloc(a, sizeof(*wf)) : NULL;
	if (!tmp || !wf || !(wf->file = arena_strdup(a, path ? path : "<input>"))) {
		qdiags_add(d, 0, 0, "out of memory while loading the workflow");
		arena_free(tmp);
		arena_free(a);
		return NULL;
	}
	wf->arena = a;
	struct ytree_limits ylim = {lim->max_yaml_nodes, lim->max_depth, lim->max_yaml_bytes};
	struct ynode *root;
	struct loadctx c = {.wf = wf, .a = a, .d = d, .diag_base = base, .lim = lim};
	if (!ytree_parse(tmp, text ? text : "", text ? len : 0, &ylim, &root, d))
		load_tree(&c, root);
	ld_share_release(&c);
	arena_free(tmp);
	if (d->n == base && d->lost == lost)
		return wf;
	/* A problem whose diagnostic memory could not hold still fails
	 * the load: a half-built workflow must never reach a run. */
	if (d->n == base)
		qdiags_add(d, 0, 0, "out of memory while loading the workflow");
	finish_diags(&c);
	arena_free(a);
	return NULL;
}

/* Reads at most max bytes and one more, to tell a file that is too big. */
static char *read_file(const char *path, size_t max, size_t *len, struct qdiags *d)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		qdiags_add(d, 0, 0, "cannot open the file: %s", strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = q_malloc(cap);
	int oom = !buf;
	while (!oom && n <= max) {
		if (n == cap) {
			char *nb = q_realloc(buf, cap * 2);
			if (!nb) {
				oom = 1;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (!got)
			break;
	}
	int err = ferror(f) ? errno : 0;
	fclose(f);
	if (oom)
		qdiags_add(d, 0, 0, "out of memory while reading the file");
	else if (err)
		qdiags_add(d, 0, 0, "cannot read the file: %s", strerror(err));
	else if (n > max)
		qdiags_add(d, 0, 0, "the file is larger than the file_bytes limit (%zu bytes)",
			   max);
	if (oom || err || n > max) {
		q_free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

struct workflow *workflow_load_file(const char *path, const struct load_limits *lim,
				    struct qdiags *d)
{
	struct load_limits deflim;
	if (!lim) {
		load_limits_default(&deflim);
		lim = &deflim;
	}
	d->file = path;
	size_t len;
	char *text = read_file(path, lim->max_file_bytes, &len, d);
	if (!text)
		return NULL;
	struct workflow *wf = workflow_load_string(path, text, len, lim, d);
	q_free(text);
	return wf;
}
