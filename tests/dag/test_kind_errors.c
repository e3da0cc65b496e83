/* dag/: every problem in a judge, rank, moa, council, cascade, route or
 * plan node is reported where it is written, in words a user can act on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

/* Lines 1-6; nodes start on line 7. */
#define HDR "version: 1\n"                                  \
	"models:\n"                                         \
	"  gpt: {provider: openai, model: g}\n"             \
	"  big: {provider: openai, model: b}\n"             \
	"  loc: {provider: ollama, model: l, local: true}\n" \
	"nodes:\n"
#define SRC "  s: {kind: template, text: s}\n"

static void test_judge_and_rank(void **state)
{
	(void)state;
	expect_one(HDR SRC "  j: {kind: judge, from: s, model: gpt, models: [big]}\n", 8, 41,
		   "node 'j' (judge) has both 'model' and 'models' (use 'model' for one "
		   "judge or 'models' for a panel)");
	expect_one(HDR SRC "  j:\n    kind: judge\n    models: [big]\n    from: s\n"
		   "    model: gpt\n", 12, 5,
		   "node 'j' (judge) has both 'model' and 'models' (use 'model' for one "
		   "judge or 'models' for a panel)");
	expect_one(HDR SRC "  j: {kind: judge, from: s}\n", 8, 3,
		   "node 'j' (judge) needs 'model' (one judge) or 'models' (a panel)");
	expect_one(HDR SRC "  j: {kind: judge, from: s, model: [gpt, big]}\n", 8, 36,
		   "'model' must be a string (one model id), got list");
	expect_one(HDR SRC "  j: {kind: judge, from: s, model: gtp}\n", 8, 36,
		   "unknown model 'gtp' (did you mean 'gpt'?)");
	expect_one(HDR SRC "  j: {kind: judge, from: z, model: gpt}\n", 8, 26,
		   "unknown node 'z' (did you mean 's'?)");
	expect_one(HDR SRC "  j: {kind: judge, from: s, model: gpt, criteria: [a]}\n", 8, 51,
		   "'criteria' must be a string, got list");
	expect_one(HDR SRC "  j: {kind: judge, from: s, model: gpt, critera: x}\n", 8, 41,
		   "unknown key 'critera' in node 'j' (judge) (did you mean 'criteria'?)");
	expect_one(HDR SRC "  r: {kind: rank, from: s}\n", 8, 3,
		   "node 'r' (rank) needs 'models' ("
		   "a list of model ids or provider/model names)");
	expect_one(HDR SRC "  r: {kind: rank, from: s, models: [gpt], prompt: x}\n", 8, 43,
		   "unknown key 'prompt' in node 'r' (rank) (rank keys: from, models, criteria)");
	expect_one(HDR "  r: {kind: rank, from: r, models: [gpt]}\n", 7, 3,
		   "cycle: r -> r (remove one of these dependencies)");
}

static void test_vote_stop_when(void **state)
{
	(void)state;
	expect_one(HDR SRC "  v: {kind: vote, from: s, stop_when: maybe}\n", 8, 39,
		   "unknown stop_when 'maybe' (the only one is 'decided')");
	expect_one(HDR SRC "  v: {kind: vote, from: s, stop_when: decide}\n", 8, 39,
		   "unknown stop_when 'decide' (did you mean 'decided'?)");
	expect_one(HDR SRC "  v: {kind: vote, from: s, stop_when: true}\n", 8, 39,
		   "unknown stop_when 'true' (the only one is 'decided')");
	expect_one(HDR SRC "  v: {kind: vote, from: s, stop_when: [decided]}\n", 8, 39,
		   "'stop_when' must be a string, got list");
	expect_one(HDR SRC "  v: {kind: vote, from: s, stop_wen: decided}\n", 8, 28,
		   "unknown key 'stop_wen' in node 'v' (vote) (did you mean 'stop_when'?)");
}

