/* dag/: a workflow file with every key loads into what it says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static int setup_full(void **state)
{
	*state = load_fixture("full.yaml");
	return 0;
}

static int teardown_wf(void **state)
{
	workflow_free(*state);
	return 0;
}

static void test_top_level(void **state)
{
	const struct workflow *wf = *state;
	assert_string_equal(wf->name, "full");
	assert_string_equal(wf->description, "A workflow that writes every key once.");
	assert_true(wf->has_max_usd);
	assert_float_equal(wf->max_usd, 0.05, 1e-12);
	assert_true(wf->has_max_calls);
	assert_int_equal(wf->max_calls, 100);
	assert_non_null(wf->output);
	assert_string_equal(wf->output->id, "final");
	assert_non_null(strstr(wf->file, "full.yaml"));
}

static void test_inputs(void **state)
{
	const struct workflow *wf = *state;
	assert_int_equal(wf->ninputs, 3);
	const struct wf_input *q = workflow_input(wf, "query");
	assert_non_null(q);
	assert_true(q->required);
	assert_string_equal(q->description, "The question to answer");
	assert_int_equal(q->line, 7);
	assert_int_equal(q->col, 3);
	const struct wf_input *lang = workflow_input(wf, "lang");
	assert_false(lang->required);
	assert_string_equal(lang->def, "English");
	assert_string_equal(lang->description, "Answer language");
	assert_true(workflow_input(wf, "doc")->required);
	assert_null(workflow_input(wf, "nope"));
}

static void test_defaults(void **state)
{
	const struct workflow *wf = *state;
	const struct call_settings *cs = &wf->defaults;
	assert_int_equal(cs->timeout_ms, 45000);
	assert_int_equal(cs->first_token_ms, 10000);
	assert_int_equal(cs->idle_ms, 5000);
	assert_int_equal(cs->retries, 3);
	assert_float_equal(cs->temperature, 0.7, 1e-12);
	assert_int_equal(cs->max_tokens, 2048);
	assert_float_equal(cs->top_p, 0.9, 1e-12);
	assert_int_equal(cs->seed, 42);
	assert_int_equal(cs->nstop, 1);
	assert_string_equal(cs->stop[0], "\n\nEND");
	assert_int_equal(cs->stream, 0);
	assert_int_equal(cs->set, CS_TIMEOUT | CS_FIRST_TOKEN | CS_IDLE | CS_RETRIES |
					  CS_TEMPERATURE | CS_MAX_TOKENS | CS_TOP_P | CS_SEED |
					  CS_STOP | CS_STREAM);
}

static void test_declared_models(void **state)
{
	const struct workflow *wf = *state;
	const struct wf_model *gpt = workflow_model(wf, "gpt");
	assert_non_null(gpt);
	assert_string_equal(gpt->provider, "openai");
	assert_string_equal(gpt->model, "gpt-4o-mini");
	assert_string_equal(gpt->base_url, "https://api.openai.com/v1");
	assert_string_equal(gpt->api_key_env, "OPENAI_API_KEY");
	assert_true(gpt->price_known);
	assert_float_equal(gpt->price_in, 0.15, 1e-12);
	assert_float_equal(gpt->price_out, 0.60, 1e-12);
	assert_string_equal(gpt->params_json,
			    "{\"response_format\":{\"type\":\"text\"},\"logprobs\":false,"
			    "\"n\":1,\"tags\":[\"a\",\"b\"]}");
	assert_int_equal(gpt->cs.set, CS_TIMEOUT | CS_TEMPERATURE);
	assert_int_equal(gpt->cs.timeout_ms, 20000);
	assert_int_equal(gpt->max_concurrency, 4);
	assert_float_equal(gpt->rpm, 60, 0);
	assert_int_equal(gpt->nfallback, 1);
	assert_string_equal(gpt->fallback[0]->id, "claude");
	assert_false(gpt->is_inline);
	assert_int_equal(gpt->line, 26);
	assert_int_equal(gpt->col, 3);
	assert_ptr_equal(wf->models[gpt->idx], gpt);

	const struct wf_model *claude = workflow_model(wf, "claude");
	assert_string_equal(claude->base_url, "https://api.anthropic.com");
	assert_string_equal(claude->api_key_env, "ANTHROPIC_API_KEY");
	assert_int_equal(claude->cs.retries, 1);
	assert_int_equal(claude->cs.nstop, 1);
	assert_string_equal(claude->cs.stop[0], "STOP");
	assert_null(claude->params_json);

	const struct wf_model *local = workflow_model(wf, "local");
	assert_string_equal(local->base_url, "http://127.0.0.1:8080/v1");
	assert_string_equal(local->api_key_env, "");
	assert_int_equal(local->nfallback, 1);
	assert_string_equal(local->fallback[0]->id, "ollama/llama3.2");

	const struct wf_model *gem = workflow_model(wf, "gem");
	assert_string_equal(gem->base_url, "https://generativelanguage.googleapis.com");
	assert_string_equal(gem->api_key_env, "MY_GEMINI_KEY");
	assert_false(gem->price_known);
}

static void test_inline_models(void **state)
{
	const struct workflow *wf = *state;
	assert_int_equal(wf->nmodels, 6);
	const struct wf_model *o = workflow_model(wf, "openai/gpt-4o");
	assert_non_null(o);
	assert_true(o->is_inline);
	assert_string_equal(o->provider, "openai");
	assert_string_equal(o->model, "gpt-4o");
	assert_string_equal(o->base_url, "https://api.openai.com/v1");
	assert_string_equal(o->api_key_env, "OPENAI_API_KEY");
	assert_int_equal(o->line, 58);
	assert_int_equal(o->col, 34);
	const struct wf_model *l = workflow_model(wf, "ollama/llama3.2");
	assert_true(l->is_inline);
	assert_string_equal(l->provider, "ollama");
	assert_string_equal(l->model, "llama3.2");
	assert_string_equal(l->base_url, "http://127.0.0.1:11434");
	assert_string_equal(l->api_key_env, "");
	/* The same inline model named twice (node and weights) is one model. */
	const struct wf_node *pick = workflow_node(wf, "pick");
	assert_ptr_equal(workflow_model(wf, pick->weights[2].model), o);
}

