/* dag/: judge, rank, moa, council, cascade, route and plan load into what
 * they say; moa and council expand into the nodes that run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/buf.h"
#include "util.h"

static struct workflow *load_fixture(const char *name)
{
	struct qdiags d;
	qdiags_init(&d, NULL);
	struct workflow *wf = workflow_load_file(fixture(name), NULL, &d);
	if (!wf)
		print_diags(&d);
	qdiags_release(&d);
	assert_non_null(wf);
	return wf;
}

static struct workflow *load_ok(const char *text)
{
	struct qdiags d;
	struct workflow *wf = load_text(text, &d);
	if (!wf)
		print_diags(&d);
	qdiags_release(&d);
	assert_non_null(wf);
	return wf;
}

static const struct wf_node *node(const struct workflow *wf, const char *id)
{
	const struct wf_node *n = workflow_node(wf, id);
	if (!n)
		fprintf(stderr, "no node '%s'\n", id);
	assert_non_null(n);
	return n;
}

static void assert_models(const struct wf_node *n, const char *const *ids, size_t k)
{
	assert_int_equal(n->nmodels, k);
	for (size_t i = 0; i < k; i++)
		assert_string_equal(n->models[i]->id, ids[i]);
}

static void assert_deps(const struct wf_node *n, const char *const *ids, size_t k)
{
	if (n->ndeps != k) {
		for (size_t i = 0; i < n->ndeps; i++)
			fprintf(stderr, "  dep %s\n", n->deps[i]->id);
	}
	assert_int_equal(n->ndeps, k);
	for (size_t i = 0; i < k; i++)
		assert_string_equal(n->deps[i]->id, ids[i]);
}

#define MODELS(n, ...) assert_models(n, (const char *const[]){__VA_ARGS__}, \
	sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))
#define DEPS(n, ...) assert_deps(n, (const char *const[]){__VA_ARGS__}, \
	sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail);
}

/* ---- moa ---- */

static void test_moa_three_layers(void **state)
{
	(void)state;
	struct workflow *wf = load_fixture("moa.yaml");
	static const char *const ids[] = {"brief", "mix.layer1", "mix.layer2", "mix.layer3",
					  "mix", "final"};
	assert_int_equal(wf->nnodes, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(wf->nodes[i]->id, ids[i]);
		assert_int_equal(wf->nodes[i]->idx, (int)i);
	}
	const char *user = "{{ nodes.brief.output }} {{ query }}";
	for (int k = 1; k <= 3; k++) {
		char id[32];
		snprintf(id, sizeof(id), "mix.layer%d", k);
		const struct wf_node *n = node(wf, id);
		assert_int_equal(n->kind, NK_GENERATE);
		assert_string_equal(n->group, "mix");
		MODELS(n, "gpt", "claude", "qwen");
		assert_int_equal(n->samples, 1);
		/* Where the moa node is written, with its settings. */
		assert_int_equal(n->line, 18);
		assert_int_equal(n->col, 3);
		assert_int_equal(n->timeout_ms, 120000);
		assert_true(n->cs.set & CS_TEMPERATURE);
		assert_float_equal(n->cs.temperature, 0.5, 0);
		assert_true(ends_with(tmpl_source(n->prompt), user));
	}
	const struct wf_node *l1 = node(wf, "mix.layer1"), *l2 = node(wf, "mix.layer2");
	const struct wf_node *l3 = node(wf, "mix.layer3");
	/* Round 1 gets the prompt as written, `needs` and all. */
	assert_string_equal(tmpl_source(l1->prompt), user);
	DEPS(l1, "brief");
	/* Later rounds see the previous round's answers, then the prompt. */
	assert_non_null(strstr(tmpl_source(l2->prompt), "Responses from models:\n\n"
			       "{{ nodes.mix.layer1.responses }}\n\n"));
	assert_non_null(strstr(tmpl_source(l2->prompt), "critically evaluate"));
	const struct tmpl_ref *r = tmpl_ref_get(l2->prompt, 0);
	assert_int_equal(r->kind, TREF_NODE_RESPONSES);
	assert_int_equal(r->node_idx, l1->idx);
	/* The user's references keep their place in the file. */
	r = tmpl_ref_get(l2->prompt, 1);
	assert_int_equal(r->kind, TREF_NODE_OUTPUT);
	assert_int_equal(r->node_idx, node(wf, "brief")->idx);
	assert_int_equal(r->line, 24);
	assert_int_equal(r->col, 14);
	DEPS(l2, "mix.layer1", "brief");
	assert_non_null(strstr(tmpl_source(l3->prompt), "{{ nodes.mix.layer2.responses }}"));
	DEPS(l3, "mix.layer2", "brief");
	assert_int_equal(l1->nfrom + l2->nfrom + l3->nfrom, 0);

	/* The aggregator keeps the id, so references to the moa get its answer. */
	const struct wf_node *mix = node(wf, "mix");
	assert_int_equal(mix->kind, NK_SYNTHESIZE);
	assert_string_equal(mix->group, "mix");
	assert_string_equal(mix->description, "Mixture-of-Agents over three models");
	MODELS(mix, "claude");
	assert_int_equal(mix->nfrom, 1);
	assert_ptr_equal(mix->from[0], l3);
	assert_string_equal(tmpl_source(mix->prompt), user);
	DEPS(mix, "mix.layer3", "brief");
	assert_int_equal(mix->timeout_ms, 120000);
	const struct wf_node *fin = node(wf, "final");
	assert_null(fin->group);
	DEPS(fin, "mix");
	assert_int_equal(tmpl_ref_get(fin->text, 0)->node_idx, mix->idx);
	assert_ptr_equal(wf->output, fin);
	assert_true(workflow_input(wf, "query")->required);
	workflow_free(wf);
}

