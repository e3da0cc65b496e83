#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#include <cmocka.h>

#include "../../aggregators/learn.h"
#include "../../common/alloc.h"
#include "../../common/arena.h"
#include "../../common/buf.h"
#include "../../common/qerr.h"
#include "../../common/rng.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

static void near(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.17g, want %.17g (tol %g)", what, got, want, tol);
}

/* The tests' own draws (splitmix64 and Box-Muller). */
static double rnd_unit(uint64_t *s)
{
	return splitmix64_unit(s, 0.5);
}

static double rnd_gauss(uint64_t *s)
{
	double u = rnd_unit(s), v = rnd_unit(s);
	return box_muller(u, v);
}

static struct scorer *fit_or_fail(const struct scorer_data *d, const struct scorer_opts *o,
				  struct arena *a, int mf)
{
	struct qerr err = {0};
	struct scorer *s = mf ? scorer_fit_mf(d, o, a, &err) : scorer_fit_logreg(d, o, a, &err);
	if (!s)
		fail_msg("fit failed: %s", err.msg);
	return s;
}

/* ---- labels ---- */

static void test_labels(void **state)
{
	(void)state;
	assert_true(scorer_label(0, 1, 0) == 1.0);  /* strong needed */
	assert_true(scorer_label(1, 1, 0) == 0.0);  /* tie, both right: weak wins */
	assert_true(scorer_label(1, 0, 0) == 0.0);  /* weak better */
	assert_true(scorer_label(0, 0, 0) == 0.0);  /* both wrong: RouteLLM's 0 */
	assert_true(scorer_label(0, 0, 0.5) == 0.5); /* or a soft "unknown" */
	assert_true(scorer_label(7, 3, 0) == 0.0);  /* nonzero is right */
}

/* ---- logistic regression ---- */

/* One binary feature: the unpenalised MLE is closed form, the bias
 * logit(p0) and the weight logit(p1) - logit(p0) in raw units. */
static void test_logreg_closed_form(void **state)
{
	(void)state;
	float x[20];
	double y[20];
	for (int i = 0; i < 20; i++) {
		x[i] = i < 10 ? 0.0f : 1.0f;
		y[i] = i < 10 ? (i < 2) : (i < 17); /* p0 = 0.2, p1 = 0.7 */
	}
	struct scorer_data d = {x, y, NULL, 20, 1};
	double want_b = log(0.2 / 0.8), want_w = log(0.7 / 0.3) - want_b;
	const enum scorer_solver solvers[] = {SCORER_SOLVER_NEWTON, SCORER_SOLVER_LBFGS};
	for (size_t k = 0; k < N(solvers); k++) {
		struct arena *a = arena_new();
		struct scorer_opts o = {.l2 = 1e-12, .solver = solvers[k], .tol = 1e-10};
		struct scorer *s = fit_or_fail(&d, &o, a, 0);
		assert_true(s->fit.converged);
		near(s->fold_b, want_b, 1e-6, "bias");
		near(s->fold_w[0], want_w, 1e-6, "weight");
		float x0 = 0, x1 = 1;
		near(scorer_score(s, &x0), 0.2, 1e-7, "p0");
		near(scorer_score(s, &x1), 0.7, 1e-7, "p1");
		arena_free(a);
	}
}

/* Against an independent implementation (pure Python, Newton with
 * Gauss-Jordan, on the same objective), its output pasted here. */
static const float ref_x[12][3] = {
	{0.5f, 1.0f, -2.0f}, {1.5f, 0.0f, -1.0f}, {2.0f, 1.5f, 0.0f}, {-0.5f, 2.0f, 1.0f},
	{3.0f, -1.0f, 0.5f}, {1.0f, 0.5f, 2.5f}, {-1.0f, -0.5f, 1.5f}, {2.5f, 2.5f, -0.5f},
	{0.0f, 3.0f, 2.0f}, {-2.0f, 1.0f, 0.0f}, {1.0f, -2.0f, -1.5f}, {0.5f, 0.5f, 3.0f}};
static const double ref_y[12] = {0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1};
static const double ref_mean[3] = {0.7083333333333334, 0.7083333333333334,
				   0.4583333333333333};
static const double ref_scale[3] = {1.391317321422, 1.391317321422, 1.5201196955795582};
static const double ref_beta[3] = {1.1381579702281233, 0.501209741857104,
				   0.9538501086721897};
static const double ref_bias = -0.07664829308048689;
static const double ref_loss = 0.3877820306249733;

static void test_logreg_reference(void **state)
{
	(void)state;
	struct scorer_data d = {&ref_x[0][0], ref_y, NULL, 12, 3};
	const enum scorer_solver solvers[] = {SCORER_SOLVER_NEWTON, SCORER_SOLVER_LBFGS};
	const double tol[] = {1e-12, 1e-6}, gtol[] = {1e-12, 1e-9};
	for (size_t k = 0; k < N(solvers); k++) {
		struct arena *a = arena_new();
		struct scorer_opts o = {.l2 = 0.1, .solver = solvers[k], .tol = gtol[k]};
		struct scorer *s = fit_or_fail(&d, &o, a, 0);
		assert_true(s->fit.converged);
		assert_string_equal(s->fit.solver, k == 0 ? "newton" : "lbfgs");
		for (int j = 0; j < 3; j++) {
			near(s->mean[j], ref_mean[j], 1e-12, "mean");
			near(s->scale[j], ref_scale[j], 1e-12, "scale");
			near(s->weights[j], ref_beta[j], tol[k], "beta");
		}
		near(s->bias, ref_bias, tol[k], "bias");
		near(s->fit.loss, ref_loss, 1e-12, "loss");
		assert_int_equal(s->fit.n, 12);
		near(s->fit.positives, 6, 0, "positives");
		arena_free(a);
	}
}

/* Perfectly separable: the penalty keeps the weights finite, within
 * l2/2 |w|^2 <= loss(0) = log 2. */
static void test_logreg_separable(void **state)
{
	(void)state;
	float x[20];
	double y[20];
	for (int i = 0; i < 20; i++) {
		x[i] = (float)i;
		y[i] = i >= 10;
	}
	struct scorer_data d = {x, y, NULL, 20, 1};
	const double l2s[] = {1e-2, 1e-4, 1e-8};
	for (size_t k = 0; k < N(l2s); k++) {
		for (int solver = SCORER_SOLVER_NEWTON; solver <= SCORER_SOLVER_LBFGS; solver++) {
			struct arena *a = arena_new();
			struct scorer_opts o = {.l2 = l2s[k], .solver = solver};
			struct scorer *s = fit_or_fail(&d, &o, a, 0);
			assert_true(isfinite(s->weights[0]) && isfinite(s->bias));
			assert_true(fabs(s->weights[0]) <= sqrt(2 * log(2) / l2s[k]));
			assert_true(s->weights[0] > 0);
			float lo = 9, hi = 10;
			assert_true(scorer_score(s, &lo) < 0.5);
			assert_true(scorer_score(s, &hi) > 0.5);
			if (k < 2)
				assert_true(s->fit.converged);
			arena_free(a);
		}
	}
}