static void test_moa(void **state)
{
	(void)state;
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], aggregator: big, layers: 0}\n", 7,
		   61, "'layers' must be a positive integer, got 0");
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], aggregator: big, layers: 101}\n", 7,
		   61, "'layers' must be between 1 and 100, got 101");
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], aggregator: big, layers: two}\n", 7,
		   61, "'layers' must be a positive integer, got 'two'");
	expect_one(HDR "  m: {kind: moa, proposers: [gpt]}\n", 7, 3,
		   "node 'm' (moa) needs 'aggregator' ("
		   "the model that writes the final answer)");
	expect_one(HDR "  m: {kind: moa, proposers: [], aggregator: gpt}\n", 7, 3,
		   "node 'm' (moa) needs 'proposers' ("
		   "the models of each round)");
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], aggregator: [big]}\n", 7, 48,
		   "'aggregator' must be a string (one model id), got list");
	/* A misspelt required key is one problem: not also a missing one. */
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], agregator: big}\n", 7, 36,
		   "unknown key 'agregator' in node 'm' (moa) (did you mean 'aggregator'?)");
	/* Three rounds name the proposer; the problem is told once. */
	expect_one(HDR "  m: {kind: moa, proposers: [gtp], aggregator: big}\n", 7, 30,
		   "unknown model 'gtp' (did you mean 'gpt'?)");
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], aggregator: big, prompt: "
		   "'{{ nodes.x.output }}'}\n", 7, 62, "unknown node 'x' (did you mean 'm'?)");
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], aggregator: big, prompt: "
		   "'{{ qurey }}'}\n", 7, 62,
		   "unknown template expression 'qurey' (did you mean 'query'?)");
	/* Rounds are nodes of their own: their ids can be named, and
	 * misnamed. */
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], aggregator: big}\n"
		   "  t: {kind: template, text: '{{ nodes.m.layer4.output }}'}\n", 8, 30,
		   "unknown node 'm.layer4' (did you mean 'm.layer1'?)");
	/* An id that is not valid is not expanded: the id is the problem. */
	expect_one(HDR "  'm x': {kind: moa, proposers: [gpt], aggregator: big}\n", 7, 3,
		   "invalid node id 'm x' (use letters, digits, '_' and '-', starting with "
		   "a letter or '_')");
	expect_one(HDR "  m.layer1: {kind: template, text: x}\n", 7, 3,
		   "invalid node id 'm.layer1' (use letters, digits, '_' and '-', starting "
		   "with a letter or '_')");
}

static void test_council(void **state)
{
	(void)state;
	expect_one(HDR "  c: {kind: council, members: [gpt, big], chairmen: big}\n", 7, 43,
		   "unknown key 'chairmen' in node 'c' (council) (did you mean 'chairman'?)");
	struct qdiags d;
	assert_null(load_text(HDR "  c: {kind: council}\n", &d));
	assert_int_equal(d.n, 2);
	assert_true(has_diag(&d, 7, 3, "node 'c' (council) needs 'members' ("
		   "the models that answer and rank)"));
	assert_true(has_diag(&d, 7, 3, "node 'c' (council) needs 'chairman' ("
		   "the model that writes the final answer)"));
	qdiags_release(&d);
	expect_one(HDR "  c: {kind: council, members: [gpt, big], chairman: bgi}\n", 7, 53,
		   "unknown model 'bgi' (did you mean 'big'?)");
	expect_one(HDR "  c: {kind: council, members: [gpt], chairman: big}\n"
		   "  t: {kind: template, text: '{{ nodes.c.reveiw.output }}'}\n", 8, 30,
		   "unknown node 'c.reveiw' (did you mean 'c.review'?)");
}

static void test_expansion_cycles_and_limits(void **state)
{
	(void)state;
	/* The cycle is told with the nodes that run. */
	expect_one(HDR "  m: {kind: moa, proposers: [gpt], aggregator: big, layers: 1,"
		   " prompt: '{{ nodes.x.output }}'}\n"
		   "  x: {kind: template, text: '{{ nodes.m.output }}'}\n", 7, 3,
		   "cycle: m.layer1 -> m -> x -> m.layer1 (remove one of these dependencies)");
	expect_one(HDR "  c: {kind: council, members: [gpt], chairman: big, needs: c}\n",
		   7, 3, "cycle: c.answers -> c -> c.answers (remove one of these dependencies)");

	struct load_limits lim;
	load_limits_default(&lim);
	lim.max_nodes = 3;
	const char *text = HDR "  m: {kind: moa, proposers: [gpt], aggregator: big}\n";
	struct qdiags d;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_string("wf.yaml", text, strlen(text), &lim, &d));
	assert_int_equal(d.n, 1);
	assert_true(has_diag(&d, 7, 3, "too many nodes after moa and council expansion "
			     "(the nodes limit is 3)"));
	qdiags_release(&d);
}

