/* route: the routes are tried in order, the first that holds picks the
 * model. A condition on the prompt's meaning (semantic, a learned score)
 * fetches the prompt's embedding first, and the semantic examples' once
 * per engine; an ask route asks a small model, whose answer is the output
 * unless it declines. Order is privacy: nothing past a route for personal
 * data sees a prompt that route took. The report says which rule fired,
 * never the text that matched. */
#include <math.h>
#include <string.h>

#include "../aggregators/learn.h"
#include "../aggregators/route.h"
#include "../common/sha256.h"
#include "../providers/embed.h"
#include "node.h"

/* The examples go in requests of this many texts: under every provider's
 * batch limit (Gemini's is 100, OpenAI's 2048). Chunk k has tag
 * TAG_EXAMPLES + k. */
#define EXAMPLES_PER_CALL 96

enum { TAG_ANSWER, TAG_ASK, TAG_PROMPT_VECTOR, TAG_EXAMPLES };

struct routing {
	const char *prompt, *system;
	struct route_facts f;
	size_t next;                  /* the route to test next */
	int waiting;                  /* embeddings calls out */
	int vectors_asked;
	const float **examples;       /* per route, into the engine's copy */
	size_t examples_dim;
	float *fetched;               /* the examples' vectors as chunks come */
	size_t nfetched, chunks_left;
	int examples_failed;
	double *scores;               /* per route */
	unsigned char examples_key[32];
	const char **declined;        /* ask routes that declined, by model */
	size_t ndeclined;
};

static const char *route_input(void *ctx, const char *name)
{
	struct nodeset *g = ctx;
	for (size_t i = g->ninputs; i-- > 0;)
		if (!strcmp(g->inputs[i].name, name))
			return g->inputs[i].value;
	if (!strcmp(name, "query"))
		return g->query;
	const struct wf_input *in = workflow_input(g->wf, name);
	return in ? in->def : NULL;
}

void route_facts_of_run(struct nodeset *g, struct route_facts *f, const char *prompt)
{
	route_facts_init(f, prompt);
	f->input = route_input;
	f->ctx = g;
}

const struct wf_model *route_choose_estimated(struct nodeset *g, const struct wf_node *n,
					      const char *prompt, double difficulty, long tokens,
					      const char **rule)
{
	struct route_facts f;
	route_facts_of_run(g, &f, prompt);
	f.difficulty = difficulty;
	f.tokens = tokens;
	int i = route_pick_facts(n, &f, g->arena, rule);
	return i >= 0 ? n->routes[i].to : n->route_default;
}

const struct wf_model *route_choose(struct nodeset *g, const struct wf_node *n,
				    const char *prompt, const char **rule)
{
	return route_choose_estimated(g, n, prompt, -1, -1, rule);
}

/* ---- the end: the chosen model answers, or an ask route did ---- */

static void report_choice(struct nodeset *g, struct node_state *ns, const char *rule,
			  const struct wf_model *m)
{
	struct routing *st = ns->kstate;
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "\"route\":{\"rule\":");
	buf_put_json_str(&b, rule);
	buf_puts(&b, ",\"model\":");
	buf_put_json_str(&b, m ? m->id : NULL);
	if (st->ndeclined) {
		buf_puts(&b, ",\"declined\":[");
		for (size_t i = 0; i < st->ndeclined; i++) {
			buf_puts(&b, i ? "," : "");
			buf_put_json_str(&b, st->declined[i]);
		}
		buf_putc(&b, ']');
	}
	buf_putc(&b, '}');
	ns->report_json = node_keep(g, &b);
	buf_release(&b);
	trace_event(g->trace, "route", "\"node\":\"%s\",\"rule\":\"%s\",\"model\":\"%s\"",
		    trace_str(g->arena, ns->node->id), trace_str(g->arena, rule),
		    trace_str(g->arena, m ? m->id : ""));
}

