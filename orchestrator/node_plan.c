/* plan (HybridFlow): a planner model splits the task into subtasks with
 * dependencies; the plan is validated (and asked for once more with the
 * error when it is not valid), then run as a sub-DAG: a subtask starts
 * the moment its needs are done, as a generate or route node from `run`,
 * seeing its needs' results. */
#include <string.h>

#include "../aggregators/plan.h"
#include "../aggregators/route.h"
#include "node.h"

#define TAG_PLANNER (-1)

enum sub_state { SUB_WAITING, SUB_RUNNING, SUB_DONE, SUB_FAILED };

struct planrun {
	const char *question;
	const char *system, *user;   /* the planner's last prompt */
	int asked;
	struct plan plan;
	const char **results;
	size_t *pending;             /* calls of each subtask not ended */
	enum sub_state *state;
	size_t running, done;
	int failed;
};

static void ask_planner(struct nodeset *g, struct node_state *ns, const char *previous,
			const char *error)
{
	struct planrun *p = ns->kstate;
	size_t max = ns->node->max_subtasks > 0 ? (size_t)ns->node->max_subtasks : 8;
	struct buf sys, user;
	buf_init(&sys, g->prompt_bytes);
	buf_init(&user, g->prompt_bytes);
	int est = route_uses_estimates(ns->node->run);
	int bad = previous || error
		? plan_build_retry_prompt(&sys, &user, p->question, max, est, previous, error)
		: plan_build_prompt(&sys, &user, p->question, max, est);
	p->system = node_keep(g, &sys);
	p->user = node_keep(g, &user);
	buf_release(&sys);
	buf_release(&user);
	if (bad) {
		node_fail(g, ns, "too_large", "the planner prompt" PROMPT_TOO_LARGE);
		return;
	}
	p->asked++;
	node_call(g, ns, ns->node->models[0], p->system, p->user, TAG_PLANNER,
		  p->asked > 1 ? "planner (asked again)" : "planner");
}

/* A subtask's call, with the call settings its `run` node sets. */
static struct call *subtask_call(struct nodeset *g, struct node_state *ns,
				 const struct wf_model *m, const char *system,
				 const char *prompt, size_t i, const char *role)
{
	struct call *c = node_call(g, ns, m, system, prompt, (int)i, role);
	if (c)
		call_settings_overlay(c, &ns->node->run->cs);
	return c;
}

static void start_subtask(struct nodeset *g, struct node_state *ns, size_t i)
{
	struct planrun *p = ns->kstate;
	const struct wf_node *run = ns->node->run;
	struct buf b;
	buf_init(&b, g->prompt_bytes);
	int bad = plan_subtask_prompt(&b, p->question, &p->plan, i, p->results);
	const char *prompt = node_keep(g, &b);
	buf_release(&b);
	const char *err = NULL;
	const char *system = node_render(g, run->system, &err);
	if (bad || err) {
		p->state[i] = SUB_FAILED;
		p->failed = 1;
		return;
	}
	const char *role = arena_printf(g->arena, "subtask %s", p->plan.subtasks[i].id);
	p->state[i] = SUB_RUNNING;
	p->running++;
	if (run->kind == NK_ROUTE) {
		const struct plan_subtask *t = &p->plan.subtasks[i];
		const char *rule = NULL;
		const struct wf_model *m = route_choose_estimated(g, run, prompt, t->difficulty,
								  t->tokens, &rule);
		trace_event(g->trace, "route", "\"node\":\"%s\",\"subtask\":\"%s\",\"rule\":"
			    "\"%s\",\"model\":\"%s\"", trace_str(g->arena, ns->node->id),
			    trace_str(g->arena, t->id), trace_str(g->arena, rule),
			    trace_str(g->arena, m ? m->id : ""));
		if (m && subtask_call(g, ns, m, system, prompt, i, role))
			p->pending[i] = 1;
	} else {
		int samples = run->samples > 0 ? run->samples : 1;
		for (size_t k = 0; k < run->nmodels; k++)
			for (int s = 0; s < samples; s++)
				if (subtask_call(g, ns, run->models[k], system, prompt, i, role))
					p->pending[i]++;
	}
	if (!p->pending[i]) {
		p->running--;
		p->state[i] = SUB_FAILED;
		p->failed = 1;
	}
}

