#include "learn.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "../common/rng.h"

#define NEWTON_MAX_DIM 512
#define LBFGS_PAIRS 10
#define ARMIJO 1e-4
#define DEFAULT_L2 1e-2
#define DEFAULT_TOL 1e-7
#define DEFAULT_RANK 16

/* ---- numbers ---- */

static double sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	double e = exp(z);
	return e / (1.0 + e);
}

/* log(1 + e^z) without overflow. */
static double softplus(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static double dot_fd(const float *x, const double *v, size_t n)
{
	double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
	size_t j = 0;
	for (; j + 4 <= n; j += 4) {
		a0 += x[j] * v[j];
		a1 += x[j + 1] * v[j + 1];
		a2 += x[j + 2] * v[j + 2];
		a3 += x[j + 3] * v[j + 3];
	}
	for (; j < n; j++)
		a0 += x[j] * v[j];
	return (a0 + a1) + (a2 + a3);
}

/* (x - m) . v: centring first keeps a large mean from cancelling away
 * the digits that matter (training only; scoring folds the mean in). */
static double dot_centred(const float *x, const double *m, const double *v, size_t n)
{
	double a0 = 0, a1 = 0;
	size_t j = 0;
	for (; j + 2 <= n; j += 2) {
		a0 += (x[j] - m[j]) * v[j];
		a1 += (x[j + 1] - m[j + 1]) * v[j + 1];
	}
	for (; j < n; j++)
		a0 += (x[j] - m[j]) * v[j];
	return a0 + a1;
}

static double dot(const double *a, const double *b, size_t n)
{
	double s = 0;
	for (size_t j = 0; j < n; j++)
		s += a[j] * b[j];
	return s;
}

static double norm_inf(const double *a, size_t n)
{
	double m = 0;
	for (size_t j = 0; j < n; j++)
		if (fabs(a[j]) > m)
			m = fabs(a[j]);
	return m;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A standard normal for the mf starting point, from splitmix64: the
 * state lives in the caller, so there is no global. */
static double gauss(uint64_t *s)
{
	double u = splitmix64_unit(s, 0.5);
	double v = splitmix64_unit(s, 0.5);
	return box_muller(u, v);
}

double scorer_label(int weak_right, int strong_right, double both_wrong)
{
	if (weak_right)
		return 0.0;
	return strong_right ? 1.0 : both_wrong;
}

/* ---- fitting ---- */

struct fitctx {
	const struct scorer_data *d;
	const double *mean, *scale;
	double wsum, l2;
	size_t rank;
	double *v, *acc, *beta, *gbeta; /* dim each: scratch */
};

static double weight(const struct scorer_data *d, size_t i)
{
	return d->w ? d->w[i] : 1.0;
}

static int check_data(const struct scorer_data *d, double *wsum, double *ysum,
		      size_t *used, struct qerr *err)
{
	if (!d || d->n == 0)
		return qerr_set(err, "no training queries");
	if (d->dim == 0 || d->dim > SCORER_MAX_DIM)
		return qerr_set(err, "embedding dimension %zu is not in 1..%d", d->dim,
				SCORER_MAX_DIM);
	if (d->n > SIZE_MAX / d->dim)
		return qerr_set(err, "too many training queries");
	*wsum = *ysum = 0;
	*used = 0;
	for (size_t i = 0; i < d->n; i++) {
		double w = weight(d, i), y = d->y[i];
		if (!isfinite(w) || w < 0)
			return qerr_set(err, "weight %zu is not a number >= 0", i);
		if (!(y >= 0 && y <= 1))
			return qerr_set(err, "label %zu is not in [0, 1]", i);
		const float *x = d->x + i * d->dim;
		for (size_t j = 0; j < d->dim; j++)
			if (!isfinite(x[j]))
				return qerr_set(err, "embedding %zu: value %zu is not finite", i, j);
		*wsum += w;
		*ysum += w * y;
		*used += w > 0;
	}
	if (!(*wsum > 0))
		return qerr_set(err, "every training weight is 0");
	return 0;
}

/* Weighted mean and standard deviation per feature (two passes, in
 * double). A constant feature keeps scale 1: its weight then sees only
 * rounding noise and the penalty holds it at about 0. */
static void standardise(const struct scorer_data *d, double wsum, double *mean, double *scale)
{
	size_t dim = d->dim;
	memset(mean, 0, dim * sizeof(double));
	memset(scale, 0, dim * sizeof(double));
	for (size_t i = 0; i < d->n; i++) {
		double w = weight(d, i);
		const float *x = d->x + i * dim;
		for (size_t j = 0; j < dim; j++)
			mean[j] += w * x[j];
	}
	for (size_t j = 0; j < dim; j++)
		mean[j] /= wsum;
	for (size_t i = 0; i < d->n; i++) {
		double w = weight(d, i);
		const float *x = d->x + i * dim;
		for (size_t j = 0; j < dim; j++) {
			double t = x[j] - mean[j];
			scale[j] += w * t * t;
		}
	}
	for (size_t j = 0; j < dim; j++) {
		double sd = sqrt(scale[j] / wsum);
		scale[j] = sd > 1e-9 * fmax(1.0, fabs(mean[j])) ? sd : 1.0;
	}
}

/* The data term for weights beta on standardised features and bias b:
 * returns sum(w * logloss) / sum(w); with gbeta, also fills its gradient
 * in beta (dim) and *gb in b. */
static double data_pass(struct fitctx *c, const double *beta, double b, double *gbeta,
			double *gb)
{
	const struct scorer_data *d = c->d;
	size_t dim = d->dim;
	double f = 0, rsum = 0;
	for (size_t j = 0; j < dim; j++)
		c->v[j] = beta[j] / c->scale[j];
	if (gbeta)
		memset(c->acc, 0, dim * sizeof(double));
	for (size_t i = 0; i < d->n; i++) {
		double w = weight(d, i);
		if (w == 0)
			continue;
		const float *x = d->x + i * dim;
		double z = b + dot_centred(x, c->mean, c->v, dim), y = d->y[i];
		f += w * (softplus(z) - y * z);
		if (gbeta) {
			double r = w * (sigmoid(z) - y);
			rsum += r;
			for (size_t j = 0; j < dim; j++)
				c->acc[j] += r * (x[j] - c->mean[j]);
		}
	}
	if (gbeta) {
		for (size_t j = 0; j < dim; j++)
			gbeta[j] = c->acc[j] / c->scale[j] / c->wsum;
		*gb = rsum / c->wsum;
	}
	return f / c->wsum;
}

/* Logistic regression's objective; th = (beta[0..dim), b). */
static double lr_fg(void *ctx, const double *th, double *g)
{
	struct fitctx *c = ctx;
	size_t dim = c->d->dim;
	double f = data_pass(c, th, th[dim], g, g ? &g[dim] : NULL);
	f += 0.5 * c->l2 * dot(th, th, dim);
	if (g)
		for (size_t j = 0; j < dim; j++)
			g[j] += c->l2 * th[j];
	return f;
}

/* Matrix factorisation's objective; th = (P[rank][dim], v_strong[rank],
 * v_weak[rank], b). The score is linear in z with beta = P^T u, u =
 * v_strong - v_weak, so one data pass serves: dL/dP = u gbeta^T and
 * dL/du = P gbeta. */
static double mf_fg(void *ctx, const double *th, double *g)
{
	struct fitctx *c = ctx;
	size_t dim = c->d->dim, k = c->rank;
	const double *P = th, *vs = th + k * dim, *vw = vs + k;
	double b = vw[k];
	memset(c->beta, 0, dim * sizeof(double));
	for (size_t r = 0; r < k; r++) {
		double u = vs[r] - vw[r];
		for (size_t j = 0; j < dim; j++)
			c->beta[j] += u * P[r * dim + j];
	}
	double gb = 0;
	double f = data_pass(c, c->beta, b, g ? c->gbeta : NULL, &gb);
	size_t np = k * dim + 2 * k;
	f += 0.5 * c->l2 * dot(th, th, np);
	if (g) {
		for (size_t r = 0; r < k; r++) {
			double u = vs[r] - vw[r];
			double h = dot(P + r * dim, c->gbeta, dim);
			for (size_t j = 0; j < dim; j++)
				g[r * dim + j] = u * c->gbeta[j] + c->l2 * P[r * dim + j];
			g[k * dim + r] = h + c->l2 * vs[r];
			g[k * dim + k + r] = -h + c->l2 * vw[r];
		}
		g[np] = gb;
	}
	return f;
}

#define HESS_BLOCK 64

/* Adds the block's rows to H's upper triangle: zt holds D columns of nb
 * standardised values (column j at zt + j * HESS_BLOCK), wz the same
 * times each row's weight. Column-major so the inner sum is contiguous. */
static void hessian_block(double *H, size_t D, const double *zt, const double *wz, size_t nb)
{
	for (size_t j = 0; j < D; j++) {
		const double *a = wz + j * HESS_BLOCK;
		for (size_t k = j; k < D; k++) {
			const double *b = zt + k * HESS_BLOCK;
			double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
			size_t r = 0, n4 = nb - nb % 4;
			for (; r < n4; r += 4) {
				s0 += a[r] * b[r];
				s1 += a[r + 1] * b[r + 1];
				s2 += a[r + 2] * b[r + 2];
				s3 += a[r + 3] * b[r + 3];
			}
			for (; r < nb; r++)
				s0 += a[r] * b[r];
			H[j * D + k] += (s0 + s1) + (s2 + s3);
		}
	}
}

/* H = Z^T diag(w p (1 - p)) Z / sum(w) + l2 on the weights, Z the
 * standardised rows with a 1 for the bias; D = dim + 1, row-major. Rows
 * go in blocks of HESS_BLOCK so H is swept once a block, not once a row.
 * work holds 2 * D * HESS_BLOCK doubles. */
static void lr_hessian(struct fitctx *c, const double *th, double *H, double *work)
{
	const struct scorer_data *d = c->d;
	size_t dim = d->dim, D = dim + 1, nb = 0;
	double *zt = work, *wz = work + D * HESS_BLOCK;
	for (size_t j = 0; j < dim; j++)
		c->v[j] = th[j] / c->scale[j];
	memset(H, 0, D * D * sizeof(double));
	for (size_t i = 0; i < d->n; i++) {
		double w = weight(d, i);
		if (w == 0)
			continue;
		const float *x = d->x + i * dim;
		double p = sigmoid(th[dim] + dot_centred(x, c->mean, c->v, dim));
		double h = w * p * (1 - p) / c->wsum;
		for (size_t j = 0; j < dim; j++) {
			zt[j * HESS_BLOCK + nb] = (x[j] - c->mean[j]) / c->scale[j];
			wz[j * HESS_BLOCK + nb] = h * zt[j * HESS_BLOCK + nb];
		}
		zt[dim * HESS_BLOCK + nb] = 1.0;
		wz[dim * HESS_BLOCK + nb] = h;
		if (++nb == HESS_BLOCK) {
			hessian_block(H, D, zt, wz, nb);
			nb = 0;
		}
	}
	if (nb)
		hessian_block(H, D, zt, wz, nb);
	for (size_t j = 0; j < dim; j++)
		H[j * D + j] += c->l2;
	for (size_t j = 0; j < D; j++)
		for (size_t k = 0; k < j; k++)
			H[j * D + k] = H[k * D + j];
}

/* Solves H x = g in place of g by Cholesky (H is overwritten); a matrix
 * that is not numerically positive definite gets a growing ridge. Returns
 * 0, or -1 when even the ridge did not help. */
static int cholesky_solve(double *H, double *g, size_t D, double *work)
{
	double ridge = 0, top = 0;
	for (size_t j = 0; j < D; j++)
		top = fmax(top, H[j * D + j]);
	memcpy(work, H, D * D * sizeof(double));
	for (int attempt = 0; attempt < 8; attempt++) {
		int ok = 1;
		if (attempt) {
			memcpy(H, work, D * D * sizeof(double));
			ridge = ridge ? ridge * 100 : 1e-12 * (1 + top);
			for (size_t j = 0; j < D; j++)
				H[j * D + j] += ridge;
		}
		for (size_t j = 0; j < D && ok; j++) {
			double s = H[j * D + j] - dot(H + j * D, H + j * D, j);
			if (!(s > 0)) {
				ok = 0;
				break;
			}
			double l = sqrt(s);
			H[j * D + j] = l;
			for (size_t i = j + 1; i < D; i++)
				H[i * D + j] = (H[i * D + j] - dot(H + i * D, H + j * D, j)) / l;
		}
		if (!ok)
			continue;
		for (size_t i = 0; i < D; i++)
			g[i] = (g[i] - dot(H + i * D, g, i)) / H[i * D + i];
		for (size_t i = D; i-- > 0;) {
			double s = g[i];
			for (size_t k = i + 1; k < D; k++)
				s -= H[k * D + i] * g[k];
			g[i] = s / H[i * D + i];
		}
		return 0;
	}
	return -1;
}

struct solve_out {
	int iterations, converged;
	double loss;
};

/* Damped Newton: full steps near the optimum (quadratic convergence),
 * halved until the loss drops enough (Armijo) far from it. */
static int newton(struct fitctx *c, double *th, int max_iter, double tol, struct solve_out *so)
{
	size_t D = c->d->dim + 1;
	double *H = q_malloc(D * D * sizeof(double));
	double *work = q_malloc(D * (D > 2 * HESS_BLOCK ? D : 2 * HESS_BLOCK) * sizeof(double));
	double *buf = q_malloc(4 * D * sizeof(double));
	if (!H || !work || !buf) {
		q_free(H);
		q_free(work);
		q_free(buf);
		return -1;
	}
	double *g = buf, *step = buf + D, *tn = buf + 2 * D, *gn = buf + 3 * D;
	double f = lr_fg(c, th, g);
	so->converged = 0;
	so->iterations = 0;
	while (so->iterations < max_iter) {
		if (norm_inf(g, D) <= tol) {
			so->converged = 1;
			break;
		}
		lr_hessian(c, th, H, work);
		memcpy(step, g, D * sizeof(double));
		if (cholesky_solve(H, step, D, work) < 0)
			break;
		double dg = dot(g, step, D), t = 1, fn = f;
		int ok = 0;
		for (int h = 0; h < 60 && !ok; h++, t *= 0.5) {
			for (size_t j = 0; j < D; j++)
				tn[j] = th[j] - t * step[j];
			fn = lr_fg(c, tn, gn);
			ok = fn <= f - ARMIJO * t * dg;
		}
		if (!ok)
			break;
		memcpy(th, tn, D * sizeof(double));
		memcpy(g, gn, D * sizeof(double));
		f = fn;
		so->iterations++;
	}
	if (!so->converged && norm_inf(g, D) <= tol)
		so->converged = 1;
	so->loss = f;
	q_free(H);
	q_free(work);
	q_free(buf);
	return 0;
}

/* L-BFGS's memory: up to LBFGS_PAIRS pairs (s, y), newest at head - 1. */
struct lbfgs_mem {
	double *S, *Y, rho[LBFGS_PAIRS];
	int count, head;
	size_t D;
};

/* The two-loop recursion (Nocedal and Wright, algorithm 7.4): dir = -H g
 * for the inverse Hessian H the pairs imply, scaled by gamma. */
static void lbfgs_direction(const struct lbfgs_mem *L, const double *g, double *dir)
{
	const int m = LBFGS_PAIRS;
	size_t D = L->D;
	double alpha[LBFGS_PAIRS], gamma;
	memcpy(dir, g, D * sizeof(double));
	for (int i = 0; i < L->count; i++) {
		int k = (L->head - 1 - i + m) % m;
		alpha[k] = L->rho[k] * dot(L->S + k * D, dir, D);
		for (size_t j = 0; j < D; j++)
			dir[j] -= alpha[k] * L->Y[k * D + j];
	}
	if (L->count) {
		int k = (L->head - 1 + m) % m;
		gamma = dot(L->S + k * D, L->Y + k * D, D) / dot(L->Y + k * D, L->Y + k * D, D);
	} else {
		/* No curvature yet: a first step of length at most 1. */
		gamma = fmin(1.0, 1.0 / fmax(sqrt(dot(g, g, D)), 1e-300));
	}
	for (size_t j = 0; j < D; j++)
		dir[j] *= gamma;
	for (int i = L->count - 1; i >= 0; i--) {
		int k = (L->head - 1 - i + m) % m;
		double beta = L->rho[k] * dot(L->Y + k * D, dir, D);
		for (size_t j = 0; j < D; j++)
			dir[j] += L->S[k * D + j] * (alpha[k] - beta);
	}
	for (size_t j = 0; j < D; j++)
		dir[j] = -dir[j];
}

/* Keeps the pair (xn - x, gn - g) when its curvature s.y is positive. */
static void lbfgs_push(struct lbfgs_mem *L, const double *x, const double *xn,
		       const double *g, const double *gn)
{
	size_t D = L->D;
	double *s = L->S + L->head * D, *y = L->Y + L->head * D;
	for (size_t j = 0; j < D; j++) {
		s[j] = xn[j] - x[j];
		y[j] = gn[j] - g[j];
	}
	double sy = dot(s, y, D);
	if (sy > 1e-12 * sqrt(dot(s, s, D) * dot(y, y, D))) {
		L->rho[L->head] = 1.0 / sy;
		L->head = (L->head + 1) % LBFGS_PAIRS;
		if (L->count < LBFGS_PAIRS)
			L->count++;
	}
}

/* L-BFGS with Armijo backtracking: a direction that does not descend, or
 * a line search that fails, restarts from the gradient; a failure from
 * the gradient ends the search. */
static int lbfgs(double (*fg)(void *, const double *, double *), void *ctx, double *x,
		 size_t D, int max_iter, double tol, struct solve_out *so)
{
	double *mem = q_malloc((2 * LBFGS_PAIRS + 4) * D * sizeof(double));
	if (!mem)
		return -1;
	struct lbfgs_mem L = {.S = mem, .Y = mem + LBFGS_PAIRS * D, .D = D};
	double *g = L.Y + LBFGS_PAIRS * D, *dir = g + D, *xn = dir + D, *gn = xn + D;
	double f = fg(ctx, x, g);
	so->converged = 0;
	so->iterations = 0;
	while (so->iterations < max_iter && !(so->converged = norm_inf(g, D) <= tol)) {
		lbfgs_direction(&L, g, dir);
		double dg = dot(g, dir, D);
		if (!(dg < 0)) {
			L.count = 0;
			lbfgs_direction(&L, g, dir);
			dg = dot(g, dir, D);
		}
		double t = 1, fn = f;
		int ok = 0;
		for (int h = 0; h < 60 && !ok; h++, t *= 0.5) {
			for (size_t j = 0; j < D; j++)
				xn[j] = x[j] + t * dir[j];
			fn = fg(ctx, xn, gn);
			ok = fn <= f + ARMIJO * t * dg;
		}
		if (!ok && L.count == 0)
			break;
		if (!ok) {
			L.count = 0; /* stale curvature */
			continue;
		}
		lbfgs_push(&L, x, xn, g, gn);
		memcpy(x, xn, D * sizeof(double));
		memcpy(g, gn, D * sizeof(double));
		double drop = f - fn;
		f = fn;
		so->iterations++;
		if (drop <= 1e-16 * fabs(f) && norm_inf(g, D) <= 1e3 * tol)
			break; /* stalled in rounding, close enough to stop */
	}
	if (!so->converged && norm_inf(g, D) <= tol)
		so->converged = 1;
	so->loss = f;
	q_free(mem);
	return 0;
}

static double *arena_doubles(struct arena *a, size_t n)
{
	return n > SIZE_MAX / sizeof(double) ? NULL : arena_alloc(a, n * sizeof(double));
}

/* Folds the model into raw space: score = sigmoid(fold_b + fold_w . x). */
static int scorer_fold(struct scorer *s, struct arena *a)
{
	size_t dim = s->dim;
	s->fold_w = arena_doubles(a, dim);
	if (!s->fold_w)
		return -1;
	if (s->kind == SCORER_LOGREG) {
		memcpy(s->fold_w, s->weights, dim * sizeof(double));
	} else {
		for (size_t r = 0; r < s->rank; r++) {
			double u = s->v_strong[r] - s->v_weak[r];
			for (size_t j = 0; j < dim; j++)
				s->fold_w[j] += u * s->proj[r * dim + j];
		}
	}
	s->fold_b = s->bias;
	for (size_t j = 0; j < dim; j++) {
		s->fold_w[j] /= s->scale[j];
		s->fold_b -= s->mean[j] * s->fold_w[j];
	}
	return 0;
}

double scorer_score(const struct scorer *s, const float *x)
{
	double z = s->fold_b + dot_fd(x, s->fold_w, s->dim);
	if (!isfinite(z))
		return NAN;
	double p = sigmoid(z);
	return p < 1.0 ? p : nextafter(1.0, 0.0);
}

/* Allocates a scorer of the given shape in a, zeroed. */
static struct scorer *scorer_alloc(struct arena *a, enum scorer_kind kind, const char *model,
				   size_t dim, size_t rank)
{
	struct scorer *s = arena_alloc(a, sizeof(*s));
	if (!s)
		return NULL;
	s->kind = kind;
	s->dim = dim;
	s->rank = kind == SCORER_MF ? rank : 0;
	s->model = arena_strdup(a, model ? model : "");
	s->mean = arena_doubles(a, dim);
	s->scale = arena_doubles(a, dim);
	if (!s->model || !s->mean || !s->scale)
		return NULL;
	if (kind == SCORER_LOGREG) {
		if (!(s->weights = arena_doubles(a, dim)))
			return NULL;
	} else {
		s->proj = arena_doubles(a, rank * dim);
		s->v_strong = arena_doubles(a, rank);
		s->v_weak = arena_doubles(a, rank);
		if (!s->proj || !s->v_strong || !s->v_weak)
			return NULL;
	}
	return s;
}

/* Calibrates s on its own training queries. */
static int calibrate_on_training(struct scorer *s, const struct scorer_data *d,
				 struct arena *a, struct qerr *err)
{
	double *sc = q_malloc(d->n * sizeof(double));
	if (!sc)
		return qerr_set(err, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++)
		if (weight(d, i) > 0)
			sc[k++] = scorer_score(s, d->x + i * d->dim);
	int rc = scorer_set_calibration(s, sc, k, a, err);
	q_free(sc);
	return rc;
}

/* Runs s's solver from th (np parameters: logreg's weights and bias, or
 * mf's P, v_strong, v_weak and bias). Returns 0, or -1 out of memory. */
static int solve(struct fitctx *c, const struct scorer_opts *o, struct scorer *s, double *th,
		 size_t np, struct solve_out *so)
{
	double tol = o->tol > 0 ? o->tol : DEFAULT_TOL;
	if (s->kind == SCORER_LOGREG) {
		int use_newton = o->solver == SCORER_SOLVER_NEWTON ||
				 (o->solver == SCORER_SOLVER_AUTO && s->dim <= NEWTON_MAX_DIM);
		int max_iter = o->max_iter > 0 ? o->max_iter : use_newton ? 100 : 2000;
		s->fit.solver = use_newton ? "newton" : "lbfgs";
		return use_newton ? newton(c, th, max_iter, tol, so)
				  : lbfgs(lr_fg, c, th, np, max_iter, tol, so);
	}
	/* A start off the saddle at P = 0, v = 0, where the gradient vanishes;
	 * P's rows of norm about 1, so P z starts at about unit scale. */
	uint64_t st = o->seed;
	size_t dim = s->dim, k = s->rank;
	for (size_t j = 0; j < k * dim; j++)
		th[j] = gauss(&st) / sqrt((double)dim);
	for (size_t r = 0; r < 2 * k; r++)
		th[k * dim + r] = 0.1 * gauss(&st);
	s->fit.solver = "lbfgs";
	return lbfgs(mf_fg, c, th, np, o->max_iter > 0 ? o->max_iter : 2000, tol, so);
}

static void store(struct scorer *s, const double *th, size_t np)
{
	size_t dim = s->dim, k = s->rank;
	if (s->kind == SCORER_LOGREG) {
		memcpy(s->weights, th, dim * sizeof(double));
	} else {
		memcpy(s->proj, th, k * dim * sizeof(double));
		memcpy(s->v_strong, th + k * dim, k * sizeof(double));
		memcpy(s->v_weak, th + k * dim + k, k * sizeof(double));
	}
	s->bias = th[np - 1];
}

static struct scorer *fit(const struct scorer_data *d, const struct scorer_opts *o,
			  enum scorer_kind kind, struct arena *a, struct qerr *err)
{
	static const struct scorer_opts defaults = {0};
	if (!o)
		o = &defaults;
	double wsum = 0, ysum = 0, *scratch = NULL, *th = NULL;
	size_t used = 0, dim = d ? d->dim : 0, rank = o->rank ? o->rank : DEFAULT_RANK;
	if (check_data(d, &wsum, &ysum, &used, err) < 0)
		return NULL;
	if (kind == SCORER_MF && rank > SCORER_MAX_RANK) {
		qerr_set(err, "rank %zu is above %d", rank, SCORER_MAX_RANK);
		return NULL;
	}
	struct scorer *s = scorer_alloc(a, kind, o->model, dim, rank);
	size_t np = kind == SCORER_LOGREG ? dim + 1 : rank * dim + 2 * rank + 1;
	if (!s || !(scratch = q_malloc(4 * dim * sizeof(double))) ||
	    !(th = q_calloc(np, sizeof(double))))
		goto oom;
	struct fitctx c = {.d = d, .mean = s->mean, .scale = s->scale, .wsum = wsum,
			   .l2 = o->l2 > 0 ? o->l2 : DEFAULT_L2, .rank = rank, .v = scratch,
			   .acc = scratch + dim, .beta = scratch + 2 * dim,
			   .gbeta = scratch + 3 * dim};
	standardise(d, wsum, s->mean, s->scale);
	s->fit = (struct scorer_fit_info){.n = used, .positives = ysum, .l2 = c.l2,
					  .solver = "base-rate", .converged = 1};
	/* Relative to the total weight: a sum of many weights rounds. */
	s->fit.one_class = ysum <= 1e-12 * wsum || ysum >= wsum * (1 - 1e-12);
	double base = (ysum + 0.5) / (wsum + 1);
	th[np - 1] = log(base / (1 - base));
	struct solve_out so = {0, 1, 0};
	if (s->fit.one_class)
		so.loss = kind == SCORER_LOGREG ? lr_fg(&c, th, NULL) : mf_fg(&c, th, NULL);
	else if (solve(&c, o, s, th, np, &so) < 0)
		goto oom;
	store(s, th, np);
	s->fit.iterations = so.iterations;
	s->fit.converged = so.converged;
	s->fit.loss = so.loss;
	q_free(th);
	q_free(scratch);
	if (scorer_fold(s, a) < 0) {
		qerr_set(err, "out of memory");
		return NULL;
	}
	return calibrate_on_training(s, d, a, err) < 0 ? NULL : s;
oom:
	q_free(th);
	q_free(scratch);
	qerr_set(err, "out of memory");
	return NULL;
}

struct scorer *scorer_fit_logreg(const struct scorer_data *d, const struct scorer_opts *o,
				 struct arena *a, struct qerr *err)
{
	return fit(d, o, SCORER_LOGREG, a, err);
}

struct scorer *scorer_fit_mf(const struct scorer_data *d, const struct scorer_opts *o,
			     struct arena *a, struct qerr *err)
{
	return fit(d, o, SCORER_MF, a, err);
}

/* ---- calibration ---- */

/* The p-quantile of v[0..n) ascending, linearly interpolated at position
 * p (n - 1) (pandas' and numpy's default). */
static double quantile(const double *v, size_t n, double p)
{
	if (n == 1)
		return v[0];
	double h = p * (double)(n - 1);
	size_t lo = (size_t)floor(h);
	if (lo >= n - 1)
		return v[n - 1];
	return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

int scorer_set_calibration(struct scorer *s, const double *scores, size_t n,
			   struct arena *a, struct qerr *err)
{
	if (n == 0)
		return qerr_set(err, "no calibration scores");
	for (size_t i = 0; i < n; i++)
		if (!isfinite(scores[i]))
			return qerr_set(err, "calibration score %zu is not finite", i);
	double *v = q_malloc(n * sizeof(double));
	if (!v)
		return qerr_set(err, "out of memory");
	memcpy(v, scores, n * sizeof(double));
	qsort(v, n, sizeof(double), cmp_double);
	size_t k = n <= SCORER_MAX_CALIB ? n : SCORER_MAX_CALIB;
	double *t = arena_doubles(a, k);
	if (!t) {
		q_free(v);
		return qerr_set(err, "out of memory");
	}
	for (size_t i = 0; i < k; i++)
		t[i] = k == n ? v[i] : quantile(v, n, (double)i / (double)(k - 1));
	q_free(v);
	s->calib = t;
	s->ncalib = k;
	return 0;
}

double scorer_threshold_for_share(const struct scorer *s, double share)
{
	if (isnan(share) || s->ncalib == 0)
		return NAN;
	if (share <= 0)
		return 1.0;
	if (share >= 1)
		return 0.0;
	return quantile(s->calib, s->ncalib, 1.0 - share);
}

double scorer_share_at(const struct scorer *s, double t)
{
	const double *c = s->calib;
	size_t k = s->ncalib;
	if (isnan(t) || k == 0)
		return NAN;
	if (t <= c[0])
		return 1.0;
	if (t > c[k - 1])
		return 0.0;
	/* The first point >= t; c[lo - 1] < t. */
	size_t lo = 1, hi = k - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c[mid] >= t)
			hi = mid;
		else
			lo = mid + 1;
	}
	double p = (double)lo;
	if (c[lo] > t)
		p = (double)(lo - 1) + (t - c[lo - 1]) / (c[lo] - c[lo - 1]);
	return 1.0 - p / (double)(k - 1);
}

/* ---- the router file ---- */

/* The shortest of %.15g, %.16g, %.17g that reads back as v. */
static int put_num(struct buf *b, double v)
{
	char s[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	return buf_puts(b, s);
}

static int put_array(struct buf *b, const double *v, size_t n)
{
	int rc = buf_putc(b, '[');
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i)
			rc = buf_putc(b, ',');
		rc = rc ? rc : put_num(b, v[i]);
	}
	return rc ? rc : buf_putc(b, ']');
}