static void test_logreg_one_class(void **state)
{
	(void)state;
	float x[18];
	double y0[9] = {0}, y1[9], yh[9];
	for (int i = 0; i < 9; i++) {
		x[2 * i] = (float)i;
		x[2 * i + 1] = (float)(i * i % 5);
		y1[i] = 1;
		yh[i] = 0.5;
	}
	const double *ys[] = {y0, y1};
	const double want[] = {0.5 / 10, 9.5 / 10};
	for (int k = 0; k < 2; k++) {
		for (int mf = 0; mf < 2; mf++) {
			struct arena *a = arena_new();
			struct scorer_data d = {x, ys[k], NULL, 9, 2};
			struct scorer *s = fit_or_fail(&d, NULL, a, mf);
			assert_true(s->fit.one_class);
			assert_string_equal(s->fit.solver, "base-rate");
			for (int i = 0; i < 9; i++)
				near(scorer_score(s, x + 2 * i), want[k], 1e-12, "base rate");
			arena_free(a);
		}
	}
	/* Soft labels of 0.5 everywhere are two classes: bias 0, weights 0. */
	struct arena *a = arena_new();
	struct scorer_data d = {x, yh, NULL, 9, 2};
	struct scorer *s = fit_or_fail(&d, NULL, a, 0);
	assert_false(s->fit.one_class);
	near(scorer_score(s, x), 0.5, 1e-9, "soft 0.5");
	arena_free(a);
}

static void test_logreg_standardise(void **state)
{
	(void)state;
	/* Feature 0 is 1..8, feature 1 constant, feature 2 informative. */
	float x[8 * 3], xs[8 * 3];
	double y[8] = {0, 0, 1, 0, 1, 0, 1, 1};
	for (int i = 0; i < 8; i++) {
		x[3 * i] = (float)(i + 1);
		x[3 * i + 1] = 7.0f;
		x[3 * i + 2] = (float)(y[i] * 2 - 1 + 0.5 * (i % 3));
		for (int j = 0; j < 3; j++)
			xs[3 * i + j] = 1000.0f * x[3 * i + j] + 5.0f;
	}
	struct arena *a = arena_new();
	struct scorer_data d = {x, y, NULL, 8, 3}, ds = {xs, y, NULL, 8, 3};
	struct scorer_opts o = {.l2 = 0.05};
	struct scorer *s = fit_or_fail(&d, &o, a, 0), *t = fit_or_fail(&ds, &o, a, 0);
	near(s->mean[0], 4.5, 1e-12, "mean 0");
	near(s->scale[0], sqrt(5.25), 1e-12, "scale 0");
	near(s->mean[1], 7, 1e-12, "mean 1");
	near(s->scale[1], 1, 0, "constant feature keeps scale 1");
	near(s->weights[1], 0, 1e-12, "constant feature weight");
	/* Scaling the data changes nothing after standardisation. */
	for (int j = 0; j < 3; j++)
		near(s->weights[j], t->weights[j], 1e-6, "scale-free weights");
	for (int i = 0; i < 8; i++)
		near(scorer_score(s, x + 3 * i), scorer_score(t, xs + 3 * i), 1e-6, "scores");
	arena_free(a);
}

/* Random rows with labels drawn from a logistic model. */
static void make_data(uint64_t seed, size_t n, size_t dim, float *x, double *y)
{
	uint64_t st = seed;
	double *w = malloc(dim * sizeof(double));
	assert_non_null(w);
	for (size_t j = 0; j < dim; j++)
		w[j] = rnd_gauss(&st) / sqrt((double)dim);
	for (size_t i = 0; i < n; i++) {
		double z = 0.3;
		for (size_t j = 0; j < dim; j++) {
			x[i * dim + j] = (float)(rnd_gauss(&st) * 0.1 + 0.02 * (double)j);
			z += 10 * w[j] * (x[i * dim + j] - 0.02 * (double)j);
		}
		y[i] = rnd_unit(&st) < 1 / (1 + exp(-z));
	}
	free(w);
}

/* The objective is strictly convex: both solvers find the same point,
 * also with fewer queries than features. */
static void test_logreg_solvers_agree(void **state)
{
	(void)state;
	const size_t shapes[][2] = {{300, 20}, {10, 50}, {40, 80}};
	for (size_t k = 0; k < N(shapes); k++) {
		size_t n = shapes[k][0], dim = shapes[k][1];
		float *x = malloc(n * dim * sizeof(float));
		double *y = malloc(n * sizeof(double));
		assert_true(x && y);
		make_data(42 + k, n, dim, x, y);
		struct arena *a = arena_new();
		struct scorer_data d = {x, y, NULL, n, dim};
		struct scorer_opts on = {.l2 = 0.05, .solver = SCORER_SOLVER_NEWTON, .tol = 1e-10};
		struct scorer_opts ol = {.l2 = 0.05, .solver = SCORER_SOLVER_LBFGS, .tol = 1e-9};
		struct scorer *s = fit_or_fail(&d, &on, a, 0), *t = fit_or_fail(&d, &ol, a, 0);
		assert_true(s->fit.converged && t->fit.converged);
		for (size_t j = 0; j < dim; j++)
			near(s->weights[j], t->weights[j], 1e-6, "weights agree");
		near(s->bias, t->bias, 1e-6, "bias agrees");
		near(s->fit.loss, t->fit.loss, 1e-12, "loss agrees");
		arena_free(a);
		free(x);
		free(y);
	}
}

/* A weight of 2 is the row twice; a weight of 0 is no row. */
static void test_logreg_weights(void **state)
{
	(void)state;
	float x[13 * 3];
	double y[13], w[13];
	memcpy(x, ref_x, sizeof(ref_x));
	memcpy(y, ref_y, sizeof(ref_y));
	memcpy(x + 36, ref_x[4], sizeof(ref_x[4])); /* row 4 again */
	y[12] = ref_y[4];
	for (int i = 0; i < 13; i++)
		w[i] = i == 4 ? 2 : i == 12 ? 0 : 1;
	struct arena *a = arena_new();
	struct scorer_data dup = {x, y, NULL, 13, 3}, wt = {x, y, w, 13, 3};
	struct scorer_opts o = {.l2 = 0.1, .tol = 1e-11};
	struct scorer *s = fit_or_fail(&dup, &o, a, 0), *t = fit_or_fail(&wt, &o, a, 0);
	for (int j = 0; j < 3; j++) {
		near(s->weights[j], t->weights[j], 1e-9, "weighted = duplicated");
		near(s->mean[j], t->mean[j], 1e-12, "weighted mean");
	}
	assert_int_equal(t->fit.n, 12);
	arena_free(a);
}

