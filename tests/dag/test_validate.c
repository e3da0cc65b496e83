/* dag/: every problem in a file is reported, each where it is written,
 * with words a user can act on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sys/resource.h>

#include <cmocka.h>

#include "../../common/buf.h"
#include "util.h"

#define HDR "version: 1\n"
#define TPL "{kind: template, text: x}"
#define USE_EXPR "(use query, inputs.NAME, nodes.ID.output or nodes.ID.responses)"

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_one(HDR "nodse: {}\nnodes: {a: " TPL "}\n", 2, 1,
		   "unknown key 'nodse' in the workflow (did you mean 'nodes'?)");
	expect_one(HDR "defaults:\n  temprature: 0.5\nnodes: {a: " TPL "}\n", 3, 3,
		   "unknown key 'temprature' in defaults (did you mean 'temperature'?)");
	expect_one(HDR "defaults: {zzzzzz: 1}\nnodes: {a: " TPL "}\n", 2, 12,
		   "unknown key 'zzzzzz' in defaults (use timeout, first_token_timeout, "
		   "idle_timeout, retries, temperature, max_tokens, top_p, seed, stop, stream, "
		   "max_response_bytes, http_version, max_connections or ca_cert)");
	expect_one(HDR "models:\n  m: {provider: ollama, model: x, fallbak: []}\n"
		   "nodes: {a: {kind: generate, models: [m]}}\n", 3, 35,
		   "unknown key 'fallbak' in model 'm' (did you mean 'fallback'?)");
	expect_one(HDR "nodes:\n  a:\n    kind: generate\n    models: [ollama/x]\n"
		   "    promt: hi\n", 6, 5,
		   "unknown key 'promt' in node 'a' (generate) (did you mean 'prompt'?)");
	/* A key of another kind is unknown for this one. */
	expect_one(HDR "nodes:\n  a: {kind: template, text: x, from: b}\n  b: " TPL "\n"
		   "output: a\n",
		   3, 32, "unknown key 'from' in node 'a' (template) (template keys: text)");
	expect_one(HDR "inputs:\n  doc: {requird: true}\nnodes: {a: " TPL "}\n", 3, 9,
		   "unknown key 'requird' in input 'doc' (did you mean 'required'?)");
	expect_one(HDR "models:\n  m: {provider: ollama, model: x, price: {in: 1, input: 1, "
		   "output: 2}}\nnodes: {a: {kind: generate, models: [m]}}\n", 3, 43,
		   "unknown key 'in' in price (use input or output)");
	expect_one(HDR "budget: {max_usd: 1, max_call: 3}\nnodes: {a: " TPL "}\n", 2, 22,
		   "unknown key 'max_call' in budget (did you mean 'max_calls'?)");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_one(HDR "defaults:\n  retries: \"3\"\nnodes: {a: " TPL "}\n", 3, 12,
		   "'retries' must be a non-negative integer, got '3'");
	expect_one(HDR "defaults: {retries: 2.5}\nnodes: {a: " TPL "}\n", 2, 21,
		   "'retries' must be a non-negative integer, got 2.5");
	expect_one(HDR "defaults: {temperature: [1]}\nnodes: {a: " TPL "}\n", 2, 25,
		   "'temperature' must be a number, got list");
	expect_one(HDR "defaults: {stream: yes}\nnodes: {a: " TPL "}\n", 2, 20,
		   "'stream' must be a boolean (true or false), got 'yes'");
	expect_one(HDR "defaults: {stop: {a: b}}\nnodes: {a: " TPL "}\n", 2, 18,
		   "'stop' must be a string or a list of strings, got mapping");
	expect_one(HDR "defaults: {stop: [a, [b]]}\nnodes: {a: " TPL "}\n", 2, 22,
		   "each entry of 'stop' must be a string, got list");
	expect_one(HDR "defaults: {timeout: {a: 1}}\nnodes: {a: " TPL "}\n", 2, 21,
		   "'timeout' must be a duration (500ms, 30s, 2m or a number of seconds), "
		   "got mapping");
	expect_one(HDR "name: [x]\nnodes: {a: " TPL "}\n", 2, 7,
		   "'name' must be a string, got list");
	expect_one(HDR "defaults: 3\nnodes: {a: " TPL "}\n", 2, 11,
		   "'defaults' must be a mapping, got 3");
	expect_one(HDR "models: [a]\nnodes: {a: " TPL "}\n", 2, 9,
		   "'models' must be a mapping of model ids to models, got list");
	expect_one(HDR "nodes: [a]\n", 2, 8, "'nodes' must be a mapping of node ids to "
		   "nodes, got list");
	expect_one(HDR "nodes: {a: 3}\n", 2, 12, "node 'a' must be a mapping (kind, ...), got 3");
	expect_one(HDR "models: {m: x}\nnodes: {a: " TPL "}\n", 2, 13,
		   "model 'm' must be a mapping (provider, model, ...), got 'x'");
	expect_one(HDR "inputs: {doc: x}\nnodes: {a: " TPL "}\n", 2, 15,
		   "input 'doc' must be a mapping (required, default, description), got 'x'");
	expect_one(HDR "nodes: {a: {kind: [generate]}}\n", 2, 19,
		   "'kind' must be a string, got list");
	expect_one(HDR "nodes: {a: {kind: generate, models: [ollama/x], samples: 1.5}}\n", 2,
		   58, "'samples' must be a positive integer, got 1.5");
	expect_one(HDR "nodes: {a: {kind: synthesize, from: b, model: [ollama/x]}, b: " TPL
		   "}\n", 2, 47, "'model' must be a string (one model id), got list");
	expect_one(HDR "nodes: {a: {kind: template, text: {x: 1}}}\n", 2, 35,
		   "'text' must be a string, got mapping");
	expect_one(HDR "nodes: {a: {kind: template, text: x, max_tokens: '5'}}\n", 2, 50,
		   "'max_tokens' must be a positive integer, got '5'");
	expect_one(HDR "nodes: {a: {kind: template, text: x, seed: true}}\n", 2, 44,
		   "'seed' must be an integer, got true");
}

