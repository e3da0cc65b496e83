#include "ytree.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "../common/alloc.h"
#include "strmap.h"

/* One open collection while events arrive. Children are collected in a
 * temporary array and copied into the arena when the collection ends. */
struct yframe {
	struct ynode *node;
	struct ynode **kids;
	size_t n, cap;
	const char *anchor;  /* registered when the collection is complete */
};

struct yparse {
	struct arena *a;
	const char *text;
	size_t len;
	const struct ytree_limits *lim;
	struct qdiags *d;
	struct yframe *stack;
	size_t depth, cap;
	struct strmap anchors;
	size_t total;        /* nodes so far, aliases counted expanded */
	size_t total_bytes;  /* scalar text so far, aliases counted expanded */
	size_t *lines;       /* byte offset of each line start, built on demand */
	size_t nlines;
	struct ynode *root;
	int ndocs;
};

static const char TAG_PREFIX[] = "tag:yaml.org,2002:";

static size_t sat_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static int yp_oom(struct yparse *p)
{
	qdiags_add(p->d, 0, 0, "out of memory while reading the file");
	return -1;
}

/* ---- positions ---- */

static int yp_build_lines(struct yparse *p)
{
	size_t n = 1;
	for (size_t i = 0; i < p->len; i++)
		n += p->text[i] == '\n';
	p->lines = q_malloc(n * sizeof(*p->lines));
	if (!p->lines)
		return -1;
	p->lines[0] = 0;
	p->nlines = 1;
	for (size_t i = 0; i < p->len; i++) {
		if (p->text[i] == '\n')
			p->lines[p->nlines++] = i + 1;
	}
	return 0;
}

/* A block scalar's text starts on the line after its indicator, at the
 * indentation of its first non-blank line. libyaml does not say where, so
 * read it from the source; a miss only makes positions approximate. */
static void yp_block_text_pos(struct yparse *p, struct ynode *n, size_t end_line)
{
	n->text_line = n->line + 1;
	n->text_col = 1;
	if (!p->lines && yp_build_lines(p))
		return;
	for (size_t ln = (size_t)n->line; ln < p->nlines && ln <= end_line; ln++) {
		size_t i = p->lines[ln], sp = 0;
		while (i < p->len && p->text[i] == ' ') {
			i++;
			sp++;
		}
		if (i < p->len && p->text[i] != '\n' && p->text[i] != '\r') {
			n->text_col = (int)sp + 1;
			return;
		}
	}
}

static void yp_offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

/* libyaml names what it expected; say what to change for the slips
 * people make: tabs, unquoted ':' or ',' in values, backslashes in
 * double quotes, indentation. */
static const char *yp_hint(const yaml_parser_t *y)
{
	const char *pr = y->problem ? y->problem : "";
	if (strstr(pr, "mapping values are not allowed"))
		return "quote a value that contains ': ', or check the indentation";
	if (strstr(pr, "expected ',' or '}'"))
		return "close it with '}', and quote values that contain ': ' or ','";
	if (strstr(pr, "expected ',' or ']'"))
		return "close it with ']', and quote values that contain ','";
	if (strstr(pr, "did not find expected key") || strstr(pr, "expected '-'"))
		return "check the indentation of this line";
	return NULL;
}

/* Problems libyaml words from the inside, said from the user's side and
 * placed where the fix goes. Returns 1 when reported. */
