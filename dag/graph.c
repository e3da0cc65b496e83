#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "graph.h"
#include "workflow.h"

/* The workflow as a graph: the walk validation orders the nodes and finds
 * cycles with (graph.h), and `quorum graph`, the DAG as Graphviz DOT or
 * Mermaid. A node's label is its id, its kind and the models it calls;
 * edges run from a dependency to the node that needs it, the way data
 * flows. Nodes expanded from one moa or council node are drawn inside a
 * box named after it. */

/* ---- the walk ---- */

struct dfs_state {
	unsigned char *color, *seen;  /* 0 new, 1 on the stack, 2 done */
	size_t *stack, *next, *pos;
	size_t depth;
	int cycles;
};

static void dfs_back_edge(const struct graph_walk *g, struct dfs_state *s, size_t w)
{
	const size_t *path = s->stack + s->pos[w];
	size_t len = s->depth - s->pos[w];
	for (size_t i = 0; i < len; i++) {
		if (s->seen[path[i]])
			return;
	}
	for (size_t i = 0; i < len; i++)
		s->seen[path[i]] = 1;
	s->cycles++;
	g->cycle(g->ctx, path, len);
}

static void dfs_from(const struct graph_walk *g, struct dfs_state *s, size_t root,
		     size_t *order, size_t *norder)
{
	s->color[root] = 1;
	s->pos[root] = 0;
	s->stack[0] = root;
	s->next[0] = 0;
	s->depth = 1;
	while (s->depth) {
		size_t u = s->stack[s->depth - 1];
		if (s->next[s->depth - 1] < g->degree(g->ctx, u)) {
			size_t w = g->succ(g->ctx, u, s->next[s->depth - 1]++);
			if (s->color[w] == 1) {
				dfs_back_edge(g, s, w);
			} else if (!s->color[w]) {
				s->color[w] = 1;
				s->pos[w] = s->depth;
				s->stack[s->depth] = w;
				s->next[s->depth++] = 0;
			}
		} else {
			s->color[u] = 2;
			order[(*norder)++] = u;
			s->depth--;
		}
	}
}

int graph_walk(const struct graph_walk *g, size_t *order)
{
	struct dfs_state s = {0};
	size_t n = g->n ? g->n : 1, norder = 0;
	s.color = q_calloc(n, 1);
	s.seen = q_calloc(n, 1);
	s.stack = q_malloc(n * sizeof(size_t));
	s.next = q_malloc(n * sizeof(size_t));
	s.pos = q_malloc(n * sizeof(size_t));
	int rc = -1;
	if (s.color && s.seen && s.stack && s.next && s.pos) {
		for (size_t i = 0; i < g->n; i++) {
			if (!s.color[i])
				dfs_from(g, &s, i, order, &norder);
		}
		rc = s.cycles;
	}
	q_free(s.color);
	q_free(s.seen);
	q_free(s.stack);
	q_free(s.next);
	q_free(s.pos);
	return rc;
}

size_t graph_cycle_text(struct buf *b, const size_t *path, size_t len, int reverse,
			const char *(*name)(void *ctx, size_t u), void *ctx)
{
	size_t lo = 0;
	for (size_t i = 1; i < len; i++) {
		if (path[i] < path[lo])
			lo = i;
	}
	for (size_t k = 0; k <= len; k++) {
		size_t i = reverse ? (lo + len - k % len) % len : (lo + k) % len;
		buf_printf(b, "%s%s", k ? " -> " : "", name(ctx, path[i]));
	}
	return path[lo];
}

/* ---- drawing ---- */

typedef int (*escape_fn)(struct buf *b, const char *s);

/* Inside a DOT quoted string: quotes and backslashes escaped. */
static int dot_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if ((*s == '"' || *s == '\\') && buf_putc(b, '\\'))
			return -1;
		if (buf_putc(b, *s == '\n' ? ' ' : *s))
			return -1;
	}
	return 0;
}

static int dot_str(struct buf *b, const char *s)
{
	return buf_putc(b, '"') || dot_escape(b, s) || buf_putc(b, '"') ? -1 : 0;
}

/* Inside a Mermaid quoted label: Mermaid's entity codes. */
static int mermaid_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		int rc;
		switch (*s) {
		case '"': rc = buf_puts(b, "#quot;"); break;
		case '<': rc = buf_puts(b, "#lt;"); break;
		case '>': rc = buf_puts(b, "#gt;"); break;
		case '\n': rc = buf_putc(b, ' '); break;
		default: rc = buf_putc(b, *s); break;
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* Appends m to v[0..*n) unless it is there. */
static void model_once(const struct wf_model **v, size_t *n, const struct wf_model *m)
{
	for (size_t i = 0; m && i < *n; i++) {
		if (v[i] == m)
			return;
	}
	if (m)
		v[(*n)++] = m;
}

/* The models a node may call, each once, into v (room for
 * model_room(n)): its own, a cascade's judge, a route's targets and
 * default, and those of a plan's subtasks. */
static size_t model_room(const struct wf_node *n)
{
	return n->nmodels + n->nroutes + 2 + (n->run ? model_room(n->run) : 0);
}

static void node_models(const struct wf_node *n, const struct wf_model **v, size_t *k)
{
	for (size_t i = 0; i < n->nmodels; i++)
		model_once(v, k, n->models[i]);
	model_once(v, k, n->accept.judge);
	for (size_t i = 0; i < n->nroutes; i++)
		model_once(v, k, n->routes[i].to);
	model_once(v, k, n->route_default);
	if (n->run)
		node_models(n->run, v, k);
}

/* id, kind and models on three lines, `sep` between lines. */
static int node_label(struct buf *b, const struct wf_node *n, const char *sep,
		      escape_fn esc)
{
	if (esc(b, n->id) || buf_puts(b, sep) || esc(b, node_kind_name(n->kind)))
		return -1;
	const struct wf_model **v = q_malloc(model_room(n) * sizeof(*v));
	if (!v)
		return -1;
	size_t k = 0;
	node_models(n, v, &k);
	int rc = 0;
	for (size_t i = 0; i < k && !rc; i++)
		rc = buf_puts(b, i ? ", " : sep) || esc(b, v[i]->id) ? -1 : 0;
	q_free(v);
	return rc;
}

/* Whether node i is the first of its group, so the group is drawn once. */
static int group_first(const struct workflow *wf, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (wf->nodes[j]->group && !strcmp(wf->nodes[j]->group, wf->nodes[i]->group))
			return 0;
	}
	return 1;
}

