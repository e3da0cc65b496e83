#ifndef QUORUM_H
#define QUORUM_H
/* quorum: ask several LLMs, merge what they say.
 *
 * Load a workflow file once, run it as many times as you like, read each
 * run's report. The CLI is a thin user of this header; so are the tests. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct quorum_workflow;
struct quorum_report;
struct quorum_cache;

/* Exit statuses, as the workflow contract defines them. */
enum {
	QUORUM_EXIT_OK = 0,
	QUORUM_EXIT_FAILED = 1,
	QUORUM_EXIT_INVALID = 2,
	QUORUM_EXIT_INTERRUPTED = 130,
};

/* Once per process, before any other call (initialises libcurl). */
int quorum_global_init(void);
void quorum_global_cleanup(void);

/* Every bound quorum puts on what a file, a server or a run may make it
 * build. A breach is a clear error naming the limit, never a crash. */
struct quorum_limits {
	size_t file_bytes;      /* a workflow file; default 4 MiB */
	size_t yaml_nodes;      /* YAML values after alias expansion; default 100,000 */
	size_t yaml_bytes;      /* YAML text after alias expansion; default 64 MiB */
	int yaml_depth;         /* YAML nesting; default 64 */
	size_t nodes;           /* workflow nodes after moa/council expansion; default 10,000 */
	size_t fanout;          /* calls one node makes at once; default 100,000 */
	size_t prompt_bytes;    /* one rendered prompt; default 8 MiB */
	int json_depth;         /* nesting of a response's JSON; default 64 */
	long long wall_ms;      /* the whole run; 0: no limit (default) */
};

void quorum_limits_default(struct quorum_limits *l);
/* Sets one limit from "NAME=VALUE" (the CLI's --limit): file_bytes,
 * yaml_nodes, yaml_bytes, yaml_depth, nodes, fanout, prompt_bytes, json_depth (numbers)
 * or wall (a duration: 30s, 2m). Returns 0, or -1 with a message in err. */
int quorum_limits_set(struct quorum_limits *l, const char *spec, char *err, size_t n);

/* Loads and validates a workflow file. Returns new (free with
 * quorum_workflow_free), or NULL with *errors set to every problem, one
 * "FILE:LINE:COL: message" per line (free with quorum_free). */
struct quorum_workflow *quorum_workflow_load(const char *path, char **errors);
/* The same under limits (NULL: the defaults). */
struct quorum_workflow *quorum_workflow_load_limited(const char *path,
						     const struct quorum_limits *limits,
						     char **errors);
/* The same from memory (a workflow read from standard input): name is
 * what diagnostics call it ("<stdin>"). */
struct quorum_workflow *quorum_workflow_load_buffer(const char *name, const char *text,
						    size_t len,
						    const struct quorum_limits *limits,
						    char **errors);
/* Loads without reading the files of its learned routers (`score`
 * conditions): they may not exist yet, `quorum router train` writes
 * them. Such a workflow is for training, not for running. */
struct quorum_workflow *quorum_workflow_load_untrained(const char *path, char **errors);
void quorum_workflow_free(struct quorum_workflow *wf);
/* The workflow's `name`, or its file's stem when it writes none.
 * Borrowed. */
const char *quorum_workflow_name(const struct quorum_workflow *wf);
/* The workflow's `description`, or NULL. Borrowed. */
const char *quorum_workflow_description(const struct quorum_workflow *wf);
/* Whether the workflow declares an input of that name (`query` always
 * counts): a run refuses inputs it does not declare. */
int quorum_workflow_has_input(const struct quorum_workflow *wf, const char *name);

/* The graph as "dot" or "mermaid". Returns new text (quorum_free), or
 * NULL for an unknown format. */
char *quorum_workflow_graph(const struct quorum_workflow *wf, const char *format);

/* What `quorum validate` prints: name, description, nodes, and the worst
 * case of one run (calls and cost, retries and fallbacks included).
 * Returns new text (quorum_free). */
char *quorum_workflow_summary(const struct quorum_workflow *wf);

struct quorum_input {
	const char *name;
	const char *value;
};

