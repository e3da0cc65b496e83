#ifndef QUORUM_RUN_H
#define QUORUM_RUN_H
/* The state of one run, shared by the orchestrator's files. Everything
 * here lives in the run's arena and is touched on the loop thread only. */
#include <curl/curl.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/redact.h"
#include "../dag/workflow.h"
#include "../providers/provider.h"
#include "quorum.h"
#include "../common/timer.h"

struct run;
struct node_state;

/* The public handle of a loaded workflow. */
struct quorum_workflow {
	struct workflow *wf;
};

enum resp_status { RESP_PENDING, RESP_OK, RESP_FAILED, RESP_CANCELLED };
enum node_status { NS_WAITING, NS_RUNNING, NS_OK, NS_FAILED, NS_SKIPPED };

/* One logical call: a node asks one model (then its fallbacks) once.
 * It may take several attempts; each attempt is one HTTP request. */
struct call {
	struct run *run;
	struct node_state *ns;
	size_t slot;                  /* index in ns->resp */
	const struct wf_model *model; /* the model being tried now */
	size_t next_fallback;         /* index into the first model's fallback list */
	int attempt;                  /* attempts on the current model */
	struct call_settings cs;
	const struct call_settings *overlay; /* settings over the node's (a
					     * plan's subtasks: its `run`) */
	const char *system, *prompt;  /* rendered, arena */

	int queued;                   /* waiting in its model's queue */
	struct call *qnext;           /* model queue link */
	int running;                  /* an attempt is in flight */
	int done;                     /* the response is final */
	int tag;                      /* the node kind's own bookkeeping */
	const struct wf_model *first; /* the model the node asked for */
	struct timer_entry wake;      /* backoff timer */

	/* the attempt in flight */
	CURL *easy;
	struct curl_slist *headers;
	struct http_req req;
	const struct provider *prov;
	struct resp_parser *parser;
	struct chat_result res;
	struct buf errbody;           /* a non-2xx body */
	int status_seen;              /* HTTP status read from the first body bytes */
	int http_status;
	char retry_after[64];
	int64_t t_sent, t_first, t_last;  /* ms, monotonic */
	int sends;                    /* requests this attempt put on the wire:
				       * libcurl re-sends on a reused connection
				       * that died, and each one is an attempt */
	size_t bytes_in;              /* response bytes received, headers included */
	double reserved_usd;          /* budget reservation of this attempt */
	struct timer_entry deadline;  /* the attempt's nearest timeout check */
	int keepalive;                /* its connection goes back to curl's cache */
};

/* What the report says of one call. */
struct response {
	const char *model;            /* the model that answered, or the last tried */
	const char *requested;        /* the model the node asked for */
	const char *text;
	enum resp_status status;
	int attempts;
	int64_t started_ms;           /* since run start */
	int64_t latency_ms, ttft_ms;  /* of the last attempt; -1 unknown */
	int64_t input_tokens, output_tokens; /* -1 unknown */
	double cost_usd;
	int price_known;
	enum err_class err;
	int http_status;
	const char *err_msg;
	const char *finish_reason;
	const char *role;             /* what the call was for, when not an answer */
	const char *host;             /* the host of the last attempt */
	/* The call's first failure, kept when a retry, a fallback or the
	 * breaker moved on from it: the summary names the real cause. */
	const char *first_model;      /* NULL: no attempt failed */
	enum err_class first_err;
	int first_http;
	const char *first_msg;
	const char *first_host;
};

struct node_state {
	const struct wf_node *node;
	enum node_status status;
	size_t pending_deps;
	struct node_state **dependents;
	size_t ndependents;
	size_t nsinks;                /* dependents not yet skipped (need) */
	struct response *resp;
	size_t nresp;
	struct call **calls;          /* every call the node made, as resp */
	size_t ncalls, cap;           /* cap: room in resp and calls */
	size_t outstanding;           /* calls not finished */
	void *kstate;                 /* the node kind's own state */
	/* What the node offers downstream as candidates when that is not
	 * simply its successful responses (judge: the pick, plan: results). */
	const char **cand, **cand_models;
	size_t ncand;
	int has_cand;
	const char *report_json;      /* the kind's own report fields, or NULL */
	const char *output;
	const char *error;            /* why the node failed or was skipped */
	const char *err_class;        /* its class: a call's class, "dependency"
				       * or "internal"; NULL while ok */
	int err_http;                 /* the HTTP status behind it; 0: none */
	const char *degraded;         /* why an aggregator degraded, or NULL */
	int confident;                /* -1: not a vote */
	double agreement;
	const void *vote;             /* struct vote_result *, for the report */
	int64_t started_ms, ended_ms; /* since run start; -1 not yet */
	struct timer_entry deadline;  /* the node's `timeout` */
	int timed_out;
	int decided;                  /* a `stop_when: decided` vote cut it short */
};