static int put_key(struct buf *b, const char *indent, const char *key)
{
	return buf_printf(b, ",\n%s\"%s\": ", indent, key);
}

static int put_model(struct buf *b, const struct scorer *s)
{
	int rc = 0;
	if (s->kind == SCORER_LOGREG) {
		rc |= put_key(b, "  ", "logreg") | buf_puts(b, "{\"weights\": ");
		rc |= put_array(b, s->weights, s->dim);
	} else {
		rc |= put_key(b, "  ", "mf") | buf_printf(b, "{\"rank\": %zu", s->rank);
		rc |= buf_puts(b, ",\n    \"projection\": [");
		for (size_t r = 0; r < s->rank; r++) {
			rc |= buf_puts(b, r ? ",\n      " : "\n      ");
			rc |= put_array(b, s->proj + r * s->dim, s->dim);
		}
		rc |= buf_puts(b, "],\n    \"strong\": ") | put_array(b, s->v_strong, s->rank);
		rc |= buf_puts(b, ",\n    \"weak\": ") | put_array(b, s->v_weak, s->rank);
	}
	rc |= buf_puts(b, ",\n    \"bias\": ") | put_num(b, s->bias) | buf_putc(b, '}');
	return rc;
}

static int put_training(struct buf *b, const struct scorer_fit_info *f)
{
	if (!f->solver)
		return 0; /* read from a file without one */
	int rc = put_key(b, "  ", "training");
	rc |= buf_printf(b, "{\"n\": %zu, \"positives\": ", f->n) | put_num(b, f->positives);
	rc |= buf_puts(b, ", \"l2\": ") | put_num(b, f->l2);
	rc |= buf_printf(b, ", \"solver\": \"%s\", \"iterations\": %d", f->solver,
			 f->iterations);
	rc |= buf_printf(b, ", \"converged\": %s, \"one_class\": %s, \"loss\": ",
			 f->converged ? "true" : "false", f->one_class ? "true" : "false");
	rc |= put_num(b, f->loss) | buf_putc(b, '}');
	return rc;
}

