#ifndef QUORUM_CALL_H
#define QUORUM_CALL_H
/* Calls: a node asks one model (then its fallbacks) once, and hears the
 * outcome through the call's own done callback. A call may take several
 * attempts; each attempt is one HTTP request through the loop. Per-model
 * queues hold calls until the model has room (max_concurrency, rpm, the
 * breaker); the policy that decides retries and waits is policy.h's.
 * Everything here runs on the loop thread. */
#include <curl/curl.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/redact.h"
#include "../dag/workflow.h"
#include "../providers/provider.h"
#include "budget.h"
#include "banditstore.h"
#include "cache.h"
#include "loop.h"
#include "policy.h"
#include "shared.h"
#include "trace.h"
#include "verbose.h"

struct call;

enum resp_status { RESP_PENDING, RESP_OK, RESP_FAILED, RESP_CANCELLED };

/* What the report says of one call. */
struct response {
	const char *model;            /* the model that answered, or the last tried */
	const char *requested;        /* the model the node asked for */
	const char *text;
	enum resp_status status;
	int attempts;                 /* every request that left */
	int64_t started_ms;           /* since the run started; -1 never */
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
	int cached;                   /* answered from the response cache */
	double saved_usd;             /* what that answer cost when it was made */
};

/* One of a model's endpoints in the pool. */
struct endpoint_state {
	const char *base_url;         /* expanded */
	const char *key_env;          /* "" when it takes no key */
	struct endpoint_view view;    /* weight, in flight, latency, rest */
};

/* Per-model state, shared by every run on one engine that names the same
 * model (provider, base URL, model name and key variable): concurrency,
 * the rpm window and the circuit breaker hold across all of them. */
struct model_state {
	const struct wf_model *model; /* the first run's; its id names it */
	const char *base_url;         /* with ${VAR} and ${VAR:-default} expanded */
	int max_concurrency;          /* the strictest any run asked for; 0 none */
	double rpm_limit;             /* likewise */
	int in_flight;
	struct call *qhead, *qtail;   /* calls waiting for a slot */
	struct rpm_window rpm;
	struct timer_entry rpm_timer; /* wakes the loop when the window opens */
	struct breaker breaker;       /* open: skipped until its cooldown ends */
	enum err_class last_err;
	/* The failure that opened the breaker: what a call it skips reports,
	 * not "skipped". Held here, not in a run's arena: it outlives runs. */
	enum err_class first_err;
	int first_http;
	char first_msg[256];          /* "" until a failure */
	const char *ident;            /* provider, base URL, model, key variable */
	struct endpoint_state *eps;   /* the model's endpoints; none: NULL */
	size_t neps;
	/* With --shared (pool.shared): the model's keys in Redis, and what
	 * its last answer said, so a full window or an open breaker costs
	 * one round trip, not one per pump. Monotonic ms; 0: not held. */
	char shared_key[48];          /* quorum:rpm:<hash of ident> */
	int64_t shared_until;         /* the shared rpm window is full until */
	int64_t shared_broken_until;  /* the shared breaker is open until */
	long shared_fails;            /* its failures in a row, as last seen */
	int64_t shared_asked;         /* when the breaker was last read (no rpm) */
	long shared_credits;          /* starts the window granted at credit_at, */
	int64_t shared_credit_at;     /* unused yet: good for that ms only */
};

/* The model states of an engine (or of one run), and the pump that starts
 * their queued calls. */
struct pool {
	struct arena *arena;          /* the pool's own, for its lifetime */
	struct loop *loop;
	struct model_state **models;
	size_t n, cap;
	size_t pump_next;             /* the model calls_pump serves first */
	int pump_more;                /* calls_pump stopped at its batch */
	struct pool_vectors *vectors; /* embeddings kept for the engine's life */
	size_t nvectors, capvectors;
	struct pool_store *stores;    /* bandit state files, open for its life */
	size_t nstores;
	struct shared *shared;        /* --shared: Redis, freed with the pool; NULL: in-process */
	double shared_budget_usd;     /* --shared-budget; 0: none */
};

/* pool.c */
/* An empty pool on loop l, in arena a (borrowed for its life). */
void pool_init(struct pool *p, struct arena *a, struct loop *l);
/* The shared state of model m, whose base URL (or each of its endpoints')
 * expands to urls[i]: found by its identity, made on first use; a run that
 * asks for a stricter max_concurrency or rpm tightens it. NULL when
 * memory ran out. */
struct model_state *pool_model(struct pool *p, const struct wf_model *m,
			       const char *const *urls);
void pool_release(struct pool *p);
/* Vectors the engine keeps for its life, by a key the caller makes (the
 * SHA-256 of the model and the texts): a route's semantic examples are
 * embedded once per engine, not once per run. pool_vectors_get returns
 * them (borrowed) with *n and *dim, or NULL; pool_vectors_put copies v
 * (n x dim). Returns 0 or -1. */
const float *pool_vectors_get(const struct pool *p, const unsigned char key[32], size_t *n,
			      size_t *dim);