static void test_moa_one_layer_and_defaults(void **state)
{
	(void)state;
	struct workflow *wf = load_ok("version: 1\n"
				      "nodes:\n"
				      "  m:\n"
				      "    kind: moa\n"
				      "    proposers: [ollama/a, ollama/b]\n"
				      "    layers: 1\n"
				      "    aggregator: ollama/c\n");
	assert_int_equal(wf->nnodes, 2);
	const struct wf_node *l1 = wf->nodes[0], *m = wf->nodes[1];
	assert_string_equal(l1->id, "m.layer1");
	assert_string_equal(m->id, "m");
	MODELS(l1, "ollama/a", "ollama/b");
	MODELS(m, "ollama/c");
	/* No prompt: every round and the aggregator get the query. */
	assert_string_equal(tmpl_source(l1->prompt), "{{ query }}");
	assert_string_equal(tmpl_source(m->prompt), "{{ query }}");
	assert_int_equal(l1->ndeps, 0);
	DEPS(m, "m.layer1");
	assert_ptr_equal(m->from[0], l1);
	assert_string_equal(l1->description, "round 1 of 1 of the proposers");
	assert_ptr_equal(wf->output, m);
	assert_true(workflow_input(wf, "query")->required);
	workflow_free(wf);

	/* layers defaults to 3. */
	wf = load_ok("version: 1\nnodes:\n  m: {kind: moa, proposers: ollama/a, "
		     "aggregator: ollama/a}\n");
	assert_int_equal(wf->nnodes, 4);
	assert_string_equal(wf->nodes[2]->id, "m.layer3");
	assert_int_equal(wf->nmodels, 1);
	workflow_free(wf);
}

