/* The statistics of `quorum eval` against values worked out by hand (and
 * checked with Python's exact integer arithmetic): Wilson intervals,
 * McNemar's exact and chi-square p-values, percentiles, the Pareto
 * frontier, and the table's helpers; then the chart: well-formed XML,
 * every label, the frontier through the right points. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../cli/evalstats.h"
#include "../../cli/svgplot.h"

#define EPS 5e-4

/* cmocka's assert_float_equal works in float; these values need double. */
static void near_at(double a, double b, double eps, const char *file, int line)
{
	if (!(fabs(a - b) <= eps)) {
		print_error("%.10g is not %.10g (+- %g)\n", a, b, eps);
		_fail(file, line);
	}
}
#define assert_near(a, b, eps) near_at((a), (b), (eps), __FILE__, __LINE__)

static void test_wilson_known_values(void **state)
{
	(void)state;
	/* 8 of 10: centre 0.7167, half-width 0.2266 */
	struct interval r = evalstats_wilson(8, 10);
	assert_near(r.lo, 0.4902, EPS);
	assert_near(r.hi, 0.9433, EPS);
	/* 392 of 500 (78.4 %, the 3-vote's theory) */
	r = evalstats_wilson(392, 500);
	assert_near(r.lo, 0.7458, EPS);
	assert_near(r.hi, 0.8178, EPS);
	/* 5 of 10 is symmetric about one half */
	r = evalstats_wilson(5, 10);
	assert_near(r.lo + r.hi, 1.0, 1e-12);
	assert_near(r.lo, 0.2366, EPS);
}

static void test_wilson_edges(void **state)
{
	(void)state;
	/* none right: exactly 0 below, 2 * centre above */
	struct interval r = evalstats_wilson(0, 10);
	assert_true(r.lo == 0.0);
	assert_near(r.hi, 0.2775, EPS);
	/* all right: exactly 1 above, the mirror image below */
	r = evalstats_wilson(10, 10);
	assert_true(r.hi == 1.0);
	assert_near(r.lo, 0.7225, EPS);
	r = evalstats_wilson(1, 1);
	assert_true(r.hi == 1.0);
	assert_near(r.lo, 0.2065, EPS);
	/* no trials: the interval that says nothing */
	r = evalstats_wilson(0, 0);
	assert_true(r.lo == 0.0 && r.hi == 1.0);
	/* always inside [0, 1] and around the estimate */
	for (size_t n = 1; n <= 60; n++)
		for (size_t k = 0; k <= n; k++) {
			r = evalstats_wilson(k, n);
			double ph = (double)k / (double)n;
			assert_true(r.lo >= 0.0 && r.lo <= ph + 1e-12);
			assert_true(r.hi <= 1.0 && r.hi >= ph - 1e-12);
		}
}

/* The bounds to 1e-12 relative, against Python's exact rationals with z the
 * double nearest the normal quantile of 0.975 (statistics.NormalDist().
 * inv_cdf(0.975) = 1.959963984540054). z = 1.959964, the quantile cut to
 * seven digits, moves the bounds by up to 1.6e-8 relative. */
static void test_wilson_full_precision_z(void **state)
{
	(void)state;
	assert_near(EVALSTATS_Z95, 1.959963984540054, 1e-15);
	static const struct {
		size_t k, n;
		double lo, hi;
	} v[] = {
		{73, 100, 0.63567883232055, 0.8073041585042365},
		{0, 1, 0.0, 0.7934506856227626},
		{1, 1, 0.2065493143772375, 1.0},
		{500, 1000, 0.4690696003681042, 0.5309303996318958},
		{0, 1000000000, 0.0, 3.841458805937317e-09},
		{1, 1000000000, 1.7652455495696322e-10, 5.664934243297437e-09},
		{999999999, 1000000000, 0.9999999943350658, 0.9999999998234754},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct interval r = evalstats_wilson(v[i].k, v[i].n);
		assert_near(r.lo, v[i].lo, 1e-12 * v[i].lo);
		assert_near(r.hi, v[i].hi, 1e-12 * v[i].hi);
		/* never degenerate: n trials leave room on both sides */
		assert_true(r.lo < r.hi);
	}
}

