#include "bandit.h"

#include <math.h>
#include <string.h>

#include "../common/rng.h"

#define NU_MAX 1e9

/* Uniform on (0, 1]: never 0, so its log is finite. */
static double uniform(uint64_t *rng)
{
	return splitmix64_unit(rng, 1.0);
}

/* Standard normal (Box-Muller, one of the pair). */
static double normal(uint64_t *rng)
{
	double u1 = uniform(rng), u2 = uniform(rng);
	return box_muller(u1, u2);
}

/* Gamma(a, 1) (Marsaglia and Tsang, 2000); a < 1 through
 * Gamma(a + 1) U^(1/a). */
static double gamma_draw(double a, uint64_t *rng)
{
	if (a < 1.0)
		return gamma_draw(a + 1.0, rng) * pow(uniform(rng), 1.0 / a);
	double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double z, v;
		do {
			z = normal(rng);
			v = 1.0 + c * z;
		} while (v <= 0.0);
		v = v * v * v;
		double u = uniform(rng);
		if (u < 1.0 - 0.0331 * z * z * z * z ||
		    log(u) < 0.5 * z * z + d * (1.0 - v + log(v)))
			return d * v;
	}
}

static double beta_draw(double a, double b, uint64_t *rng)
{
	double x = gamma_draw(a, rng), y = gamma_draw(b, rng);
	return x / (x + y);
}

/* Thompson sampling's draw: Beta(1 + S, 1 + n - S), S the sum of the
 * arm's n rewards (fractional rewards count fractionally). */
static double beta_estimate(const struct bandit_arm_state *a, uint64_t *rng)
{
	double s = a->reward_sum, n = (double)a->rewarded;
	s = s < 0 ? 0 : s > n ? n : s;
	return beta_draw(1.0 + s, 1.0 + n - s, rng);
}

void bandit_config_init(struct bandit_config *cfg)
{
	*cfg = (struct bandit_config){
		.policy = BANDIT_THOMPSON,
		.pacer_eta = 0.05,
		.explore = 1,
		.proj_dim = 16,
		.ucb_c = 1.0,
		.lin_v = 0.5,
		.ridge = 1.0,
	};
}

/* Fills err (when not NULL); returns -1. */
static int bad(struct qerr *err, const char *field, double v, const char *want)
{
	return err ? qerr_set(err, "bandit %s %g must be %s", field, v, want) : -1;
}

int bandit_config_check(const struct bandit_config *cfg, struct qerr *err)
{
	if ((unsigned)cfg->policy > BANDIT_LIN_UCB)
		return err ? qerr_set(err, "bandit policy %d unknown",
				      (int)cfg->policy) : -1;
	if (cfg->proj_dim < 2 || cfg->proj_dim > BANDIT_K_MAX)
		return err ? qerr_set(err, "bandit proj_dim %u out of range 2..%d",
				      cfg->proj_dim, BANDIT_K_MAX) : -1;
	const struct {
		const char *field;
		double v;
		int zero_ok;
	} nums[] = {
		{"cost_weight", cfg->cost_weight, 1},
		{"budget_per_query", cfg->budget_per_query, 1},
		{"pacer_eta", cfg->pacer_eta, 0},
		{"ucb_c", cfg->ucb_c, 0},
		{"lin_v", cfg->lin_v, 0},
		{"ridge", cfg->ridge, 0},
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		double v = nums[i].v;
		if (!isfinite(v) || v < 0 || (v == 0 && !nums[i].zero_ok))
			return bad(err, nums[i].field, v, nums[i].zero_ok ? "0 or more" :
				   "above 0");
	}
	return 0;
}

static const char *const policy_names[] = {
	[BANDIT_THOMPSON] = "thompson",
	[BANDIT_UCB1] = "ucb1",
	[BANDIT_UCB_TUNED] = "ucb-tuned",
	[BANDIT_LIN_TS] = "lin-ts",
	[BANDIT_LIN_UCB] = "lin-ucb",
};

