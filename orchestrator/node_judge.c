/* judge and rank: models read the anonymised candidates, each in its own
 * shuffled order, and say which is best (judge) or how they rank (rank,
 * llm-council's stage 2). Picks are tallied, rankings merged by Borda
 * count; both are in aggregators/, this file asks for the calls. */
#include <string.h>

#include "../aggregators/judge.h"
#include "../aggregators/rank.h"
#include "node.h"

/* A panel of judges over n candidates. */
struct panel {
	const char **texts, **models;
	size_t n, nj;
	size_t *perm;          /* nj x n: judge j sees perm[j*n + k] at position k */
	const char **system, **user;
	int *picks;            /* judge: candidate picked, -1 abstained */
	int *asked;            /* judge: times asked */
	size_t *ballots;       /* rank: nj x n candidates, best first */
	int *ranked;           /* rank: 1 when judge j's ballot is valid */
};

static struct panel *panel_new(struct nodeset *g, struct node_state *ns)
{
	struct panel *p = arena_alloc(g->arena, sizeof(*p));
	if (!p)
		return NULL;
	p->n = node_gather(g, ns->node, &p->texts, &p->models);
	p->nj = ns->node->nmodels;
	size_t cells = p->nj * (p->n ? p->n : 1);
	p->perm = arena_alloc(g->arena, cells * sizeof(*p->perm));
	p->ballots = arena_alloc(g->arena, cells * sizeof(*p->ballots));
	p->system = arena_alloc(g->arena, p->nj * sizeof(*p->system));
	p->user = arena_alloc(g->arena, p->nj * sizeof(*p->user));
	p->picks = arena_alloc(g->arena, p->nj * sizeof(*p->picks));
	p->asked = arena_alloc(g->arena, p->nj * sizeof(*p->asked));
	p->ranked = arena_alloc(g->arena, p->nj * sizeof(*p->ranked));
	if (!p->perm || !p->ballots || !p->system || !p->user || !p->picks ||
	    !p->asked || !p->ranked)
		return NULL;
	uint64_t seed = node_seed(g, ns);
	for (size_t j = 0; j < p->nj; j++) {
		judge_shuffle(p->n, seed + j, p->perm + j * p->n);
		p->picks[j] = -1;
	}
	return p;
}

/* Starts: fails the node when there is nothing to judge; with one
 * candidate there is no choice to make and no call. Returns the panel or
 * NULL when the node has already ended. */
static struct panel *panel_start(struct nodeset *g, struct node_state *ns)
{
	struct panel *p = panel_new(g, ns);
	if (!p) {
		node_fail(g, ns, "internal", "out of memory");
		return NULL;
	}
	ns->kstate = p;
	if (!p->n) {
		node_fail(g, ns, "dependency", "no candidates to judge");
		return NULL;
	}
	return p;
}

/* ---- judge ---- */

static void judge_ask(struct nodeset *g, struct node_state *ns, size_t j, const char *role)
{
	struct panel *p = ns->kstate;
	p->asked[j]++;
	node_call(g, ns, ns->node->models[j], p->system[j], p->user[j], (int)j, role);
}

static void judge_only_one(struct nodeset *g, struct node_state *ns, struct panel *p)
{
	ns->confident = 1;
	ns->output = p->texts[0];
	node_set_candidates(ns, p->texts, p->models, 1);
	node_finish(g, ns, NS_OK, NULL);
}

static void judge_start(struct nodeset *g, struct node_state *ns)
{
	struct panel *p = panel_start(g, ns);
	if (!p)
		return;
	if (p->n == 1) {
		judge_only_one(g, ns, p);
		return;
	}
	const char *err = NULL;
	const char *question = node_question(g, ns, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	for (size_t j = 0; j < p->nj; j++) {
		struct buf sys, user;
		buf_init(&sys, g->prompt_bytes);
		buf_init(&user, g->prompt_bytes);
		int bad = judge_build_prompt(&sys, &user, question, ns->node->criteria,
					     p->texts, p->perm + j * p->n, p->n);
		p->system[j] = node_keep(g, &sys);
		p->user[j] = node_keep(g, &user);
		buf_release(&sys);
		buf_release(&user);
		if (bad) {
			node_fail(g, ns, "too_large", "the judge prompt" PROMPT_TOO_LARGE);
			return;
		}
	}
	for (size_t j = 0; j < p->nj; j++)
		judge_ask(g, ns, j, "judge");
}

static void judge_report(struct nodeset *g, struct node_state *ns, const size_t *votes)
{
	struct panel *p = ns->kstate;
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "\"scores\":[");
	for (size_t c = 0; c < p->n; c++) {
		buf_printf(&b, "%s{\"candidate\":%zu,\"model\":", c ? "," : "", c + 1);
		buf_put_json_str(&b, p->models[c]);
		buf_printf(&b, ",\"votes\":%zu}", votes[c]);
	}
	buf_puts(&b, "],\"ballots\":[");
	for (size_t j = 0; j < p->nj; j++) {
		buf_printf(&b, "%s{\"model\":", j ? "," : "");
		buf_put_json_str(&b, ns->node->models[j]->id);
		if (p->picks[j] >= 0)
			buf_printf(&b, ",\"pick\":%d}", p->picks[j] + 1);
		else
			buf_puts(&b, ",\"pick\":null}");
	}
	buf_putc(&b, ']');
	ns->report_json = node_keep(g, &b);
	buf_release(&b);
}

