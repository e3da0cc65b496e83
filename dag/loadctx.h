#ifndef QUORUM_LOADCTX_H
#define QUORUM_LOADCTX_H
#include <stddef.h>
#include <stdint.h>

#include "../common/provfacts.h"
#include "workflow.h"
#include "ytree.h"

/* Internal to dag/: what load.c, load_node.c and validate.c share while a
 * workflow is built. Loading types every value and records the names it
 * meets (nodes, models) with their positions; validation resolves them. */

/* After this many diagnostics the rest are only counted: a file with
 * thousands of problems gets a readable list, and a hostile one cannot
 * make us compute suggestions forever. */
#define LOAD_MAX_DIAGS 200

enum ref_role { REF_FROM, REF_NEEDS, REF_TMPL };

/* A name written in the file, to be resolved by validation. */
struct name_ref {
	const char *name;
	int line, col;
	enum ref_role role;
	struct tmpl_ref *tref;   /* REF_TMPL: where the node index goes */
};

struct ref_list {
	struct name_ref *v;
	size_t n, cap;
};

/* The loader's side of one node, parallel to workflow.nodes. */
struct node_src {
	int skip;                /* no kind we can build: not checked further */
	struct ref_list deps;    /* from, needs, template refs: file order */
	struct ref_list models;  /* models / model; moa proposers, council members */
	struct ref_list weights; /* vote weights, by model id */
	double *weight_vals;     /* parallel to weights */
	const struct ynode *min_ok;  /* where min_ok was written, or NULL */

	/* moa, council: what expansion needs */
	struct ref_list chair;   /* moa aggregator, council chairman */
	int layers;              /* moa rounds of proposers */

	struct name_ref accept_judge;  /* cascade accept judge model; name NULL when none */
	struct name_ref *route_to;     /* route: parallel to node->routes; name NULL when missing */
	struct name_ref *route_ask;    /* route: an ask route's model, parallel too */
	struct name_ref route_default; /* route: name NULL when missing */
	struct ref_list route_inputs;  /* route: input names in `when`, to resolve */
	struct name_ref embed;         /* route, bandit: the embeddings model */
	struct name_ref reward_judge;  /* bandit: the model that rates answers */
	struct node_src *run;          /* plan: the loader's side of node->run */
};

/* The loader's side of one declared model. */
struct model_src {
	struct ref_list fallback;
	const struct ynode *base_url;  /* as written, or NULL */
	const struct ynode **endpoint_urls; /* each endpoint's base_url, as written */
};

/* ---- the ranges of numeric keys ----
 * One place, so the messages, the docs and the engine agree. Nothing
 * out of range is ever cast to an integer type. */
#define LD_MAX_DURATION_MS (7LL * 24 * 3600 * 1000) /* 168h, every duration */
#define LD_MAX_RETRIES 100
#define LD_MAX_TOKENS 1000000
#define LD_MIN_RESPONSE_BYTES 1024
#define LD_MAX_RESPONSE_BYTES (1LL << 30)           /* 1 GiB */
#define LD_MAX_RPM 100000.0                         /* 0: unlimited */
#define LD_MAX_CONCURRENCY 100000                   /* 0: unlimited */
#define LD_MAX_CONNECTIONS 10000                    /* per host; 0: unlimited */
#define LD_MAX_PRICE 100000.0                       /* USD per million tokens */
#define LD_MAX_SAMPLES 1000                         /* generate, a plan's run */
#define LD_MAX_MIN_OK 1000000
#define LD_MAX_WEIGHT 1000000.0
#define LD_MAX_LAYERS 100
#define LD_MAX_SUBTASKS 100
#define LD_MAX_CHECK_SAMPLES 100                    /* cascade self_check, agreement */
#define LD_MAX_CHARS 1000000000                     /* route min_chars, max_chars */
#define LD_MAX_EXAMPLES 2048                        /* route semantic examples */
#define LD_MAX_EXPLORE 1000                         /* bandit explore */
#define LD_MAX_COST_WEIGHT 1e9                      /* bandit cost_weight, per USD */
#define LD_MAX_ENDPOINTS 64                         /* a model's endpoints */
#define LD_MAX_USD 1000000.0                        /* budget max_usd */
#define LD_MAX_CALLS 1000000000                     /* budget max_calls */
#define LD_MAX_PARAMS_BYTES ((size_t)1 << 20)       /* a model's params, as text */

/* Long scalars are copied into the workflow once however often they are
 * read (an alias is the same tree node): keyed by node, open addressing. */
struct ld_share {
	const struct ynode **keys;
	const char **vals;
	size_t n, cap;
};

