/* quorum eval: does a council beat the best single model on my
 * questions, and at what cost? Every workflow, and every model of them
 * alone, runs every question of a data set on one engine; the answers are
 * held against the expected ones (or graded against a rubric), and
 * cli_evalout.c prints what that says. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "cli_eval.h"

static const char usage_eval[] =
	"usage: quorum eval FILE... --data SET [options]\n"
	"\n"
	"Runs each workflow FILE, and each of their models alone (the\n"
	"baselines), on every line of SET (JSON Lines: {\"query\": ...,\n"
	"\"expected\": ...} or {\"query\": ..., \"rubric\": ...}, with optional \"id\",\n"
	"\"inputs\" and \"compare\"), then prints for each: accuracy with its 95%\n"
	"Wilson interval, McNemar's test against the best single model, calls,\n"
	"tokens, cost, p50/p95 latency and how often the members agreed.\n"
	"\n"
	"  --data FILE          the data set (- : standard input)\n"
	"  --compare MODE       how an answer meets \"expected\": exact, whole,\n"
	"                       last_line, number, choice, json:FIELD or\n"
	"                       regex:PATTERN (default: the extract of the first\n"
	"                       vote in the FILEs, else whole); a line's \"compare\"\n"
	"                       wins\n"
	"  --judge MODEL        the model (an id in a FILE) that grades answers\n"
	"                       against a line's \"rubric\"\n"
	"  --no-baselines       run the workflows only\n"
	"  --parallel N         runs in flight at once (default 16)\n"
	"  --json               the results as JSON on standard output\n"
	"  --plot FILE          cost against accuracy as an SVG chart\n"
	"  --details FILE       one JSON line per question and system: right or\n"
	"                       not, the answer, calls, cost (what 'quorum router\n"
	"                       train' learns from)\n"
	"  --input NAME=VALUE   an input every run gets (a line's own inputs win)\n"
	"  --sim[=SCENARIO]     run against the bundled simulated provider\n"
	"  --cache[=PATH]       answer from the response cache where it can\n"
	"  --shared URL         share limits, breakers and the cache with other\n"
	"                       quorum processes through Redis (see 'quorum run\n"
	"                       --help'); --shared-budget USD: one spending limit\n"
	"  --limit NAME=VALUE   change a limit (see 'quorum run --help')\n"
	"  --quiet              no progress on standard error\n"
	"  --color WHEN, --verbose, --insecure   as for run\n"
	"\n"
	"A run that fails counts as a wrong answer. A malformed line is reported\n"
	"with its line number and skipped. Exit status: 0 the evaluation ran, 1 a\n"
	"line was malformed or no question could be scored, 2 the command line\n"
	"or a file is invalid, 130 interrupted (the table covers the questions\n"
	"every system finished).\n";

static const char *const eval_opts[] = {
	"--data", "--compare", "--judge", "--no-baselines", "--parallel", "--json", "--plot",
	"--details",
	"--input", "--sim", "--cache", "--limit", "--quiet", "--color", "--verbose",
	"--insecure", "--shared", "--shared-budget", "--help",
};

#define PARALLEL_DEFAULT 16
#define PARALLEL_MAX 100000

/* One run: system s on question q, or grading that run's answer. */
struct eval_job {
	struct eval *e;
	size_t q, s;
	int grading;
	struct quorum_options opts;
	struct quorum_input *inputs;  /* grading: the line's, answer, rubric */
	char *answer;                 /* grading: the answer graded */
	char run_id[64];              /* grading: the graded run's, whose bandit
				       * choices the verdict rewards */
};

/* ---- the command line ---- */

static int eval_value(struct eval *e, const char *opt, const char *v)
{
	if (!strcmp(opt, "--data"))
		e->data_path = v;
	else if (!strcmp(opt, "--compare"))
		e->compare_mode = v;
	else if (!strcmp(opt, "--judge"))
		e->judge_id = v;
	else if (!strcmp(opt, "--plot"))
		e->plot_path = v;
	else if (!strcmp(opt, "--details"))
		e->details_path = v;
	else {
		char *end;
		errno = 0;
		long x = strtol(v, &end, 10);
		if (errno || *end || !*v || x < 1 || x > PARALLEL_MAX)
			return cli_fail_usage(usage_eval, "--parallel wants a whole number from 1 "
					      "to 100000, got '%s'", v);
		e->parallel = x;
	}
	return 0;
}

