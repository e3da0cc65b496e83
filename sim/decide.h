#ifndef QUORUM_SIM_DECIDE_H
#define QUORUM_SIM_DECIDE_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "scenario.h"

/* What a simulated model does with one request: which fault applies, how
 * long it waits and what it says. Every choice is a pure function of
 * (seed, model name or its error group, counters), so reruns repeat while
 * two samples of the same question may differ. */

#define SIM_SEEN_BUCKETS 256

/* The counters of one model name (listed, `default`ed or unknown). */
struct model_state {
	char *name;
	const struct model_cfg *cfg; /* NULL: unknown model */
	atomic_long requests;        /* received since start or reset */
	atomic_long answered;        /* cursor into cfg->answers */
	atomic_long *asked;          /* per bank item: times asked */
	size_t n_asked;
	atomic_long *turns;          /* per rule: cursor into its answers */
	size_t n_turns;
	/* Aggregator prompts answered, by a hash of the prompt: the same
	 * request sampled again draws anew, reruns repeat. */
	atomic_long seen[SIM_SEEN_BUCKETS];
	/* Questions not in the bank answered, by a hash of the question. */
	atomic_long generic[SIM_SEEN_BUCKETS];
	struct model_state *next;
};

#define MODEL_TABLE_BUCKETS 64

/* Model names to counters; thread-safe. */
struct model_table {
	pthread_mutex_t lock;
	const struct scenario *sc; /* borrowed */
	struct model_state *buckets[MODEL_TABLE_BUCKETS];
	size_t n;
};

void model_table_init(struct model_table *t, const struct scenario *sc);
void model_table_release(struct model_table *t);
/* Returns the counters for `name`, made on first use; borrowed until
 * model_table_release. NULL when memory is exhausted or too many names
 * were seen (a client inventing names cannot grow it without bound). */
struct model_state *model_table_get(struct model_table *t, const char *name);
/* Returns the requests seen for name (0 when never seen). */
long model_table_requests(struct model_table *t, const char *name);
/* Sets every counter back to 0. */
void model_table_reset(struct model_table *t);
/* Appends {"name": requests, ...}. Returns 0 or -1. */
int model_table_json(struct model_table *t, struct buf *out);

/* The prompt of a request, borrowed from the caller. */
struct sim_msg {
	const char *role, *content;
};

enum plan_kind {
	PLAN_ANSWER,
	PLAN_ERROR,
	PLAN_HANG,
	PLAN_MALFORMED,
	PLAN_CUT,
	PLAN_SAFETY, /* 200 with no text: a content filter */
	PLAN_RESET,  /* the connection closes at once, with RST */
	PLAN_RAW,    /* a response without the answer (fault.c): a huge
		      * body, another content type, an error body, a redirect,
		      * an error that echoes the credential */
	PLAN_DROP,   /* the connection closes at once, no response */
};

struct plan {
	enum plan_kind kind;
	const struct fault *fault; /* the fault that applies, or NULL */
	long index;                /* the model's request number, from 1 */
	int64_t latency_ms;        /* before the first byte; < 0 never */
	int64_t chunk_delay_ms;    /* between stream pieces */
	char *text;                /* the answer; NULL for hangs, safety
				    * blocks and errors (but those with
				    * after_chars, which fail a stream midway) */
};

/* Decides what to do with the request `msgs` to model `ms` and counts it:
 * the first of the model's faults that applies, else maybe one of the
 * scenario's `chaos`, then the timing and the text. `reused`: the request
 * came on a connection that had served one before (drop_reused).
 * Returns 0 (p->text is new; free with q_free), or -1 when memory is
 * exhausted. */
int sim_plan(const struct scenario *sc, struct model_state *ms,
	     const struct sim_msg *msgs, size_t n, int reused, struct plan *p);

/* Decides what to do with an embeddings request to model `ms` and counts
 * it as sim_plan does (the same faults, chaos and latency; no rules, no
 * text: p->text stays NULL). */
void sim_plan_embed(const struct scenario *sc, struct model_state *ms,
		    int reused, struct plan *p);

/* The index of the bank question text asks, or -1: the one that occurs
 * nearest its end, any case. */
long sim_bank_find(const struct scenario *sc, const char *text);

/* A 64-bit hash of s under seed: every bit of both reaches every bit. */
uint64_t sim_hash(uint64_t seed, const char *s);

/* A deterministic uniform number in [0, 1). */
double sim_uniform(uint64_t seed, const char *model, uint64_t a, uint64_t b,
		   uint64_t salt);
/* A deterministic standard normal number, from the same key. */
double sim_normal(uint64_t seed, const char *model, uint64_t a, uint64_t b,
		  uint64_t salt);

#endif
