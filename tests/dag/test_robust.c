/* dag/: no input crashes the loader, leaks, or yields a half-built
 * workflow: random damage to a good file, every type at every key, and
 * every allocation failing in turn. Run under ASan/UBSan to mean it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "util.h"

static char *read_fixture(const char *name, size_t *len)
{
	FILE *f = fopen(fixture(name), "rb");
	assert_non_null(f);
	static char text[1 << 16];
	*len = fread(text, 1, sizeof(text) - 1, f);
	text[*len] = '\0';
	fclose(f);
	return text;
}

static const char *no_env(const char *name)
{
	(void)name;
	return NULL;
}

static const char *fake_query(void *ctx)
{
	(void)ctx;
	return "{{ query }}";
}

static const char *fake_output(void *ctx, int idx)
{
	(void)ctx;
	(void)idx;
	return "out";
}

static void render_all(const struct workflow *wf, const struct tmpl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < tmpl_nrefs(t); i++) {
		const struct tmpl_ref *r = tmpl_ref_get(t, i);
		if (r->kind == TREF_NODE_OUTPUT || r->kind == TREF_NODE_RESPONSES)
			assert_true(r->node_idx >= 0 && (size_t)r->node_idx < wf->nnodes);
	}
	struct tmpl_env env = {NULL, fake_query, NULL, fake_output, NULL};
	struct buf b = BUF_INIT;
	assert_int_equal(tmpl_render(t, &env, &b), 0);
	buf_release(&b);
}

static void check_models(const struct workflow *wf, const struct wf_node *n)
{
	for (size_t m = 0; m < n->nmodels; m++)
		assert_ptr_equal(wf->models[n->models[m]->idx], n->models[m]);
	if (n->accept.kind == ACCEPT_JUDGE)
		assert_non_null(n->accept.judge);
	if (n->accept.kind == ACCEPT_REGEX)
		assert_non_null(n->accept.re);
	for (size_t r = 0; r < n->nroutes; r++) {
		assert_non_null(n->routes[r].to);
		/* The privacy rule holds in every loaded workflow. */
		if (n->routes[r].when.contains_pii == 1)
			assert_true(n->routes[r].to->local);
	}
	if (n->kind == NK_ROUTE)
		assert_non_null(n->route_default);
	if (n->kind == NK_PLAN) {
		assert_non_null(n->run);
		assert_true(n->run->kind == NK_GENERATE || n->run->kind == NK_ROUTE);
		assert_int_equal(n->run->ndeps, 0);
		render_all(wf, n->run->prompt);
		render_all(wf, n->run->system);
		check_models(wf, n->run);
	}
}

/* What every successfully loaded workflow promises its users. */
static void check_workflow(const struct workflow *wf)
{
	assert_non_null(wf->name);
	assert_non_null(wf->order);
	assert_non_null(wf->output);
	assert_non_null(workflow_input(wf, "query"));
	unsigned char seen[10000] = {0};
	assert_true(wf->nnodes > 0 && wf->nnodes <= sizeof(seen));
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->order[i];
		for (size_t j = 0; j < n->ndeps; j++)
			assert_true(seen[n->deps[j]->idx]);
		seen[n->idx] = 1;
		render_all(wf, n->prompt);
		render_all(wf, n->system);
		render_all(wf, n->text);
		check_models(wf, n);
		if (n->group)
			assert_non_null(workflow_node(wf, n->group));
		struct call_settings cs;
		for (size_t m = 0; m < n->nmodels; m++) {
			workflow_call_settings(wf, n, n->models[m], &cs);
			assert_true(cs.timeout_ms > 0);
		}
	}
	for (size_t i = 0; i < wf->nmodels; i++) {
		assert_ptr_equal(workflow_model(wf, wf->models[i]->id), wf->models[i]);
		assert_non_null(wf->models[i]->provider);
		assert_non_null(wf->models[i]->base_url);
	}
	struct buf b = BUF_INIT;
	assert_int_equal(workflow_graph(wf, "dot", &b), 0);
	assert_int_equal(workflow_graph(wf, "mermaid", &b), 0);
	buf_release(&b);
	struct qdiags d;
	qdiags_init(&d, wf->file);
	workflow_check_run(wf, NULL, 0, 0, no_env, &d);
	qdiags_release(&d);
}

/* Loads text; either a workflow and no diagnostic, or diagnostics and no
 * workflow, each diagnostic with a sane position and message. */
