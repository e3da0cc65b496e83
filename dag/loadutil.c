#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/duration.h"
#include "../common/provfacts.h"
#include "../common/suggest.h"
#include "loadctx.h"

/* What every loading stage shares, so the stages call down into this file
 * and never into each other: typed reads of tree values with the
 * diagnostics a user sees when a value is of the wrong type or out of
 * range, call settings, the node and model lists, and the providers'
 * names and defaults (common/provfacts.h). */

void ld_model_defaults(struct wf_model *m)
{
	const struct provfacts *p = provfacts_find(m->provider);
	if (m->cooldown_ms < 0)
		m->cooldown_ms = 30000;
	if (!p)
		return;
	for (size_t i = 0; i < m->nendpoints; i++)
		if (!m->endpoints[i].api_key_env)
			m->endpoints[i].api_key_env = p->key_env;
	/* With endpoints, the model's own are its first endpoint's. */
	if (m->nendpoints && m->endpoints[0].base_url) {
		m->base_url = m->endpoints[0].base_url;
		m->api_key_env = m->endpoints[0].api_key_env;
	}
	if (!m->base_url)
		m->base_url = p->base_url;
	if (!m->api_key_env)
		m->api_key_env = p->key_env;
}

struct wf_model *ld_model_add(struct loadctx *c, const char *id, int line, int col)
{
	struct workflow *wf = c->wf;
	if (wf->nmodels == c->models_cap) {
		size_t cap = c->models_cap ? c->models_cap * 2 : 8;
		struct wf_model **v = arena_alloc(c->a, cap * sizeof(*v));
		if (!v) {
			ld_oom(c);
			return NULL;
		}
		if (wf->nmodels)
			memcpy(v, wf->models, wf->nmodels * sizeof(*v));
		wf->models = v;
		c->models_cap = cap;
	}
	struct wf_model *m = arena_alloc(c->a, sizeof(*m));
	if (!m || !(m->id = arena_strdup(c->a, id))) {
		ld_oom(c);
		return NULL;
	}
	m->idx = (int)wf->nmodels;
	m->line = line;
	m->col = col;
	m->cooldown_ms = -1;
	wf->models[wf->nmodels++] = m;
	return m;
}

/* ---- diagnostics ---- */

int ld_room(const struct loadctx *c) { return c->d->n - c->diag_base < LOAD_MAX_DIAGS; }

int ld_diag(struct loadctx *c, int line, int col, const char *fmt, ...)
{
	if (!ld_room(c)) {
		c->dropped++;
		return -1;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return qdiags_add(c->d, line, col, "%s", msg);
}

int ld_oom(struct loadctx *c)
{
	if (!c->oom)
		qdiags_add(c->d, 0, 0, "out of memory while loading the workflow");
	c->oom = 1;
	return -1;
}

static size_t count_names(const char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	return n;
}

/* A short list of keys in words: "a, b or c". */
static void join_or(char *out, size_t n, const char *const *v, size_t count)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < count && used < n; i++) {
		const char *sep = !i ? "" : i + 1 == count ? " or " : ", ";
		int w = snprintf(out + used, n - used, "%s%s", sep, v[i]);
		used += w > 0 ? (size_t)w : 0;
	}
}

/* Lists the known keys when nothing is near and there are few enough
 * to read at a glance. */
#define LD_LIST_KEYS 14

const char *ld_unknown_key_hint(struct loadctx *c, const struct ynode *key,
				const char *const *known, const char *where, const char *hint)
{
	/* x- keys are free for the user's own anchors, as in docker-compose. */
	if (!strncmp(key->str, "x-", 2))
		return NULL;
	if (!ld_room(c)) {
		c->dropped++;
		return NULL;
	}
	size_t n = count_names(known);
	const char *s = suggest_nearest(key->str, known, n);
	char list[256];
	if (s) {
		ld_diag(c, key->line, key->col, "unknown key '%s' in %s (did you mean '%s'?)",
			key->str, where, s);
	} else if (hint) {
		ld_diag(c, key->line, key->col, "unknown key '%s' in %s (%s)", key->str, where,
			hint);
	} else if (n <= LD_LIST_KEYS) {
		join_or(list, sizeof(list), known, n);
		ld_diag(c, key->line, key->col, "unknown key '%s' in %s (use %s)", key->str,
			where, list);
	} else {
		ld_diag(c, key->line, key->col, "unknown key '%s' in %s", key->str, where);
	}
	return s;
}

