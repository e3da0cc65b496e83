#ifndef QUORUM_WORKFLOW_H
#define QUORUM_WORKFLOW_H
#include <stddef.h>
#include <stdint.h>

#include "../common/arena.h"
#include "../common/qerr.h"
#include "../common/regex.h"
#include "template.h"

/* The typed workflow: what a workflow file means, after loading and
 * validation. It owns one arena and is immutable after load, so many runs
 * may share it. moa and council nodes are expanded into primitive nodes at
 * load time. */

enum node_kind {
	NK_GENERATE,
	NK_VOTE,
	NK_SYNTHESIZE,
	NK_TEMPLATE,
	NK_JUDGE,
	NK_RANK,
	NK_CASCADE,
	NK_ROUTE,
	NK_PLAN,
	NK_BANDIT,
	NK_EMBED,     /* made by workflow_embedder only: the prompt's vector */
	NK__COUNT
};

const char *node_kind_name(enum node_kind k);

/* Which call_settings fields were written; unset ones inherit. */
enum {
	CS_TIMEOUT = 1 << 0,
	CS_FIRST_TOKEN = 1 << 1,
	CS_IDLE = 1 << 2,
	CS_RETRIES = 1 << 3,
	CS_TEMPERATURE = 1 << 4,
	CS_MAX_TOKENS = 1 << 5,
	CS_TOP_P = 1 << 6,
	CS_SEED = 1 << 7,
	CS_STOP = 1 << 8,
	CS_STREAM = 1 << 9,
	CS_MAX_RESPONSE = 1 << 10,
	CS_HTTP_VERSION = 1 << 11,
	CS_MAX_CONNECTIONS = 1 << 12,
	CS_CA_CERT = 1 << 13,
};

/* `http_version`: what the connection speaks. */
enum http_version {
	HTTP_AUTO,   /* HTTP/2 over TLS where the server offers it, else 1.1 */
	HTTP_1_1,    /* HTTP/1.1 only: for servers with a broken HTTP/2 */
	HTTP_2,      /* HTTP/2 only (over plain http: with prior knowledge) */
};

/* Call settings as written in `defaults`, a model or a node. Keys:
 * timeout, first_token_timeout, idle_timeout, retries, temperature,
 * max_tokens, top_p, seed, stop (string or list), stream (bool),
 * max_response_bytes (the most one response may hold; a hostile or broken
 * server gets an error for that call, not our memory). */
struct call_settings {
	unsigned set;             /* CS_* bits */
	int64_t timeout_ms;       /* one attempt, from request sent to last byte */
	int64_t first_token_ms;   /* until the first byte of answer text */
	int64_t idle_ms;          /* longest silence between stream chunks */
	int retries;
	double temperature;
	int max_tokens;
	double top_p;
	int64_t seed;
	const char **stop;
	size_t nstop;
	int stream;
	int64_t max_response;     /* bytes of answer text; default 16 MiB */
	/* The transport, per model or in defaults. */
	enum http_version http_version;
	int max_connections;      /* per host; 0: as many as curl needs */
	const char *ca_cert;      /* a PEM file of trusted CAs, or NULL */
};

/* Built-in values used where nothing is written: timeout 60s, retries 2,
 * max_tokens 1024, stream on, first-token and idle timeouts = timeout,
 * max_response_bytes 16 MiB. */
void call_settings_builtin(struct call_settings *cs);
/* Overwrites the fields of dst that src sets. */
void call_settings_apply(struct call_settings *dst, const struct call_settings *src);

/* One of a model's `endpoints`: the same model behind another base URL
 * or key (two regions, two keys of one provider). */
struct wf_endpoint {
	const char *base_url;
	const char *api_key_env;  /* default: the model's provider's */
	double weight;            /* shuffle's odds; default 1 */
	int line, col;
};

/* How a call picks among a model's endpoints: weighted at random, the one
 * with the fewest calls in flight, or the one with the lowest recent
 * latency. One that failed or rate-limited cools down first. */