static void test_generate_node(void **state)
{
	const struct workflow *wf = *state;
	const struct wf_node *n = workflow_node(wf, "answers");
	assert_int_equal(n->kind, NK_GENERATE);
	assert_int_equal(n->idx, 0);
	assert_int_equal(n->line, 55);
	assert_int_equal(n->col, 3);
	assert_string_equal(n->description, "Everyone answers");
	assert_int_equal(n->nmodels, 4);
	assert_string_equal(n->models[0]->id, "gpt");
	assert_string_equal(n->models[3]->id, "openai/gpt-4o");
	assert_int_equal(n->samples, 2);
	assert_int_equal(n->min_ok, 3);
	assert_int_equal(n->timeout_ms, 120000);
	assert_int_equal(n->cs.set, CS_TEMPERATURE | CS_MAX_TOKENS | CS_SEED);
	assert_string_equal(tmpl_source(n->prompt),
			    "Question: {{ query }}\nDocument: {{inputs.doc}}\n");
	assert_string_equal(tmpl_source(n->system), "Answer in {{ inputs.lang }}.");
	assert_int_equal(n->ndeps, 0);
	/* Block scalar: each line's references are placed in the file. */
	const struct tmpl_ref *r = tmpl_ref_get(n->prompt, 1);
	assert_int_equal(r->kind, TREF_INPUT);
	assert_string_equal(r->name, "doc");
	assert_int_equal(r->line, 62);
	assert_int_equal(r->col, 17);
}

static void test_vote_nodes(void **state)
{
	const struct workflow *wf = *state;
	const struct wf_node *pick = workflow_node(wf, "pick");
	assert_int_equal(pick->kind, NK_VOTE);
	assert_int_equal(pick->extract.mode, EX_REGEX);
	assert_non_null(pick->extract.re);
	assert_int_equal(regex_groups(pick->extract.re), 1);
	size_t s, e;
	const char *text = "so... Answer:  Paris";
	assert_int_equal(regex_search(pick->extract.re, text, strlen(text), 1, &s, &e), 1);
	assert_int_equal(e - s, 5);
	assert_int_equal(pick->nweights, 3);
	assert_string_equal(pick->weights[0].model, "gpt");
	assert_float_equal(pick->weights[0].weight, 2, 0);
	assert_float_equal(pick->weights[1].weight, 1.5, 0);
	assert_float_equal(pick->min_agreement, 0.6, 1e-12);
	assert_int_equal(pick->nfrom, 1);
	assert_string_equal(pick->from[0]->id, "answers");
	assert_int_equal(pick->ndeps, 1);

	const struct wf_node *num = workflow_node(wf, "numbers");
	assert_int_equal(num->extract.mode, EX_JSON);
	assert_string_equal(num->extract.field, "result.value");
	assert_float_equal(num->min_agreement, 0.5, 0);
	assert_int_equal(num->nweights, 0);
}