const char *ld_unknown_key(struct loadctx *c, const struct ynode *key,
			   const char *const *known, const char *where)
{
	return ld_unknown_key_hint(c, key, known, where, NULL);
}

void ld_unknown_name(struct loadctx *c, int line, int col, const char *what,
		     const char *name, const char *const *cands, size_t n,
		     const char *hint)
{
	if (!ld_room(c)) {
		c->dropped++;
		return;
	}
	const char *s = suggest_nearest(name, cands, n);
	if (s)
		ld_diag(c, line, col, "unknown %s '%s' (did you mean '%s'?)", what, name, s);
	else if (hint)
		ld_diag(c, line, col, "unknown %s '%s' (%s)", what, name, hint);
	else
		ld_diag(c, line, col, "unknown %s '%s'", what, name);
}

const char *ld_provider_list(char *buf, size_t n)
{
	join_or(buf, n, provfacts_names, PROV_COUNT);
	return buf;
}

const struct provfacts *ld_provider(struct loadctx *c, int line, int col,
				    const char *name)
{
	const struct provfacts *p = provfacts_find(name);
	if (!p) {
		char hint[128] = "use ";
		ld_provider_list(hint + 4, sizeof(hint) - 4);
		ld_unknown_name(c, line, col, "provider", name, provfacts_names, PROV_COUNT,
				hint);
	}
	return p;
}

const char *ld_got(const struct ynode *v, char *buf, size_t n)
{
	if (!v || v->type != YT_SCALAR)
		return ytree_kind_name(v);
	/* The value itself says more than its type ("got 'hot'", "got
	 * 1.5"); one line of it, and not all of a long one. */
	size_t len = strcspn(v->str, "\r\n");
	int cut = len > 40 || v->str[len];
	int shown = len > 40 ? 40 : (int)len;
	if (ytree_scalar_kind(v) == YK_STRING)
		snprintf(buf, n, "'%.*s%s'", shown, v->str, cut ? "..." : "");
	else
		snprintf(buf, n, "%.*s", shown, v->str);
	return buf;
}

int ld_wrong_type(struct loadctx *c, const char *key, const struct ynode *v,
		  const char *expected)
{
	char got[64];
	return ld_diag(c, v->line, v->col, "'%s' must be %s, got %s", key, expected,
		       ld_got(v, got, sizeof(got)));
}

static int out_of_range(struct loadctx *c, const char *key, const struct ynode *v,
			const char *range)
{
	return ld_diag(c, v->line, v->col, "'%s' must be %s, got %.40s", key, range, v->str);
}

/* ---- shared text ---- */

/* Shorter text is cheaper to copy than to look up. */
#define SHARE_MIN 64

static size_t share_slot(const struct ld_share *s, const struct ynode *v)
{
	uintptr_t h = (uintptr_t)v;
	h ^= h >> 17;
	h *= (uintptr_t)0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);
	while (s->keys[i] && s->keys[i] != v)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int share_grow(struct ld_share *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	struct ld_share t = {q_calloc(cap, sizeof(*t.keys)), q_calloc(cap, sizeof(*t.vals)),
			     s->n, cap};
	if (!t.keys || !t.vals) {
		q_free(t.keys);
		q_free(t.vals);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (s->keys[i]) {
			size_t j = share_slot(&t, s->keys[i]);
			t.keys[j] = s->keys[i];
			t.vals[j] = s->vals[i];
		}
	}
	q_free(s->keys);
	q_free(s->vals);
	*s = t;
	return 0;
}

const char *ld_text(struct loadctx *c, const struct ynode *v)
{
	struct ld_share *s = &c->share;
	if (v->len < SHARE_MIN) {
		const char *t = arena_strndup(c->a, v->str, v->len);
		if (!t)
			ld_oom(c);
		return t;
	}
	if ((s->n + 1) * 2 > s->cap && share_grow(s)) {
		ld_oom(c);
		return NULL;
	}
	size_t i = share_slot(s, v);
	if (s->keys[i])
		return s->vals[i];
	const char *t = arena_strndup(c->a, v->str, v->len);
	if (!t) {
		ld_oom(c);
		return NULL;
	}
	s->keys[i] = v;
	s->vals[i] = t;
	s->n++;
	return t;
}

void ld_share_release(struct loadctx *c)
{
	q_free(c->share.keys);
	q_free(c->share.vals);
	c->share = (struct ld_share){0};
}

/* ---- typed values ---- */

