#ifndef QUORUM_SIM_SCENARIO_H
#define QUORUM_SIM_SCENARIO_H
#include <stddef.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/qerr.h"
#include "../common/regex.h"

/* A loaded mock scenario: immutable after scenario_load, so every server
 * thread reads it without locks. */

enum fault_type {
	FAULT_STATUS,    /* an HTTP error with an OpenAI-style body */
	FAULT_HANG,      /* never answers until the client goes */
	FAULT_MALFORMED, /* 200 with a body (or chunk) that is not JSON */
	FAULT_CUT,       /* the body or stream stops midway: connection closed */
	FAULT_SLOW,      /* a normal answer with other latency / chunk delay */
	FAULT_SAFETY,    /* 200, no text: a content filter (Gemini: SAFETY) */
	/* What the network and the boxes in between do (fault.c): */
	FAULT_RESET,     /* the connection closed with RST, at once or midway */
	FAULT_DRIP,      /* a normal answer, one byte per interval */
	FAULT_HUGE,      /* 200 whose body (or stream) is `bytes` long */
	FAULT_CTYPE,     /* an HTML page under another content type */
	FAULT_ERROR_BODY, /* the format's error body with status 200 */
	FAULT_REDIRECT,  /* a 3xx to `location` */
	FAULT_REFLECT,   /* the request's credential echoed back (`where`) */
	FAULT_DROP_REUSED, /* a reused connection closed, no response */
	FAULT_NTYPES
};

/* "status", "hang", ...: the `type` names, by enum fault_type. */
extern const char *const scenario_fault_names[FAULT_NTYPES];

/* Where a reflect fault echoes the credential. */
enum reflect_where {
	REFLECT_ERROR,  /* in the format's error body, under `status` */
	REFLECT_ANSWER, /* in the text of a normal answer */
	REFLECT_HEADER, /* in a header (`header`) of a normal answer */
};

/* A fault applies to a request when all its set conditions hold. `first`,
 * `every` and `after` count the model's requests from 1; a drop_reused
 * fault also needs a connection that served a request before. */
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
			      * a stream's pieces up to it, then an error event;
			      * reset: < 0 at once, else like a cut */
	int64_t interval_ms; /* drip: between two bytes */
	int64_t drip_ms;     /* status: the error body a byte at a time, this
			      * far apart (a 429 whose body is slow); 0 none */
	int64_t bytes;       /* huge: the body's size */
	const char *value;   /* content_type: the Content-Type header */
	const char *location; /* redirect: the Location header */
	enum reflect_where where; /* reflect */
	const char *header;  /* reflect: the header's name */
};

/* `chaos`: each request to any model (but those in `except`) that none
 * of its own faults applies to gets, with probability `rate`, one of
 * `faults` at random (seeded by `seed`, the model name and its request
 * number). */
struct chaos {
	uint64_t seed;
	double rate;         /* 0: no chaos */
	struct fault *faults;
	size_t n_faults;
	const char **except; /* model names chaos leaves alone */
	size_t n_except;
};

/* The kinds of request an aggregator sends, recognised by key phrases
 * (prompt.c); a rule may ask for one, and the simulated models answer each
 * in its format. */
enum prompt_kind {
	PK_NONE,
	PK_JUDGE,      /* pick the best of "Response A", "Response B", ... */
	PK_RANK,       /* evaluate, then "FINAL RANKING:" and a numbered list */
	PK_SELF_CHECK, /* is this answer correct? one word */
	PK_RATING,     /* grade one answer 1-10: "Rating: [[7]]" */
	PK_PLAN,       /* a JSON object {"subtasks": [...]} */
};

enum rule_action {
	RULE_ANSWER,  /* answer: a fixed text */
	RULE_ANSWERS, /* answers: cycled per rule */
	RULE_PICK,    /* pick: the label whose section holds a fragment */
	RULE_RANK,    /* rank: labels ordered by the fragments their sections hold */
	RULE_RATING,  /* rating: "Rating: [[N]]" */
	RULE_RATING_AUTO, /* rating: auto: 9 right, 2 wrong, 5 cannot tell */
};