static void test_mcnemar_exact(void **state)
{
	(void)state;
	/* b = 10, c = 3: 2 (1 + 13 + 78 + 286) / 2^13 = 756 / 8192 */
	struct mcnemar m = evalstats_mcnemar(10, 3);
	assert_int_equal(m.b, 10);
	assert_int_equal(m.c, 3);
	assert_true(m.exact);
	assert_near(m.p, 756.0 / 8192.0, 1e-12);
	assert_near(m.p, 0.0923, 1e-4);
	/* two-sided: the direction does not matter */
	assert_near(evalstats_mcnemar(3, 10).p, m.p, 1e-15);
	/* 0 and 5: 2 / 2^5 */
	assert_near(evalstats_mcnemar(0, 5).p, 0.0625, 1e-12);
	/* the largest exact case, 7 and 17 of 24 */
	m = evalstats_mcnemar(7, 17);
	assert_true(m.exact);
	assert_near(m.p, 0.0639147, 1e-6);
	/* far tail: 1 and 23 is 2 * 25 / 2^24 */
	assert_near(evalstats_mcnemar(1, 23).p, 50.0 / 16777216.0, 1e-15);
	/* a tie counts the middle twice: capped at 1 */
	assert_true(evalstats_mcnemar(12, 12).p == 1.0);
	assert_true(evalstats_mcnemar(1, 0).p == 1.0);
	/* no discordant pair: no evidence either way */
	m = evalstats_mcnemar(0, 0);
	assert_true(m.p == 1.0);
}

static void test_mcnemar_chi_square(void **state)
{
	(void)state;
	/* b = 30, c = 10: (20 - 1)^2 / 40 = 9.025, erfc(sqrt(4.5125)) */
	struct mcnemar m = evalstats_mcnemar(30, 10);
	assert_false(m.exact);
	assert_near(m.chi2, 9.025, 1e-12);
	assert_near(m.p, 0.0026631, 1e-6);
	assert_near(evalstats_mcnemar(10, 30).p, m.p, 1e-15);
	/* from 25 pairs on: 8 and 17 is (9 - 1)^2 / 25 = 2.56 */
	m = evalstats_mcnemar(8, 17);
	assert_false(m.exact);
	assert_near(m.chi2, 2.56, 1e-12);
	assert_near(m.p, 0.1096, 1e-4);
	/* 20 and 5: 7.84, p = 0.00511 */
	assert_near(evalstats_mcnemar(20, 5).p, 0.0051103, 1e-6);
	/* a difference of one is no difference after the correction */
	m = evalstats_mcnemar(13, 12);
	assert_true(m.chi2 == 0.0 && m.p == 1.0);
	/* large counts: (100 - 1)^2 / 1900 = 5.1584, p = 0.02313 */
	m = evalstats_mcnemar(1000, 900);
	assert_near(m.chi2, 5.158421, 1e-6);
	assert_near(m.p, 0.0231339, 1e-6);
}

/* The paired test's edges: identical systems, one side never right, counts
 * far past any factorial, and the switch from exact to chi-square. */
static void test_mcnemar_edges(void **state)
{
	(void)state;
	/* identical systems on many questions: no discordant pair, p = 1 */
	enum { N = 5000 };
	static unsigned char a[N];
	for (size_t i = 0; i < N; i++)
		a[i] = (unsigned char)(i % 3 != 0);
	struct mcnemar m = evalstats_mcnemar_paired(a, a, N);
	assert_int_equal(m.b + m.c, 0);
	assert_true(m.p == 1.0 && m.chi2 == 0.0);
	/* a tie of any size: p = 1, never NaN */
	m = evalstats_mcnemar(1000000000, 1000000000);
	assert_false(m.exact);
	assert_true(m.p == 1.0);
	/* one discordant count 0: exact 2 / 2^24 at 24, chi-square from 25 */
	m = evalstats_mcnemar(0, 24);
	assert_true(m.exact);
	assert_near(m.p, 1.1920928955078125e-07, 1e-21);
	m = evalstats_mcnemar(0, 25);
	assert_false(m.exact);
	assert_near(m.chi2, 23.04, 1e-12);
	assert_near(m.p, 1.5866563039511896e-06, 1e-15);
	m = evalstats_mcnemar(1, 24);
	assert_near(m.p, 1.0825087815407715e-05, 1e-15);
	/* a thousand to none: a tiny p, not 0 or NaN (998001 / 1000) */
	m = evalstats_mcnemar(0, 1000);
	assert_near(m.chi2, 998.001, 1e-9);
	assert_true(m.p > 0.0);
	assert_near(m.p / 4.884013735521507e-219, 1.0, 1e-9);
	/* every p is a probability */
	for (size_t b = 0; b < 60; b++)
		for (size_t c = 0; c < 60; c++) {
			double p = evalstats_mcnemar(b, c).p;
			assert_true(p >= 0.0 && p <= 1.0);
		}
}

