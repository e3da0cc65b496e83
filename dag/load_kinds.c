#include <stdio.h>
#include <string.h>

#include "loadctx.h"

/* The structured keys of cascade (`accept`); route's are in
 * load_route.c, bandit's in load_bandit.c, and a plan's `run` is a node
 * body, read in load_node.c. Each value is typed here; the models they
 * name are resolved in validate.c. */

/* ---- cascade: accept ---- */

static const char *const accept_keys[] = {"self_check", "judge", "agreement", "regex", NULL};

/* One of self_check, judge, agreement: a mapping of numbers (and the
 * judge's model), each key checked against its range. */
static void accept_params(struct nodeload *nl, const struct ynode *key, const struct ynode *v)
{
	static const char *const self_keys[] = {"threshold", "samples", NULL};
	static const char *const judge_keys[] = {"model", "threshold", NULL};
	static const char *const agree_keys[] = {"samples", "min", NULL};
	struct loadctx *c = nl->c;
	struct wf_accept *acc = &nl->node->accept;
	const char *const *keys = acc->kind == ACCEPT_JUDGE ? judge_keys
				  : acc->kind == ACCEPT_AGREEMENT ? agree_keys : self_keys;
	char where[64];
	snprintf(where, sizeof(where), "accept: %s", key->str);
	int64_t n;
	int rc = ld_map(c, key->str, v);
	for (size_t i = 0; rc > 0 && i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		int known = 0;
		for (size_t j = 0; keys[j]; j++)
			known |= !strcmp(keys[j], k->str);
		if (!known) {
			ld_unknown_key(c, k, keys, where);
		} else if (!strcmp(k->str, "threshold")) {
			ld_num(c, "threshold", x, 0, acc->kind == ACCEPT_JUDGE ? 10 : 1,
			       "a number", &acc->threshold);
		} else if (!strcmp(k->str, "min")) {
			ld_num(c, "min", x, 0, 1, "a number", &acc->threshold);
		} else if (!strcmp(k->str, "samples")) {
			/* Agreement compares answers: one sample agrees with itself. */
			int lo = acc->kind == ACCEPT_AGREEMENT ? 2 : 1;
			if (ld_int(c, "samples", x, lo, LD_MAX_CHECK_SAMPLES,
				   lo == 2 ? "an integer of at least 2"
				   : "a positive integer", &n) > 0)
				acc->samples = (int)n;
		} else {
			struct ref_list l = {0};
			if (ld_one_model(c, "model", x, &l) > 0)
				nl->ns->accept_judge = l.v[0];
		}
	}
	const struct ynode *model = ytree_get(v, "model");
	if (acc->kind == ACCEPT_JUDGE && rc >= 0 && (!model || model->type == YT_NULL)) {
		const struct ynode *at = rc ? v : key;
		ld_diag(c, at->line, at->col, "'accept: judge' needs 'model' (the model that "
			"scores the answer)");
	}
}

static void accept_regex(struct nodeload *nl, const struct ynode *v)
{
	struct wf_accept *acc = &nl->node->accept;
	const char *s = NULL;
	int rc = ld_str(nl->c, "regex", v, &s);
	if (rc < 0)
		return;
	if (!rc || !*s) {
		ld_diag(nl->c, v->line, v->col, "'regex' needs a pattern the answer must match");
		return;
	}
	acc->pattern = s;
	acc->re = ld_regex(nl->c, v, 0);
}

void ld_accept(struct nodeload *nl, const struct ynode *v)
{
	static const double threshold[] = {
		[ACCEPT_SELF_CHECK] = 0.7, [ACCEPT_JUDGE] = 7, [ACCEPT_AGREEMENT] = 0.67,
		[ACCEPT_REGEX] = 0,
	};
	struct loadctx *c = nl->c;
	if (ld_map(c, "accept", v) <= 0)
		return;
	const struct ynode *chosen = NULL;
	for (size_t i = 0; i < v->npairs; i++) {
		const struct ynode *k = v->pairs[i].key, *x = v->pairs[i].val;
		size_t j = 0;
		while (accept_keys[j] && strcmp(accept_keys[j], k->str))
			j++;
		if (!accept_keys[j]) {
			ld_unknown_key(c, k, accept_keys, "accept");
			continue;
		}
		if (chosen) {
			ld_diag(c, k->line, k->col, "'accept' has both '%s' and '%s' (choose one)",
				chosen->str, k->str);
			continue;
		}
		chosen = k;
		struct wf_accept *acc = &nl->node->accept;
		acc->kind = (enum accept_kind)j;
		acc->threshold = threshold[j];
		acc->samples = 3;
		if (acc->kind == ACCEPT_REGEX)
			accept_regex(nl, x);
		else
			accept_params(nl, k, x);
	}
	if (!chosen && !ld_real_keys(v))
		ld_diag(c, v->line, v->col, "'accept' needs one of self_check, judge, agreement "
			"or regex");
}