/* ---- DOT ---- */

static int dot_node(const struct workflow *wf, const struct wf_node *n, struct buf *out,
		    const char *indent)
{
	if (buf_puts(out, indent) || dot_str(out, n->id) || buf_puts(out, " [label=\"") ||
	    node_label(out, n, "\\n", dot_escape) || buf_putc(out, '"'))
		return -1;
	return buf_puts(out, n == wf->output ? ", peripheries=2];\n" : "];\n");
}

static int dot_group(const struct workflow *wf, size_t first, struct buf *out)
{
	const char *g = wf->nodes[first]->group;
	if (buf_puts(out, "  subgraph \"cluster_") || dot_escape(out, g) ||
	    buf_puts(out, "\" {\n    label=") || dot_str(out, g) || buf_puts(out, ";\n"))
		return -1;
	for (size_t i = first; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		if (n->group && !strcmp(n->group, g) && dot_node(wf, n, out, "    "))
			return -1;
	}
	return buf_puts(out, "  }\n");
}

static int dot_write(const struct workflow *wf, struct buf *out)
{
	if (buf_puts(out, "digraph ") || dot_str(out, wf->name ? wf->name : "workflow") ||
	    buf_puts(out, " {\n  rankdir=TB;\n  node [shape=box];\n"))
		return -1;
	/* The file's description, as the graph's title. */
	if (wf->description && (buf_puts(out, "  labelloc=t;\n  label=") ||
				dot_str(out, wf->description) || buf_puts(out, ";\n")))
		return -1;
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		int rc = !n->group ? dot_node(wf, n, out, "  ")
			 : group_first(wf, i) ? dot_group(wf, i, out) : 0;
		if (rc)
			return -1;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		for (size_t j = 0; j < n->ndeps; j++) {
			if (buf_puts(out, "  ") || dot_str(out, n->deps[j]->id) ||
			    buf_puts(out, " -> ") || dot_str(out, n->id) || buf_puts(out, ";\n"))
				return -1;
		}
	}
	return buf_puts(out, "}\n");
}

/* ---- Mermaid ---- */

/* Mermaid ids are n<index>: node ids may hold '-', which Mermaid reads as
 * an edge. */
static int mermaid_node(const struct workflow *wf, const struct wf_node *n,
			struct buf *out, const char *indent)
{
	if (buf_printf(out, "%sn%d[\"", indent, n->idx) ||
	    node_label(out, n, "<br/>", mermaid_escape) || buf_puts(out, "\"]\n"))
		return -1;
	if (n == wf->output)
		return buf_printf(out, "%sstyle n%d stroke-width:3px\n", indent, n->idx);
	return 0;
}

static int mermaid_group(const struct workflow *wf, size_t first, struct buf *out)
{
	const struct wf_node *f = wf->nodes[first];
	if (buf_printf(out, "  subgraph g%d[\"", f->idx) || mermaid_escape(out, f->group) ||
	    buf_puts(out, "\"]\n"))
		return -1;
	for (size_t i = first; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		if (n->group && !strcmp(n->group, f->group) && mermaid_node(wf, n, out, "    "))
			return -1;
	}
	return buf_puts(out, "  end\n");
}

static int mermaid_write(const struct workflow *wf, struct buf *out)
{
	/* The file's description, as the chart's title (front matter, whose
	 * value a JSON string quotes safely: it is valid YAML). */
	if (wf->description && (buf_puts(out, "---\ntitle: ") ||
				buf_put_json_str(out, wf->description) ||
				buf_puts(out, "\n---\n")))
		return -1;
	if (buf_puts(out, "flowchart TD\n"))
		return -1;
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		int rc = !n->group ? mermaid_node(wf, n, out, "  ")
			 : group_first(wf, i) ? mermaid_group(wf, i, out) : 0;
		if (rc)
			return -1;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		for (size_t j = 0; j < n->ndeps; j++) {
			if (buf_printf(out, "  n%d --> n%d\n", n->deps[j]->idx, n->idx))
				return -1;
		}
	}
	return 0;
}

/* ---- entry ---- */

int workflow_graph(const struct workflow *wf, const char *format, struct buf *out)
{
	if (!format)
		return -1;
	if (!strcmp(format, "dot"))
		return dot_write(wf, out);
	if (!strcmp(format, "mermaid"))
		return mermaid_write(wf, out);
	return -1;
}