/* Whether any call of the node came back (whatever it said). */
static int any_answered(const struct node_state *ns)
{
	for (size_t i = 0; i < ns->ncalls; i++)
		if (NODE_RESP(ns, i)->status == RESP_OK)
			return 1;
	return 0;
}

/* The winner is confident when no other candidate got as many picks. */
static int judge_unique_top(const size_t *votes, size_t n, size_t win)
{
	for (size_t c = 0; c < n; c++)
		if (c != win && votes[c] >= votes[win])
			return 0;
	return 1;
}

static void judge_call_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	struct panel *p = ns->kstate;
	size_t j = (size_t)c->tag;
	const struct response *resp = &c->resp;
	if (resp->status == RESP_OK) {
		int pos = judge_parse_verdict(resp->text, p->n);
		if (pos >= 0)
			p->picks[j] = (int)p->perm[j * p->n + (size_t)pos];
		else if (p->asked[j] < 2) {
			/* An unreadable verdict is asked once more, then it
			 * counts as an abstention. */
			p->user[j] = arena_printf(g->arena, "%s\n\n%s", p->user[j],
						  judge_retry_note);
			judge_ask(g, ns, j, "judge (asked again)");
		}
	}
	if (ns->outstanding)
		return;
	size_t *votes = arena_alloc(g->arena, p->n * sizeof(*votes));
	if (!votes) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	int win = judge_tally(p->picks, p->nj, p->n, votes);
	judge_report(g, ns, votes);
	if (win < 0) {
		/* The candidates are good answers whatever the judges did:
		 * keep the first (the `from` node's order, which no judge
		 * saw), and say the choice was not made. */
		win = 0;
		node_degrade(g, ns, any_answered(ns)
			? "no judge gave a usable verdict, even when asked again; "
			  "the first candidate is kept"
			: "every judge's call failed; the first candidate is kept");
	} else {
		ns->confident = judge_unique_top(votes, p->n, (size_t)win);
	}
	/* The output is the chosen candidate, byte for byte. */
	ns->output = p->texts[win];
	node_set_candidates(ns, p->texts + win, p->models + win, 1);
	node_finish(g, ns, NS_OK, NULL);
}

const struct kind kind_judge = {judge_start, judge_call_done};

/* ---- rank ---- */

static void rank_merge(struct nodeset *g, struct node_state *ns);

static void rank_ask(struct nodeset *g, struct node_state *ns, size_t j, const char *role)
{
	struct panel *p = ns->kstate;
	p->asked[j]++;
	node_call(g, ns, ns->node->models[j], NULL, p->user[j], (int)j, role);
}

static void rank_start(struct nodeset *g, struct node_state *ns)
{
	struct panel *p = panel_start(g, ns);
	if (!p)
		return;
	if (p->n == 1) {
		/* One candidate ranks first whatever anyone says. */
		for (size_t j = 0; j < p->nj; j++)
			p->ranked[j] = 1;
		rank_merge(g, ns);
		return;
	}
	const char *err = NULL;
	const char *question = node_question(g, ns, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	for (size_t j = 0; j < p->nj; j++) {
		struct buf user;
		buf_init(&user, g->prompt_bytes);
		int bad = rank_build_prompt(&user, question, ns->node->criteria, p->texts,
					    p->perm + j * p->n, p->n);
		p->user[j] = node_keep(g, &user);
		buf_release(&user);
		if (bad) {
			node_fail(g, ns, "too_large", "the ranking prompt" PROMPT_TOO_LARGE);
			return;
		}
	}
	for (size_t j = 0; j < p->nj; j++)
		rank_ask(g, ns, j, "ranking");
}

static void rank_report(struct nodeset *g, struct node_state *ns, const size_t *order,
			const double *points)
{
	struct panel *p = ns->kstate;
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "\"ranking\":[");
	for (size_t k = 0; order && k < p->n; k++) {
		buf_printf(&b, "%s{\"candidate\":%zu,\"model\":", k ? "," : "", order[k] + 1);
		buf_put_json_str(&b, p->models[order[k]]);
		buf_printf(&b, ",\"points\":%g}", points[order[k]]);
	}
	buf_puts(&b, "],\"ballots\":[");
	for (size_t j = 0; j < p->nj; j++) {
		buf_printf(&b, "%s{\"model\":", j ? "," : "");
		buf_put_json_str(&b, ns->node->models[j]->id);
		if (!p->ranked[j]) {
			buf_puts(&b, ",\"ranking\":null}");
			continue;
		}
		buf_puts(&b, ",\"ranking\":[");
		for (size_t k = 0; k < p->n; k++)
			buf_printf(&b, "%s%zu", k ? "," : "", p->ballots[j * p->n + k] + 1);
		buf_puts(&b, "]}");
	}
	buf_putc(&b, ']');
	ns->report_json = node_keep(g, &b);
	buf_release(&b);
}