static void test_mcnemar_paired(void **state)
{
	(void)state;
	/* 2 both right, 3 only A, 1 only B, 1 both wrong; any nonzero is right */
	static const unsigned char a[] = {1, 1, 1, 2, 1, 0, 0};
	static const unsigned char b[] = {1, 1, 0, 0, 0, 7, 0};
	struct mcnemar m = evalstats_mcnemar_paired(a, b, 7);
	assert_int_equal(m.b, 3);
	assert_int_equal(m.c, 1);
	assert_true(m.exact);
	assert_near(m.p, 2.0 * 5.0 / 16.0, 1e-12);
	m = evalstats_mcnemar_paired(a, b, 0);
	assert_int_equal(m.b + m.c, 0);
	assert_true(m.p == 1.0);
}

static void test_percentiles(void **state)
{
	(void)state;
	double x[20];
	for (int i = 0; i < 20; i++)
		x[i] = 20 - i;     /* 20, 19, ..., 1: not sorted */
	double keep[20];
	memcpy(keep, x, sizeof(x));
	const double qs[] = {0.5, 0.95, 0.0, 1.0, -3.0, 7.0, 0.25};
	double out[7];
	assert_int_equal(evalstats_percentiles(x, 20, qs, 7, out), 0);
	assert_near(out[0], 10.5, 1e-12);   /* mean of the middle two */
	assert_near(out[1], 19.05, 1e-12);  /* 1 + 19 * 0.95 = 19.05 */
	assert_near(out[2], 1.0, 1e-12);
	assert_near(out[3], 20.0, 1e-12);
	assert_near(out[4], 1.0, 1e-12);    /* q clamped */
	assert_near(out[5], 20.0, 1e-12);
	assert_near(out[6], 5.75, 1e-12);
	assert_memory_equal(x, keep, sizeof(x));   /* the caller's order stays */

	/* numpy.percentile([3, 1, 2, 10], [50, 95]) = [2.5, 8.95] */
	const double y[] = {3, 1, NAN, 2, 10, NAN};
	const double q2[] = {0.5, 0.95};
	assert_int_equal(evalstats_percentiles(y, 6, q2, 2, out), 0);
	assert_near(out[0], 2.5, 1e-12);
	assert_near(out[1], 8.95, 1e-12);

	/* one value, no values, only NaN */
	const double one[] = {42.0};
	assert_int_equal(evalstats_percentiles(one, 1, q2, 2, out), 0);
	assert_true(out[0] == 42.0 && out[1] == 42.0);
	assert_int_equal(evalstats_percentiles(NULL, 0, q2, 2, out), 0);
	assert_true(isnan(out[0]) && isnan(out[1]));
	const double nan2[] = {NAN, NAN};
	assert_int_equal(evalstats_percentiles(nan2, 2, q2, 1, out), 0);
	assert_true(isnan(out[0]));
	assert_true(isnan(evalstats_percentile_sorted(NULL, 0, 0.5)));

	/* out of memory: -1, out untouched */
	out[0] = -7.0;
	q_alloc_fail_after(1);
	assert_int_equal(evalstats_percentiles(x, 20, qs, 1, out), -1);
	q_alloc_fail_after(0);
	assert_true(out[0] == -7.0);
}