static void test_moa_references_to_expanded_nodes(void **state)
{
	(void)state;
	/* A later node may read a round by its dotted id; `needs` on the moa
	 * orders its first round. */
	struct workflow *wf = load_ok(
		"version: 1\n"
		"nodes:\n"
		"  pre: {kind: template, text: x}\n"
		"  m: {kind: moa, proposers: [ollama/a], aggregator: ollama/a, layers: 2,"
		" needs: pre}\n"
		"  show: {kind: template, text: '{{ nodes.m.layer1.responses }} / "
		"{{ nodes.m.output }}'}\n");
	const struct wf_node *show = node(wf, "show");
	DEPS(show, "m.layer1", "m");
	assert_int_equal(tmpl_ref_get(show->text, 0)->kind, TREF_NODE_RESPONSES);
	assert_int_equal(tmpl_ref_get(show->text, 1)->node_idx, node(wf, "m")->idx);
	DEPS(node(wf, "m.layer1"), "pre");
	DEPS(node(wf, "m.layer2"), "m.layer1");
	assert_ptr_equal(wf->output, show);
	/* Every node after what it depends on. */
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->order[i];
		for (size_t j = 0; j < n->ndeps; j++) {
			size_t k = 0;
			while (wf->order[k] != n->deps[j])
				k++;
			assert_true(k < i);
		}
	}
	workflow_free(wf);
}

/* ---- council ---- */

static void test_council_expansion(void **state)
{
	(void)state;
	struct workflow *wf = load_fixture("council_kind.yaml");
	assert_int_equal(wf->nnodes, 3);
	const struct wf_node *ans = wf->nodes[0], *rev = wf->nodes[1], *c = wf->nodes[2];
	assert_string_equal(ans->id, "council.answers");
	assert_string_equal(rev->id, "council.review");
	assert_string_equal(c->id, "council");
	assert_int_equal(ans->kind, NK_GENERATE);
	assert_int_equal(rev->kind, NK_RANK);
	assert_int_equal(c->kind, NK_SYNTHESIZE);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(wf->nodes[i]->group, "council");
		assert_int_equal(wf->nodes[i]->cs.max_tokens, 800);
		assert_int_equal(wf->nodes[i]->line, 11);
	}
	MODELS(ans, "gpt", "claude", "gem");
	MODELS(rev, "gpt", "claude", "gem");
	MODELS(c, "claude");
	assert_string_equal(tmpl_source(ans->prompt), "Answer carefully: {{ query }}\n");
	assert_int_equal(ans->ndeps, 0);
	/* The members rank the answers. */
	DEPS(rev, "council.answers");
	assert_int_equal(rev->nfrom, 1);
	assert_ptr_equal(rev->from[0], ans);
	assert_null(rev->criteria);
	assert_null(rev->prompt);
	/* The chairman synthesizes the answers and sees the ranking. */
	assert_int_equal(c->nfrom, 1);
	assert_ptr_equal(c->from[0], ans);
	DEPS(c, "council.answers", "council.review");
	assert_string_equal(tmpl_source(c->prompt),
			    "Answer carefully: {{ query }}\n\n\n"
			    "Peer ranking of the answers: {{ nodes.council.review.output }}");
	const struct tmpl_ref *r = tmpl_ref_get(c->prompt, 1);
	assert_int_equal(r->kind, TREF_NODE_OUTPUT);
	assert_int_equal(r->node_idx, rev->idx);
	assert_ptr_equal(wf->output, c);
	workflow_free(wf);

	/* Default prompt: the query; a user template may read the review. */
	wf = load_ok("version: 1\n"
		     "nodes:\n"
		     "  c: {kind: council, members: [ollama/a, ollama/b], chairman: ollama/a,"
		     " needs: [z]}\n"
		     "  z: {kind: template, text: z}\n"
		     "  out: {kind: template, text: '{{ nodes.c.review.output }}: "
		     "{{ nodes.c.output }}'}\n");
	assert_string_equal(wf->nodes[0]->id, "c.answers");
	assert_string_equal(tmpl_source(wf->nodes[0]->prompt), "{{ query }}");
	DEPS(wf->nodes[0], "z");
	assert_string_equal(tmpl_source(node(wf, "c")->prompt),
			    "{{ query }}\n\nPeer ranking of the answers: "
			    "{{ nodes.c.review.output }}");
	DEPS(node(wf, "out"), "c.review", "c");
	workflow_free(wf);
}