static void take(struct nodeset *g, struct node_state *ns, const char *rule,
		 const struct wf_model *m)
{
	struct routing *st = ns->kstate;
	report_choice(g, ns, rule, m);
	if (!m)
		node_fail(g, ns, "internal", "no route matched and there is no default");
	else if (!node_call(g, ns, m, st->system, st->prompt, TAG_ANSWER, NULL))
		node_fail(g, ns, "internal", "out of memory");
}

static void finish_with(struct nodeset *g, struct node_state *ns, const char *text,
			const char *model)
{
	const char **t = arena_alloc(g->arena, sizeof(*t));
	const char **m = arena_alloc(g->arena, sizeof(*m));
	if (t && m) {
		*t = text;
		*m = model;
		node_set_candidates(ns, t, m, 1);
	}
	ns->output = text;
	node_finish(g, ns, NS_OK, NULL);
}

/* ---- the walk ---- */

static void route_step(struct nodeset *g, struct node_state *ns);

/* An ask route: the instruction to decline goes with the node's system
 * prompt, so the model sees it whatever the user's prompt says. */
const char *route_ask_system(struct arena *a, const char *system, const char *decline)
{
	return arena_printf(a, "%s%sAnswer the user's request if you can answer it correctly. "
			    "If you cannot (it is beyond what you know or can do reliably), "
			    "reply with exactly %s and nothing else.", system ? system : "",
			    system ? "\n\n" : "", decline);
}

static void ask(struct nodeset *g, struct node_state *ns, const struct wf_route *r)
{
	struct routing *st = ns->kstate;
	const char *system = route_ask_system(g->arena, st->system, r->decline);
	if (!system || !node_call(g, ns, r->ask, system, st->prompt, TAG_ASK, "ask"))
		node_fail(g, ns, "internal", "out of memory");
}

/* The semantic examples of every route, in route order: one request. */
static const char **all_examples(struct nodeset *g, const struct wf_node *n, size_t *count)
{
	size_t total = 0;
	for (size_t i = 0; i < n->nroutes; i++)
		if (n->routes[i].when.semantic)
			total += n->routes[i].when.semantic->nexamples;
	const char **v = total ? arena_alloc(g->arena, total * sizeof(*v)) : NULL;
	*count = 0;
	for (size_t i = 0; v && i < n->nroutes; i++) {
		const struct wf_semantic *s = n->routes[i].when.semantic;
		for (size_t k = 0; s && k < s->nexamples; k++)
			v[(*count)++] = s->examples[k];
	}
	return v;
}

/* Points each semantic route at its slice of the examples' vectors. */
static void set_examples(struct routing *st, const struct wf_node *n, const float *v,
			 size_t dim)
{
	size_t at = 0;
	st->examples_dim = dim;
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct wf_semantic *s = n->routes[i].when.semantic;
		if (!s)
			continue;
		st->examples[i] = v + at * dim;
		at += s->nexamples;
	}
}

/* The engine's key for the examples: the embeddings model's identity and
 * every example, so two workflows with the same routes share them. */
static void examples_key(struct nodeset *g, const struct wf_node *n, unsigned char *key)
{
	struct sha256 h;
	sha256_init(&h);
	const char *ident = g->calls->models[n->embed->idx]->ident;
	sha256_update(&h, ident, strlen(ident) + 1);
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct wf_semantic *s = n->routes[i].when.semantic;
		for (size_t k = 0; s && k < s->nexamples; k++)
			sha256_update(&h, s->examples[k], strlen(s->examples[k]) + 1);
	}
	sha256_final(&h, key);
}

/* Fetches what semantic and score conditions need: the prompt's vector,
 * and the examples' unless the engine has them. */