static void test_template_and_synthesize(void **state)
{
	const struct workflow *wf = *state;
	const struct wf_node *sum = workflow_node(wf, "summary");
	assert_int_equal(sum->kind, NK_TEMPLATE);
	assert_int_equal(sum->ndeps, 2);
	assert_string_equal(sum->deps[0]->id, "pick");
	assert_string_equal(sum->deps[1]->id, "numbers");
	assert_int_equal(tmpl_nrefs(sum->text), 2);
	const struct tmpl_ref *r = tmpl_ref_get(sum->text, 1);
	assert_int_equal(r->node_idx, workflow_node(wf, "numbers")->idx);
	assert_int_equal(r->line, 81);
	assert_int_equal(r->col, 44);

	const struct wf_node *fin = workflow_node(wf, "final");
	assert_int_equal(fin->kind, NK_SYNTHESIZE);
	assert_int_equal(fin->nmodels, 1);
	assert_string_equal(fin->models[0]->id, "gem");
	/* needs, from, then template references: each once, first mention. */
	assert_int_equal(fin->ndeps, 3);
	assert_string_equal(fin->deps[0]->id, "summary");
	assert_string_equal(fin->deps[1]->id, "answers");
	assert_string_equal(fin->deps[2]->id, "pick");
	assert_int_equal(fin->nfrom, 2);
	assert_string_equal(fin->from[0]->id, "answers");
	assert_string_equal(fin->from[1]->id, "pick");
	assert_string_equal(tmpl_source(fin->system), "Merge these.");
	r = tmpl_ref_get(fin->prompt, 2);
	assert_int_equal(r->kind, TREF_NODE_RESPONSES);
	assert_int_equal(r->node_idx, 0);
	assert_int_equal(r->line, 91);
	assert_int_equal(r->col, 12);
}

static void test_order(void **state)
{
	const struct workflow *wf = *state;
	/* Every node comes after all it depends on. */
	int pos[16];
	for (size_t i = 0; i < wf->nnodes; i++)
		pos[wf->order[i]->idx] = (int)i;
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		for (size_t j = 0; j < n->ndeps; j++)
			assert_true(pos[n->deps[j]->idx] < pos[n->idx]);
	}
	assert_ptr_equal(wf->order[wf->nnodes - 1], wf->output);
}

static void test_call_settings_merge(void **state)
{
	const struct workflow *wf = *state;
	const struct wf_node *ans = workflow_node(wf, "answers");
	struct call_settings cs;
	/* builtin <- defaults <- model gpt <- node answers */
	workflow_call_settings(wf, ans, workflow_model(wf, "gpt"), &cs);
	assert_int_equal(cs.timeout_ms, 20000);
	assert_int_equal(cs.first_token_ms, 10000);
	assert_int_equal(cs.idle_ms, 5000);
	assert_int_equal(cs.retries, 3);
	assert_float_equal(cs.temperature, 1.0, 0);
	assert_int_equal(cs.max_tokens, 512);
	assert_float_equal(cs.top_p, 0.9, 1e-12);
	assert_int_equal(cs.seed, 7);
	assert_string_equal(cs.stop[0], "\n\nEND");
	assert_int_equal(cs.stream, 0);
	assert_true(cs.set & CS_TEMPERATURE);

	workflow_call_settings(wf, ans, workflow_model(wf, "claude"), &cs);
	assert_int_equal(cs.timeout_ms, 45000);
	assert_int_equal(cs.retries, 1);
	assert_string_equal(cs.stop[0], "STOP");

	const struct wf_node *fin = workflow_node(wf, "final");
	workflow_call_settings(wf, fin, fin->models[0], &cs);
	assert_int_equal(cs.retries, 0);
	assert_int_equal(cs.stream, 1);
	assert_int_equal(cs.idle_ms, 1000);
	assert_int_equal(cs.max_tokens, 2048);
}