int scorer_to_json(const struct scorer *s, struct buf *out)
{
	int rc = buf_puts(out, "{\n  \"format\": \"quorum-router\",\n  \"version\": 1");
	rc |= put_key(out, "  ", "kind");
	rc |= buf_puts(out, s->kind == SCORER_LOGREG ? "\"logreg\"" : "\"mf\"");
	rc |= put_key(out, "  ", "embedding") | buf_puts(out, "{\"model\": ");
	rc |= buf_put_json_str(out, s->model ? s->model : "");
	rc |= buf_printf(out, ", \"dim\": %zu}", s->dim);
	rc |= put_key(out, "  ", "standardize") | buf_puts(out, "{\"mean\": ");
	rc |= put_array(out, s->mean, s->dim) | buf_puts(out, ",\n    \"scale\": ");
	rc |= put_array(out, s->scale, s->dim) | buf_putc(out, '}');
	rc |= put_model(out, s);
	if (s->has_threshold)
		rc |= put_key(out, "  ", "threshold") | put_num(out, s->threshold);
	rc |= put_key(out, "  ", "calibration") | buf_puts(out, "{\"scores\": ");
	rc |= put_array(out, s->calib, s->ncalib) | buf_putc(out, '}');
	rc |= put_training(out, &s->fit);
	rc |= buf_puts(out, "\n}\n");
	return rc ? -1 : 0;
}