static void test_fit_errors(void **state)
{
	(void)state;
	float x[4] = {0, 1, 2, NAN};
	double y[4] = {0, 1, 0, 1}, bad_y[2] = {0, 1.5}, w[2] = {1, -1}, w0[2] = {0, 0};
	const struct {
		struct scorer_data d;
		const char *want;
	} cases[] = {
		{{x, y, NULL, 0, 1}, "no training queries"},
		{{x, y, NULL, 2, 0}, "dimension 0"},
		{{x, y, NULL, 1, SCORER_MAX_DIM + 1}, "dimension"},
		{{x, y, NULL, 4, 1}, "embedding 3: value 0 is not finite"},
		{{x, bad_y, NULL, 2, 1}, "label 1 is not in [0, 1]"},
		{{x, y, w, 2, 1}, "weight 1"},
		{{x, y, w0, 2, 1}, "every training weight is 0"},
	};
	for (size_t k = 0; k < N(cases); k++) {
		struct arena *a = arena_new();
		struct qerr err = {0};
		assert_null(scorer_fit_logreg(&cases[k].d, NULL, a, &err));
		if (!strstr(err.msg, cases[k].want))
			fail_msg("case %zu: '%s' lacks '%s'", k, err.msg, cases[k].want);
		arena_free(a);
	}
	struct arena *a = arena_new();
	struct qerr err = {0};
	struct scorer_data d = {x, y, NULL, 3, 1};
	struct scorer_opts o = {.rank = SCORER_MAX_RANK + 1};
	assert_null(scorer_fit_mf(&d, &o, a, &err));
	assert_non_null(strstr(err.msg, "rank"));
	arena_free(a);
}

/* Every allocation failing in turn: an error, never a crash or a leak. */
static void test_out_of_memory(void **state)
{
	(void)state;
	struct scorer_data d = {&ref_x[0][0], ref_y, NULL, 12, 3};
	for (int mf = 0; mf < 2; mf++) {
		int done = 0;
		for (long n = 1; n < 200 && !done; n++) {
			struct arena *a = arena_new();
			assert_non_null(a);
			struct qerr err = {0};
			q_alloc_fail_after(n);
			struct scorer *s = mf ? scorer_fit_mf(&d, NULL, a, &err)
					      : scorer_fit_logreg(&d, NULL, a, &err);
			q_alloc_fail_after(0);
			if (s)
				done = 1;
			else
				assert_string_equal(err.msg, "out of memory");
			arena_free(a);
		}
		assert_true(done);
	}
}

/* ---- matrix factorisation ---- */

static void test_mf_fit(void **state)
{
	(void)state;
	size_t n = 400, dim = 12;
	float *x = malloc(n * dim * sizeof(float));
	double *y = malloc(n * sizeof(double));
	assert_true(x && y);
	make_data(7, n, dim, x, y);
	struct arena *a = arena_new();
	struct scorer_data d = {x, y, NULL, n, dim};
	struct scorer_opts o = {.l2 = 0.01, .rank = 4, .seed = 3, .model = "emb-small"};
	struct scorer *s = fit_or_fail(&d, &o, a, 1), *t = fit_or_fail(&d, &o, a, 1);
	assert_int_equal(s->kind, SCORER_MF);
	assert_int_equal(s->rank, 4);
	assert_string_equal(s->model, "emb-small");
	assert_true(s->fit.converged);
	/* Same seed, same fit, bit for bit. */
	assert_memory_equal(s->proj, t->proj, 4 * dim * sizeof(double));
	/* The score is RouteLLM's form: sigmoid(b + (v_s - v_w) . P z). */
	for (size_t i = 0; i < 5; i++) {
		double z = s->bias;
		for (size_t r = 0; r < 4; r++) {
			double pz = 0;
			for (size_t j = 0; j < dim; j++)
				pz += s->proj[r * dim + j] * (x[i * dim + j] - s->mean[j]) / s->scale[j];
			z += (s->v_strong[r] - s->v_weak[r]) * pz;
		}
		near(scorer_score(s, x + i * dim), 1 / (1 + exp(-z)), 1e-12, "mf score");
	}
	/* With two models it ranks like logistic regression: the same
	 * direction, whatever the penalty made of the length. */
	struct scorer *l = fit_or_fail(&d, &(struct scorer_opts){.l2 = 0.01}, a, 0);
	double dd = 0, nl = 0, nm = 0;
	for (size_t j = 0; j < dim; j++) {
		dd += l->fold_w[j] * s->fold_w[j];
		nl += l->fold_w[j] * l->fold_w[j];
		nm += s->fold_w[j] * s->fold_w[j];
	}
	assert_true(dd / sqrt(nl * nm) > 0.99);
	arena_free(a);
	free(x);
	free(y);
}

/* ---- calibration ---- */

static struct scorer *table_scorer(struct arena *a, const double *v, size_t n)
{
	float x[2] = {0, 1};
	double y[2] = {0, 1};
	struct scorer_data d = {x, y, NULL, 2, 1};
	struct scorer *s = fit_or_fail(&d, NULL, a, 0);
	struct qerr err = {0};
	assert_int_equal(scorer_set_calibration(s, v, n, a, &err), 0);
	return s;
}

static void test_thresholds(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	const double v[] = {0.5, 0.1, 0.4, 0.2, 0.3}; /* any order */
	struct scorer *s = table_scorer(a, v, N(v));
	assert_int_equal(s->ncalib, 5);
	near(s->calib[0], 0.1, 0, "sorted");
	near(scorer_threshold_for_share(s, 0.4), 0.34, 1e-15, "T(0.4)");
	near(scorer_share_at(s, 0.34), 0.4, 1e-12, "share(0.34)");
	near(scorer_threshold_for_share(s, 0.5), 0.3, 1e-15, "T(0.5)");
	near(scorer_share_at(s, 0.3), 0.5, 1e-15, "share(0.3)");
	near(scorer_threshold_for_share(s, 0), 1, 0, "T(0) routes nothing");
	near(scorer_threshold_for_share(s, -1), 1, 0, "T(-1)");
	near(scorer_threshold_for_share(s, 1), 0, 0, "T(1) routes all");
	near(scorer_share_at(s, 0.05), 1, 0, "below all");
	near(scorer_share_at(s, 0.1), 1, 0, "at the lowest");
	near(scorer_share_at(s, 0.5), 0, 1e-15, "at the highest");
	near(scorer_share_at(s, 0.6), 0, 0, "above all");
	assert_true(isnan(scorer_threshold_for_share(s, NAN)));
	assert_true(isnan(scorer_share_at(s, NAN)));
	for (double share = 0.01; share < 1; share += 0.01)
		near(scorer_share_at(s, scorer_threshold_for_share(s, share)), share, 1e-12,
		     "inverse");
	/* Ties count as reaching the threshold. */
	const double tied[] = {0.1, 0.2, 0.2, 0.2, 0.5};
	s = table_scorer(a, tied, N(tied));
	near(scorer_share_at(s, 0.2), 0.75, 1e-15, "tied share");
	near(scorer_threshold_for_share(s, 0.5), 0.2, 0, "tied threshold");
	/* One score. */
	s = table_scorer(a, tied, 1);
	near(scorer_threshold_for_share(s, 0.3), 0.1, 0, "single");
	near(scorer_share_at(s, 0.1), 1, 0, "single at");
	near(scorer_share_at(s, 0.11), 0, 0, "single above");
	/* Many scores keep SCORER_MAX_CALIB quantiles. */
	double *many = malloc(5000 * sizeof(double));
	assert_non_null(many);
	for (int i = 0; i < 5000; i++)
		many[i] = (double)((i * 7919) % 5000) / 4999.0;
	s = table_scorer(a, many, 5000);
	assert_int_equal(s->ncalib, SCORER_MAX_CALIB);
	near(s->calib[500], 0.5, 1e-12, "median");
	near(scorer_threshold_for_share(s, 0.25), 0.75, 1e-12, "T(0.25)");
	near(scorer_share_at(s, 0.9), 0.1, 1e-12, "share(0.9)");
	free(many);
	struct qerr err = {0};
	const double bad[] = {0.1, NAN};
	assert_int_equal(scorer_set_calibration(s, bad, 2, a, &err), -1);
	assert_non_null(strstr(err.msg, "calibration score 1"));
	assert_int_equal(scorer_set_calibration(s, bad, 0, a, &err), -1);
	arena_free(a);
}