static int eval_option(void *ctx, int argc, char **argv, int *i)
{
	struct eval *e = ctx;
	int rc = run_args_option(&e->a, argc, argv, i);
	if (rc != ARGS_NOT_MINE)
		return rc;
	const char *s = argv[*i];
	if (!strcmp(s, "--json")) {
		e->a.json = 1;
		return 0;
	}
	if (!strcmp(s, "--no-baselines")) {
		e->baselines = 0;
		return 0;
	}
	static const char *const with_value[] = {"--data", "--compare", "--judge", "--plot",
						 "--parallel", "--details"};
	for (size_t k = 0; k < NOPTS(with_value); k++) {
		size_t n = strlen(with_value[k]);
		if (!strcmp(s, with_value[k]) && *i + 1 < argc)
			return eval_value(e, with_value[k], argv[++*i]);
		if (!strncmp(s, with_value[k], n) && s[n] == '=')
			return eval_value(e, with_value[k], s + n + 1);
	}
	return cli_fail_option(usage_eval, eval_opts, NOPTS(eval_opts), s);
}

static int eval_operand(void *ctx, const char *s)
{
	struct eval *e = ctx;
	if (!strcmp(s, "-"))
		return cli_fail_usage(usage_eval, "a workflow cannot come from standard input "
				      "in eval (the data may); name a FILE%s", "");
	e->files[e->nfiles++] = s;
	return 0;
}

static int eval_args(struct eval *e, int argc, char **argv)
{
	if (!(e->files = calloc((size_t)argc + 1, sizeof(*e->files))))
		return cli_fail_usage(usage_eval, "out of memory%s", "");
	int rc = cli_walk_args(argc, argv, e, eval_option, eval_operand);
	if (rc)
		return rc;
	if (!e->nfiles)
		return cli_fail_usage(usage_eval, "eval needs at least one workflow FILE%s", "");
	if (!e->data_path)
		return cli_fail_usage(usage_eval, "eval needs the data set: --data FILE%s", "");
	return 0;
}

/* ---- the systems ---- */

static int add_system(struct eval *e, char *name, size_t w, const struct quorum_workflow *wf,
		      struct quorum_workflow *derived)
{
	struct eval_sys *s = &e->sys[e->nsys];
	if (!name) {
		quorum_workflow_free(derived);
		return -1;
	}
	/* The scope is what names the system wherever eval is run from: the
	 * model, or the workflow file's name without its folder. */
	const char *slash = strrchr(e->files[w], '/');
	*s = (struct eval_sys){.name = name, .file = e->files[w], .wf = wf,
			       .derived = derived, .is_model = derived != NULL};
	s->scope = derived ? name : slash ? slash + 1 : e->files[w];
	e->nsys++;
	return 0;
}

/* Whether model m of workflow w already has a baseline: a model that two
 * files declare alike runs once. */
static int seen_model(const struct eval *e, size_t w, size_t m)
{
	for (size_t pw = 0; pw <= w; pw++) {
		size_t n = pw < w ? quorum_workflow_model_count(e->wfs[pw]) : m;
		for (size_t pm = 0; pm < n; pm++)
			if (quorum_workflow_same_model(e->wfs[pw], pm, e->wfs[w], m))
				return 1;
	}
	return 0;
}

static int name_taken(const struct eval *e, const char *name)
{
	for (size_t i = 0; i < e->nsys; i++)
		if (!strcmp(e->sys[i].name, name))
			return 1;
	return 0;
}

static int baseline(struct eval *e, size_t w, size_t m)
{
	struct quorum_workflow *d = quorum_workflow_derive(e->wfs[w], m, 0);
	if (!d)
		return -1;
	const char *id = quorum_workflow_model_id(e->wfs[w], m);
	char name[512];
	snprintf(name, sizeof(name), "%s alone", id);
	if (name_taken(e, name))
		snprintf(name, sizeof(name), "%s alone (%s)", id, e->files[w]);
	return add_system(e, strdup(name), w, d, d);
}