/* Reading it back: every message names the field by its path. */

enum check { ANY, POSITIVE, UNIT };

static void path_of(char *out, size_t n, const char *path, const char *key)
{
	snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}

static int keys_ok(const cJSON *obj, const char *path, const char *const *keys,
		   struct qerr *err)
{
	char p[128];
	for (const cJSON *c = obj->child; c; c = c->next) {
		const char *name = c->string ? c->string : "";
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], name) != 0)
			i++;
		path_of(p, sizeof p, path, name);
		if (!keys[i])
			return qerr_set(err, "unknown key '%s'", p);
		for (const cJSON *e = obj->child; e != c; e = e->next)
			if (e->string && strcmp(e->string, name) == 0)
				return qerr_set(err, "duplicate key '%s'", p);
	}
	return 0;
}

/* obj.key, which must be an object; NULL with err filled when it is not. */
static const cJSON *get_object(const cJSON *obj, const char *path, const char *key,
			       struct qerr *err)
{
	char p[128];
	path_of(p, sizeof p, path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		qerr_set(err, "missing '%s'", p);
	else if (!cJSON_IsObject(v))
		qerr_set(err, "'%s' must be an object, not %s", p, json_type_name(v));
	return cJSON_IsObject(v) ? v : NULL;
}

static int get_number(const cJSON *obj, const char *path, const char *key, double *out,
		      struct qerr *err)
{
	char p[128];
	path_of(p, sizeof p, path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return qerr_set(err, "missing '%s'", p);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return qerr_set(err, "'%s' must be a finite number", p);
	*out = v->valuedouble;
	return 0;
}

static int get_size(const cJSON *obj, const char *path, const char *key, size_t lo,
		    size_t hi, size_t *out, struct qerr *err)
{
	char p[128];
	double v = 0;
	if (get_number(obj, path, key, &v, err) < 0)
		return -1;
	path_of(p, sizeof p, path, key);
	if (v != floor(v) || v < (double)lo || v > (double)hi)
		return qerr_set(err, "'%s' must be an integer from %zu to %zu", p, lo, hi);
	*out = (size_t)v;
	return 0;
}

/* Copies the JSON array v (called name) of exactly n numbers into out. */
static int read_numbers(const cJSON *v, const char *name, size_t n, enum check check,
			double *out, struct qerr *err)
{
	static const char *const what[] = {"a finite number", "a positive number",
					   "a number from 0 to 1"};
	if (!v)
		return qerr_set(err, "missing '%s'", name);
	if (!cJSON_IsArray(v))
		return qerr_set(err, "'%s' must be an array, not %s", name, json_type_name(v));
	const cJSON *e = v->child;
	size_t i = 0;
	for (; e && i < n; e = e->next, i++) {
		double x = cJSON_IsNumber(e) ? e->valuedouble : NAN;
		int ok = isfinite(x) && (check != POSITIVE || x > 0) &&
			 (check != UNIT || (x >= 0 && x <= 1));
		if (!ok)
			return qerr_set(err, "'%s[%zu]' must be %s", name, i, what[check]);
		out[i] = x;
	}
	if (e || i != n)
		return qerr_set(err, "'%s' must hold %zu numbers, not %d", name, n,
				cJSON_GetArraySize(v));
	return 0;
}

static int get_numbers(const cJSON *obj, const char *path, const char *key, size_t n,
		       enum check check, double *out, struct qerr *err)
{
	char p[128];
	path_of(p, sizeof p, path, key);
	return read_numbers(cJSON_GetObjectItemCaseSensitive(obj, key), p, n, check, out, err);
}

static int read_model(const cJSON *root, struct scorer *s, struct qerr *err)
{
	if (s->kind == SCORER_LOGREG) {
		const cJSON *lr = get_object(root, "", "logreg", err);
		static const char *const keys[] = {"weights", "bias", NULL};
		if (!lr || keys_ok(lr, "logreg", keys, err) < 0 ||
		    get_numbers(lr, "logreg", "weights", s->dim, ANY, s->weights, err) < 0)
			return -1;
		return get_number(lr, "logreg", "bias", &s->bias, err);
	}
	const cJSON *mf = get_object(root, "", "mf", err);
	static const char *const keys[] = {"rank", "projection", "strong", "weak", "bias", NULL};
	if (!mf || keys_ok(mf, "mf", keys, err) < 0)
		return -1;
	const cJSON *pr = cJSON_GetObjectItemCaseSensitive(mf, "projection");
	if (!pr)
		return qerr_set(err, "missing 'mf.projection'");
	if (!cJSON_IsArray(pr) || cJSON_GetArraySize(pr) != (int)s->rank)
		return qerr_set(err, "'mf.projection' must be an array of %zu arrays (mf.rank)",
				s->rank);
	size_t r = 0;
	for (const cJSON *row = pr->child; row; row = row->next, r++) {
		char p[64];
		snprintf(p, sizeof p, "mf.projection[%zu]", r);
		if (read_numbers(row, p, s->dim, ANY, s->proj + r * s->dim, err) < 0)
			return -1;
	}
	if (get_numbers(mf, "mf", "strong", s->rank, ANY, s->v_strong, err) < 0 ||
	    get_numbers(mf, "mf", "weak", s->rank, ANY, s->v_weak, err) < 0)
		return -1;
	return get_number(mf, "mf", "bias", &s->bias, err);
}

static int read_calibration(const cJSON *root, struct scorer *s, struct arena *a,
			    struct qerr *err)
{
	static const char *const keys[] = {"scores", NULL};
	const cJSON *cal = get_object(root, "", "calibration", err);
	if (!cal || keys_ok(cal, "calibration", keys, err) < 0)
		return -1;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cal, "scores");
	int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
	if (cJSON_IsArray(v) && (n < 1 || n > SCORER_MAX_CALIB))
		return qerr_set(err, "'calibration.scores' must hold 1 to %d numbers, not %d",
				SCORER_MAX_CALIB, n);
	if (!(s->calib = arena_doubles(a, n > 0 ? (size_t)n : 1)))
		return qerr_set(err, "out of memory");
	s->ncalib = (size_t)n;
	if (read_numbers(v, "calibration.scores", s->ncalib, UNIT, s->calib, err) < 0)
		return -1;
	for (size_t i = 1; i < s->ncalib; i++)
		if (s->calib[i] < s->calib[i - 1])
			return qerr_set(err, "'calibration.scores' must be ascending: [%zu] is "
					"below [%zu]", i, i - 1);
	return 0;
}

static int get_bool(const cJSON *obj, const char *key, int *out, struct qerr *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return qerr_set(err, "missing 'training.%s'", key);
	if (!cJSON_IsBool(v))
		return qerr_set(err, "'training.%s' must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* "training", the fit's report, is optional; when there, it is whole. */
static int read_training(const cJSON *root, struct scorer_fit_info *f, struct qerr *err)
{
	static const char *const keys[] = {"n", "positives", "l2", "solver", "iterations",
					   "converged", "one_class", "loss", NULL};
	static const char *const solvers[] = {"newton", "lbfgs", "base-rate"};
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "training");
	f->solver = NULL;
	if (!t)
		return 0;
	if (!cJSON_IsObject(t))
		return qerr_set(err, "'training' must be an object, not %s", json_type_name(t));
	if (keys_ok(t, "training", keys, err) < 0)
		return -1;
	const char *sv = json_get_str(t, "solver");
	for (size_t i = 0; i < 3 && sv; i++)
		if (strcmp(sv, solvers[i]) == 0)
			f->solver = solvers[i];
	if (!f->solver)
		return qerr_set(err, "'training.solver' must be \"newton\", \"lbfgs\" or "
				"\"base-rate\"");
	size_t iters = 0;
	if (get_size(t, "training", "n", 0, SIZE_MAX >> 11, &f->n, err) < 0 ||
	    get_size(t, "training", "iterations", 0, 1000000000, &iters, err) < 0 ||
	    get_number(t, "training", "positives", &f->positives, err) < 0 ||
	    get_number(t, "training", "l2", &f->l2, err) < 0 ||
	    get_number(t, "training", "loss", &f->loss, err) < 0 ||
	    get_bool(t, "converged", &f->converged, err) < 0 ||
	    get_bool(t, "one_class", &f->one_class, err) < 0)
		return -1;
	f->iterations = (int)iters;
	return 0;
}

/* format, version, kind, and the embedding's model and dim. */
static int read_header(const cJSON *root, enum scorer_kind *kind, const char **model,
		       size_t *dim, struct qerr *err)
{
	const char *fmt = json_get_str(root, "format"), *k = json_get_str(root, "kind");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!fmt || strcmp(fmt, "quorum-router") != 0)
		return qerr_set(err, "'format' must be \"quorum-router\"");
	if (!cJSON_IsNumber(ver) || ver->valuedouble != 1)
		return qerr_set(err, "'version' must be 1");
	if (!k || (strcmp(k, "logreg") != 0 && strcmp(k, "mf") != 0))
		return qerr_set(err, "'kind' must be \"logreg\" or \"mf\"");
	*kind = strcmp(k, "logreg") == 0 ? SCORER_LOGREG : SCORER_MF;
	static const char *const top[] = {"format", "version", "kind", "embedding",
					  "standardize", "logreg", "mf", "threshold",
					  "calibration", "training", NULL};
	if (keys_ok(root, "", top, err) < 0)
		return -1;
	const char *other = *kind == SCORER_LOGREG ? "mf" : "logreg";
	if (cJSON_GetObjectItemCaseSensitive(root, other))
		return qerr_set(err, "'%s' does not go with kind \"%s\"", other, k);
	static const char *const keys[] = {"model", "dim", NULL};
	const cJSON *emb = get_object(root, "", "embedding", err);
	if (!emb || keys_ok(emb, "embedding", keys, err) < 0)
		return -1;
	*model = json_get_str(emb, "model");
	if (!*model || strlen(*model) > SCORER_MAX_MODEL)
		return qerr_set(err, "'embedding.model' must be a string of at most %d bytes",
				SCORER_MAX_MODEL);
	return get_size(emb, "embedding", "dim", 1, SCORER_MAX_DIM, dim, err);
}

static struct scorer *read_root(const cJSON *root, struct arena *a, struct qerr *err)
{
	enum scorer_kind kind = SCORER_LOGREG;
	const char *model = "";
	size_t dim = 0, rank = 0;
	if (!cJSON_IsObject(root)) {
		qerr_set(err, "a router file holds one JSON object");
		return NULL;
	}
	if (read_header(root, &kind, &model, &dim, err) < 0)
		return NULL;
	const cJSON *mf = kind == SCORER_MF ? get_object(root, "", "mf", err) : NULL;
	if (kind == SCORER_MF &&
	    (!mf || get_size(mf, "mf", "rank", 1, SCORER_MAX_RANK, &rank, err) < 0))
		return NULL;
	struct scorer *s = scorer_alloc(a, kind, model, dim, rank);
	if (!s) {
		qerr_set(err, "out of memory");
		return NULL;
	}
	static const char *const keys[] = {"mean", "scale", NULL};
	const cJSON *st = get_object(root, "", "standardize", err);
	if (!st || keys_ok(st, "standardize", keys, err) < 0 ||
	    get_numbers(st, "standardize", "mean", dim, ANY, s->mean, err) < 0 ||
	    get_numbers(st, "standardize", "scale", dim, POSITIVE, s->scale, err) < 0 ||
	    read_model(root, s, err) < 0)
		return NULL;
	const cJSON *th = cJSON_GetObjectItemCaseSensitive(root, "threshold");
	if (th) {
		if (!cJSON_IsNumber(th) || !(th->valuedouble >= 0 && th->valuedouble <= 1)) {
			qerr_set(err, "'threshold' must be a number from 0 to 1");
			return NULL;
		}
		s->has_threshold = 1;
		s->threshold = th->valuedouble;
	}
	if (read_calibration(root, s, a, err) < 0 || read_training(root, &s->fit, err) < 0)
		return NULL;
	if (scorer_fold(s, a) < 0) {
		qerr_set(err, "out of memory");
		return NULL;
	}
	int finite = isfinite(s->fold_b);
	for (size_t j = 0; j < dim && finite; j++)
		finite = isfinite(s->fold_w[j]);
	if (!finite) {
		qerr_set(err, "the weights divided by 'standardize.scale' overflow");
		return NULL;
	}
	return s;
}

/* The values the largest router holds, with room for the small keys:
 * mean, scale and mf's projection of SCORER_MAX_DIM each, its two
 * vectors, the calibration table, the training report. */
#define SCORER_MAX_VALUES                                                         \
	((size_t)(SCORER_MAX_RANK + 2) * SCORER_MAX_DIM + 2 * SCORER_MAX_RANK +   \
	 SCORER_MAX_CALIB + SCORER_MAX_MODEL + 64)

/* Each value past an array's or object's first comes after a comma (a
 * comma in a string counts too, which only overcounts). cJSON spends
 * some 64 bytes on every value: a 64 MiB file of "0," would cost GiBs. */
static int too_many_values(const char *text, size_t len)
{
	size_t commas = 0;
	for (const char *p = text, *end = text + len;
	     (p = memchr(p, ',', (size_t)(end - p))) != NULL; p++)
		if (++commas > SCORER_MAX_VALUES)
			return 1;
	return 0;
}

struct scorer *scorer_from_json(const char *text, size_t len, struct arena *a,
				struct qerr *err)
{
	if (len > SCORER_JSON_MAX) {
		qerr_set(err, "router file is larger than %u MiB", SCORER_JSON_MAX >> 20);
		return NULL;
	}
	if (too_many_values(text, len)) {
		qerr_set(err, "router file has more values than the largest router holds (%zu)",
			 (size_t)SCORER_MAX_VALUES);
		return NULL;
	}
	cJSON *root = json_parse(text, len, 8);
	if (!root) {
		qerr_set(err, "router file is not valid JSON");
		return NULL;
	}
	struct scorer *s = read_root(root, a, err);
	cJSON_Delete(root);
	return s;
}

/* ---- RouteLLM's metrics ---- */

/* PGR at share c on the polyline p[0..n) (shares ascending from 0 to 1). */
static double curve_pgr_at(const struct router_point *p, size_t n, double c)
{
	if (!(c > 0))
		return p[0].pgr;
	if (c >= 1)
		return p[n - 1].pgr;
	size_t lo = 0, hi = n - 1; /* p[lo].share <= c < p[hi].share */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (p[mid].share <= c)
			lo = mid;
		else
			hi = mid;
	}
	double t = (c - p[lo].share) / (p[hi].share - p[lo].share);
	return p[lo].pgr + t * (p[hi].pgr - p[lo].pgr);
}

