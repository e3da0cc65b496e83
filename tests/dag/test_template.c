/* dag/template.c: compile once, render many; rendered text is never
 * read again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/arena.h"
#include "../../common/buf.h"
#include "../../dag/template.h"
#include "util.h"

/* What a run would hand the renderer. */
struct ctx {
	const char *query;
	int input_calls;
};

static const char *env_query(void *p) { return ((struct ctx *)p)->query; }

static const char *env_input(void *p, const char *name)
{
	struct ctx *c = p;
	c->input_calls++;
	if (!strcmp(name, "secret"))
		return "TOP-SECRET";
	if (!strcmp(name, "lang"))
		return "French";
	return NULL;
}

static const char *env_output(void *p, int idx)
{
	(void)p;
	return idx == 0 ? "out-zero" : idx == 1 ? "{{ inputs.secret }}" : NULL;
}

static int env_responses(void *p, int idx, struct buf *out)
{
	(void)p;
	const char *texts[] = {"alpha", idx ? "{{ query }}" : "beta", "gamma"};
	return tmpl_format_responses(out, texts, 3);
}

static struct tmpl *compile(struct arena *a, const char *src, struct qdiags *d)
{
	qdiags_init(d, "t.yaml");
	return tmpl_compile(a, src, 1, 1, 0, d);
}

/* Compiles, points node references at `idx`, renders. */
static char *render(struct arena *a, const char *src, int idx, struct ctx *c)
{
	struct qdiags d;
	struct tmpl *t = compile(a, src, &d);
	if (!t)
		print_diags(&d);
	assert_non_null(t);
	qdiags_release(&d);
	for (size_t i = 0; i < tmpl_nrefs(t); i++) {
		if (tmpl_ref_at(t, i)->kind >= TREF_NODE_OUTPUT)
			tmpl_ref_at(t, i)->node_idx = idx;
	}
	struct tmpl_env env = {c, env_query, env_input, env_output, env_responses};
	struct buf b = BUF_INIT;
	assert_int_equal(tmpl_render(t, &env, &b), 0);
	char *s = arena_strdup(a, buf_str(&b));
	buf_release(&b);
	return s;
}

static void expect_error(const char *src, int line, int col, const char *msg)
{
	struct arena *a = arena_new();
	struct qdiags d;
	assert_null(compile(a, src, &d));
	if (d.n != 1)
		print_diags(&d);
	assert_int_equal(d.n, 1);
	assert_true(has_diag(&d, line, col, msg));
	qdiags_release(&d);
	arena_free(a);
}

static void test_every_reference(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct ctx c = {.query = "why?"};
	assert_string_equal(render(a, "Q: {{ query }} L: {{ inputs.lang }} O: "
				   "{{ nodes.x.output }}", 0, &c),
			    "Q: why? L: French O: out-zero");
	assert_string_equal(render(a, "{{ nodes.x.responses }}", 0, &c),
			    "1. alpha\n\n2. beta\n\n3. gamma");
	assert_string_equal(render(a, "plain text, no tags", 0, &c), "plain text, no tags");
	assert_string_equal(render(a, "", 0, &c), "");
	/* Missing values render as nothing. */
	assert_string_equal(render(a, "[{{ inputs.unknown }}][{{ nodes.x.output }}]", 7, &c),
			    "[][]");
	arena_free(a);
}

static void test_reference_list(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct qdiags d;
	struct tmpl *t = compile(a, "{{ query }}{{ inputs.doc-1 }}{{ nodes.a_b.output }}"
				    "{{ nodes.c.responses }}", &d);
	assert_non_null(t);
	assert_int_equal(tmpl_nrefs(t), 4);
	const struct tmpl_ref *r = tmpl_ref_get(t, 0);
	assert_int_equal(r->kind, TREF_QUERY);
	assert_null(r->name);
	r = tmpl_ref_get(t, 1);
	assert_int_equal(r->kind, TREF_INPUT);
	assert_string_equal(r->name, "doc-1");
	assert_int_equal(r->col, 12);
	r = tmpl_ref_get(t, 2);
	assert_int_equal(r->kind, TREF_NODE_OUTPUT);
	assert_string_equal(r->name, "a_b");
	assert_int_equal(r->node_idx, -1);
	r = tmpl_ref_get(t, 3);
	assert_int_equal(r->kind, TREF_NODE_RESPONSES);
	assert_string_equal(r->name, "c");
	assert_null(tmpl_ref_get(t, 4));
	assert_string_equal(tmpl_source(t), "{{ query }}{{ inputs.doc-1 }}{{ nodes.a_b.output }}"
					    "{{ nodes.c.responses }}");
	qdiags_release(&d);
	arena_free(a);
}