static void test_out_of_range(void **state)
{
	(void)state;
	expect_one(HDR "defaults: {retries: -1}\nnodes: {a: " TPL "}\n", 2, 21,
		   "'retries' must be a non-negative integer, got -1");
	expect_one(HDR "defaults: {retries: 1000}\nnodes: {a: " TPL "}\n", 2, 21,
		   "'retries' must be between 0 and 100, got 1000");
	expect_one(HDR "defaults: {retries: 99999999999999999999999}\nnodes: {a: " TPL "}\n",
		   2, 21, "'retries' must be between 0 and 100, got 99999999999999999999999");
	expect_one(HDR "defaults: {max_tokens: 0}\nnodes: {a: " TPL "}\n", 2, 24,
		   "'max_tokens' must be a positive integer, got 0");
	expect_one(HDR "defaults: {temperature: 2.5}\nnodes: {a: " TPL "}\n", 2, 25,
		   "'temperature' must be between 0 and 2, got 2.5");
	expect_one(HDR "defaults: {top_p: 1e999}\nnodes: {a: " TPL "}\n", 2, 19,
		   "'top_p' must be between 0 and 1, got 1e999");
	expect_one(HDR "nodes:\n  a: {kind: vote, from: b, min_agreement: 1.5}\n  b: " TPL "\n",
		   3, 43, "'min_agreement' must be between 0 and 1, got 1.5");
	expect_one(HDR "models:\n  m: {provider: ollama, model: x, rpm: -3}\n"
		   "nodes: {a: {kind: generate, models: [m]}}\n", 3, 40,
		   "'rpm' must be a non-negative number, got -3");
	expect_one(HDR "budget: {max_calls: 0}\nnodes: {a: " TPL "}\n", 2, 21,
		   "'max_calls' must be a positive integer, got 0");
	expect_one(HDR "nodes: {a: {kind: generate, models: [ollama/x], min_ok: 2}}\n", 2, 57,
		   "'min_ok' is 2 but node 'a' makes only 1 call (use at most 1, or more "
		   "models or samples)");
}

