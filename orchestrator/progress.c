/* The progress display, see progress.h. */
#include <stdio.h>

#include "../common/clock.h"
#include "progress.h"

#define PROGRESS_MAX_LINES 20
#define PROGRESS_EVERY_MS 100

struct progress {
	const struct nodeset *set;
	FILE *out;
	int color, plain;
	int lines;          /* lines drawn last time, to move back over */
	int64_t last_ms;
};

struct progress *progress_new(const struct nodeset *set, FILE *out, int color, int plain)
{
	struct progress *p = arena_alloc(set->arena, sizeof(*p));
	if (p) {
		p->set = set;
		p->out = out;
		p->color = color;
		p->plain = plain;
		p->last_ms = -PROGRESS_EVERY_MS;
	}
	return p;
}

static void count_calls(const struct node_state *ns, size_t *done, size_t *ok)
{
	*done = *ok = 0;
	for (size_t i = 0; i < ns->ncalls; i++) {
		if (NODE_RESP(ns, i)->status == RESP_PENDING)
			continue;
		(*done)++;
		if (NODE_RESP(ns, i)->status == RESP_OK)
			(*ok)++;
	}
}

/* What a call that is not simply in flight is doing: waiting out a 429 or
 * a backoff, or trying a fallback. Returns 0 when nothing to say. */
static int call_note(const struct call *c, int64_t now, char *s, size_t n)
{
	if (c->done)
		return 0;
	const struct response *resp = &c->resp;
	if (c->wake.pos != (size_t)-1) {
		char why[32];
		if (resp->http_status)
			snprintf(why, sizeof(why), "%d", resp->http_status);
		else
			snprintf(why, sizeof(why), "%s", err_class_name(resp->err));
		int64_t left = c->wake.when - now;
		snprintf(s, n, "%s: %s, retry %d/%d in %.1f s", c->model->id, why,
			 c->attempt + 1, c->cs.retries + 1,
			 (double)(left > 0 ? left : 0) / 1000.0);
		return 1;
	}
	if (c->first && c->first != c->model) {
		snprintf(s, n, "%s failed, trying fallback %s", c->first->id, c->model->id);
		return 1;
	}
	return 0;
}

static void draw_notes(struct progress *p, const struct node_state *ns, int64_t now)
{
	char note[160];
	for (size_t i = 0; i < ns->ncalls; i++)
		if (call_note(ns->calls[i], now, note, sizeof(note))) {
			fprintf(p->out, "  (%s)", note);
			return;
		}
}

static const char *paint(const struct progress *p, const char *code)
{
	return p->color ? code : "";
}

static void draw_node(struct progress *p, const struct node_state *ns, int64_t now)
{
	static const char *const mark[] = {"·", "●", "✓", "✗", "-"};
	static const char *const tint[] = {"\033[2m", "\033[33m", "\033[32m", "\033[31m",
					   "\033[2m"};
	static const char *const word[] = {"waiting", "running", "done", "failed",
					   "skipped"};
	fprintf(p->out, "\r\033[K  %s%s%s %-16.16s %-10s %-8s", paint(p, tint[ns->status]),
		mark[ns->status], paint(p, "\033[0m"), ns->node->id,
		node_kind_name(ns->node->kind), word[ns->status]);
	if (ns->ncalls) {
		size_t done, ok;
		count_calls(ns, &done, &ok);
		fprintf(p->out, " %zu/%zu calls", done, ns->ncalls);
		if (ok < done)
			fprintf(p->out, " (%zu failed)", done - ok);
	}
	if (ns->started_ms >= 0) {
		int64_t end = ns->ended_ms >= 0 ? ns->ended_ms : now;
		fprintf(p->out, "  %.1fs", (double)(end - ns->started_ms) / 1000.0);
	}
	if (ns->status == NS_RUNNING)
		draw_notes(p, ns, now + p->set->calls->t0);
	else if (ns->degraded)
		fprintf(p->out, "  (degraded)");
	fputc('\n', p->out);
}

void progress_update(struct progress *p, int force)
{
	if (!p || p->plain)
		return;
	const struct nodeset *g = p->set;
	int64_t now = call_ctx_now(g->calls);
	if (!force && now - p->last_ms < PROGRESS_EVERY_MS)
		return;
	p->last_ms = now;
	if (p->lines)
		fprintf(p->out, "\033[%dA", p->lines);
	size_t n = g->wf->nnodes, shown = n > PROGRESS_MAX_LINES ? PROGRESS_MAX_LINES : n;
	size_t done = 0;
	for (size_t i = 0; i < n; i++)
		done += g->nodes[i].status >= NS_OK;
	fprintf(p->out, "\r\033[Kquorum: %s  %zu/%zu nodes  %.1fs\n", g->wf->name, done, n,
		(double)now / 1000.0);
	for (size_t i = 0; i < shown; i++)
		draw_node(p, &g->nodes[g->wf->order[i]->idx], now);
	int lines = 1 + (int)shown;
	if (shown < n) {
		fprintf(p->out, "\r\033[K  … and %zu more nodes\n", n - shown);
		lines++;
	}
	p->lines = lines;
	fflush(p->out);
}

void progress_node_done(struct progress *p, const struct node_state *ns)
{
	if (!p)
		return;
	if (!p->plain) {
		progress_update(p, 1);
		return;
	}
	static const char *const word[] = {"waiting", "running", "done", "failed",
					   "skipped"};
	fprintf(p->out, "quorum: %s %s", ns->node->id, word[ns->status]);
	if (ns->ncalls) {
		size_t done, ok;
		count_calls(ns, &done, &ok);
		fprintf(p->out, ", %zu of %zu calls ok", ok, ns->ncalls);
	}
	if (ns->started_ms >= 0 && ns->ended_ms >= 0)
		fprintf(p->out, ", %.1fs", (double)(ns->ended_ms - ns->started_ms) / 1000.0);
	fputc('\n', p->out);
	fflush(p->out);
}
