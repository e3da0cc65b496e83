/* quorum router train and calibrate: a learned router (RouteLLM) from what
 * `quorum eval --details` saw the weak and the strong model do on each
 * question. The questions are embedded as the route node embeds a prompt
 * (the same request: a cache shares them), a scorer is fitted on part of
 * them and judged on the rest by RouteLLM's own measures, and written to
 * the file a `score` condition names. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../aggregators/learn.h"
#include "../common/alloc.h"
#include "../common/fileio.h"
#include "../common/json.h"
#include "../common/strset.h"
#include "../providers/embed.h"
#include "run.h"

/* One question: its text and how each model did. */
struct question {
	char *id;                 /* JSON text */
	char *query;
	int weak, strong;         /* -1 unknown, 0 wrong, 1 right */
	long line, weak_line, strong_line; /* of the details: first seen, each system's */
	float *vec;               /* its embedding, in the arena */
};

struct training {
	const struct quorum_router_train *t;
	struct arena *a;
	struct question *q;
	size_t n, cap;
	struct strset ids;        /* id -> index in q, while reading */
	size_t dim, done, failed;
	char first_error[256];
	struct quorum_options *opts;  /* one per question */
};

/* ---- the details file ---- */

/* "quorum: DETAILS:LINE: " and the rest, as the error. Returns -1. */
static int line_error(struct training *tr, long no, char **errors, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int line_error(struct training *tr, long no, char **errors, const char *fmt, ...)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "quorum: %s:%ld: ", tr->t->details, no);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	run_set_error(errors, "%s", msg, 0);
	return -1;
}

/* The question with this id, made at its first line. An id met again
 * must come with the same query: eval writes one per question and
 * system, and answers of two questions under one id cannot be told
 * apart. A set, not a scan: a scan would be quadratic in the questions. */
static struct question *question_of(struct training *tr, const char *id, const char *query,
				    long no, char **errors)
{
	long was = 0;
	int added = strset_add(&tr->ids, id, (long)tr->n, &was);
	if (added < 0)
		goto oom;
	if (!added) {
		struct question *x = &tr->q[was];
		if (strcmp(x->query, query)) {
			line_error(tr, no, errors, "id %.100s is the id of another question "
				   "(line %ld)", id, x->line);
			return NULL;
		}
		return x;
	}
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 256;
		struct question *v = q_realloc(tr->q, cap * sizeof(*v));
		if (!v)
			goto oom; /* the read ends here: the set's new id goes unused */
		tr->q = v;
		tr->cap = cap;
	}
	struct question *x = &tr->q[tr->n];
	*x = (struct question){.id = arena_strdup(tr->a, id), .query = arena_strdup(tr->a, query),
			       .weak = -1, .strong = -1, .line = no};
	if (!x->id || !x->query)
		goto oom;
	tr->n++;
	return x;
oom:
	run_set_error(errors, "quorum: out of memory reading the details%s", "", 0);
	return NULL;
}

/* How system did on x, from line no: once per question and system. A
 * run that failed did not answer, so it says nothing of the question. */
static int record(struct training *tr, struct question *x, int is_weak, const cJSON *d,
		  long no, char **errors)
{
	long *seen = is_weak ? &x->weak_line : &x->strong_line;
	if (*seen)
		return line_error(tr, no, errors, "a second line for id %.100s and system "
				  "'%.100s' (line %ld)", x->id, is_weak ? tr->t->weak
				  : tr->t->strong, *seen);
	*seen = no;
	int right = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "correct"));
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "failed")))
		*(is_weak ? &x->weak : &x->strong) = right;
	return 0;
}

/* One line of the details: a question, a system, right or not. */
static int read_line(struct training *tr, const char *line, size_t len, long no,
		     char **errors)
{
	if (memchr(line, '\0', len) || json_has_nul(line, len))
		return line_error(tr, no, errors, "holds a NUL character: quorum reads text");
	cJSON *d = json_parse(line, len, 8);
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(d, "system");
	const cJSON *query = cJSON_GetObjectItemCaseSensitive(d, "query");
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(d, "correct");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
	char *idtext = id ? cJSON_PrintUnformatted(id) : NULL;
	int rc = 0;
	if (!cJSON_IsString(sys) || !cJSON_IsString(query) || !cJSON_IsBool(ok) || !idtext) {
		rc = line_error(tr, no, errors, "not a line of 'quorum eval --details' (it "
				"needs id, query, system and correct)");
	} else if (!strcmp(sys->valuestring, tr->t->weak) ||
		   !strcmp(sys->valuestring, tr->t->strong)) {
		struct question *x = question_of(tr, idtext, query->valuestring, no, errors);
		rc = !x ? -1 : record(tr, x, !strcmp(sys->valuestring, tr->t->weak), d, no,
				      errors);
	}
	cJSON_free(idtext);
	cJSON_Delete(d);
	return rc;
}