static int yp_known_slip(struct yparse *p, const yaml_parser_t *y)
{
	const char *pr = y->problem ? y->problem : "";
	const char *ctx = y->context ? y->context : "";
	size_t at = y->problem_mark.index;
	char ch = at < p->len ? p->text[at] : '\0';
	int line = (int)y->problem_mark.line + 1, col = (int)y->problem_mark.column + 1;
	if (strstr(ctx, "quoted scalar") && strstr(pr, "end of stream")) {
		qdiags_add(p->d, (int)y->context_mark.line + 1, (int)y->context_mark.column + 1,
			   "invalid YAML: this quoted string is never closed (add the "
			   "closing quote)");
		return 1;
	}
	if (strstr(pr, "unknown escape") && ch == '\\' && at + 1 < p->len &&
	    p->text[at + 1] > ' ' && p->text[at + 1] < 0x7f) {
		/* Regexes are where this bites: "\d" must be "\\d". */
		char e = p->text[at + 1];
		qdiags_add(p->d, line, col, "invalid YAML: unknown escape '\\%c' in a "
			   "double-quoted string (write '\\\\%c', or use single quotes)", e, e);
		return 1;
	}
	if (!strstr(pr, "cannot start any token"))
		return 0;
	if (ch == '\t')
		qdiags_add(p->d, line, col, "invalid YAML: a tab character (indent with "
			   "spaces, not tabs)");
	else if (ch == '@' || ch == '`')
		qdiags_add(p->d, line, col, "invalid YAML: '%c' cannot start a value "
			   "(quote the value)", ch);
	else
		return 0;
	return 1;
}

static void yp_syntax_error(struct yparse *p, const yaml_parser_t *y)
{
	const char *problem = y->problem ? y->problem : "unknown error";
	const char *hint = yp_hint(y);
	if (y->error == YAML_SCANNER_ERROR || y->error == YAML_PARSER_ERROR) {
		if (yp_known_slip(p, y))
			return;
	}
	if (y->error != YAML_MEMORY_ERROR && y->error != YAML_READER_ERROR && hint) {
		if (y->context)
			qdiags_add(p->d, (int)y->problem_mark.line + 1,
				   (int)y->problem_mark.column + 1,
				   "invalid YAML: %s (%s at %d:%d; %s)", problem, y->context,
				   (int)y->context_mark.line + 1,
				   (int)y->context_mark.column + 1, hint);
		else
			qdiags_add(p->d, (int)y->problem_mark.line + 1,
				   (int)y->problem_mark.column + 1, "invalid YAML: %s (%s)",
				   problem, hint);
	} else if (y->error == YAML_MEMORY_ERROR) {
		yp_oom(p);
	} else if (y->error == YAML_READER_ERROR) {
		int line, col;
		yp_offset_pos(p->text, p->len, y->problem_offset, &line, &col);
		if (y->problem_value != -1)
			qdiags_add(p->d, line, col, "invalid YAML: %s (byte 0x%02x%s)",
				   problem, (unsigned)y->problem_value & 0xFFu,
				   strstr(problem, "UTF-8") ? "; save the file as UTF-8" : "");
		else
			qdiags_add(p->d, line, col, "invalid YAML: %s", problem);
	} else if (y->context) {
		qdiags_add(p->d, (int)y->problem_mark.line + 1,
			   (int)y->problem_mark.column + 1,
			   "invalid YAML: %s (%s at %d:%d)", problem, y->context,
			   (int)y->context_mark.line + 1, (int)y->context_mark.column + 1);
	} else {
		qdiags_add(p->d, (int)y->problem_mark.line + 1,
			   (int)y->problem_mark.column + 1, "invalid YAML: %s", problem);
	}
}

/* ---- building ---- */

static struct ynode *yp_node(struct yparse *p, enum ytype t, const yaml_mark_t *m)
{
	struct ynode *n = arena_alloc(p->a, sizeof(*n));
	if (!n)
		return NULL;
	n->type = t;
	n->line = n->text_line = (int)m->line + 1;
	n->col = n->text_col = (int)m->column + 1;
	n->str = "";
	n->weight = 1;
	n->bytes = 0;
	return n;
}

/* Counts w nodes and `bytes` bytes of text (an alias: what it expands
 * to) against the limits; a breach is reported where it happened. */