/* Interpolation must not turn an infinite value into NaN: 0 * inf and
 * inf - inf are NaN, yet the 0-quantile of {5, inf} is 5 and any quantile
 * of {inf, inf} is inf. */
static void test_percentiles_infinite(void **state)
{
	(void)state;
	const double a[] = {5.0, INFINITY};
	assert_true(evalstats_percentile_sorted(a, 2, 0.0) == 5.0);
	assert_true(evalstats_percentile_sorted(a, 2, 0.5) == INFINITY);
	assert_true(evalstats_percentile_sorted(a, 2, 1.0) == INFINITY);
	const double b[] = {INFINITY, INFINITY};
	assert_true(evalstats_percentile_sorted(b, 2, 0.0) == INFINITY);
	assert_true(evalstats_percentile_sorted(b, 2, 0.5) == INFINITY);
	const double c[] = {-INFINITY, 1.0, 2.0};
	assert_true(evalstats_percentile_sorted(c, 3, 0.5) == 1.0);
	assert_near(evalstats_percentile_sorted(c, 3, 0.75), 1.5, 1e-15);
	assert_true(evalstats_percentile_sorted(c, 3, 0.25) == -INFINITY);
	const double d[] = {-INFINITY, INFINITY};
	assert_true(isnan(evalstats_percentile_sorted(d, 2, 0.5)));
	assert_true(evalstats_percentile_sorted(d, 2, 0.0) == -INFINITY);
}

static void test_pareto_frontier(void **state)
{
	(void)state;
	/*        0     1     2     3     4     5     6     7     8 */
	/* 0 cheapest; 1 dearer and better; 2 dominated by 1; 3 best and
	 * dearest; 4 equal to 1 (both stay); 5 same cost as 0 but worse
	 * (dominated); 6 unknown cost; 7 dearer than 3, no better
	 * (dominated); 8 same accuracy as 1 but dearer (dominated). */
	const double cost[] = {1.0, 3.0, 4.0, 10.0, 3.0, 1.0, NAN, 12.0, 5.0};
	const double acc[] = {0.55, 0.78, 0.70, 0.85, 0.78, 0.50, 0.99, 0.85, 0.78};
	size_t front[9];
	size_t m = evalstats_pareto(cost, acc, 9, front);
	assert_int_equal(m, 4);
	assert_int_equal(front[0], 0);
	assert_int_equal(front[1], 1);
	assert_int_equal(front[2], 4);
	assert_int_equal(front[3], 3);
	for (size_t i = 1; i < m; i++)
		assert_true(acc[front[i]] >= acc[front[i - 1]]);

	/* one point; none; all dominated by one free point */
	m = evalstats_pareto(cost, acc, 1, front);
	assert_int_equal(m, 1);
	assert_int_equal(evalstats_pareto(NULL, NULL, 0, front), 0);
	const double c2[] = {0.5, 0.0, 0.2, -1.0};
	const double a2[] = {0.6, 0.9, 0.9, 0.95};  /* -1: unknown cost */
	m = evalstats_pareto(c2, a2, 4, front);
	assert_int_equal(m, 1);
	assert_int_equal(front[0], 1);
}

