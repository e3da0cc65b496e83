/* cascade (FrugalGPT, AutoMix): the models in order, cheapest first; an
 * answer is kept when its check passes, else the next model is asked.
 * The last model's answer is kept unchecked: nothing stronger is left to
 * escalate to, so checking it would only cost. */
#include <string.h>

#include "../aggregators/cascade.h"
#include "../aggregators/judge.h"
#include "node.h"

enum { PHASE_ANSWER, PHASE_CHECK };

#define TAG(step, phase) ((int)(step) * 2 + (phase))
#define TAG_STEP(tag) ((size_t)(tag) / 2)
#define TAG_PHASE(tag) ((tag) % 2)

struct cascade {
	const char *question, *system;
	size_t step;
	const char *answer;       /* the step's answer under test */
	const char **values;      /* per step: what the check measured */
	/* The report's steps, in the arena: a node cancelled or timed out
	 * never reaches finish(), so nothing here may need freeing. */
	const char *log;
};

static int samples_of(const struct wf_accept *a)
{
	return a->samples > 0 ? a->samples : 3;
}

static void ask_answers(struct nodeset *g, struct node_state *ns)
{
	struct cascade *cs = ns->kstate;
	const struct wf_node *n = ns->node;
	int k = n->accept.kind == ACCEPT_AGREEMENT && cs->step + 1 < n->nmodels
			? samples_of(&n->accept) : 1;
	for (int i = 0; i < k; i++)
		node_call(g, ns, n->models[cs->step], cs->system, cs->question,
			  TAG(cs->step, PHASE_ANSWER), NULL);
}

static void log_step(struct nodeset *g, struct node_state *ns, const char *check,
		     int accepted)
{
	struct cascade *cs = ns->kstate;
	double cost = 0;
	for (size_t i = 0; i < ns->ncalls; i++)
		if (TAG_STEP(ns->calls[i]->tag) == cs->step)
			cost += NODE_RESP(ns, i)->cost_usd;
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s%s{\"model\":", cs->log ? cs->log : "", cs->log ? "," : "");
	buf_put_json_str(&b, ns->node->models[cs->step]->id);
	buf_puts(&b, ",\"check\":");
	buf_put_json_str(&b, check);
	buf_printf(&b, ",\"accepted\":%s,\"cost_usd\":%.10g}",
		   accepted ? "true" : "false", cost);
	cs->log = node_keep(g, &b);
	buf_release(&b);
}

static void finish(struct nodeset *g, struct node_state *ns, const char *answer)
{
	struct cascade *cs = ns->kstate;
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "\"cascade\":{\"answered_by\":");
	buf_put_json_str(&b, answer ? ns->node->models[cs->step]->id : NULL);
	buf_printf(&b, ",\"steps\":[%s]}", cs->log ? cs->log : "");
	ns->report_json = node_keep(g, &b);
	buf_release(&b);
	if (!answer) {
		node_finish(g, ns, NS_FAILED, "no model of the cascade answered");
		return;
	}
	ns->output = answer;
	node_set_candidates(ns, &ns->output, (const char **)&ns->node->models[cs->step]->id, 1);
	node_finish(g, ns, NS_OK, NULL);
}

static void escalate(struct nodeset *g, struct node_state *ns, const char *check)
{
	struct cascade *cs = ns->kstate;
	log_step(g, ns, check, 0);
	if (++cs->step >= ns->node->nmodels) {
		cs->step--;
		finish(g, ns, NULL);
		return;
	}
	trace_event(g->trace, "escalate", "\"node\":\"%s\",\"to\":\"%s\"", trace_str(g->arena, ns->node->id),
		    trace_str(g->arena, ns->node->models[cs->step]->id));
	ask_answers(g, ns);
}

static void step_accept(struct nodeset *g, struct node_state *ns, const char *check)
{
	struct cascade *cs = ns->kstate;
	log_step(g, ns, check, 1);
	finish(g, ns, cs->answer);
}

/* The answers of this step, NULL where a call failed. */
static size_t step_texts(struct node_state *ns, int tag, const char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < ns->ncalls; i++) {
		if (ns->calls[i]->tag != tag)
			continue;
		out[n++] = NODE_RESP(ns, i)->status == RESP_OK ? NODE_RESP(ns, i)->text : NULL;
	}
	return n;
}