static void test_whitespace_variants(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct ctx c = {.query = "Q"};
	assert_string_equal(render(a, "{{query}}|{{  query  }}|{{\tquery\n}}|{{ inputs.lang}}",
				   0, &c),
			    "Q|Q|Q|French");
	arena_free(a);
}

static void test_literal_braces(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct ctx c = {.query = "Q"};
	assert_string_equal(render(a, "{{ '{{' }} query }}", 0, &c), "{{ query }}");
	assert_string_equal(render(a, "{{'{{'}}x{{ \"}}\" }}", 0, &c), "{{x}}");
	/* A lone closing pair and single braces are text. */
	assert_string_equal(render(a, "a }} b { c } {{ query }}", 0, &c), "a }} b { c } Q");
	assert_string_equal(render(a, "{x}", 0, &c), "{x}");
	arena_free(a);
}

static void test_injected_braces_stay_literal(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct ctx c = {.query = "{{ inputs.secret }} and {{ '{{' }}"};
	/* The query, a node output and a candidate hold tags: copied as they
	 * are, and the secret is never asked for. */
	assert_string_equal(render(a, "<{{ query }}>", 0, &c),
			    "<{{ inputs.secret }} and {{ '{{' }}>");
	assert_string_equal(render(a, "<{{ nodes.n.output }}>", 1, &c),
			    "<{{ inputs.secret }}>");
	assert_string_equal(render(a, "{{ nodes.n.responses }}", 1, &c),
			    "1. alpha\n\n2. {{ query }}\n\n3. gamma");
	assert_int_equal(c.input_calls, 0);
	arena_free(a);
}

static void test_unknown_expressions(void **state)
{
	(void)state;
	expect_error("hi {{ qurey }}", 1, 4, "unknown template expression 'qurey' "
		     "(did you mean 'query'?)");
	expect_error("{{ input.doc }}", 1, 1, "unknown template expression 'input.doc' "
		     "(did you mean 'inputs.doc'?)");
	expect_error("{{ nodes.a.outptu }}", 1, 1, "unknown node field 'outptu' "
		     "(did you mean 'output'?)");
	expect_error("{{ nodes.a.text }}", 1, 1, "unknown node field 'text' "
		     "(use output or responses)");
	expect_error("{{ nodes.a }}", 1, 1, "unknown template expression 'nodes.a' "
		     "(did you mean 'nodes.a.output'?)");
	expect_error("{{ foo bar }}", 1, 1, "unknown template expression 'foo bar' "
		     "(use query, inputs.NAME, nodes.ID.output or nodes.ID.responses)");
	expect_error("{{ inputs.my name }}", 1, 1, "unknown template expression "
		     "'inputs.my name' (use query, inputs.NAME, nodes.ID.output or "
		     "nodes.ID.responses)");
	expect_error("x{{ }}", 1, 2, "empty '{{ }}' (use query, inputs.NAME, "
		     "nodes.ID.output or nodes.ID.responses)");
}

static void test_unclosed(void **state)
{
	(void)state;
	static const char msg[] = "unclosed '{{' (close it with '}}', or write a literal "
				  "'{{' as {{ '{{' }})";
	expect_error("ab {{ query", 1, 4, msg);
	expect_error("{{", 1, 1, msg);
	expect_error("{{ query }} {{ '{{' ", 1, 13, msg);
	/* An opening pair before a later tag is the one left open. */
	expect_error("use {{ for braces: {{ query }}", 1, 5, msg);
}

