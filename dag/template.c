#include "template.h"

#include <string.h>

#include "../common/alloc.h"
#include "../common/suggest.h"

/* A compiled template is a list of parts: literal text, or a reference.
 * Rendering only copies parts, so nothing a reference pulls in is ever
 * parsed again. */
struct tpart {
	const char *text;   /* literal; NULL for a reference */
	size_t len;
	size_t ref;         /* index in refs when text is NULL */
};

struct tmpl {
	const char *src;
	struct tpart *parts;
	size_t nparts;
	struct tmpl_ref *refs;
	size_t nrefs;
};

/* What the compiler keeps while it walks the source. Positions are kept
 * per byte so a reference's "{{" can be placed in the file. */
struct tcomp {
	struct arena *a;
	const char *src;
	struct qdiags *d;
	int line, col, col0, block;
	size_t at;           /* byte the position refers to */
	struct tpart *parts;
	size_t nparts, pcap;
	struct tmpl_ref *refs;
	size_t nrefs, rcap;
	int errors, oom;
};

static void tc_seek(struct tcomp *c, size_t to)
{
	for (; c->at < to; c->at++) {
		unsigned char ch = (unsigned char)c->src[c->at];
		if (ch == '\n') {
			c->line++;
			/* Block scalar lines all start at the same indent;
			 * elsewhere a continuation line's indent is unknown. */
			c->col = c->block ? c->col0 : 1;
		} else if ((ch & 0xC0) != 0x80) {
			c->col++;
		}
	}
}

static int tc_part(struct tcomp *c, const char *text, size_t len, size_t ref)
{
	if (text && !len)
		return 0;
	if (c->nparts == c->pcap) {
		size_t cap = c->pcap ? c->pcap * 2 : 8;
		struct tpart *p = q_realloc(c->parts, cap * sizeof(*p));
		if (!p) {
			c->oom = 1;
			return -1;
		}
		c->parts = p;
		c->pcap = cap;
	}
	c->parts[c->nparts++] = (struct tpart){text, len, ref};
	return 0;
}

static int tc_ref(struct tcomp *c, enum tmpl_ref_kind k, const char *name, size_t nlen)
{
	if (c->nrefs == c->rcap) {
		size_t cap = c->rcap ? c->rcap * 2 : 4;
		struct tmpl_ref *r = q_realloc(c->refs, cap * sizeof(*r));
		if (!r) {
			c->oom = 1;
			return -1;
		}
		c->refs = r;
		c->rcap = cap;
	}
	const char *nm = name ? arena_strndup(c->a, name, nlen) : NULL;
	if (name && !nm) {
		c->oom = 1;
		return -1;
	}
	c->refs[c->nrefs] = (struct tmpl_ref){k, nm, c->line, c->col, -1};
	return tc_part(c, NULL, 0, c->nrefs++);
}