static void start_check(struct nodeset *g, struct node_state *ns)
{
	struct cascade *cs = ns->kstate;
	const struct wf_accept *a = &ns->node->accept;
	struct buf sys, user;
	buf_init(&sys, g->prompt_bytes);
	buf_init(&user, g->prompt_bytes);
	int bad;
	if (a->kind == ACCEPT_SELF_CHECK)
		bad = selfcheck_build_prompt(&user, cs->question, cs->answer);
	else
		bad = cascade_judge_prompt(&sys, &user, cs->question, cs->answer, NULL);
	const char *system = sys.len ? node_keep(g, &sys) : NULL;
	const char *prompt = node_keep(g, &user);
	buf_release(&sys);
	buf_release(&user);
	if (bad) {
		node_fail(g, ns, "too_large", "the check prompt" PROMPT_TOO_LARGE);
		return;
	}
	if (a->kind == ACCEPT_SELF_CHECK) {
		for (int i = 0; i < samples_of(a); i++)
			node_call(g, ns, ns->node->models[cs->step], NULL, prompt,
				  TAG(cs->step, PHASE_CHECK), "self_check");
	} else {
		node_call(g, ns, a->judge, system, prompt, TAG(cs->step, PHASE_CHECK), "judge");
	}
}

static void answers_done(struct nodeset *g, struct node_state *ns)
{
	struct cascade *cs = ns->kstate;
	const struct wf_node *n = ns->node;
	const char **texts = arena_alloc(g->arena, (ns->ncalls + 1) * sizeof(*texts));
	size_t k = texts ? step_texts(ns, TAG(cs->step, PHASE_ANSWER), texts) : 0;
	cs->answer = NULL;
	for (size_t i = 0; i < k && !cs->answer; i++)
		cs->answer = texts[i];
	if (!cs->answer) {
		escalate(g, ns, "no answer");
		return;
	}
	if (cs->step + 1 >= n->nmodels) {
		step_accept(g, ns, "last model: kept unchecked");
		return;
	}
	const struct wf_accept *a = &n->accept;
	if (a->kind == ACCEPT_REGEX) {
		int m = regex_search(a->re, cs->answer, strlen(cs->answer), -1, NULL, NULL);
		if (m == 1)
			step_accept(g, ns, "regex matched");
		else
			escalate(g, ns, "regex did not match");
		return;
	}
	if (a->kind == ACCEPT_AGREEMENT) {
		/* Answers agree on their last line, where a model puts its
		 * final answer when asked for reasoning first. */
		struct extract_spec spec = {.mode = EX_LAST_LINE};
		double share = agreement_share(texts, k, &spec);
		const char *what = arena_printf(g->arena, "agreement %.2f (min %.2f)", share,
						a->threshold);
		if (share >= a->threshold)
			step_accept(g, ns, what);
		else
			escalate(g, ns, what);
		return;
	}
	start_check(g, ns);
}

static void checks_done(struct nodeset *g, struct node_state *ns)
{
	struct cascade *cs = ns->kstate;
	const struct wf_accept *a = &ns->node->accept;
	const char **texts = arena_alloc(g->arena, (ns->ncalls + 1) * sizeof(*texts));
	size_t k = texts ? step_texts(ns, TAG(cs->step, PHASE_CHECK), texts) : 0;
	if (a->kind == ACCEPT_SELF_CHECK) {
		size_t yes = 0;
		for (size_t i = 0; i < k; i++)
			if (texts[i] && selfcheck_parse(texts[i]) == 1)
				yes++;
		double share = k ? (double)yes / (double)k : 0;
		const char *what = arena_printf(g->arena, "self_check %zu/%zu correct (threshold %.2f)",
						yes, k, a->threshold);
		if (share >= a->threshold)
			step_accept(g, ns, what);
		else
			escalate(g, ns, what);
		return;
	}
	double score = k && texts[0] ? judge_parse_score(texts[0]) : -1;
	const char *what = score < 0
		? "judge gave no score"
		: arena_printf(g->arena, "judge score %.1f (threshold %.1f)", score, a->threshold);
	if (score >= a->threshold)
		step_accept(g, ns, what);
	else
		escalate(g, ns, what);
}

static void cascade_start(struct nodeset *g, struct node_state *ns)
{
	struct cascade *cs = arena_alloc(g->arena, sizeof(*cs));
	const char *err = NULL;
	if (!cs) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	ns->kstate = cs;
	cs->log = NULL;
	cs->question = node_question(g, ns, &err);
	cs->system = node_render(g, ns->node->system, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	ask_answers(g, ns);
}

static void cascade_call_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	if (ns->outstanding)
		return;
	if (TAG_PHASE(c->tag) == PHASE_ANSWER)
		answers_done(g, ns);
	else
		checks_done(g, ns);
}

const struct kind kind_cascade = {cascade_start, cascade_call_done};