static void test_builtin_settings(void **state)
{
	(void)state;
	struct call_settings b;
	call_settings_builtin(&b);
	assert_int_equal(b.timeout_ms, 60000);
	assert_int_equal(b.first_token_ms, 60000);
	assert_int_equal(b.idle_ms, 60000);
	assert_int_equal(b.retries, 2);
	assert_int_equal(b.max_tokens, 1024);
	assert_int_equal(b.stream, 1);
	assert_int_equal(b.set, 0);

	/* A timeout written on a model also bounds the first token and the
	 * idle time, unless those are written. */
	struct qdiags d;
	struct workflow *wf = load_text("version: 1\n"
					"models:\n"
					"  m: {provider: ollama, model: x, timeout: 20s}\n"
					"nodes:\n"
					"  a: {kind: generate, models: [m, ollama/y]}\n",
					&d);
	assert_non_null(wf);
	struct call_settings cs;
	workflow_call_settings(wf, wf->nodes[0], workflow_model(wf, "m"), &cs);
	assert_int_equal(cs.timeout_ms, 20000);
	assert_int_equal(cs.first_token_ms, 20000);
	assert_int_equal(cs.idle_ms, 20000);
	assert_int_equal(cs.retries, 2);
	assert_int_equal(cs.set, CS_TIMEOUT);
	workflow_call_settings(wf, wf->nodes[0], workflow_model(wf, "ollama/y"), &cs);
	assert_int_equal(cs.timeout_ms, 60000);
	assert_int_equal(cs.set, 0);
	assert_int_equal(wf->defaults.first_token_ms, 60000);

	struct call_settings dst, src = {0};
	call_settings_builtin(&dst);
	src.set = CS_SEED;
	src.seed = 9;
	src.retries = 77; /* not set: must not be copied */
	call_settings_apply(&dst, &src);
	assert_int_equal(dst.seed, 9);
	assert_int_equal(dst.retries, 2);
	assert_int_equal(dst.set, CS_SEED);
	workflow_free(wf);
	qdiags_release(&d);
}

static void test_council_output_inferred(void **state)
{
	(void)state;
	struct workflow *wf = load_fixture("council_like.yaml");
	assert_string_equal(wf->name, "council");
	assert_string_equal(wf->output->id, "final");
	assert_int_equal(wf->nmodels, 3);
	assert_false(wf->has_max_usd);
	assert_false(wf->has_max_calls);
	workflow_free(wf);
}

static void test_name_from_stem_and_defaults(void **state)
{
	(void)state;
	struct qdiags d;
	qdiags_init(&d, NULL);
	const char *text = "version: 1\nnodes:\n  only: {kind: template, text: hi}\n";
	struct workflow *wf = workflow_load_string("some/dir/my-flow.v2.yaml", text,
						   strlen(text), NULL, &d);
	assert_non_null(wf);
	assert_string_equal(wf->name, "my-flow.v2");
	assert_string_equal(wf->output->id, "only");
	assert_null(wf->description);
	assert_int_equal(wf->nmodels, 0);
	/* query always exists; unused, it is not required. */
	assert_int_equal(wf->ninputs, 1);
	assert_string_equal(wf->inputs[0].name, "query");
	assert_int_equal(wf->inputs[0].required, 0);
	assert_int_equal(wf->inputs[0].line, 0);
	assert_int_equal(wf->defaults.retries, 2);
	assert_int_equal(wf->defaults.set, 0);
	workflow_free(wf);
	qdiags_release(&d);
}

static void test_query_required_when_used(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int required;
	} cases[] = {
		{"version: 1\nnodes: {a: {kind: template, text: '{{ query }}'}}\n", 1},
		{"version: 1\nnodes: {a: {kind: generate, models: [ollama/x]}}\n", 1},
		{"version: 1\nnodes: {a: {kind: generate, models: [ollama/x], prompt: hi}}\n", 0},
		{"version: 1\ninputs: {query: {required: false}}\n"
		 "nodes: {a: {kind: template, text: '{{ query }}'}}\n", 0},
		{"version: 1\ninputs: {query: {default: why?}}\n"
		 "nodes: {a: {kind: template, text: '{{ query }}'}}\n", 0},
		{"version: 1\ninputs: {query: {required: true}}\n"
		 "nodes: {a: {kind: template, text: hi}}\n", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qdiags d;
		struct workflow *wf = load_text(cases[i].text, &d);
		assert_non_null(wf);
		assert_int_equal(workflow_input(wf, "query")->required, cases[i].required);
		workflow_free(wf);
		qdiags_release(&d);
	}
}