static void test_durations(void **state)
{
	(void)state;
	expect_one(HDR "defaults:\n  timeout: 5 sec\nnodes: {a: " TPL "}\n", 3, 12,
		   "invalid duration '5 sec' (use 500ms, 30s, 2m or a number of seconds)");
	expect_one(HDR "defaults: {idle_timeout: -2s}\nnodes: {a: " TPL "}\n", 2, 26,
		   "invalid duration '-2s' (use 500ms, 30s, 2m or a number of seconds)");
	expect_one(HDR "defaults: {timeout: 0}\nnodes: {a: " TPL "}\n", 2, 21,
		   "'timeout' must be longer than 0");

	/* A node's own timeout of 0 means none; plain numbers are seconds. */
	struct qdiags d;
	struct workflow *wf = load_text(HDR "defaults: {timeout: 1.5}\n"
					"nodes: {a: {kind: template, text: x, timeout: 0}}\n", &d);
	assert_non_null(wf);
	assert_int_equal(wf->defaults.timeout_ms, 1500);
	assert_int_equal(wf->nodes[0]->timeout_ms, 0);
	workflow_free(wf);
	qdiags_release(&d);
}

static void test_unknown_references(void **state)
{
	(void)state;
	expect_one(HDR "nodes:\n  answers: " TPL "\n  v: {kind: vote, from: anwsers}\n", 4, 25,
		   "unknown node 'anwsers' (did you mean 'answers'?)");
	expect_diag(HDR "nodes:\n  answers: " TPL "\n  v: {kind: vote, from: bogus, needs: "
		    "[zzz]}\noutput: v\n", 4, 25,
		    "unknown node 'bogus' (the nodes are 'answers' and 'v')");
	expect_diag(HDR "nodes:\n  answers: " TPL "\n  v: {kind: vote, from: bogus, needs: "
		    "[zzz]}\noutput: v\n", 4, 40,
		    "unknown node 'zzz' (the nodes are 'answers' and 'v')");
	expect_one(HDR "nodes:\n  final: " TPL "\noutput: fnal\n", 4, 9,
		   "unknown node 'fnal' (did you mean 'final'?)");
	expect_one(HDR "models:\n  gpt: {provider: openai, model: x}\n"
		   "nodes: {a: {kind: generate, models: [gpt4]}}\n", 4, 38,
		   "unknown model 'gpt4' (did you mean 'gpt'?)");
	expect_one(HDR "nodes: {a: {kind: generate, models: [mystery]}}\n", 2, 38,
		   "unknown model 'mystery' (declare it under 'models' or write "
		   "provider/model)");
	expect_one(HDR "models:\n  m: {provider: opneai, model: x}\n"
		   "nodes: {a: {kind: generate, models: [m]}}\n", 3, 17,
		   "unknown provider 'opneai' (did you mean 'openai'?)");
	expect_one(HDR "nodes: {a: {kind: generate, models: [antropic/claude]}}\n", 2, 38,
		   "unknown provider 'antropic' (did you mean 'anthropic'?)");
	expect_one(HDR "nodes: {a: {kind: generate, models: [azure/gpt]}}\n", 2, 38,
		   "unknown provider 'azure' (use openai, anthropic, gemini or ollama)");
	expect_one(HDR "nodes: {a: {kind: generate, models: [openai/]}}\n", 2, 38,
		   "'openai/' names no model after the '/'");
	expect_one(HDR "models:\n  gpt: {provider: openai, model: x}\n"
		   "nodes: {b: " TPL ", a: {kind: vote, from: b, weights: {gtp4: 1}}}\n", 4, 74,
		   "unknown model 'gtp4' (did you mean 'gpt'?)");
}

static void test_templates_validated(void **state)
{
	(void)state;
	expect_one(HDR "inputs: {language: {}}\nnodes:\n  a: {kind: template, text: "
		   "'{{ inputs.languag }}'}\n", 4, 30,
		   "unknown input 'languag' (did you mean 'language'?)");
	expect_one(HDR "nodes:\n  a: {kind: template, text: '{{ nodes.zed.output }}'}\n", 3, 30,
		   "unknown node 'zed' (the only node is 'a')");
	expect_one(HDR "nodes:\n  a: {kind: template, text: 'x {{ qurey }}'}\n", 3, 32,
		   "unknown template expression 'qurey' (did you mean 'query'?)");
	expect_one(HDR "nodes:\n  a:\n    kind: template\n    text: |\n      line one\n"
		   "      two {{ query\n", 7, 11,
		   "unclosed '{{' (close it with '}}', or write a literal '{{' as {{ '{{' }})");
	expect_one(HDR "nodes:\n  a: {kind: generate, models: [ollama/x], system: '{{ nope }}'}"
		   "\n", 3, 52, "unknown template expression 'nope' " USE_EXPR);
}

