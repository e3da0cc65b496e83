#ifndef QUORUM_LEARN_H
#define QUORUM_LEARN_H
#include <stddef.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/qerr.h"

/* A learned router between a weak and a strong model, after RouteLLM (Ong
 * et al., "RouteLLM: Learning to Route LLMs with Preference Data", ICLR
 * 2025, arXiv:2406.18665): a scorer maps a query's embedding to
 * P(strong needed | query), a route sends the query to the strong model
 * when that score is >= a threshold T, and the router is judged by the
 * paper's PGR, APGR and CPT. Pure: no I/O but JSON text, no clock, no
 * globals; deterministic.
 *
 * A scorer lives in the arena it was made in and is immutable once made
 * (only `threshold` and `has_threshold` may be set by the caller): all
 * its memory goes with arena_free, so there is no scorer_free. It is a
 * plain struct because the router commands read kind, model, dim and the
 * fit report, and the tests read the weights; the one derived part
 * (`fold_w`, `fold_b`) is kept in step by every function that makes one. */

#define SCORER_MAX_DIM 8192       /* embedding width */
#define SCORER_MAX_RANK 128       /* matrix factorisation's inner width */
#define SCORER_MAX_CALIB 1001     /* calibration points kept */
#define SCORER_MAX_MODEL 256      /* bytes of an embedding model's name */
#define SCORER_JSON_MAX (64u << 20)

enum scorer_kind {
	SCORER_LOGREG, /* sigmoid(b + w . z) */
	SCORER_MF,     /* sigmoid(b + (v_strong - v_weak) . (P z)) */
};

enum scorer_solver {
	SCORER_SOLVER_AUTO,   /* Newton for dim <= 512, else L-BFGS */
	SCORER_SOLVER_NEWTON, /* damped Newton (IRLS), Cholesky, line search */
	SCORER_SOLVER_LBFGS,  /* L-BFGS, 10 pairs, Armijo backtracking */
};

/* How a fit went, kept in the router file under "training". */
struct scorer_fit_info {
	size_t n;           /* queries with a positive weight */
	double positives;   /* sum of weight * label: "strong needed" mass */
	double l2;          /* the penalty it was fitted with */
	int iterations;
	int converged;      /* the gradient's largest entry fell below tol */
	int one_class;      /* labels all 0 or all 1: the base-rate fallback */
	double loss;        /* final objective: mean log loss + penalty */
	const char *solver; /* "newton", "lbfgs", "base-rate" (static); NULL
			     * when read from a file without "training" */
};

/* z = (x - mean) / scale, feature by feature, is what the weights see. */
struct scorer {
	enum scorer_kind kind;
	const char *model;     /* embedding model it was trained on; "" unknown */
	size_t dim;
	double *mean, *scale;  /* dim each; scale > 0 */
	double bias;           /* b, both kinds */
	/* SCORER_LOGREG */
	double *weights;       /* dim */
	/* SCORER_MF: RouteLLM's matrix factorisation for two models */
	size_t rank;
	double *proj;          /* P: rank rows of dim, row-major */
	double *v_strong, *v_weak; /* rank each */
	/* The route's threshold, when one was calibrated. */
	int has_threshold;
	double threshold;
	/* Scores of the calibration queries, ascending: all of them, or the
	 * SCORER_MAX_CALIB quantiles at i / (ncalib - 1). Maps a share of
	 * strong calls to a threshold without the data. */
	double *calib;
	size_t ncalib;
	struct scorer_fit_info fit;
	/* Derived: the model folded into raw embedding space, so a score is
	 * one dot product: sigmoid(fold_b + fold_w . x). */
	double *fold_w;
	double fold_b;
};

/* Training data, all borrowed for the call. Row i is x[i*dim .. i*dim+dim),
 * its label y[i] in [0, 1] (1: the strong model was needed; fractions are
 * soft labels), its weight w[i] >= 0 (w NULL: every weight 1). */
struct scorer_data {
	const float *x;
	const double *y;
	const double *w;
	size_t n, dim;
};

