#ifndef QUORUM_BANDIT_H
#define QUORUM_BANDIT_H
/* The bandit node's router, pure: per query it picks one arm (a model or
 * a sub-workflow), learns from rewards in [0, 1] that may arrive late or
 * never, and trades quality against cost while keeping, when asked, to an
 * average budget per query (cost-aware, budget-paced: the ParetoBandit
 * idea). No I/O, no clock, no globals: state lives in plain structs the
 * caller keeps (orchestrator/banditstore.c keeps them in SQLite), and
 * randomness comes from a caller's uint64_t, stepped by splitmix64
 * (Steele, Lea and Flood, 2014). The same state and rng give the same
 * choice on one platform (libm's log, exp and cos may differ in the last
 * bit between platforms).
 *
 * Every arm is scored as
 *
 *     score = estimate - price * mean_cost
 *     price = cost_weight + nu / budget_per_query    (nu / B only with a budget)
 *
 * and the highest score wins. estimate is the policy's: a posterior
 * sample (Thompson), an upper confidence bound (UCB), or the same over a
 * linear model of the query's projected embedding (lin-ts, lin-ucb).
 * mean_cost is the arm's observed mean USD per pull (0 before its first
 * cost: optimistic). nu is the budget pacer's dual variable
 * (bandit_update_cost). */
#include <stddef.h>
#include <stdint.h>

#include "../common/qerr.h"

#define BANDIT_ARMS_MAX 32
/* The projected context: x[0] = 1 (the intercept), x[1..k) a fixed random
 * projection of the query's embedding. */
#define BANDIT_K_MAX 32
/* bandit_choose's "no arm": bad arguments. */
#define BANDIT_NONE ((size_t)-1)

enum bandit_policy {
	/* Beta(1 + S, 1 + n - S) per arm, S the sum of its n rewards (the
	 * fractional update: reward r adds r to the successes and 1 - r to
	 * the failures; exact Beta-Bernoulli when rewards are 0 or 1). */
	BANDIT_THOMPSON,
	BANDIT_UCB1,        /* mean + c sqrt(2 ln N / n) (Auer et al., 2002) */
	BANDIT_UCB_TUNED,   /* mean + c sqrt(ln N / n min(1/4, V)) (ibid.) */
	BANDIT_LIN_TS,      /* linear Thompson sampling (Agrawal & Goyal, 2013) */
	BANDIT_LIN_UCB,     /* LinUCB, disjoint (Li et al., 2010) */
};

struct bandit_config {
	enum bandit_policy policy;
	/* What one US dollar is worth in reward (reward per USD, >= 0): an
	 * arm that costs $x more per query must score x * cost_weight more
	 * to be preferred. 100 makes a $0.002 call cost 0.2 of reward. */
	double cost_weight;
	/* USD; > 0 asks the pacer to keep the long-run mean cost per query
	 * at or under it; 0: no budget. */
	double budget_per_query;
	/* The pacer's step (dimensionless, > 0): nu grows by eta times the
	 * relative overspend of each query. Default 0.05. */
	double pacer_eta;
	/* Cold start: every arm is pulled this many times before the policy
	 * takes over, round-robin in an order drawn from seed. Default 1. */
	unsigned explore;
	/* k, the projected context's size, 2..BANDIT_K_MAX; default 16. */
	unsigned proj_dim;
	/* Seeds the projection and the cold-start order. Learnt linear
	 * models are only valid under the seed and k they were made with. */
	uint64_t seed;
	double ucb_c;       /* UCB's width multiplier (> 0); default 1 */
	double lin_v;       /* lin-ts's posterior scale v (> 0); default 0.5 */
	double ridge;       /* linear models' prior precision (> 0); default 1 */
};

/* One arm's learnt state: plain, copyable, all zero for a new arm (the
 * prior). Pulls, costs and rewards are counted apart: a cost arrives when
 * the arm has answered, a reward may come hours later or never. */
struct bandit_arm_state {
	uint64_t pulls;       /* decisions that chose this arm */
	uint64_t costed;      /* costs received */
	double cost_sum;      /* their sum, USD */
	uint64_t rewarded;    /* rewards received */
	double reward_sum;    /* their sum (each in [0, 1]) */
	double reward_sq;     /* the sum of their squares (UCB-Tuned) */
	/* The linear model over the projected context x (k = the config's
	 * proj_dim), from every reward that came with one: gram is the sum
	 * of x x^T (row-major, row stride BANDIT_K_MAX, top-left k x k used),
	 * xr the sum of reward * x. The ridge prior is added when used. */
	double gram[BANDIT_K_MAX * BANDIT_K_MAX];
	double xr[BANDIT_K_MAX];
};

/* The budget pacer's state, one per bandit node; all zero at first. */
struct bandit_budget {
	double nu;            /* the dual variable, reward units, >= 0 */
	uint64_t queries;     /* costs seen */
	double spent;         /* their sum, USD */
};