const char *bandit_policy_name(enum bandit_policy p)
{
	return (unsigned)p <= BANDIT_LIN_UCB ? policy_names[p] : "?";
}

int bandit_policy_parse(const char *name, enum bandit_policy *p)
{
	for (unsigned i = 0; i <= BANDIT_LIN_UCB; i++)
		if (name && strcmp(name, policy_names[i]) == 0) {
			*p = (enum bandit_policy)i;
			return 0;
		}
	return -1;
}

static unsigned proj_k(const struct bandit_config *cfg)
{
	unsigned k = cfg->proj_dim;
	return k < 2 ? 2 : k > BANDIT_K_MAX ? BANDIT_K_MAX : k;
}

void bandit_project(const struct bandit_config *cfg, const float *e, size_t dim,
		    double *x)
{
	unsigned k = proj_k(cfg);
	memset(x, 0, k * sizeof(*x));
	x[0] = 1.0;
	if (!e || !dim)
		return;
	double norm2 = 0;
	for (size_t i = 0; i < dim; i++)
		if (isfinite(e[i]))
			norm2 += (double)e[i] * e[i];
	if (!(norm2 > 0) || !isfinite(norm2))
		return;
	double scale = 1.0 / (sqrt(norm2) * sqrt((double)(k - 1)));
	for (unsigned j = 1; j < k; j++) {
		double s = 0;
		for (size_t w = 0; w * 64 < dim; w++) {
			uint64_t key = (uint64_t)j << 40 | (uint64_t)w;
			uint64_t signs = splitmix64_mix(cfg->seed ^ key);
			size_t end = dim - w * 64 < 64 ? dim - w * 64 : 64;
			const float *p = e + w * 64;
			for (size_t i = 0; i < end; i++) {
				double v = isfinite(p[i]) ? p[i] : 0.0;
				s += (signs >> i & 1) ? v : -v;
			}
		}
		x[j] = s * scale;
	}
}

/* The cold-start order: a permutation of 0..n-1 from seed (Fisher-Yates
 * on splitmix64; the modulo's bias is below 2^-58 for n <= 32). rank[a]
 * is arm a's place in it. */
static void order_ranks(uint64_t seed, size_t n, size_t *rank)
{
	size_t perm[BANDIT_ARMS_MAX];
	uint64_t st = seed;
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(splitmix64_next(&st) % i);
		size_t t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		rank[perm[i]] = i;
}

/* A = ridge I + gram, factored as L L^T (lower, row stride K_MAX).
 * Returns 0, or -1 when A is not positive definite (numerically). */
static int cholesky(const struct bandit_arm_state *a, unsigned k, double ridge,
		    double *L)
{
	for (unsigned i = 0; i < k; i++)
		for (unsigned j = 0; j <= i; j++) {
			double s = a->gram[i * BANDIT_K_MAX + j] + (i == j ? ridge : 0.0);
			for (unsigned m = 0; m < j; m++)
				s -= L[i * BANDIT_K_MAX + m] * L[j * BANDIT_K_MAX + m];
			if (i == j) {
				if (!(s > 0))
					return -1;
				L[i * BANDIT_K_MAX + i] = sqrt(s);
			} else
				L[i * BANDIT_K_MAX + j] = s / L[j * BANDIT_K_MAX + j];
		}
	return 0;
}

/* Solves L y = v (forward). */
static void solve_lower(const double *L, unsigned k, const double *v, double *y)
{
	for (unsigned i = 0; i < k; i++) {
		double s = v[i];
		for (unsigned m = 0; m < i; m++)
			s -= L[i * BANDIT_K_MAX + m] * y[m];
		y[i] = s / L[i * BANDIT_K_MAX + i];
	}
}

