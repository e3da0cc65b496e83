#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "loadctx.h"

/* moa and council are written as one node and run as several. They are
 * expanded when the file is loaded, before references and cycles are
 * checked, so messages, `quorum graph` and the run report all speak of the
 * nodes that run. The expanded nodes get ids ID.SUFFIX (a '.' no user id
 * can hold) and group ID; the last one keeps ID, so whatever refers to the
 * moa or council node gets its final answer. */

/* The Mixture-of-Agents aggregate-and-synthesize prompt (Wang et al.,
 * 2024) for the rounds after the first: each proposer sees the previous
 * round's answers and the query, and writes its own improved answer. */
#define MOA_ROUND_HEAD                                                                  \
	"You have been provided with a set of responses from various models to the "     \
	"query below. Your task is to synthesize these responses into a single, "        \
	"high-quality response. It is crucial to critically evaluate the information "   \
	"provided in these responses, recognizing that some of it may be biased or "     \
	"incorrect. Your response should not simply replicate the given answers but "    \
	"should offer a refined, accurate, and comprehensive reply to the query. Do not " \
	"mention that you were given several responses.\n\n"                            \
	"Responses from models:\n\n{{ nodes.%s.layer%d.responses }}\n\nQuery:\n\n"

/* The council chairman sees the members' answers (as a synthesize does)
 * and how the members ranked them. */
#define COUNCIL_TAIL "\n\nPeer ranking of the answers: {{ nodes.%s.review.output }}"