/* Scores stay below 1, so T = 1 sends nothing to the strong model. */
static void test_score_range(void **state)
{
	(void)state;
	float x[2] = {0, 1};
	double y[2] = {0, 1};
	struct arena *a = arena_new();
	struct scorer_data d = {x, y, NULL, 2, 1};
	struct scorer *s = fit_or_fail(&d, &(struct scorer_opts){.l2 = 1e-9}, a, 0);
	float big = 1e30f, small = -1e30f, nan = NAN;
	assert_true(scorer_score(s, &big) < 1.0);
	assert_true(scorer_score(s, &big) > 0.999);
	assert_true(scorer_score(s, &small) >= 0.0);
	assert_true(isnan(scorer_score(s, &nan)));
	arena_free(a);
}

/* ---- the router file ---- */

static char *to_json(const struct scorer *s)
{
	struct buf b = BUF_INIT;
	assert_int_equal(scorer_to_json(s, &b), 0);
	return b.data;
}

static void same_scorer(const struct scorer *s, const struct scorer *t)
{
	size_t dim = s->dim;
	assert_int_equal(s->kind, t->kind);
	assert_int_equal(s->dim, t->dim);
	assert_string_equal(s->model, t->model);
	assert_memory_equal(s->mean, t->mean, dim * sizeof(double));
	assert_memory_equal(s->scale, t->scale, dim * sizeof(double));
	assert_memory_equal(&s->bias, &t->bias, sizeof(double));
	if (s->kind == SCORER_LOGREG) {
		assert_memory_equal(s->weights, t->weights, dim * sizeof(double));
	} else {
		assert_int_equal(s->rank, t->rank);
		assert_memory_equal(s->proj, t->proj, s->rank * dim * sizeof(double));
		assert_memory_equal(s->v_strong, t->v_strong, s->rank * sizeof(double));
		assert_memory_equal(s->v_weak, t->v_weak, s->rank * sizeof(double));
	}
	assert_int_equal(s->has_threshold, t->has_threshold);
	if (s->has_threshold)
		assert_memory_equal(&s->threshold, &t->threshold, sizeof(double));
	assert_int_equal(s->ncalib, t->ncalib);
	assert_memory_equal(s->calib, t->calib, s->ncalib * sizeof(double));
	assert_memory_equal(s->fold_w, t->fold_w, dim * sizeof(double));
	assert_memory_equal(&s->fold_b, &t->fold_b, sizeof(double));
	assert_int_equal(s->fit.n, t->fit.n);
	assert_int_equal(s->fit.iterations, t->fit.iterations);
	assert_int_equal(s->fit.converged, t->fit.converged);
	assert_int_equal(s->fit.one_class, t->fit.one_class);
	assert_string_equal(s->fit.solver, t->fit.solver);
	assert_memory_equal(&s->fit.loss, &t->fit.loss, sizeof(double));
	assert_memory_equal(&s->fit.l2, &t->fit.l2, sizeof(double));
}

static void test_json_round_trip(void **state)
{
	(void)state;
	size_t n = 200, dim = 9;
	float *x = malloc(n * dim * sizeof(float));
	double *y = malloc(n * sizeof(double));
	assert_true(x && y);
	make_data(11, n, dim, x, y);
	struct scorer_data d = {x, y, NULL, n, dim};
	for (int mf = 0; mf < 2; mf++) {
		struct arena *a = arena_new();
		struct scorer_opts o = {.model = "text-embedding-3-small \"q\"", .rank = 3};
		struct scorer *s = fit_or_fail(&d, &o, a, mf);
		s->has_threshold = mf;
		s->threshold = scorer_threshold_for_share(s, 0.3);
		char *text = to_json(s);
		struct qerr err = {0};
		struct scorer *t = scorer_from_json(text, strlen(text), a, &err);
		if (!t)
			fail_msg("round trip: %s\n%s", err.msg, text);
		same_scorer(s, t);
		for (size_t i = 0; i < n; i++)
			assert_true(scorer_score(s, x + i * dim) == scorer_score(t, x + i * dim));
		/* And it reads back the same again. */
		char *again = to_json(t);
		assert_string_equal(text, again);
		free(text);
		free(again);
		arena_free(a);
	}
	free(x);
	free(y);
}

static const char base_lr[] =
	"{\"format\": \"quorum-router\", \"version\": 1, \"kind\": \"logreg\",\n"
	" \"embedding\": {\"model\": \"m\", \"dim\": 2},\n"
	" \"standardize\": {\"mean\": [0, 1], \"scale\": [1, 2]},\n"
	" \"logreg\": {\"weights\": [0.5, -0.5], \"bias\": 0.1},\n"
	" \"threshold\": 0.5,\n"
	" \"calibration\": {\"scores\": [0.1, 0.5, 0.9]},\n"
	" \"training\": {\"n\": 3, \"positives\": 1, \"l2\": 0.01, \"solver\": \"newton\", "
	"\"iterations\": 4, \"converged\": true, \"one_class\": false, \"loss\": 0.5}}\n";

static const char base_mf[] =
	"{\"format\": \"quorum-router\", \"version\": 1, \"kind\": \"mf\",\n"
	" \"embedding\": {\"model\": \"m\", \"dim\": 2},\n"
	" \"standardize\": {\"mean\": [0, 0], \"scale\": [1, 1]},\n"
	" \"mf\": {\"rank\": 2, \"projection\": [[1, 0], [0, 1]], \"strong\": [1, 0], "
	"\"weak\": [0, 1], \"bias\": 0},\n"
	" \"calibration\": {\"scores\": [0.5]}}";

