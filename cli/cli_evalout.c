/* quorum eval's results: per system, over the questions every system
 * finished, accuracy with its Wilson interval, McNemar against the best
 * single model, calls, tokens, cost, latency percentiles and agreement;
 * as a table, as JSON, and as a cost/accuracy chart. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_eval.h"
#include "evalstats.h"
#include "svgplot.h"

/* One system's numbers. */
struct sys_stats {
	size_t n, correct, failed;
	double acc;
	struct interval ci;
	long calls;
	long long tokens;
	double cost, cost_per_q;      /* cost_per_q NaN when a price is unknown */
	double p50, p95;              /* ms */
	double agreement, unanimous;  /* NaN: one member only */
	struct mcnemar vs;            /* against the best single model */
	int has_vs, on_front;
};

struct stats {
	size_t nq;                    /* questions that count */
	size_t best;                  /* the best single model; nsys: none */
	struct sys_stats *s;
};

static void sys_numbers(const struct eval *e, size_t si, struct sys_stats *st, double *lat,
			double *agr)
{
	const struct eval_sys *sys = &e->sys[si];
	size_t n = 0, unan = 0, nagr = 0;
	int unknown = 0;
	for (size_t q = 0; q < e->nq; q++) {
		if (!e->qs[q].complete)
			continue;
		const struct eval_outcome *o = &sys->out[q];
		st->correct += o->correct;
		st->failed += o->failed;
		st->calls += o->calls;
		st->tokens += o->tokens;
		st->cost += o->cost_usd;
		unknown |= o->price_unknown;
		lat[n] = o->latency_ms;
		agr[n] = o->agreement;
		if (!isnan(o->agreement)) {
			nagr++;
			unan += o->agreement >= 1.0;
		}
		n++;
	}
	st->n = n;
	st->acc = n ? (double)st->correct / (double)n : NAN;
	st->ci = evalstats_wilson(st->correct, n);
	st->cost_per_q = unknown || !n ? NAN : st->cost / (double)n;
	double qs[2] = {0.5, 0.95}, out[2] = {NAN, NAN};
	evalstats_percentiles(lat, n, qs, 2, out);
	st->p50 = out[0];
	st->p95 = out[1];
	st->agreement = evalstats_mean(agr, n);
	st->unanimous = nagr ? (double)unan / (double)nagr : NAN;
}

/* Which questions system si got right, in question order. */
static void paired(const struct eval *e, size_t si, unsigned char *v)
{
	size_t n = 0;
	for (size_t q = 0; q < e->nq; q++)
		if (e->qs[q].complete)
			v[n++] = e->sys[si].out[q].correct;
}

static int compute(const struct eval *e, struct stats *st)
{
	size_t ns = e->nsys, nq = e->nq;
	st->s = calloc(ns, sizeof(*st->s));
	double *lat = malloc((nq + 1) * sizeof(double)), *agr = malloc((nq + 1) * sizeof(double));
	double *acc = calloc(ns + 1, sizeof(double)), *cost = calloc(ns + 1, sizeof(double));
	unsigned char *a = malloc(nq + 1), *b = malloc(nq + 1);
	size_t *front = calloc(ns + 1, sizeof(size_t));
	int rc = -1;
	if (!st->s || !lat || !agr || !acc || !cost || !a || !b || !front)
		goto out;
	for (size_t i = 0; i < ns; i++) {
		sys_numbers(e, i, &st->s[i], lat, agr);
		acc[i] = e->sys[i].is_model ? st->s[i].acc : NAN;
		cost[i] = st->s[i].cost_per_q;
	}
	st->nq = ns ? st->s[0].n : 0;
	st->best = evalstats_best(acc, cost, ns);
	if (st->best < ns) {
		paired(e, st->best, b);
		for (size_t i = 0; i < ns; i++) {
			if (i == st->best)
				continue;
			paired(e, i, a);
			st->s[i].vs = evalstats_mcnemar_paired(a, b, st->nq);
			st->s[i].has_vs = 1;
		}
	}
	for (size_t i = 0; i < ns; i++)
		acc[i] = st->s[i].acc;
	size_t nf = evalstats_pareto(cost, acc, ns, front);
	for (size_t i = 0; i < nf; i++)
		st->s[front[i]].on_front = 1;
	rc = 0;
out:
	free(lat);
	free(agr);
	free(acc);
	free(cost);
	free(a);
	free(b);
	free(front);
	return rc;
}

/* How the answers were compared: the eval's mode, or the lines' own when
 * every line names the same one. */
