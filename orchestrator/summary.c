/* What `quorum validate` prints: the file's shape and the worst case of
 * one run, retries and fallbacks included, so a user sees the bill before
 * the first call. */
#include <string.h>

#include "../common/alloc.h"
#include "quorum.h"
#include "run.h"

struct worst {
	long calls, attempts;
	double usd;
	int price_unknown;
};

/* The template's source stands in for the prompt: the size of what it
 * pulls in is not known before the run. */
static size_t tmpl_len(const struct tmpl *t)
{
	return t ? strlen(tmpl_source(t)) : 0;
}

static void add_chain(const struct workflow *wf, const struct wf_node *n,
		      const struct wf_model *m, size_t prompt_bytes, struct worst *w)
{
	const struct wf_model *chain_first = m;
	w->calls++;
	for (size_t k = 0;; k++) {
		struct call_settings cs;
		workflow_call_settings(wf, n, m, &cs);
		long tries = 1 + (cs.retries > 0 ? cs.retries : 0);
		w->attempts += tries;
		if (!m->price_known)
			w->price_unknown = 1;
		w->usd += (double)tries * budget_worst_case_usd(m, &cs, NULL, NULL) +
			  (double)tries * (double)prompt_bytes * m->price_in / 1e6;
		if (k >= chain_first->nfallback)
			break;
		m = chain_first->fallback[k];
	}
}

static void node_worst(const struct workflow *wf, const struct wf_node *n,
		       struct worst *w)
{
	size_t bytes = tmpl_len(n->prompt) + tmpl_len(n->system);
	int samples = n->samples > 0 ? n->samples : 1;
	switch (n->kind) {
	case NK_GENERATE:
		for (size_t i = 0; i < n->nmodels; i++)
			for (int s = 0; s < samples; s++)
				add_chain(wf, n, n->models[i], bytes, w);
		break;
	case NK_SYNTHESIZE:
		add_chain(wf, n, n->models[0], bytes + 4096, w);
		break;
	default:
		break;
	}
}

char *quorum_workflow_summary(const struct quorum_workflow *qw)
{
	const struct workflow *wf = qw->wf;
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s: ok\n  name: %s\n", wf->file, wf->name);
	if (wf->description)
		buf_printf(&b, "  description: %s\n", wf->description);
	buf_printf(&b, "  nodes: %zu, output: %s\n", wf->nnodes, wf->output->id);
	struct worst w = {0};
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->order[i];
		struct worst nw = {0};
		node_worst(wf, n, &nw);
		buf_printf(&b, "    %-16s %-10s", n->id, node_kind_name(n->kind));
		if (nw.calls)
			buf_printf(&b, " %ld call%s, at most %ld attempts", nw.calls,
				   nw.calls == 1 ? "" : "s", nw.attempts);
		buf_putc(&b, '\n');
		w.calls += nw.calls;
		w.attempts += nw.attempts;
		w.usd += nw.usd;
		w.price_unknown |= nw.price_unknown;
	}
	buf_printf(&b, "  worst case per run: %ld calls (%ld with every retry and fallback), "
		       "$%.4f%s\n", w.calls, w.attempts, w.usd,
		   w.price_unknown ? " (some models have no price: counted as 0)" : "");
	if (wf->has_max_calls || wf->has_max_usd) {
		buf_puts(&b, "  budget:");
		if (wf->has_max_calls)
			buf_printf(&b, " max_calls %ld", wf->max_calls);
		if (wf->has_max_usd)
			buf_printf(&b, " max_usd $%.4f", wf->max_usd);
		buf_putc(&b, '\n');
	}
	char *s = q_strdup(buf_str(&b));
	buf_release(&b);
	return s;
}