/* Why an arm was chosen: the numbers behind it, for the report. */
struct bandit_choice {
	size_t arm;
	int cold_start;       /* 1: chosen by the cold start, not the policy */
	double price;         /* reward per USD charged: cost_weight + nu / B */
	double estimate[BANDIT_ARMS_MAX];  /* sampled or optimistic reward
					    * (INFINITY: UCB, no reward yet) */
	double cost[BANDIT_ARMS_MAX];      /* the mean cost used, USD */
	double score[BANDIT_ARMS_MAX];     /* estimate - price * cost */
	/* The projected context (k = proj_dim numbers): keep it with the
	 * decision, bandit_update_reward wants it back. */
	unsigned k;
	double x[BANDIT_K_MAX];
};

/* Fills cfg with the defaults above (Thompson, no cost weight, no budget). */
void bandit_config_init(struct bandit_config *cfg);

/* Checks cfg's ranges. Returns 0, or -1 with a message in err naming the
 * field ("bandit proj_dim 40 out of range 2..32"); err may be NULL. */
int bandit_config_check(const struct bandit_config *cfg, struct qerr *err);

/* The policy's name as workflow files spell it ("thompson", "ucb1",
 * "ucb-tuned", "lin-ts", "lin-ucb"), and back: 0, or -1 for an unknown
 * name (*p untouched). */
const char *bandit_policy_name(enum bandit_policy p);
int bandit_policy_parse(const char *name, enum bandit_policy *p);

/* x[0..k) = the projected context of a query's embedding e[0..dim), k =
 * cfg->proj_dim: x[0] = 1; for j >= 1,
 *
 *     x[j] = sum_i s(j, i) e[i] / (|e| sqrt(k - 1))
 *
 * with signs s(j, i) = +1 when bit (i mod 64) of
 * mix64(seed ^ (j << 40 | i / 64)) is set, else -1, where mix64(z) is
 * splitmix64's output for state z (z + 0x9E3779B97F4A7C15, then its
 * finaliser). A random sign projection (Achlioptas, 2003) of the unit
 * embedding: |x[1..k)| is about 1 and angles are roughly kept, whatever
 * dim is; nothing to store. Non-finite entries of e count as 0; e NULL,
 * dim 0 or |e| = 0 gives x = (1, 0, ..., 0). */
void bandit_project(const struct bandit_config *cfg, const float *e, size_t dim,
		    double *x);

/* Picks one of arms[0..narms) for a query with embedding context[0..dim)
 * (NULL / 0 when there is none) and returns its index. Cold start first:
 * while some arm has fewer than cfg->explore pulls, the arm with the
 * fewest pulls wins, ties in a fixed order drawn from cfg->seed. Then the
 * highest score (see the top of this file); ties go to the arm with fewer
 * pulls, then to the cold-start order. b is the node's pacer (NULL: nu =
 * 0). Steps *rng. why (may be NULL) gets the numbers, and the projected
 * context to keep with the decision. Changes no arm: the caller counts
 * the pull with bandit_pull. Returns BANDIT_NONE when narms is 0 or over
 * BANDIT_ARMS_MAX. */
size_t bandit_choose(const struct bandit_config *cfg,
		     const struct bandit_arm_state *arms, size_t narms,
		     const float *context, size_t dim, const struct bandit_budget *b,
		     uint64_t *rng, struct bandit_choice *why);

/* Counts one decision for arm. */
void bandit_pull(struct bandit_arm_state *arm);

/* The arm chosen by a decision answered, at cost USD (>= 0; a negative or
 * non-finite cost counts as 0): adds it to the arm's mean cost and steps
 * the pacer b (may be NULL). With a budget B > 0 the pacer is projected
 * online (sub)gradient ascent on the dual of "mean cost <= B":
 *
 *     nu <- min(1e9, max(0, nu + eta (cost - B) / B))
 *
 * which is mu <- max(0, mu + (eta / B^2)(cost - B)) for the price's mu =
 * nu / B in reward per USD. Summing it over T queries bounds the mean
 * cost by B (1 + nu_T / (eta T)). Without a budget nu stays 0. queries
 * and spent always count. */
void bandit_update_cost(const struct bandit_config *cfg, struct bandit_arm_state *arm,
			struct bandit_budget *b, double cost);

/* The reward (in [0, 1]; clamped; NaN is ignored) of a decision that
 * chose arm, with x[0..k) the projected context kept from its
 * bandit_choice (x NULL, k 0 or over BANDIT_K_MAX, or a non-finite x:
 * the linear model is left alone). Sums only, so order does not matter:
 * a reward applied 50 decisions late leaves the state it would have left
 * then. Updates
 *
 *     rewarded += 1, reward_sum += r, reward_sq += r^2,
 *     gram += x x^T, xr += r x. */
void bandit_update_reward(struct bandit_arm_state *arm, double reward,
			  const double *x, unsigned k);

#endif