/* A rule answers the requests whose prompt (every message, joined) meets
 * all its conditions; with none it applies always. */
struct rule {
	const char **contains;   /* each must appear, any case */
	size_t n_contains;
	struct regex *re;        /* PCRE2, or NULL */
	enum prompt_kind kind;   /* PK_NONE: any */
	enum rule_action action;
	const char **texts;      /* answer (one), answers, pick (one), rank */
	size_t n_texts;
	double rating;
	int64_t latency_ms;      /* < 0: the model's */
};

/* How often a model answers a bank question right: linear in the
 * question's difficulty d, `easy` at d = 0 and `hard` at d = 1 (a plain
 * number sets both). */
struct accuracy {
	double easy, hard;
};

/* `topic_accuracy`: the accuracy on one topic's questions. */
struct topic_accuracy {
	const char *topic;
	struct accuracy acc;
};

struct model_cfg {
	const char *name;
	int64_t latency_ms, jitter_ms, chunk_delay_ms;
	struct accuracy accuracy;
	struct topic_accuracy *topic_acc; /* overrides per topic */
	size_t n_topic_acc;
	/* A small model that declines: when the prompt holds the marker
	 * and a bank question harder than decline_above (plus a seeded
	 * normal draw times decline_noise), it answers the marker alone. */
	double decline_above;        /* < 0: never declines */
	double decline_noise;
	const char *decline_marker;
	const char *answer;          /* fixed answer, or NULL */
	const char **answers;        /* cycled per request */
	size_t n_answers;
	size_t chunk_chars;
	int usage;
	struct fault *faults;
	size_t n_faults;
	struct rule *rules;          /* tried in order before the answer */
	size_t n_rules;
	int formats;                 /* answer aggregator prompts in their format */
	/* Correlated errors: with probability `correlation`, drawn once per
	 * (group, question), every member of `error_group` takes the
	 * group's shared draw for a bank question instead of its own. */
	const char *error_group;     /* NULL: none */
	double correlation;          /* 0..1 */
	/* How a normal answer is sent: */
	int ignore_stream;           /* the whole JSON body, even to a stream request */
	int pretty;                  /* whole JSON bodies indented over lines */
	const char *content_type;    /* overrides the answer's Content-Type; NULL */
};

/* A bank question: `q` is looked for inside the prompt; `a` is the prose of
 * a correct answer and `short_a` its final line ("Answer: X"). */
struct bank_item {
	const char *q, *a, *short_a;
	const char **wrong;
	size_t n_wrong;
	const char *topic;  /* hidden from the models; NULL: none */
	double difficulty;  /* 0 easy .. 1 hard; 0.5 when not given */
};

/* `embeddings.topics`: a topic and the words that point to it. */
struct embed_topic {
	const char *name;
	const char **keywords;
	size_t n_keywords;
};

/* `embeddings`: how the simulated embedding vectors are made (embed.h). */
struct embed_cfg {
	size_t dim;
	double topic_weight, difficulty_weight, noise, words_weight;
	struct embed_topic *topics;
	size_t n_topics;
};

/* The compiled rule patterns, freed by scenario_release. */
struct scenario_regex {
	struct regex *re;
	struct scenario_regex *next;
};

struct scenario {
	struct arena *arena;
	struct scenario_regex *regexes;
	uint64_t seed;
	struct model_cfg *models;
	size_t n_models;
	const struct model_cfg *fallback; /* `default`, or NULL */
	struct bank_item *bank;
	size_t n_bank;
	struct chaos chaos;
	struct embed_cfg embed;
	/* `tls: {cert: FILE, key: FILE}`: serve HTTPS with this PEM
	 * certificate and key (their text); NULL: plain HTTP. */
	const char *tls_cert, *tls_key;
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

/* The model's accuracy on bank question b (its topic's when the model
 * names one in topic_accuracy, at b's difficulty), or at difficulty 0.5
 * with no topic when b is NULL (a question not in the bank). A plain
 * number is returned exactly as written. */
double scenario_accuracy(const struct model_cfg *m, const struct bank_item *b);

#endif