static void test_inline_model_once(void **state)
{
	(void)state;
	struct qdiags d;
	struct workflow *wf = load_text("version: 1\n"
					"nodes:\n"
					"  a: {kind: generate, models: [anthropic/claude-x]}\n"
					"  b: {kind: generate, models: [anthropic/claude-x, gemini/g]}\n"
					"  c: {kind: synthesize, from: [a, b], model: anthropic/claude-x}\n",
					&d);
	assert_non_null(wf);
	assert_int_equal(wf->nmodels, 2);
	const struct wf_model *m = workflow_model(wf, "anthropic/claude-x");
	assert_int_equal(m->line, 3);
	assert_int_equal(m->col, 32);
	assert_string_equal(m->model, "claude-x");
	assert_ptr_equal(wf->nodes[1]->models[0], m);
	assert_ptr_equal(wf->nodes[2]->models[0], m);
	assert_string_equal(workflow_model(wf, "gemini/g")->api_key_env, "GEMINI_API_KEY");
	workflow_free(wf);
	qdiags_release(&d);
}

static void test_anchors_merge_and_x_keys(void **state)
{
	(void)state;
	struct qdiags d;
	struct workflow *wf = load_text("version: 1\n"
					"x-base: &base {provider: openai, model: m, retries: 5}\n"
					"models:\n"
					"  a:\n"
					"    <<: *base\n"
					"    model: other\n"
					"  b: {<<: [*base, {rpm: 3}], retries: 1}\n"
					"nodes:\n"
					"  n: {kind: generate, models: [a, b], x-note: free}\n",
					&d);
	if (!wf)
		print_diags(&d);
	assert_non_null(wf);
	const struct wf_model *a = workflow_model(wf, "a"), *b = workflow_model(wf, "b");
	assert_string_equal(a->model, "other");
	assert_string_equal(a->provider, "openai");
	assert_int_equal(a->cs.retries, 5);
	assert_string_equal(b->model, "m");
	assert_int_equal(b->cs.retries, 1);
	assert_float_equal(b->rpm, 3, 0);
	workflow_free(wf);
	qdiags_release(&d);
}

static void test_params_typing(void **state)
{
	(void)state;
	struct qdiags d;
	struct workflow *wf = load_text(
		"version: 1\n"
		"models:\n"
		"  m:\n"
		"    provider: ollama\n"
		"    model: x\n"
		"    params: {a: 9007199254740993, b: '12', c: 1.5, d: ~, e: yes, f: 0x10,\n"
		"             g: \"t\\\"q\", h: {i: [true, null]}}\n"
		"nodes: {n: {kind: generate, models: [m]}}\n",
		&d);
	assert_non_null(wf);
	assert_string_equal(workflow_model(wf, "m")->params_json,
			    "{\"a\":9007199254740993,\"b\":\"12\",\"c\":1.5,\"d\":null,"
			    "\"e\":\"yes\",\"f\":16,\"g\":\"t\\\"q\",\"h\":{\"i\":[true,null]}}");
	workflow_free(wf);
	qdiags_release(&d);
}

static void test_graph(void **state)
{
	(void)state;
	struct workflow *wf = load_fixture("council_like.yaml");
	struct buf b = BUF_INIT;
	assert_int_equal(workflow_graph(wf, "dot", &b), 0);
	assert_string_equal(buf_str(&b),
			    "digraph \"council\" {\n"
			    "  rankdir=TB;\n"
			    "  node [shape=box];\n"
			    "  labelloc=t;\n"
			    "  label=\"Three models answer, a chairman writes the answer.\";\n"
			    "  \"answers\" [label=\"answers\\ngenerate\\ngpt, claude, local\"];\n"
			    "  \"final\" [label=\"final\\nsynthesize\\nclaude\", peripheries=2];\n"
			    "  \"answers\" -> \"final\";\n"
			    "}\n");
	buf_reset(&b);
	assert_int_equal(workflow_graph(wf, "mermaid", &b), 0);
	assert_string_equal(buf_str(&b),
			    "---\n"
			    "title: \"Three models answer, a chairman writes the answer.\"\n"
			    "---\n"
			    "flowchart TD\n"
			    "  n0[\"answers<br/>generate<br/>gpt, claude, local\"]\n"
			    "  n1[\"final<br/>synthesize<br/>claude\"]\n"
			    "  style n1 stroke-width:3px\n"
			    "  n0 --> n1\n");
	buf_reset(&b);
	assert_int_equal(workflow_graph(wf, "svg", &b), -1);
	assert_int_equal(workflow_graph(wf, NULL, &b), -1);
	buf_release(&b);
	workflow_free(wf);
}