static int load_systems(struct eval *e)
{
	size_t cap = e->nfiles;
	if (!(e->wfs = calloc(e->nfiles, sizeof(*e->wfs))))
		return -1;
	for (size_t w = 0; w < e->nfiles; w++) {
		if (!(e->wfs[w] = cli_load(e->files[w])))
			return QUORUM_EXIT_INVALID;
		cap += quorum_workflow_model_count(e->wfs[w]);
	}
	if (!(e->sys = calloc(cap, sizeof(*e->sys))))
		return -1;
	for (size_t w = 0; w < e->nfiles; w++)
		if (add_system(e, strdup(e->files[w]), w, e->wfs[w], NULL))
			return -1;
	/* An embeddings model answers no question: no baseline for it. */
	for (size_t w = 0; e->baselines && w < e->nfiles; w++)
		for (size_t m = 0; m < quorum_workflow_model_count(e->wfs[w]); m++)
			if (!quorum_workflow_model_embeds_only(e->wfs[w], m) &&
			    !seen_model(e, w, m) && baseline(e, w, m))
				return -1;
	return 0;
}

/* --judge MODEL: the first workflow that has it makes the grader. */
static int load_grader(struct eval *e)
{
	for (size_t w = 0; w < e->nfiles; w++)
		for (size_t m = 0; m < quorum_workflow_model_count(e->wfs[w]); m++)
			if (!strcmp(quorum_workflow_model_id(e->wfs[w], m), e->judge_id))
				return (e->grader = quorum_workflow_derive(e->wfs[w], m, 1)) ? 0
											      : -1;
	fprintf(stderr, "quorum: --judge '%s' is not a model of ", e->judge_id);
	for (size_t w = 0; w < e->nfiles; w++)
		fprintf(stderr, "%s'%s'", !w ? "" : w + 1 == e->nfiles ? " or " : ", ",
			e->files[w]);
	fputs("\n", stderr);
	return QUORUM_EXIT_INVALID;
}

/* ---- the data set ---- */

static const struct quorum_compare *compare_of(const struct eval *e, const struct eval_q *q)
{
	return q->cmp ? q->cmp : e->cmp;
}

/* Why no answer can ever meet expected, or NULL when one can: it is
 * blank, or the mode reads expected as an answer too (number, choice)
 * and finds none in it. Such a line would count every system wrong. */
static const char *expected_unmet(const struct quorum_compare *c, const char *expected)
{
	static char msg[160];
	if (!expected[strspn(expected, " \t\r\n")])
		return "\"expected\" is empty";
	const char *mode = quorum_compare_name(c);
	if (strcmp(mode, "number") && strcmp(mode, "choice"))
		return NULL;
	char *found = quorum_compare_answer(c, expected);
	int none = !found;
	quorum_free(found);
	if (!none)
		return NULL;
	int shown = (int)strcspn(expected, "\r\n");
	snprintf(msg, sizeof(msg), "\"expected\" '%.*s%s' holds no %s (answers are compared by %s)",
		 shown < 40 ? shown : 40, expected, shown < 40 && !expected[shown] ? "" : "...",
		 mode, mode);
	return msg;
}

/* A line that cannot be scored is malformed, with why. */
static const char *check_line(struct eval *e, struct eval_q *q)
{
	static char msg[640];
	if (!q->d.query)
		return "needs a \"query\"";
	if (!q->d.expected && !q->d.rubric)
		return "needs \"expected\" (the right answer) or \"rubric\" (what a grader "
		       "checks)";
	if (q->d.rubric && !q->d.expected && !e->judge_id)
		return "has a rubric: name the model that grades with --judge MODEL";
	if (q->d.compare) {
		char *errors = NULL;
		if (!(q->cmp = quorum_compare_new(q->d.compare, &errors))) {
			snprintf(msg, sizeof(msg), "\"compare\": %s",
				 errors ? errors + (strncmp(errors, "quorum: ", 8) ? 0 : 8)
					: "out of memory");
			msg[strcspn(msg, "\n")] = '\0';
			quorum_free(errors);
			return msg;
		}
	}
	return q->d.expected ? expected_unmet(compare_of(e, q), q->d.expected) : NULL;
}