static void test_errors_all_reported_with_positions(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct qdiags d;
	qdiags_init(&d, "t.yaml");
	/* A block scalar at 10:7: each line starts at column 7. */
	assert_null(tmpl_compile(a, "ok {{ query }}\n{{ bad }} and\n  {{ nodes.x.nope }}\n",
				 10, 7, 1, &d));
	assert_int_equal(d.n, 2);
	assert_true(has_diag(&d, 11, 7, "unknown template expression 'bad' (use query, "
			     "inputs.NAME, nodes.ID.output or nodes.ID.responses)"));
	assert_true(has_diag(&d, 12, 9, "unknown node field 'nope' (use output or "
			     "responses)"));
	qdiags_release(&d);

	/* Not a block: later lines start at column 1. UTF-8 counts as one
	 * column per character, as libyaml counts. */
	qdiags_init(&d, "t.yaml");
	struct tmpl *t = tmpl_compile(a, "é {{ query }}\n{{ query }}", 3, 12, 0, &d);
	assert_non_null(t);
	assert_int_equal(tmpl_ref_get(t, 0)->line, 3);
	assert_int_equal(tmpl_ref_get(t, 0)->col, 14);
	assert_int_equal(tmpl_ref_get(t, 1)->line, 4);
	assert_int_equal(tmpl_ref_get(t, 1)->col, 1);
	qdiags_release(&d);
	arena_free(a);
}

/* A reference to something that does not exist fails the load, not the
 * run, at the "{{" that names it. */
static void test_missing_reference(void **state)
{
	(void)state;
	struct qdiags d;
	assert_null(load_text("version: 1\n"
			      "inputs: {language: {}}\n"
			      "nodes:\n"
			      "  answer: {kind: template, text: 'x'}\n"
			      "  t:\n"
			      "    kind: template\n"
			      "    text: |\n"
			      "      In {{ inputs.langauge }}:\n"
			      "        {{ nodes.anwser.output }} {{ inputs.zzz }}\n",
			      &d));
	assert_int_equal(d.n, 3);
	assert_true(has_diag(&d, 8, 10, "unknown input 'langauge' (did you mean "
			     "'language'?)"));
	assert_true(has_diag(&d, 9, 9, "unknown node 'anwser' (did you mean 'answer'?)"));
	assert_true(has_diag(&d, 9, 35, "unknown input 'zzz' (declare it under 'inputs')"));
	qdiags_release(&d);
}