struct loadctx {
	struct workflow *wf;
	struct arena *a;         /* the workflow's */
	struct qdiags *d;
	size_t diag_base;        /* d->n when loading started */
	size_t dropped;          /* diagnostics past LOAD_MAX_DIAGS */
	int oom;
	const struct load_limits *lim;
	struct node_src *ns;     /* parallel to wf->nodes */
	size_t nodes_cap;        /* of wf->nodes and ns: expansion adds nodes */
	int too_many_nodes;      /* reported once */
	struct model_src *ms;    /* parallel to the declared models */
	size_t ndeclared;        /* declared models; inline ones follow */
	size_t models_cap;
	const struct ynode *root;
	const struct ynode *nodes_key;  /* where `nodes:` is, for the output */
	struct name_ref output;  /* name NULL when `output` is not written */
	/* A link between nodes may be missing (a required key, a template
	 * that did not compile, an unreadable `output`): validation does not
	 * guess the output from such a graph. */
	int incomplete;
	struct ld_share share;   /* freed when loading ends */
	/* Bytes of text the workflow holds: the tree's, with aliases
	 * expanded, plus the prompts expansion copies; bounded by
	 * lim->max_yaml_bytes. */
	size_t text_bytes;
};

/* ---- diagnostics (loadutil.c) ---- */