/* Compiles text the expansion writes, placed at the node it came from. */
static struct tmpl *gen_tmpl(struct loadctx *c, const struct wf_node *at,
			     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static struct tmpl *gen_tmpl(struct loadctx *c, const struct wf_node *at,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = arena_vprintf(c->a, fmt, ap);
	va_end(ap);
	struct tmpl *t = text ? tmpl_compile(c->a, text, at->line, at->col, 0, c->d) : NULL;
	if (!t)
		ld_oom(c);
	return t;
}

/* A new node of the group of src, with src's position, node timeout, call
 * settings and continue_on_error: a failure inside the group lets the
 * group go on (a later round, the chairman) and whatever depends on it. */
static struct wf_node *group_node(struct loadctx *c, const struct wf_node *src,
				  enum node_kind kind, const char *suffix)
{
	struct wf_node *n = arena_alloc(c->a, sizeof(*n));
	if (!n || !(n->id = arena_printf(c->a, "%s.%s", src->id, suffix))) {
		ld_oom(c);
		return NULL;
	}
	ld_node_defaults(n);
	n->kind = kind;
	n->line = src->line;
	n->col = src->col;
	n->group = src->id;
	n->timeout_ms = src->timeout_ms;
	n->cs = src->cs;
	n->continue_on_error = src->continue_on_error;
	return n;
}

/* The group's last node: src itself, a synthesize by the aggregator or
 * chairman from the node `from_suffix`, with the given prompt. */
static void group_final(struct loadctx *c, struct wf_node *src, const struct node_src *ms,
			const char *from_suffix, struct tmpl *prompt)
{
	struct node_src ns = {0};
	struct nodeload nl = {c, src, &ns, &ns, NULL, "synthesize"};
	char *from = arena_printf(c->a, "%s.%s", src->id, from_suffix);
	if (!from) {
		ld_oom(c);
		return;
	}
	src->kind = NK_SYNTHESIZE;
	src->group = src->id;
	src->prompt = prompt;
	ns.models = ms->chair;
	ref_list_add(c, &ns.deps, from, src->line, src->col, REF_FROM, NULL);
	ld_tmpl_refs(&nl, prompt);
	ld_node_add(c, src, &ns);
}

/* ID.layer1 .. ID.layerN: generate by the proposers, each round's prompt
 * carrying the previous round's answers; then ID: the aggregator. */
static void expand_moa(struct loadctx *c, struct wf_node *m, const struct node_src *ms,
		       struct tmpl *prompt)
{
	char suffix[32];
	for (int k = 1; k <= ms->layers && !c->oom; k++) {
		snprintf(suffix, sizeof(suffix), "layer%d", k);
		struct wf_node *n = group_node(c, m, NK_GENERATE, suffix);
		if (!n)
			return;
		n->description = arena_printf(c->a, "round %d of %d of the proposers", k,
					      ms->layers);
		struct node_src ns = {0};
		struct nodeload nl = {c, n, &ns, &ns, NULL, "generate"};
		ns.models = ms->models;
		if (k == 1) {
			/* `needs` and the prompt's own references. */
			ns.deps = ms->deps;
			n->prompt = prompt;
		} else {
			n->prompt = tmpl_concat(c->a, gen_tmpl(c, m, MOA_ROUND_HEAD, m->id, k - 1),
						prompt);
			if (!n->prompt)
				ld_oom(c);
			ld_tmpl_refs(&nl, n->prompt);
		}
		ld_node_add(c, n, &ns);
	}
	snprintf(suffix, sizeof(suffix), "layer%d", ms->layers);
	group_final(c, m, ms, suffix, prompt);
}

/* ID.answers: generate by the members; ID.review: rank by the members;
 * ID: the chairman, who also sees the ranking. */
static void expand_council(struct loadctx *c, struct wf_node *m, const struct node_src *ms,
			   struct tmpl *prompt)
{
	struct wf_node *ans = group_node(c, m, NK_GENERATE, "answers");
	struct wf_node *rev = group_node(c, m, NK_RANK, "review");
	if (!ans || !rev)
		return;
	ans->description = "the members answer";
	rev->description = "the members rank the answers";
	struct node_src ans_src = {0}, rev_src = {0};
	ans_src.models = rev_src.models = ms->models;
	ans_src.deps = ms->deps;
	ans->prompt = prompt;
	char *from = arena_printf(c->a, "%s.answers", m->id);
	if (!from) {
		ld_oom(c);
		return;
	}
	ref_list_add(c, &rev_src.deps, from, m->line, m->col, REF_FROM, NULL);
	ld_node_add(c, ans, &ans_src);
	ld_node_add(c, rev, &rev_src);
	struct tmpl *chair = tmpl_concat(c->a, prompt, gen_tmpl(c, m, COUNCIL_TAIL, m->id));
	if (!chair)
		ld_oom(c);
	group_final(c, m, ms, "answers", chair);
}

/* moa copies its prompt into every round after the first, and council
 * into the chairman's: that text counts against the yaml_bytes limit like
 * the file's own, so `layers: 100` over a huge aliased prompt is refused
 * instead of built. Returns 0, or -1 after reporting. */
static int expand_bytes(struct loadctx *c, const struct wf_node *node,
			const struct node_src *ns, int macro, const struct tmpl *prompt)
{
	size_t len = strlen(tmpl_source(prompt)) + sizeof(MOA_ROUND_HEAD) + 2 * strlen(node->id);
	size_t copies = macro == MACRO_MOA ? (size_t)(ns->layers > 1 ? ns->layers - 1 : 0) : 1;
	size_t max = c->lim->max_yaml_bytes;
	if (len && copies > (max - (c->text_bytes < max ? c->text_bytes : max)) / len) {
		ld_diag(c, node->line, node->col, "%s '%.60s' copies its prompt (%zu bytes) "
			"%zu time%s, past the yaml_bytes limit (%zu bytes)",
			macro == MACRO_MOA ? "moa" : "council", node->id, len, copies,
			copies == 1 ? "" : "s", max);
		return -1;
	}
	c->text_bytes += copies * len;
	return 0;
}

void ld_expand(struct loadctx *c, struct wf_node *node, struct node_src *ns, int macro)
{
	/* The prompt every member or proposer gets; the query by default. */
	struct tmpl *prompt = node->prompt ? node->prompt : gen_tmpl(c, node, "{{ query }}");
	if (c->oom)
		return;
	if (expand_bytes(c, node, ns, macro, prompt)) {
		ns->skip = 1;
		c->incomplete = 1;
		ld_node_add(c, node, ns);
		return;
	}
	if (macro == MACRO_MOA)
		expand_moa(c, node, ns, prompt);
	else
		expand_council(c, node, ns, prompt);
}