static void fetch_vectors(struct nodeset *g, struct node_state *ns)
{
	struct routing *st = ns->kstate;
	const struct wf_node *n = ns->node;
	st->vectors_asked = 1;
	const char **prompt = arena_alloc(g->arena, sizeof(*prompt));
	if (!prompt) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	*prompt = st->prompt;
	size_t count = 0, have_n = 0, have_dim = 0;
	const char **ex = all_examples(g, n, &count);
	examples_key(g, n, st->examples_key);
	const float *have = count ? pool_vectors_get(g->calls->pool, st->examples_key, &have_n,
						     &have_dim) : NULL;
	if (have && have_n == count)
		set_examples(st, n, have, have_dim);
	size_t chunks = count && !have ? (count + EXAMPLES_PER_CALL - 1) / EXAMPLES_PER_CALL : 0;
	st->nfetched = count;
	st->chunks_left = chunks;
	st->waiting = 1 + (int)chunks;
	int bad = !node_embed(g, ns, n->embed, prompt, 1, TAG_PROMPT_VECTOR);
	for (size_t k = 0; k < chunks && !bad; k++) {
		size_t from = k * EXAMPLES_PER_CALL, left = count - from;
		bad = !node_embed(g, ns, n->embed, ex + from,
				  left < EXAMPLES_PER_CALL ? left : EXAMPLES_PER_CALL,
				  TAG_EXAMPLES + (int)k);
	}
	if (bad)
		node_fail(g, ns, "internal", "out of memory");
}

static void route_step(struct nodeset *g, struct node_state *ns)
{
	struct routing *st = ns->kstate;
	const struct wf_node *n = ns->node;
	for (; st->next < n->nroutes; st->next++) {
		const struct wf_route *r = &n->routes[st->next];
		if (r->ask) {
			ask(g, ns, r);
			return;
		}
		char rule[256];
		enum route_test t = route_test(n, st->next, &st->f, rule, sizeof(rule));
		if (t == ROUTE_NEEDS_VECTOR) {
			fetch_vectors(g, ns);
			return;
		}
		if (t == ROUTE_YES) {
			take(g, ns, arena_printf(g->arena, "routes[%zu]: %s", st->next,
						 rule[0] ? rule : "always"), r->to);
			return;
		}
	}
	take(g, ns, "default", n->route_default);
}

static void route_start(struct nodeset *g, struct node_state *ns)
{
	const char *err = NULL;
	const struct wf_node *n = ns->node;
	struct routing *st = arena_alloc(g->arena, sizeof(*st));
	size_t nr = n->nroutes ? n->nroutes : 1;
	if (!st || !(st->examples = arena_alloc(g->arena, nr * sizeof(*st->examples))) ||
	    !(st->scores = arena_alloc(g->arena, nr * sizeof(*st->scores))) ||
	    !(st->declined = arena_alloc(g->arena, nr * sizeof(*st->declined)))) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	ns->kstate = st;
	st->prompt = node_question(g, ns, &err);
	st->system = node_render(g, n->system, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	for (size_t i = 0; i < nr; i++)
		st->scores[i] = NAN;
	route_facts_init(&st->f, st->prompt);
	st->f.input = route_input;
	st->f.ctx = g;
	st->f.examples = st->examples;
	st->f.scores = st->scores;
	route_step(g, ns);
}

/* ---- what came back ---- */

/* The learned scores of the prompt, for every score route. A router of
 * vectors of another size cannot score this one: that route cannot hold,
 * and the report says why. */
static void score_routes(struct nodeset *g, struct node_state *ns, const float *v,
			 size_t dim)
{
	struct routing *st = ns->kstate;
	const struct wf_node *n = ns->node;
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct wf_score *s = n->routes[i].when.score;
		if (s && s->scorer && s->scorer->dim == dim)
			st->scores[i] = scorer_score(s->scorer, v);
		else if (s && s->scorer)
			node_degrade(g, ns, arena_printf(g->arena, "routes[%zu]: the prompt's "
							 "embedding has %zu numbers, but router "
							 "file '%s' was trained on %zu, so the "
							 "score route could not hold", i, dim,
							 s->file, s->scorer->dim));
	}
}