/* Fit options; {0} asks for every default. */
struct scorer_opts {
	const char *model;  /* embedding model name, copied; NULL: "" */
	double l2;          /* lambda in mean(w * logloss) / mean(w) + lambda/2 |theta|^2,
			     * theta the standardised weights (logreg) or P and
			     * both model vectors (mf), never the bias; <= 0: 1e-2 */
	int max_iter;       /* <= 0: 100 Newton steps or 2000 L-BFGS steps */
	double tol;         /* on the gradient's largest entry; <= 0: 1e-7 */
	enum scorer_solver solver; /* logreg only; mf always uses L-BFGS */
	size_t rank;        /* mf: 0 means 16 */
	uint64_t seed;      /* mf: its starting point; same seed, same fit */
};

/* RouteLLM's "win" label from one row of `quorum eval`: 1 when the strong
 * model was needed (strong right, weak wrong), 0 when the weak one sufficed
 * (weak right, whatever the strong did: RouteLLM's weak model wins ties, so
 * both right is 0), and both_wrong when neither was right (RouteLLM: 0, as
 * the strong call bought nothing; 0.5 says "unknown" as a soft label).
 * Nonzero means right. */
double scorer_label(int weak_right, int strong_right, double both_wrong);

/* Fits L2-regularised logistic regression on standardised features and
 * returns the scorer, allocated in a (borrowed until arena_free), with its
 * calibration table from the training queries' own scores. Deterministic.
 * Minimises mean(w * logloss) / mean(w) + l2/2 |weights|^2 (the bias is not
 * penalised), so l2 > 0 keeps separable data and n < dim finite. Labels
 * all 0 or all 1 (by weight) fall back to the smoothed base rate
 * (positives + 0.5) / (weight + 1) with zero weights. A fit that reaches
 * max_iter is still returned, with fit.converged 0. Returns NULL with err
 * filled when the data are empty or not finite, a label is outside [0, 1],
 * a weight is negative or every weight 0, dim is 0 or above
 * SCORER_MAX_DIM, or memory ran out. */
struct scorer *scorer_fit_logreg(const struct scorer_data *d, const struct scorer_opts *o,
				 struct arena *a, struct qerr *err);

/* Fits RouteLLM's matrix factorisation router adapted to two models:
 * score = sigmoid(b + (v_strong - v_weak) . (P z)) with P rank x dim, by
 * L-BFGS on the same loss with l2/2 (|P|^2 + |v_strong|^2 + |v_weak|^2),
 * from a start drawn from o->seed. With two models the score is still
 * linear in z (weights P^T (v_strong - v_weak)), so it can rank queries
 * no better than scorer_fit_logreg; it differs in the penalty, which
 * here acts on the weights' norm rather than its square. Returns as
 * scorer_fit_logreg does, and the same errors, plus a rank above
 * SCORER_MAX_RANK. */
struct scorer *scorer_fit_mf(const struct scorer_data *d, const struct scorer_opts *o,
			     struct arena *a, struct qerr *err);

/* P(strong needed | query) for the embedding x (s->dim floats, borrowed):
 * in [0, 1), never 1, so a threshold of 1 routes nothing to the strong
 * model and 0 routes everything; NaN when x holds NaN or an infinity.
 * One dot product: a microsecond or so at dim 1536. */
double scorer_score(const struct scorer *s, const float *x);

/* Replaces s's calibration table with scores[0..n) (any order, finite,
 * borrowed): kept whole when n <= SCORER_MAX_CALIB, else as that many
 * quantiles. Use it to calibrate on queries the scorer was not fitted on.
 * Returns 0, or -1 with err filled (n 0, a score not finite, memory). */
int scorer_set_calibration(struct scorer *s, const double *scores, size_t n,
			   struct arena *a, struct qerr *err);

/* The threshold T at which about `share` of the calibration queries score
 * >= T: the (1 - share) quantile, linearly interpolated (RouteLLM's
 * calibrate_threshold, pandas' default quantile). share <= 0 gives 1 (no
 * strong call), share >= 1 gives 0 (all). NaN when share is NaN or s has
 * no calibration table. */
double scorer_threshold_for_share(const struct scorer *s, double share);

/* The inverse: the share of the calibration queries, read as the
 * interpolated distribution above, whose score is >= t; scores tied at t
 * count as reaching it. In [0, 1]; NaN when t is NaN or s has no table. */
double scorer_share_at(const struct scorer *s, double t);