/* ---- judge, rank, cascade, vote ---- */

static void test_cascade_judge_rank(void **state)
{
	(void)state;
	struct workflow *wf = load_fixture("cascade.yaml");
	const struct wf_node *n = node(wf, "checked");
	assert_int_equal(n->kind, NK_CASCADE);
	MODELS(n, "small", "mid", "big");
	assert_string_equal(tmpl_source(n->prompt), "{{ query }}");
	assert_int_equal(n->accept.kind, ACCEPT_SELF_CHECK);
	assert_float_equal(n->accept.threshold, 0.8, 1e-12);
	assert_int_equal(n->accept.samples, 5);
	assert_null(n->accept.judge);

	n = node(wf, "judged");
	assert_int_equal(n->accept.kind, ACCEPT_JUDGE);
	assert_float_equal(n->accept.threshold, 8.5, 1e-12);
	assert_ptr_equal(n->accept.judge, workflow_model(wf, "big"));
	assert_null(n->prompt);

	n = node(wf, "agreed");
	assert_int_equal(n->accept.kind, ACCEPT_AGREEMENT);
	assert_float_equal(n->accept.threshold, 0.75, 1e-12);
	assert_int_equal(n->accept.samples, 4);

	n = node(wf, "formatted");
	assert_int_equal(n->accept.kind, ACCEPT_REGEX);
	assert_string_equal(n->accept.pattern, "^Answer: \\d+$");
	size_t s, e;
	assert_int_equal(regex_search(n->accept.re, "Answer: 42", 10, 0, &s, &e), 1);
	assert_int_equal(regex_search(n->accept.re, "Answer: x", 9, 0, &s, &e), 0);

	/* No accept: self-check with the documented defaults. */
	n = node(wf, "defaults");
	assert_int_equal(n->accept.kind, ACCEPT_SELF_CHECK);
	assert_float_equal(n->accept.threshold, 0.7, 1e-12);
	assert_int_equal(n->accept.samples, 3);

	n = node(wf, "pick");
	assert_int_equal(n->kind, NK_JUDGE);
	MODELS(n, "mid", "big");
	assert_int_equal(n->nfrom, 5);
	DEPS(n, "checked", "judged", "agreed", "formatted", "defaults");
	assert_string_equal(n->criteria, "correctness, then brevity");
	assert_string_equal(tmpl_source(n->prompt), "Question: {{ query }}");
	assert_false(n->stop_when_decided);

	n = node(wf, "one");
	assert_int_equal(n->kind, NK_JUDGE);
	MODELS(n, "big");
	assert_null(n->criteria);
	assert_null(n->prompt);

	n = node(wf, "ranked");
	assert_int_equal(n->kind, NK_RANK);
	MODELS(n, "small", "mid");
	DEPS(n, "pick", "one");
	assert_int_equal(n->nfrom, 2);
	assert_string_equal(n->criteria, "helpfulness");

	n = node(wf, "count");
	assert_int_equal(n->kind, NK_VOTE);
	assert_true(n->stop_when_decided);
	assert_int_equal(n->extract.mode, EX_NUMBER);
	assert_ptr_equal(wf->output, node(wf, "ranked"));
	workflow_free(wf);

	/* The other defaults: a judge's score 7 of 10, agreement 0.67 of 3. */
	wf = load_ok("version: 1\n"
		     "nodes:\n"
		     "  a: {kind: cascade, models: [ollama/a], accept: {judge: {model: ollama/j}}}\n"
		     "  b: {kind: cascade, models: [ollama/a], accept: {agreement: ~}}\n"
		     "  c: {kind: cascade, models: [ollama/a], accept: {self_check: {}}}\n"
		     "  d: {kind: template, text: '{{ nodes.a.output }}{{ nodes.b.output }}"
		     "{{ nodes.c.output }}'}\n");
	assert_float_equal(node(wf, "a")->accept.threshold, 7, 0);
	assert_string_equal(node(wf, "a")->accept.judge->id, "ollama/j");
	assert_int_equal(node(wf, "b")->accept.kind, ACCEPT_AGREEMENT);
	assert_float_equal(node(wf, "b")->accept.threshold, 0.67, 1e-12);
	assert_int_equal(node(wf, "b")->accept.samples, 3);
	assert_int_equal(node(wf, "c")->accept.kind, ACCEPT_SELF_CHECK);
	assert_float_equal(node(wf, "c")->accept.threshold, 0.7, 1e-12);
	/* A cascade without a prompt sends the query. */
	assert_true(workflow_input(wf, "query")->required);
	workflow_free(wf);
}