static void test_required_keys_and_kinds(void **state)
{
	(void)state;
	expect_one(HDR "nodes: {x: {kind: generate, prompt: hi}}\n", 2, 9,
		   "node 'x' (generate) needs 'models' ("
		   "a list of model ids or provider/model names)");
	expect_one(HDR "nodes: {x: {kind: generate, models: []}}\n", 2, 9,
		   "node 'x' (generate) needs 'models' ("
		   "a list of model ids or provider/model names)");
	expect_one(HDR "nodes: {x: {kind: vote}}\n", 2, 9, "node 'x' (vote) needs 'from' ("
		   "the node whose answers it reads)");
	expect_one(HDR "nodes: {x: {kind: template}}\n", 2, 9,
		   "node 'x' (template) needs 'text' ("
		   "the text it renders)");
	struct qdiags d;
	assert_null(load_text(HDR "nodes: {x: {kind: synthesize}}\n", &d));
	assert_int_equal(d.n, 2);
	assert_true(has_diag(&d, 2, 9, "node 'x' (synthesize) needs 'from' ("
		   "the node whose answers it reads)"));
	assert_true(has_diag(&d, 2, 9, "node 'x' (synthesize) needs 'model' ("
		   "a model id or provider/model)"));
	qdiags_release(&d);
	expect_one(HDR "nodes: {x: {prompt: hi}}\n", 2, 9,
		   "node 'x' needs 'kind' (generate, vote, synthesize, judge, rank, moa, "
		   "council, cascade, route, plan, bandit or template)");
	expect_one(HDR "nodes: {x: {kind: generat}}\n", 2, 19,
		   "unknown node kind 'generat' (did you mean 'generate'?)");
	expect_one(HDR "nodes: {x: {kind: councl}}\n", 2, 19,
		   "unknown node kind 'councl' (did you mean 'council'?)");
	expect_one(HDR "nodes: {x: {kind: wibble}}\n", 2, 19,
		   "unknown node kind 'wibble' (use generate, vote, synthesize, judge, rank, "
		   "moa, council, cascade, route, plan, bandit or template)");
	expect_one(HDR "models:\n  m: {model: x}\nnodes: {a: {kind: generate, models: [m]}}\n",
		   3, 3, "model 'm' needs 'provider' (openai, anthropic, gemini or ollama)");
	expect_one(HDR "models:\n  m: {provider: openai}\nnodes: {a: {kind: generate, "
		   "models: [m]}}\n", 3, 3, "model 'm' needs 'model' (the provider's model name)");
	expect_one(HDR "models:\n  m: {provider: openai, model: x, price: {input: 1}}\n"
		   "nodes: {a: {kind: generate, models: [m]}}\n", 3, 42,
		   "'price' needs 'input' and 'output' (USD per million tokens)");
}

static void test_every_kind_checks_its_keys(void **state)
{
	(void)state;
	/* Each kind of the contract is built: its keys are judged, each by
	 * its own table. */
	static const struct {
		const char *kind;
		int line, col;
		const char *msg;
	} cases[] = {
		{"judge", 8, 5, "unknown key 'membres' in node 'b' (judge) (judge keys: from, "
		 "model, models, criteria, prompt)"},
		{"rank", 8, 5, "unknown key 'membres' in node 'b' (rank) (rank keys: from, "
		 "models, criteria)"},
		{"moa", 6, 5, "unknown key 'from' in node 'b' (moa) (moa keys: proposers, "
		 "layers, aggregator, prompt)"},
		{"council", 8, 5, "unknown key 'membres' in node 'b' (council) (did you mean "
		 "'members'?)"},
		{"cascade", 6, 5, "unknown key 'from' in node 'b' (cascade) (cascade keys: "
		 "models, prompt, accept)"},
		{"route", 6, 5, "unknown key 'from' in node 'b' (route) (route keys: prompt, "
		 "system, routes, default, embed)"},
		{"plan", 7, 5, "unknown key 'models' in node 'b' (plan) (did you mean 'model'?)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), HDR "nodes:\n  a: " TPL "\n  b:\n    kind: %s\n"
			 "    from: a\n    models: [ollama/x]\n    membres: [ollama/x]\n",
			 cases[i].kind);
		expect_diag(text, cases[i].line, cases[i].col, cases[i].msg);
	}
}