static int load_checked(const char *text, size_t len)
{
	struct qdiags d;
	qdiags_init(&d, NULL);
	struct workflow *wf = workflow_load_string("fuzz.yaml", text, len, NULL, &d);
	assert_true((wf != NULL) == (d.n == 0));
	for (size_t i = 0; i < d.n; i++) {
		assert_true(d.items[i].line >= 0 && d.items[i].col >= 0);
		assert_true(d.items[i].msg[0] != '\0');
		if (i)
			assert_true(d.items[i - 1].line <= d.items[i].line ||
				    d.items[i].line == 0);
	}
	if (wf)
		check_workflow(wf);
	workflow_free(wf);
	qdiags_release(&d);
	return wf != NULL;
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const char *const tokens[] = {
	"{{", "}}", ": ", "- ", "&a ", "*a", "<<: ", "\n", "  ", "[", "]", "{", "}", "'",
	"\"", "|\n", ">\n", "~", "1e999", "-1", "0", "x-", "kind: ", "from: answers",
	"models: [gpt]", "needs: [final]", "{{ nodes.final.output }}", "{{ inputs.", "\t",
	"openai/", "regex:(", "json:", "\xff", "\xc3\xa9", ",", "#", "!!str ", "? ",
	"99999999999999999999", "\\", "{{ '{{' }}", "output: pick\n", "---\n",
};

static void mutate(struct buf *b)
{
	size_t pos = b->len ? rnd() % b->len : 0;
	struct buf out = BUF_INIT;
	switch (rnd() % 5) {
	case 0: /* insert a token */
		buf_append(&out, b->data, pos);
		buf_puts(&out, tokens[rnd() % (sizeof(tokens) / sizeof(tokens[0]))]);
		buf_append(&out, b->data + pos, b->len - pos);
		break;
	case 1: { /* delete a run */
		size_t n = rnd() % 16;
		if (n > b->len - pos)
			n = b->len - pos;
		buf_append(&out, b->data, pos);
		buf_append(&out, b->data + pos + n, b->len - pos - n);
		break;
	}
	case 2: /* replace a byte */
		buf_append(&out, b->data, b->len);
		if (out.len)
			out.data[pos] = " :-{}[]&*|>'\"\n#!x1"[rnd() % 19];
		break;
	case 3: { /* duplicate a slice elsewhere */
		size_t n = rnd() % 80;
		if (n > b->len - pos)
			n = b->len - pos;
		size_t at = b->len ? rnd() % b->len : 0;
		buf_append(&out, b->data, at);
		buf_append(&out, b->data + pos, n);
		buf_append(&out, b->data + at, b->len - at);
		break;
	}
	default: /* truncate */
		buf_append(&out, b->data, pos);
		break;
	}
	buf_release(b);
	*b = out;
}

/* The good files damaged: every key and kind is in one of them. */
static const char *const good_files[] = {
	"full.yaml", "moa.yaml", "council_kind.yaml", "cascade.yaml", "route.yaml",
	"plan.yaml",
};

#define NGOOD (sizeof(good_files) / sizeof(good_files[0]))

static void damage_file(const char *name, long iters)
{
	size_t len;
	const char *good = read_fixture(name, &len);
	assert_true(load_checked(good, len));
	const char *seed = getenv("QUORUM_FUZZ_SEED");
	if (seed && strtoull(seed, NULL, 10))
		rng_state = strtoull(seed, NULL, 10);
	int loaded = 0;
	for (long iter = 0; iter < iters; iter++) {
		struct buf b = BUF_INIT;
		buf_append(&b, good, len);
		int n = 1 + (int)(rnd() % 4);
		for (int k = 0; k < n; k++)
			mutate(&b);
		loaded += load_checked(buf_str(&b), b.len);
		buf_release(&b);
	}
	/* Some damage is harmless (a comment, a space): those still load. */
	assert_true(loaded > 0);
}

static void test_random_damage(void **state)
{
	(void)state;
	/* The fuzz suite asks for more with QUORUM_FUZZ_ITERS. */
	const char *env = getenv("QUORUM_FUZZ_ITERS");
	long iters = env ? strtol(env, NULL, 10) : 3000;
	damage_file("full.yaml", iters);
	for (size_t i = 1; i < NGOOD; i++)
		damage_file(good_files[i], iters / 3);
}

/* Every key of the format given every type of value. */
static void test_every_type_at_every_key(void **state)
{
	(void)state;
	static const char *const values[] = {
		"[1, [2]]", "{a: 1}", "'s'", "3", "-1", "1.5", "true", "~", "\"\"",
		"1e999", "99999999999999999999", "[[[]]]", "*anchor", "|\n      x {{ query }}",
		"'{{ nodes.zz.output }}'", "openai/", "[gpt, gpt]",
	};
	static const char *const where[] = {
		/* %s is replaced by the value; each line is one file. */
		"version: %s\nnodes: {a: {kind: template, text: x}}\n",
		"version: 1\nname: %s\nnodes: {a: {kind: template, text: x}}\n",
		"version: 1\ndescription: %s\nnodes: {a: {kind: template, text: x}}\n",
		"version: 1\ninputs: %s\nnodes: {a: {kind: template, text: x}}\n",
		"version: 1\ninputs: {doc: %s}\nnodes: {a: {kind: template, text: x}}\n",
		"version: 1\ninputs: {doc: {required: %s, default: %s, description: %s}}\n"
		"nodes: {a: {kind: template, text: x}}\n",
		"version: 1\ndefaults: %s\nnodes: {a: {kind: template, text: x}}\n",
		"version: 1\ndefaults: {timeout: %s, first_token_timeout: %s, idle_timeout: %s,"
		" retries: %s, temperature: %s, max_tokens: %s, top_p: %s, seed: %s, stop: %s,"
		" stream: %s}\nnodes: {a: {kind: template, text: x}}\n",
		"version: 1\nmodels: %s\nnodes: {a: {kind: generate, models: [gpt]}}\n",
		"version: 1\nmodels: {gpt: %s}\nnodes: {a: {kind: generate, models: [gpt]}}\n",
		"version: 1\nmodels:\n  gpt: {provider: %s, model: %s, base_url: %s,"
		" api_key_env: %s}\nnodes: {a: {kind: generate, models: [gpt]}}\n",
		"version: 1\nmodels:\n  gpt: {provider: openai, model: m, price: %s, params: %s,"
		" max_concurrency: %s, rpm: %s, fallback: %s, retries: %s}\n"
		"nodes: {a: {kind: generate, models: [gpt]}}\n",
		"version: 1\nmodels:\n  gpt: {provider: openai, model: m, price: {input: %s,"
		" output: %s}}\nnodes: {a: {kind: generate, models: [gpt]}}\n",
		"version: 1\nnodes: %s\n",
		"version: 1\nnodes: {a: %s}\n",
		"version: 1\nnodes: {a: {kind: %s}}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\n"
		"nodes: {a: {kind: generate, models: %s, prompt: %s, system: %s, samples: %s,"
		" min_ok: %s, needs: %s, description: %s, timeout: %s, stop: %s}}\n",
		"version: 1\nnodes:\n  s: {kind: template, text: x}\n"
		"  a: {kind: vote, from: %s, extract: %s, weights: %s, min_agreement: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  s: {kind: template, text: x}\n"
		"  a: {kind: vote, from: s, weights: {gpt: %s, openai/x: %s}}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  s: {kind: template, text: x}\n"
		"  a: {kind: synthesize, from: %s, model: %s, prompt: %s, system: %s}\n",
		"version: 1\nnodes: {a: {kind: template, text: %s}}\noutput: %s\n",
		"version: 1\nnodes: {a: {kind: template, text: x}}\nbudget: %s\n",
		"version: 1\nnodes: {a: {kind: template, text: x}}\n"
		"budget: {max_usd: %s, max_calls: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m, local: %s}}\n"
		"nodes: {a: {kind: generate, models: [gpt]}}\n",
		"version: 1\nnodes:\n  s: {kind: template, text: x}\n"
		"  a: {kind: vote, from: s, stop_when: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  s: {kind: template, text: x}\n"
		"  a: {kind: judge, from: %s, model: %s, models: %s, criteria: %s, prompt: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  s: {kind: template, text: x}\n"
		"  a: {kind: rank, from: %s, models: %s, criteria: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  a: {kind: moa, proposers: %s, layers: %s, aggregator: %s, prompt: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  a: {kind: council, members: %s, chairman: %s, prompt: %s, needs: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  a: {kind: cascade, models: %s, prompt: %s, accept: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  a: {kind: cascade, models: [gpt], accept: {self_check: %s}}\n"
		"  b: {kind: cascade, models: [gpt], accept: {judge: %s}}\n"
		"  c: {kind: cascade, models: [gpt], accept: {agreement: %s}}\n"
		"  d: {kind: cascade, models: [gpt], accept: {regex: %s}}\noutput: d\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  a: {kind: cascade, models: [gpt], accept: {self_check: {threshold: %s,"
		" samples: %s}, judge: {model: %s, threshold: %s}}}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  a: {kind: route, prompt: %s, routes: %s, default: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m, local: true}}\nnodes:\n"
		"  a: {kind: route, default: gpt, routes: [%s, {when: %s, to: %s}]}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m, local: true}}\nnodes:\n"
		"  a: {kind: route, default: gpt, routes: [{to: gpt, when: {regex: %s,"
		" min_chars: %s, max_chars: %s, contains_pii: %s, input: %s}}]}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m, local: true}}\nnodes:\n"
		"  a: {kind: route, default: gpt, routes: [{to: gpt, when: {input: {query: %s,"
		" %s: x}}}]}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  a: {kind: plan, model: %s, prompt: %s, max_subtasks: %s, run: %s}\n",
		"version: 1\nmodels: {gpt: {provider: openai, model: m}}\nnodes:\n"
		"  a: {kind: plan, model: gpt, run: {kind: %s, models: %s, routes: %s,"
		" default: %s, needs: %s, prompt: %s}}\n",
	};
	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			struct buf b = BUF_INIT;
			buf_puts(&b, "x-anchor: &anchor [1]\n");
			for (const char *p = where[w]; *p; p++) {
				if (p[0] == '%' && p[1] == 's') {
					buf_puts(&b, values[v]);
					p++;
				} else {
					buf_putc(&b, *p);
				}
			}
			load_checked(buf_str(&b), b.len);
			buf_release(&b);
		}
	}
}