enum endpoint_strategy { EP_SHUFFLE, EP_LEAST_BUSY, EP_LATENCY };

struct wf_model {
	const char *id;           /* key in `models`, or "provider/model" inline */
	int idx;                  /* index in workflow.models */
	const char *provider;     /* openai | anthropic | gemini | ollama */
	const char *model;
	const char *base_url;     /* the provider's default when not written */
	const char *api_key_env;  /* default per provider; "" means no key */
	int price_known;
	double price_in, price_out; /* USD per million tokens */
	const char *params_json;  /* `params` as a JSON object text, or NULL */
	struct call_settings cs;  /* as written on the model */
	int max_concurrency;      /* 0 = unlimited */
	double rpm;               /* 0 = unlimited */
	struct wf_model **fallback;
	size_t nfallback;
	int is_inline;
	int local;                /* `local: true`: may see personal data (route) */
	/* `endpoints`: when there are any, base_url and api_key_env above are
	 * the first one's, and each call picks one by `strategy`. */
	struct wf_endpoint *endpoints;
	size_t nendpoints;
	enum endpoint_strategy strategy;
	int64_t cooldown_ms;      /* an endpoint's rest after a failure; 30 s */
	int line, col;
};

struct wf_input {
	const char *name;
	const char *description;
	const char *def;          /* default value, or NULL */
	int required;
	int line, col;
};

enum extract_mode { EX_WHOLE, EX_LAST_LINE, EX_NUMBER, EX_CHOICE, EX_JSON, EX_REGEX };

struct extract_spec {
	enum extract_mode mode;
	const char *field;        /* EX_JSON: the field name (dots walk objects) */
	struct regex *re;         /* EX_REGEX: compiled, one capture group */
};

struct wf_weight {
	const char *model;        /* model id */
	double weight;
};

/* cascade `accept`: exactly one of the four. */
enum accept_kind { ACCEPT_SELF_CHECK, ACCEPT_JUDGE, ACCEPT_AGREEMENT, ACCEPT_REGEX };

struct wf_accept {
	enum accept_kind kind;
	double threshold;         /* self_check: share of "correct" (default 0.7);
				   * judge: score out of 10 (default 7);
				   * agreement: `min` share (default 0.67) */
	int samples;              /* self_check, agreement (default 3) */
	struct wf_model *judge;   /* judge: the model that scores */
	struct regex *re;         /* regex: the answer must match */
	const char *pattern;
};

/* A route condition: every key written must hold (AND). */
struct wf_input_eq {
	const char *name, *value;
};

/* `semantic`: the prompt's embedding is within `threshold` cosine of one
 * of the examples' (aurelio's semantic-router). */
struct wf_semantic {
	const char **examples;
	size_t nexamples;
	double threshold;         /* default 0.8 */
};

/* `score`: a learned router's file (quorum router train) scores the
 * prompt's embedding; the route holds at score >= threshold. */
struct scorer;                /* aggregators/learn.h: parsed after load */
struct wf_score {
	const char *file;         /* as written */
	const char *path;         /* resolved against the workflow's folder */
	double threshold;         /* NaN as loaded when not written: then the
				   * file's own (calibrated) one, set after load */
	const struct scorer *scorer; /* set once the file is read (api.c) */
	int line, col;
};

struct wf_cond {
	struct regex *re;         /* `regex`: the prompt matches; NULL unset */
	const char *pattern;
	long min_chars, max_chars; /* -1 unset; characters are UTF-8 code points */
	int contains_pii;         /* -1 unset, else the wanted truth */
	struct wf_input_eq *inputs; /* `input: {NAME: VALUE}` */
	size_t ninputs;
	struct wf_semantic *semantic; /* NULL unset */
	struct wf_score *score;   /* NULL unset */
	/* A plan's subtask: the planner's estimates. */
	double min_difficulty, max_difficulty; /* 0 easy .. 1 hard; -1 unset */
	long min_tokens, max_tokens;
	int line, col;            /* of `when` */
};

