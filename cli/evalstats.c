/* The statistics of `quorum eval`: pure, see evalstats.h. */
#include "evalstats.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"

struct interval evalstats_wilson(size_t k, size_t n)
{
	struct interval r = {0.0, 1.0};
	assert(k <= n);
	if (n == 0)
		return r;
	if (k > n)
		k = n;
	double nn = (double)n, ph = (double)k / nn;
	double z = EVALSTATS_Z95, z2 = z * z;
	double den = 1.0 + z2 / nn;
	double centre = (ph + z2 / (2.0 * nn)) / den;
	double half = z * sqrt(ph * (1.0 - ph) / nn + z2 / (4.0 * nn * nn)) / den;
	/* At k = 0 (k = n) the formula gives 0 (1) up to rounding: say it
	 * exactly, as the interval of a clean sweep should read. */
	r.lo = k == 0 ? 0.0 : fmax(0.0, centre - half);
	r.hi = k == n ? 1.0 : fmin(1.0, centre + half);
	return r;
}

/* log(exp(a) + exp(b)) without overflow or underflow. */
static double log_add(double a, double b)
{
	if (a < b) {
		double t = a;
		a = b;
		b = t;
	}
	return b == -INFINITY ? a : a + log1p(exp(b - a));
}

/* log P(X <= k), X ~ Bin(n, 1/2), k <= n. Each term is log C(n, i) - n log 2,
 * stepped from the last by log((n - i) / (i + 1)), so nothing as large as
 * C(n, i) or as small as 2^-n is ever formed. */
static double log_binom_half_cdf(size_t k, size_t n)
{
	double term = -(double)n * log(2.0), sum = term;
	for (size_t i = 0; i < k; i++) {
		term += log((double)(n - i)) - log((double)(i + 1));
		sum = log_add(sum, term);
	}
	return sum;
}

struct mcnemar evalstats_mcnemar(size_t b, size_t c)
{
	struct mcnemar r = {.b = b, .c = c, .p = 1.0, .chi2 = 0.0, .exact = 1};
	size_t n = b + c;
	if (n == 0)
		return r;
	if (n < EVALSTATS_MCNEMAR_EXACT_BELOW) {
		size_t k = b < c ? b : c;
		/* Two-sided: the tail on the smaller side, doubled (the
		 * distribution is symmetric); when b = c that counts the middle
		 * term twice, hence the cap at 1. */
		double p = 2.0 * exp(log_binom_half_cdf(k, n));
		r.p = p > 1.0 ? 1.0 : p;
		return r;
	}
	double d = b > c ? (double)(b - c) : (double)(c - b);
	d = d > 1.0 ? d - 1.0 : 0.0;
	r.exact = 0;
	r.chi2 = d * d / (double)n;
	/* chi-square with one degree of freedom is the square of a standard
	 * normal: P(Z^2 > x) = erfc(sqrt(x / 2)). */
	r.p = erfc(sqrt(r.chi2 / 2.0));
	return r;
}

struct mcnemar evalstats_mcnemar_paired(const unsigned char *a, const unsigned char *b,
					size_t n)
{
	size_t nb = 0, nc = 0;
	for (size_t i = 0; i < n; i++) {
		int ra = a[i] != 0, rb = b[i] != 0;
		nb += ra && !rb;
		nc += !ra && rb;
	}
	return evalstats_mcnemar(nb, nc);
}