/* No ballot could be read: the ranking is empty, the candidates go
 * downstream in their own order, and a council's chairman still writes
 * from the answers. */
static void rank_empty(struct nodeset *g, struct node_state *ns)
{
	struct panel *p = ns->kstate;
	rank_report(g, ns, NULL, NULL);
	ns->output = "";
	node_set_candidates(ns, p->texts, p->models, p->n);
	node_degrade(g, ns, any_answered(ns)
		? "no member's ranking could be read, even when asked again; the "
		  "ranking is empty"
		: "every member's call failed; the ranking is empty");
	node_finish(g, ns, NS_OK, NULL);
}

/* Merges the valid ballots; the output is the ranking as text and the
 * candidates, best first, are what the node offers downstream. */
static void rank_merge(struct nodeset *g, struct node_state *ns)
{
	struct panel *p = ns->kstate;
	size_t nb = 0;
	for (size_t j = 0; j < p->nj; j++)
		if (p->ranked[j]) {
			if (nb != j)
				memmove(p->ballots + nb * p->n, p->ballots + j * p->n,
					p->n * sizeof(*p->ballots));
			nb++;
		}
	size_t *order = arena_alloc(g->arena, p->n * sizeof(*order));
	double *points = arena_alloc(g->arena, p->n * sizeof(*points));
	const char **texts = arena_alloc(g->arena, p->n * sizeof(*texts));
	const char **models = arena_alloc(g->arena, p->n * sizeof(*models));
	if (!order || !points || !texts || !models ||
	    borda_merge(p->ballots, nb, p->n, points, order)) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	if (!nb) {
		rank_empty(g, ns);
		return;
	}
	/* The report lists ballots by member: put them back in place. */
	for (size_t j = p->nj, k = nb; j-- > 0;)
		if (p->ranked[j] && --k != j)
			memmove(p->ballots + j * p->n, p->ballots + k * p->n,
				p->n * sizeof(*p->ballots));
	rank_report(g, ns, order, points);
	struct buf out;
	buf_init(&out, 0);
	rank_format(&out, order, points, p->n, NULL);
	ns->output = node_keep(g, &out);
	buf_release(&out);
	for (size_t k = 0; k < p->n; k++) {
		texts[k] = p->texts[order[k]];
		models[k] = p->models[order[k]];
	}
	node_set_candidates(ns, texts, models, p->n);
	/* Confident when most members' ballots counted. */
	ns->confident = nb * 2 > p->nj;
	node_finish(g, ns, NS_OK, NULL);
}

static void rank_call_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	struct panel *p = ns->kstate;
	size_t j = (size_t)c->tag;
	const struct response *resp = &c->resp;
	size_t *shown = arena_alloc(g->arena, p->n * sizeof(*shown));
	if (resp->status == RESP_OK && shown &&
	    rank_parse(resp->text, p->n, shown) == (int)p->n) {
		for (size_t k = 0; k < p->n; k++)
			p->ballots[j * p->n + k] = p->perm[j * p->n + shown[k]];
		p->ranked[j] = 1;
	} else if (resp->status == RESP_OK && p->asked[j] < 2) {
		/* A ballot that cannot be read is asked for once more, in
		 * the strict format alone; then the member abstains. */
		struct buf note;
		buf_init(&note, 0);
		if (rank_retry_note(&note, p->n) == 0) {
			p->user[j] = arena_printf(g->arena, "%s\n\n%s", p->user[j],
						  buf_str(&note));
			rank_ask(g, ns, j, "ranking (asked again)");
		}
		buf_release(&note);
	}
	if (!ns->outstanding)
		rank_merge(g, ns);
}

const struct kind kind_rank = {rank_start, rank_call_done};