static void test_table_helpers(void **state)
{
	(void)state;
	const double ag[] = {1.0, NAN, 2.0 / 3.0, 1.0 / 3.0};
	assert_near(evalstats_mean(ag, 4), 2.0 / 3.0, 1e-12);
	assert_true(isnan(evalstats_mean(ag + 1, 1)));
	assert_true(isnan(evalstats_mean(NULL, 0)));

	/* highest accuracy; on a tie the cheaper; a NaN accuracy never */
	const double acc[] = {0.70, NAN, 0.85, 0.85, 0.85, 0.60};
	const double cost[] = {1.0, 0.1, NAN, 3.0, 2.0, 0.5};
	assert_int_equal(evalstats_best(acc, cost, 6), 4);
	assert_int_equal(evalstats_best(acc, cost, 3), 2);
	assert_int_equal(evalstats_best(acc + 1, cost + 1, 1), 1);   /* none: n */
	assert_int_equal(evalstats_best(acc, cost, 0), 0);

	char s[16];
	assert_string_equal(evalstats_format_p(0.0922852, s, sizeof(s)), "0.092");
	assert_string_equal(evalstats_format_p(0.0026631, s, sizeof(s)), "0.0027");
	assert_string_equal(evalstats_format_p(0.34, s, sizeof(s)), "0.34");
	assert_string_equal(evalstats_format_p(1.0, s, sizeof(s)), "1.00");
	assert_string_equal(evalstats_format_p(0.0009, s, sizeof(s)), "<0.001");
	assert_string_equal(evalstats_format_p(3.8e-9, s, sizeof(s)), "<0.001");
	assert_string_equal(evalstats_format_p(0.001, s, sizeof(s)), "0.0010");
	assert_string_equal(evalstats_format_p(NAN, s, sizeof(s)), "-");
	assert_string_equal(evalstats_format_p(0.5, s, 3), "0.");   /* truncated */
}

/* Two significant digits also where rounding reaches the next power of
 * ten: 0.0999 is "0.10", not "0.100" (three digits). */
static void test_format_p_rounds_up_a_decade(void **state)
{
	(void)state;
	char s[16];
	assert_string_equal(evalstats_format_p(0.0999, s, sizeof(s)), "0.10");
	assert_string_equal(evalstats_format_p(0.0995, s, sizeof(s)), "0.10");
	assert_string_equal(evalstats_format_p(0.00999, s, sizeof(s)), "0.010");
	assert_string_equal(evalstats_format_p(0.009951, s, sizeof(s)), "0.010");
	assert_string_equal(evalstats_format_p(0.0994, s, sizeof(s)), "0.099");
	assert_string_equal(evalstats_format_p(0.00994, s, sizeof(s)), "0.0099");
	assert_string_equal(evalstats_format_p(0.999, s, sizeof(s)), "1.00");
	assert_string_equal(evalstats_format_p(0.0010001, s, sizeof(s)), "0.0010");
	assert_string_equal(evalstats_format_p(0.05, s, sizeof(s)), "0.050");
}

/* ---- the chart ---- */

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == ':' || c == '.';
}

/* An entity reference at s ("&amp;", "&#38;", ...): its length, 0 if bad. */
static size_t entity_len(const char *s)
{
	static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++)
		if (!strncmp(s, named[i], strlen(named[i])))
			return strlen(named[i]);
	if (s[1] != '#')
		return 0;
	int hex = s[2] == 'x';
	size_t start = 2 + (size_t)hex, n = start;
	while (hex ? isxdigit((unsigned char)s[n]) : isdigit((unsigned char)s[n]))
		n++;
	return n > start && s[n] == ';' ? n + 1 : 0;
}

/* A start or end tag at s (after its '<'): returns the end of the tag, or
 * NULL. Start tags push their name, end tags must match the top. */
static const char *xml_tag(const char *s, char stack[][32], int *depth, int *roots)
{
	int end = *s == '/';
	s += end;
	const char *name = s;
	while (name_char(*s))
		s++;
	size_t len = (size_t)(s - name);
	if (!len || len >= 32)
		return NULL;
	if (end) {
		if (!*depth || strlen(stack[*depth - 1]) != len || strncmp(stack[*depth - 1], name, len))
			return NULL;
		--*depth;
		return *s == '>' ? s + 1 : NULL;
	}
	for (;;) {
		while (*s == ' ' || *s == '\n' || *s == '\t')
			s++;
		if (*s == '>' || (s[0] == '/' && s[1] == '>'))
			break;
		const char *a = s;
		while (name_char(*s))
			s++;
		if (s == a || s[0] != '=' || s[1] != '"')
			return NULL;
		for (s += 2; *s != '"'; s++) {
			size_t e = *s == '&' ? entity_len(s) : 1;
			if (!*s || *s == '<' || !e)
				return NULL;
			s += e - 1;
		}
		s++;
	}
	if (!*depth)
		++*roots;
	if (*s == '/')
		return s + 2;
	if (*depth >= 16)
		return NULL;
	memcpy(stack[*depth], name, len);
	stack[(*depth)++][len] = '\0';
	return s + 1;
}