double evalstats_percentile_sorted(const double *sorted, size_t n, double q)
{
	if (n == 0)
		return NAN;
	if (!(q > 0.0))     /* NaN too */
		q = 0.0;
	if (q > 1.0)
		q = 1.0;
	double h = (double)(n - 1) * q;
	size_t lo = (size_t)h;
	if (lo >= n - 1)
		return sorted[n - 1];
	double f = h - (double)lo, a = sorted[lo], b = sorted[lo + 1];
	/* On a rank, or between equal values, no arithmetic: 0 * inf and
	 * inf - inf would make an infinite value NaN. Strictly between a
	 * finite value and an infinite one, the infinite one; between -inf
	 * and inf there is no answer (NaN). */
	if (f == 0.0 || a == b)
		return a;
	if (isinf(a) || isinf(b))
		return isinf(a) && isinf(b) ? NAN : isinf(a) ? a : b;
	return a + f * (b - a);
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

int evalstats_percentiles(const double *x, size_t n, const double *qs, size_t nq,
			  double *out)
{
	double *v = q_malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -1;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(x[i]))
			v[m++] = x[i];
	/* Without NaNs the comparison is a total order, as qsort needs. */
	qsort(v, m, sizeof(*v), cmp_double);
	for (size_t i = 0; i < nq; i++)
		out[i] = evalstats_percentile_sorted(v, m, qs[i]);
	q_free(v);
	return 0;
}

static int pareto_usable(const double *cost, const double *acc, size_t i)
{
	return !isnan(cost[i]) && !isnan(acc[i]) && cost[i] >= 0.0;
}

/* Whether j dominates i: no dearer, no less accurate, better in one. */
static int dominates(const double *cost, const double *acc, size_t j, size_t i)
{
	return cost[j] <= cost[i] && acc[j] >= acc[i] &&
	       (cost[j] < cost[i] || acc[j] > acc[i]);
}

/* The frontier's order: cost, then accuracy, then index. */
static int front_before(const double *cost, const double *acc, size_t i, size_t j)
{
	if (cost[i] != cost[j])
		return cost[i] < cost[j];
	if (acc[i] != acc[j])
		return acc[i] < acc[j];
	return i < j;
}

size_t evalstats_pareto(const double *cost, const double *acc, size_t n, size_t *front)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!pareto_usable(cost, acc, i))
			continue;
		int beaten = 0;
		for (size_t j = 0; j < n && !beaten; j++)
			beaten = j != i && pareto_usable(cost, acc, j) && dominates(cost, acc, j, i);
		if (beaten)
			continue;
		/* Insertion into place: the frontier is a handful of points. */
		size_t at = m++;
		while (at > 0 && front_before(cost, acc, i, front[at - 1])) {
			front[at] = front[at - 1];
			at--;
		}
		front[at] = i;
	}
	return m;
}

double evalstats_mean(const double *x, size_t n)
{
	double sum = 0.0;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(x[i])) {
			sum += x[i];
			m++;
		}
	return m ? sum / (double)m : NAN;
}

size_t evalstats_best(const double *acc, const double *cost, size_t n)
{
	size_t best = n;
	for (size_t i = 0; i < n; i++) {
		if (isnan(acc[i]))
			continue;
		if (best == n || acc[i] > acc[best]) {
			best = i;
			continue;
		}
		if (acc[i] < acc[best])
			continue;
		/* Equal accuracy: the cheaper, a known cost before an unknown. */
		if (!isnan(cost[i]) && (isnan(cost[best]) || cost[i] < cost[best]))
			best = i;
	}
	return best;
}

char *evalstats_format_p(double p, char *out, size_t n)
{
	if (!n)
		return out;
	if (isnan(p)) {
		snprintf(out, n, "-");
		return out;
	}
	if (p < 0.001) {
		snprintf(out, n, "<0.001");
		return out;
	}
	/* Two significant digits: 0.0923 -> 0.092, 0.00268 -> 0.0027. The
	 * leading digit's place is taken after rounding to two digits, as
	 * %.1e rounds (the same rounding as %f's): 0.0999 rounds to 1.0e-01,
	 * so "0.10", not "0.100". */
	char e[32];
	snprintf(e, sizeof(e), "%.1e", p);
	const char *x = strchr(e, 'e');
	int decimals = x ? 1 - atoi(x + 1) : 2;
	if (decimals < 2)
		decimals = 2;
	snprintf(out, n, "%.*f", decimals, p);
	return out;
}
