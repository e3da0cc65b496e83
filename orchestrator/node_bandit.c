/* bandit: online learning of which model to ask (Thompson sampling, UCB,
 * or linear Thompson sampling on the prompt's embedding), trading quality
 * against cost within an average budget. Each run decides once (the pull
 * and its context kept in the state file), asks the chosen arm, charges
 * its cost, and takes a reward: a judge's rating now, or `quorum feedback`
 * (an eval's right or wrong, a user's score) later. A state file that
 * cannot be used, or a judge that fails, costs the learning, never the
 * answer. */
#include <math.h>
#include <string.h>

#include "../aggregators/bandit.h"
#include "../aggregators/cascade.h"
#include "../aggregators/judge.h"
#include "../common/alloc.h"
#include "../providers/embed.h"
#include "node.h"

enum { TAG_CONTEXT, TAG_ARM, TAG_REWARD };

/* Loading refuses more arms than the policies hold. */
_Static_assert(WF_BANDIT_ARMS_MAX <= BANDIT_ARMS_MAX, "a bandit's arms fit its state");

struct banditrun {
	const char *prompt, *system;
	struct bandit_config cfg;
	struct bandit_store *store;   /* NULL: not learning this run */
	const char *key, *decision;
	const char **arms;
	struct bandit_choice why;
	size_t arm;
	const char *answer;
	double reward;                /* NaN until one came */
};

static const enum bandit_policy policies[] = {
	[WF_BANDIT_THOMPSON] = BANDIT_THOMPSON,
	[WF_BANDIT_UCB] = BANDIT_UCB_TUNED,
	[WF_BANDIT_LINEAR] = BANDIT_LIN_TS,
};

static void report(struct nodeset *g, struct node_state *ns)
{
	struct banditrun *b = ns->kstate;
	struct buf out;
	buf_init(&out, 0);
	buf_puts(&out, "\"bandit\":{\"arm\":");
	buf_put_json_str(&out, b->arms[b->arm]);
	buf_puts(&out, ",\"decision\":");
	buf_put_json_str(&out, b->store ? b->decision : NULL);
	buf_printf(&out, ",\"cold_start\":%s,\"scores\":", b->why.cold_start ? "true" : "false");
	/* The cold start takes turns without scoring: zeros there would read
	 * as a verdict on every arm. */
	if (b->store && b->why.cold_start) {
		buf_puts(&out, "null");
	} else {
		buf_putc(&out, '{');
		for (size_t i = 0; b->store && i < ns->node->nmodels; i++) {
			buf_puts(&out, i ? "," : "");
			buf_put_json_str(&out, b->arms[i]);
			buf_printf(&out, isfinite(b->why.score[i]) ? ":%.4g" : ":null",
				   b->why.score[i]);
		}
		buf_putc(&out, '}');
	}
	buf_puts(&out, ",\"reward\":");
	if (isnan(b->reward))
		buf_puts(&out, "null");
	else
		buf_printf(&out, "%.4g", b->reward);
	buf_putc(&out, '}');
	ns->report_json = node_keep(g, &out);
	buf_release(&out);
}

static void end(struct nodeset *g, struct node_state *ns)
{
	struct banditrun *b = ns->kstate;
	report(g, ns);
	const char **t = arena_alloc(g->arena, sizeof(*t));
	const char **m = arena_alloc(g->arena, sizeof(*m));
	if (t && m) {
		*t = b->answer;
		*m = b->arms[b->arm];
		node_set_candidates(ns, t, m, 1);
	}
	ns->output = b->answer;
	node_finish(g, ns, NS_OK, NULL);
}

/* The choice, from the state file (or at random when there is none). */
static void decide(struct nodeset *g, struct node_state *ns, const float *ctx, size_t dim)
{
	struct banditrun *b = ns->kstate;
	const struct wf_node *n = ns->node;
	uint64_t rng = node_seed(g, ns);
	if (b->store && bandit_store_decide(b->store, b->key, b->arms, n->nmodels, &b->cfg, ctx,
					    dim, b->decision, &rng, &b->why)) {
		node_degrade(g, ns, arena_printf(g->arena, "the bandit could not record its "
						 "choice (%s): an arm at random, nothing learnt",
						 bandit_store_error(b->store)));
		b->store = NULL;
	}
	b->arm = b->store ? b->why.arm : (size_t)(rng % n->nmodels);
	trace_event(g->trace, "bandit", "\"node\":\"%s\",\"arm\":\"%s\",\"cold_start\":%s",
		    trace_str(g->arena, n->id), trace_str(g->arena, b->arms[b->arm]),
		    b->why.cold_start ? "true" : "false");
	if (!node_call(g, ns, n->models[b->arm], b->system, b->prompt, TAG_ARM, NULL))
		node_fail(g, ns, "internal", "out of memory");
}