/* A route: `when` + `to`, or `ask`: a small model answers (its answer is
 * the node's output and nothing else is called) or declines with the
 * marker, and the next route is tried. */
struct wf_route {
	struct wf_cond when;
	struct wf_model *to;
	struct wf_model *ask;     /* an ask route: the model asked; NULL else */
	const char *decline;      /* its marker; default "[[DECLINE]]" */
	int line, col;
};

/* A bandit's policy: Thompson sampling, UCB, or linear Thompson sampling
 * on the prompt's embedding (contextual). */
enum wf_bandit_policy { WF_BANDIT_THOMPSON, WF_BANDIT_UCB, WF_BANDIT_LINEAR };

/* The most arms a bandit may have: what the policies' state holds
 * (aggregators/bandit.h's BANDIT_ARMS_MAX; node_bandit.c asserts so). */
#define WF_BANDIT_ARMS_MAX 32

struct wf_node {
	const char *id;
	int idx;                  /* index in workflow.nodes */
	enum node_kind kind;
	const char *description;
	int line, col;
	const char *group;        /* id of the moa/council node this came from, or NULL */

	int64_t timeout_ms;       /* the whole node; 0 = none */
	struct call_settings cs;  /* call settings written on the node */
	/* `continue_on_error: true`: when this node fails, the nodes that
	 * depend on it still run and its output renders as empty. A moa or
	 * council passes it to every node it expands into. */
	int continue_on_error;

	/* Every node this one depends on: from, needs and template references,
	 * each once, in first-mention order. */
	struct wf_node **deps;
	size_t ndeps;
	struct wf_node **from;
	size_t nfrom;

	/* generate: models; synthesize: the one model (nmodels == 1) */
	struct wf_model **models;
	size_t nmodels;
	struct tmpl *prompt;      /* generate, synthesize (optional) */
	struct tmpl *system;      /* optional */
	struct tmpl *text;        /* template */
	int samples;              /* generate: calls per model, default 1 */
	int min_ok;               /* generate: default 1 */

	/* vote */
	struct extract_spec extract;
	struct wf_weight *weights;
	size_t nweights;
	double min_agreement;     /* default 0.5 */
	int stop_when_decided;    /* `stop_when: decided` */

	/* judge (models: one judge or a panel), rank (models: the members) */
	const char *criteria;     /* NULL: the default criteria */

	/* cascade: models in order, prompt, accept */
	struct wf_accept accept;

	/* route: prompt, routes in order, default */
	struct wf_route *routes;
	size_t nroutes;
	struct wf_model *route_default;
	/* route (semantic, score), bandit (linear): the embeddings model */
	struct wf_model *embed;

	/* bandit: models are the arms */
	enum wf_bandit_policy policy;
	struct wf_model *reward_judge; /* rates each answer; NULL: feedback only */
	double cost_weight;       /* reward given up per USD (default 0) */
	double budget_usd;        /* average per query; 0: none */
	int explore;              /* pulls of each arm before the policy (default 1) */
	const char *state;        /* the state file, resolved; as written below */
	const char *state_as_written;

	/* plan: models[0] is the planner; prompt optional */
	int max_subtasks;         /* default 8 */
	struct wf_node *run;      /* what each subtask runs: a generate or route
				   * node without id or dependencies */
};

struct workflow {
	struct arena *arena;
	const char *file;         /* as given to load */
	const char *name;
	const char *description;
	struct wf_input *inputs;  /* `query` is always present */
	size_t ninputs;
	struct call_settings defaults; /* builtin with the file's `defaults` applied */
	struct wf_model **models; /* declared, then inline ones */
	size_t nmodels;
	struct wf_node **nodes;   /* file order, after expansion */
	size_t nnodes;
	struct wf_node **order;   /* a topological order */
	struct wf_node *output;
	int has_max_usd, has_max_calls;
	double max_usd;
	long max_calls;
};