struct quorum_options {
	const char *query;                  /* NULL: none given */
	const struct quorum_input *inputs;
	size_t ninputs;
	const char *trace_path;             /* JSON Lines trace, or NULL */
	FILE *progress;                     /* live progress (a terminal), or NULL */
	/* Send every model call, in its own provider's format, to this base
	 * URL without a key (the simulated provider, which speaks all four);
	 * NULL: as the workflow says. */
	const char *sim_base_url;
	/* Set to non-zero (e.g. from a signal handler) to end the run: calls
	 * in flight are cancelled and the report is still written. */
	volatile sig_atomic_t *interrupt;
	/* The read end of a pipe that a signal handler writes to, so the loop
	 * wakes at once; -1: none (the flag is then polled every 100 ms). */
	int wake_fd;
	const struct quorum_limits *limits; /* NULL: the defaults */
	/* Log each HTTP request and response head to this stream, with
	 * Authorization, x-api-key and x-goog-api-key redacted; NULL: none. */
	FILE *verbose;
	/* Skip TLS certificate verification: for a test proxy only. quorum
	 * warns on standard error at every run that sets it. */
	int insecure;
	/* Progress: 1 draws with ANSI colours; plain is for terminals without
	 * cursor control (TERM=dumb): a line per node as it ends instead of
	 * a display redrawn in place. */
	int color;
	int plain;
	/* Answers already in this cache are served from it (no call, no
	 * cost); new successful answers are kept there. NULL: no cache. */
	struct quorum_cache *cache;
	/* Mixed into every cache key: runs of different scopes never share
	 * an answer (eval gives each system its own, so a replay is exact).
	 * NULL: the common scope. */
	const char *cache_scope;
	/* Sampling a caller puts over the workflow's `defaults` (quorum
	 * serve: a request's temperature and max_tokens), for the calls of
	 * generate and synthesize nodes, the nodes that write answers; never
	 * over a value the node or its model writes itself (the author pins
	 * it there). has_temperature 0, max_tokens 0: as the workflow says. */
	int has_temperature;
	double temperature;
	int max_tokens;
	/* Called on the engine's thread with each new piece of the answer as
	 * the output node's model streams it, when the output node makes one
	 * call (a generate of one model and one sample, or a synthesize);
	 * other outputs, and answers from the cache, come whole, as the
	 * report's output. Keys are masked, so a piece's last bytes may wait
	 * for the next one. The pieces are the attempt's own text: when an
	 * attempt fails after some went out, no more come unless a retry or
	 * fallback begins with exactly what went out (then they go on from
	 * there). So at the end the caller sends what quorum_report_output
	 * holds past the pieces, and an output that does not begin with them
	 * (an attempt broke mid-stream and the next answered otherwise) is
	 * a stream that cannot be mended. NULL: no pieces. */
	void (*on_output_delta)(const char *text, size_t n, void *ctx);
	void *on_output_delta_ctx;
	/* Called on the engine's thread as each node ends, with its id and
	 * "ok", "failed" or "skipped" (quorum serve's progress in a stream);
	 * NULL: not called. */
	void (*on_node_done)(const char *node, const char *status, void *ctx);
	void *on_node_done_ctx;
	/* The run's id when the caller names it (32 lower-case hex digits:
	 * quorum serve sends it in a header before the run ends); NULL or
	 * anything else: 128 random bits. */
	const char *run_id;
};

/* The response cache (SQLite; several processes may share one file).
 * Opens the file at path (NULL: $XDG_CACHE_HOME/quorum/cache.sqlite, else
 * ~/.cache/quorum/), creating it. Returns new (quorum_cache_close), or
 * NULL with *errors set (free with quorum_free). */
struct quorum_cache *quorum_cache_open(const char *path, char **errors);
void quorum_cache_close(struct quorum_cache *c);
/* The default cache file's path, as quorum_cache_open(NULL) would use it.
 * Returns new text (quorum_free), or NULL when
 * neither XDG_CACHE_HOME nor HOME is set. */
char *quorum_cache_default_path(void);
/* What `quorum cache stats` prints: the file, entries, bytes, hits,
 * misses, the cost saved. Returns new text (quorum_free), or NULL. */