static int yp_count(struct yparse *p, size_t w, size_t bytes, const yaml_mark_t *m,
		    const char *alias)
{
	p->total = sat_add(p->total, w);
	p->total_bytes = sat_add(p->total_bytes, bytes);
	int line = (int)m->line + 1, col = (int)m->column + 1;
	if (p->total > p->lim->max_nodes) {
		if (alias)
			return qdiags_add(p->d, line, col, "alias '*%s' expands the file past "
					  "the yaml_nodes limit (%zu YAML nodes; an alias "
					  "bomb?)", alias, p->lim->max_nodes);
		return qdiags_add(p->d, line, col, "the file has more YAML nodes than the "
				  "yaml_nodes limit (%zu)", p->lim->max_nodes);
	}
	if (p->total_bytes > p->lim->max_bytes) {
		if (alias)
			return qdiags_add(p->d, line, col, "alias '*%s' expands the file past "
					  "the yaml_bytes limit (%zu bytes of text; an alias "
					  "bomb?)", alias, p->lim->max_bytes);
		return qdiags_add(p->d, line, col, "the file has more text than the "
				  "yaml_bytes limit (%zu bytes)", p->lim->max_bytes);
	}
	return 0;
}

/* A mapping key must be a scalar: our maps are keyed by strings. */
static int yp_key_expected(const struct yparse *p)
{
	if (!p->depth)
		return 0;
	const struct yframe *f = &p->stack[p->depth - 1];
	return f->node->type == YT_MAP && f->n % 2 == 0;
}

static int yp_attach(struct yparse *p, struct ynode *n)
{
	if (!p->depth) {
		p->root = n;
		return 0;
	}
	struct yframe *f = &p->stack[p->depth - 1];
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct ynode **k = q_realloc(f->kids, cap * sizeof(*k));
		if (!k)
			return yp_oom(p);
		f->kids = k;
		f->cap = cap;
	}
	f->kids[f->n++] = n;
	return 0;
}

static int yp_anchor(struct yparse *p, const yaml_char_t *anchor, struct ynode *n)
{
	if (!anchor)
		return 0;
	char *name = arena_strdup(p->a, (const char *)anchor);
	if (!name || strmap_put(&p->anchors, name, n))
		return yp_oom(p);
	return 0;
}

static void yp_scalar_style(struct ynode *n, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = YS_SINGLE; break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = YS_DOUBLE; break;
	case YAML_LITERAL_SCALAR_STYLE: n->style = YS_LITERAL; break;
	case YAML_FOLDED_SCALAR_STYLE: n->style = YS_FOLDED; break;
	default: n->style = YS_PLAIN; break;
	}
	n->plain = n->style == YS_PLAIN && !tag;
	if (tag && !strncmp(tag, TAG_PREFIX, sizeof(TAG_PREFIX) - 1)) {
		const char *t = tag + sizeof(TAG_PREFIX) - 1;
		n->plain = !strcmp(t, "int") || !strcmp(t, "float") ||
			   !strcmp(t, "bool") || !strcmp(t, "null");
	}
}

static int yp_scalar(struct yparse *p, const yaml_event_t *ev)
{
	struct ynode *n = yp_node(p, YT_SCALAR, &ev->start_mark);
	if (!n)
		return yp_oom(p);
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	n->str = arena_strndup(p->a, v, len);
	if (!n->str)
		return yp_oom(p);
	n->len = len;
	n->height = 0;
	yp_scalar_style(n, ev);
	if (n->style == YS_SINGLE || n->style == YS_DOUBLE)
		n->text_col++;
	else if (n->style == YS_LITERAL || n->style == YS_FOLDED)
		yp_block_text_pos(p, n, ev->end_mark.line);
	if (memchr(v, '\0', len)) {
		qdiags_add(p->d, n->line, n->col, "a string may not contain a NUL character");
		n->len = strlen(n->str);
	}
	if (ytree_scalar_kind(n) == YK_NULL)
		n->type = YT_NULL;
	n->bytes = n->len;
	if (yp_count(p, 1, n->bytes, &ev->start_mark, NULL))
		return -1;
	if (yp_anchor(p, ev->data.scalar.anchor, n))
		return -1;
	return yp_attach(p, n);
}