static double curve_cpt(const struct router_point *p, size_t n, double x)
{
	if (isnan(x) || isnan(p[0].pgr))
		return NAN;
	if (x <= 0)
		return 0;
	for (size_t k = 0; k < n; k++) {
		if (p[k].pgr >= x)
			return p[k].share;
		if (k + 1 < n && p[k + 1].pgr >= x)
			return p[k].share + (x - p[k].pgr) / (p[k + 1].pgr - p[k].pgr) *
						    (p[k + 1].share - p[k].share);
	}
	return NAN;
}

static double curve_apgr(const struct router_point *p, size_t n, int steps)
{
	if (isnan(p[0].pgr))
		return NAN;
	double area = 0;
	if (steps <= 0) {
		for (size_t k = 0; k + 1 < n; k++)
			area += (p[k + 1].share - p[k].share) * (p[k].pgr + p[k + 1].pgr) / 2;
		return area;
	}
	for (int i = 0; i <= steps; i++) {
		double v = curve_pgr_at(p, n, (double)i / steps);
		area += (i == 0 || i == steps) ? v / 2 : v;
	}
	return area / steps;
}

double router_metrics_pgr_at(const struct router_metrics *m, double c)
{
	return curve_pgr_at(m->curve, m->ncurve, c);
}

double router_metrics_cpt(const struct router_metrics *m, double x)
{
	return curve_cpt(m->curve, m->ncurve, x);
}