static void compare_words(const struct eval *e, char *out, size_t n)
{
	size_t own = 0;
	const char *first = NULL;
	int same = 1;
	for (size_t q = 0; q < e->nq; q++) {
		if (!e->qs[q].cmp)
			continue;
		const char *name = quorum_compare_name(e->qs[q].cmp);
		same &= !first || !strcmp(first, name);
		first = first ? first : name;
		own++;
	}
	if (own == e->nq && same)
		snprintf(out, n, "%s", first);
	else if (own)
		snprintf(out, n, "%s (%zu lines by their own \"compare\")",
			 quorum_compare_name(e->cmp), own);
	else
		snprintf(out, n, "%s", quorum_compare_name(e->cmp));
}

/* ---- the table ---- */

static void put_pct(char *out, size_t n, double x)
{
	if (isnan(x))
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.1f%%", 100.0 * x);
}

static void put_ms(char *out, size_t n, double ms)
{
	if (isnan(ms))
		snprintf(out, n, "-");
	else if (ms < 10000)
		snprintf(out, n, "%.0fms", ms);
	else
		snprintf(out, n, "%.1fs", ms / 1000.0);
}

static void put_cost(char *out, size_t n, double usd)
{
	if (isnan(usd))
		snprintf(out, n, "unknown");
	else if (usd == 0 || usd >= 0.01)
		snprintf(out, n, "$%.4f", usd);
	else
		snprintf(out, n, "$%.6f", usd);
}

/* "+8.5 pts p=0.0027", "best", or "-". */
static void put_vs(char *out, size_t n, const struct stats *st, size_t i)
{
	const struct sys_stats *s = &st->s[i];
	if (i == st->best) {
		snprintf(out, n, "best single");
		return;
	}
	if (!s->has_vs) {
		snprintf(out, n, "-");
		return;
	}
	char p[16];
	evalstats_format_p(s->vs.p, p, sizeof(p));
	/* From the counts: 35 of 400 is 8.75 points exactly, which the
	 * difference of two rounded accuracies could print as 8.7. */
	double d = 100.0 * ((double)s->correct - (double)st->s[st->best].correct) /
		   (double)(s->n ? s->n : 1);
	snprintf(out, n, "%+.1f pts, p%s%s", d, p[0] == '<' ? "" : "=", p);
}

static void print_table(const struct eval *e, const struct stats *st)
{
	int w = 6;
	for (size_t i = 0; i < e->nsys; i++)
		if ((int)strlen(e->sys[i].name) > w)
			w = (int)strlen(e->sys[i].name);
	if (w > 48)
		w = 48;
	char how[160];
	compare_words(e, how, sizeof(how));
	printf("quorum eval: %zu question%s from %s, answers compared by %s\n\n", st->nq,
	       st->nq == 1 ? "" : "s", e->in.name, how);
	printf("%-*s  %7s  %-13s  %-20s  %7s  %9s  %10s  %7s  %7s  %6s\n", w + 2, "system",
	       "correct", "95% CI", "vs best single", "calls", "tokens", "cost/query", "p50",
	       "p95", "agree");
	for (size_t i = 0; i < e->nsys; i++) {
		const struct sys_stats *s = &st->s[i];
		char acc[16], ci[32], vs[48], cost[24], p50[16], p95[16], agr[16];
		put_pct(acc, sizeof(acc), s->acc);
		snprintf(ci, sizeof(ci), "%.1f-%.1f%%", 100.0 * s->ci.lo, 100.0 * s->ci.hi);
		put_vs(vs, sizeof(vs), st, i);
		put_cost(cost, sizeof(cost), s->cost_per_q);
		put_ms(p50, sizeof(p50), s->p50);
		put_ms(p95, sizeof(p95), s->p95);
		put_pct(agr, sizeof(agr), s->agreement);
		printf("%c %-*.*s  %7s  %-13s  %-20s  %7ld  %9lld  %10s  %7s  %7s  %6s\n",
		       s->on_front ? '*' : ' ', w, w, e->sys[i].name, acc, ci, vs, s->calls,
		       s->tokens, cost, p50, p95, agr);
	}
	printf("\n* on the cost/accuracy frontier (nothing is both cheaper and more "
	       "accurate).\n");
	printf("vs best single: the difference in points and McNemar's p on the same "
	       "questions\n(p < 0.05: unlikely to be chance). agree: the share of members "
	       "giving the\ncommonest answer, on average.\n");
	size_t failed = 0;
	for (size_t i = 0; i < e->nsys; i++)
		failed += st->s[i].failed;
	if (failed)
		printf("%zu runs failed and count as wrong answers.\n", failed);
	if (e->grading_calls)
		printf("grading: %ld calls, $%.4f (not in the systems' costs).\n", e->grading_calls,
		       e->grading_cost);
	if (st->nq < e->nq)
		printf("interrupted: %zu of %zu questions finished by every system are "
		       "counted.\n", st->nq, e->nq);
}

/* ---- JSON ---- */

/* Six significant digits: 0.803353, not 0.80335300000000032. */
static double tidy(double x)
{
	char t[32];
	snprintf(t, sizeof(t), "%.6g", x);
	return strtod(t, NULL);
}