/* The vectors of an embeddings call, or NULL (the why in the report). */
static const float *vectors_of(struct nodeset *g, struct node_state *ns, const struct call *c,
			       size_t want, size_t *dim)
{
	const struct response *resp = &c->resp;
	size_t n = 0;
	const float *v = resp->status == RESP_OK
		? embed_unpack(g->arena, resp->text, strlen(resp->text), &n, dim) : NULL;
	if (v && n == want)
		return v;
	node_degrade(g, ns, arena_printf(g->arena, "the %s embedding failed (%s), so no "
					 "semantic or score route could hold",
					 c->tag >= TAG_EXAMPLES ? "examples'" : "prompt's",
					 resp->status == RESP_OK ? "malformed vectors"
					 : resp->err_msg ? resp->err_msg : "no answer"));
	return NULL;
}

/* One chunk of the examples' vectors; the last one sets them up and
 * keeps them for the engine. */
static void got_examples(struct nodeset *g, struct node_state *ns, struct call *c)
{
	struct routing *st = ns->kstate;
	size_t dim = 0, from = (size_t)(c->tag - TAG_EXAMPLES) * EXAMPLES_PER_CALL;
	const float *v = st->examples_failed ? NULL : vectors_of(g, ns, c, c->ntexts, &dim);
	if (v && !st->fetched) {
		st->examples_dim = dim;
		st->fetched = arena_alloc(g->arena, st->nfetched * dim * sizeof(*st->fetched));
	}
	if (!v || !st->fetched || dim != st->examples_dim)
		st->examples_failed = 1;
	else
		memcpy(st->fetched + from * dim, v, c->ntexts * dim * sizeof(*v));
	if (--st->chunks_left || st->examples_failed)
		return;
	set_examples(st, ns->node, st->fetched, st->examples_dim);
	pool_vectors_put(g->calls->pool, st->examples_key, st->fetched, st->nfetched,
			 st->examples_dim);
}

static void got_vectors(struct nodeset *g, struct node_state *ns, struct call *c)
{
	struct routing *st = ns->kstate;
	const struct wf_node *n = ns->node;
	size_t dim = 0;
	if (c->tag == TAG_PROMPT_VECTOR) {
		const float *v = vectors_of(g, ns, c, 1, &dim);
		st->f.vec = v;
		st->f.dim = dim;
		st->f.vec_failed = !v;
		if (v)
			score_routes(g, ns, v, dim);
	} else {
		got_examples(g, ns, c);
	}
	if (--st->waiting > 0)
		return;
	/* Vectors of two sizes cannot be compared: no semantic route holds. */
	if (st->f.vec && st->examples_dim && st->examples_dim != st->f.dim) {
		memset(st->examples, 0, n->nroutes * sizeof(*st->examples));
		node_degrade(g, ns, "the prompt's and the examples' embeddings differ in size");
	}
	route_step(g, ns);
}

static void got_ask(struct nodeset *g, struct node_state *ns, struct call *c)
{
	struct routing *st = ns->kstate;
	const struct wf_route *r = &ns->node->routes[st->next];
	const struct response *resp = &c->resp;
	if (resp->status == RESP_OK && !strstr(resp->text, r->decline)) {
		report_choice(g, ns, arena_printf(g->arena, "routes[%zu]: ask (answered)",
						  st->next), r->ask);
		finish_with(g, ns, resp->text, resp->model);
		return;
	}
	if (resp->status == RESP_OK)
		st->declined[st->ndeclined++] = r->ask->id;
	else
		node_degrade(g, ns, arena_printf(g->arena, "routes[%zu]: '%s' could not be "
						 "asked (%s); the next route decided",
						 st->next, r->ask->id, resp->err_msg ? resp->err_msg
										: "no answer"));
	st->next++;
	route_step(g, ns);
}

static void route_call_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	const struct response *resp = &c->resp;
	if (ns->status != NS_RUNNING)
		return;
	switch (c->tag) {
	case TAG_ASK:
		got_ask(g, ns, c);
		return;
	case TAG_ANSWER:
		if (resp->status == RESP_OK)
			finish_with(g, ns, resp->text, resp->model);
		else
			node_finish(g, ns, NS_FAILED, "the routed call failed");
		return;
	default:
		got_vectors(g, ns, c);
	}
}

const struct kind kind_route = {route_start, route_call_done};