double router_metrics_apgr(const struct router_metrics *m, int steps)
{
	return curve_apgr(m->curve, m->ncurve, steps);
}

struct ranked {
	double score;
	size_t i;
};

static int cmp_ranked_desc(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i);
}

static double pgr_of(double quality, double q_weak, double gap)
{
	return gap > 0 ? (quality - q_weak) / gap : NAN;
}

/* The router's curve: queries by score, highest first; one point per
 * distinct score, after the point with no strong call. */
static int build_curve(struct router_metrics *m, struct ranked *r, const double *q_weak,
		       const double *q_strong, struct arena *a)
{
	size_t n = m->n, distinct = 1;
	double gap = m->q_strong - m->q_weak;
	for (size_t k = 1; k < n; k++)
		distinct += r[k].score != r[k - 1].score;
	m->curve = arena_alloc(a, (distinct + 1) * sizeof(struct router_point));
	if (!m->curve)
		return -1;
	m->curve[0] = (struct router_point){nextafter(r[0].score, INFINITY), 0, m->q_weak,
					    pgr_of(m->q_weak, m->q_weak, gap)};
	double gain = 0;
	size_t np = 1;
	for (size_t k = 0; k < n; k++) {
		gain += q_strong[r[k].i] - q_weak[r[k].i];
		if (k + 1 < n && r[k + 1].score == r[k].score)
			continue;
		double q = k + 1 == n ? m->q_strong : m->q_weak + gain / (double)n;
		m->curve[np++] = (struct router_point){r[k].score, (double)(k + 1) / (double)n,
						       q, pgr_of(q, m->q_weak, gap)};
	}
	m->ncurve = np;
	return 0;
}

