/* The workflow loader and validator: any bytes as a workflow file. Either
 * a workflow and no diagnostic, or diagnostics and no workflow; a loaded
 * workflow keeps every promise the engine relies on (a topological order,
 * resolved references, models with a provider and a base URL), and
 * graph export, the run check and the call settings work on it.
 *
 * Input: the file, as is (not NUL-terminated: the loader must keep to
 * len). A last line "#oom N" (a YAML comment) makes the Nth allocation of
 * the load fail, so the out-of-memory paths are fuzzed too. */
#include "../../dag/workflow.h"
#include "../fuzz.h"

static const char *no_env(const char *name)
{
	(void)name;
	return NULL;
}

static const char *some_env(const char *name) { return name[0] & 1 ? "x" : NULL; }

static const char *f_query(void *ctx)
{
	(void)ctx;
	return "{{ query }}";
}

static const char *f_input(void *ctx, const char *name)
{
	(void)ctx;
	return name;
}

static const char *f_output(void *ctx, int idx)
{
	fuzz_check(idx >= 0 && (size_t)idx < ((const struct workflow *)ctx)->nnodes,
		   "node_output(%d)", idx);
	return "out";
}

static void render_all(const struct workflow *wf, const struct tmpl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < tmpl_nrefs(t); i++) {
		const struct tmpl_ref *r = tmpl_ref_get(t, i);
		if (r->kind == TREF_NODE_OUTPUT || r->kind == TREF_NODE_RESPONSES)
			fuzz_check(r->node_idx >= 0 && (size_t)r->node_idx < wf->nnodes,
				   "unresolved reference to '%s'", r->name);
		if (r->kind == TREF_INPUT)
			fuzz_check(workflow_input(wf, r->name) != NULL, "unknown input '%s'",
				   r->name);
	}
	struct tmpl_env env = {(void *)wf, f_query, f_input, f_output, NULL};
	struct buf b = BUF_INIT;
	fuzz_check(tmpl_render(t, &env, &b) == 0, "render failed");
	buf_release(&b);
}

static void check_node(const struct workflow *wf, const struct wf_node *n)
{
	render_all(wf, n->prompt);
	render_all(wf, n->system);
	render_all(wf, n->text);
	for (size_t m = 0; m < n->nmodels; m++) {
		fuzz_check(n->models[m] && wf->models[n->models[m]->idx] == n->models[m],
			   "node '%s' model %zu", n->id, m);
		struct call_settings cs;
		workflow_call_settings(wf, n, n->models[m], &cs);
		fuzz_check(cs.timeout_ms > 0, "node '%s': timeout %lld", n->id,
			   (long long)cs.timeout_ms);
	}
	if (n->accept.kind == ACCEPT_JUDGE && n->kind == NK_CASCADE)
		fuzz_check(n->accept.judge != NULL, "cascade judge missing");
	if (n->accept.kind == ACCEPT_REGEX && n->kind == NK_CASCADE)
		fuzz_check(n->accept.re != NULL, "cascade regex missing");
	for (size_t r = 0; r < n->nroutes; r++) {
		fuzz_check(n->routes[r].to != NULL, "route %zu goes nowhere", r);
		if (n->routes[r].when.contains_pii == 1)
			fuzz_check(n->routes[r].to->local, "personal data to a remote model");
	}
	if (n->kind == NK_ROUTE)
		fuzz_check(n->route_default != NULL, "route without a default");
	if (n->kind == NK_VOTE && n->extract.mode == EX_REGEX)
		fuzz_check(n->extract.re && regex_groups(n->extract.re) == 1,
			   "vote regex without one group");
	if (n->group)
		fuzz_check(workflow_node(wf, n->group) != NULL, "group '%s' unknown", n->group);
	if (n->kind == NK_PLAN) {
		fuzz_check(n->run && (n->run->kind == NK_GENERATE || n->run->kind == NK_ROUTE) &&
				   n->run->ndeps == 0,
			   "plan '%s' run", n->id);
		render_all(wf, n->run->prompt);
		render_all(wf, n->run->system);
	}
}

static void check_workflow(const struct workflow *wf)
{
	fuzz_check(wf->name && wf->order && wf->output, "a workflow without name/order/output");
	fuzz_check(workflow_input(wf, "query") != NULL, "no query input");
	fuzz_check(wf->nnodes > 0, "no nodes");
	unsigned char *seen = q_calloc(wf->nnodes, 1);
	fuzz_check(seen != NULL, "out of memory");
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->order[i];
		fuzz_check(n && n->idx >= 0 && (size_t)n->idx < wf->nnodes &&
				   wf->nodes[n->idx] == n,
			   "order[%zu]", i);
		fuzz_check(!seen[n->idx], "node '%s' twice in the order", n->id);
		for (size_t j = 0; j < n->ndeps; j++)
			fuzz_check(seen[n->deps[j]->idx], "'%s' runs before its dependency '%s'",
				   n->id, n->deps[j]->id);
		seen[n->idx] = 1;
		fuzz_check(workflow_node(wf, n->id) == n, "node '%s' not found by id", n->id);
		check_node(wf, n);
	}
	q_free(seen);
	for (size_t i = 0; i < wf->nmodels; i++) {
		const struct wf_model *m = wf->models[i];
		fuzz_check(m->idx == (int)i && workflow_model(wf, m->id) == m, "model %zu", i);
		fuzz_check(m->provider && m->base_url && m->model, "model '%s' incomplete", m->id);
		for (size_t f = 0; f < m->nfallback; f++)
			fuzz_check(m->fallback[f] != NULL, "model '%s' fallback %zu", m->id, f);
	}
	struct buf b = BUF_INIT;
	fuzz_check(workflow_graph(wf, "dot", &b) == 0, "dot export failed");
	buf_reset(&b);
	fuzz_check(workflow_graph(wf, "mermaid", &b) == 0, "mermaid export failed");
	buf_release(&b);
	struct qdiags d;
	qdiags_init(&d, wf->file);
	workflow_check_run(wf, NULL, 0, 0, no_env, &d);
	const char *names[] = {"query", "style", "doc"};
	workflow_check_run(wf, names, 3, 1, some_env, &d);
	qdiags_release(&d);
}

/* N of a last line "#oom N", or 0. */
static long oom_after(const uint8_t *data, size_t size)
{
	size_t i = size;
	while (i > 0 && data[i - 1] >= '0' && data[i - 1] <= '9' && size - i < 6)
		i--;
	if (i == size || i < 5 || memcmp(data + i - 5, "#oom ", 5))
		return 0;
	long n = 0;
	for (; i < size; i++)
		n = n * 10 + (data[i] - '0');
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qdiags d;
	qdiags_init(&d, NULL);
	q_alloc_fail_after(oom_after(data, size));
	struct workflow *wf = workflow_load_string("fuzz.yaml", (const char *)data, size,
						   NULL, &d);
	q_alloc_fail_after(0);
	fuzz_check((wf != NULL) == (d.n == 0 && d.lost == 0),
		   "workflow %p with %zu diagnostics, %zu lost", (void *)wf, d.n, d.lost);
	for (size_t i = 0; i < d.n; i++) {
		char msg[700];
		fuzz_check(d.items[i].line >= 0 && d.items[i].col >= 0 && d.items[i].msg &&
				   d.items[i].msg[0],
			   "diagnostic %zu", i);
		qdiags_format(&d, i, msg, sizeof(msg));
	}
	if (wf)
		check_workflow(wf);
	workflow_free(wf);
	qdiags_release(&d);
	return 0;
}