static void test_cascade_accept(void **state)
{
	(void)state;
#define CAS HDR "  c: {kind: cascade, models: [gpt, big], accept: "
	/* 7:50 is where the accept mapping starts. */
	expect_one(CAS "{self_chek: {}}}\n", 7, 51,
		   "unknown key 'self_chek' in accept (did you mean 'self_check'?)");
	expect_one(CAS "{self_check: {treshold: 0.5}}}\n", 7, 64,
		   "unknown key 'treshold' in accept: self_check (did you mean 'threshold'?)");
	expect_one(CAS "{judge: {model: big, sample: 2}}}\n", 7, 71,
		   "unknown key 'sample' in accept: judge (use model or threshold)");
	expect_one(CAS "{self_check: {}, regex: x}}\n", 7, 67,
		   "'accept' has both 'self_check' and 'regex' (choose one)");
	expect_one(CAS "{}}\n", 7, 50,
		   "'accept' needs one of self_check, judge, agreement or regex");
	expect_one(CAS "self_check}\n", 7, 50, "'accept' must be a mapping with one of self_check, judge, agreement "
		   "or regex, got 'self_check'");
	expect_one(CAS "{self_check: {threshold: 1.5}}}\n", 7, 75,
		   "'threshold' must be between 0 and 1, got 1.5");
	expect_one(CAS "{judge: {model: big, threshold: 11}}}\n", 7, 82,
		   "'threshold' must be between 0 and 10, got 11");
	expect_one(CAS "{self_check: {samples: 0}}}\n", 7, 73,
		   "'samples' must be a positive integer, got 0");
	expect_one(CAS "{self_check: {samples: 101}}}\n", 7, 73,
		   "'samples' must be between 1 and 100, got 101");
	expect_one(CAS "{agreement: {samples: 1}}}\n", 7, 72,
		   "'samples' must be an integer of at least 2, got 1");
	expect_one(CAS "{agreement: {min: 2}}}\n", 7, 68,
		   "'min' must be between 0 and 1, got 2");
	expect_one(CAS "{agreement: {threshold: 0.5}}}\n", 7, 63,
		   "unknown key 'threshold' in accept: agreement (use samples or min)");
	expect_one(CAS "{judge: {threshold: 8}}}\n", 7, 58,
		   "'accept: judge' needs 'model' (the model that scores the answer)");
	expect_one(CAS "{judge: ~}}\n", 7, 51,
		   "'accept: judge' needs 'model' (the model that scores the answer)");
	expect_one(CAS "{judge: {model: ~}}}\n", 7, 58,
		   "'accept: judge' needs 'model' (the model that scores the answer)");
	expect_one(CAS "{judge: {model: bgi}}}\n", 7, 66,
		   "unknown model 'bgi' (did you mean 'big'?)");
	expect_one(CAS "{self_check: 3}}\n", 7, 63, "'self_check' must be a mapping, got 3");
	/* The pattern's problem is placed inside it. */
	expect_one(CAS "{regex: 'a(b'}}\n", 7, 62,
		   "invalid regular expression at offset 3: missing closing parenthesis");
	expect_one(CAS "{regex: ''}}\n", 7, 58,
		   "'regex' needs a pattern the answer must match");
	expect_one(HDR "  c: {kind: cascade, models: [], prompt: x}\n", 7, 3,
		   "node 'c' (cascade) needs 'models' ("
		   "a list of model ids or provider/model names)");
#undef CAS
}

