/* dag/ytree.c: YAML to a tree that remembers where the user wrote what. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/arena.h"
#include "../../dag/ytree.h"
#include "util.h"

struct fx {
	struct arena *a;
	struct qdiags d;
};

static int setup(void **state)
{
	static struct fx f;
	f.a = arena_new();
	qdiags_init(&f.d, "t.yaml");
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	arena_free(f->a);
	qdiags_release(&f->d);
	return 0;
}

static const struct ynode *parse(struct fx *f, const char *text, int want_rc)
{
	static const struct ytree_limits lim = {1000, 16, 1 << 20};
	struct ynode *root = NULL;
	int rc = ytree_parse(f->a, text, strlen(text), &lim, &root, &f->d);
	if (rc != want_rc)
		print_diags(&f->d);
	assert_int_equal(rc, want_rc);
	return root;
}

static void test_positions(void **state)
{
	struct fx *f = *state;
	const struct ynode *r = parse(f, "top:\n  key: value\n  list: [a, 'b']\n"
				      "  \"q\": \"x\"\n", 0);
	assert_int_equal(r->type, YT_MAP);
	assert_int_equal(r->line, 1);
	assert_int_equal(r->col, 1);
	const struct ynode *top = ytree_get(r, "top");
	assert_int_equal(top->npairs, 3);
	const struct ypair *p = &top->pairs[0];
	assert_string_equal(p->key->str, "key");
	assert_int_equal(p->key->line, 2);
	assert_int_equal(p->key->col, 3);
	assert_int_equal(p->val->line, 2);
	assert_int_equal(p->val->col, 8);
	const struct ynode *list = top->pairs[1].val;
	assert_int_equal(list->type, YT_SEQ);
	assert_int_equal(list->nitems, 2);
	assert_int_equal(list->col, 9);
	assert_int_equal(list->items[1]->col, 13);
	assert_int_equal(list->items[1]->text_col, 14);
	assert_int_equal(list->items[1]->style, YS_SINGLE);
	const struct ynode *q = top->pairs[2].val;
	assert_int_equal(top->pairs[2].key->style, YS_DOUBLE);
	assert_int_equal(q->col, 8);
	assert_int_equal(q->text_col, 9);
	assert_null(ytree_get(r, "missing"));
	assert_null(ytree_get(q, "x"));
}

static void test_block_scalars(void **state)
{
	struct fx *f = *state;
	const struct ynode *r = parse(f, "a: |\n\n    first\n    second\nb: >-\n  folded\n  "
				      "text\nc: |\n\nd: x\n", 0);
	const struct ynode *a = ytree_get(r, "a");
	assert_int_equal(a->style, YS_LITERAL);
	assert_string_equal(a->str, "\nfirst\nsecond\n");
	assert_int_equal(a->line, 1);
	assert_int_equal(a->text_line, 2);
	assert_int_equal(a->text_col, 5);
	assert_false(a->plain);
	const struct ynode *b = ytree_get(r, "b");
	assert_int_equal(b->style, YS_FOLDED);
	assert_string_equal(b->str, "folded text");
	assert_int_equal(b->text_line, 6);
	assert_int_equal(b->text_col, 3);
	/* An empty block: still a string, never null. */
	const struct ynode *c = ytree_get(r, "c");
	assert_int_equal(c->type, YT_SCALAR);
	assert_string_equal(c->str, "");
}