/* Limits on what a file may make us build. */
struct load_limits {
	size_t max_file_bytes;    /* default 4 MiB */
	size_t max_yaml_nodes;    /* after alias expansion; default 100000 */
	int max_depth;            /* default 64 */
	size_t max_nodes;         /* workflow nodes; default 10000 */
	/* Bytes of YAML text (every scalar, keys included) after alias
	 * expansion, and of the prompts moa expansion copies; default 64 MiB,
	 * 16 times the default file limit: room for a prompt shared by many
	 * nodes, while an alias bomb fails before it costs memory. */
	size_t max_yaml_bytes;
};

void load_limits_default(struct load_limits *l);

/* Loads and validates. Returns the workflow (new; free with workflow_free),
 * or NULL with every problem found added to d (d->file set to path). */
struct workflow *workflow_load_file(const char *path, const struct load_limits *lim,
				    struct qdiags *d);
/* The same from memory; `path` names the text in diagnostics. */
struct workflow *workflow_load_string(const char *path, const char *text, size_t len,
				      const struct load_limits *lim, struct qdiags *d);
void workflow_free(struct workflow *wf);

struct wf_node *workflow_node(const struct workflow *wf, const char *id);
struct wf_model *workflow_model(const struct workflow *wf, const char *id);
const struct wf_input *workflow_input(const struct workflow *wf, const char *name);

/* Checks what only a run can check, before any call: every required input
 * is given (names[0..n) are the given ones; `query` counts when
 * has_query), and every model a node may call (fallbacks included) has its
 * API key variable set and not empty, as `getenv_fn` says (unset and
 * empty are told apart). Adds a diagnostic at the input's or the model's
 * position for each problem; returns 0 or -1. */
int workflow_check_run(const struct workflow *wf, const char *const *names, size_t n,
		       int has_query, const char *(*getenv_fn)(const char *),
		       struct qdiags *d);

/* The effective call settings of one call of `node` to `model`: builtin,
 * then defaults, then the model's, then the node's. */
void workflow_call_settings(const struct workflow *wf, const struct wf_node *node,
			    const struct wf_model *model, struct call_settings *out);

/* Whether url is one a model may be sent to: http:// or https://, a host
 * name, IPv4 or [IPv6] address, an optional port 1..65535, no user or
 * password, no space or control character. The engine calls it on a
 * base_url after expanding its ${VAR}s; loading calls it on what the file
 * says. Returns 0, or -1 with the reason in why (n bytes; lower case, no
 * position, and never the URL's text, which may come from the
 * environment). */
int workflow_url_check(const char *url, char *why, size_t n);

/* derive.c: workflows made from wf for `quorum eval`. Each points into
 * wf, which must outlive it; free with workflow_free. NULL when memory
 * ran out.
 * workflow_single: model m asked alone, once (no fallbacks), with the
 * prompt, system prompt and settings of wf's first generate node that
 * reads only inputs ({{ query }} when there is none): the baseline.
 * workflow_grader: model m grading inputs.answer to the query against
 * inputs.rubric, at temperature 0; its last line says PASS or FAIL. */
struct workflow *workflow_single(const struct workflow *wf, const struct wf_model *m);
struct workflow *workflow_grader(const struct workflow *wf, const struct wf_model *m);
/* workflow_embedder: one node of kind embed that embeds what route or
 * bandit node n embeds (its prompt, with its embed model): its output is
 * the packed vector, the request the same one the node sends, so a cache
 * shares them. NULL too when n has no embed model. */
struct workflow *workflow_embedder(const struct workflow *wf, const struct wf_node *n);
/* Whether m is only ever asked for embeddings in wf: some node's `embed`
 * (or a fallback of one) and nothing a chat goes to, so it has no
 * single-model baseline. 0 too when memory ran out. */
int workflow_embeds_only(const struct workflow *wf, const struct wf_model *m);

/* Writes the graph (moa/council expanded) as Graphviz DOT or Mermaid.
 * format is "dot" or "mermaid". Returns 0, or -1 for an unknown format. */
int workflow_graph(const struct workflow *wf, const char *format, struct buf *out);

#endif