static void test_route_conditions(void **state)
{
	(void)state;
#define ROUTE HDR "  r:\n    kind: route\n    default: gpt\n    routes:\n      - to: big\n" \
	"        when: "
	/* The `when` value starts at 12:15. */
	expect_one(ROUTE "{contains_pi: true}\n", 12, 16,
		   "unknown key 'contains_pi' in when (did you mean 'contains_pii'?)");
	expect_one(ROUTE "{}\n", 12, 15,
		   "'when' is empty (a route needs a condition: regex, min_chars, max_chars, "
		   "contains_pii, input, semantic, score, difficulty or tokens; 'default' takes "
		   "the rest)");
	expect_one(ROUTE "\n", 12, 14,
		   "'when' is empty (a route needs a condition: regex, min_chars, max_chars, "
		   "contains_pii, input, semantic, score, difficulty or tokens; 'default' takes "
		   "the rest)");
	expect_one(ROUTE "{x-note: 1}\n", 12, 15,
		   "'when' is empty (a route needs a condition: regex, min_chars, max_chars, "
		   "contains_pii, input, semantic, score, difficulty or tokens; 'default' takes "
		   "the rest)");
	expect_one(ROUTE "[regex]\n", 12, 15, "'when' must be a mapping of conditions, got list");
	expect_one(ROUTE "{regex: '(?<x'}\n", 12, 28,
		   "invalid regular expression at offset 4: syntax error in subpattern name "
		   "(missing terminator?)");
	expect_one(ROUTE "{regex: \"\"}\n", 12, 23,
		   "'regex' needs a pattern the prompt must match");
	expect_one(ROUTE "{min_chars: -1}\n", 12, 27,
		   "'min_chars' must be a non-negative integer, got -1");
	expect_one(ROUTE "{max_chars: 1.5}\n", 12, 27,
		   "'max_chars' must be a non-negative integer, got 1.5");
	expect_one(ROUTE "{min_chars: 10, max_chars: 5}\n", 12, 42,
		   "'max_chars' is 5, less than 'min_chars' (10): this route can never be taken");
	expect_one(ROUTE "{contains_pii: maybe}\n", 12, 30,
		   "'contains_pii' must be a boolean (true or false), got 'maybe'");
	expect_one(ROUTE "{input: [lang]}\n", 12, 23, "'input' must be a mapping, got list");
	expect_one(ROUTE "{input: {qurey: x}}\n", 12, 24,
		   "unknown input 'qurey' (did you mean 'query'?)");
	expect_one(ROUTE "{input: {lang: ~}}\n", 12, 30,
		   "'lang' must be a string (the value the input must have), got null");
	expect_one(HDR "  r:\n    kind: route\n    default: gpt\n    routes:\n"
		   "      - when: {input: {lang: fr}}\n        to: big\n", 11, 24,
		   "unknown input 'lang' (declare it under 'inputs')");
#undef ROUTE
}

static void test_route_shape(void **state)
{
	(void)state;
	expect_one(HDR "  r: {kind: route, routes: [{when: {min_chars: 1}, to: big}]}\n", 7, 3,
		   "node 'r' (route) needs 'default' ("
		   "the model for prompts no route takes)");
	expect_one(HDR "  r: {kind: route, default: gpt}\n", 7, 3, "node 'r' (route) needs 'routes' ("
		   "a list of {when: ..., to: MODEL} or {ask: MODEL})");
	expect_one(HDR "  r: {kind: route, default: gpt, routes: []}\n", 7, 3,
		   "node 'r' (route) needs 'routes' ("
		   "a list of {when: ..., to: MODEL} or {ask: MODEL})");
	expect_one(HDR "  r: {kind: route, default: gpt, routes: {when: x}}\n", 7, 42,
		   "'routes' must be a list of routes ({when: ..., to: MODEL} or {ask: MODEL}), "
		   "got mapping");
	expect_one(HDR "  r: {kind: route, default: gpt, routes: [big]}\n", 7, 43,
		   "each entry of 'routes' must be a mapping ({when, to} or {ask}), got 'big'");
	expect_one(HDR "  r: {kind: route, default: gpt, routes: [{to: big}]}\n", 7, 43,
		   "a route needs 'when' (its condition; 'default' takes what no route does) "
		   "or 'ask' (a model that answers or declines)");
	expect_one(HDR "  r: {kind: route, default: gpt, routes: [{when: {max_chars: 3}}]}\n",
		   7, 43, "a route needs 'to' (the model it sends to)");
	expect_diag(HDR "  r: {kind: route, default: gpt, routes: [{when: {max_chars: 3}, "
		    "too: big}]}\n", 7, 66, "unknown key 'too' in a route (did you mean 'to'?)");
	expect_diag(HDR "  r: {kind: route, default: gpt, routes: [{when: {max_chars: 3}, "
		    "too: big}]}\n", 7, 43, "a route needs 'to' (the model it sends to)");
	expect_one(HDR "  r: {kind: route, default: gpt, routes: [{when: {max_chars: 3}, "
		   "to: bgi}]}\n", 7, 70, "unknown model 'bgi' (did you mean 'big'?)");
	expect_one(HDR "  r: {kind: route, default: [gpt], routes: [{when: {max_chars: 3}, "
		   "to: big}]}\n", 7, 29, "'default' must be a string (one model id), got list");
	expect_one(HDR "  r: {kind: route, default: gtp, routes: [{when: {max_chars: 3}, "
		   "to: big}]}\n", 7, 29, "unknown model 'gtp' (did you mean 'gpt'?)");
	expect_one("version: 1\nmodels:\n  m: {provider: ollama, model: x, local: yes}\n"
		   "nodes: {a: {kind: generate, models: [m]}}\n", 3, 42,
		   "'local' must be a boolean (true or false), got 'yes'");
	expect_one("version: 1\nmodels:\n  m: {provider: ollama, model: x, locl: true}\n"
		   "nodes: {a: {kind: generate, models: [m]}}\n", 3, 35,
		   "unknown key 'locl' in model 'm' (did you mean 'local'?)");
}