char *quorum_cache_stats(struct quorum_cache *c);
/* Forgets every answer. Returns 0, or -1 with *errors set. */
int quorum_cache_clear(struct quorum_cache *c, char **errors);

/* Runs a workflow (on an engine of its own) and waits for it. Returns the
 * report (free with quorum_report_free) for every run that started,
 * whatever its outcome; NULL when the run could not start (a missing
 * required input or API key, a bad --input), with *errors set as for
 * quorum_workflow_load. */
struct quorum_report *quorum_run(const struct quorum_workflow *wf,
				 const struct quorum_options *opts, char **errors);

/* An engine runs any number of workflow runs at once on one thread, one
 * event loop and one set of connections; the per-model limits
 * (max_concurrency, rpm, the circuit breaker) hold across all its runs of
 * the same model (provider, base URL, model name, key variable). */
struct quorum_engine;

/* Returns a new engine (free with quorum_engine_free), or NULL when it
 * cannot be made. wake_fd: a descriptor whose readability wakes the loop
 * (a signal handler's pipe), or -1. */
struct quorum_engine *quorum_engine_new(int wake_fd);

/* Called on the thread driving the engine when a run ends: report is the
 * run's (the callback owns it: quorum_report_free), or NULL when the run
 * could not be set up, with error saying why (borrowed). */
typedef void quorum_done_fn(struct quorum_report *report, const char *error, void *ctx);

/* Submits a run; any thread may call it. The checks quorum_run makes
 * before a call happen here: on a problem it returns -1 with *errors set
 * (as quorum_run sets it) and done is never called. Otherwise it returns
 * 0; the run starts at the engine's next turn and done(report, NULL,
 * ctx) is called once when it ends. wf and opts (and all they point to)
 * are borrowed until then. */
int quorum_engine_submit(struct quorum_engine *e, const struct quorum_workflow *wf,
			 const struct quorum_options *opts, quorum_done_fn *done, void *ctx,
			 char **errors);

/* Drives the engine on the calling thread until no run is in flight or
 * queued, or timeout_ms passes (-1: no limit). Returns the runs still in
 * flight or queued. */
size_t quorum_engine_run(struct quorum_engine *e, int timeout_ms);

/* Wakes quorum_engine_run from another thread (after setting a run's
 * interrupt flag, say); any thread may call it. */
void quorum_engine_wakeup(struct quorum_engine *e);

/* Interrupts the runs still in flight (their done is called, status
 * interrupted), then frees the engine. NULL is a no-op. */
void quorum_engine_free(struct quorum_engine *e);

/* Shares the engine's per-model limits with every process that names the
 * same Redis: url is redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or
 * unix:///PATH[?db=N]. Each model's rpm window and circuit breaker, the
 * spend against quorum_engine_set_shared_budget's limit, and (for runs
 * with a cache) the cache's answers then live in Redis; NULL goes back to
 * in-process state. Connects at once: returns 0, or -1 with *errors set
 * ("quorum: --shared redis://HOST:PORT: connection refused"; never the
 * password). Should Redis go away later, the engine says so once on
 * standard error and in each report ("shared"), and goes on with its own
 * in-process limits; no run loses a result. Before the first submit;
 * loop thread. */
int quorum_engine_set_shared(struct quorum_engine *e, const char *url, char **errors);
/* A budget (USD) that the calls of every process sharing the Redis count
 * against together (with quorum_engine_set_shared; 0: none): an attempt
 * that could pass it is not started (error class budget), as with a
 * workflow's budget. */
void quorum_engine_set_shared_budget(struct quorum_engine *e, double usd);
/* quorum_run on an existing engine: submits one run, drives the engine
 * until it ends, returns its report (or NULL with *errors set). */
struct quorum_report *quorum_engine_run_one(struct quorum_engine *e,
					    const struct quorum_workflow *wf,
					    const struct quorum_options *opts, char **errors);

/* Prints, instead of running, what the run would send: after the checks
 * quorum_run makes (inputs, keys), each call of the first layer (the
 * nodes that need no other) with its model, URL and rendered messages,
 * then the worst case of the whole run. Nothing is sent. Returns new text
 * (quorum_free), or NULL with *errors set as quorum_run sets it. */