static int read_data(struct eval *e)
{
	if (data_open(&e->in, e->data_path))
		return QUORUM_EXIT_INVALID;
	size_t cap = 0;
	const char *text;
	while ((text = data_next(&e->in))) {
		if (e->nq == cap) {
			size_t n = cap ? cap * 2 : 256;
			struct eval_q *v = realloc(e->qs, n * sizeof(*v));
			if (!v)
				return -1;
			e->qs = v;
			cap = n;
		}
		struct eval_q *q = &e->qs[e->nq];
		memset(q, 0, sizeof(*q));
		const char *why = NULL;
		if (data_line_parse(&q->d, text, e->in.line, e->a.inputs, e->a.ninputs, &why)) {
			data_malformed(&e->in, why);
			continue;
		}
		if ((why = check_line(e, q))) {
			data_malformed(&e->in, why);
			data_line_release(&q->d);
			quorum_compare_free(q->cmp);
			continue;
		}
		e->nq++;
	}
	if (ferror(e->in.f)) {
		/* Part of a data set would be scored as if it were the whole. */
		fprintf(stderr, "quorum: cannot read '%s' past line %ld: %s\n", e->in.name,
			e->in.line, strerror(errno));
		return QUORUM_EXIT_INVALID;
	}
	if (!e->nq) {
		fprintf(stderr, "quorum: %s has no question to score\n", e->in.name);
		return QUORUM_EXIT_FAILED;
	}
	return 0;
}

/* The eval's comparison: --compare, else the first vote's extract. */
static int pick_compare(struct eval *e)
{
	char *errors = NULL;
	if (e->compare_mode) {
		if (!(e->cmp = quorum_compare_new(e->compare_mode, &errors))) {
			fprintf(stderr, "%s", errors ? errors : "quorum: out of memory\n");
			quorum_free(errors);
			return cli_usage_tail(usage_eval);
		}
		return 0;
	}
	for (size_t w = 0; w < e->nfiles && !e->cmp; w++)
		e->cmp = quorum_compare_of(e->wfs[w]);
	if (!e->cmp && !(e->cmp = quorum_compare_new("whole", &errors))) {
		quorum_free(errors);
		return -1;
	}
	return 0;
}

/* ---- where the results go ---- */

/* Opens --plot or --data's sibling --details for writing now, so that a
 * path that cannot be written is refused before the runs are paid for,
 * not after. */
static int open_output(const struct eval *e, const char *opt, const char *path,
		       const char *what, FILE **f)
{
	if (strcmp(e->data_path, "-") && cli_same_file(path, e->data_path)) {
		fprintf(stderr, "quorum: %s '%s' is the --data file: the %s would overwrite "
			"the questions\n", opt, path, what);
		return QUORUM_EXIT_INVALID;
	}
	if (!(*f = fopen(path, "w"))) {
		fprintf(stderr, "quorum: cannot write the %s to '%s': %s\n", what, path,
			strerror(errno));
		return QUORUM_EXIT_INVALID;
	}
	return 0;
}

static int open_outputs(struct eval *e)
{
	int code = 0;
	if (e->details_path)
		code = open_output(e, "--details", e->details_path, "details", &e->details_f);
	if (!code && e->plot_path)
		code = open_output(e, "--plot", e->plot_path, "chart", &e->plot_f);
	return code;
}

/* ---- agreement: how often the members said the same ---- */

/* The share of ok answers of a generate node that agree with the
 * commonest one, compared as the eval compares; NaN under two. */
static double modal_share(const cJSON *responses, const struct quorum_compare *cmp)
{
	char *ans[64];
	size_t n = 0, best = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, responses) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "status");
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(r, "text");
		if (n < 64 && cJSON_IsString(st) && !strcmp(st->valuestring, "ok") &&
		    cJSON_IsString(text))
			ans[n++] = quorum_compare_answer(cmp, text->valuestring);
	}
	for (size_t i = 0; i < n; i++) {
		size_t same = 0;
		for (size_t k = 0; k < n && ans[i]; k++)
			same += ans[k] && !strcmp(ans[i], ans[k]);
		if (same > best)
			best = same;
	}
	for (size_t i = 0; i < n; i++)
		quorum_free(ans[i]);
	return n >= 2 ? (double)best / (double)n : NAN;
}

/* A vote's own agreement, else that of the first generate node with
 * several answers. */
static double agreement_of(const cJSON *rep, const struct quorum_compare *cmp)
{
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(rep, "nodes"), *n;
	cJSON_ArrayForEach(n, nodes) {
		const cJSON *ag = cJSON_GetObjectItemCaseSensitive(n, "agreement");
		if (cJSON_IsNumber(ag))
			return ag->valuedouble;
	}
	cJSON_ArrayForEach(n, nodes) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(n, "kind");
		if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "generate"))
			continue;
		double share = modal_share(cJSON_GetObjectItemCaseSensitive(n, "responses"), cmp);
		if (!isnan(share))
			return share;
	}
	return NAN;
}