static int yp_alias(struct yparse *p, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const yaml_mark_t *m = &ev->start_mark;
	struct ynode *n = strmap_get(&p->anchors, name);
	if (!n) {
		int open = 0;
		for (size_t i = 0; i < p->depth; i++)
			open |= p->stack[i].anchor && !strcmp(p->stack[i].anchor, name);
		return qdiags_add(p->d, (int)m->line + 1, (int)m->column + 1,
				  open ? "alias '*%s' refers to a node that contains it"
				       : "unknown alias '*%s' (no anchor '&%s' before it)",
				  name, name);
	}
	if (yp_key_expected(p) && (n->type == YT_MAP || n->type == YT_SEQ))
		return qdiags_add(p->d, (int)m->line + 1, (int)m->column + 1,
				  "a mapping key must be a string, got %s",
				  ytree_kind_name(n));
	if (yp_count(p, n->weight, n->bytes, m, name))
		return -1;
	if ((long)p->depth + n->height > p->lim->max_depth)
		return qdiags_add(p->d, (int)m->line + 1, (int)m->column + 1,
				  "alias '*%s' nests the file deeper than the yaml_depth "
				  "limit (%d levels)",
				  name, p->lim->max_depth);
	return yp_attach(p, n);
}

static int yp_push(struct yparse *p, enum ytype t, const yaml_event_t *ev,
		   const yaml_char_t *anchor)
{
	const yaml_mark_t *m = &ev->start_mark;
	if (yp_key_expected(p))
		return qdiags_add(p->d, (int)m->line + 1, (int)m->column + 1,
				  "a mapping key must be a string, got %s",
				  t == YT_MAP ? "mapping" : "list");
	if ((long)p->depth + 1 > p->lim->max_depth)
		return qdiags_add(p->d, (int)m->line + 1, (int)m->column + 1,
				  "nested deeper than the yaml_depth limit (%d levels)",
				  p->lim->max_depth);
	if (yp_count(p, 1, 0, m, NULL))
		return -1;
	if (p->depth == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct yframe *s = q_realloc(p->stack, cap * sizeof(*s));
		if (!s)
			return yp_oom(p);
		p->stack = s;
		p->cap = cap;
	}
	struct ynode *n = yp_node(p, t, m);
	char *name = anchor ? arena_strdup(p->a, (const char *)anchor) : NULL;
	if (!n || (anchor && !name))
		return yp_oom(p);
	p->stack[p->depth++] = (struct yframe){.node = n, .anchor = name};
	return 0;
}

static int yp_is_merge(const struct ynode *k)
{
	return k->plain && k->type == YT_SCALAR && !strcmp(k->str, "<<");
}

/* Pass one: the explicit keys, each once; a repeat is reported at the
 * second and dropped (its key pointer cleared). */
static int yp_explicit_keys(struct yparse *p, struct yframe *f, struct strmap *seen)
{
	for (size_t i = 0; i + 1 < f->n; i += 2) {
		struct ynode *k = f->kids[i];
		if (yp_is_merge(k))
			continue;
		const struct ynode *first = strmap_get(seen, k->str);
		if (first) {
			qdiags_add(p->d, k->line, k->col, "duplicate key '%s' (first at %d:%d)",
				   k->str, first->line, first->col);
			f->kids[i] = NULL;
		} else if (strmap_put(seen, k->str, k)) {
			return yp_oom(p);
		}
	}
	return 0;
}

struct pairvec {
	struct ypair *v;
	size_t n, cap;
};

static int pairvec_push(struct pairvec *pv, struct ynode *k, struct ynode *v)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 8;
		struct ypair *np = q_realloc(pv->v, cap * sizeof(*np));
		if (!np)
			return -1;
		pv->v = np;
		pv->cap = cap;
	}
	pv->v[pv->n++] = (struct ypair){k, v};
	return 0;
}

/* `<<: *base` or `<<: [*a, *b]`: keys not written explicitly come from
 * the merged mappings, earlier ones first. */
static int yp_merge_one(struct yparse *p, const struct ynode *src, struct strmap *seen,
			struct pairvec *out)
{
	for (size_t j = 0; j < src->npairs; j++) {
		struct ynode *k = src->pairs[j].key;
		if (strmap_get(seen, k->str))
			continue;
		if (strmap_put(seen, k->str, k) || pairvec_push(out, k, src->pairs[j].val))
			return yp_oom(p);
	}
	return 0;
}

