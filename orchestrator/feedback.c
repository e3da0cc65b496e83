/* quorum feedback: the reward of a run's bandit choices, however late
 * (a user's score, an eval's right or wrong), applied once to every bandit
 * node of the workflow that decided in that run. */
#include <stdio.h>
#include <string.h>

#include "../common/alloc.h"
#include "run.h"

/* One bandit node: its state file, the run's decision there. */
static int feed_node(const struct wf_node *n, const char *run_id, double score,
		     size_t *applied, char **errors)
{
	char err[512];
	struct bandit_store *s = bandit_store_open(n->state, err, sizeof(err));
	if (!s) {
		run_set_error(errors, "quorum: %s", err, 0);
		return -1;
	}
	size_t k = 0;
	int rc = bandit_store_feedback_run(s, run_id, score, &k);
	if (rc == BANDIT_STORE_FAIL)
		run_set_error(errors, "quorum: %s", bandit_store_error(s), 0);
	bandit_store_close(s);
	*applied += k;
	return rc == BANDIT_STORE_FAIL ? -1 : 0;
}

long quorum_feedback(const struct quorum_workflow *qw, const char *run_id, double score,
		     char **errors)
{
	if (!(score >= 0 && score <= 1)) {
		run_set_error(errors, "quorum: a reward is a number from 0 to 1%s", "", 0);
		return -1;
	}
	size_t applied = 0;
	int bandits = 0;
	for (size_t i = 0; i < qw->wf->nnodes; i++) {
		const struct wf_node *n = qw->wf->nodes[i];
		if (n->kind != NK_BANDIT || !n->state)
			continue;
		bandits++;
		if (feed_node(n, run_id, score, &applied, errors))
			return -1;
	}
	if (!bandits) {
		run_set_error(errors, "quorum: the workflow has no bandit node to reward%s", "", 0);
		return -1;
	}
	return (long)applied;
}

size_t quorum_workflow_feedback_bandits(const struct quorum_workflow *qw)
{
	size_t n = 0;
	for (size_t i = 0; i < qw->wf->nnodes; i++)
		n += qw->wf->nodes[i]->kind == NK_BANDIT && !qw->wf->nodes[i]->reward_judge;
	return n;
}