static int is_ident(const char *s, size_t n)
{
	if (!n || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char ch = s[i];
		if (!(ch == '_' || ch == '-' || (ch >= '0' && ch <= '9') ||
		      (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
			return 0;
	}
	return 1;
}

static const char USE[] = "use query, inputs.NAME, nodes.ID.output or nodes.ID.responses";

/* An expression that is not one we know: say what is known, and guess
 * the head (`qurey`, `input.doc`) when a typo is likely. */
static void tc_unknown(struct tcomp *c, const char *e, size_t n)
{
	static const char *const heads[] = {"query", "inputs", "nodes"};
	size_t h = 0;
	while (h < n && h < 64 && e[h] != '.')
		h++;
	char head[65];
	memcpy(head, e, h);
	head[h] = '\0';
	const char *s = suggest_nearest(head, heads, 3);
	int shown = n > 60 ? 60 : (int)n;
	if (s && strcmp(s, head) && h < n && strcmp(s, "query"))
		qdiags_add(c->d, c->line, c->col,
			   "unknown template expression '%.*s' (did you mean '%s%.*s'?)",
			   shown, e, s, (int)(n - h > 60 ? 60 : n - h), e + h);
	else if (s && !strcmp(s, "query") && strcmp(s, head) && h == n)
		qdiags_add(c->d, c->line, c->col,
			   "unknown template expression '%.*s' (did you mean '%s'?)",
			   shown, e, s);
	else
		qdiags_add(c->d, c->line, c->col, "unknown template expression '%.*s' (%s)",
			   shown, e, USE);
	c->errors++;
}

/* Whether s[0..n) is one id or several joined by '.': the ids moa and
 * council expansion gives its nodes (m.layer1, c.review). */
static int is_dotted_ident(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!is_ident(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

static void tc_unknown_field(struct tcomp *c, const char *f, size_t flen)
{
	static const char *const fields[] = {"output", "responses"};
	char fb[65];
	size_t fl = flen < 64 ? flen : 64;
	memcpy(fb, f, fl);
	fb[fl] = '\0';
	const char *s = suggest_nearest(fb, fields, 2);
	if (s)
		qdiags_add(c->d, c->line, c->col, "unknown node field '%s' (did you mean '%s'?)",
			   fb, s);
	else
		qdiags_add(c->d, c->line, c->col, "unknown node field '%s' (use output or "
			   "responses)", fb);
	c->errors++;
}

/* nodes.ID.FIELD; ID may be dotted, so the field is the last part. */
static void tc_node_ref(struct tcomp *c, const char *e, size_t n)
{
	const char *id = e + 6, *end = e + n, *f = end;
	while (f > id && f[-1] != '.')
		f--;
	if (f == id || !is_dotted_ident(id, (size_t)(f - 1 - id))) {
		/* Not a valid id before the last '.': judge the first part,
		 * as for a plain id. */
		const char *dot = memchr(id, '.', n - 6);
		if (!dot && is_ident(id, n - 6)) {
			/* A node without its field: the output is what is meant. */
			qdiags_add(c->d, c->line, c->col, "unknown template expression '%.*s' "
				   "(did you mean '%.*s.output'?)", (int)(n > 60 ? 60 : n), e,
				   (int)(n > 60 ? 60 : n), e);
			c->errors++;
		} else if (!dot || !is_ident(id, (size_t)(dot - id))) {
			tc_unknown(c, e, n);
		} else {
			tc_unknown_field(c, dot + 1, (size_t)(end - dot - 1));
		}
		return;
	}
	size_t idlen = (size_t)(f - 1 - id), flen = (size_t)(end - f);
	if (flen == 6 && !memcmp(f, "output", 6))
		tc_ref(c, TREF_NODE_OUTPUT, id, idlen);
	else if (flen == 9 && !memcmp(f, "responses", 9))
		tc_ref(c, TREF_NODE_RESPONSES, id, idlen);
	else
		tc_unknown_field(c, f, flen);
}

static void tc_expr(struct tcomp *c, const char *e, size_t n)
{
	if (n == 5 && !memcmp(e, "query", 5))
		tc_ref(c, TREF_QUERY, NULL, 0);
	else if (n > 7 && !memcmp(e, "inputs.", 7) && is_ident(e + 7, n - 7))
		tc_ref(c, TREF_INPUT, e + 7, n - 7);
	else if (n > 6 && !memcmp(e, "nodes.", 6))
		tc_node_ref(c, e, n);
	else
		tc_unknown(c, e, n);
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

/* Handles the tag whose "{{" is at src[open] (the position already
 * points there). Returns the index after the tag, or 0 when the source
 * cannot be read further (an unclosed "{{"). */
static size_t tc_tag(struct tcomp *c, size_t open)
{
	const char *s = c->src;
	size_t i = open + 2;
	while (is_space(s[i]))
		i++;
	if (s[i] == '\'' || s[i] == '"') {
		const char *q = strchr(s + i + 1, s[i]);
		size_t j = q ? (size_t)(q - s) + 1 : 0;
		while (j && is_space(s[j]))
			j++;
		if (j && s[j] == '}' && s[j + 1] == '}') {
			tc_part(c, s + i + 1, (size_t)(q - s) - i - 1, 0);
			return j + 2;
		}
	}
	const char *close = strstr(s + open + 2, "}}");
	const char *inner_open = strstr(s + open + 2, "{{");
	if (!close || (inner_open && inner_open < close)) {
		qdiags_add(c->d, c->line, c->col,
			   "unclosed '{{' (close it with '}}', or write a literal "
			   "'{{' as {{ '{{' }})");
		c->errors++;
		return close ? (size_t)(inner_open - s) : 0;
	}
	size_t end = (size_t)(close - s);
	while (end > i && is_space(s[end - 1]))
		end--;
	if (end == i) {
		qdiags_add(c->d, c->line, c->col, "empty '{{ }}' (%s)", USE);
		c->errors++;
	} else {
		tc_expr(c, s + i, end - i);
	}
	return (size_t)(close - s) + 2;
}

static struct tmpl *tc_finish(struct tcomp *c)
{
	struct tmpl *t = arena_alloc(c->a, sizeof(*t));
	if (!t)
		return NULL;
	t->src = c->src;
	t->nparts = c->nparts;
	t->nrefs = c->nrefs;
	t->parts = c->nparts ? arena_memdup(c->a, c->parts, c->nparts * sizeof(*c->parts)) : NULL;
	t->refs = c->nrefs ? arena_memdup(c->a, c->refs, c->nrefs * sizeof(*c->refs)) : NULL;
	if ((c->nparts && !t->parts) || (c->nrefs && !t->refs))
		return NULL;
	return t;
}

struct tmpl *tmpl_compile(struct arena *a, const char *src, int line, int col,
			  int block, struct qdiags *d)
{
	const char *own = arena_strdup(a, src ? src : "");
	if (!own) {
		qdiags_add(d, line, col, "out of memory");
		return NULL;
	}
	return tmpl_compile_borrowed(a, own, line, col, block, d);
}

struct tmpl *tmpl_compile_borrowed(struct arena *a, const char *src, int line, int col,
				   int block, struct qdiags *d)
{
	struct tcomp c = {.a = a, .d = d, .line = line, .col = col, .col0 = col,
			  .block = block};
	c.src = src ? src : "";
	size_t i = 0;
	while (!c.oom) {
		const char *open = strstr(c.src + i, "{{");
		size_t o = open ? (size_t)(open - c.src) : strlen(c.src + i) + i;
		tc_part(&c, c.src + i, o - i, 0);
		if (!open)
			break;
		tc_seek(&c, o);
		i = tc_tag(&c, o);
		if (!i)
			break;
	}
	struct tmpl *t = c.oom || c.errors ? NULL : tc_finish(&c);
	if (!t && !c.errors)
		qdiags_add(d, line, col, "out of memory");
	q_free(c.parts);
	q_free(c.refs);
	return t;
}

struct tmpl *tmpl_concat(struct arena *a, const struct tmpl *x, const struct tmpl *y)
{
	static const struct tmpl empty = {.src = ""};
	x = x ? x : &empty;
	y = y ? y : &empty;
	struct tmpl *t = arena_alloc(a, sizeof(*t));
	if (!t || !(t->src = arena_printf(a, "%s%s", x->src, y->src)))
		return NULL;
	t->nparts = x->nparts + y->nparts;
	t->nrefs = x->nrefs + y->nrefs;
	t->parts = arena_alloc(a, (t->nparts ? t->nparts : 1) * sizeof(*t->parts));
	t->refs = arena_alloc(a, (t->nrefs ? t->nrefs : 1) * sizeof(*t->refs));
	if (!t->parts || !t->refs)
		return NULL;
	if (x->nparts)
		memcpy(t->parts, x->parts, x->nparts * sizeof(*t->parts));
	for (size_t i = 0; i < y->nparts; i++) {
		t->parts[x->nparts + i] = y->parts[i];
		if (!y->parts[i].text)
			t->parts[x->nparts + i].ref += x->nrefs;
	}
	if (x->nrefs)
		memcpy(t->refs, x->refs, x->nrefs * sizeof(*t->refs));
	if (y->nrefs)
		memcpy(t->refs + x->nrefs, y->refs, y->nrefs * sizeof(*t->refs));
	return t;
}

size_t tmpl_nrefs(const struct tmpl *t) { return t ? t->nrefs : 0; }

struct tmpl_ref *tmpl_ref_at(struct tmpl *t, size_t i)
{
	return t && i < t->nrefs ? &t->refs[i] : NULL;
}

const struct tmpl_ref *tmpl_ref_get(const struct tmpl *t, size_t i)
{
	return t && i < t->nrefs ? &t->refs[i] : NULL;
}

const char *tmpl_source(const struct tmpl *t) { return t ? t->src : ""; }

static int tmpl_render_ref(const struct tmpl_ref *r, const struct tmpl_env *env,
			   struct buf *out)
{
	const char *s = NULL;
	switch (r->kind) {
	case TREF_QUERY:
		s = env->query ? env->query(env->ctx) : NULL;
		break;
	case TREF_INPUT:
		s = env->input ? env->input(env->ctx, r->name) : NULL;
		break;
	case TREF_NODE_OUTPUT:
		if (r->node_idx >= 0 && env->node_output)
			s = env->node_output(env->ctx, r->node_idx);
		break;
	case TREF_NODE_RESPONSES:
		if (r->node_idx >= 0 && env->node_responses)
			return env->node_responses(env->ctx, r->node_idx, out) ? -1 : 0;
		break;
	}
	/* An empty append still makes out NUL-terminated. */
	return buf_puts(out, s ? s : "");
}

int tmpl_render(const struct tmpl *t, const struct tmpl_env *env, struct buf *out)
{
	if (buf_append(out, "", 0))
		return -1;
	if (!t)
		return 0;
	for (size_t i = 0; i < t->nparts; i++) {
		const struct tpart *p = &t->parts[i];
		if (p->text ? buf_append(out, p->text, p->len)
			    : tmpl_render_ref(&t->refs[p->ref], env, out))
			return -1;
	}
	return 0;
}
