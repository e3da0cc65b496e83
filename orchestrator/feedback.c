/* quorum feedback: the reward of a run's bandit choices, however late
 * (a user's score, an eval's right or wrong), applied once to every bandit
 * node of the workflow that decided in that run. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/alloc.h"
#include "run.h"

/* One bandit node: its state file, the run's decision there. */
static int feed_node(const struct wf_node *n, const char *run_id, double score,
		     size_t *applied, char **errors)
{
	char err[512];
	struct stat sb;
	/* Opening makes a missing file (and its folders): one that is not
	 * there holds no choice, and asking must not make it. */
	if (stat(n->state, &sb) && errno == ENOENT)
		return 0;
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

/* ---- quorum bandit stats ---- */

struct stats_text {
	struct buf b;
	char node[512];       /* the node of the last row: its arms follow */
	size_t nodes;
};

/* A mean, right-aligned under its heading; "-" when there is none. */
static void put_mean(struct buf *b, const char *fmt, double x)
{
	char v[64] = "-";
	if (!isnan(x))
		snprintf(v, sizeof(v), fmt, x);
	buf_printf(b, " %12s", v);
}

/* One arm, under its node's heading when it is the node's first (rows
 * come node by node). */
static int stats_row(void *ctx, const struct bandit_arm_stats *st)
{
	struct stats_text *t = ctx;
	if (!t->nodes || strncmp(t->node, st->node_key, sizeof(t->node))) {
		snprintf(t->node, sizeof(t->node), "%s", st->node_key);
		buf_printf(&t->b, "%s%s: %llu quer%s", t->nodes++ ? "\n" : "", st->node_key,
			   (unsigned long long)st->node_queries,
			   st->node_queries == 1 ? "y" : "ies");
		if (!isnan(st->node_mean_cost))
			buf_printf(&t->b, ", mean cost $%.6f", st->node_mean_cost);
		buf_printf(&t->b, "\n  %-24s %8s %9s %12s %12s\n", "arm", "pulls", "rewarded",
			   "mean reward", "mean cost");
	}
	buf_printf(&t->b, "  %-24s %8llu %9llu", st->arm, (unsigned long long)st->pulls,
		   (unsigned long long)st->rewarded);
	put_mean(&t->b, "%.3f", st->mean_reward);
	put_mean(&t->b, "$%.6f", st->mean_cost);
	buf_putc(&t->b, '\n');
	return t->b.overflow ? 1 : 0;
}

char *quorum_bandit_stats(const char *path, char **errors)
{
	struct stat sb;
	/* Opening makes a missing file: a typo would make an empty store. */
	if (!path || stat(path, &sb)) {
		run_set_error(errors, "quorum: cannot read bandit state '%s'", path ? path : "",
			      path ? errno : EINVAL);
		return NULL;
	}
	char err[512];
	struct bandit_store *s = bandit_store_open(path, err, sizeof(err));
	if (!s) {
		run_set_error(errors, "quorum: %s", err, 0);
		return NULL;
	}
	struct stats_text t = {.b = BUF_INIT};
	int rc = bandit_store_stats(s, NULL, stats_row, &t);
	char *text = NULL;
	if (rc == BANDIT_STORE_FAIL)
		run_set_error(errors, "quorum: %s", bandit_store_error(s), 0);
	else if (!rc && !t.b.overflow)
		text = q_strdup(t.nodes ? buf_str(&t.b)
				: "no bandit has learnt anything in this file yet\n");
	if (!text && rc != BANDIT_STORE_FAIL)
		run_set_error(errors, "quorum: out of memory reading '%s'", path, 0);
	buf_release(&t.b);
	bandit_store_close(s);
	return text;
}