/* ---- route ---- */

static void test_route(void **state)
{
	(void)state;
	struct workflow *wf = load_fixture("route.yaml");
	assert_true(workflow_model(wf, "local")->local);
	assert_true(workflow_model(wf, "local2")->local);
	assert_false(workflow_model(wf, "mini")->local);
	assert_false(workflow_model(wf, "big")->local);
	const struct wf_node *n = node(wf, "answer");
	assert_int_equal(n->kind, NK_ROUTE);
	assert_int_equal(n->nmodels, 0);
	assert_string_equal(tmpl_source(n->prompt), "{{ query }}");
	assert_ptr_equal(n->route_default, workflow_model(wf, "mini"));
	assert_int_equal(n->nroutes, 4);

	const struct wf_route *r = &n->routes[0];
	assert_ptr_equal(r->to, workflow_model(wf, "local"));
	assert_int_equal(r->when.contains_pii, 1);
	assert_int_equal(r->when.min_chars, -1);
	assert_int_equal(r->when.max_chars, -1);
	assert_null(r->when.re);
	assert_int_equal(r->when.ninputs, 0);
	assert_int_equal(r->line, 22);
	assert_int_equal(r->col, 9);
	assert_int_equal(r->when.line, 22);
	assert_int_equal(r->when.col, 15);

	r = &n->routes[1];
	assert_ptr_equal(r->to, workflow_model(wf, "big"));
	assert_string_equal(r->when.pattern, "(?i)\\b(prove|derive)\\b");
	size_t s, e;
	const char *text = "Please PROVE that";
	assert_int_equal(regex_search(r->when.re, text, strlen(text), 0, &s, &e), 1);
	assert_int_equal(regex_search(r->when.re, "improve", 7, 0, &s, &e), 0);
	assert_int_equal(r->when.min_chars, 20);
	assert_int_equal(r->when.max_chars, -1);
	assert_int_equal(r->when.contains_pii, -1);

	r = &n->routes[2];
	assert_ptr_equal(r->to, workflow_model(wf, "mini"));
	assert_int_equal(r->when.max_chars, 200);
	assert_int_equal(r->when.ninputs, 2);
	assert_string_equal(r->when.inputs[0].name, "tier");
	assert_string_equal(r->when.inputs[0].value, "free");
	assert_string_equal(r->when.inputs[1].name, "query");
	assert_string_equal(r->when.inputs[1].value, "hi");

	r = &n->routes[3];
	assert_int_equal(r->when.contains_pii, 0);
	assert_int_equal(r->when.min_chars, 0);
	workflow_free(wf);
}

static const char *no_env(const char *name)
{
	(void)name;
	return NULL;
}

