#ifndef QUORUM_CLI_EVAL_H
#define QUORUM_CLI_EVAL_H
/* quorum eval's state, shared by its two files: cli_eval.c runs every
 * system on every question, cli_evalout.c turns the outcomes into the
 * table, the JSON and the plot. */
#include "cli.h"

/* One question of the data set. */
struct eval_q {
	struct data_line d;
	struct quorum_compare *cmp;   /* its own "compare", or NULL: the eval's */
	size_t started;               /* systems whose run was submitted (or
				       * could not be) */
	int pending;                  /* runs of it not yet ended (grading too) */
	int lost;                     /* a run of it was interrupted */
	int complete;                 /* every system's run ended: it counts */
};

/* What one system did on one question. */
struct eval_outcome {
	unsigned char correct, failed, price_unknown;
	double latency_ms;            /* the run's wall time */
	double agreement;             /* share agreeing with the commonest
				       * answer; NaN: one member only */
	double cost_usd;
	long calls;
	long long tokens;
	char *answer;                 /* the output, kept for --details */
};

/* A workflow, or one of its models alone. */
struct eval_sys {
	char *name;
	const char *file;                     /* the workflow file it is of */
	const char *scope;                    /* its answers' scope in the cache */
	int is_model;
	const struct quorum_workflow *wf;     /* borrowed, or owned below */
	struct quorum_workflow *derived;
	struct eval_outcome *out;             /* one per question */
};

struct eval {
	struct run_args a;
	const char **files;
	size_t nfiles;
	const char *data_path, *compare_mode, *plot_path, *judge_id, *details_path;
	int baselines;
	long parallel;
	struct quorum_workflow **wfs;
	struct eval_sys *sys;
	size_t nsys;
	struct eval_q *qs;
	size_t nq;
	struct quorum_compare *cmp;           /* the eval's comparison */
	struct quorum_workflow *grader;       /* --judge, for rubric lines */
	struct quorum_engine *engine;
	struct quorum_cache *cache;
	struct mock *sim;
	char sim_url[64];
	struct data_reader in;
	FILE *details_f, *plot_f;             /* opened before the runs */
	size_t next;                          /* the next (question, system) */
	long in_flight, runs_done, runs_total, failed;
	long grading_calls;
	double grading_cost;
	int progress;
	int feedback_warned;
	int64_t t0, last_draw;
};

/* cli_evalout.c: the outcomes of the questions every system finished.
 * Writes the table (or, with json, the JSON) to stdout, the plot to
 * e->plot_f and the details to e->details_f, closing those two. Returns 0
 * or an exit status. */
int eval_report(struct eval *e, int json);

#endif
