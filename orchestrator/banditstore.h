#ifndef QUORUM_BANDITSTORE_H
#define QUORUM_BANDITSTORE_H
/* The bandit node's memory: what each bandit node has learnt about its
 * arms, its budget pacer, and every decision still waiting for a reward,
 * in one SQLite file that outlives the process. The policies are
 * aggregators/bandit.c's; this file only loads, applies and saves them,
 * each read-modify-write in one BEGIN IMMEDIATE transaction, so several
 * processes may share the file (WAL, a busy timeout) and lose no update.
 * One struct bandit_store is used by one thread at a time.
 *
 * A decision is made (bandit_store_decide: the pull is counted and the
 * projected context kept), then gets its cost when the arm has answered
 * (bandit_store_cost: the arm's mean cost and the node's pacer), then its
 * reward, now or hours later, or never (bandit_store_feedback). Each of
 * the two applies once: a second is refused. Decision ids are unique in
 * the file; by convention RUN_ID "/" NODE_ID, which
 * bandit_store_feedback_run relies on. */
#include <stddef.h>
#include <stdint.h>

#include "../aggregators/bandit.h"

struct bandit_store;

/* What the calls below return besides 0. The message is in
 * bandit_store_error. */
enum {
	BANDIT_STORE_FAIL = -1,     /* a database error or a bad argument */
	BANDIT_STORE_UNKNOWN = -2,  /* no such decision (or run) in the file */
	BANDIT_STORE_DONE = -3,     /* applied before: a second reward or cost,
				     * or a decision id already used */
};

/* The default file: $XDG_STATE_HOME/quorum/bandit.sqlite (when that is an
 * absolute path), else $HOME/.local/state/quorum/bandit.sqlite: learnt
 * state, not a cache. Returns new text (q_free), or NULL when neither is
 * set or memory ran out. */
char *bandit_store_default_path(void);

/* How long a decision is kept for its reward: 30 days. Older ones are
 * deleted when a store is opened, so the file does not grow with every
 * run for ever; what the arms learnt stays. */
#define BANDIT_DECISION_MAX_AGE_S (30L * 24 * 3600)

/* Opens the store at path, creating the file (mode 0600) and its missing
 * folders (0700), and prunes its decisions older than
 * BANDIT_DECISION_MAX_AGE_S (best effort: a store that cannot be written
 * still opens). Refuses a file that is not a database, an SQLite
 * database of something else (the response cache included), or a store
 * of a newer schema. Returns new (free with bandit_store_close), or NULL
 * with a message in err ("cannot open bandit store 'P': REASON"); err may
 * be NULL. */
struct bandit_store *bandit_store_open(const char *path, char *err, size_t n);
/* Finishes the statements and closes the file. bandit_store_close(NULL)
 * is a no-op. */
void bandit_store_close(struct bandit_store *s);

/* The key of one bandit node: "WORKFLOW/NODE#" and 16 hex digits of the
 * SHA-256 of the arm names (sorted, so their order does not matter), the
 * projection's k and the seed. Renaming, adding or removing an arm, or
 * changing proj_dim or seed, gives a new key: learning starts again from
 * the cold start (the old rows stay until deleted). Changing the policy,
 * cost_weight or budget keeps it: every policy reads the same
 * statistics. Returns new text (q_free), or NULL when memory ran out. */
char *bandit_store_node_key(const char *workflow, const char *node,
			    const char *const *arms, size_t narms,
			    const struct bandit_config *cfg);

/* One query's choice, made and recorded in one write transaction: loads
 * node_key's arms (names arms[0..narms), new ones start from the prior)
 * and pacer, picks with bandit_choose (context: the query's embedding,
 * NULL / 0 when none; steps *rng), counts the pull and saves the decision
 * (its id, the arm, the projected context) for the reward to find. why
 * (not NULL) gets the choice: why->arm indexes arms. Returns 0,
 * BANDIT_STORE_DONE when decision_id is taken, or BANDIT_STORE_FAIL
 * (duplicate or no arm names, more than BANDIT_ARMS_MAX, an empty key or
 * id, a database error). */
int bandit_store_decide(struct bandit_store *s, const char *node_key,
			const char *const *arms, size_t narms,
			const struct bandit_config *cfg, const float *context,
			size_t dim, const char *decision_id, uint64_t *rng,
			struct bandit_choice *why);

/* The decision's arm answered at cost_usd (finite, >= 0): adds it to the
 * arm's mean cost and steps the node's pacer with cfg's budget and eta
 * (bandit_update_cost). Returns 0, BANDIT_STORE_UNKNOWN,
 * BANDIT_STORE_DONE (its cost is in already), or BANDIT_STORE_FAIL. */
int bandit_store_cost(struct bandit_store *s, const char *decision_id,
		      double cost_usd, const struct bandit_config *cfg);

/* The decision's reward (in [0, 1]: a judge's score, an eval's 1 or 0, a
 * user's feedback), applied exactly once with the context kept at the
 * decision (bandit_update_reward), however late. Returns 0,
 * BANDIT_STORE_UNKNOWN ("no bandit decision 'ID'"), BANDIT_STORE_DONE
 * ("bandit decision 'ID' already has a reward (0.8)"), or
 * BANDIT_STORE_FAIL (a reward out of range, a database error). */
int bandit_store_feedback(struct bandit_store *s, const char *decision_id,
			  double reward);

/* The same reward for every decision of run_id (ids "RUN_ID/...") that
 * has none yet, in one transaction; *applied (may be NULL) gets how
 * many. Returns 0, BANDIT_STORE_UNKNOWN (the run has no decision),
 * BANDIT_STORE_DONE (all of them have a reward), or BANDIT_STORE_FAIL. */
int bandit_store_feedback_run(struct bandit_store *s, const char *run_id,
			      double reward, size_t *applied);

/* Reads node_key's state without changing it: out[i] the state of arm
 * arms[i] (the prior when the file has none), *b the pacer (may be NULL).
 * Returns 0 or BANDIT_STORE_FAIL. */
int bandit_store_load(struct bandit_store *s, const char *node_key,
		      const char *const *arms, size_t narms,
		      struct bandit_arm_state *out, struct bandit_budget *b);

/* One arm of one node, for `quorum bandit stats`. Strings are borrowed
 * for the callback's duration. */
struct bandit_arm_stats {
	const char *node_key;
	const char *arm;
	uint64_t pulls;        /* decisions that chose it */
	uint64_t rewarded;     /* of those, with a reward */
	double mean_reward;    /* NAN when none */
	double mean_cost;      /* USD per answered pull; NAN when none */
	/* The node's, repeated on each of its arms: */
	uint64_t node_queries; /* costs seen */
	double node_mean_cost; /* USD per query; NAN when none */
	double node_nu;        /* the pacer's dual variable */
};

/* Calls fn once per arm of node_key (NULL: of every node), nodes in key
 * order, arms by name. Stops at the first fn that returns non-zero and
 * returns that value; else returns 0, or BANDIT_STORE_FAIL. */
int bandit_store_stats(struct bandit_store *s, const char *node_key,
		       int (*fn)(void *ctx, const struct bandit_arm_stats *st),
		       void *ctx);

/* Deletes the decisions made more than max_age_s seconds ago (a reward
 * that comes for one later is then an unknown decision); learnt state
 * stays. Returns how many, or BANDIT_STORE_FAIL. */
long bandit_store_prune(struct bandit_store *s, long max_age_s);

/* Why the last failing call on s failed, borrowed until the next call on
 * s; "" when none has failed. */
const char *bandit_store_error(const struct bandit_store *s);

#endif
