#include <string.h>

#include "loadctx.h"

/* A bandit node's own keys: `arms` (read with the model keys), `policy`,
 * `reward`, `cost_weight`, `budget`, `explore` and `state`. Its models are
 * resolved in validate.c. */

static void load_policy(struct loadctx *c, struct wf_node *node, const struct ynode *v)
{
	static const char *const names[] = {"thompson", "ucb", "linear"};
	const char *s = NULL;
	if (ld_str(c, "policy", v, &s) <= 0)
		return;
	for (int i = 0; i < 3; i++) {
		if (!strcmp(s, names[i])) {
			node->policy = (enum wf_bandit_policy)i;
			return;
		}
	}
	ld_unknown_name(c, v->line, v->col, "policy", s, names, 3,
			"use thompson, ucb or linear (contextual: needs 'embed')");
}

/* reward: feedback, or {judge: MODEL}. */
static void load_reward(struct nodeload *nl, const struct ynode *v)
{
	static const char *const keys[] = {"judge", NULL};
	struct loadctx *c = nl->c;
	if (v->type == YT_SCALAR && !strcmp(v->str, "feedback"))
		return;
	if (v->type != YT_MAP) {
		ld_wrong_type(c, "reward", v, "feedback, or {judge: MODEL} (a model that rates "
			      "each answer)");
		return;
	}
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		struct ref_list l = {0};
		if (!strcmp(k->str, "judge")) {
			if (ld_one_model(c, "judge", x, &l) > 0)
				nl->ns->reward_judge = l.v[0];
		} else {
			ld_unknown_key(c, k, keys, "reward");
		}
	}
}

int ld_bandit_key(struct nodeload *nl, const char *key, const struct ynode *v)
{
	struct loadctx *c = nl->c;
	struct wf_node *node = nl->node;
	int64_t n;
	if (!strcmp(key, "policy")) {
		load_policy(c, node, v);
	} else if (!strcmp(key, "reward")) {
		load_reward(nl, v);
	} else if (!strcmp(key, "cost_weight")) {
		ld_num(c, key, v, 0, LD_MAX_COST_WEIGHT, "a reward per USD (0 or more)",
		       &node->cost_weight);
	} else if (!strcmp(key, "budget")) {
		ld_num(c, key, v, 0, LD_MAX_USD, "USD per query on average", &node->budget_usd);
	} else if (!strcmp(key, "explore")) {
		if (ld_int(c, key, v, 0, LD_MAX_EXPLORE, "a number of pulls", &n) > 0)
			node->explore = (int)n;
	} else if (!strcmp(key, "state")) {
		if (ld_str(c, key, v, &node->state_as_written) > 0 &&
		    !(node->state = ld_relative_path(c, node->state_as_written)))
			ld_oom(c);
	} else {
		return 0;
	}
	return 1;
}