/* Per-model state: concurrency, rpm window, circuit breaker. */
struct model_state {
	const struct wf_model *model;
	const char *base_url;         /* with ${VAR} and ${VAR:-default} expanded */
	int in_flight;
	struct call *qhead, *qtail;   /* calls waiting for a slot */
	int64_t *starts;              /* rpm ring of the last starts, ms */
	size_t nstarts, startpos, rpm_cap;
	struct timer_entry rpm_timer; /* wakes the loop when the window opens */
	int consecutive_failures;
	int broken;                   /* skipped for the rest of the run */
	enum err_class last_err;
	/* The model's first failure in this run: what a call skipped by the
	 * breaker reports, not "skipped". */
	enum err_class first_err;
	int first_http;
	const char *first_msg;
};

struct run {
	struct arena *arena;
	const struct workflow *wf;
	const struct quorum_options *opts;
	struct quorum_limits lim;
	struct timer_entry wall;      /* --limit wall */
	int wall_hit;
	int64_t t0;                   /* ms, monotonic */
	int64_t t0_wall_us;
	CURLM *multi;
	int epfd;                     /* the sockets curl asks us to watch */
	struct timer_entry curl_timer; /* curl's own timeout, in our heap */
	struct timer_heap timers;
	struct node_state *nodes;
	struct model_state *models;
	struct node_state **ready;    /* ready queue, FIFO */
	size_t ready_head, ready_tail;
	size_t nodes_left;            /* not yet ok/failed/skipped */
	size_t running_attempts;
	size_t idle_conns;            /* kept-alive connections, an estimate */
	size_t pump_next;             /* the model calls_pump serves first */
	int pump_more;                /* calls_pump stopped at its batch */
	CURL **easy_pool;             /* handles to reuse: curl_easy_init is dear */
	size_t neasy, easy_cap;
	/* budget */
	double spent_usd, reserved_usd;
	long calls_started;
	int budget_hit;
	/* outcome */
	int interrupted;
	int any_call_failed;
	int any_degraded;             /* an aggregator degraded, a node failed
				       * with continue_on_error */
	struct redact redact;         /* the keys this run may send */
	struct verbose *verbose;      /* --verbose, or NULL */
	const char *input_query;
	const struct quorum_input *inputs;
	size_t ninputs;
	FILE *trace;
	int trace_errno;              /* the first write to the trace that failed */
	struct progress *progress;
	uint64_t rng;
};

/* envsubst.c */
/* Returns s with ${VAR} and ${VAR:-default} replaced from the environment
 * (docker-compose style), in the arena; NULL when memory ran out. */
const char *env_expand(struct arena *a, const char *s);

/* verbose.c: --verbose HTTP logging with credentials redacted */
/* Returns the run's logger to out (in the arena), or NULL when memory
 * ran out. Header lines that carry a credential are redacted, and any
 * configured key value in any line is masked. */
struct verbose *verbose_new(struct run *r, FILE *out);
void verbose_attach(CURL *e, struct verbose *v);

/* loop.c: I/O through curl's socket interface and epoll */
int loop_init(struct run *r);
void loop_release(struct run *r);
/* Waits up to timeout_ms for socket events, lets curl act on them, then
 * hands finished transfers to their calls. */
void loop_wait(struct run *r, int timeout_ms);
void loop_reap(struct run *r);

/* api.c */
/* Everything that can be refused before a call: unknown or missing
 * inputs, missing keys, a fan-out past its limit, a base_url that
 * expands to something other than http(s). Returns 0, or -1 with *errors
 * set (new; q_free). */
int run_precheck(const struct workflow *wf, const struct quorum_options *o, char **errors);
/* Sets the run's query and inputs from the options and the defaults. */
void run_inputs_init(struct run *r, const struct workflow *wf, const struct quorum_options *o);