char *quorum_dry_run(const struct quorum_workflow *wf, const struct quorum_options *opts,
		     char **errors);

/* "ok", "partial", "failed", "budget_exceeded" or "interrupted". */
const char *quorum_report_status(const struct quorum_report *r);
/* The output node's text, or NULL when the run produced none. Borrowed. */
const char *quorum_report_output(const struct quorum_report *r);
/* Why the output node's model stopped, as its provider says it
 * ("stop", "length", "end_turn", "max_tokens", "STOP", ...), when the
 * output is one call's text (the node made one call, and it answered);
 * NULL otherwise. Borrowed. */
const char *quorum_report_finish_reason(const struct quorum_report *r);
/* The run's id (32 hex digits, also the report's "run_id"): what `quorum
 * feedback` names to reward a bandit's choice later. Borrowed. */
const char *quorum_report_run_id(const struct quorum_report *r);
/* The answers to print: when the output node is a generate with several
 * answers, the i-th of them with *label its model ("gpt", "gpt #2" for a
 * second sample); otherwise the output alone (i = 0, *label NULL).
 * Returns NULL past the last. Borrowed. */
const char *quorum_report_answer(const struct quorum_report *r, size_t i,
				 const char **label);
/* What went wrong, in words, for standard error: for a run that is not
 * ok, every failed call (node, model, host, class, HTTP status, the
 * provider's message), every skipped node and why, every aggregator that
 * degraded and why. NULL for an ok run. With color, ANSI colours. Returns
 * new text (quorum_free). */
char *quorum_report_explain(const struct quorum_report *r, int color);
/* One line: calls, tokens, cost and wall time ("7 calls, 3,412 tokens,
 * $0.0012, 2.4 s"). Returns new text (quorum_free). */
char *quorum_report_totals(const struct quorum_report *r);
/* What a run used. */
struct quorum_usage {
	long calls;            /* requests sent, retries and re-sends included */
	long long input_tokens, output_tokens;   /* -1: none reported */
	double cost_usd;
	long cached;           /* calls answered from the cache */
	double saved_usd;      /* what those cost when they were made */
	long long cached_tokens; /* their tokens (not in the two above) */
	long long wall_ms;
};
void quorum_report_usage(const struct quorum_report *r, struct quorum_usage *u);
/* The first error writing the trace (an errno value), or 0. */
int quorum_report_trace_error(const struct quorum_report *r);
/* The run report as JSON (the contract's shape). Borrowed. */
const char *quorum_report_json(const struct quorum_report *r);
/* The exit status the CLI should end with. */
int quorum_report_exit_code(const struct quorum_report *r);
void quorum_report_free(struct quorum_report *r);

/* ---- what `quorum eval` is made of ---- */

/* The models of a workflow: declared ones, then those named inline. */
size_t quorum_workflow_model_count(const struct quorum_workflow *wf);
/* Model i's id as the file writes it. Borrowed. */
const char *quorum_workflow_model_id(const struct quorum_workflow *wf, size_t i);
/* Whether model i of a and model k of b are the same model (provider,
 * model, base URL and params alike): one baseline stands for both. */
int quorum_workflow_same_model(const struct quorum_workflow *a, size_t i,
			       const struct quorum_workflow *b, size_t k);
/* Whether model i of wf is only ever asked for embeddings (a node's
 * `embed`), never sent a chat: it has no single-model baseline. */
int quorum_workflow_model_embeds_only(const struct quorum_workflow *wf, size_t i);
/* A workflow of model i of wf alone, one call, no fallbacks. grade 0:
 * asked what wf's first generate node asks (the single-model baseline);
 * grade 1: grading inputs.answer to the query against inputs.rubric, its
 * last line PASS or FAIL. It points into wf, which must outlive it.
 * Returns new (quorum_workflow_free), or NULL when memory ran out. */
struct quorum_workflow *quorum_workflow_derive(const struct quorum_workflow *wf, size_t i,
					       int grade);