static void test_route_privacy(void **state)
{
	(void)state;
#define PII(to) HDR "  r:\n    kind: route\n    default: gpt\n    routes:\n" \
	"      - when: {contains_pii: true}\n        to: " to "\n"
	expect_one(PII("gpt"), 12, 13,
		   "route for personal data goes to 'gpt', which is not marked local: true");
	expect_one(PII("openai/gpt-4o"), 12, 13, "route for personal data goes to "
		   "'openai/gpt-4o', which is not marked local: true");
	/* Still refused when personal data is one condition of several. */
	expect_one(HDR "  r: {kind: route, default: loc, routes: [{when: {min_chars: 5, "
		   "contains_pii: true}, to: big}]}\n", 7, 90,
		   "route for personal data goes to 'big', which is not marked local: true");
	/* A local model whose failures fall back to the cloud is not local. */
	expect_one("version: 1\n"
		   "models:\n"
		   "  gpt: {provider: openai, model: g}\n"
		   "  loc: {provider: ollama, model: l, local: true, fallback: [loc2]}\n"
		   "  loc2: {provider: ollama, model: m, local: true, fallback: [gpt]}\n"
		   "nodes:\n"
		   "  r:\n    kind: route\n    default: gpt\n    routes:\n"
		   "      - when: {contains_pii: true}\n        to: loc\n", 12, 13,
		   "route for personal data goes to 'loc', whose fallback 'gpt' is not marked "
		   "local: true");
	/* A local target, a cloud default, and routes that only rule personal
	 * data out: all fine. */
	struct qdiags d;
	struct workflow *wf = load_text(PII("loc") "      - when: {contains_pii: false}\n"
					"        to: big\n", &d);
	if (!wf)
		print_diags(&d);
	assert_non_null(wf);
	workflow_free(wf);
	qdiags_release(&d);
	/* Personal data with another condition: what fails the other one goes
	 * on, so what follows must be local too (here the default). */
	expect_one(HDR "  r:\n    kind: route\n    default: gpt\n    routes:\n"
		   "      - when: {contains_pii: true, regex: invoice}\n        to: loc\n", 11, 15,
		   "routes[0] for personal data also tests regex, so personal data that "
		   "fails it goes on and can reach 'gpt', which is not marked local: true "
		   "(give personal data a route of its own, with contains_pii alone)");
	/* ... or a later route's target; a route that rules personal data out
	 * sees none of it. */
	expect_one(HDR "  r:\n    kind: route\n    default: loc\n    routes:\n"
		   "      - {when: {contains_pii: true, min_chars: 9}, to: loc}\n"
		   "      - {when: {contains_pii: false}, to: gpt}\n"
		   "      - {when: {max_chars: 9}, to: big}\n", 11, 16,
		   "routes[0] for personal data also tests min_chars, so personal data that "
		   "fails it goes on and can reach 'big', which is not marked local: true "
		   "(give personal data a route of its own, with contains_pii alone)");
	/* A later route for personal data alone catches the rest: fine. */
	wf = load_text(HDR "  r:\n    kind: route\n    default: gpt\n    routes:\n"
		       "      - {when: {contains_pii: true, min_chars: 9}, to: loc}\n"
		       "      - {when: {contains_pii: false}, to: big}\n"
		       "      - {when: {contains_pii: true}, to: loc}\n", &d);
	if (!wf)
		print_diags(&d);
	assert_non_null(wf);
	workflow_free(wf);
	qdiags_release(&d);
	/* The same rule inside a plan's subtasks. */
	expect_one(HDR "  p:\n    kind: plan\n    model: big\n    run:\n      kind: route\n"
		   "      default: loc\n      routes: [{when: {contains_pii: true}, to: gpt}]\n",
		   13, 49, "route for personal data goes to 'gpt', which is not marked local: true");
#undef PII
}