static void test_ids(void **state)
{
	(void)state;
	expect_one(HDR "nodes:\n  'my node': " TPL "\n", 3, 3,
		   "invalid node id 'my node' (use letters, digits, '_' and '-', starting "
		   "with a letter or '_')");
	expect_one(HDR "nodes:\n  1st: " TPL "\n", 3, 3,
		   "invalid node id '1st' (use letters, digits, '_' and '-', starting "
		   "with a letter or '_')");
	expect_one(HDR "inputs: {'a.b': {}}\nnodes: {x: " TPL "}\n", 2, 10,
		   "invalid input name 'a.b' (use letters, digits, '_' and '-', starting "
		   "with a letter or '_')");
	/* Duplicate ids are duplicate keys: reported at the second. */
	expect_one(HDR "nodes:\n  a: " TPL "\n  b: {kind: template, text: '{{ nodes.a.output "
		   "}}'}\n  a: " TPL "\n", 5, 3, "duplicate key 'a' (first at 3:3)");
	expect_one(HDR "models:\n  m: {provider: ollama, model: x, model: y}\n"
		   "nodes: {a: {kind: generate, models: [m]}}\n", 3, 35,
		   "duplicate key 'model' (first at 3:25)");
	expect_one(HDR "version: 1\nnodes: {a: " TPL "}\n", 2, 1,
		   "duplicate key 'version' (first at 1:1)");
}

static void test_cycles(void **state)
{
	(void)state;
	struct qdiags d;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_file(fixture("cycle.yaml"), NULL, &d));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.items[0].line, 3);
	assert_int_equal(d.items[0].col, 3);
	assert_string_equal(d.items[0].msg, "cycle: a -> b -> c -> a (remove one of these "
			    "dependencies)");
	qdiags_release(&d);

	expect_one(HDR "nodes:\n  s: {kind: vote, from: s}\n", 3, 3, "cycle: s -> s (remove one of these dependencies)");

	/* Two separate cycles, each reported; a node outside them is fine. */
	assert_null(load_text(HDR "nodes:\n"
			      "  ok: " TPL "\n"
			      "  p: {kind: vote, from: q}\n"
			      "  q: {kind: vote, from: [p, ok]}\n"
			      "  x: {kind: vote, from: y}\n"
			      "  y: {kind: vote, from: x}\n"
			      "output: q\n",
			      &d));
	assert_int_equal(d.n, 2);
	assert_true(has_diag(&d, 4, 3, "cycle: p -> q -> p (remove one of these dependencies)"));
	assert_true(has_diag(&d, 6, 3, "cycle: x -> y -> x (remove one of these dependencies)"));
	qdiags_release(&d);

	expect_one(HDR "models:\n"
		   "  a: {provider: ollama, model: x, fallback: [b]}\n"
		   "  b: {provider: ollama, model: y, fallback: c}\n"
		   "  c: {provider: ollama, model: z, fallback: [a]}\n"
		   "nodes: {n: {kind: generate, models: [b]}}\n",
		   3, 3, "fallback cycle: a -> b -> c -> a (remove one of these fallbacks)");
	expect_one(HDR "models:\n  a: {provider: ollama, model: x, fallback: [a]}\n"
		   "nodes: {n: {kind: generate, models: [a]}}\n",
		   3, 3, "fallback cycle: a -> a (remove one of these fallbacks)");
	expect_one(HDR "models:\n  a: {provider: ollama, model: x, fallback: [zz]}\n"
		   "nodes: {n: {kind: generate, models: [a]}}\n", 3, 46,
		   "unknown model 'zz' (declare it under 'models' or write provider/model)");
}

static void test_output(void **state)
{
	(void)state;
	expect_one(HDR "nodes:\n  a: " TPL "\n  b: " TPL "\n  c: {kind: vote, from: a}\n",
		   2, 1, "several nodes could be the output (b, c): choose one with "
			 "'output: NODE'");
	expect_one(HDR "nodes:\n  a: " TPL "\noutput: [a]\n", 4, 9,
		   "'output' must be a string, got list");
	/* `needs` counts as depending. */
	struct qdiags d;
	struct workflow *wf = load_text(HDR "nodes:\n  a: " TPL "\n  b: {kind: template, "
					"text: y, needs: a}\n", &d);
	assert_non_null(wf);
	assert_string_equal(wf->output->id, "b");
	workflow_free(wf);
	qdiags_release(&d);
}