/* How an answer is held against the expected one: a vote's extract modes
 * ("whole", "last_line", "number", "choice", "json:FIELD",
 * "regex:PATTERN" with one capture group), each in a vote's comparable
 * form (case folded, numbers canonical), or "exact" (the whole answer,
 * trimmed, byte for byte). */
struct quorum_compare;
/* Returns new (quorum_compare_free), or NULL with *errors saying why. */
struct quorum_compare *quorum_compare_new(const char *mode, char **errors);
/* The extract mode of wf's first vote node, or NULL when it has none. It
 * may point into wf, which must outlive it. */
struct quorum_compare *quorum_compare_of(const struct quorum_workflow *wf);
/* The mode's name ("number", "regex", "json:answer"). Borrowed. */
const char *quorum_compare_name(const struct quorum_compare *c);
/* The comparable form of the answer text holds. Returns new text
 * (quorum_free), or NULL when it holds none. */
char *quorum_compare_answer(const struct quorum_compare *c, const char *text);
/* 1 when text answers expected, 0 when not (or text holds no answer).
 * expected is read as an answer itself for number and choice ("42",
 * "(B)"), else as the value to find ("yes" for json:ok). */
int quorum_compare_match(const struct quorum_compare *c, const char *expected,
			 const char *text);
void quorum_compare_free(struct quorum_compare *c);

/* ---- bandits ---- */

/* Rewards (score, 0 to 1) every choice the bandit nodes of wf made in run
 * run_id (quorum_report_run_id) that has no reward yet: once, within 30
 * days (older choices are pruned from the state file). Returns how many
 * it rewarded (0: none waiting, already rewarded or unknown), or -1 with
 * *errors set (no bandit node, a state file that cannot be opened, a
 * score out of range). */
long quorum_feedback(const struct quorum_workflow *wf, const char *run_id, double score,
		     char **errors);
/* How many bandit nodes of wf learn from feedback (no reward judge):
 * those an eval rewards with right (1) or wrong (0). */
size_t quorum_workflow_feedback_bandits(const struct quorum_workflow *wf);
/* What the bandit state file at path holds, as text for a person: each
 * node's queries and mean cost, and each arm's pulls, rewards, mean
 * reward and mean cost. Decisions older than 30 days are pruned when a
 * state file is opened (this call included). Returns new text
 * (quorum_free), or NULL with *errors set (a missing file, one that is
 * not a bandit state). */
char *quorum_bandit_stats(const char *path, char **errors);

/* ---- learned routers (quorum router) ---- */

struct quorum_router_train {
	const struct quorum_workflow *wf;
	const char *node;          /* its route node: the router learns from the
				    * embeddings that node's embed model makes */
	const char *details;       /* a `quorum eval --details` file */
	const char *weak, *strong; /* the two systems' names in it */
	const char *out;           /* the router file to write */
	const char *kind;          /* "logreg" (default) or "mf" */
	double l2;                 /* the penalty; 0: the default 0.01 */
	double test_share;         /* held out to judge the router; 0: none
				    * (judged on what it learnt from), < 0: 0.25 */
	double strong_share;       /* calibrate for this share of strong calls;
				    * < 0: leave it to quorum_router_calibrate */
	unsigned long long seed;   /* which questions are held out */
	long parallel;             /* embedding runs at once (16) */
	const struct quorum_options *opts; /* for the embedding runs: --sim,
				    * --cache, limits, interrupt */
};

/* Whether node id of wf embeds its prompt (it has an `embed` model): 1;
 * 0 when it has none; -1 when wf has no node id. */
int quorum_workflow_node_embeds(const struct quorum_workflow *wf, const char *id);
/* Embeds the questions both systems answered, fits a scorer of "the
 * strong model is needed", judges it on the held-out questions (APGR,
 * CPT(50%), CPT(80%) beside a random and an oracle router) and writes
 * it. Returns the report text (quorum_free), or NULL with *errors set. */
char *quorum_router_train(const struct quorum_router_train *t, char **errors);
/* Sets the threshold of the router file at path so that about share of
 * the queries (as its calibration scores say) go to the strong model,
 * and writes it back. Returns what it did (quorum_free), or NULL with
 * *errors set. */
char *quorum_router_calibrate(const char *path, double share, char **errors);

void quorum_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