static void test_plan(void **state)
{
	(void)state;
#define PLAN HDR "  p:\n    kind: plan\n    model: big\n    run: "
	/* The run's mapping starts at 10:10. */
	expect_one(PLAN "{kind: vote, from: p}\n", 10, 17,
		   "the 'run' of a plan must be of kind generate or route, got 'vote'");
	expect_one(PLAN "{kind: plan, model: big}\n", 10, 17,
		   "the 'run' of a plan must be of kind generate or route, got 'plan'");
	expect_one(PLAN "{kind: rout}\n", 10, 17,
		   "unknown node kind 'rout' (did you mean 'route'?)");
	expect_one(PLAN "{kind: wibble}\n", 10, 17,
		   "unknown node kind 'wibble' (a plan's subtasks run as generate or route)");
	expect_one(PLAN "{models: [gpt], promt: x}\n", 10, 26,
		   "unknown key 'promt' in the 'run' of node 'p' (generate) (did you mean "
		   "'prompt'?)");
	expect_one(PLAN "{models: [gpt], needs: [p]}\n", 10, 26,
		   "'needs' has no place in the 'run' of a plan (a subtask's dependencies come "
		   "from the plan)");
	expect_one(PLAN "{kind: generate, prompt: x}\n", 10, 10,
		   "the 'run' of node 'p' (generate) needs 'models' ("
		   "a list of model ids or provider/model names)");
	expect_one(PLAN "{kind: route, routes: [{when: {min_chars: 1}, to: gpt}]}\n", 10, 10,
		   "the 'run' of node 'p' (route) needs 'default' ("
		   "the model for prompts no route takes)");
	expect_one(PLAN "{models: [gtp]}\n", 10, 20, "unknown model 'gtp' (did you mean 'gpt'?)");
	expect_one(PLAN "{models: [gpt], min_ok: 3}\n", 10, 34,
		   "'min_ok' is 3 but each subtask of node 'p' makes only 1 call (use at "
		   "most 1, or more models or samples)");
	expect_one(PLAN "{models: [gpt], system: '{{ nodes.q.output }}'}\n", 10, 35,
		   "unknown node 'q' (did you mean 'p'?)");
	/* What a subtask reads is what the plan depends on. */
	expect_one(PLAN "{models: [gpt], system: '{{ nodes.p.output }}'}\n", 7, 3,
		   "cycle: p -> p (remove one of these dependencies)");
	expect_one(PLAN "[gpt]\n", 10, 10, "'run' must be a mapping of node settings (models, "
		   "prompt, ...), got list");
	expect_one(HDR "  p: {kind: plan, model: big, max_subtasks: 0}\n", 7, 45,
		   "'max_subtasks' must be a positive integer, got 0");
	expect_one(HDR "  p: {kind: plan, model: big, max_subtasks: 101}\n", 7, 45,
		   "'max_subtasks' must be between 1 and 100, got 101");
	struct qdiags d;
	/* `models` for `model`: one problem, the misspelling. */
	assert_null(load_text(HDR "  p: {kind: plan, models: [big]}\n", &d));
	assert_int_equal(d.n, 1);
	assert_true(has_diag(&d, 7, 19, "unknown key 'models' in node 'p' (plan) (did you "
			     "mean 'model'?)"));
	qdiags_release(&d);
	expect_one(HDR "  p: {kind: plan, model: [big]}\n", 7, 26,
		   "'model' must be a string (one model id), got list");
#undef PLAN
}