/* Whether s is well-formed XML, as far as an SVG of ours can stray: one
 * root, tags balanced, attributes quoted, entities known, no text outside
 * the root. Returns NULL, or what is wrong. */
static const char *xml_check(const char *s)
{
	char stack[16][32];
	int depth = 0, roots = 0;
	while (*s) {
		if (!strncmp(s, "<?", 2) || !strncmp(s, "<!--", 4)) {
			const char *close = strstr(s, s[1] == '?' ? "?>" : "-->");
			if (!close)
				return "an unterminated declaration or comment";
			s = close + 2;
		} else if (*s == '<') {
			if (!(s = xml_tag(s + 1, stack, &depth, &roots)))
				return "a bad tag";
		} else if (*s == '&') {
			size_t n = entity_len(s);
			if (!n)
				return "a bad entity";
			s += n;
		} else {
			if (!depth && !strchr(" \n\t", *s))
				return "text outside the root";
			s++;
		}
	}
	return depth ? "an unclosed element" : roots != 1 ? "not one root" : NULL;
}

/* xmllint's word too, when it is installed; 1 when it is not. */
static int xmllint_accepts(const char *svg)
{
	if (system("command -v xmllint >/dev/null 2>&1") != 0)
		return 1;
	FILE *f = popen("xmllint --noout - 2>&1", "w");
	assert_non_null(f);
	fputs(svg, f);
	return pclose(f) == 0;
}

/* Where the system labelled `text` (as written in the SVG) was drawn:
 * its group's translate(X,Y), copied as "X,Y". */
static void point_of(const char *svg, const char *text, char *out, size_t n)
{
	char needle[256];
	snprintf(needle, sizeof(needle), ">%s</text>", text);
	const char *at = strstr(svg, needle);
	assert_non_null(at);
	while (at > svg && strncmp(at, "translate(", 10))
		at--;
	assert_true(at > svg);
	at += 10;
	size_t len = strcspn(at, ")");
	assert_true(len < n);
	memcpy(out, at, len);
	out[len] = '\0';
}

static size_t count(const char *s, const char *what)
{
	size_t k = 0;
	for (const char *p = s; (p = strstr(p, what)); p++)
		k++;
	return k;
}

static struct svgplot_point system_pt(const char *label, enum svgplot_kind kind, double cost,
				      size_t right, size_t n)
{
	struct interval ci = evalstats_wilson(right, n);
	return (struct svgplot_point){label, kind, cost, (double)right / (double)n, ci.lo, ci.hi};
}