static void test_typing(void **state)
{
	struct fx *f = *state;
	const struct ynode *r = parse(f, "[1, -7, 0x1F, 0o17, 1.5, .5, 1e3, .inf, .nan, true, "
				      "False, yes, no, ~, null, '', '3', !!str 4, !!int '5', "
				      "99999999999999999999, 12abc]", 0);
	static const enum yscalar kinds[] = {
		YK_INT, YK_INT, YK_INT, YK_INT, YK_FLOAT, YK_FLOAT, YK_FLOAT, YK_FLOAT,
		YK_FLOAT, YK_BOOL, YK_BOOL, YK_STRING, YK_STRING, YK_NULL, YK_NULL, YK_STRING,
		YK_STRING, YK_STRING, YK_INT, YK_INT, YK_STRING,
	};
	assert_int_equal(r->nitems, sizeof(kinds) / sizeof(kinds[0]));
	for (size_t i = 0; i < r->nitems; i++)
		assert_int_equal(ytree_scalar_kind(r->items[i]), kinds[i]);
	int64_t n;
	double d;
	int b;
	assert_int_equal(ytree_int(r->items[1], &n), 0);
	assert_int_equal(n, -7);
	assert_int_equal(ytree_int(r->items[2], &n), 0);
	assert_int_equal(n, 31);
	assert_int_equal(ytree_int(r->items[3], &n), 0);
	assert_int_equal(n, 15);
	assert_int_equal(ytree_int(r->items[4], &n), -1);
	assert_int_equal(ytree_number(r->items[5], &d), 0);
	assert_float_equal(d, 0.5, 0);
	assert_int_equal(ytree_number(r->items[6], &d), 0);
	assert_float_equal(d, 1000, 0);
	assert_int_equal(ytree_number(r->items[7], &d), -2);
	assert_int_equal(ytree_number(r->items[8], &d), -2);
	assert_int_equal(ytree_bool(r->items[10], &b), 0);
	assert_false(b);
	assert_int_equal(ytree_bool(r->items[11], &b), -1);
	assert_int_equal(r->items[13]->type, YT_NULL);
	assert_int_equal(r->items[15]->type, YT_SCALAR);
	assert_int_equal(ytree_int(r->items[16], &n), -1);
	assert_int_equal(ytree_int(r->items[18], &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ytree_int(r->items[19], &n), -2);
	assert_int_equal(ytree_number(r->items[19], &d), -2);

	static const char *const names[] = {"integer", "number", "boolean", "string",
					    "null", "list", "mapping"};
	const struct ynode *m = parse(f, "{a: 1, b: 2.0, c: true, d: x, e: ~, f: [], g: {}}", 0);
	for (size_t i = 0; i < m->npairs; i++)
		assert_string_equal(ytree_kind_name(m->pairs[i].val), names[i]);
	assert_string_equal(ytree_kind_name(NULL), "nothing");
}

static void test_duplicate_keys(void **state)
{
	struct fx *f = *state;
	const struct ynode *r = parse(f, "a: 1\nb:\n  x: 1\n  x: 2\na: 3\n", 0);
	/* Reported, the first kept, parsing goes on. */
	assert_int_equal(f->d.n, 2);
	assert_true(has_diag(&f->d, 4, 3, "duplicate key 'x' (first at 3:3)"));
	assert_true(has_diag(&f->d, 5, 1, "duplicate key 'a' (first at 1:1)"));
	assert_int_equal(r->npairs, 2);
	assert_string_equal(ytree_get(r, "a")->str, "1");
	assert_string_equal(ytree_get(ytree_get(r, "b"), "x")->str, "1");
}

static void test_anchors_and_merges(void **state)
{
	struct fx *f = *state;
	const struct ynode *r = parse(f, "base: &b {x: 1, y: 2}\n"
				      "more: &m {z: 3, y: 4}\n"
				      "one: {<<: *b, y: 9}\n"
				      "two: {<<: [*m, *b], w: 0}\n"
				      "'<<': literal\n"
				      "s: &s hello\n"
				      "t: *s\n",
				      0);
	const struct ynode *one = ytree_get(r, "one");
	assert_int_equal(one->npairs, 2);
	assert_string_equal(ytree_get(one, "x")->str, "1");
	assert_string_equal(ytree_get(one, "y")->str, "9");
	const struct ynode *two = ytree_get(r, "two");
	assert_int_equal(two->npairs, 4);
	assert_string_equal(ytree_get(two, "y")->str, "4");
	assert_string_equal(ytree_get(two, "x")->str, "1");
	assert_string_equal(ytree_get(r, "<<")->str, "literal");
	assert_ptr_equal(ytree_get(r, "t"), ytree_get(r, "s"));
	assert_int_equal(f->d.n, 0);

	parse(f, "a: {<<: 3}\n", 0);
	assert_true(has_diag(&f->d, 1, 5, "'<<' merges a mapping or a list of mappings, "
			     "got integer"));
}

static void test_limits(void **state)
{
	struct fx *f = *state;
	/* 8 * 8 * 8 = 512 nodes through aliases: under 1000; 4096 is not. */
	parse(f, "a: &a [1,2,3,4,5,6,7,8]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n"
		 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b]\n", 0);
	assert_int_equal(f->d.n, 0);
	parse(f, "a: &a [1,2,3,4,5,6,7,8]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n"
		 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n", -1);
	assert_true(has_diag(&f->d, 4, 5, "alias '*c' expands the file past the "
			     "yaml_nodes limit (1000 YAML nodes; an alias bomb?)"));
	qdiags_release(&f->d);
	parse(f, "[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]\n", -1);
	assert_true(has_diag(&f->d, 1, 17, "nested deeper than the yaml_depth limit (16 levels)"));
	qdiags_release(&f->d);
	parse(f, "a: &a [*a]\n", -1);
	assert_true(has_diag(&f->d, 1, 8, "alias '*a' refers to a node that contains it"));
	qdiags_release(&f->d);
	parse(f, "{[a]: 1}\n", -1);
	assert_true(has_diag(&f->d, 1, 2, "a mapping key must be a string, got list"));
	qdiags_release(&f->d);
	parse(f, "x: &x {a: 1}\n*x : 2\n", -1);
	assert_true(has_diag(&f->d, 2, 1, "a mapping key must be a string, got mapping"));
}

static void test_empty_and_syntax(void **state)
{
	struct fx *f = *state;
	assert_null(parse(f, "", 0));
	assert_null(parse(f, "# nothing\n", 0));
	const struct ynode *n = parse(f, "~\n", 0);
	assert_int_equal(n->type, YT_NULL);
	parse(f, "a: 'unterminated\n", -1);
	assert_int_equal(f->d.n, 1);
	/* Placed at the opening quote: where the fix goes. */
	assert_string_equal(f->d.items[0].msg, "invalid YAML: this quoted string is never "
			    "closed (add the closing quote)");
	assert_int_equal(f->d.items[0].line, 1);
	assert_int_equal(f->d.items[0].col, 4);
}

/* Text counts at its expanded size: an alias adds what it stands for. */
static void test_bytes(void **state)
{
	struct fx *f = *state;
	const struct ynode *r = parse(f, "a: &x hello\nb: [*x, *x]\n", 0);
	assert_int_equal(ytree_get(r, "a")->bytes, 5);
	assert_int_equal(ytree_get(r, "b")->bytes, 10);
	assert_int_equal(r->bytes, 1 + 5 + 1 + 10);

	static const struct ytree_limits lim = {1000, 16, 20};
	struct ynode *root = NULL;
	const char *text = "a: &x 0123456789\nb: [*x, *x]\n";
	assert_int_equal(ytree_parse(f->a, text, strlen(text), &lim, &root, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	assert_true(has_diag(&f->d, 2, 5, "alias '*x' expands the file past the yaml_bytes "
			     "limit (20 bytes of text; an alias bomb?)"));
	qdiags_release(&f->d);
	qdiags_init(&f->d, "t.yaml");
	text = "a: 0123456789012345678901\n";
	assert_int_equal(ytree_parse(f->a, text, strlen(text), &lim, &root, &f->d), -1);
	assert_true(has_diag(&f->d, 1, 4, "the file has more text than the yaml_bytes limit "
			     "(20 bytes)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_positions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_scalars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_typing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchors_and_merges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_syntax, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