int pool_vectors_put(struct pool *p, const unsigned char key[32], const float *v, size_t n,
		     size_t dim);
/* The bandit state file at path, opened on first use and kept open for
 * the engine's life (runs share it). NULL with why in err (n bytes). */
struct bandit_store *pool_bandit_store(struct pool *p, const char *path, char *err,
				       size_t n);

/* What every call of a run shares. The run owns it; its pointers are
 * borrowed for the run's life. */
struct call_ctx {
	struct arena *arena;
	const struct workflow *wf;
	struct loop *loop;
	struct pool *pool;
	struct model_state **models;  /* by wf model idx, in the pool */
	struct budget *budget;
	struct trace *trace;
	const struct redact *redact;
	struct verbose *verbose;      /* NULL: no --verbose */
	const char *sim_base_url;     /* every call goes here, keyless; or NULL */
	int insecure;
	int json_depth;
	int64_t t0;                   /* the run's start (ms, monotonic) */
	uint64_t rng;                 /* jitter */
	int any_failed;               /* a call failed, or a timeout cut one */
	struct cache *cache;          /* --cache, or NULL */
	const char *cache_scope;      /* mixed into every key (eval's systems), or NULL */
	struct cache_seen *seen;      /* how often each request came this run */
	/* The caller's sampling over the workflow's defaults (quorum
	 * serve's request), for generate and synthesize calls; or NULL. */
	const struct call_settings *request;
	/* Told of each attempt's text as it grows (text[0..n), the whole
	 * attempt's so far) and, with text NULL, that an attempt failed;
	 * NULL: nobody listens (outstream.c is the listener). */
	void (*on_text)(void *ctx, const struct call *c, const char *text, size_t n);
	void *on_text_ctx;
};

/* Called once when the call's response is final (ok, failed or
 * cancelled). The callback may start or cancel other calls. */
typedef void call_done_fn(struct call *c, void *ctx);

struct call {
	struct call_ctx *cx;
	struct response resp;
	const char *label;            /* the node's id, for the trace */
	size_t slot;                  /* the call's index in its node */
	int tag;                      /* the node kind's own bookkeeping */
	call_done_fn *done_fn;
	void *done_ctx;

	const struct wf_node *node;   /* whose call settings apply */
	const struct wf_model *model; /* the model being tried now */
	const struct wf_model *first; /* the model the node asked for */
	size_t next_fallback;         /* index into first's fallback list */
	int attempt;                  /* attempts on the current model */
	struct call_settings cs;
	const struct call_settings *overlay; /* settings over the node's */
	const char *system, *prompt;  /* rendered, arena */
	/* An embeddings call (call_embed): the texts it embeds; its answer is
	 * the packed vectors of providers/embed.h. */
	const char *const *texts;
	size_t ntexts;
	int embed;

	int queued;                   /* waiting in its model's queue */
	struct call *qnext;
	int running;                  /* an attempt is in flight */
	int done;                     /* the response is final */
	struct timer_entry wake;      /* backoff timer */

	/* the attempt in flight */
	CURL *easy;
	struct loop_xfer xfer;
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
	double shared_held_usd;       /* what it holds of the shared budget */
	struct cache_key key;         /* its request's, when keyed */
	int keyed;
	const struct wf_model *cache_model; /* the model last looked up */
	struct timer_entry deadline;  /* the attempt's nearest timeout check */
	int keepalive;                /* its connection goes back to curl's cache */
	int ep;                       /* the endpoint of the attempt; -1: none */
	int ep_busy;                  /* it counts in that endpoint's in flight */
};

/* Returns a new call of node n (label and slot name it in the trace) to
 * model m, in cx's arena, or NULL when memory ran out. Nothing starts
 * until call_submit. done(c, done_ctx) is called once, when its response
 * is final. */
struct call *call_new(struct call_ctx *cx, const struct wf_node *n, const char *label,
		      size_t slot, const struct wf_model *m, const char *system,
		      const char *prompt, call_done_fn *done, void *done_ctx);
/* Makes c, before call_submit, an embeddings call of texts[0..n) (borrowed
 * for the call's life): the model's embeddings endpoint, never streamed;
 * retries, limits, the breaker and the cache as for any call. */
void call_embed(struct call *c, const char *const *texts, size_t n);
/* Applies over's call settings over the node's, for every model the call
 * tries (before its first attempt starts). over is borrowed. */
void call_settings_overlay(struct call *c, const struct call_settings *over);
/* Queues the call to start as soon as its model has room. */
void call_submit(struct call *c);
/* Ends a call that nobody needs any more: the response becomes cancelled
 * with why and msg. A call already done is left alone. */
void call_cancel(struct call *c, enum err_class why, const char *msg);
/* Starts queued calls whose model has room, at most a batch at a time
 * (p->pump_more says more are ready), so the first requests go out while
 * later connections are still being made. */
void calls_pump(struct pool *p);
/* Milliseconds since the run started. */
int64_t call_ctx_now(const struct call_ctx *cx);
/* A uniform random number in [0, 1) from cx's generator (xorshift64*). */
double call_ctx_random(struct call_ctx *cx);

#endif