static int yp_merge(struct yparse *p, const struct ynode *k, const struct ynode *v,
		    struct strmap *seen, struct pairvec *out)
{
	if (v->type == YT_MAP)
		return yp_merge_one(p, v, seen, out);
	int ok = v->type == YT_SEQ;
	for (size_t i = 0; ok && i < v->nitems; i++)
		ok = v->items[i]->type == YT_MAP;
	if (!ok) {
		qdiags_add(p->d, k->line, k->col,
			   "'<<' merges a mapping or a list of mappings, got %s",
			   ytree_kind_name(v));
		return 0;
	}
	for (size_t i = 0; i < v->nitems; i++) {
		if (yp_merge_one(p, v->items[i], seen, out))
			return -1;
	}
	return 0;
}

static int yp_finish_map(struct yparse *p, struct yframe *f)
{
	struct strmap seen;
	struct pairvec out = {0};
	strmap_init(&seen);
	int rc = yp_explicit_keys(p, f, &seen);
	for (size_t i = 0; !rc && i + 1 < f->n; i += 2) {
		struct ynode *k = f->kids[i], *v = f->kids[i + 1];
		if (!k)
			continue;
		if (yp_is_merge(k))
			rc = yp_merge(p, k, v, &seen, &out);
		else if (pairvec_push(&out, k, v))
			rc = yp_oom(p);
	}
	if (!rc && out.n) {
		f->node->pairs = arena_memdup(p->a, out.v, out.n * sizeof(*out.v));
		f->node->npairs = out.n;
		if (!f->node->pairs)
			rc = yp_oom(p);
	}
	q_free(out.v);
	strmap_release(&seen);
	return rc;
}

static int yp_pop(struct yparse *p)
{
	struct yframe *f = &p->stack[p->depth - 1];
	struct ynode *n = f->node;
	int rc = 0;
	for (size_t i = 0; i < f->n; i++) {
		n->weight = sat_add(n->weight, f->kids[i]->weight);
		n->bytes = sat_add(n->bytes, f->kids[i]->bytes);
		if (f->kids[i]->height + 1 > n->height)
			n->height = f->kids[i]->height + 1;
	}
	if (!n->height)
		n->height = 1;
	if (n->type == YT_MAP) {
		rc = yp_finish_map(p, f);
	} else if (f->n) {
		n->items = arena_memdup(p->a, f->kids, f->n * sizeof(*f->kids));
		n->nitems = f->n;
		if (!n->items)
			rc = yp_oom(p);
	}
	q_free(f->kids);
	p->depth--;
	if (!rc && f->anchor && strmap_put(&p->anchors, f->anchor, n))
		rc = yp_oom(p);
	return rc ? rc : yp_attach(p, n);
}

/* Handles one event; returns 1 at the end of the stream, 0 to go on, -1
 * when parsing must stop. */
static int yp_event(struct yparse *p, const yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (p->ndocs++)
			return qdiags_add(p->d, (int)m->line + 1, (int)m->column + 1,
					  "a workflow file holds one YAML document; "
					  "this starts a second one");
		return 0;
	case YAML_SCALAR_EVENT:
		return yp_scalar(p, ev);
	case YAML_ALIAS_EVENT:
		return yp_alias(p, ev);
	case YAML_SEQUENCE_START_EVENT:
		return yp_push(p, YT_SEQ, ev, ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return yp_push(p, YT_MAP, ev, ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return p->depth ? yp_pop(p) : 0;
	default:
		return 0;
	}
}

int ytree_parse(struct arena *a, const char *text, size_t len,
		const struct ytree_limits *lim, struct ynode **root, struct qdiags *d)
{
	struct yparse p = {.a = a, .text = text, .len = len, .lim = lim, .d = d};
	yaml_parser_t y;
	int rc = 0;
	*root = NULL;
	strmap_init(&p.anchors);
	if (!yaml_parser_initialize(&y))
		return yp_oom(&p);
	yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
	while (!rc) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&y, &ev)) {
			yp_syntax_error(&p, &y);
			rc = -1;
			break;
		}
		rc = yp_event(&p, &ev);
		yaml_event_delete(&ev);
	}
	for (size_t i = 0; i < p.depth; i++)
		q_free(p.stack[i].kids);
	q_free(p.stack);
	q_free(p.lines);
	strmap_release(&p.anchors);
	yaml_parser_delete(&y);
	if (rc < 0)
		return -1;
	*root = p.root;
	return 0;
}