/* The lines of f, until the first bad one. */
static int read_lines(struct training *tr, FILE *f, char **errors)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long no = 0;
	int rc = 0;
	while (!rc && (len = getline(&line, &cap, f)) > 0) {
		no++;
		if (strspn(line, " \t\r\n") != (size_t)len)
			rc = read_line(tr, line, (size_t)len, no, errors);
	}
	free(line);
	if (!rc && ferror(f)) {
		char msg[400];
		snprintf(msg, sizeof(msg), "quorum: cannot read '%s' past line %ld",
			 tr->t->details, no);
		run_set_error(errors, "%s", msg, errno ? errno : EIO);
		rc = -1;
	}
	return rc;
}

static int read_details(struct training *tr, char **errors)
{
	const struct quorum_router_train *t = tr->t;
	if (!strcmp(t->weak, t->strong)) {
		run_set_error(errors, "quorum: the weak and the strong system are both '%s'",
			      t->weak, 0);
		return -1;
	}
	FILE *f = file_open_read(t->details, "r");
	if (!f) {
		run_set_error(errors, "quorum: cannot read '%s'", t->details, errno);
		return -1;
	}
	errno = 0;
	int rc = read_lines(tr, f, errors);
	fclose(f);
	strset_release(&tr->ids);
	/* Only questions both models answered teach anything. */
	size_t k = 0;
	for (size_t i = 0; i < tr->n; i++)
		if (tr->q[i].weak >= 0 && tr->q[i].strong >= 0)
			tr->q[k++] = tr->q[i];
	tr->n = k;
	if (!rc && tr->n < 10) {
		char msg[512];
		snprintf(msg, sizeof(msg), "quorum: '%s' has %zu questions that both '%s' and "
			 "'%s' answered; a router needs at least 10 (are those the systems' "
			 "names in it?)", t->details, tr->n, t->weak, t->strong);
		run_set_error(errors, "%s", msg, 0);
		rc = -1;
	}
	return rc;
}

/* ---- the embeddings: one run of the embedder per question ---- */

struct job {
	struct training *tr;
	size_t i;
};

static void embedded(struct quorum_report *rep, const char *error, void *ctx)
{
	struct job *j = ctx;
	struct training *tr = j->tr;
	const char *out = rep ? quorum_report_output(rep) : NULL;
	size_t n = 0, dim = 0;
	float *v = out ? embed_unpack(tr->a, out, strlen(out), &n, &dim) : NULL;
	if (v && n == 1 && (!tr->dim || dim == tr->dim)) {
		tr->q[j->i].vec = v;
		tr->dim = dim;
	} else {
		if (!tr->failed++)
			snprintf(tr->first_error, sizeof(tr->first_error), "%s",
				 error ? error : v ? "vectors of two sizes" : "the embedding failed");
	}
	tr->done++;
	quorum_report_free(rep);
	q_free(j);
}

static int embed_all(struct training *tr, const struct quorum_workflow *embedder,
		     char **errors)
{
	struct quorum_engine *e = quorum_engine_new(tr->t->opts ? tr->t->opts->wake_fd : -1);
	tr->opts = q_calloc(tr->n, sizeof(*tr->opts));
	if (!e || !tr->opts) {
		quorum_engine_free(e);
		run_set_error(errors, "quorum: cannot start the engine%s", "", 0);
		return -1;
	}
	long parallel = tr->t->parallel > 0 ? tr->t->parallel : 16;
	size_t next = 0;
	int rc = 0;
	while (!rc && tr->done < tr->n) {
		while (!rc && next < tr->n && (long)(next - tr->done) < parallel) {
			struct job *j = q_calloc(1, sizeof(*j));
			struct quorum_options *o = &tr->opts[next];
			if (tr->t->opts)
				*o = *tr->t->opts;
			o->query = tr->q[next].query;
			o->inputs = NULL;
			o->ninputs = 0;
			o->progress = NULL;
			if (!j)
				rc = -1;
			else if (*j = (struct job){tr, next},
				 quorum_engine_submit(e, embedder, o, embedded, j, errors))
				q_free(j), rc = -1;
			next++;
		}
		if (!rc)
			quorum_engine_run(e, 100);
		if (tr->t->opts && tr->t->opts->interrupt && *tr->t->opts->interrupt)
			break;
	}
	quorum_engine_run(e, -1);
	quorum_engine_free(e);
	q_free(tr->opts);
	tr->opts = NULL;
	/* Cut short, some questions have no embedding, failed or not. */
	int stopped = tr->t->opts && tr->t->opts->interrupt && *tr->t->opts->interrupt;
	if (!rc && (stopped || tr->done < tr->n)) {
		char msg[200];
		snprintf(msg, sizeof(msg), "quorum: interrupted after embedding %zu of %zu "
			 "questions", tr->done - tr->failed, tr->n);
		run_set_error(errors, "%s", msg, 0);
		rc = -1;
	} else if (!rc && tr->failed) {
		char msg[400];
		snprintf(msg, sizeof(msg), "quorum: %zu of %zu questions could not be embedded; "
			 "the first: %s", tr->failed, tr->n, tr->first_error);
		msg[strcspn(msg, "\n")] = '\0';
		run_set_error(errors, "%s", msg, 0);
		rc = -1;
	}
	return rc;
}

