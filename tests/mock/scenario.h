#ifndef QUORUM_MOCK_SCENARIO_H
#define QUORUM_MOCK_SCENARIO_H
#include <stddef.h>
#include <stdint.h>

#include "../../common/arena.h"
#include "../../common/qerr.h"

/* A loaded mock scenario: immutable after scenario_load, so every server
 * thread reads it without locks. */

enum fault_type {
	FAULT_STATUS,    /* an HTTP error with an OpenAI-style body */
	FAULT_HANG,      /* never answers until the client goes */
	FAULT_MALFORMED, /* 200 with a body (or chunk) that is not JSON */
	FAULT_CUT,       /* the body or stream stops midway: connection closed */
	FAULT_SLOW,      /* a normal answer with other latency / chunk delay */
	FAULT_SAFETY,    /* 200, no text: a content filter (Gemini: SAFETY) */
};

/* A fault applies to a request when all its set conditions hold. `first`,
 * `every` and `after` count the model's requests from 1. */
struct fault {
	enum fault_type type;
	int block_prompt;    /* safety: the prompt is blocked, not the answer */
	long first;          /* 0: unset */
	long every;          /* 0: unset */
	long after;          /* 0: unset; only requests after the Nth */
	double rate;         /* < 0: unset */
	int status;
	long retry_after;    /* seconds for Retry-After; < 0: no header */
	const char *message, *etype, *code; /* NULL: chosen from the status */
	int64_t latency_ms;  /* < 0: the model's (status faults: 0) */
	int64_t chunk_delay_ms; /* < 0: the model's */
	long after_chars;    /* cut: < 0 cuts at half; status: >= 0 sends
			      * a stream's pieces up to it, then an error event */
};

struct model_cfg {
	const char *name;
	int64_t latency_ms, jitter_ms, chunk_delay_ms;
	double accuracy;
	const char *answer;          /* fixed answer, or NULL */
	const char **answers;        /* cycled per request */
	size_t n_answers;
	size_t chunk_chars;
	int usage;
	struct fault *faults;
	size_t n_faults;
};

/* A bank question: `q` is looked for inside the prompt; `a` is the prose of
 * a correct answer and `short_a` its final line ("Answer: X"). */
struct bank_item {
	const char *q, *a, *short_a;
	const char **wrong;
	size_t n_wrong;
};

struct scenario {
	struct arena *arena;
	uint64_t seed;
	struct model_cfg *models;
	size_t n_models;
	const struct model_cfg *fallback; /* `default`, or NULL */
	struct bank_item *bank;
	size_t n_bank;
};

/* Loads text[0..len) (YAML or JSON) into s, which the caller owns. Returns
 * 0, or -1 with e set ("`name`: models.x.latency: ..."); s then holds
 * nothing to release. */
int scenario_load(struct scenario *s, const char *name, const char *text,
		  size_t len, struct qerr *e);
void scenario_release(struct scenario *s);

/* Returns the model's settings, the `default` ones for an unlisted name,
 * or NULL when neither exists. Borrowed until scenario_release. */
const struct model_cfg *scenario_model(const struct scenario *s,
				       const char *name);

#endif