static void test_regex(void **state)
{
	(void)state;
	expect_one(HDR "nodes:\n  a: " TPL "\n  v: {kind: vote, from: a, extract: 'regex:(\\d+'}"
		   "\n", 4, 48,
		   "invalid regular expression at offset 4: missing closing parenthesis");
	expect_one(HDR "nodes:\n  a: " TPL "\n  v:\n    kind: vote\n    from: a\n"
		   "    extract: regex:x(a)(b)\n", 7, 20,
		   "the pattern of 'extract' must have exactly one capture group, it has 2");
	expect_one(HDR "nodes:\n  a: " TPL "\n  v: {kind: vote, from: a, extract: nmber}\n",
		   4, 37, "unknown extract mode 'nmber' (did you mean 'number'?)");
	expect_one(HDR "nodes:\n  a: " TPL "\n  v: {kind: vote, from: a, extract: 'json:'}\n",
		   4, 37, "'extract: json:' needs a field name, as in json:answer");
	expect_one(HDR "nodes:\n  a: " TPL "\n  v: {kind: vote, from: a, extract: regex}\n",
		   4, 37, "'extract: regex' needs a pattern, as in regex:Answer: (\\w+)");
}

static void test_top_level_shape(void **state)
{
	(void)state;
	expect_one("", 0, 0, "the file is empty (a workflow needs 'version: 1' and 'nodes')");
	expect_one("# only a comment\n", 0, 0,
		   "the file is empty (a workflow needs 'version: 1' and 'nodes')");
	expect_one("---\n", 0, 0, "the file is empty (a workflow needs 'version: 1' and 'nodes')");
	expect_one("- version: 1\n", 1, 1,
		   "a workflow must be a mapping (version, models, nodes, ...), got list");
	expect_one("just text\n", 1, 1,
		   "a workflow must be a mapping (version, models, nodes, ...), got 'just text'");
	expect_one("nodes: {a: " TPL "}\n", 1, 1, "missing 'version' (add 'version: 1')");
	expect_one("version: 2\nnodes: {a: " TPL "}\n", 1, 10,
		   "unsupported version 2 (this quorum reads version 1)");
	expect_one("version: '1'\nnodes: {a: " TPL "}\n", 1, 10,
		   "'version' must be the number 1, got '1'");
	expect_one(HDR "name: x\n", 1, 1, "missing 'nodes' (a workflow needs at least one node)");
	expect_one(HDR "nodes: {}\n", 2, 1, "'nodes' is empty (a workflow needs at least one node)");
	expect_one(HDR "nodes:\n", 2, 1, "'nodes' is empty (a workflow needs at least one node)");
}

static void test_yaml_errors(void **state)
{
	(void)state;
	expect_one(HDR "nodes: [\n", 3, 1, "invalid YAML: did not find expected node content "
		   "(while parsing a flow node at 3:1)");
	expect_one(HDR "nodes:\n  a: b\n c: d\n", 4, 2, "invalid YAML: did not find expected "
		   "key (while parsing a block mapping at 1:1; check the indentation of this "
		   "line)");
	expect_one(HDR "nodes:\n\ta: x\n", 3, 1, "invalid YAML: a tab character (indent "
		   "with spaces, not tabs)");
	expect_one(HDR "nodes: {a: " TPL "}\n---\nversion: 1\n", 3, 1,
		   "a workflow file holds one YAML document; this starts a second one");
	expect_one(HDR "name: \"\xff\"\nnodes: {a: " TPL "}\n", 2, 8,
		   "invalid YAML: invalid leading UTF-8 octet (byte 0xff; save the file as "
		   "UTF-8)");
	expect_one(HDR "nodes: {a: {kind: template, text: *nope}}\n", 2, 35,
		   "unknown alias '*nope' (no anchor '&nope' before it)");
	expect_one(HDR "name: \"a\\0b\"\nnodes: {a: " TPL "}\n", 2, 7,
		   "a string may not contain a NUL character");
}