static void test_many_problems_in_one_file(void **state)
{
	(void)state;
	struct qdiags d;
	assert_null(load_text(HDR
			      "  m: {kind: moa, proposers: [gtp], aggregator: big, layers: 0}\n"
			      "  c: {kind: cascade, models: [gpt], accept: {regx: x}}\n"
			      "  r: {kind: route, default: gpt, routes: [{when: {contains_pii: "
			      "true}, to: big}]}\n"
			      "  out: {kind: judge, from: [m, c, r], model: gpt, models: [big]}\n",
			      &d));
	if (d.n != 5)
		print_diags(&d);
	assert_int_equal(d.n, 5);
	assert_true(has_diag(&d, 7, 30, "unknown model 'gtp' (did you mean 'gpt'?)"));
	assert_true(has_diag(&d, 7, 61, "'layers' must be a positive integer, got 0"));
	assert_true(has_diag(&d, 8, 46, "unknown key 'regx' in accept (did you mean 'regex'?)"));
	assert_true(has_diag(&d, 9, 76, "route for personal data goes to 'big', which is "
			     "not marked local: true"));
	assert_true(has_diag(&d, 10, 51, "node 'out' (judge) has both 'model' and 'models' "
			     "(use 'model' for one judge or 'models' for a panel)"));
	qdiags_release(&d);
}

/* semantic, score, difficulty, ask, embed: what each needs, and privacy:
 * a model that sees prompts before a route for personal data is tried
 * must be local. */
static void test_new_routes(void **state)
{
	(void)state;
#define R HDR "  r:\n    kind: route\n    default: gpt\n    routes:\n"
	expect_one(R "      - {when: {semantic: {examples: [hi]}}, to: big}\n", 11, 16,
		   "routes[0] has a semantic condition: the node needs 'embed' (the model "
		   "that embeds the prompt)");
	expect_one(R "      - {when: {semantic: {threshold: 0.5}}, to: big}\n    embed: gpt\n",
		   11, 27, "'semantic' needs 'examples' (texts of the kind of prompt this "
		   "route takes)");
	expect_one(R "      - {when: {semantic: {examples: [hi], threshold: 2}}, to: big}\n"
		   "    embed: gpt\n", 11, 55, "'threshold' must be between -1 and 1, got 2");
	expect_one(R "      - {when: {score: {threshold: 0.5}}, to: big}\n    embed: gpt\n",
		   11, 24, "'score' needs 'file' (a router that 'quorum router train' wrote)");
	expect_one(R "      - {when: {difficulty: hard}, to: big}\n", 11, 16,
		   "routes[0] has a difficulty condition, which only a plan's subtasks have "
		   "(write this route in a plan's 'run')");
	expect_one(R "      - {when: {difficulty: hardest}, to: big}\n", 11, 29,
		   "unknown difficulty 'hardest' (did you mean 'hard'?)");
	expect_one(R "      - {ask: gpt, to: big}\n", 11, 20,
		   "an 'ask' route has no 'to': the model asked answers or declines, and a "
		   "declined prompt goes on to the next route");
	expect_one(R "      - {ask: gpt, decline: x}\n", 11, 29,
		   "'decline' must be a marker of 2 characters or more (a model would write a "
		   "shorter one by chance)");
	expect_one(R "      - {ask: gpt}\n      - {when: {contains_pii: true}, to: loc}\n", 11, 15,
		   "'gpt' sees prompts with personal data before routes[1] (for personal data) "
		   "is tried, and 'gpt' is not marked local: true");
	expect_one(R "      - {when: {semantic: {examples: [hi]}}, to: big}\n"
		   "      - {when: {contains_pii: true}, to: loc}\n    embed: gpt\n", 13, 12,
		   "'gpt' sees prompts with personal data before routes[1] (for personal data) "
		   "is tried, and 'gpt' is not marked local: true");
	expect_one(HDR "  p:\n    kind: plan\n    model: gpt\n    run:\n      kind: route\n"
		   "      default: gpt\n      routes: [{ask: loc}]\n", 13, 16,
		   "routes[0] of a plan's 'run' asks a model: a subtask is routed by what it "
		   "says and the planner's estimates (regex, min_chars, max_chars, contains_pii, "
		   "input, difficulty, tokens)");
#undef R
}