/* Adds a diagnostic unless the cap is reached. Returns -1. */
int ld_diag(struct loadctx *c, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Whether another diagnostic would be shown (skip costly suggestions). */
int ld_room(const struct loadctx *c);
/* Records an allocation failure once; returns -1. */
int ld_oom(struct loadctx *c);
/* path as written in the workflow, relative to the workflow file's
 * folder (absolute, or from standard input: as is), in the arena. NULL
 * when memory ran out. */
const char *ld_relative_path(struct loadctx *c, const char *path);
/* `unknown key 'K' in WHERE (did you mean 'X'?)` at the key. Returns
 * the suggestion (X), or NULL. */
const char *ld_unknown_key(struct loadctx *c, const struct ynode *key,
			   const char *const *known, const char *where);
/* The same with `hint` in the parentheses when nothing is near (NULL:
 * the known keys when they are few). */
const char *ld_unknown_key_hint(struct loadctx *c, const struct ynode *key,
				const char *const *known, const char *where, const char *hint);
/* `unknown WHAT 'NAME' (did you mean 'X'?)`, or with `hint` in the
 * parentheses when nothing is near. */
void ld_unknown_name(struct loadctx *c, int line, int col, const char *what,
		     const char *name, const char *const *cands, size_t n,
		     const char *hint);
/* What a value is, for "got ..." in messages: a scalar's own text (a
 * string quoted), else its kind ("list", "mapping"). Returns buf or a
 * static string; buf needs 64 bytes. */
const char *ld_got(const struct ynode *v, char *buf, size_t n);
/* `'KEY' must be EXPECTED, got VALUE` at the value. */
int ld_wrong_type(struct loadctx *c, const char *key, const struct ynode *v,
		  const char *expected);

/* A scalar's text in the workflow's arena. A long one read again (an
 * alias) is the same copy, not a new one. Returns NULL when memory ran
 * out (recorded). */
const char *ld_text(struct loadctx *c, const struct ynode *v);
/* Frees what loading kept aside to share text. */
void ld_share_release(struct loadctx *c);

/* ---- typed values ----
 * Each returns 1 when the value was read into *out, 0 when it is null
 * (written as nothing: the default stays), -1 after reporting a problem. */
int ld_str(struct loadctx *c, const char *key, const struct ynode *v, const char **out);
int ld_int(struct loadctx *c, const char *key, const struct ynode *v, int64_t min,
	   int64_t max, const char *expected, int64_t *out);
/* Out of [min, max] is reported as "'KEY' must be between MIN and MAX, got
 * V"; below min, when EXPECTED says more than "a number" ("a non-negative
 * number"), as "'KEY' must be EXPECTED, got V". NaN and infinities are
 * never read. ld_int says "between" only above max. */
int ld_num(struct loadctx *c, const char *key, const struct ynode *v, double min,
	   double max, const char *expected, double *out);
int ld_bool(struct loadctx *c, const char *key, const struct ynode *v, int *out);
/* Durations must be positive unless allow_zero (0 then means none), and
 * at most LD_MAX_DURATION_MS. */
int ld_duration(struct loadctx *c, const char *key, const struct ynode *v,
		int allow_zero, int64_t *ms);
/* A string or a list of strings, appended to list with the given role. */
int ld_names(struct loadctx *c, const char *key, const struct ynode *v,
	     enum ref_role role, struct ref_list *list);
/* A mapping (or null); reports anything else. */
int ld_map(struct loadctx *c, const char *key, const struct ynode *v);

int ref_list_add(struct loadctx *c, struct ref_list *l, const char *name, int line,
		 int col, enum ref_role role, struct tmpl_ref *tref);

/* Whether s matches [A-Za-z_][A-Za-z0-9_-]*. */
int ld_valid_id(const char *s);
/* Compiles a template from a scalar, with positions from it. */
struct tmpl *ld_template(struct loadctx *c, const char *key, const struct ynode *v);
/* Compiles the PCRE2 pattern v->str + skip (skip bytes of prefix, such as
 * "regex:"); a bad pattern is reported at its place inside the scalar.
 * The regex lives as long as the workflow. Returns it, or NULL after
 * reporting. */
struct regex *ld_regex(struct loadctx *c, const struct ynode *v, size_t skip);
/* One model id (a string, not a list) appended to list. */
int ld_one_model(struct loadctx *c, const char *key, const struct ynode *v,
		 struct ref_list *list);

/* ---- call settings (loadutil.c) ---- */

/* The call-setting keys, `timeout` first, NULL-terminated. */
extern const char *const ld_call_keys[];
/* Where the transport's keys start in ld_call_keys (http_version,
 * max_connections, ca_cert): defaults and models only. */
#define LD_CALL_TRANSPORT 11
/* Reads key k into cs when it is a call setting (`timeout` only when
 * with_timeout). Returns 1 when handled (even with a problem), 0 when k is
 * not a call setting. */
int ld_call_setting(struct loadctx *c, struct call_settings *cs,
		    const struct ynode *k, const struct ynode *v, int with_timeout);

/* ---- nodes (loadutil.c) ---- */

/* What loading one node knows: a node under `nodes`, or the anonymous
 * node a plan's `run` describes (plan set; its template references go to
 * the plan's dependencies). */
struct nodeload {
	struct loadctx *c;
	struct wf_node *node;
	struct node_src *ns;
	struct node_src *tmpl_to;          /* where template references go */
	const struct wf_node *plan;        /* a plan's run: the plan */
	const char *kind;                  /* the kind's name */
};

/* Adds the node references of t to the dependencies. */
void ld_tmpl_refs(const struct nodeload *nl, struct tmpl *t);
/* Appends node (with its loader's side, copied) to workflow.nodes and sets
 * its idx. Returns 0, or -1 when memory ran out or there are too many
 * nodes (reported). */
int ld_node_add(struct loadctx *c, struct wf_node *node, const struct node_src *ns);
/* Sets what a node has before its keys are read: samples 1, min_ok 1, ... */
void ld_node_defaults(struct wf_node *node);

/* ---- models (loadutil.c) ---- */

/* The provider names in words, "a, b or c", into buf (n bytes); returns
 * buf. */
const char *ld_provider_list(char *buf, size_t n);
/* The row of the provider called name (common/provfacts.h); reports
 * `unknown provider 'NAME' (did you mean 'X'?)` at line:col and returns
 * NULL when there is none. */
const struct provfacts *ld_provider(struct loadctx *c, int line, int col,
				    const char *name);
/* Appends a model with the given id and position to workflow.models, with
 * nothing set yet. Returns it, or NULL when memory ran out (recorded). */
struct wf_model *ld_model_add(struct loadctx *c, const char *id, int line, int col);
/* Fills the provider's defaults into m (base_url, api_key_env) where
 * they are not written. */
void ld_model_defaults(struct wf_model *m);

/* ---- stages ----
 * Each file calls only those below it and loadutil.c: load.c reads the
 * file and calls load_node.c, which calls load_kinds.c and expand.c;
 * then validate.c, which calls url.c and graph.c. */

/* load_node.c: every node under `nodes`. */
void load_nodes(struct loadctx *c, const struct ynode *key, const struct ynode *nodes);

/* Keys that are not the user's own (x-...): what a mapping really says. */
size_t ld_real_keys(const struct ynode *map);

/* load_kinds.c: cascade `accept`; load_route.c: route `routes` and
 * `embed`; load_bandit.c: a bandit's keys. Read into nl->node (models by
 * name into nl->ns); each reports its own problems. */
void ld_accept(struct nodeload *nl, const struct ynode *v);
void ld_routes(struct nodeload *nl, const struct ynode *v);
/* A bandit's keys other than the common and model ones; returns 0 for a
 * key that is not one of them. */
int ld_bandit_key(struct nodeload *nl, const char *key, const struct ynode *v);

/* expand.c: replaces a moa or council node by the primitive nodes it
 * stands for, appended to workflow.nodes; the last keeps the node's id. */
enum { MACRO_NONE, MACRO_MOA, MACRO_COUNCIL };
void ld_expand(struct loadctx *c, struct wf_node *node, struct node_src *ns, int macro);

/* validate.c: references, inline models, cycles, order and output. */
void validate_workflow(struct loadctx *c);

/* url.c: a declared model's base_url as written (v): its ${VAR}s are well
 * formed and name no variable that holds an API key (any model's
 * api_key_env, a provider's key variable, a name ending in API_KEY), and
 * with each ${VAR:-default} at its default it is a URL workflow_url_check
 * accepts (unless a variable may supply the scheme). Reports at v. */
void ld_check_base_url(struct loadctx *c, const char *url, const struct ynode *v);

/* load_endpoints.c: a model's `endpoints`, `strategy` and `cooldown`.
 * Returns 0 for a key that is not one of them. */
int ld_endpoints_key(struct loadctx *c, struct wf_model *m, struct model_src *ms,
		     const char *key, const struct ynode *v);
/* After all of model m's keys (map, its mapping) are read: `strategy`
 * and `cooldown` need `endpoints`, and under `strategy: shuffle` some
 * endpoint needs a weight above 0. */
void ld_endpoints_check(struct loadctx *c, const struct wf_model *m, const struct ynode *map);

#endif