static void test_svg_chart(void **state)
{
	(void)state;
	const struct svgplot_point pts[] = {
		system_pt("weak", SVGPLOT_MODEL, 1e-5, 55, 100),
		system_pt("m1", SVGPLOT_MODEL, 2e-5, 70, 100),
		system_pt("vote.yaml", SVGPLOT_WORKFLOW, 6e-5, 78, 100),
		system_pt("strong", SVGPLOT_MODEL, 4e-4, 85, 100),
		system_pt("dominated.yaml", SVGPLOT_WORKFLOW, 5e-4, 80, 100),
		system_pt("a<b & \"c\"", SVGPLOT_MODEL, NAN, 60, 100),
		system_pt("mod\xC3\xA8le-\xC3\x9F", SVGPLOT_MODEL, 2e-5, 68, 100),
		system_pt("\xFF bad\x01", SVGPLOT_WORKFLOW, 1e-3, 86, 100),
	};
	struct svgplot p = {"Cost & accuracy <eval>", "100 questions", pts, 8};
	struct buf b = BUF_INIT;
	assert_int_equal(svgplot_write(&p, &b), 0);
	const char *svg = buf_str(&b);
	const char *why = xml_check(svg);
	if (why)
		print_error("%s\n", svg);
	assert_null(why);
	assert_true(xmllint_accepts(svg));
	assert_non_null(strstr(svg, "width=\"720\" height=\"480\""));
	assert_null(strstr(svg, "<script"));
	assert_non_null(strstr(svg, "Cost &amp; accuracy &lt;eval&gt;</text>"));
	/* every label, escaped; the unknown cost named in the note */
	static const char *const shown[] = {"weak", "m1", "vote.yaml", "strong", "dominated.yaml",
					    "mod\xC3\xA8le-\xC3\x9F", "\xEF\xBF\xBD bad "};
	for (size_t i = 0; i < sizeof(shown) / sizeof(*shown); i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), ">%s</text>", shown[i]);
		assert_non_null(strstr(svg, needle));
	}
	assert_non_null(strstr(svg, "not shown (cost or accuracy unknown): a&lt;b &amp; &quot;c&quot;"));
	/* three workflows as circles, four models as squares, each whiskered */
	assert_int_equal(count(svg, "class=\"system workflow\""), 3);
	assert_int_equal(count(svg, "class=\"system model\""), 4);
	assert_int_equal(count(svg, "class=\"whisker\""), 7);
	/* 1e-5 .. 1e-3 per query spans 100x: log, per 1,000 queries */
	assert_non_null(strstr(svg, "cost in USD per 1,000 queries (log scale)"));
	assert_non_null(strstr(svg, ">$0.01</text>"));
	assert_non_null(strstr(svg, ">$1</text>"));

	/* the frontier: weak, m1, vote, strong, then the dearest and best */
	static const char *const front[] = {"weak", "m1", "vote.yaml", "strong", "\xEF\xBF\xBD bad "};
	char want[512] = "", xy[64];
	for (size_t i = 0; i < sizeof(front) / sizeof(*front); i++) {
		point_of(svg, front[i], xy, sizeof(xy));
		strcat(want, i ? " " : "");
		strcat(want, xy);
	}
	const char *pl = strstr(svg, "class=\"frontier\"");
	assert_non_null(pl);
	pl = strstr(pl, "points=\"");
	assert_non_null(pl);
	pl += 8;
	assert_int_equal(strcspn(pl, "\""), strlen(want));
	assert_memory_equal(pl, want, strlen(want));
	/* it climbs: y (pixels, downward) never grows along it */
	double last = INFINITY;
	for (const char *q = pl; *q != '"';) {
		char *end;
		strtod(q, &end);
		assert_true(*end == ',');
		double y = strtod(end + 1, &end);
		assert_true(y <= last);
		last = y;
		q = end + (*end == ' ');
	}
	buf_release(&b);
}