static void test_bandit(void **state)
{
	(void)state;
	expect_one(HDR "  b: {kind: bandit, arms: [gpt, big]}\n", 7, 3,
		   "node 'b' (bandit) needs 'state' (the file where what it learns is kept)");
	expect_one(HDR "  b: {kind: bandit, arms: [gpt], state: s.db}\n", 7, 28,
		   "a bandit needs two arms or more (with one there is nothing to learn)");
	expect_one(HDR "  b: {kind: bandit, arms: [gpt, big, gpt], state: s.db}\n", 7, 38,
		   "arm 'gpt' is named twice (first at 7:28): name each arm once");
	{
		char text[2048] = HDR "  b:\n    kind: bandit\n    state: s.db\n    arms:\n";
		for (int i = 0; i < 33; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "      - ollama/m%d\n", i);
		expect_one(text, 43, 9, "a bandit has 33 arms, more than the 32 it can learn "
			   "about: keep the 32 most promising");
	}
	expect_one(HDR "  b: {kind: bandit, arms: [gpt, big], state: s.db, policy: linear}\n",
		   7, 3, "policy linear learns from the prompt's embedding: the node needs "
		   "'embed' (the model that embeds it)");
	expect_one(HDR "  b: {kind: bandit, arms: [gpt, big], state: s.db, policy: greedy}\n",
		   7, 60, "unknown policy 'greedy' (use thompson, ucb or linear (contextual: "
		   "needs 'embed'))");
	expect_one(HDR "  b: {kind: bandit, arms: [gpt, big], state: s.db, reward: {judge: "
		   "nobody}}\n", 7, 68, "unknown model 'nobody' (declare it under 'models' or "
		   "write provider/model)");
}

static void test_endpoints(void **state)
{
	(void)state;
#define M "version: 1\nmodels:\n  m:\n    provider: openai\n    model: x\n"
#define N "nodes: {a: {kind: generate, models: [m]}}\n"
	expect_one(M "    base_url: http://a/v1\n    endpoints: [{base_url: http://b/v1}]\n" N,
		   6, 15, "model 'm' has 'endpoints': its 'base_url' goes in each endpoint");
	expect_one(M "    endpoints: [{api_key_env: K}]\n" N, 6, 17,
		   "an endpoint needs 'base_url' (where this copy of the model answers)");
	expect_one(M "    endpoints: [{base_url: \"ftp://b\"}]\n" N, 6, 28,
		   "invalid base_url 'ftp://b': the scheme 'ftp' is not allowed (use http:// or "
		   "https://)");
	expect_one(M "    endpoints: [{base_url: http://b/v1}]\n    strategy: fastest\n" N, 7, 15,
		   "unknown strategy 'fastest' (use shuffle, least_busy or latency)");
	expect_one(M "    endpoints: []\n" N, 6, 16, "'endpoints' must be a list of 1 to 64 "
		   "endpoints ({base_url, api_key_env, weight}), got list");
	/* strategy and cooldown pick among endpoints: without them, a slip. */
	expect_one(M "    strategy: latency\n" N, 6, 15, "model 'm' has 'strategy' but no "
		   "'endpoints': it says how to pick among endpoints (list them, or remove "
		   "'strategy')");
	expect_one(M "    cooldown: 5s\n" N, 6, 15, "model 'm' has 'cooldown' but no "
		   "'endpoints': it says how to pick among endpoints (list them, or remove "
		   "'cooldown')");
	/* Weights are shuffle's alone: all 0 is refused there, not elsewhere. */
	expect_one(M "    endpoints: [{base_url: http://b/v1, weight: 0}]\n" N, 6, 16,
		   "every endpoint has weight 0: strategy shuffle would never pick one by its "
		   "weight (give one a weight above 0)");
	struct qdiags d;
	struct workflow *wf = load_text(M "    endpoints: [{base_url: http://b/v1, weight: 0}]\n"
					"    strategy: least_busy\n" N, &d);
	if (!wf)
		print_diags(&d);
	assert_non_null(wf);
	workflow_free(wf);
	qdiags_release(&d);
	/* An embed model's provider without embeddings, in good English. */
	expect_one("version: 1\nnodes:\n  r:\n    kind: route\n    embed: anthropic/c\n"
		   "    default: ollama/a\n    routes: [{when: {semantic: {examples: [x]}}, "
		   "to: ollama/b}]\n", 5, 12, "'embed' model 'anthropic/c' is an anthropic "
		   "model, and anthropic has no embeddings API (use an openai-compatible, "
		   "gemini or ollama one)");
#undef M
#undef N
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_and_rank),
		cmocka_unit_test(test_vote_stop_when),
		cmocka_unit_test(test_moa),
		cmocka_unit_test(test_council),
		cmocka_unit_test(test_expansion_cycles_and_limits),
		cmocka_unit_test(test_cascade_accept),
		cmocka_unit_test(test_route_conditions),
		cmocka_unit_test(test_route_shape),
		cmocka_unit_test(test_route_privacy),
		cmocka_unit_test(test_new_routes),
		cmocka_unit_test(test_bandit),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_many_problems_in_one_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