/* Solves L^T y = v (backward). */
static void solve_upper(const double *L, unsigned k, const double *v, double *y)
{
	for (unsigned i = k; i-- > 0;) {
		double s = v[i];
		for (unsigned m = i + 1; m < k; m++)
			s -= L[m * BANDIT_K_MAX + i] * y[m];
		y[i] = s / L[i * BANDIT_K_MAX + i];
	}
}

/* The linear policies' estimate for arm a at context x: with A = ridge I
 * + gram and theta = A^-1 xr, lin-ucb gives theta.x + c sqrt(x A^-1 x),
 * lin-ts theta~.x with theta~ ~ N(theta, v^2 A^-1), drawn as theta +
 * v L^-T z for z ~ N(0, I). */
static double linear_estimate(const struct bandit_config *cfg,
			      const struct bandit_arm_state *a, const double *x,
			      unsigned k, uint64_t *rng)
{
	double L[BANDIT_K_MAX * BANDIT_K_MAX], y[BANDIT_K_MAX], theta[BANDIT_K_MAX];
	if (cholesky(a, k, cfg->ridge > 0 ? cfg->ridge : 1.0, L) != 0)
		return cfg->policy == BANDIT_LIN_UCB ? INFINITY : beta_estimate(a, rng);
	solve_lower(L, k, a->xr, y);
	solve_upper(L, k, y, theta);
	if (cfg->policy == BANDIT_LIN_TS) {
		double z[BANDIT_K_MAX], u[BANDIT_K_MAX];
		for (unsigned i = 0; i < k; i++)
			z[i] = normal(rng);
		solve_upper(L, k, z, u);
		for (unsigned i = 0; i < k; i++)
			theta[i] += cfg->lin_v * u[i];
	}
	double est = 0;
	for (unsigned i = 0; i < k; i++)
		est += theta[i] * x[i];
	if (cfg->policy == BANDIT_LIN_UCB) {
		solve_lower(L, k, x, y);   /* |L^-1 x|^2 = x A^-1 x */
		double w = 0;
		for (unsigned i = 0; i < k; i++)
			w += y[i] * y[i];
		est += cfg->ucb_c * sqrt(w);
	}
	return est;
}

/* UCB1 and UCB-Tuned over n rewards of the arm, N of all arms. */
static double ucb_estimate(const struct bandit_config *cfg,
			   const struct bandit_arm_state *a, double N)
{
	if (a->rewarded == 0)
		return INFINITY;
	double n = (double)a->rewarded;
	double mean = a->reward_sum / n;
	double lnN = log(N);
	if (cfg->policy == BANDIT_UCB1)
		return mean + cfg->ucb_c * sqrt(2.0 * lnN / n);
	double var = a->reward_sq / n - mean * mean;
	double V = (var > 0 ? var : 0) + sqrt(2.0 * lnN / n);
	return mean + cfg->ucb_c * sqrt(lnN / n * (V < 0.25 ? V : 0.25));
}

/* a beats b: higher score, then fewer pulls, then earlier in the order. */
static int better(double sa, uint64_t pa, size_t ra, double sb, uint64_t pb, size_t rb)
{
	if (sa != sb)
		return sa > sb;
	if (pa != pb)
		return pa < pb;
	return ra < rb;
}

/* The policy's reward estimate for arm a; N: rewards over all arms. */
static double estimate(const struct bandit_config *cfg, const struct bandit_arm_state *a,
		       double N, const double *x, unsigned k, uint64_t *rng)
{
	switch (cfg->policy) {
	case BANDIT_UCB1:
	case BANDIT_UCB_TUNED:
		return ucb_estimate(cfg, a, N);
	case BANDIT_LIN_TS:
	case BANDIT_LIN_UCB:
		return linear_estimate(cfg, a, x, k, rng);
	case BANDIT_THOMPSON:
	default:
		return beta_estimate(a, rng);
	}
}