static void test_json_hand_written(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct qerr err = {0};
	struct scorer *s = scorer_from_json(base_lr, strlen(base_lr), a, &err);
	if (!s)
		fail_msg("%s", err.msg);
	/* z = ((1 - 0) / 1, (3 - 1) / 2) = (1, 1): 0.1 + 0.5 - 0.5. */
	float x[2] = {1, 3};
	near(scorer_score(s, x), 1 / (1 + exp(-0.1)), 1e-15, "logreg file");
	assert_true(s->has_threshold && s->threshold == 0.5);
	assert_int_equal(s->fit.iterations, 4);
	assert_true(s->fit.converged);
	s = scorer_from_json(base_mf, strlen(base_mf), a, &err);
	if (!s)
		fail_msg("%s", err.msg);
	/* (v_s - v_w) . P z = (1, -1) . (x0, x1). */
	float y[2] = {2, 1};
	near(scorer_score(s, y), 1 / (1 + exp(-1.0)), 1e-15, "mf file");
	assert_false(s->has_threshold);
	assert_null(s->fit.solver); /* no "training", and none written back */
	char *text = to_json(s);
	assert_null(strstr(text, "training"));
	free(text);
	arena_free(a);
}

struct bad_case {
	const char *find, *replace, *want;
};

static const struct bad_case bad_lr[] = {
	{"\"quorum-router\"", "\"router\"", "'format'"},
	{"\"version\": 1", "\"version\": 2", "'version' must be 1"},
	{"\"kind\": \"logreg\"", "\"kind\": \"svm\"", "'kind'"},
	{"\"kind\": \"logreg\",", "\"kind\": \"logreg\", \"kind\": \"mf\",", "duplicate key 'kind'"},
	{"\"training\"", "\"trainng\"", "unknown key 'trainng'"},
	{"\"standardize\"", "\"standardise\"", "unknown key 'standardise'"},
	{"\"threshold\": 0.5,", "\"threshold\": 0.5, \"mf\": {},", "'mf' does not go with kind"},
	{"\"embedding\": {\"model\": \"m\", \"dim\": 2}", "\"embedding\": [1]",
	 "'embedding' must be an object, not an array"},
	{"\"embedding\": {\"model\": \"m\", \"dim\": 2},", "", "missing 'embedding'"},
	{"\"model\": \"m\"", "\"model\": 5", "'embedding.model'"},
	{"\"dim\": 2", "\"dim\": 0", "'embedding.dim' must be an integer from 1 to"},
	{"\"dim\": 2", "\"dim\": 2.5", "'embedding.dim'"},
	{"\"dim\": 2", "\"dim\": 99999", "'embedding.dim'"},
	{"\"dim\": 2", "\"dim\": \"2\"", "'embedding.dim' must be a finite number"},
	{"\"dim\": 2", "\"dim\": 2, \"size\": 1", "unknown key 'embedding.size'"},
	{"\"dim\": 2", "\"dim\": 3", "'standardize.mean' must hold 3 numbers, not 2"},
	{"\"mean\": [0, 1]", "\"mean\": [0, \"1\"]", "'standardize.mean[1]' must be a finite"},
	{"\"mean\": [0, 1]", "\"mean\": [0, 1e999]", "'standardize.mean[1]' must be a finite"},
	{"\"mean\": [0, 1]", "\"mean\": [0, null]", "'standardize.mean[1]'"},
	{"\"mean\": [0, 1], ", "", "missing 'standardize.mean'"},
	{"\"scale\": [1, 2]", "\"scale\": [1, 0]", "'standardize.scale[1]' must be a positive"},
	{"\"scale\": [1, 2]", "\"scale\": [-1, 2]", "'standardize.scale[0]' must be a positive"},
	{"\"scale\": [1, 2]", "\"scale\": [1]", "'standardize.scale' must hold 2 numbers, not 1"},
	{"\"scale\": [1, 2]", "\"scale\": [1, 2, 3]", "'standardize.scale' must hold 2"},
	{"\"scale\": [1, 2]", "\"scale\": {}", "'standardize.scale' must be an array, not an"},
	{"\"scale\": [1, 2]", "\"scale\": [1e-300, 2], \"x\": 0", "unknown key 'standardize.x'"},
	{"\"scale\": [1, 2]},\n \"logreg\": {\"weights\": [0.5",
	 "\"scale\": [1e-300, 2]},\n \"logreg\": {\"weights\": [1e300", "overflow"},
	{"\"weights\": [0.5, -0.5]", "\"weights\": [0.5]", "'logreg.weights' must hold 2"},
	{"\"weights\": [0.5, -0.5]", "\"weights\": [0.5, true]", "'logreg.weights[1]'"},
	{"\"bias\": 0.1", "\"bias\": null", "'logreg.bias' must be a finite number"},
	{"\"bias\": 0.1", "\"bias\": 0.1, \"extra\": 1", "unknown key 'logreg.extra'"},
	{", \"bias\": 0.1", "", "missing 'logreg.bias'"},
	{"\"logreg\": {\"weights\": [0.5, -0.5], \"bias\": 0.1},", "", "missing 'logreg'"},
	{"\"threshold\": 0.5", "\"threshold\": 1.5", "'threshold' must be a number from 0 to 1"},
	{"\"threshold\": 0.5", "\"threshold\": -0.1", "'threshold'"},
	{"\"threshold\": 0.5", "\"threshold\": \"high\"", "'threshold'"},
	{"[0.1, 0.5, 0.9]", "[0.5, 0.1, 0.9]", "'calibration.scores' must be ascending: [1]"},
	{"[0.1, 0.5, 0.9]", "[0.1, 0.5, 1.9]", "'calibration.scores[2]' must be a number from 0"},
	{"[0.1, 0.5, 0.9]", "[]", "'calibration.scores' must hold 1 to 1001 numbers, not 0"},
	{"[0.1, 0.5, 0.9]", "0.5", "'calibration.scores' must be an array, not a number"},
	{"{\"scores\": [0.1, 0.5, 0.9]}", "{\"score\": [0.1]}", "unknown key 'calibration.score'"},
	{"\"calibration\": {\"scores\": [0.1, 0.5, 0.9]},", "", "missing 'calibration'"},
	{"\"solver\": \"newton\"", "\"solver\": \"sgd\"", "'training.solver'"},
	{"\"converged\": true", "\"converged\": 1", "'training.converged' must be true or false"},
	{"\"n\": 3", "\"n\": -3", "'training.n' must be an integer"},
	{"\"iterations\": 4", "\"iterations\": 4.5", "'training.iterations'"},
	{"\"loss\": 0.5", "\"loss\": \"low\"", "'training.loss' must be a finite number"},
	{"\"loss\": 0.5", "\"loss\": 0.5, \"epochs\": 3", "unknown key 'training.epochs'"},
	{", \"loss\": 0.5", "", "missing 'training.loss'"},
	{"\"training\": {\"n\": 3, \"positives\": 1, \"l2\": 0.01, \"solver\": \"newton\", "
	 "\"iterations\": 4, \"converged\": true, \"one_class\": false, \"loss\": 0.5}",
	 "\"training\": []", "'training' must be an object, not an array"},
	{"\"one_class\": false, ", "", "missing 'training.one_class'"},
	{"\"solver\": \"newton\", ", "", "'training.solver'"},
	{"\"training\": {", "\"training\": 3, \"x\": {", "unknown key 'x'"},
	{"\"training\": {", "\"training\": [{", "not valid JSON"},
	{"\"version\": 1,", "\"version\": 1", "not valid JSON"},
};

