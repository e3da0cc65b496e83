/*
 * quorum-bench-council: many runs of one workflow at once on one engine
 * (include/quorum.h's engine API), against one run alone on the same
 * engine.
 *
 *     quorum-bench-council WORKFLOW QUERY N [SINGLES [BATCHES]]
 *
 * One warm-up run (its wall is "cold_ms": new connections, TLS
 * handshakes), then SINGLES runs one after another (default 5), then
 * BATCHES times (default 3) N runs submitted together and driven until
 * the last ends. Prints one JSON line: each wall in ms, how many runs
 * ended "ok", every other status counted, and the slowest and median
 * report wall_ms of the runs inside each batch. Exit status 0 when every
 * run was ok, 1 otherwise, 2 on a usage or set-up error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quorum.h"

#define STATUS_KINDS 8

struct tally {
	size_t done, ok;
	const char *status[STATUS_KINDS];
	size_t count[STATUS_KINDS];
	double *run_ms;               /* each run's report wall_ms, this batch */
	size_t nrun_ms;
	const char *error;            /* the first set-up error */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The report's "wall_ms" (the run's own clock). */
static double report_wall(const struct quorum_report *r)
{
	const char *j = quorum_report_json(r);
	const char *p = j ? strstr(j, "\"wall_ms\":") : NULL;
	return p ? strtod(p + 10, NULL) : -1;
}

static void count_status(struct tally *t, const char *st)
{
	for (size_t i = 0; i < STATUS_KINDS; i++) {
		if (!t->status[i])
			t->status[i] = st;
		if (!strcmp(t->status[i], st)) {
			t->count[i]++;
			return;
		}
	}
}

static void on_done(struct quorum_report *r, const char *error, void *ctx)
{
	struct tally *t = ctx;
	t->done++;
	if (!r) {
		if (!t->error)
			t->error = error ? error : "no report";
		count_status(t, "no_report");
		return;
	}
	const char *st = quorum_report_status(r);
	if (!strcmp(st, "ok"))
		t->ok++;
	count_status(t, st);
	if (t->run_ms)
		t->run_ms[t->nrun_ms++] = report_wall(r);
	quorum_report_free(r);
}

/* Submits n runs and drives the engine until they end; returns the wall
 * in ms, or -1 when a submission failed. */
static double batch(struct quorum_engine *e, const struct quorum_workflow *wf,
		    const struct quorum_options *o, size_t n, struct tally *t)
{
	double t0 = now_ms();
	for (size_t i = 0; i < n; i++) {
		char *errors = NULL;
		if (quorum_engine_submit(e, wf, o, on_done, t, &errors)) {
			fprintf(stderr, "quorum-bench-council: %s\n", errors ? errors : "submit failed");
			quorum_free(errors);
			return -1;
		}
	}
	while (quorum_engine_run(e, -1))
		;
	return now_ms() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void print_list(const char *name, const double *v, size_t n)
{
	printf("\"%s\": [", name);
	for (size_t i = 0; i < n; i++)
		printf("%s%.3f", i ? ", " : "", v[i]);
	printf("]");
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: quorum-bench-council WORKFLOW QUERY N [SINGLES [BATCHES]]\n");
		return 2;
	}
	size_t n = strtoul(argv[3], NULL, 10);
	size_t singles = argc > 4 ? strtoul(argv[4], NULL, 10) : 5;
	size_t batches = argc > 5 ? strtoul(argv[5], NULL, 10) : 3;
	if (!n || batches > 100 || singles > 1000) {
		fprintf(stderr, "quorum-bench-council: bad N, SINGLES or BATCHES\n");
		return 2;
	}
	if (quorum_global_init()) {
		fprintf(stderr, "quorum-bench-council: cannot initialise libcurl\n");
		return 2;
	}
	char *errors = NULL;
	struct quorum_workflow *wf = quorum_workflow_load(argv[1], &errors);
	if (!wf) {
		fprintf(stderr, "%s", errors ? errors : "quorum-bench-council: cannot load\n");
		quorum_free(errors);
		return 2;
	}
	struct quorum_engine *e = quorum_engine_new(-1);
	double *single_ms = calloc(singles + 1, sizeof(double));
	double *batch_ms = calloc(batches + 1, sizeof(double));
	double *run_max = calloc(batches + 1, sizeof(double));
	double *run_med = calloc(batches + 1, sizeof(double));
	double *run_ms = calloc(n, sizeof(double));
	if (!e || !single_ms || !batch_ms || !run_max || !run_med || !run_ms) {
		fprintf(stderr, "quorum-bench-council: out of memory\n");
		return 2;
	}
	struct quorum_options o;
	memset(&o, 0, sizeof(o));
	o.query = argv[2];
	o.wake_fd = -1;

	struct tally t;
	memset(&t, 0, sizeof(t));
	double cold = batch(e, wf, &o, 1, &t);
	for (size_t i = 0; i < singles && cold >= 0; i++)
		single_ms[i] = batch(e, wf, &o, 1, &t);
	for (size_t b = 0; b < batches && cold >= 0; b++) {
		t.run_ms = run_ms;
		t.nrun_ms = 0;
		batch_ms[b] = batch(e, wf, &o, n, &t);
		qsort(run_ms, t.nrun_ms, sizeof(double), cmp_double);
		run_max[b] = t.nrun_ms ? run_ms[t.nrun_ms - 1] : -1;
		run_med[b] = t.nrun_ms ? run_ms[t.nrun_ms / 2] : -1;
		t.run_ms = NULL;
	}
	quorum_engine_free(e);

	size_t runs = 1 + singles + batches * n;
	printf("{\"n\": %zu, \"runs\": %zu, \"done\": %zu, \"ok\": %zu, \"cold_ms\": %.3f, ", n, runs,
	       t.done, t.ok, cold);
	print_list("single_ms", single_ms, singles);
	printf(", ");
	print_list("batch_ms", batch_ms, batches);
	printf(", ");
	print_list("batch_run_max_ms", run_max, batches);
	printf(", ");
	print_list("batch_run_median_ms", run_med, batches);
	printf(", \"statuses\": {");
	for (size_t i = 0; i < STATUS_KINDS && t.status[i]; i++)
		printf("%s\"%s\": %zu", i ? ", " : "", t.status[i], t.count[i]);
	printf("}");
	if (t.error) {
		printf(", \"error\": \"");
		for (const char *p = t.error; *p; p++)
			if (*p >= 0x20 && *p != '"' && *p != '\\')
				putchar(*p);
		printf("\"");
	}
	printf("}\n");

	free(single_ms);
	free(batch_ms);
	free(run_max);
	free(run_med);
	free(run_ms);
	quorum_workflow_free(wf);
	quorum_global_cleanup();
	return cold >= 0 && t.done == runs && t.ok == runs ? 0 : 1;
}