/* ---- typing ---- */

static int all_digits(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!strchr(set, *s))
			return 0;
	}
	return 1;
}

static int is_int_text(const char *s)
{
	if (!strncmp(s, "0o", 2))
		return all_digits(s + 2, "01234567");
	if (!strncmp(s, "0x", 2))
		return all_digits(s + 2, "0123456789abcdefABCDEF");
	if (*s == '-' || *s == '+')
		s++;
	return all_digits(s, "0123456789");
}

static const char *skip_digits(const char *s)
{
	while (*s >= '0' && *s <= '9')
		s++;
	return s;
}

static int is_float_text(const char *s)
{
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return 1;
	if (*s == '-' || *s == '+')
		s++;
	if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF"))
		return 1;
	const char *e = skip_digits(s);
	int digits = e > s;
	if (*e == '.') {
		const char *f = skip_digits(e + 1);
		digits |= f > e + 1;
		e = f;
	}
	if (!digits)
		return 0;
	if (*e == 'e' || *e == 'E') {
		e++;
		if (*e == '-' || *e == '+')
			e++;
		const char *x = skip_digits(e);
		if (x == e)
			return 0;
		e = x;
	}
	return !*e;
}

enum yscalar ytree_scalar_kind(const struct ynode *n)
{
	if (!n || (n->type != YT_SCALAR && n->type != YT_NULL) || !n->plain)
		return YK_STRING;
	const char *s = n->str;
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return YK_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
	    !strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return YK_BOOL;
	if (is_int_text(s))
		return YK_INT;
	if (is_float_text(s))
		return YK_FLOAT;
	return YK_STRING;
}

const char *ytree_kind_name(const struct ynode *n)
{
	if (!n)
		return "nothing";
	switch (n->type) {
	case YT_MAP: return "mapping";
	case YT_SEQ: return "list";
	case YT_NULL: return "null";
	case YT_SCALAR: break;
	}
	switch (ytree_scalar_kind(n)) {
	case YK_NULL: return "null";
	case YK_BOOL: return "boolean";
	case YK_INT: return "integer";
	case YK_FLOAT: return "number";
	case YK_STRING: break;
	}
	return "string";
}

int ytree_int(const struct ynode *n, int64_t *out)
{
	if (ytree_scalar_kind(n) != YK_INT)
		return -1;
	const char *s = n->str;
	int base = 10;
	if (!strncmp(s, "0o", 2) || !strncmp(s, "0x", 2)) {
		base = s[1] == 'o' ? 8 : 16;
		s += 2;
	}
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, base);
	if (errno == ERANGE || *end)
		return -2;
	*out = (int64_t)v;
	return 0;
}

int ytree_number(const struct ynode *n, double *out)
{
	enum yscalar k = ytree_scalar_kind(n);
	if (k == YK_INT) {
		int64_t i;
		int rc = ytree_int(n, &i);
		if (rc == 0)
			*out = (double)i;
		return rc;
	}
	if (k != YK_FLOAT)
		return -1;
	/* strtod reads every form is_float_text accepts but the YAML names
	 * of infinity and NaN, which are not finite anyway. */
	if (strchr(n->str, 'n') || strchr(n->str, 'N'))
		return -2;
	double v = strtod(n->str, NULL);
	if (!isfinite(v))
		return -2;
	*out = v;
	return 0;
}

int ytree_bool(const struct ynode *n, int *out)
{
	if (ytree_scalar_kind(n) != YK_BOOL)
		return -1;
	*out = n->str[0] == 't' || n->str[0] == 'T';
	return 0;
}

const struct ynode *ytree_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YT_MAP)
		return NULL;
	for (size_t i = 0; i < map->npairs; i++) {
		if (!strcmp(map->pairs[i].key->str, key))
			return map->pairs[i].val;
	}
	return NULL;
}