static const struct bad_case bad_mf[] = {
	{"\"rank\": 2", "\"rank\": 0", "'mf.rank' must be an integer from 1 to"},
	{"\"rank\": 2", "\"rank\": 3", "'mf.projection' must be an array of 3 arrays"},
	{"\"rank\": 2, ", "", "missing 'mf.rank'"},
	{"[[1, 0], [0, 1]]", "[[1, 0], [0]]", "'mf.projection[1]' must hold 2 numbers"},
	{"[[1, 0], [0, 1]]", "[[1, 0], 5]", "'mf.projection[1]' must be an array"},
	{"[[1, 0], [0, 1]]", "[[1, 0], [0, 1e999]]", "'mf.projection[1][1]'"},
	{"\"strong\": [1, 0]", "\"strong\": [1]", "'mf.strong' must hold 2"},
	{"\"weak\": [0, 1]", "\"weak\": [0, \"x\"]", "'mf.weak[1]'"},
	{"\"bias\": 0", "\"bias\": 1e999", "'mf.bias'"},
	{"\"kind\": \"mf\",", "\"kind\": \"mf\", \"logreg\": {},", "'logreg' does not go"},
	{"\"mf\": {", "\"mf\": [{", "not valid JSON"},
	{"\"mf\": {\"rank\"", "\"nf\": {\"rank\"", "unknown key 'nf'"},
};

static char *replace_once(const char *text, const char *find, const char *with)
{
	const char *at = strstr(text, find);
	if (!at)
		fail_msg("'%s' not in the base text", find);
	size_t n = strlen(text) - strlen(find) + strlen(with);
	char *out = malloc(n + 1);
	assert_non_null(out);
	size_t pre = (size_t)(at - text);
	memcpy(out, text, pre);
	strcpy(out + pre, with);
	strcat(out, at + strlen(find));
	return out;
}

static void run_bad(const char *base, const struct bad_case *cases, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char *text = replace_once(base, cases[k].find, cases[k].replace);
		struct arena *a = arena_new();
		struct qerr err = {0};
		struct scorer *s = scorer_from_json(text, strlen(text), a, &err);
		if (s)
			fail_msg("case %zu accepted:\n%s", k, text);
		if (!strstr(err.msg, cases[k].want))
			fail_msg("case %zu: '%s' lacks '%s'", k, err.msg, cases[k].want);
		arena_free(a);
		free(text);
	}
}