/* The oracle: the queries with the largest positive gain first; once those
 * are spent, more strong calls add nothing (RouteLLM's optimal accuracy). */
static int oracle(struct router_metrics *m, const double *q_weak, const double *q_strong,
		  struct ranked *r)
{
	size_t n = m->n, pos = 0;
	double gap = m->q_strong - m->q_weak;
	for (size_t i = 0; i < n; i++)
		if (q_strong[i] > q_weak[i])
			r[pos++] = (struct ranked){q_strong[i] - q_weak[i], i};
	qsort(r, pos, sizeof(*r), cmp_ranked_desc);
	struct router_point *p = q_malloc((pos + 2) * sizeof(*p));
	if (!p)
		return -1;
	double gain = 0;
	p[0] = (struct router_point){0, 0, m->q_weak, pgr_of(m->q_weak, m->q_weak, gap)};
	for (size_t k = 0; k < pos; k++) {
		gain += r[k].score;
		double q = m->q_weak + gain / (double)n;
		p[k + 1] = (struct router_point){0, (double)(k + 1) / (double)n, q,
						 pgr_of(q, m->q_weak, gap)};
	}
	size_t np = pos + 1;
	if (pos < n)
		p[np++] = (struct router_point){0, 1, p[pos].quality, p[pos].pgr};
	m->oracle_apgr = curve_apgr(p, np, 10);
	m->oracle_cpt50 = curve_cpt(p, np, 0.5);
	m->oracle_cpt80 = curve_cpt(p, np, 0.8);
	q_free(p);
	return 0;
}