static void test_responses_format(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	const char *texts[] = {"first", NULL, "third\nline"};
	assert_int_equal(tmpl_format_responses(&b, texts, 3), 0);
	assert_string_equal(buf_str(&b), "1. first\n\n2. \n\n3. third\nline");
	buf_reset(&b);
	assert_int_equal(tmpl_format_responses(&b, texts, 0), 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
}

static void test_render_limits(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct qdiags d;
	struct tmpl *t = compile(a, "0123456789 {{ query }}", &d);
	assert_non_null(t);
	struct ctx c = {.query = "a long query that does not fit"};
	struct tmpl_env env = {c.query ? &c : NULL, env_query, NULL, NULL, NULL};
	struct buf b;
	buf_init(&b, 16);
	assert_int_equal(tmpl_render(t, &env, &b), -1);
	buf_release(&b);
	/* No callbacks at all: references render as nothing. */
	struct tmpl_env none = {0};
	buf_init(&b, 0);
	assert_int_equal(tmpl_render(t, &none, &b), 0);
	assert_string_equal(buf_str(&b), "0123456789 ");
	buf_release(&b);
	qdiags_release(&d);
	arena_free(a);
}

static void test_dotted_node_ids(void **state)
{
	(void)state;
	/* The ids moa and council expansion makes: the field is the last part. */
	struct arena *a = arena_new();
	struct qdiags d;
	struct tmpl *t = compile(a, "{{ nodes.m.layer1.responses }}|{{ nodes.c.review.output }}",
				 &d);
	assert_non_null(t);
	assert_int_equal(tmpl_nrefs(t), 2);
	assert_int_equal(tmpl_ref_get(t, 0)->kind, TREF_NODE_RESPONSES);
	assert_string_equal(tmpl_ref_get(t, 0)->name, "m.layer1");
	assert_int_equal(tmpl_ref_get(t, 1)->kind, TREF_NODE_OUTPUT);
	assert_string_equal(tmpl_ref_get(t, 1)->name, "c.review");
	assert_int_equal(tmpl_ref_get(t, 1)->col, 32);
	qdiags_release(&d);
	arena_free(a);
	expect_error("{{ nodes.m..output }}", 1, 1, "unknown node field '.output' "
		     "(did you mean 'output'?)");
	expect_error("{{ nodes.m.layer1.outptu }}", 1, 1, "unknown node field 'outptu' "
		     "(did you mean 'output'?)");
	expect_error("{{ nodes.m.layer1.text }}", 1, 1, "unknown node field 'text' "
		     "(use output or responses)");
	expect_error("{{ nodes.m x.output }}", 1, 1, "unknown template expression "
		     "'nodes.m x.output' (use query, inputs.NAME, nodes.ID.output or "
		     "nodes.ID.responses)");
}

static void test_concat(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct qdiags d;
	struct tmpl *x = compile(a, "A {{ nodes.n.output }} {{ query }}", &d);
	qdiags_release(&d);
	struct tmpl *y = tmpl_compile(a, "\nB {{ nodes.n.responses }} {{ '{{' }}", 7, 5, 0, &d);
	qdiags_release(&d);
	assert_non_null(x);
	assert_non_null(y);
	struct tmpl *t = tmpl_concat(a, x, y);
	assert_non_null(t);
	assert_string_equal(tmpl_source(t), "A {{ nodes.n.output }} {{ query }}"
			    "\nB {{ nodes.n.responses }} {{ '{{' }}");
	assert_int_equal(tmpl_nrefs(t), 3);
	/* Copies, at the places they were written: resolving one leaves the
	 * originals alone. */
	assert_int_equal(tmpl_ref_get(t, 2)->line, 8);
	assert_int_equal(tmpl_ref_get(t, 2)->col, 3);
	tmpl_ref_at(t, 0)->node_idx = 1;
	tmpl_ref_at(t, 2)->node_idx = 0;
	assert_int_equal(tmpl_ref_get(x, 0)->node_idx, -1);
	assert_int_equal(tmpl_ref_get(y, 0)->node_idx, -1);
	struct ctx c = {"why?", 0};
	struct tmpl_env env = {&c, env_query, env_input, env_output, env_responses};
	struct buf b = BUF_INIT;
	assert_int_equal(tmpl_render(t, &env, &b), 0);
	assert_string_equal(buf_str(&b), "A {{ inputs.secret }} why?\n"
			    "B 1. alpha\n\n2. beta\n\n3. gamma {{");
	/* Either side may be missing. */
	buf_reset(&b);
	assert_int_equal(tmpl_render(tmpl_concat(a, NULL, x), &env, &b), 0);
	assert_string_equal(buf_str(&b), "A  why?");
	assert_int_equal(tmpl_nrefs(tmpl_concat(a, y, NULL)), 1);
	assert_string_equal(tmpl_source(tmpl_concat(a, NULL, NULL)), "");
	buf_release(&b);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_reference),
		cmocka_unit_test(test_reference_list),
		cmocka_unit_test(test_whitespace_variants),
		cmocka_unit_test(test_literal_braces),
		cmocka_unit_test(test_injected_braces_stay_literal),
		cmocka_unit_test(test_unknown_expressions),
		cmocka_unit_test(test_unclosed),
		cmocka_unit_test(test_errors_all_reported_with_positions),
		cmocka_unit_test(test_missing_reference),
		cmocka_unit_test(test_responses_format),
		cmocka_unit_test(test_render_limits),
		cmocka_unit_test(test_dotted_node_ids),
		cmocka_unit_test(test_concat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