static void test_alias_bomb_refused_quickly(void **state)
{
	(void)state;
	struct qdiags d;
	qdiags_init(&d, NULL);
	clock_t t0 = clock();
	assert_null(workflow_load_file(fixture("bomb.yaml"), NULL, &d));
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_true(secs < 0.5);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.items[0].line, 7);
	assert_int_equal(d.items[0].col, 8);
	assert_string_equal(d.items[0].msg, "alias '*e' expands the file past the "
			    "yaml_nodes limit (100000 YAML nodes; an alias bomb?)");
	qdiags_release(&d);

	/* A tighter limit stops sooner; nesting is bounded too. */
	struct load_limits lim;
	load_limits_default(&lim);
	lim.max_yaml_nodes = 50;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_file(fixture("bomb.yaml"), &lim, &d));
	assert_int_equal(d.items[0].line, 3);
	qdiags_release(&d);

	struct buf b = BUF_INIT;
	buf_puts(&b, HDR "nodes: ");
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, '[');
	qdiags_init(&d, NULL);
	assert_null(workflow_load_string("deep.yaml", b.data, b.len, NULL, &d));
	assert_int_equal(d.n, 1);
	assert_true(has_diag(&d, 2, 71, "nested deeper than the yaml_depth limit (64 levels)"));
	qdiags_release(&d);
	buf_release(&b);

	/* Depth through aliases: each alias is shallow, what it expands to
	 * is not. */
	buf_puts(&b, HDR "a0: &a0 [x]\n");
	for (int i = 1; i < 40; i++)
		buf_printf(&b, "a%d: &a%d [*a%d]\n", i, i, i - 1);
	buf_puts(&b, "b: [[[[[[[[[[[[[[[[[[[[[[[[[[[[*a39]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
	qdiags_init(&d, NULL);
	assert_null(workflow_load_string("deep.yaml", b.data, b.len, NULL, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].msg, "alias '*a39' nests the file deeper than the "
			    "yaml_depth limit (64 levels)");
	qdiags_release(&d);
	buf_release(&b);
}

/* Few nodes, many bytes: a 1 MiB string aliased through three levels of
 * ten aliases is a gigabyte of text; the yaml_bytes limit refuses it at
 * the alias that crosses it, before any of it is copied. */
static void test_alias_bomb_by_bytes(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_puts(&b, HDR "x-a: &a \"");
	for (int i = 0; i < 1 << 20; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\"\n");
	buf_puts(&b, "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n");
	buf_puts(&b, "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n");
	buf_puts(&b, "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n");
	buf_puts(&b, "models:\n  m: {provider: ollama, model: x, params: {p: *d}}\n");
	buf_puts(&b, "nodes: {a: {kind: generate, models: [m], stop: *d}}\n");
	struct qdiags d;
	qdiags_init(&d, NULL);
	clock_t t0 = clock();
	assert_null(workflow_load_string("bytes.yaml", b.data, b.len, NULL, &d));
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_true(secs < 0.5);
	struct rusage ru;
	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	assert_true(ru.ru_maxrss < 100 * 1024); /* KiB */
	if (d.n != 1)
		print_diags(&d);
	assert_int_equal(d.n, 1);
	/* The string and ten *a are 11 MiB; each *b adds 10: the sixth
	 * crosses 64. */
	assert_true(has_diag(&d, 4, 30, "alias '*b' expands the file past the yaml_bytes "
			     "limit (67108864 bytes of text; an alias bomb?)"));
	qdiags_release(&d);

	/* The limit is the caller's; what stays under it loads, and a
	 * prompt shared by many nodes is held once. */
	struct load_limits lim;
	load_limits_default(&lim);
	assert_int_equal(lim.max_yaml_bytes, 64 << 20);
	lim.max_yaml_bytes = 2u << 20;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_string("bytes.yaml", b.data, b.len, &lim, &d));
	assert_true(has_diag(&d, 3, 10, "alias '*a' expands the file past the yaml_bytes "
			     "limit (2097152 bytes of text; an alias bomb?)"));
	qdiags_release(&d);
	buf_release(&b);

	buf_puts(&b, HDR "x-p: &p \"");
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, 'p');
	buf_puts(&b, "\"\nmodels: {m: {provider: ollama, model: x}}\nnodes:\n");
	for (int i = 0; i < 100; i++)
		buf_printf(&b, "  n%d: {kind: generate, models: [m], prompt: *p, system: *p}\n", i);
	buf_puts(&b, "  out: {kind: vote, from: [");
	for (int i = 0; i < 100; i++)
		buf_printf(&b, "%sn%d", i ? ", " : "", i);
	buf_puts(&b, "]}\n");
	qdiags_init(&d, NULL);
	struct workflow *wf = workflow_load_string("shared.yaml", b.data, b.len, NULL, &d);
	if (!wf)
		print_diags(&d);
	assert_non_null(wf);
	const char *src = tmpl_source(wf->nodes[0]->prompt);
	assert_int_equal(strlen(src), 100000);
	for (size_t i = 1; i < 100; i++) {
		assert_ptr_equal(tmpl_source(wf->nodes[i]->prompt), src);
		assert_ptr_equal(tmpl_source(wf->nodes[i]->system), src);
	}
	workflow_free(wf);
	qdiags_release(&d);
	buf_release(&b);

	/* moa copies its prompt into every round: that counts too. */
	buf_puts(&b, HDR "x-p: &p \"");
	for (int i = 0; i < 1 << 20; i++)
		buf_putc(&b, 'p');
	buf_puts(&b, "\"\nnodes:\n  m: {kind: moa, proposers: [ollama/x], aggregator: "
		 "ollama/x, layers: 100, prompt: *p}\n");
	qdiags_init(&d, NULL);
	assert_null(workflow_load_string("moa.yaml", b.data, b.len, NULL, &d));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.items[0].line, 4);
	assert_int_equal(d.items[0].col, 3);
	assert_non_null(strstr(d.items[0].msg, "moa 'm' copies its prompt ("));
	assert_non_null(strstr(d.items[0].msg, " 99 times, past the yaml_bytes limit "
			       "(67108864 bytes)"));
	qdiags_release(&d);
	buf_release(&b);
}