/* The checker is no rubber stamp. */
static void test_xml_checker(void **state)
{
	(void)state;
	assert_null(xml_check("<?xml version=\"1.0\"?>\n<a x=\"1 &amp; &#38; &#x26;\"><b/>t&lt;</a>\n"));
	static const char *const bad[] = {
		"<a><b></a></b>", "<a x=1/>", "<a>&foo;</a>", "<a></a><b/>", "<a>",
		"<a x=\"<\"/>", "text<a/>", "<a>&#x;</a>", "<a x=\"1\"", "</a>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_non_null(xml_check(bad[i]));
}

/* Charts at the edges of the numbers: every system free (an eval served
 * from the cache), accuracies of 0 and 1 on one question, equal points, a
 * log scale across six decades: no NaN or infinity in any coordinate. */
static void test_svg_edge_numbers(void **state)
{
	(void)state;
	const struct svgplot_point sets[][4] = {
		{system_pt("a", SVGPLOT_MODEL, 0.0, 1, 1),
		 system_pt("b", SVGPLOT_WORKFLOW, 0.0, 0, 1),
		 system_pt("c", SVGPLOT_MODEL, 0.0, 1, 1),
		 system_pt("d", SVGPLOT_WORKFLOW, 0.0, 1, 1)},
		{system_pt("a", SVGPLOT_MODEL, 1e-9, 0, 1000),
		 system_pt("b", SVGPLOT_MODEL, 1e-3, 1000, 1000),
		 system_pt("c", SVGPLOT_WORKFLOW, 1e-3, 1000, 1000),
		 system_pt("d", SVGPLOT_WORKFLOW, 1e-6, 500, 1000)},
		{system_pt("a", SVGPLOT_MODEL, 0.0, 3, 4),
		 system_pt("b", SVGPLOT_MODEL, 5.0, 3, 4),
		 system_pt("c", SVGPLOT_WORKFLOW, 5.0, 4, 4),
		 system_pt("d", SVGPLOT_WORKFLOW, 0.0, 3, 4)},
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct svgplot p = {NULL, NULL, sets[i], 4};
		struct buf b = BUF_INIT;
		assert_int_equal(svgplot_write(&p, &b), 0);
		const char *svg = buf_str(&b);
		assert_null(xml_check(svg));
		assert_null(strstr(svg, "nan"));
		assert_null(strstr(svg, "inf\""));
		assert_null(strstr(svg, "=\"inf"));
		assert_null(strstr(svg, "=\"-inf"));
		if (i == 1)
			assert_non_null(strstr(svg, "log scale"));
		else
			assert_null(strstr(svg, "log scale"));
		buf_release(&b);
	}
}

static void test_svg_scales_and_edges(void **state)
{
	(void)state;
	/* within 10x: linear from $0, per query when a cent or more */
	const struct svgplot_point pts[] = {
		system_pt("cheap", SVGPLOT_MODEL, 0.01, 60, 100),
		system_pt("dear", SVGPLOT_WORKFLOW, 0.05, 75, 100),
	};
	struct svgplot p = {NULL, NULL, pts, 2};
	struct buf b = BUF_INIT;
	assert_int_equal(svgplot_write(&p, &b), 0);
	assert_null(xml_check(buf_str(&b)));
	assert_non_null(strstr(buf_str(&b), "cost in USD per 1,000 queries</text>"));
	assert_non_null(strstr(buf_str(&b), ">$0</text>"));
	assert_non_null(strstr(buf_str(&b), ">Cost and accuracy</text>"));
	assert_null(strstr(buf_str(&b), "log scale"));
	buf_release(&b);

	/* a free system forbids a log scale however wide the range */
	const struct svgplot_point free_pts[] = {
		system_pt("local", SVGPLOT_MODEL, 0.0, 50, 100),
		system_pt("cloud", SVGPLOT_MODEL, 2.0, 90, 100),
	};
	p = (struct svgplot){"t", NULL, free_pts, 2};
	assert_int_equal(svgplot_write(&p, &b), 0);
	assert_null(xml_check(buf_str(&b)));
	assert_non_null(strstr(buf_str(&b), "cost in USD per query</text>"));
	buf_release(&b);

	/* nothing to draw: still a document */
	p = (struct svgplot){"empty", NULL, NULL, 0};
	assert_int_equal(svgplot_write(&p, &b), 0);
	assert_null(xml_check(buf_str(&b)));
	assert_null(strstr(buf_str(&b), "frontier"));
	buf_release(&b);

	/* out of memory at each allocation in turn, and a buffer's cap: -1 */
	p = (struct svgplot){"t", NULL, pts, 2};
	for (long k = 1;; k++) {
		assert_true(k < 100);
		q_alloc_fail_after(k);
		int rc = svgplot_write(&p, &b);
		q_alloc_fail_after(0);
		buf_release(&b);
		if (rc == 0)
			break;
		assert_int_equal(rc, -1);
	}
	buf_init(&b, 200);
	assert_int_equal(svgplot_write(&p, &b), -1);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wilson_known_values),
		cmocka_unit_test(test_wilson_edges),
		cmocka_unit_test(test_wilson_full_precision_z),
		cmocka_unit_test(test_mcnemar_exact),
		cmocka_unit_test(test_mcnemar_chi_square),
		cmocka_unit_test(test_mcnemar_edges),
		cmocka_unit_test(test_mcnemar_paired),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_percentiles_infinite),
		cmocka_unit_test(test_pareto_frontier),
		cmocka_unit_test(test_table_helpers),
		cmocka_unit_test(test_format_p_rounds_up_a_decade),
		cmocka_unit_test(test_xml_checker),
		cmocka_unit_test(test_svg_chart),
		cmocka_unit_test(test_svg_scales_and_edges),
		cmocka_unit_test(test_svg_edge_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
