#ifndef QUORUM_TEMPLATE_H
#define QUORUM_TEMPLATE_H
#include <stddef.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/qerr.h"

/* Templates: {{ query }}, {{ inputs.NAME }}, {{ nodes.ID.output }},
 * {{ nodes.ID.responses }} and the literal {{ '{{' }}. ID may be dotted
 * (nodes.m.layer1.output) to name a node that moa or council expansion
 * made. Compiled once at
 * load into literal and reference parts; rendering copies parts in order
 * and never looks at the text it pulls in, so an answer that contains
 * "{{ inputs.secret }}" stays literal. */
struct tmpl;

enum tmpl_ref_kind {
	TREF_QUERY,
	TREF_INPUT,          /* name = input name */
	TREF_NODE_OUTPUT,    /* name = node id */
	TREF_NODE_RESPONSES, /* name = node id */
};

struct tmpl_ref {
	enum tmpl_ref_kind kind;
	const char *name;   /* NULL for TREF_QUERY */
	int line, col;      /* position of the "{{" in the file, 1-based */
	int node_idx;       /* set by validation for node references; -1 before */
};

/* Compiles src. line/col give the position of the first character of src
 * in the file, and `block` says whether src came from a block scalar (| or >),
 * whose lines all start at the same indent, so reference positions can be
 * given per line. Returns new, allocated in a (lives as long as a); on
 * syntax errors adds one diagnostic per problem to d and returns NULL. */
struct tmpl *tmpl_compile(struct arena *a, const char *src, int line, int col,
			  int block, struct qdiags *d);
/* The same without copying src, which is borrowed for as long as a lives
 * (allocate it in a): one prompt shared by many nodes is held once. */
struct tmpl *tmpl_compile_borrowed(struct arena *a, const char *src, int line, int col,
				   int block, struct qdiags *d);

/* A template that renders x, then y (either may be NULL): how moa and
 * council expansion puts its own text around the user's prompt. The
 * references are copies, at the positions they had, so validation resolves
 * them apart from x's and y's. Returns new, allocated in a, or NULL when
 * memory ran out. */
struct tmpl *tmpl_concat(struct arena *a, const struct tmpl *x, const struct tmpl *y);

size_t tmpl_nrefs(const struct tmpl *t);
/* Borrowed; validation writes node_idx through it. */
struct tmpl_ref *tmpl_ref_at(struct tmpl *t, size_t i);
const struct tmpl_ref *tmpl_ref_get(const struct tmpl *t, size_t i);
/* The source text as written. */
const char *tmpl_source(const struct tmpl *t);

/* What rendering asks for. Each callback returns the text, or NULL when
 * there is none (rendered as empty). node_responses appends. */
struct tmpl_env {
	void *ctx;
	const char *(*query)(void *ctx);
	const char *(*input)(void *ctx, const char *name);
	const char *(*node_output)(void *ctx, int node_idx);
	int (*node_responses)(void *ctx, int node_idx, struct buf *out);
};

/* Appends the rendering to out. Returns 0, or -1 when out hit its cap or
 * memory ran out. */
int tmpl_render(const struct tmpl *t, const struct tmpl_env *env, struct buf *out);

/* The one format of a candidate list, used by {{ nodes.ID.responses }}
 * and the aggregators' prompts: "1. text\n\n2. text", no model names.
 * Returns 0 or -1 as above. */
int tmpl_format_responses(struct buf *out, const char *const *texts, size_t n);

#endif