static void open_state(struct nodeset *g, struct node_state *ns)
{
	struct banditrun *b = ns->kstate;
	const struct wf_node *n = ns->node;
	char err[512];
	b->store = pool_bandit_store(g->calls->pool, n->state, err, sizeof(err));
	char *key = b->store ? bandit_store_node_key(g->wf->name, n->id, b->arms, n->nmodels,
						     &b->cfg) : NULL;
	b->key = key ? arena_strdup(g->arena, key) : NULL;
	q_free(key);
	b->decision = arena_printf(g->arena, "%s/%s", g->run_id, n->id);
	if (!b->store || !b->key || !b->decision) {
		node_degrade(g, ns, arena_printf(g->arena, "the bandit's state is not available "
						 "(%s): an arm at random, nothing learnt",
						 b->store ? "out of memory" : err));
		b->store = NULL;
	}
}

static void bandit_start(struct nodeset *g, struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	const char *err = NULL;
	struct banditrun *b = arena_alloc(g->arena, sizeof(*b));
	if (!b || !(b->arms = arena_alloc(g->arena, n->nmodels * sizeof(*b->arms)))) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	ns->kstate = b;
	b->reward = NAN;
	b->prompt = node_question(g, ns, &err);
	b->system = node_render(g, n->system, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	for (size_t i = 0; i < n->nmodels; i++)
		b->arms[i] = n->models[i]->id;
	bandit_config_init(&b->cfg);
	b->cfg.policy = policies[n->policy];
	b->cfg.cost_weight = n->cost_weight;
	b->cfg.budget_per_query = n->budget_usd;
	b->cfg.explore = (unsigned)n->explore;
	open_state(g, ns);
	if (n->policy != WF_BANDIT_LINEAR || !b->store) {
		decide(g, ns, NULL, 0);
		return;
	}
	const char **text = arena_alloc(g->arena, sizeof(*text));
	if (!text) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	*text = b->prompt;
	if (!node_embed(g, ns, n->embed, text, 1, TAG_CONTEXT))
		node_fail(g, ns, "internal", "out of memory");
}

/* A judge rates the answer 0..10: the reward is a tenth of it. */
static void ask_judge(struct nodeset *g, struct node_state *ns)
{
	struct banditrun *b = ns->kstate;
	struct buf sys, user;
	buf_init(&sys, g->prompt_bytes);
	buf_init(&user, g->prompt_bytes);
	int bad = cascade_judge_prompt(&sys, &user, b->prompt, b->answer, NULL);
	const char *s = node_keep(g, &sys), *u = node_keep(g, &user);
	buf_release(&sys);
	buf_release(&user);
	if (bad || !node_call(g, ns, ns->node->reward_judge, s, u, TAG_REWARD, "reward judge")) {
		node_degrade(g, ns, "the reward judge could not be asked: nothing learnt this time");
		end(g, ns);
	}
}

static void rewarded(struct nodeset *g, struct node_state *ns, const struct response *r)
{
	struct banditrun *b = ns->kstate;
	double score = r->status == RESP_OK ? judge_parse_score(r->text) : -1;
	if (score < 0) {
		node_degrade(g, ns, r->status == RESP_OK ? "the reward judge gave no rating: "
				    "nothing learnt this time"
				  : "the reward judge failed: nothing learnt this time");
	} else if (bandit_store_feedback(b->store, b->decision, score / 10) == 0) {
		b->reward = score / 10;
	}
	end(g, ns);
}

static void answered(struct nodeset *g, struct node_state *ns, const struct response *r)
{
	struct banditrun *b = ns->kstate;
	if (b->store)
		bandit_store_cost(b->store, b->decision, r->price_known ? r->cost_usd : 0, &b->cfg);
	if (r->status != RESP_OK) {
		/* An arm that fails is a bad arm. */
		if (b->store && !bandit_store_feedback(b->store, b->decision, 0))
			b->reward = 0;
		report(g, ns);
		node_finish(g, ns, NS_FAILED, "the chosen arm's call failed");
		return;
	}
	b->answer = r->text;
	if (b->store && ns->node->reward_judge)
		ask_judge(g, ns);
	else
		end(g, ns);
}

static void bandit_call_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	const struct response *r = &c->resp;
	if (ns->status != NS_RUNNING)
		return;
	if (c->tag == TAG_CONTEXT) {
		size_t n = 0, dim = 0;
		const float *v = r->status == RESP_OK
			? embed_unpack(g->arena, r->text, strlen(r->text), &n, &dim) : NULL;
		if (!v || n != 1) {
			node_degrade(g, ns, "the prompt's embedding failed: chosen without it");
			v = NULL;
			dim = 0;
		}
		decide(g, ns, v, dim);
	} else if (c->tag == TAG_ARM) {
		answered(g, ns, r);
	} else {
		rewarded(g, ns, r);
	}
}

const struct kind kind_bandit = {bandit_start, bandit_call_done};