/* Appends s as one JSON object, the router file ("format":
 * "quorum-router", "version": 1), numbers printed so they read back
 * bit for bit. Returns 0, or -1 when out refused (memory, its cap). */
int scorer_to_json(const struct scorer *s, struct buf *out);

/* Reads a router file (text[0..len), need not be NUL-terminated) into a
 * scorer allocated in a (borrowed until arena_free). Checks everything:
 * format and version, known keys only, kind, dim in 1..SCORER_MAX_DIM and
 * every array of the length it implies, finite numbers, positive scales,
 * a threshold in [0, 1], calibration scores ascending in [0, 1], the
 * size limits above. Returns NULL with err naming the field
 * ("'standardize.scale[3]' must be a positive number") on any problem. */
struct scorer *scorer_from_json(const char *text, size_t len, struct arena *a,
				struct qerr *err);

/* ---- Judging a router: RouteLLM's metrics (section 2.2 of the paper). ----
 *
 * For scores s_i and the quality of the weak and the strong model's answer
 * to query i (1 right, 0 wrong, or a grade), the router R_T sends query i
 * to the strong model when s_i >= T. Its strong-call share
 * c(T) = #{s_i >= T} / n and its quality r(T) = mean of the chosen
 * model's quality; PGR(T) = (r(T) - r_weak) / (r_strong - r_weak), the
 * performance gap recovered; APGR = integral of PGR over the share c
 * from 0 to 1; CPT(x) = the least share whose PGR reaches x (the paper's
 * "call-performance threshold", CPT(50%), CPT(80%)). Between two
 * consecutive thresholds the curve is a straight line: the router that
 * breaks the tie at the boundary at random, in expectation. PGR may leave
 * [0, 1] on the way: where only the weak model is right, a strong call
 * loses quality. */

struct router_point {
	double threshold;  /* T; above the highest score for the first point */
	double share;      /* c(T), ascending from 0 to 1 */
	double quality;    /* r(T) */
	double pgr;        /* PGR(T); NaN when r_strong <= r_weak */
};

struct router_metrics {
	size_t n;
	double q_weak, q_strong;      /* r of always-weak, always-strong */
	struct router_point *curve;   /* one point per distinct score, plus share 0 */
	size_t ncurve;
	/* NaN when r_strong <= r_weak: no gap to recover. */
	double apgr;          /* the paper's discretisation, 10 equal steps of
			       * share, summed by the trapezoid rule at c = 0,
			       * 0.1, .., 1 as its evaluate.py does (np.trapz) */
	double apgr_curve;    /* the exact area under the whole curve */
	double cpt50, cpt80;  /* CPT(50%), CPT(80%) as shares in [0, 1] */
	/* Baselines on the same queries. The random router's PGR(c) is c in
	 * expectation: APGR 0.5, CPT(x) = x. The oracle knows the answers and
	 * sends the queries with the largest gain first (RouteLLM's
	 * get_optimal_accuracy); its APGR uses the 10 steps too. */
	double random_apgr, random_cpt50, random_cpt80;
	double oracle_apgr, oracle_cpt50, oracle_cpt80;
};

/* Computes m for scores[0..n) and the qualities q_weak[0..n) and
 * q_strong[0..n) (borrowed; any finite numbers), the curve allocated in a
 * (borrowed until arena_free). Returns 0, or -1 with err filled (n 0, a
 * value not finite, memory). */
int router_metrics_compute(struct router_metrics *m, const double *scores,
			   const double *q_weak, const double *q_strong, size_t n,
			   struct arena *a, struct qerr *err);

/* PGR at strong-call share c on m's curve (interpolated; c clamped to
 * [0, 1]); NaN when m has no gap. */
double router_metrics_pgr_at(const struct router_metrics *m, double c);

/* CPT(x): the least share at which m's PGR reaches x (0.8 for CPT(80%));
 * 0 for x <= 0; NaN when m has no gap or PGR never reaches x. */
double router_metrics_cpt(const struct router_metrics *m, double x);

/* APGR by the trapezoid rule at the steps + 1 shares 0, 1/steps, .., 1
 * (the paper: 10), or over every point of the curve when steps is 0. NaN
 * when m has no gap. */
double router_metrics_apgr(const struct router_metrics *m, int steps);

#endif