static void test_keys_checked_for_every_model_called(void **state)
{
	(void)state;
	/* Route targets, the default, an accept judge and a plan's subtask
	 * models are called too: their keys are checked before the run. */
	struct workflow *wf = load_fixture("route.yaml");
	struct qdiags d;
	qdiags_init(&d, wf->file);
	const char *names[] = {"query"};
	assert_int_equal(workflow_check_run(wf, names, 1, 0, no_env, &d), -1);
	if (d.n != 2)
		print_diags(&d);
	assert_int_equal(d.n, 2);
	assert_true(has_diag(&d, 14, 3, "model 'mini' needs the environment variable "
			     "OPENAI_API_KEY, which is not set"));
	assert_true(has_diag(&d, 15, 3, "model 'big' needs the environment variable "
			     "OPENAI_API_KEY, which is not set"));
	qdiags_release(&d);
	workflow_free(wf);

	wf = load_ok("version: 1\n"
		     "models:\n"
		     "  j: {provider: anthropic, model: x}\n"
		     "  w: {provider: gemini, model: y}\n"
		     "nodes:\n"
		     "  a: {kind: cascade, models: [ollama/a], accept: {judge: {model: j}}}\n"
		     "  p: {kind: plan, model: ollama/p, run: {models: [w]}, needs: a}\n");
	qdiags_init(&d, wf->file);
	assert_int_equal(workflow_check_run(wf, names, 1, 0, no_env, &d), -1);
	assert_int_equal(d.n, 2);
	assert_true(has_diag(&d, 3, 3, "model 'j' needs the environment variable "
			     "ANTHROPIC_API_KEY, which is not set"));
	assert_true(has_diag(&d, 4, 3, "model 'w' needs the environment variable "
			     "GEMINI_API_KEY, which is not set"));
	qdiags_release(&d);
	workflow_free(wf);

	/* A route's embed and ask models and a bandit's reward judge are
	 * called too. */
	wf = load_ok("version: 1\n"
		     "models:\n"
		     "  emb: {provider: openai, model: e}\n"
		     "  small: {provider: anthropic, model: s}\n"
		     "  rater: {provider: gemini, model: r}\n"
		     "nodes:\n"
		     "  a:\n"
		     "    kind: route\n"
		     "    embed: emb\n"
		     "    routes:\n"
		     "      - {ask: small}\n"
		     "      - {when: {semantic: {examples: [x]}}, to: ollama/a}\n"
		     "    default: ollama/b\n"
		     "  b: {kind: bandit, arms: [ollama/a, ollama/b], reward: {judge: rater}, "
		     "state: /tmp/quorum-never.sqlite, needs: a}\n");
	qdiags_init(&d, wf->file);
	assert_int_equal(workflow_check_run(wf, names, 1, 0, no_env, &d), -1);
	if (d.n != 3)
		print_diags(&d);
	assert_int_equal(d.n, 3);
	assert_true(has_diag(&d, 3, 3, "model 'emb' needs the environment variable "
			     "OPENAI_API_KEY, which is not set"));
	assert_true(has_diag(&d, 4, 3, "model 'small' needs the environment variable "
			     "ANTHROPIC_API_KEY, which is not set"));
	assert_true(has_diag(&d, 5, 3, "model 'rater' needs the environment variable "
			     "GEMINI_API_KEY, which is not set"));
	qdiags_release(&d);
	workflow_free(wf);
}

/* ---- plan ---- */

