#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "workflow.h"

/* `quorum graph`: the DAG as Graphviz DOT or Mermaid. A node's label is
 * its id, its kind and the models it calls; edges run from a dependency to
 * the node that needs it, the way data flows. Nodes expanded from one moa
 * or council node are drawn inside a box named after it. */

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