int ld_str(struct loadctx *c, const char *key, const struct ynode *v, const char **out)
{
	if (!v || v->type == YT_NULL)
		return 0;
	if (v->type != YT_SCALAR)
		return ld_wrong_type(c, key, v, "a string");
	*out = ld_text(c, v);
	return *out ? 1 : -1;
}

/* How a numeric read ends, once rc (ytree_int's or ytree_number's: 0
 * read, -1 not such a number, -2 past what the type holds) and the value's
 * place are known: 1 when it was read within range; else the problem,
 * reported as the kind of number wanted (`expected`) when kind_wrong, or
 * else the bounds (`range`). */
static int number_end(struct loadctx *c, const char *key, const struct ynode *v, int rc,
		      int in_range, int kind_wrong, const char *expected, const char *range)
{
	if (rc == -1)
		return ld_wrong_type(c, key, v, expected);
	if (rc == 0 && in_range)
		return 1;
	return out_of_range(c, key, v, kind_wrong ? expected : range);
}

int ld_int(struct loadctx *c, const char *key, const struct ynode *v, int64_t min,
	   int64_t max, const char *expected, int64_t *out)
{
	if (!v || v->type == YT_NULL)
		return 0;
	int64_t x = 0;
	int rc = ytree_int(v, &x);
	/* Below the minimum, the kind of number is what is wrong ("a
	 * positive integer, got 0"); above it, the range is. */
	int below = rc == -2 ? v->str[0] == '-' : x < min;
	char range[96];
	snprintf(range, sizeof(range), "between %" PRId64 " and %" PRId64, min, max);
	rc = number_end(c, key, v, rc, x >= min && x <= max, below || max == INT64_MAX,
			expected, range);
	if (rc > 0)
		*out = x;
	return rc;
}

/* The bounds are written as a user writes them: 100000, 0.5, 1073741824
 * (never 1e+06). NaN, infinities and numbers past a double (rc -2) are
 * never read. */
int ld_num(struct loadctx *c, const char *key, const struct ynode *v, double min,
	   double max, const char *expected, double *out)
{
	if (!v || v->type == YT_NULL)
		return 0;
	double x = 0;
	int rc = ytree_number(v, &x);
	int below = rc == -2 ? v->str[0] == '-' : x < min;
	char range[96];
	snprintf(range, sizeof(range), "between %.15g and %.15g", min, max);
	rc = number_end(c, key, v, rc, x >= min && x <= max,
			below && strcmp(expected, "a number"), expected, range);
	if (rc > 0)
		*out = x;
	return rc;
}

int ld_bool(struct loadctx *c, const char *key, const struct ynode *v, int *out)
{
	if (!v || v->type == YT_NULL)
		return 0;
	if (ytree_bool(v, out))
		return ld_wrong_type(c, key, v, "a boolean (true or false)");
	return 1;
}

#define DURATION_HINT "500ms, 30s, 2m or a number of seconds"

/* Whether text that is not a duration is one too long to hold: a number
 * with a unit we know (1e15, 99999999999h). */
static int duration_too_long(const char *s)
{
	if (!(*s >= '0' && *s <= '9') && *s != '.')
		return 0;
	char *end;
	double x = strtod(s, &end);
	if (end == s || x < 0)
		return 0;
	return !*end || !strcmp(end, "s") || !strcmp(end, "ms") || !strcmp(end, "m") ||
	       !strcmp(end, "h");
}

int ld_duration(struct loadctx *c, const char *key, const struct ynode *v,
		int allow_zero, int64_t *ms)
{
	if (!v || v->type == YT_NULL)
		return 0;
	if (v->type != YT_SCALAR)
		return ld_wrong_type(c, key, v, "a duration (" DURATION_HINT ")");
	int64_t x = 0;
	int bad = duration_parse(v->str, &x);
	if (bad && !duration_too_long(v->str))
		return ld_diag(c, v->line, v->col, "invalid duration '%.40s' (use " DURATION_HINT ")",
			       v->str);
	if (!bad && !x && !allow_zero)
		return ld_diag(c, v->line, v->col, "'%s' must be longer than 0", key);
	if (bad || x > LD_MAX_DURATION_MS)
		return out_of_range(c, key, v, allow_zero ? "between 0 (none) and 168h (7 days)"
						       : "between 1ms and 168h (7 days)");
	*ms = x;
	return 1;
}

int ref_list_add(struct loadctx *c, struct ref_list *l, const char *name, int line,
		 int col, enum ref_role role, struct tmpl_ref *tref)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct name_ref *v = arena_alloc(c->a, cap * sizeof(*v));
		if (!v)
			return ld_oom(c);
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct name_ref){name, line, col, role, tref};
	return 0;
}