int router_metrics_compute(struct router_metrics *m, const double *scores,
			   const double *q_weak, const double *q_strong, size_t n,
			   struct arena *a, struct qerr *err)
{
	memset(m, 0, sizeof(*m));
	if (n == 0)
		return qerr_set(err, "no queries to judge the router on");
	double sw = 0, ss = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(scores[i]) || !isfinite(q_weak[i]) || !isfinite(q_strong[i]))
			return qerr_set(err, "query %zu: score or quality is not finite", i);
		sw += q_weak[i];
		ss += q_strong[i];
	}
	m->n = n;
	m->q_weak = sw / (double)n;
	m->q_strong = ss / (double)n;
	struct ranked *r = n <= SIZE_MAX / sizeof(*r) ? q_malloc(n * sizeof(*r)) : NULL;
	if (!r)
		return qerr_set(err, "out of memory");
	for (size_t i = 0; i < n; i++)
		r[i] = (struct ranked){scores[i], i};
	qsort(r, n, sizeof(*r), cmp_ranked_desc);
	int rc = build_curve(m, r, q_weak, q_strong, a);
	if (rc == 0)
		rc = oracle(m, q_weak, q_strong, r);
	q_free(r);
	if (rc < 0) {
		memset(m, 0, sizeof(*m));
		return qerr_set(err, "out of memory");
	}
	double gap = m->q_strong - m->q_weak;
	m->apgr = router_metrics_apgr(m, 10);
	m->apgr_curve = router_metrics_apgr(m, 0);
	m->cpt50 = router_metrics_cpt(m, 0.5);
	m->cpt80 = router_metrics_cpt(m, 0.8);
	m->random_apgr = gap > 0 ? 0.5 : NAN;
	m->random_cpt50 = gap > 0 ? 0.5 : NAN;
	m->random_cpt80 = gap > 0 ? 0.8 : NAN;
	return 0;
}