static void test_json_malformed(void **state)
{
	(void)state;
	run_bad(base_lr, bad_lr, N(bad_lr));
	run_bad(base_mf, bad_mf, N(bad_mf));
	struct arena *a = arena_new();
	struct qerr err = {0};
	const char *texts[] = {"[1, 2]", "", "{", "null",
			       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"};
	const char *want[] = {"one JSON object", "not valid JSON", "not valid JSON",
			      "one JSON object", "not valid JSON"};
	for (size_t k = 0; k < N(texts); k++) {
		assert_null(scorer_from_json(texts[k], strlen(texts[k]), a, &err));
		if (!strstr(err.msg, want[k]))
			fail_msg("text %zu: '%s'", k, err.msg);
	}
	/* Not NUL-terminated: only len bytes count. */
	char *copy = malloc(sizeof(base_lr));
	assert_non_null(copy);
	memcpy(copy, base_lr, sizeof(base_lr));
	copy[sizeof(base_lr) - 1] = '}';
	assert_null(scorer_from_json(copy, sizeof(base_lr), a, &err));
	assert_non_null(scorer_from_json(copy, sizeof(base_lr) - 1, a, &err));
	free(copy);
	assert_null(scorer_from_json(base_lr, (size_t)SCORER_JSON_MAX + 1, a, &err));
	assert_non_null(strstr(err.msg, "larger than 64 MiB"));
	arena_free(a);
}

/* Appends "[v, v, ..., v]" with n values to b. */
static void put_values(struct buf *b, const char *v, size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%s", i ? "," : "", v);
	buf_putc(b, ']');
}

/* A file of a few MiB with millions of values would be millions of cJSON
 * items, hundreds of bytes each: refused before it is parsed. A router of
 * the largest shape (mf at SCORER_MAX_DIM and SCORER_MAX_RANK, a full
 * calibration table) still reads. */
static void test_json_too_many_values(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct qerr err = {0};
	struct buf b;
	buf_init(&b, 0);
	put_values(&b, "0", 3u << 20);
	assert_false(b.overflow);
	assert_null(scorer_from_json(b.data, b.len, a, &err));
	if (!strstr(err.msg, "more values than the largest router holds"))
		fail_msg("%s", err.msg);
	buf_release(&b);
	buf_init(&b, 0);
	buf_printf(&b, "{\"format\": \"quorum-router\", \"version\": 1, \"kind\": \"mf\", "
		   "\"embedding\": {\"model\": \"m\", \"dim\": %d}, \"standardize\": {\"mean\": ",
		   SCORER_MAX_DIM);
	put_values(&b, "0", SCORER_MAX_DIM);
	buf_puts(&b, ", \"scale\": ");
	put_values(&b, "1", SCORER_MAX_DIM);
	buf_printf(&b, "}, \"mf\": {\"rank\": %d, \"projection\": [", SCORER_MAX_RANK);
	for (int r = 0; r < SCORER_MAX_RANK; r++) {
		buf_puts(&b, r ? ", " : "");
		put_values(&b, "0", SCORER_MAX_DIM);
	}
	buf_puts(&b, "], \"strong\": ");
	put_values(&b, "0", SCORER_MAX_RANK);
	buf_puts(&b, ", \"weak\": ");
	put_values(&b, "0", SCORER_MAX_RANK);
	buf_puts(&b, ", \"bias\": 0}, \"calibration\": {\"scores\": ");
	put_values(&b, "0.5", SCORER_MAX_CALIB);
	buf_puts(&b, "}}");
	assert_false(b.overflow);
	struct scorer *s = scorer_from_json(b.data, b.len, a, &err);
	if (!s)
		fail_msg("the largest router: %s", err.msg);
	assert_int_equal(s->dim, SCORER_MAX_DIM);
	buf_release(&b);
	arena_free(a);
}

/* ---- metrics ---- */

/* Ten queries: 0..2 need the strong model, the other seven both models
 * get right. r_weak 0.7, r_strong 1. */
static void ten_queries(double *qw, double *qs)
{
	for (int i = 0; i < 10; i++) {
		qw[i] = i >= 3;
		qs[i] = 1;
	}
}

static struct router_metrics metrics_or_fail(const double *sc, const double *qw,
					     const double *qs, size_t n, struct arena *a)
{
	struct router_metrics m;
	struct qerr err = {0};
	if (router_metrics_compute(&m, sc, qw, qs, n, a, &err) < 0)
		fail_msg("%s", err.msg);
	return m;
}

static void test_metrics_perfect_and_reversed(void **state)
{
	(void)state;
	double qw[10], qs[10], sc[10], rev[10];
	ten_queries(qw, qs);
	for (int i = 0; i < 10; i++) {
		sc[i] = 1 - 0.05 * i;
		rev[i] = -sc[i];
	}
	struct arena *a = arena_new();
	struct router_metrics m = metrics_or_fail(sc, qw, qs, 10, a);
	near(m.q_weak, 0.7, 1e-15, "r_weak");
	near(m.q_strong, 1, 0, "r_strong");
	assert_int_equal(m.ncurve, 11);
	near(m.curve[0].share, 0, 0, "first share");
	assert_true(m.curve[0].threshold > 1);
	near(m.curve[1].pgr, 1.0 / 3, 1e-12, "pgr(0.1)");
	/* A perfect router: CPT(80%) = 0.8 x the share that needs the strong model. */
	near(m.cpt80, 0.8 * 0.3, 1e-12, "perfect CPT(80%)");
	near(m.cpt50, 0.5 * 0.3, 1e-12, "perfect CPT(50%)");
	near(m.apgr, 0.85, 1e-12, "perfect APGR");
	near(m.apgr_curve, 0.85, 1e-12, "perfect APGR, whole curve");
	near(m.oracle_cpt80, 0.24, 1e-12, "oracle CPT(80%)");
	near(m.oracle_apgr, 0.85, 1e-12, "oracle APGR");
	near(m.random_apgr, 0.5, 0, "random APGR");
	near(m.random_cpt80, 0.8, 0, "random CPT(80%)");
	near(router_metrics_pgr_at(&m, 0.05), 1.0 / 6, 1e-12, "pgr between points");
	near(router_metrics_cpt(&m, 0), 0, 0, "CPT(0)");
	near(router_metrics_cpt(&m, 1), 0.3, 1e-12, "CPT(100%)");
	assert_true(isnan(router_metrics_cpt(&m, 1.01)));
	/* The worst router: the three last. */
	m = metrics_or_fail(rev, qw, qs, 10, a);
	near(m.cpt80, 0.7 + 0.8 * 0.3, 1e-12, "reversed CPT(80%)");
	near(m.apgr, 0.15, 1e-12, "reversed APGR");
	near(m.oracle_apgr, 0.85, 1e-12, "oracle does not care about scores");
	/* All scores tied: one step from nothing to everything, the random
	 * router's diagonal. */
	double tie[10] = {0};
	m = metrics_or_fail(tie, qw, qs, 10, a);
	assert_int_equal(m.ncurve, 2);
	near(m.apgr, 0.5, 1e-12, "tied APGR");
	near(m.cpt80, 0.8, 1e-12, "tied CPT(80%)");
	arena_free(a);
}

/* Five queries, one where only the weak model is right: PGR overshoots 1
 * on the way. By hand: r_weak 0.4, r_strong 0.6, PGR at shares 0, .2 .. 1
 * is 0, 1, 2, 1, 1, 1. */
static void test_metrics_by_hand(void **state)
{
	(void)state;
	const double qw[] = {0, 0, 1, 1, 0}, qs[] = {1, 1, 0, 1, 0}, sc[] = {5, 4, 3, 2, 1};
	struct arena *a = arena_new();
	struct router_metrics m = metrics_or_fail(sc, qw, qs, 5, a);
	const double pgr[] = {0, 1, 2, 1, 1, 1};
	assert_int_equal(m.ncurve, 6);
	for (int k = 0; k < 6; k++) {
		near(m.curve[k].share, 0.2 * k, 1e-15, "share");
		near(m.curve[k].pgr, pgr[k], 1e-12, "pgr");
	}
	near(m.curve[3].threshold, 3, 0, "threshold");
	near(m.cpt50, 0.1, 1e-12, "CPT(50%)");
	near(m.cpt80, 0.16, 1e-12, "CPT(80%)");
	near(m.apgr, 1.1, 1e-12, "APGR, 10 steps");
	near(m.apgr_curve, 1.1, 1e-12, "APGR, whole curve");
	near(m.oracle_apgr, 1.6, 1e-12, "oracle APGR");
	near(m.oracle_cpt80, 0.16, 1e-12, "oracle CPT(80%)");
	near(router_metrics_apgr(&m, 20), 1.1, 1e-12, "20 steps");
	/* No gap: nothing to recover. */
	const double w2[] = {0, 1, 1, 0}, s2[] = {1, 0, 1, 0};
	m = metrics_or_fail(sc, w2, s2, 4, a);
	assert_true(isnan(m.apgr) && isnan(m.cpt80) && isnan(m.curve[1].pgr));
	assert_true(isnan(m.random_apgr) && isnan(m.oracle_apgr));
	near(m.curve[1].quality, 0.75, 1e-15, "quality still there");
	struct qerr err = {0};
	const double bad[] = {1, NAN};
	assert_int_equal(router_metrics_compute(&m, bad, w2, s2, 2, a, &err), -1);
	assert_non_null(strstr(err.msg, "query 1"));
	assert_int_equal(router_metrics_compute(&m, bad, w2, s2, 0, a, &err), -1);
	arena_free(a);
}

/* Random scores: APGR about 0.5 and CPT(x) about x. */
static void test_metrics_random_router(void **state)
{
	(void)state;
	size_t n = 20000;
	double *sc = malloc(3 * n * sizeof(double));
	assert_non_null(sc);
	double *qw = sc + n, *qs = sc + 2 * n;
	uint64_t st = 99;
	for (size_t i = 0; i < n; i++) {
		sc[i] = rnd_unit(&st);
		qw[i] = rnd_unit(&st) < 0.6;
		qs[i] = rnd_unit(&st) < 0.8;
	}
	struct arena *a = arena_new();
	struct router_metrics m = metrics_or_fail(sc, qw, qs, n, a);
	print_message("random router: APGR %.3f (curve %.3f), CPT(50%%) %.3f, CPT(80%%) %.3f\n",
		      m.apgr, m.apgr_curve, m.cpt50, m.cpt80);
	near(m.apgr, 0.5, 0.03, "random APGR");
	near(m.cpt50, 0.5, 0.05, "random CPT(50%)");
	near(m.cpt80, 0.8, 0.05, "random CPT(80%)");
	arena_free(a);
	free(sc);
}

/* ---- the routing benchmark, simulated ---- */

struct synth {
	float *x;
	double *y, *qw, *qs, *diff;
};

/* Queries with a hidden difficulty d ~ U(0, 1); the embedding is a noisy
 * linear function of d plus random topic directions and an offset; the
 * weak model is right with p = 0.9 - 0.8 d, the strong one with
 * p = 0.95 - 0.2 d. */
static void synth_make(struct synth *s, size_t n, size_t dim, uint64_t seed, int power)
{
	enum { TOPICS = 8 };
	uint64_t st = seed;
	double *dir = malloc((TOPICS + 2) * dim * sizeof(double));
	s->x = malloc(n * dim * sizeof(float));
	s->y = malloc(4 * n * sizeof(double));
	assert_true(dir && s->x && s->y);
	s->qw = s->y + n;
	s->qs = s->y + 2 * n;
	s->diff = s->y + 3 * n;
	for (size_t t = 0; t < TOPICS + 2; t++) {
		double norm = 0;
		for (size_t j = 0; j < dim; j++) {
			dir[t * dim + j] = rnd_gauss(&st);
			norm += dir[t * dim + j] * dir[t * dim + j];
		}
		for (size_t j = 0; j < dim; j++)
			dir[t * dim + j] /= sqrt(norm);
	}
	for (size_t i = 0; i < n; i++) {
		double d = pow(rnd_unit(&st), power), c[TOPICS];
		for (int t = 0; t < TOPICS; t++)
			c[t] = rnd_gauss(&st);
		for (size_t j = 0; j < dim; j++) {
			double v = 2 * d * dir[j] + 0.5 * dir[(TOPICS + 1) * dim + j];
			for (int t = 0; t < TOPICS; t++)
				v += c[t] * dir[(t + 1) * dim + j];
			s->x[i * dim + j] = (float)(v + 0.25 * rnd_gauss(&st));
		}
		s->diff[i] = d;
		s->qw[i] = rnd_unit(&st) < 0.9 - 0.8 * d;
		s->qs[i] = rnd_unit(&st) < 0.95 - 0.2 * d;
		s->y[i] = scorer_label((int)s->qw[i], (int)s->qs[i], 0);
	}
	free(dir);
}

static void synth_free(struct synth *s)
{
	free(s->x);
	free(s->y);
}

/* Trains on 1,500 queries, judges on 500; d = u^power, u ~ U(0, 1). */
static void synthetic_run(int power)
{
	const size_t n = 2000, train = 1500, test = n - train, dim = 64;
	struct synth sy;
	synth_make(&sy, n, dim, 2025, power);
	struct arena *a = arena_new();
	struct scorer_data d = {sy.x, sy.y, NULL, train, dim};
	double *sc = malloc(test * sizeof(double));
	assert_non_null(sc);
	const double *qw = sy.qw + train, *qs = sy.qs + train;
	/* A router that knows d itself: the best any scorer can do here. */
	struct router_metrics ideal = metrics_or_fail(sy.diff + train, qw, qs, test, a);
	print_message("synthetic, d = u^%d, test %zu queries: r_weak %.3f r_strong %.3f\n",
		      power, test, ideal.q_weak, ideal.q_strong);
	print_message("  knows d:  APGR %.3f  CPT(50%%) %.3f  CPT(80%%) %.3f\n", ideal.apgr,
		      ideal.cpt50, ideal.cpt80);
	print_message("  oracle:   APGR %.3f  CPT(50%%) %.3f  CPT(80%%) %.3f\n",
		      ideal.oracle_apgr, ideal.oracle_cpt50, ideal.oracle_cpt80);
	print_message("  random:   APGR %.3f  CPT(50%%) %.3f  CPT(80%%) %.3f\n",
		      ideal.random_apgr, ideal.random_cpt50, ideal.random_cpt80);
	for (int mf = 0; mf < 2; mf++) {
		struct scorer_opts o = {.l2 = 0.01, .rank = 8, .seed = 1};
		struct scorer *s = fit_or_fail(&d, &o, a, mf);
		for (size_t i = 0; i < test; i++)
			sc[i] = scorer_score(s, sy.x + (train + i) * dim);
		struct router_metrics m = metrics_or_fail(sc, qw, qs, test, a);
		print_message("  %s: APGR %.3f (curve %.3f)  CPT(50%%) %.3f  CPT(80%%) %.3f  "
			      "[%s, %d iterations, loss %.4f]\n",
			      mf ? "mf    " : "logreg", m.apgr, m.apgr_curve, m.cpt50, m.cpt80,
			      s->fit.solver, s->fit.iterations, s->fit.loss);
		assert_true(s->fit.converged);
		/* Clearly above random (0.5, 0.8), and near what knowing d gives. */
		assert_true(m.apgr > 0.57);
		assert_true(m.apgr >= ideal.apgr - 0.05);
		assert_true(m.cpt80 < 0.72);
		assert_true(m.cpt80 <= ideal.cpt80 + 0.1);
		/* Calibration: the share asked for, about, on the test queries. */
		double t = scorer_threshold_for_share(s, 0.3);
		size_t strong = 0;
		for (size_t i = 0; i < test; i++)
			strong += sc[i] >= t;
		near((double)strong / (double)test, 0.3, 0.06, "calibrated share");
	}
	free(sc);
	synth_free(&sy);
	arena_free(a);
}

/* With d uniform even a router that knows d needs about 59% strong calls
 * for PGR 80% (the gain 0.05 + 0.6 d is too flat), so CPT(80%) <= 0.5 is
 * out of reach; with mostly easy queries (d = u^3) it is 46%. */
static void test_synthetic_benchmark(void **state)
{
	(void)state;
	synthetic_run(1);
	synthetic_run(3);
}

/* On the request path: one dot product. */
static void test_score_speed(void **state)
{
	(void)state;
	size_t n = 64, dim = 1536;
	float *x = malloc(n * dim * sizeof(float));
	double *y = malloc(n * sizeof(double));
	assert_true(x && y);
	make_data(5, n, dim, x, y);
	struct arena *a = arena_new();
	struct scorer_data d = {x, y, NULL, n, dim};
	struct scorer *s = fit_or_fail(&d, &(struct scorer_opts){.max_iter = 50}, a, 0);
	assert_string_equal(s->fit.solver, "lbfgs");
	struct timespec t0, t1;
	double sum = 0;
	const int calls = 20000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < calls; i++)
		sum += scorer_score(s, x + (size_t)(i % (int)n) * dim);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
		    calls / 1e3;
	print_message("scorer_score at dim %zu: %.2f us a call (sum %.1f)\n", dim, us, sum);
	assert_true(us < 50);
	arena_free(a);
	free(x);
	free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_logreg_closed_form),
		cmocka_unit_test(test_logreg_reference),
		cmocka_unit_test(test_logreg_separable),
		cmocka_unit_test(test_logreg_one_class),
		cmocka_unit_test(test_logreg_standardise),
		cmocka_unit_test(test_logreg_solvers_agree),
		cmocka_unit_test(test_logreg_weights),
		cmocka_unit_test(test_fit_errors),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_mf_fit),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_score_range),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_hand_written),
		cmocka_unit_test(test_json_malformed),
		cmocka_unit_test(test_json_too_many_values),
		cmocka_unit_test(test_metrics_perfect_and_reversed),
		cmocka_unit_test(test_metrics_by_hand),
		cmocka_unit_test(test_metrics_random_router),
		cmocka_unit_test(test_synthetic_benchmark),
		cmocka_unit_test(test_score_speed),
	};
	return cmocka_run_group_tests_name("aggregators_learn", tests, NULL, NULL);
}