static cJSON *num_or_null(double x)
{
	return isnan(x) ? cJSON_CreateNull() : cJSON_CreateNumber(tidy(x));
}

/* cJSON indents with tabs and writes a tab after each colon: two spaces
 * and one, as JSON tools print it (a tab in a string is escaped, so every
 * raw tab is layout). */
static void put_pretty(const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p != '\t')
			putchar(*p);
		else if (p > text && p[-1] == ':')
			putchar(' ');
		else
			fputs("  ", stdout);
	}
	putchar('\n');
}

static cJSON *sys_json(const struct eval *e, const struct stats *st, size_t i)
{
	const struct sys_stats *s = &st->s[i];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", e->sys[i].name);
	cJSON_AddStringToObject(o, "kind", e->sys[i].is_model ? "model" : "workflow");
	cJSON_AddNumberToObject(o, "questions", (double)s->n);
	cJSON_AddNumberToObject(o, "correct", (double)s->correct);
	cJSON_AddNumberToObject(o, "failed", (double)s->failed);
	cJSON_AddItemToObject(o, "accuracy", num_or_null(s->acc));
	cJSON *ci = cJSON_AddArrayToObject(o, "ci95");
	cJSON_AddItemToArray(ci, cJSON_CreateNumber(tidy(s->ci.lo)));
	cJSON_AddItemToArray(ci, cJSON_CreateNumber(tidy(s->ci.hi)));
	if (s->has_vs) {
		cJSON *m = cJSON_AddObjectToObject(o, "mcnemar");
		cJSON_AddStringToObject(m, "against", e->sys[st->best].name);
		cJSON_AddNumberToObject(m, "only_this_right", (double)s->vs.b);
		cJSON_AddNumberToObject(m, "only_best_right", (double)s->vs.c);
		cJSON_AddNumberToObject(m, "p", tidy(s->vs.p));
		cJSON_AddBoolToObject(m, "exact", s->vs.exact);
	} else {
		cJSON_AddNullToObject(o, "mcnemar");
	}
	cJSON_AddNumberToObject(o, "calls", (double)s->calls);
	cJSON_AddNumberToObject(o, "tokens", (double)s->tokens);
	cJSON_AddNumberToObject(o, "cost_usd", tidy(s->cost));
	cJSON_AddItemToObject(o, "cost_per_query_usd", num_or_null(s->cost_per_q));
	cJSON *lat = cJSON_AddObjectToObject(o, "latency_ms");
	cJSON_AddItemToObject(lat, "p50", num_or_null(s->p50));
	cJSON_AddItemToObject(lat, "p95", num_or_null(s->p95));
	cJSON *ag = cJSON_AddObjectToObject(o, "agreement");
	cJSON_AddItemToObject(ag, "mean", num_or_null(s->agreement));
	cJSON_AddItemToObject(ag, "unanimous", num_or_null(s->unanimous));
	cJSON_AddBoolToObject(o, "pareto", s->on_front);
	return o;
}

static int print_json(const struct eval *e, const struct stats *st)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "data", e->in.name);
	cJSON_AddNumberToObject(o, "questions", (double)st->nq);
	cJSON_AddNumberToObject(o, "lines", (double)e->nq);
	cJSON_AddNumberToObject(o, "malformed_lines", (double)e->in.malformed);
	char how[160];
	compare_words(e, how, sizeof(how));
	cJSON_AddStringToObject(o, "compare", how);
	if (st->best < e->nsys)
		cJSON_AddStringToObject(o, "best_single", e->sys[st->best].name);
	else
		cJSON_AddNullToObject(o, "best_single");
	cJSON *arr = cJSON_AddArrayToObject(o, "systems");
	for (size_t i = 0; i < e->nsys; i++)
		cJSON_AddItemToArray(arr, sys_json(e, st, i));
	cJSON *g = cJSON_AddObjectToObject(o, "grading");
	cJSON_AddNumberToObject(g, "calls", (double)e->grading_calls);
	cJSON_AddNumberToObject(g, "cost_usd", tidy(e->grading_cost));
	char *text = cJSON_Print(o);
	cJSON_Delete(o);
	if (!text) {
		fputs("quorum: out of memory writing the results\n", stderr);
		return QUORUM_EXIT_FAILED;
	}
	put_pretty(text);
	cJSON_free(text);
	return 0;
}

/* ---- the chart ---- */

/* Writes all of text to f and closes it; 0, or -1 with errno set. */
static int put_file(FILE *f, const char *text, size_t n)
{
	int rc = fwrite(text, 1, n, f) == n && !fflush(f) ? 0 : -1;
	int saved = errno;
	if (fclose(f) && !rc) {
		rc = -1;
		saved = errno;
	}
	errno = saved;
	return rc;
}