static int ld_name_one(struct loadctx *c, const char *key, const struct ynode *v,
		       enum ref_role role, struct ref_list *list)
{
	if (v->type != YT_SCALAR)
		return ld_diag(c, v->line, v->col, "each entry of '%s' must be a string, got %s",
			       key, ytree_kind_name(v));
	const char *s = ld_text(c, v);
	if (!s)
		return -1;
	return ref_list_add(c, list, s, v->line, v->col, role, NULL);
}

int ld_names(struct loadctx *c, const char *key, const struct ynode *v,
	     enum ref_role role, struct ref_list *list)
{
	if (!v || v->type == YT_NULL)
		return 0;
	if (v->type == YT_SCALAR)
		return ld_name_one(c, key, v, role, list) ? -1 : 1;
	if (v->type != YT_SEQ)
		return ld_wrong_type(c, key, v, "a string or a list of strings");
	int rc = 1;
	for (size_t i = 0; i < v->nitems; i++) {
		if (ld_name_one(c, key, v->items[i], role, list))
			rc = -1;
	}
	return rc;
}

/* What goes inside the mappings people most often write as something
 * else (a list of node ids, a word for `accept`). */
static const char *map_shape(const char *key)
{
	static const char *const shapes[][2] = {
		{"nodes", "a mapping of node ids to nodes"},
		{"models", "a mapping of model ids to models"},
		{"inputs", "a mapping of input names to inputs"},
		{"accept", "a mapping with one of self_check, judge, agreement or regex"},
		{"run", "a mapping of node settings (models, prompt, ...)"},
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		if (!strcmp(shapes[i][0], key))
			return shapes[i][1];
	}
	return "a mapping";
}

int ld_map(struct loadctx *c, const char *key, const struct ynode *v)
{
	if (!v || v->type == YT_NULL)
		return 0;
	if (v->type != YT_MAP)
		return ld_wrong_type(c, key, v, map_shape(key));
	return 1;
}