static void test_plan(void **state)
{
	(void)state;
	struct workflow *wf = load_fixture("plan.yaml");
	const struct wf_node *n = node(wf, "split");
	assert_int_equal(n->kind, NK_PLAN);
	MODELS(n, "planner");
	assert_int_equal(n->max_subtasks, 5);
	assert_string_equal(tmpl_source(n->prompt), "Split this task: {{ query }}");
	/* The subtasks' templates make the plan depend on what they read. */
	DEPS(n, "context");
	const struct wf_node *run = n->run;
	assert_non_null(run);
	assert_null(run->id);
	assert_int_equal(run->idx, -1);
	assert_int_equal(run->kind, NK_GENERATE);
	assert_int_equal(run->ndeps, 0);
	MODELS(run, "worker");
	assert_int_equal(run->samples, 2);
	assert_int_equal(run->min_ok, 1);
	assert_true(run->cs.set & CS_TEMPERATURE);
	assert_float_equal(run->cs.temperature, 0.2, 0);
	assert_null(run->prompt);
	assert_string_equal(tmpl_source(run->system), "{{ nodes.context.output }}");
	assert_int_equal(tmpl_ref_get(run->system, 0)->node_idx, node(wf, "context")->idx);
	for (size_t i = 0; i < wf->nnodes; i++)
		assert_ptr_not_equal(wf->nodes[i], run);

	n = node(wf, "routed");
	assert_int_equal(n->max_subtasks, 8);
	assert_null(n->prompt);
	assert_int_equal(n->run->kind, NK_ROUTE);
	assert_int_equal(n->run->nroutes, 1);
	assert_ptr_equal(n->run->routes[0].to, workflow_model(wf, "local"));
	assert_int_equal(n->run->routes[0].when.contains_pii, 1);
	assert_ptr_equal(n->run->route_default, workflow_model(wf, "worker"));

	/* Without `run`, each subtask is a generate by the planner. */
	n = node(wf, "plain");
	assert_non_null(n->run);
	assert_int_equal(n->run->kind, NK_GENERATE);
	MODELS(n->run, "planner");
	assert_int_equal(n->run->samples, 1);
	assert_null(n->run->prompt);

	n = node(wf, "final");
	DEPS(n, "split", "routed", "plain");
	assert_ptr_equal(wf->output, n);
	workflow_free(wf);
}

static void test_every_kind_loads(void **state)
{
	(void)state;
	/* The smallest node of each kind of the contract. */
	static const struct {
		const char *node;
		enum node_kind kind;
	} cases[] = {
		{"{kind: generate, models: [ollama/m]}", NK_GENERATE},
		{"{kind: vote, from: s}", NK_VOTE},
		{"{kind: synthesize, from: s, model: ollama/m}", NK_SYNTHESIZE},
		{"{kind: template, text: t}", NK_TEMPLATE},
		{"{kind: judge, from: s, model: ollama/m}", NK_JUDGE},
		{"{kind: rank, from: s, models: [ollama/m]}", NK_RANK},
		{"{kind: moa, proposers: [ollama/m], aggregator: ollama/m}", NK_SYNTHESIZE},
		{"{kind: council, members: [ollama/m], chairman: ollama/m}", NK_SYNTHESIZE},
		{"{kind: cascade, models: [ollama/m]}", NK_CASCADE},
		{"{kind: route, routes: [{when: {min_chars: 1}, to: ollama/m}], "
		 "default: ollama/m}", NK_ROUTE},
		{"{kind: plan, model: ollama/m}", NK_PLAN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), "version: 1\nnodes:\n  s: {kind: template, "
			 "text: s}\n  x: %s\noutput: x\n", cases[i].node);
		struct workflow *wf = load_ok(text);
		assert_int_equal(node(wf, "x")->kind, cases[i].kind);
		workflow_free(wf);
	}
}

/* ---- graph ---- */