/* ---- the runs ---- */

static void draw(struct eval *e, int force)
{
	if (!e->progress)
		return;
	int64_t now = clock_ms();
	if (!force && now - e->last_draw < 100)
		return;
	e->last_draw = now;
	fprintf(stderr, "\r\033[Kquorum: eval %ld/%ld runs, %ld failed, %ld running", e->runs_done,
		e->runs_total, e->failed, e->in_flight);
	if (e->runs_done > 0 && e->runs_done < e->runs_total) {
		double per = (double)(now - e->t0) / (double)e->runs_done;
		fprintf(stderr, ", ETA %.0fs", per * (double)(e->runs_total - e->runs_done) / 1000.0);
	}
	fflush(stderr);
}

/* A question counts once every system's run (and grading) ended, none
 * interrupted. */
static void question_check(struct eval *e, struct eval_q *q)
{
	q->complete = q->started == e->nsys && !q->pending && !q->lost;
}

static void job_free(struct eval_job *j)
{
	free(j->inputs);
	free(j->answer);
	free(j);
}

static void submit_more(struct eval *e);
static int submit(struct eval *e, struct eval_job *j, const struct quorum_workflow *wf);

/* The system's answer goes to the grader with the line's rubric; run_id
 * is the run that answered. Returns 0, or -1 when it could not (the answer
 * then counts as wrong). */
static int grade(struct eval *e, struct eval_job *j, const char *answer, const char *run_id)
{
	const struct data_line *d = &e->qs[j->q].d;
	struct eval_job *g = calloc(1, sizeof(*g));
	if (!g || !(g->inputs = calloc(d->ninputs + 2, sizeof(*g->inputs))) ||
	    !(g->answer = strdup(answer))) {
		if (g)
			job_free(g);
		return -1;
	}
	*g = (struct eval_job){.e = e, .q = j->q, .s = j->s, .grading = 1,
			       .inputs = g->inputs, .answer = g->answer};
	snprintf(g->run_id, sizeof(g->run_id), "%s", run_id ? run_id : "");
	memcpy(g->inputs, d->inputs, d->ninputs * sizeof(*g->inputs));
	g->inputs[d->ninputs] = (struct quorum_input){"answer", g->answer};
	g->inputs[d->ninputs + 1] = (struct quorum_input){"rubric", d->rubric};
	run_args_options(&e->a, e->a.sim ? e->sim_url : NULL, &g->opts);
	g->opts.query = d->query;
	g->opts.inputs = g->inputs;
	g->opts.ninputs = d->ninputs + 2;
	g->opts.progress = NULL;
	g->opts.cache = e->cache;
	g->opts.cache_scope = "quorum eval: grading";
	return submit(e, g, e->grader);
}

/* The grader's verdict: PASS on its last line. */
static int passed(const char *verdict)
{
	if (!verdict)
		return 0;
	const char *last = verdict, *p;
	for (p = verdict; *p; p++)
		if (*p == '\n' && p[1] && strspn(p + 1, " \t\r\n") != strlen(p + 1))
			last = p + 1;
	return strstr(last, "PASS") && !strstr(last, "FAIL");
}

/* A workflow whose bandits learn from feedback learns from the eval:
 * right is 1, wrong 0. */
static void reward_bandits(struct eval *e, struct eval_job *j, const char *run_id,
			   int correct)
{
	const struct eval_sys *s = &e->sys[j->s];
	if (s->is_model || !run_id || !*run_id || !quorum_workflow_feedback_bandits(s->wf))
		return;
	char *errors = NULL;
	if (quorum_feedback(s->wf, run_id, correct ? 1 : 0, &errors) < 0 &&
	    !e->feedback_warned++)
		fprintf(stderr, "%s%s", e->progress ? "\r\033[K" : "",
			errors ? errors : "quorum: a bandit's reward could not be recorded\n");
	quorum_free(errors);
}