int ld_valid_id(const char *s)
{
	if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return 0;
	for (s++; *s; s++) {
		if (!(*s == '_' || *s == '-' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
			return 0;
	}
	return 1;
}

struct tmpl *ld_template(struct loadctx *c, const char *key, const struct ynode *v)
{
	if (!v || v->type == YT_NULL)
		return NULL;
	if (v->type != YT_SCALAR) {
		ld_wrong_type(c, key, v, "a string");
		return NULL;
	}
	const char *src = ld_text(c, v);
	if (!src)
		return NULL;
	struct tmpl *t = tmpl_compile_borrowed(c->a, src, v->text_line, v->text_col,
					       v->style == YS_LITERAL, c->d);
	/* Its references, and so its node's links, are unknown. */
	c->incomplete |= !t;
	return t;
}

static void free_regex(void *re) { regex_free(re); }

struct regex *ld_regex(struct loadctx *c, const struct ynode *v, size_t skip)
{
	struct qerr e = {0};
	size_t off = 0;
	const char *pattern = v->str + skip;
	struct regex *re = regex_compile(pattern, &off, &e);
	if (!re) {
		/* Columns count characters, as libyaml's do. */
		int col = v->text_col;
		for (size_t i = 0; i < skip + off && v->str[i]; i++)
			col += ((unsigned char)v->str[i] & 0xC0) != 0x80;
		ld_diag(c, v->text_line, col, "%s", e.msg);
		return NULL;
	}
	if (arena_on_free(c->a, free_regex, re)) {
		ld_oom(c);
		return NULL;
	}
	return re;
}

int ld_one_model(struct loadctx *c, const char *key, const struct ynode *v,
		 struct ref_list *list)
{
	if (v && (v->type == YT_SEQ || v->type == YT_MAP))
		return ld_wrong_type(c, key, v, "a string (one model id)");
	return ld_names(c, key, v, REF_NEEDS, list);
}

/* ---- call settings ---- */

/* Every call setting; the last three are the transport's, which a node
 * does not set (a connection is shared by every node that calls the
 * model), so they come last and a node's keys stop before them. */
const char *const ld_call_keys[] = {
	"timeout", "first_token_timeout", "idle_timeout", "retries", "temperature",
	"max_tokens", "top_p", "seed", "stop", "stream", "max_response_bytes",
	"http_version", "max_connections", "ca_cert", NULL,
};

static int ld_stop(struct loadctx *c, struct call_settings *cs, const struct ynode *v)
{
	/* ld_names reads a string or a list of strings; the role is unused. */
	struct ref_list l = {0};
	int rc = ld_names(c, "stop", v, REF_NEEDS, &l);
	if (rc <= 0)
		return rc;
	cs->stop = arena_alloc(c->a, (l.n ? l.n : 1) * sizeof(*cs->stop));
	if (!cs->stop)
		return ld_oom(c);
	for (size_t i = 0; i < l.n; i++)
		cs->stop[i] = l.v[i].name;
	cs->nstop = l.n;
	return 1;
}

static int ld_call_int(struct loadctx *c, const char *k, const struct ynode *v,
		       struct call_settings *cs)
{
	int64_t x = 0;
	int rc;
	if (!strcmp(k, "retries")) {
		rc = ld_int(c, k, v, 0, LD_MAX_RETRIES, "a non-negative integer", &x);
		if (rc > 0)
			cs->retries = (int)x;
		return rc > 0 ? CS_RETRIES : 0;
	}
	if (!strcmp(k, "max_tokens")) {
		rc = ld_int(c, k, v, 1, LD_MAX_TOKENS, "a positive integer", &x);
		if (rc > 0)
			cs->max_tokens = (int)x;
		return rc > 0 ? CS_MAX_TOKENS : 0;
	}
	if (!strcmp(k, "max_response_bytes")) {
		rc = ld_int(c, k, v, LD_MIN_RESPONSE_BYTES, LD_MAX_RESPONSE_BYTES,
			    "a number of bytes (at least 1024)", &x);
		if (rc > 0)
			cs->max_response = x;
		return rc > 0 ? CS_MAX_RESPONSE : 0;
	}
	rc = ld_int(c, k, v, INT64_MIN, INT64_MAX, "an integer", &x);
	if (rc > 0)
		cs->seed = x;
	return rc > 0 ? CS_SEED : 0;
}

static int ld_http_version(struct loadctx *c, const struct ynode *v,
			   enum http_version *out)
{
	const char *s = NULL;
	if (v && v->type == YT_SCALAR)
		s = v->str;
	if (s && !strcmp(s, "auto"))
		*out = HTTP_AUTO;
	else if (s && !strcmp(s, "1.1"))
		*out = HTTP_1_1;
	else if (s && (!strcmp(s, "2") || !strcmp(s, "2.0")))
		*out = HTTP_2;
	else
		return ld_wrong_type(c, "http_version", v, "auto, 1.1 or 2");
	return 1;
}

const char *ld_relative_path(struct loadctx *c, const char *path)
{
	const char *file = c->wf->file;
	const char *slash = file ? strrchr(file, '/') : NULL;
	if (path[0] == '/' || !slash || file[0] == '<')
		return arena_strdup(c->a, path);
	return arena_printf(c->a, "%.*s/%s", (int)(slash - file), file, path);
}

/* A PEM file of CAs, relative to the workflow file; it must be there now,
 * not at the first call. */
static int ld_ca_cert(struct loadctx *c, const struct ynode *v, const char **out)
{
	const char *path = NULL;
	int rc = ld_str(c, "ca_cert", v, &path);
	if (rc <= 0)
		return rc;
	const char *full = ld_relative_path(c, path);
	if (!full)
		return ld_oom(c);
	FILE *f = fopen(full, "rb");
	if (!f)
		return ld_diag(c, v->line, v->col, "ca_cert '%.200s' cannot be read: %s", path,
			       strerror(errno));
	fclose(f);
	*out = full;
	return 1;
}

static int ld_call_transport(struct loadctx *c, struct call_settings *cs, const char *k,
			     const struct ynode *v)
{
	if (!strcmp(k, "http_version"))
		return ld_http_version(c, v, &cs->http_version) > 0 ? CS_HTTP_VERSION : 0;
	if (!strcmp(k, "ca_cert"))
		return ld_ca_cert(c, v, &cs->ca_cert) > 0 ? CS_CA_CERT : 0;
	int64_t x = 0;
	int rc = ld_int(c, k, v, 0, LD_MAX_CONNECTIONS, "a non-negative integer", &x);
	if (rc > 0)
		cs->max_connections = (int)x;
	return rc > 0 ? CS_MAX_CONNECTIONS : 0;
}

static int ld_call_value(struct loadctx *c, struct call_settings *cs, const char *k,
			 const struct ynode *v)
{
	if (!strcmp(k, "http_version") || !strcmp(k, "max_connections") ||
	    !strcmp(k, "ca_cert"))
		return ld_call_transport(c, cs, k, v);
	if (!strcmp(k, "timeout"))
		return ld_duration(c, k, v, 0, &cs->timeout_ms) > 0 ? CS_TIMEOUT : 0;
	if (!strcmp(k, "first_token_timeout"))
		return ld_duration(c, k, v, 0, &cs->first_token_ms) > 0 ? CS_FIRST_TOKEN : 0;
	if (!strcmp(k, "idle_timeout"))
		return ld_duration(c, k, v, 0, &cs->idle_ms) > 0 ? CS_IDLE : 0;
	if (!strcmp(k, "temperature"))
		return ld_num(c, k, v, 0, 2, "a number", &cs->temperature) > 0
			       ? CS_TEMPERATURE : 0;
	if (!strcmp(k, "top_p"))
		return ld_num(c, k, v, 0, 1, "a number", &cs->top_p) > 0 ? CS_TOP_P : 0;
	if (!strcmp(k, "stop"))
		return ld_stop(c, cs, v) > 0 ? CS_STOP : 0;
	if (!strcmp(k, "stream"))
		return ld_bool(c, k, v, &cs->stream) > 0 ? CS_STREAM : 0;
	return ld_call_int(c, k, v, cs);
}

int ld_call_setting(struct loadctx *c, struct call_settings *cs,
		    const struct ynode *k, const struct ynode *v, int with_timeout)
{
	size_t i = with_timeout ? 0 : 1;
	for (; ld_call_keys[i]; i++) {
		if (!strcmp(ld_call_keys[i], k->str))
			break;
	}
	/* A node has neither `timeout` (its own is the whole node's) nor the
	 * transport's keys. */
	if (!ld_call_keys[i] || (!with_timeout && i >= LD_CALL_TRANSPORT))
		return 0;
	cs->set |= (unsigned)ld_call_value(c, cs, ld_call_keys[i], v);
	return 1;
}

/* ---- the node list ---- */

void ld_node_defaults(struct wf_node *node)
{
	node->samples = 1;
	node->min_ok = 1;
	node->min_agreement = 0.5;
	node->extract.mode = EX_WHOLE;
	node->max_subtasks = 8;
	node->accept.kind = ACCEPT_SELF_CHECK;
	node->accept.threshold = 0.7;
	node->accept.samples = 3;
	node->explore = 1;
}

void ld_tmpl_refs(const struct nodeload *nl, struct tmpl *t)
{
	for (size_t i = 0; i < tmpl_nrefs(t); i++) {
		struct tmpl_ref *r = tmpl_ref_at(t, i);
		if (r->kind == TREF_NODE_OUTPUT || r->kind == TREF_NODE_RESPONSES)
			ref_list_add(nl->c, &nl->tmpl_to->deps, r->name, r->line, r->col,
				     REF_TMPL, r);
	}
}

int ld_node_add(struct loadctx *c, struct wf_node *node, const struct node_src *ns)
{
	struct workflow *wf = c->wf;
	if (wf->nnodes >= c->lim->max_nodes) {
		if (!c->too_many_nodes)
			ld_diag(c, node->line, node->col, "too many nodes after moa and council "
				"expansion (the nodes limit is %zu)", c->lim->max_nodes);
		c->too_many_nodes = 1;
		return -1;
	}
	if (wf->nnodes == c->nodes_cap) {
		size_t cap = c->nodes_cap ? c->nodes_cap * 2 : 8;
		struct wf_node **v = arena_alloc(c->a, cap * sizeof(*v));
		struct node_src *s = arena_alloc(c->a, cap * sizeof(*s));
		if (!v || !s)
			return ld_oom(c);
		if (wf->nnodes) {
			memcpy(v, wf->nodes, wf->nnodes * sizeof(*v));
			memcpy(s, c->ns, wf->nnodes * sizeof(*s));
		}
		wf->nodes = v;
		c->ns = s;
		c->nodes_cap = cap;
	}
	node->idx = (int)wf->nnodes;
	c->ns[wf->nnodes] = *ns;
	wf->nodes[wf->nnodes++] = node;
	return 0;
}

size_t ld_real_keys(const struct ynode *map)
{
	size_t n = 0;
	for (size_t i = 0; i < map->npairs; i++)
		n += strncmp(map->pairs[i].key->str, "x-", 2) != 0;
	return n;
}