static void test_many_errors_at_once(void **state)
{
	(void)state;
	struct qdiags d;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_file(fixture("errors.yaml"), NULL, &d));
	static const struct {
		int line, col;
		const char *msg;
	} want[] = {
		{2, 1, "unknown key 'nodse' in the workflow (did you mean 'nodes'?)"},
		{4, 3, "unknown key 'temprature' in defaults (did you mean 'temperature'?)"},
		{5, 12, "'retries' must be a non-negative integer, got '3'"},
		{6, 12, "invalid duration '5 sec' (use 500ms, 30s, 2m or a number of seconds)"},
		{9, 15, "unknown provider 'opneai' (did you mean 'openai'?)"},
		{14, 14, "unknown model 'gpt-5' (did you mean 'gpt'?)"},
		{15, 14, "unknown node 'bb' (did you mean 'b'?)"},
		{19, 20, "'min_agreement' must be between 0 and 1, got 1.5"},
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	if (d.n != n)
		print_diags(&d);
	assert_int_equal(d.n, n);
	/* Sorted by position, each at its own place. */
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(d.items[i].line, want[i].line);
		assert_int_equal(d.items[i].col, want[i].col);
		assert_string_equal(d.items[i].msg, want[i].msg);
	}
	char line[512];
	qdiags_format(&d, 0, line, sizeof(line));
	assert_non_null(strstr(line, "errors.yaml:2:1: unknown key 'nodse'"));
	qdiags_release(&d);
}

static void test_diagnostics_are_capped(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_puts(&b, HDR "nodes:\n");
	for (int i = 0; i < 500; i++)
		buf_printf(&b, "  n%d: {kind: vote, from: missing%d}\n", i, i);
	buf_puts(&b, "output: n0\n");
	struct qdiags d;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_string("many.yaml", b.data, b.len, NULL, &d));
	assert_int_equal(d.n, 201);
	assert_string_equal(d.items[200].msg, "300 more problems not shown");
	assert_int_equal(d.items[0].line, 3);
	qdiags_release(&d);
	buf_release(&b);
}

static void test_alias_shared_value_reported_once(void **state)
{
	(void)state;
	/* One bad value used by two models is one problem. */
	expect_one(HDR "x-base: &b {provider: ollama, model: m, retries: lots}\n"
		   "models:\n  a: *b\n  c: *b\nnodes: {n: {kind: generate, models: [a, c]}}\n",
		   2, 50, "'retries' must be a non-negative integer, got 'lots'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_unknown_references),
		cmocka_unit_test(test_templates_validated),
		cmocka_unit_test(test_required_keys_and_kinds),
		cmocka_unit_test(test_every_kind_checks_its_keys),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_top_level_shape),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_alias_bomb_refused_quickly),
		cmocka_unit_test(test_alias_bomb_by_bytes),
		cmocka_unit_test(test_many_errors_at_once),
		cmocka_unit_test(test_diagnostics_are_capped),
		cmocka_unit_test(test_alias_shared_value_reported_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
