#ifndef QUORUM_EVALSTATS_H
#define QUORUM_EVALSTATS_H
/* The statistics of `quorum eval`, as pure functions of numbers the
 * caller has counted: an accuracy's 95 % interval (Wilson), whether two
 * systems answered the same questions differently by more than chance
 * (McNemar), latency percentiles, the cost/accuracy Pareto frontier and a
 * few helpers for the table. No I/O, no clock, no global state; only
 * evalstats_percentiles allocates. Proportions are fractions (0..1), not
 * percentages. */
#include <stddef.h>

/* The normal quantile of 0.975, to a double's precision (Python's
 * statistics.NormalDist().inv_cdf(0.975)): a two-sided 95 % interval.
 * Cut to 1.959964 it moved the bounds by up to 1.6e-8 relative. */
#define EVALSTATS_Z95 1.959963984540054

/* Below this many discordant pairs (b + c) McNemar's test is the exact
 * binomial one; from it on, chi-square with continuity correction. */
#define EVALSTATS_MCNEMAR_EXACT_BELOW 25

struct interval {
	double lo, hi;
};

/* The 95 % Wilson score interval of k successes in n trials (z =
 * EVALSTATS_Z95), clamped to [0, 1]: exactly 0 below for k = 0 and 1 above
 * for k = n. n = 0 says nothing, so it returns [0, 1]. k must not exceed
 * n (asserted; a release build clamps it to n). */
struct interval evalstats_wilson(size_t k, size_t n);

/* McNemar's test of two systems A and B on the same questions. Only the
 * discordant pairs count: b (A right, B wrong) and c (A wrong, B right). */
struct mcnemar {
	size_t b, c;
	double p;       /* two-sided p-value, in [0, 1]; 1 when b + c = 0 */
	double chi2;    /* the corrected statistic (|b - c| - 1)^2 / (b + c);
			 * 0 when the exact test was used */
	int exact;      /* 1: exact binomial test, 0: chi-square */
};

/* The test from the discordant counts. With b + c below
 * EVALSTATS_MCNEMAR_EXACT_BELOW the p-value is the exact two-sided
 * binomial one, min(1, 2 P(X <= min(b, c))) with X ~ Bin(b + c, 1/2),
 * summed in log space; otherwise it is chi-square(1)'s survival function
 * at the continuity-corrected statistic, erfc(sqrt(chi2 / 2)). */
struct mcnemar evalstats_mcnemar(size_t b, size_t c);

/* The same from paired outcomes: a[i] and b[i] say whether A and B got
 * question i right (nonzero) or not (0). Both arrays hold n entries,
 * borrowed for the call. */
struct mcnemar evalstats_mcnemar_paired(const unsigned char *a, const unsigned char *b,
					size_t n);

/* The q-quantile (q in [0, 1], clamped) of n values already sorted
 * ascending, by linear interpolation between the closest ranks (R's type
 * 7, numpy's default): h = (n - 1) q, x[floor h] + (h - floor h)
 * (x[floor h + 1] - x[floor h]). So q = 0.5 of an even count is the mean
 * of the middle two, and q = 0.95 of 1..20 is 19.05. NaN when n = 0.
 * Infinite values stay infinite (q = 0 of {5, inf} is 5, q = 0.5 is inf);
 * strictly between -inf and inf it is NaN. */
double evalstats_percentile_sorted(const double *sorted, size_t n, double q);

/* Several quantiles of x (any order, n entries; NaNs are left out): out[i]
 * is the qs[i]-quantile, as evalstats_percentile_sorted defines it, NaN
 * when no value is left. x is not modified: the values are copied and the
 * copy sorted. Returns 0, or -1 when out of memory (out untouched). */
int evalstats_percentiles(const double *x, size_t n, const double *qs, size_t nq,
			  double *out);

/* The Pareto frontier of n points (cost[i], acc[i]): the points no other
 * point dominates, where j dominates i when cost[j] <= cost[i] and acc[j]
 * >= acc[i] with at least one strict. Equal points do not dominate each
 * other, so all of them stay. Points whose cost or accuracy is NaN (or
 * whose cost is negative: unknown) take no part: neither on the frontier
 * nor dominating. Writes the frontier's indices to front (room for n) by
 * cost ascending, then accuracy ascending, then index, so accuracy never
 * falls along it; returns how many. O(n^2), for a table's worth of
 * points. */
size_t evalstats_pareto(const double *cost, const double *acc, size_t n, size_t *front);

/* The mean of the values of x that are not NaN (an agreement that does
 * not apply, a latency that was not measured); NaN when there are none. */
double evalstats_mean(const double *x, size_t n);

/* The index of the best of n systems: the highest accuracy, then the
 * lowest cost (an unknown cost, NaN, loses to any known one), then the
 * first. NaN accuracies are passed over. Returns n when none is left. */
size_t evalstats_best(const double *acc, const double *cost, size_t n);

/* A p-value for a table, into out (size n, at least 8 bytes for the whole
 * text): "<0.001" below 0.001, else two significant digits in fixed
 * notation ("0.0027", "0.092", "0.34", "1.00"; 0.0999 rounds to "0.10"),
 * never fewer than two decimals; "-" for NaN. Returns out. */
char *evalstats_format_p(double p, char *out, size_t n);

#endif