/* The price of a dollar: cost_weight, plus nu / B under a budget. */
static double price_of(const struct bandit_config *cfg, const struct bandit_budget *b)
{
	double w = cfg->cost_weight;
	double price = isfinite(w) && w > 0 ? w : 0;
	if (b && cfg->budget_per_query > 0 && b->nu > 0)
		price += b->nu / cfg->budget_per_query;
	return price;
}

size_t bandit_choose(const struct bandit_config *cfg,
		     const struct bandit_arm_state *arms, size_t narms,
		     const float *context, size_t dim, const struct bandit_budget *b,
		     uint64_t *rng, struct bandit_choice *why)
{
	struct bandit_choice local;
	if (!why)
		why = &local;
	memset(why, 0, sizeof(*why));
	why->arm = BANDIT_NONE;
	if (narms == 0 || narms > BANDIT_ARMS_MAX)
		return BANDIT_NONE;
	why->k = proj_k(cfg);
	bandit_project(cfg, context, dim, why->x);
	why->price = price_of(cfg, b);
	size_t rank[BANDIT_ARMS_MAX];
	order_ranks(cfg->seed, narms, rank);
	double N = 0;
	uint64_t fewest = UINT64_MAX;
	for (size_t i = 0; i < narms; i++) {
		const struct bandit_arm_state *a = &arms[i];
		N += (double)a->rewarded;
		fewest = a->pulls < fewest ? a->pulls : fewest;
		double c = a->costed ? a->cost_sum / (double)a->costed : 0.0;
		why->cost[i] = isfinite(c) && c > 0 ? c : 0.0;
	}
	int cold = fewest < cfg->explore;
	size_t best = BANDIT_NONE;
	for (size_t i = 0; i < narms; i++) {
		const struct bandit_arm_state *a = &arms[i];
		if (cold) {
			/* No draws: the rng steps only under a policy. */
			if (a->pulls == fewest &&
			    (best == BANDIT_NONE || rank[i] < rank[best]))
				best = i;
			continue;
		}
		double est = estimate(cfg, a, N, why->x, why->k, rng);
		double score = isinf(est) ? est : est - why->price * why->cost[i];
		why->estimate[i] = est;
		why->score[i] = isnan(score) ? -INFINITY : score;
		if (best == BANDIT_NONE ||
		    better(why->score[i], a->pulls, rank[i], why->score[best],
			   arms[best].pulls, rank[best]))
			best = i;
	}
	why->cold_start = cold;
	why->arm = best;
	return best;
}

void bandit_pull(struct bandit_arm_state *arm)
{
	arm->pulls++;
}

void bandit_update_cost(const struct bandit_config *cfg, struct bandit_arm_state *arm,
			struct bandit_budget *b, double cost)
{
	if (!isfinite(cost) || cost < 0)
		cost = 0;
	if (arm) {
		arm->costed++;
		arm->cost_sum += cost;
	}
	if (!b)
		return;
	b->queries++;
	b->spent += cost;
	double B = cfg->budget_per_query;
	if (!(B > 0) || !isfinite(B)) {
		b->nu = 0;
		return;
	}
	double nu = b->nu + cfg->pacer_eta * (cost - B) / B;
	b->nu = !(nu > 0) ? 0 : nu > NU_MAX ? NU_MAX : nu;
}

void bandit_update_reward(struct bandit_arm_state *arm, double reward,
			  const double *x, unsigned k)
{
	if (isnan(reward))
		return;
	double r = reward < 0 ? 0 : reward > 1 ? 1 : reward;
	arm->rewarded++;
	arm->reward_sum += r;
	arm->reward_sq += r * r;
	if (!x || k == 0 || k > BANDIT_K_MAX)
		return;
	for (unsigned i = 0; i < k; i++) {
		if (!isfinite(x[i]))
			return;
	}
	for (unsigned i = 0; i < k; i++) {
		for (unsigned j = 0; j < k; j++)
			arm->gram[i * BANDIT_K_MAX + j] += x[i] * x[j];
		arm->xr[i] += r * x[i];
	}
}