static int needs_done(const struct planrun *p, size_t i)
{
	const struct plan_subtask *s = &p->plan.subtasks[i];
	for (size_t k = 0; k < s->nneeds; k++)
		if (p->state[s->needs[k]] != SUB_DONE)
			return 0;
	return 1;
}

static void start_ready(struct nodeset *g, struct node_state *ns)
{
	struct planrun *p = ns->kstate;
	for (size_t k = 0; k < p->plan.n && !p->failed; k++) {
		size_t i = p->plan.order[k];
		if (p->state[i] == SUB_WAITING && needs_done(p, i))
			start_subtask(g, ns, i);
	}
}

static void plan_finish(struct nodeset *g, struct node_state *ns)
{
	struct planrun *p = ns->kstate;
	if (p->failed) {
		node_finish(g, ns, NS_FAILED, "a subtask failed, so the plan cannot finish");
		return;
	}
	struct buf out;
	buf_init(&out, 0);
	plan_format_results(&out, &p->plan, p->results);
	ns->output = node_keep(g, &out);
	buf_release(&out);
	const char **models = arena_alloc(g->arena, p->plan.n * sizeof(*models));
	for (size_t i = 0; models && i < p->plan.n; i++)
		models[i] = p->plan.subtasks[i].id;
	node_set_candidates(ns, p->results, models, models ? p->plan.n : 0);
	node_finish(g, ns, NS_OK, NULL);
}

static int plan_accept(struct nodeset *g, struct node_state *ns, const char *reply)
{
	struct planrun *p = ns->kstate;
	size_t max = ns->node->max_subtasks > 0 ? (size_t)ns->node->max_subtasks : 8;
	struct qerr e = {0};
	if (plan_parse(reply, max, g->arena, &p->plan, &e)) {
		if (p->asked < 2) {
			ask_planner(g, ns, reply, e.msg);
			return 0;
		}
		node_fail(g, ns, "malformed",
			  arena_printf(g->arena, "the planner's plan was invalid twice: %s", e.msg));
		return -1;
	}
	size_t n = p->plan.n;
	p->results = arena_alloc(g->arena, n * sizeof(*p->results));
	p->pending = arena_alloc(g->arena, n * sizeof(*p->pending));
	p->state = arena_alloc(g->arena, n * sizeof(*p->state));
	if (!p->results || !p->pending || !p->state) {
		node_fail(g, ns, "internal", "out of memory");
		return -1;
	}
	trace_event(g->trace, "plan", "\"node\":\"%s\",\"subtasks\":%zu", trace_str(g->arena, ns->node->id), n);
	start_ready(g, ns);
	return 0;
}

static void subtask_done(struct nodeset *g, struct node_state *ns, size_t i)
{
	struct planrun *p = ns->kstate;
	const char *text = NULL;
	for (size_t k = 0; k < ns->ncalls && !text; k++)
		if (ns->calls[k]->tag == (int)i && NODE_RESP(ns, k)->status == RESP_OK)
			text = NODE_RESP(ns, k)->text;
	p->running--;
	if (text) {
		p->results[i] = text;
		p->state[i] = SUB_DONE;
		p->done++;
		start_ready(g, ns);
	} else {
		p->state[i] = SUB_FAILED;
		p->failed = 1;
	}
}

static void plan_start(struct nodeset *g, struct node_state *ns)
{
	struct planrun *p = arena_alloc(g->arena, sizeof(*p));
	const char *err = NULL;
	if (!p) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	ns->kstate = p;
	p->question = node_question(g, ns, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	ask_planner(g, ns, NULL, NULL);
}

static void plan_call_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	struct planrun *p = ns->kstate;
	const struct response *resp = &c->resp;
	if (c->tag == TAG_PLANNER) {
		if (resp->status != RESP_OK) {
			node_finish(g, ns, NS_FAILED, "the planner's call failed");
			return;
		}
		if (plan_accept(g, ns, resp->text))
			return;
	} else if (--p->pending[c->tag] == 0) {
		subtask_done(g, ns, (size_t)c->tag);
	}
	if (ns->status == NS_RUNNING && !ns->outstanding && p->plan.n && !p->running)
		plan_finish(g, ns);
}

const struct kind kind_plan = {plan_start, plan_call_done};