/* What the run says about its question, into the outcome. */
static void score(struct eval *e, struct eval_job *j, struct quorum_report *rep)
{
	struct eval_q *q = &e->qs[j->q];
	struct eval_outcome *o = &e->sys[j->s].out[j->q];
	struct quorum_usage u;
	quorum_report_usage(rep, &u);
	if (j->grading) {
		e->grading_calls += u.calls + u.cached;
		e->grading_cost += u.cost_usd + u.saved_usd;
		o->correct = passed(quorum_report_output(rep));
		/* A rubric's verdict teaches the graded run's bandits as an
		 * expected answer does. */
		reward_bandits(e, j, j->run_id, o->correct);
		return;
	}
	/* A cached answer counts at what it cost when it was made: a replay
	 * compares the systems as the first run did. */
	o->latency_ms = (double)u.wall_ms;
	o->cost_usd = u.cost_usd + u.saved_usd;
	o->calls = u.calls + u.cached;
	o->tokens = (u.input_tokens > 0 ? u.input_tokens : 0) +
		    (u.output_tokens > 0 ? u.output_tokens : 0) + u.cached_tokens;
	cJSON *doc = cJSON_Parse(quorum_report_json(rep));
	const cJSON *pk = cJSON_GetObjectItemCaseSensitive(doc, "price_known");
	o->price_unknown = cJSON_IsFalse(pk);
	o->agreement = e->sys[j->s].is_model ? NAN : agreement_of(doc, compare_of(e, q));
	cJSON_Delete(doc);
	const char *answer = quorum_report_output(rep);
	o->failed = quorum_report_exit_code(rep) != QUORUM_EXIT_OK || !answer;
	if (e->details_path && answer)
		o->answer = strdup(answer);
	if (o->failed)
		e->failed++;
	const char *run_id = quorum_report_run_id(rep);
	if (q->d.expected) {
		/* A run that failed counts as wrong, whatever it left behind. */
		o->correct = !o->failed &&
			     quorum_compare_match(compare_of(e, q), q->d.expected, answer);
		reward_bandits(e, j, run_id, o->correct);
	} else if (answer && !grade(e, j, answer, run_id)) {
		q->pending++;
	} else {
		reward_bandits(e, j, run_id, 0);    /* no answer to grade: wrong */
	}
}

static void job_done(struct quorum_report *rep, const char *error, void *ctx)
{
	struct eval_job *j = ctx;
	struct eval *e = j->e;
	struct eval_q *q = &e->qs[j->q];
	e->in_flight--;
	q->pending--;
	if (!j->grading)
		e->runs_done++;
	if (!rep) {
		fprintf(stderr, "%squorum: %s:%ld: %s%s: %s", e->progress ? "\r\033[K" : "",
			e->in.name, q->d.line, e->sys[j->s].name, j->grading ? ", grading" : "",
			error ? error : "the run could not start\n");
		if (!j->grading) {
			e->sys[j->s].out[j->q].failed = 1;
			e->failed++;
		}
	} else {
		if (!strcmp(quorum_report_status(rep), "interrupted"))
			q->lost = 1;
		score(e, j, rep);
		quorum_report_free(rep);
	}
	question_check(e, q);
	job_free(j);
	draw(e, 0);
	submit_more(e);
}

static int submit(struct eval *e, struct eval_job *j, const struct quorum_workflow *wf)
{
	char *errors = NULL;
	if (quorum_engine_submit(e->engine, wf, &j->opts, job_done, j, &errors)) {
		char why[512];
		snprintf(why, sizeof(why), "%s", errors ? errors : "the run cannot start\n");
		fprintf(stderr, "%squorum: %s:%ld: %s: %s\n", e->progress ? "\r\033[K" : "",
			e->in.name, e->qs[j->q].d.line, e->sys[j->s].name,
			data_run_error(why, e->sys[j->s].file));
		quorum_free(errors);
		job_free(j);
		return -1;
	}
	e->in_flight++;
	return 0;
}

/* Runs go question by question, every system on each, so an interrupted
 * eval leaves whole questions behind it. */