static int write_plot(struct eval *e, const struct stats *st)
{
	struct svgplot_point *pts = calloc(e->nsys, sizeof(*pts));
	if (!pts)
		return -1;
	for (size_t i = 0; i < e->nsys; i++) {
		const struct sys_stats *s = &st->s[i];
		pts[i] = (struct svgplot_point){
			.label = e->sys[i].name,
			.kind = e->sys[i].is_model ? SVGPLOT_MODEL : SVGPLOT_WORKFLOW,
			.cost = s->cost_per_q, .acc = s->acc, .lo = s->ci.lo, .hi = s->ci.hi,
		};
	}
	char sub[512], how[160];
	compare_words(e, how, sizeof(how));
	snprintf(sub, sizeof(sub), "%zu questions from %s, compared by %s; whiskers: 95%% "
		 "Wilson intervals", st->nq, e->in.name, how);
	struct svgplot p = {.title = "Cost and accuracy", .subtitle = sub, .points = pts,
			    .n = e->nsys};
	struct buf b;
	buf_init(&b, 0);
	errno = 0;
	int rc = svgplot_write(&p, &b);
	free(pts);
	FILE *f = e->plot_f;
	e->plot_f = NULL;
	if (!rc)
		rc = put_file(f, b.data, b.len);
	else
		fclose(f);
	buf_release(&b);
	if (rc) {
		fprintf(stderr, "quorum: cannot write the chart to '%s': %s\n", e->plot_path,
			strerror(errno ? errno : ENOMEM));
		return QUORUM_EXIT_FAILED;
	}
	return 0;
}

/* ---- the details ---- */

static cJSON *detail_line(const struct eval *e, size_t q, size_t s)
{
	const struct eval_q *eq = &e->qs[q];
	const struct eval_outcome *o = &e->sys[s].out[q];
	cJSON *d = cJSON_CreateObject();
	cJSON *id = cJSON_Parse(eq->d.id);
	cJSON_AddItemToObject(d, "id", id ? id : cJSON_CreateNull());
	cJSON_AddNumberToObject(d, "line", (double)eq->d.line);
	cJSON_AddStringToObject(d, "query", eq->d.query);
	cJSON_AddStringToObject(d, "system", e->sys[s].name);
	cJSON_AddStringToObject(d, "kind", e->sys[s].is_model ? "model" : "workflow");
	cJSON_AddBoolToObject(d, "correct", o->correct);
	cJSON_AddBoolToObject(d, "failed", o->failed);
	if (o->answer)
		cJSON_AddStringToObject(d, "answer", o->answer);
	else
		cJSON_AddNullToObject(d, "answer");
	cJSON_AddNumberToObject(d, "calls", (double)o->calls);
	cJSON_AddNumberToObject(d, "tokens", (double)o->tokens);
	cJSON_AddNumberToObject(d, "cost_usd", o->cost_usd);
	cJSON_AddItemToObject(d, "latency_ms", num_or_null(o->latency_ms));
	return d;
}

/* One line per question every system finished, and system. */
static int write_details(struct eval *e)
{
	FILE *f = e->details_f;
	e->details_f = NULL;
	int rc = 0;
	errno = 0;
	for (size_t q = 0; !rc && q < e->nq; q++) {
		if (!e->qs[q].complete)
			continue;
		for (size_t s = 0; !rc && s < e->nsys; s++) {
			cJSON *d = detail_line(e, q, s);
			char *text = d ? cJSON_PrintUnformatted(d) : NULL;
			rc = !text || fprintf(f, "%s\n", text) < 0 ? -1 : 0;
			cJSON_free(text);
			cJSON_Delete(d);
		}
	}
	/* Closed whatever happened: a failed flush must not keep it open. */
	if (put_file(f, "", 0))
		rc = -1;
	if (rc) {
		fprintf(stderr, "quorum: cannot write the details to '%s': %s\n", e->details_path,
			strerror(errno ? errno : ENOMEM));
		return QUORUM_EXIT_FAILED;
	}
	return 0;
}

int eval_report(struct eval *e, int json)
{
	struct stats st = {0};
	if (compute(e, &st)) {
		free(st.s);
		fputs("quorum: out of memory computing the results\n", stderr);
		return QUORUM_EXIT_FAILED;
	}
	int code = 0;
	if (!st.nq) {
		fputs("quorum: no question was finished by every system: nothing to score\n",
		      stderr);
		code = cli_interrupt ? QUORUM_EXIT_INTERRUPTED : QUORUM_EXIT_FAILED;
	} else {
		if (json)
			code = print_json(e, &st);
		else
			print_table(e, &st);
		if (!code)
			code = cli_check_stdout("the results");
		if (!code && e->plot_path)
			code = write_plot(e, &st);
		if (!code && e->details_path)
			code = write_details(e);
	}
	free(st.s);
	return code;
}