/* Makes allocation n fail, for n = 1, 2, ... until loading no longer
 * meets a failure: each time the load fails cleanly (a diagnostic, no
 * leak) or succeeds with the same workflow. */
static void allocations_failing(const char *name)
{
	size_t len;
	const char *text = read_fixture(name, &len);
	struct qdiags d;
	qdiags_init(&d, NULL);
	struct workflow *ref = workflow_load_string(name, text, len, NULL, &d);
	assert_non_null(ref);
	struct buf want = BUF_INIT, got = BUF_INIT;
	workflow_graph(ref, "dot", &want);
	int streak = 0;
	long n;
	for (n = 1; n < 100000 && streak < 50; n++) {
		q_alloc_fail_after(n);
		struct workflow *wf = workflow_load_string(name, text, len, NULL, &d);
		q_alloc_fail_after(0);
		if (!wf) {
			streak = 0;
			assert_true(d.n > 0);
			qdiags_release(&d);
			continue;
		}
		streak++;
		assert_int_equal(d.n, 0);
		buf_reset(&got);
		workflow_graph(wf, "dot", &got);
		assert_string_equal(buf_str(&got), buf_str(&want));
		check_workflow(wf);
		workflow_free(wf);
	}
	assert_true(n > 60);
	buf_release(&want);
	buf_release(&got);
	workflow_free(ref);
	qdiags_release(&d);
}