static void test_graph_groups_and_escaping(void **state)
{
	(void)state;
	struct qdiags d;
	struct workflow *wf = load_text("version: 1\n"
					"name: 'say \"hi\"'\n"
					"nodes:\n"
					"  p1: {kind: generate, models: [ollama/a<b>]}\n"
					"  p2: {kind: generate, models: [ollama/c]}\n"
					"  agg: {kind: synthesize, from: [p1, p2], model: ollama/c}\n",
					&d);
	assert_non_null(wf);
	/* What moa/council expansion will set: the nodes it came from. */
	wf->nodes[0]->group = "moa1";
	wf->nodes[1]->group = "moa1";
	struct buf b = BUF_INIT;
	assert_int_equal(workflow_graph(wf, "dot", &b), 0);
	assert_string_equal(buf_str(&b),
			    "digraph \"say \\\"hi\\\"\" {\n"
			    "  rankdir=TB;\n"
			    "  node [shape=box];\n"
			    "  subgraph \"cluster_moa1\" {\n"
			    "    label=\"moa1\";\n"
			    "    \"p1\" [label=\"p1\\ngenerate\\nollama/a<b>\"];\n"
			    "    \"p2\" [label=\"p2\\ngenerate\\nollama/c\"];\n"
			    "  }\n"
			    "  \"agg\" [label=\"agg\\nsynthesize\\nollama/c\", peripheries=2];\n"
			    "  \"p1\" -> \"agg\";\n"
			    "  \"p2\" -> \"agg\";\n"
			    "}\n");
	buf_reset(&b);
	assert_int_equal(workflow_graph(wf, "mermaid", &b), 0);
	assert_string_equal(buf_str(&b),
			    "flowchart TD\n"
			    "  subgraph g0[\"moa1\"]\n"
			    "    n0[\"p1<br/>generate<br/>ollama/a#lt;b#gt;\"]\n"
			    "    n1[\"p2<br/>generate<br/>ollama/c\"]\n"
			    "  end\n"
			    "  n2[\"agg<br/>synthesize<br/>ollama/c\"]\n"
			    "  style n2 stroke-width:3px\n"
			    "  n0 --> n2\n"
			    "  n1 --> n2\n");
	buf_release(&b);
	workflow_free(wf);
	qdiags_release(&d);
}

static const char *fake_env(const char *name)
{
	return !strcmp(name, "OPENAI_API_KEY") ? "sk-test" : !strcmp(name, "EMPTY") ? "" : NULL;
}

static void test_check_run(void **state)
{
	(void)state;
	struct workflow *wf = load_fixture("full.yaml");
	struct qdiags d;
	qdiags_init(&d, wf->file);
	/* doc missing; query given; claude (gpt's fallback) and gem lack
	 * keys; local and the ollama fallback need none. */
	const char *names[] = {"lang"};
	assert_int_equal(workflow_check_run(wf, names, 1, 1, fake_env, &d), -1);
	if (d.n != 3)
		print_diags(&d);
	assert_int_equal(d.n, 3);
	assert_true(has_diag(&d, 11, 3, "missing required input 'doc' (give it with "
			     "--input doc=VALUE)"));
	assert_true(has_diag(&d, 36, 3, "model 'claude' needs the environment variable "
			     "ANTHROPIC_API_KEY, which is not set"));
	assert_true(has_diag(&d, 49, 3, "model 'gem' needs the environment variable "
			     "MY_GEMINI_KEY, which is not set"));
	qdiags_release(&d);

	qdiags_init(&d, wf->file);
	const char *all[] = {"doc", "query"};
	assert_int_equal(workflow_check_run(wf, all, 2, 0, fake_env, &d), -1);
	assert_int_equal(d.n, 2);
	qdiags_release(&d);
	workflow_free(wf);

	/* Only models a node may call are checked; "" sends no key; an empty
	 * variable is no key either, and said to be empty; the query has no
	 * line when implicit. */
	struct qdiags ld;
	wf = load_text("version: 1\n"
		       "models:\n"
		       "  unused: {provider: anthropic, model: x}\n"
		       "  used: {provider: anthropic, model: y, api_key_env: EMPTY}\n"
		       "  nokey: {provider: anthropic, model: z, api_key_env: ''}\n"
		       "nodes:\n"
		       "  a: {kind: generate, models: [used, nokey]}\n",
		       &ld);
	assert_non_null(wf);
	qdiags_init(&d, "wf.yaml");
	assert_int_equal(workflow_check_run(wf, NULL, 0, 0, fake_env, &d), -1);
	if (d.n != 2)
		print_diags(&d);
	assert_int_equal(d.n, 2);
	assert_true(has_diag(&d, 0, 0, "missing required input 'query' (give it after the "
			     "file name or with --input query=VALUE)"));
	assert_true(has_diag(&d, 4, 3, "model 'used' needs the environment variable EMPTY, "
			     "which is set but empty (put the API key in it, or write "
			     "api_key_env: \"\" for a server that takes none)"));
	qdiags_release(&d);
	qdiags_release(&ld);
	workflow_free(wf);
}

