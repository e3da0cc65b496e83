/* The template compiler and renderer: compile any text, render what
 * compiles with values that themselves hold template syntax (never to be
 * expanded), and the concatenation moa and council expansion builds.
 *
 * Input: byte 0 flags (bit 0 block scalar, bits 1-2 the output cap, bits
 * 3-7 the column), then the template up to a NUL byte; after it, the
 * values the references render to, NUL-separated. */
#include "../../dag/template.h"
#include "../fuzz.h"

struct values {
	const char *v[8];
	size_t n;
};

static const char *pick(const struct values *vs, size_t h)
{
	return vs->n ? vs->v[h % vs->n] : NULL;
}

static size_t hash(const char *s)
{
	size_t h = 5381;
	while (s && *s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static const char *v_query(void *ctx) { return pick(ctx, 0); }

static const char *v_input(void *ctx, const char *name)
{
	return pick(ctx, hash(name) + 1);
}

static const char *v_output(void *ctx, int idx)
{
	fuzz_check(idx >= 0 && idx < 4, "node_output(%d)", idx);
	return pick(ctx, (size_t)idx + 2);
}

static int v_responses(void *ctx, int idx, struct buf *out)
{
	const struct values *vs = ctx;
	fuzz_check(idx >= 0 && idx < 4, "node_responses(%d)", idx);
	return tmpl_format_responses(out, vs->v, vs->n);
}

/* Renders t: never a failure without a cap, never past the cap. */
static void render_checked(const struct tmpl *t, struct values *vs, size_t cap)
{
	struct tmpl_env env = {vs, v_query, v_input, v_output, v_responses};
	struct buf out;
	buf_init(&out, cap);
	int rc = tmpl_render(t, &env, &out);
	fuzz_check(rc == 0 || (rc == -1 && cap), "render failed without a cap");
	fuzz_check(rc || (out.data && out.data[out.len] == '\0'), "render left no string");
	fuzz_check(!cap || out.len <= cap, "render of %zu bytes over the cap", out.len);
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned flags = fuzz_byte(&in);
	static const size_t caps[] = {0, 16, 256, 65536};
	size_t cap = caps[flags >> 1 & 3];
	char *all = q_malloc(in.n + 1);
	struct arena *a = arena_new();
	if (!all || !a) {
		q_free(all);
		arena_free(a);
		return 0;
	}
	memcpy(all, in.p, in.n);
	all[in.n] = '\0';
	/* After the template: NUL-separated values. */
	struct values vs = {{0}, 0};
	size_t srclen = strlen(all);
	for (size_t i = srclen; i < in.n && vs.n < 8;) {
		vs.v[vs.n++] = all + i + 1;
		i += 1 + strlen(all + i + 1);
	}
	struct qdiags d;
	qdiags_init(&d, "fuzz.yaml");
	int col = 1 + (int)(flags >> 3);
	struct tmpl *t = tmpl_compile(a, all, 3, col, flags & 1, &d);
	fuzz_check(!t == (d.n > 0), "compile gave %p with %zu diagnostics", (void *)t, d.n);
	for (size_t i = 0; i < d.n; i++) {
		char msg[600];
		fuzz_check(d.items[i].line >= 3 && d.items[i].col >= 1,
			   "diagnostic at %d:%d", d.items[i].line, d.items[i].col);
		qdiags_format(&d, i, msg, sizeof(msg));
	}
	if (t) {
		fuzz_check(!strcmp(tmpl_source(t), all), "the source changed");
		for (size_t i = 0; i < tmpl_nrefs(t); i++) {
			struct tmpl_ref *r = tmpl_ref_at(t, i);
			fuzz_check(r && r->line >= 3 && r->col >= 1 && r->node_idx == -1,
				   "reference %zu", i);
			fuzz_check((r->kind == TREF_QUERY) == (r->name == NULL),
				   "reference %zu name", i);
		}
		/* Unresolved first (node references render empty), then as
		 * validation leaves them. */
		render_checked(t, &vs, cap);
		for (size_t i = 0; i < tmpl_nrefs(t); i++) {
			struct tmpl_ref *r = tmpl_ref_at(t, i);
			if (r->kind == TREF_NODE_OUTPUT || r->kind == TREF_NODE_RESPONSES)
				r->node_idx = (int)(hash(r->name) % 4);
		}
		render_checked(t, &vs, cap);
		struct tmpl *tt = tmpl_concat(a, t, t);
		fuzz_check(tt != NULL, "out of memory");
		fuzz_check(tmpl_nrefs(tt) == 2 * tmpl_nrefs(t), "concat lost references");
		render_checked(tt, &vs, cap);
		render_checked(tmpl_concat(a, NULL, t), &vs, cap);
	}
	struct buf out;
	buf_init(&out, cap);
	int rc = tmpl_format_responses(&out, vs.v, vs.n);
	fuzz_check(rc == 0 || cap, "tmpl_format_responses failed without a cap");
	buf_release(&out);
	qdiags_release(&d);
	arena_free(a);
	q_free(all);
	return 0;
}