static void submit_more(struct eval *e)
{
	size_t total = e->nq * e->nsys;
	while (!cli_interrupt && e->in_flight < e->parallel && e->next < total) {
		size_t qi = e->next / e->nsys, si = e->next % e->nsys;
		e->next++;
		struct eval_job *j = calloc(1, sizeof(*j));
		if (!j)
			return;
		const struct data_line *d = &e->qs[qi].d;
		*j = (struct eval_job){.e = e, .q = qi, .s = si};
		run_args_options(&e->a, e->a.sim ? e->sim_url : NULL, &j->opts);
		j->opts.query = d->query;
		j->opts.inputs = d->inputs;
		j->opts.ninputs = d->ninputs;
		j->opts.progress = NULL;
		j->opts.cache = e->cache;
		/* Each system its own answers: a baseline never takes the
		 * answer its model gave inside a workflow, and a replay is
		 * exact. */
		j->opts.cache_scope = e->sys[si].scope;
		e->sys[si].out[qi].latency_ms = NAN;
		e->sys[si].out[qi].agreement = NAN;
		e->qs[qi].started++;
		if (submit(e, j, e->sys[si].wf)) {
			/* It cannot start on this question: a wrong answer. */
			e->sys[si].out[qi].failed = 1;
			e->failed++;
			e->runs_done++;
		} else {
			e->qs[qi].pending++;
		}
		question_check(e, &e->qs[qi]);
	}
}

static int eval_run(struct eval *e)
{
	for (size_t s = 0; s < e->nsys; s++)
		if (!(e->sys[s].out = calloc(e->nq, sizeof(*e->sys[s].out))))
			return -1;
	int code;
	if (!(e->engine = run_args_engine(&e->a, &code)))
		return code;
	e->runs_total = (long)(e->nq * e->nsys);
	e->t0 = clock_ms();
	e->progress = !e->a.quiet && isatty(STDERR_FILENO);
	e->in.progress = e->progress;
	submit_more(e);
	quorum_engine_run(e->engine, -1);
	quorum_engine_free(e->engine);
	e->engine = NULL;
	draw(e, 1);
	if (e->progress)
		fputc('\n', stderr);
	if ((code = eval_report(e, e->a.json)))
		return code;
	if (cli_interrupt)
		return QUORUM_EXIT_INTERRUPTED;
	return e->in.malformed ? QUORUM_EXIT_FAILED : QUORUM_EXIT_OK;
}

static void eval_release(struct eval *e)
{
	for (size_t s = 0; s < e->nsys; s++) {
		for (size_t q = 0; e->sys[s].out && q < e->nq; q++)
			free(e->sys[s].out[q].answer);
		free(e->sys[s].name);
		free(e->sys[s].out);
		quorum_workflow_free(e->sys[s].derived);
	}
	free(e->sys);
	for (size_t i = 0; i < e->nq; i++) {
		data_line_release(&e->qs[i].d);
		quorum_compare_free(e->qs[i].cmp);
	}
	free(e->qs);
	quorum_compare_free(e->cmp);
	quorum_workflow_free(e->grader);
	for (size_t w = 0; e->wfs && w < e->nfiles; w++)
		quorum_workflow_free(e->wfs[w]);
	free(e->wfs);
	free(e->files);
	if (e->details_f)
		fclose(e->details_f);
	if (e->plot_f)
		fclose(e->plot_f);
	data_reader_release(&e->in);
	quorum_cache_close(e->cache);
	cli_sim_stop(e->sim);
	run_args_release(&e->a);
}

int cmd_eval(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_eval, stdout);
		return cli_check_stdout("the usage");
	}
	struct eval e = {.a = {.usage = usage_eval}, .parallel = PARALLEL_DEFAULT,
			 .baselines = 1};
	int code = eval_args(&e, argc, argv);
	if (code)
		goto out;
	code = load_systems(&e);
	if (!code && e.judge_id)
		code = load_grader(&e);
	if (!code)
		code = pick_compare(&e);
	if (!code)
		code = read_data(&e);
	if (!code)
		code = run_args_open_cache(&e.a, &e.cache);
	if (!code)
		code = open_outputs(&e);
	if (code < 0) {
		fputs("quorum: out of memory\n", stderr);
		code = QUORUM_EXIT_FAILED;
	}
	if (code)
		goto out;
	if (e.a.sim && !(e.sim = cli_sim_start(e.a.sim_scenario, e.sim_url, sizeof(e.sim_url)))) {
		code = QUORUM_EXIT_INVALID;
		goto out;
	}
	cli_install_signals();
	code = eval_run(&e);
	if (code < 0) {
		fputs("quorum: out of memory\n", stderr);
		code = QUORUM_EXIT_FAILED;
	}
out:
	eval_release(&e);
	return code;
}