/* ---- fitting and judging ---- */

/* A seeded shuffle: which questions train and which judge. */
static void shuffle(struct question *q, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (size_t i = n; i > 1; i--) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		size_t k = (size_t)((x * 2685821657736338717ULL) % i);
		struct question t = q[i - 1];
		q[i - 1] = q[k];
		q[k] = t;
	}
}

static struct scorer *fit(struct training *tr, size_t ntrain, const char *model,
			  struct qerr *e)
{
	const struct quorum_router_train *t = tr->t;
	float *x = arena_alloc(tr->a, ntrain * tr->dim * sizeof(*x));
	double *y = arena_alloc(tr->a, ntrain * sizeof(*y));
	if (!x || !y) {
		qerr_set(e, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < ntrain; i++) {
		memcpy(x + i * tr->dim, tr->q[i].vec, tr->dim * sizeof(*x));
		y[i] = scorer_label(tr->q[i].weak, tr->q[i].strong, 0);
	}
	struct scorer_data d = {.x = x, .y = y, .n = ntrain, .dim = tr->dim};
	struct scorer_opts o = {.model = model, .l2 = t->l2, .seed = t->seed};
	return t->kind && !strcmp(t->kind, "mf") ? scorer_fit_mf(&d, &o, tr->a, e)
						  : scorer_fit_logreg(&d, &o, tr->a, e);
}

/* RouteLLM's measures of s on questions [from, to). */
static void judge(struct training *tr, const struct scorer *s, size_t from, size_t to,
		  const char *which, struct buf *out)
{
	size_t n = to - from;
	double *sc = arena_alloc(tr->a, n * sizeof(*sc));
	double *w = arena_alloc(tr->a, n * sizeof(*w));
	double *st = arena_alloc(tr->a, n * sizeof(*st));
	struct router_metrics m;
	struct qerr e = {0};
	if (!sc || !w || !st)
		return;
	for (size_t i = 0; i < n; i++) {
		sc[i] = scorer_score(s, tr->q[from + i].vec);
		w[i] = tr->q[from + i].weak;
		st[i] = tr->q[from + i].strong;
	}
	if (router_metrics_compute(&m, sc, w, st, n, tr->a, &e)) {
		buf_printf(out, "cannot judge the router: %s\n", e.msg);
		return;
	}
	buf_printf(out, "judged on %zu %s questions: weak right %.1f%%, strong right "
		   "%.1f%%\n", n, which, 100 * m.q_weak, 100 * m.q_strong);
	if (isnan(m.apgr)) {
		buf_puts(out, "  the strong model is not better there: nothing to recover\n");
		return;
	}
	buf_printf(out, "  %-8s %6s %9s %9s\n", "", "APGR", "CPT(50%)", "CPT(80%)");
	buf_printf(out, "  %-8s %6.3f %8.1f%% %8.1f%%\n", "router", m.apgr, 100 * m.cpt50,
		   100 * m.cpt80);
	buf_printf(out, "  %-8s %6.3f %8.1f%% %8.1f%%\n", "random", m.random_apgr,
		   100 * m.random_cpt50, 100 * m.random_cpt80);
	buf_printf(out, "  %-8s %6.3f %8.1f%% %8.1f%%\n", "oracle", m.oracle_apgr,
		   100 * m.oracle_cpt50, 100 * m.oracle_cpt80);
	buf_puts(out, "  (CPT(x%): the share of strong calls that recovers x% of the strong "
		 "model's gain; APGR: the gain recovered, averaged over shares)\n");
}

/* Writes text[0..n) to a new file beside path, then renames it over
 * path: calibrate rewrites the router it read, and a full disk or a kill
 * halfway must leave the old router, not half of the new one. open's
 * 0666 lets the umask decide, as fopen would. Returns 0, or -1 (errno). */
static int replace_file(const char *path, const char *text, size_t n)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < n) {
		ssize_t k = write(fd, text + off, n - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	int saved = off < n ? (errno ? errno : EIO) : 0;
	if ((close(fd) && !saved) || (!saved && rename(tmp, path)))
		saved = errno;
	if (saved) {
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

static int write_router(const struct scorer *s, const char *path, char **errors)
{
	struct buf b;
	buf_init(&b, 0);
	errno = 0;
	int rc = scorer_to_json(s, &b) || buf_putc(&b, '\n') || replace_file(path, b.data, b.len);
	if (rc)
		run_set_error(errors, "quorum: cannot write the router to '%s'", path,
			      errno ? errno : ENOMEM);
	buf_release(&b);
	return rc ? -1 : 0;
}

int quorum_workflow_node_embeds(const struct quorum_workflow *qw, const char *id)
{
	const struct wf_node *n = id ? workflow_node(qw->wf, id) : NULL;
	return !n ? -1 : n->embed ? 1 : 0;
}

/* The node whose embeddings the router learns from. */
static const struct wf_node *route_node(const struct quorum_workflow *qw, const char *id,
					char **errors)
{
	const struct wf_node *n = workflow_node(qw->wf, id);
	if (!n || !n->embed) {
		run_set_error(errors, n ? "quorum: node '%s' has no 'embed' model: the router "
					  "learns from the embeddings that node makes"
					: "quorum: the workflow has no node '%s'", id, 0);
		return NULL;
	}
	return n;
}

char *quorum_router_train(const struct quorum_router_train *t, char **errors)
{
	const struct wf_node *node = route_node(t->wf, t->node, errors);
	if (!node)
		return NULL;
	struct training tr = {.t = t, .a = arena_new()};
	struct quorum_workflow embedder = {.wf = tr.a ? workflow_embedder(t->wf->wf, node) : NULL};
	struct buf out;
	buf_init(&out, 0);
	char *report = NULL;
	if (!embedder.wf) {
		run_set_error(errors, "quorum: out of memory%s", "", 0);
		goto done;
	}
	if (read_details(&tr, errors) || embed_all(&tr, &embedder, errors))
		goto done;
	shuffle(tr.q, tr.n, t->seed);
	double hold = t->test_share < 0 ? 0.25 : t->test_share < 0.9 ? t->test_share : 0.9;
	size_t ntest = (size_t)((double)tr.n * hold + 0.5), ntrain = tr.n - ntest;
	struct qerr e = {0};
	struct scorer *s = fit(&tr, ntrain, node->embed->model, &e);
	if (!s) {
		run_set_error(errors, "quorum: cannot fit the router: %s", e.msg, 0);
		goto done;
	}
	buf_printf(&out, "router: %s on %zu questions (%.0f %s needed the strong model), "
		   "embeddings of %s (%zu numbers)\n", s->kind == SCORER_MF ? "matrix "
		   "factorisation" : "logistic regression", ntrain, s->fit.positives,
		   s->fit.positives == 1 ? "question" : "questions", s->model, s->dim);
	buf_printf(&out, "fit: %s, %d iterations%s\n", s->fit.solver ? s->fit.solver : "?",
		   s->fit.iterations, s->fit.converged ? "" : " (did not converge)");
	if (ntest)
		judge(&tr, s, ntrain, tr.n, "held-out", &out);
	else
		judge(&tr, s, 0, ntrain, "training (none held out: optimistic)", &out);
	if (t->strong_share >= 0) {
		s->threshold = scorer_threshold_for_share(s, t->strong_share);
		s->has_threshold = !isnan(s->threshold);
		buf_printf(&out, "threshold %.4f: about %.0f%% of queries go to the strong model\n",
			   s->threshold, 100 * t->strong_share);
	}
	if (write_router(s, t->out, errors))
		goto done;
	buf_printf(&out, "wrote %s\n", t->out);
	report = q_strdup(buf_str(&out));
done:
	buf_release(&out);
	workflow_free(embedder.wf);
	q_free(tr.q);
	arena_free(tr.a);
	return report;
}

char *quorum_router_calibrate(const char *path, double share, char **errors)
{
	struct arena *a = arena_new();
	char *report = NULL;
	size_t len = 0;
	char *text = a ? router_file_read(path, &len) : NULL;
	struct qerr e = {0};
	struct scorer *s = text ? scorer_from_json(text, len, a, &e) : NULL;
	if (!text) {
		run_set_error(errors, "quorum: cannot read '%s'", path, a ? errno : ENOMEM);
	} else if (!s) {
		run_set_error(errors, "quorum: %s", arena_printf(a, "%s: %s", path, e.msg), 0);
	} else if (isnan(s->threshold = scorer_threshold_for_share(s, share))) {
		run_set_error(errors, "quorum: %s has no calibration scores", path, 0);
	} else {
		s->has_threshold = 1;
		if (!write_router(s, path, errors))
			report = q_strdup(arena_printf(a, "threshold %.4f: about %.1f%% of queries "
						       "go to the strong model (wrote %s)\n",
						       s->threshold, 100 * scorer_share_at(s, s->threshold),
						       path));
	}
	q_free(text);
	arena_free(a);
	return report;
}