static void test_graph_of_expanded_moa(void **state)
{
	(void)state;
	struct workflow *wf = load_ok("version: 1\n"
				      "name: mix\n"
				      "nodes:\n"
				      "  m: {kind: moa, proposers: [ollama/a, ollama/b], layers: 2,"
				      " aggregator: ollama/c}\n"
				      "  r:\n"
				      "    kind: route\n"
				      "    prompt: '{{ nodes.m.output }}'\n"
				      "    routes: [{when: {max_chars: 9}, to: ollama/a}]\n"
				      "    default: ollama/c\n");
	struct buf b = BUF_INIT;
	assert_int_equal(workflow_graph(wf, "dot", &b), 0);
	assert_string_equal(buf_str(&b),
			    "digraph \"mix\" {\n"
			    "  rankdir=TB;\n"
			    "  node [shape=box];\n"
			    "  subgraph \"cluster_m\" {\n"
			    "    label=\"m\";\n"
			    "    \"m.layer1\" [label=\"m.layer1\\ngenerate\\nollama/a, ollama/b\"];\n"
			    "    \"m.layer2\" [label=\"m.layer2\\ngenerate\\nollama/a, ollama/b\"];\n"
			    "    \"m\" [label=\"m\\nsynthesize\\nollama/c\"];\n"
			    "  }\n"
			    "  \"r\" [label=\"r\\nroute\\nollama/a, ollama/c\", peripheries=2];\n"
			    "  \"m.layer1\" -> \"m.layer2\";\n"
			    "  \"m.layer2\" -> \"m\";\n"
			    "  \"m\" -> \"r\";\n"
			    "}\n");
	buf_reset(&b);
	assert_int_equal(workflow_graph(wf, "mermaid", &b), 0);
	assert_string_equal(buf_str(&b),
			    "flowchart TD\n"
			    "  subgraph g0[\"m\"]\n"
			    "    n0[\"m.layer1<br/>generate<br/>ollama/a, ollama/b\"]\n"
			    "    n1[\"m.layer2<br/>generate<br/>ollama/a, ollama/b\"]\n"
			    "    n2[\"m<br/>synthesize<br/>ollama/c\"]\n"
			    "  end\n"
			    "  n3[\"r<br/>route<br/>ollama/a, ollama/c\"]\n"
			    "  style n3 stroke-width:3px\n"
			    "  n0 --> n1\n"
			    "  n1 --> n2\n"
			    "  n2 --> n3\n");
	buf_release(&b);
	workflow_free(wf);

	/* The moa.yaml fixture: the group drawn where the moa is written. */
	wf = load_fixture("moa.yaml");
	assert_int_equal(workflow_graph(wf, "dot", &b), 0);
	const char *g = buf_str(&b);
	const char *brief = strstr(g, "  \"brief\" ["), *cl = strstr(g, "subgraph \"cluster_mix\"");
	const char *fin = strstr(g, "  \"final\" [");
	assert_true(brief && cl && fin && brief < cl && cl < fin);
	assert_non_null(strstr(g, "    \"mix\" [label=\"mix\\nsynthesize\\nclaude\"];\n"));
	assert_non_null(strstr(g, "  \"mix.layer3\" -> \"mix\";\n"));
	buf_release(&b);
	workflow_free(wf);
}

static void test_graph_labels_plan_and_cascade(void **state)
{
	(void)state;
	struct workflow *wf = load_ok("version: 1\n"
				      "nodes:\n"
				      "  c: {kind: cascade, models: [ollama/a, ollama/b],"
				      " accept: {judge: {model: ollama/a}}}\n"
				      "  p: {kind: plan, model: ollama/p, run: {models: [ollama/w]},"
				      " prompt: '{{ nodes.c.output }}'}\n");
	struct buf b = BUF_INIT;
	assert_int_equal(workflow_graph(wf, "mermaid", &b), 0);
	assert_string_equal(buf_str(&b),
			    "flowchart TD\n"
			    "  n0[\"c<br/>cascade<br/>ollama/a, ollama/b\"]\n"
			    "  n1[\"p<br/>plan<br/>ollama/p, ollama/w\"]\n"
			    "  style n1 stroke-width:3px\n"
			    "  n0 --> n1\n");
	buf_release(&b);
	workflow_free(wf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moa_three_layers),
		cmocka_unit_test(test_moa_one_layer_and_defaults),
		cmocka_unit_test(test_moa_references_to_expanded_nodes),
		cmocka_unit_test(test_council_expansion),
		cmocka_unit_test(test_cascade_judge_rank),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_keys_checked_for_every_model_called),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_every_kind_loads),
		cmocka_unit_test(test_graph_of_expanded_moa),
		cmocka_unit_test(test_graph_labels_plan_and_cascade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