static void test_load_file_errors(void **state)
{
	(void)state;
	struct qdiags d;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_file("/nonexistent/x.yaml", NULL, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].msg, "cannot open the file: No such file or directory");
	assert_string_equal(d.file, "/nonexistent/x.yaml");
	char line[256];
	qdiags_format(&d, 0, line, sizeof(line));
	assert_string_equal(line, "/nonexistent/x.yaml: cannot open the file: No such file "
			    "or directory");
	qdiags_release(&d);

	qdiags_init(&d, NULL);
	assert_null(workflow_load_file(getenv("QUORUM_FIXTURES") ? getenv("QUORUM_FIXTURES")
								  : "/", NULL, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].msg, "cannot read the file: Is a directory");
	qdiags_release(&d);

	struct load_limits lim;
	load_limits_default(&lim);
	assert_int_equal(lim.max_file_bytes, 4 << 20);
	assert_int_equal(lim.max_yaml_nodes, 100000);
	assert_int_equal(lim.max_depth, 64);
	assert_int_equal(lim.max_nodes, 10000);
	lim.max_file_bytes = 100;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_file(fixture("full.yaml"), &lim, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].msg, "the file is larger than the file_bytes limit (100 bytes)");
	qdiags_release(&d);
	workflow_free(NULL);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(node_kind_name(NK_GENERATE), "generate");
	assert_string_equal(node_kind_name(NK_VOTE), "vote");
	assert_string_equal(node_kind_name(NK_SYNTHESIZE), "synthesize");
	assert_string_equal(node_kind_name(NK_TEMPLATE), "template");
	assert_string_equal(node_kind_name(NK_JUDGE), "judge");
	assert_string_equal(node_kind_name(NK_PLAN), "plan");
	assert_string_equal(node_kind_name(NK__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_top_level, setup_full, teardown_wf),
		cmocka_unit_test_setup_teardown(test_inputs, setup_full, teardown_wf),
		cmocka_unit_test_setup_teardown(test_defaults, setup_full, teardown_wf),
		cmocka_unit_test_setup_teardown(test_declared_models, setup_full, teardown_wf),
		cmocka_unit_test_setup_teardown(test_inline_models, setup_full, teardown_wf),
		cmocka_unit_test_setup_teardown(test_generate_node, setup_full, teardown_wf),
		cmocka_unit_test_setup_teardown(test_vote_nodes, setup_full, teardown_wf),
		cmocka_unit_test_setup_teardown(test_template_and_synthesize, setup_full,
						teardown_wf),
		cmocka_unit_test_setup_teardown(test_order, setup_full, teardown_wf),
		cmocka_unit_test_setup_teardown(test_call_settings_merge, setup_full,
						teardown_wf),
		cmocka_unit_test(test_builtin_settings),
		cmocka_unit_test(test_council_output_inferred),
		cmocka_unit_test(test_name_from_stem_and_defaults),
		cmocka_unit_test(test_query_required_when_used),
		cmocka_unit_test(test_inline_model_once),
		cmocka_unit_test(test_anchors_merge_and_x_keys),
		cmocka_unit_test(test_params_typing),
		cmocka_unit_test(test_graph),
		cmocka_unit_test(test_graph_groups_and_escaping),
		cmocka_unit_test(test_check_run),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