static void test_every_allocation_failing(void **state)
{
	(void)state;
	for (size_t i = 0; i < NGOOD; i++)
		allocations_failing(good_files[i]);
}

static void test_odd_inputs(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"\n\n\n", "---", "...", "- - - -", "{}", "[]", "''", "~", "{{ query }}",
		"version: 1\nnodes:\n  a:\n", "version: 1\nnodes: {a: {}}",
		"version: 1\nnodes: {'': {kind: template, text: x}}",
		("version: 1\nmodels: {'': {provider: openai, model: x}}\n"
		 "nodes: {a: {kind: generate, models: ['']}}"),
		"version: 1\nnodes: {a: {kind: template, text: '{{}}{{{{}}}}'}}",
		"version: 1\nnodes: {a: {kind: template, text: '{{ nodes..output }}'}}",
		"version: 1\nnodes: {a: {kind: generate, models: [/x, x/, /]}}",
		"\xef\xbb\xbfversion: 1\nnodes: {a: {kind: template, text: x}}",
		"\xff\xfe", "%YAML 1.1\n---\nversion: 1\n",
		"version: 1\nnodes: {a: {kind: template, text: x}}\noutput: ~\n",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		load_checked(texts[i], strlen(texts[i]));
	/* Bytes past len are never read; NUL inside is an error, not an end. */
	load_checked("version: 1\nnodes: {a: {kind: template, text: x}}garbage", 47);
	load_checked("version: 1\0nodes: x", 19);
	assert_false(load_checked(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_damage),
		cmocka_unit_test(test_every_type_at_every_key),
		cmocka_unit_test(test_every_allocation_failing),
		cmocka_unit_test(test_odd_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