/* run.c: scheduling */
/* Runs the loop until every node has ended or the run is interrupted. */
void run_loop(struct run *r);
/* The run's status word, from its nodes and calls. */
const char *run_status(const struct run *r);
/* The run's answer: the output node's output ("" when it has none), or
 * NULL when that node did not end ok. */
const char *run_output(const struct run *r);

/* Milliseconds since the run started. */
int64_t run_now(const struct run *r);
/* A uniform random number in [0, 1), from the run's generator. */
double run_random(struct run *r);

/* call.c */
/* Returns a new call filling ns->resp[slot] (the caller owns the slot). */
struct call *call_new(struct run *r, struct node_state *ns, size_t slot,
		      const struct wf_model *model, const char *system,
		      const char *prompt);
/* Applies over's call settings over the node's, for every model the call
 * tries (before its first attempt starts). over is borrowed. */
void call_settings_overlay(struct call *c, const struct call_settings *over);
/* Queues the call to start as soon as its model has room. */
void call_submit(struct call *c);
/* Handles a finished transfer (CURLMSG_DONE). */
void call_transfer_done(struct call *c, CURLcode code);
/* Ends a call that nobody needs any more: the response becomes cancelled. */
void call_cancel(struct call *c, enum err_class why, const char *msg);
/* Starts queued calls whose model has room, at most a batch at a time
 * (r->pump_more says more are ready), so the first requests go out while
 * later connections are still being made. */
void calls_pump(struct run *r);
/* Frees the pool of reusable curl handles. */
void calls_release(struct run *r);

/* node.c: what every node kind shares */
void node_start(struct run *r, struct node_state *ns);
/* A call of the node finished (ok, failed or cancelled). */
void node_call_done(struct run *r, struct node_state *ns, struct call *c);
/* Ends the node (once; later calls do nothing). A node that did not end
 * ok without a class set takes its first failed call's. Its dependents
 * start when their other needs are done, or are skipped. */
void node_finish(struct run *r, struct node_state *ns, enum node_status st,
		 const char *error);
/* Fails the node with an error class of its own ("too_large",
 * "malformed", "internal", ...). */
void node_fail(struct run *r, struct node_state *ns, const char *cls, const char *msg);
/* Marks an aggregator that went on with less than it wanted (no answer to
 * vote on, no ballot, no verdict): confident false, why in the report,
 * and the run partial. The node still ends ok. */
void node_degrade(struct run *r, struct node_state *ns, const char *why);
void node_cancel(struct run *r, struct node_state *ns, const char *why);

/* budget.c */
double budget_worst_case_usd(const struct wf_model *m, const struct call_settings *cs,
			     const char *system, const char *prompt);
/* Reserves one attempt; returns 0, or -1 when it would pass a limit. */
int budget_reserve(struct run *r, struct call *c);
void budget_settle(struct run *r, struct call *c, double actual_usd);
double response_cost(const struct wf_model *m, int64_t in, int64_t out, int *known);

/* trace.c: JSON Lines events; no-ops without a trace file */
void trace_event(struct run *r, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The attempt_start event, with the messages the attempt sends. */
void trace_attempt_start(struct run *r, const struct call *c);
/* The attempt_end event: its status, error object and latency. */
void trace_attempt_end(struct run *r, const struct call *c, const struct response *resp,
		       int64_t latency_ms);

/* Returns s made safe inside a JSON string (for ids in trace fields). */
const char *trace_str(struct run *r, const char *s);

/* report.c */
char *report_build_json(struct run *r, const char *status, int64_t wall_ms);
/* Whether the call's first failure says something its final state does
 * not (a fallback answered, or the first error was another). */
int response_first_differs(const struct response *p);
/* "7 calls, 3,412 tokens, $0.0012, 2.4 s". Returns new (q_free), or NULL. */
char *report_totals_line(const struct run *r, int64_t wall_ms);

/* explain.c: for a run that is not ok, what went wrong in words (stderr);
 * NULL for an ok run. Returns new (q_free). */
char *explain_run(struct run *r, const char *status, int color);

/* Appends {"class":..,"http_status":N|null,"message":..}: the one shape
 * of an error in the report and the trace. */
void report_put_error(struct buf *b, const char *cls, int http_status, const char *msg);

/* progress.c */
struct progress *progress_new(struct run *r, FILE *out);
void progress_update(struct progress *p, int force);
/* A node ended: redraws, or (without cursor control) prints its line. */
void progress_node_done(struct progress *p, const struct node_state *ns);
void progress_end(struct progress *p);

#endif
