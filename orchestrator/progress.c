/* Live progress on a terminal (stderr): one line per node, redrawn in
 * place at most ten times a second. stdout is left to the answer. */
#include <stdio.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "run.h"

#define PROGRESS_MAX_LINES 20
#define PROGRESS_EVERY_MS 100

struct progress {
	struct run *run;
	FILE *out;
	int lines;          /* lines drawn last time, to move back over */
	int64_t last_ms;
};

struct progress *progress_new(struct run *r, FILE *out)
{
	if (!out)
		return NULL;
	struct progress *p = arena_alloc(r->arena, sizeof(*p));
	if (p) {
		p->run = r;
		p->out = out;
		p->last_ms = -PROGRESS_EVERY_MS;
	}
	return p;
}

static void count_calls(const struct node_state *ns, size_t *done, size_t *ok)
{
	*done = *ok = 0;
	for (size_t i = 0; i < ns->nresp; i++) {
		if (ns->resp[i].status == RESP_PENDING)
			continue;
		(*done)++;
		if (ns->resp[i].status == RESP_OK)
			(*ok)++;
	}
}

static void draw_node(struct progress *p, const struct node_state *ns, int64_t now)
{
	static const char *const mark[] = {"\033[2m·\033[0m", "\033[33m●\033[0m",
					   "\033[32m✓\033[0m", "\033[31m✗\033[0m",
					   "\033[2m-\033[0m"};
	static const char *const word[] = {"waiting", "running", "done", "failed",
					   "skipped"};
	fprintf(p->out, "\r\033[K  %s %-16.16s %-10s %-8s", mark[ns->status],
		ns->node->id, node_kind_name(ns->node->kind), word[ns->status]);
	if (ns->nresp) {
		size_t done, ok;
		count_calls(ns, &done, &ok);
		fprintf(p->out, " %zu/%zu calls", done, ns->nresp);
		if (ok < done)
			fprintf(p->out, " (%zu failed)", done - ok);
	}
	if (ns->started_ms >= 0) {
		int64_t end = ns->ended_ms >= 0 ? ns->ended_ms : now;
		fprintf(p->out, "  %.1fs", (double)(end - ns->started_ms) / 1000.0);
	}
	fputc('\n', p->out);
}

void progress_update(struct progress *p, int force)
{
	if (!p)
		return;
	struct run *r = p->run;
	int64_t now = run_now(r);
	if (!force && now - p->last_ms < PROGRESS_EVERY_MS)
		return;
	p->last_ms = now;
	if (p->lines)
		fprintf(p->out, "\033[%dA", p->lines);
	size_t n = r->wf->nnodes, shown = n > PROGRESS_MAX_LINES ? PROGRESS_MAX_LINES : n;
	size_t done = n - r->nodes_left;
	fprintf(p->out, "\r\033[Kquorum: %s  %zu/%zu nodes  %.1fs\n", r->wf->name, done, n,
		(double)now / 1000.0);
	for (size_t i = 0; i < shown; i++)
		draw_node(p, &r->nodes[r->wf->order[i]->idx], now);
	int lines = 1 + (int)shown;
	if (shown < n) {
		fprintf(p->out, "\r\033[K  … and %zu more nodes\n", n - shown);
		lines++;
	}
	p->lines = lines;
	fflush(p->out);
}

void progress_end(struct progress *p)
{
	progress_update(p, 1);
}
