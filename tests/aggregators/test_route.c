#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/route.h"
#include "../../common/alloc.h"
#include "../../common/qerr.h"
#include "tests.h"

/* A `when` with nothing written, as the loader leaves unset keys. */
static struct wf_cond cond_none(void)
{
	struct wf_cond c;
	memset(&c, 0, sizeof(c));
	c.min_chars = c.max_chars = -1;
	c.min_tokens = c.max_tokens = -1;
	c.min_difficulty = c.max_difficulty = -1;
	c.contains_pii = -1;
	return c;
}

static struct wf_model local_model = {.id = "local", .local = 1};
static struct wf_model cloud_model = {.id = "cloud"};
static struct wf_model big_model = {.id = "big"};

static const char *inputs(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "lang") == 0)
		return "de";
	if (strcmp(name, "tier") == 0)
		return "free";
	return NULL;
}

struct fixture {
	struct arena *a;
	struct regex *re;
	struct wf_route routes[4];
	struct wf_input_eq eq[2];
	struct wf_node node;
};

/* routes[0]: personal data -> local
 * routes[1]: a long prompt (> 40 code points) AND mentions "contract" -> big
 * routes[2]: input lang == de AND tier == free -> local
 * routes[3]: regex (?i)\bsecret\b -> local
 * default: cloud */
static int setup(void **state)
{
	struct fixture *f = q_calloc(1, sizeof(*f));
	struct qerr e;
	f->a = arena_new();
	f->re = regex_compile("(?i)\\bsecret\\b", NULL, &e);
	for (size_t i = 0; i < 4; i++)
		f->routes[i].when = cond_none();
	f->routes[0].when.contains_pii = 1;
	f->routes[0].to = &local_model;
	f->routes[1].when.min_chars = 41;
	f->routes[1].when.re = regex_compile("contract", NULL, &e);
	f->routes[1].to = &big_model;
	f->eq[0] = (struct wf_input_eq){"lang", "de"};
	f->eq[1] = (struct wf_input_eq){"tier", "free"};
	f->routes[2].when.inputs = f->eq;
	f->routes[2].when.ninputs = 2;
	f->routes[2].to = &local_model;
	f->routes[3].when.re = f->re;
	f->routes[3].to = &local_model;
	f->node.kind = NK_ROUTE;
	f->node.routes = f->routes;
	f->node.nroutes = 4;
	f->node.route_default = &cloud_model;
	*state = f;
	return f->a && f->re && f->routes[1].when.re ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	regex_free(f->re);
	regex_free(f->routes[1].when.re);
	arena_free(f->a);
	q_free(f);
	return 0;
}

static void test_pii_goes_local(void **state)
{
	struct fixture *f = *state;
	const char *rule = NULL;
	const char *prompt = "Draft a reply to anna.k@example.org about her contract renewal "
			     "and refund to card 4111 1111 1111 1111.";
	int r = route_pick(&f->node, prompt, inputs, NULL, f->a, &rule);
	assert_int_equal(r, 0);    /* first match wins over routes[1] */
	assert_true(f->node.routes[r].to->local);
	assert_string_equal(rule, "routes[0]: contains_pii (email, card)");
	assert_null(strstr(rule, "anna"));
	assert_null(strstr(rule, "4111"));
}

static void test_and_of_keys(void **state)
{
	struct fixture *f = *state;
	const char *rule = NULL;
	/* Long and mentions contract: both keys hold. */
	assert_int_equal(route_pick(&f->node, "Summarise the termination clauses of this "
					      "contract in plain words.", NULL, NULL, f->a,
				    &rule), 1);
	assert_string_equal(rule, "routes[1]: regex, min_chars 41");
	/* Mentions contract but short: not routes[1]. */
	assert_int_equal(route_pick(&f->node, "contract?", NULL, NULL, f->a, &rule), -1);
	assert_string_equal(rule, "default");
	/* 41 code points, 32 of them two bytes long: characters count. */
	char text[128] = "contract ";
	for (int i = 0; i < 31; i++)
		strcat(text, "\u00e4");
	assert_int_equal(route_utf8_len(text), 40);
	assert_int_equal(route_pick(&f->node, text, NULL, NULL, f->a, &rule), -1);
	strcat(text, "\u00e4");
	assert_int_equal(route_utf8_len(text), 41);
	assert_int_equal(strlen(text), 9 + 64);
	assert_int_equal(route_pick(&f->node, text, NULL, NULL, f->a, &rule), 1);
}

static void test_inputs(void **state)
{
	struct fixture *f = *state;
	const char *rule = NULL;
	assert_int_equal(route_pick(&f->node, "Hallo", inputs, NULL, f->a, &rule), 2);
	assert_string_equal(rule, "routes[2]: input lang, input tier");
	assert_null(strstr(rule, "de"));
	assert_null(strstr(rule, "free"));
	/* Without the inputs, the route does not hold. */
	assert_int_equal(route_pick(&f->node, "Hallo", NULL, NULL, f->a, &rule), -1);
}

static void test_regex_rule_hides_match(void **state)
{
	struct fixture *f = *state;
	const char *rule = NULL;
	assert_int_equal(route_pick(&f->node, "The SECRET plan", NULL, NULL, f->a, &rule), 3);
	assert_string_equal(rule, "routes[3]: regex");
	assert_null(strstr(rule, "SECRET"));
	assert_null(strstr(rule, "secret"));
}

static void test_default_and_edge_cases(void **state)
{
	struct fixture *f = *state;
	const char *rule = NULL;
	assert_int_equal(route_pick(&f->node, "What is 2+2?", NULL, NULL, f->a, &rule), -1);
	assert_string_equal(rule, "default");
	assert_int_equal(route_pick(&f->node, NULL, NULL, NULL, f->a, &rule), -1);
	assert_int_equal(route_pick(&f->node, "x", NULL, NULL, f->a, NULL), -1);

	/* contains_pii: false, max_chars, and a `when` with no key. */
	struct wf_route r[2] = {{.line = 0}};
	r[0].when = cond_none();
	r[0].when.contains_pii = 0;
	r[0].when.max_chars = 10;
	r[1].when = cond_none();
	struct wf_node n = {.kind = NK_ROUTE, .routes = r, .nroutes = 2};
	assert_int_equal(route_pick(&n, "hi there", NULL, NULL, f->a, &rule), 0);
	assert_string_equal(rule, "routes[0]: max_chars 10, contains_pii false");
	assert_int_equal(route_pick(&n, "mail a@b.io", NULL, NULL, f->a, &rule), 1);
	assert_string_equal(rule, "routes[1]: always");
	assert_int_equal(route_pick(&n, "a long prompt without data", NULL, NULL, NULL,
				    &rule), 1);
	assert_string_equal(rule, "route");
}

int test_route_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pii_goes_local),
		cmocka_unit_test(test_and_of_keys),
		cmocka_unit_test(test_inputs),
		cmocka_unit_test(test_regex_rule_hides_match),
		cmocka_unit_test(test_default_and_edge_cases),
	};
	return cmocka_run_group_tests_name("route", tests, setup, teardown);
}
