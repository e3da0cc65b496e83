#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../aggregators/plan.h"
#include "tests.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

static int setup(void **state)
{
	*state = arena_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	arena_free(*state);
	return 0;
}

static const char valid[] =
	"{\"subtasks\": ["
	"{\"id\": \"s1\", \"task\": \"Find the population of France\", \"needs\": []},"
	"{\"id\": \"s2\", \"task\": \"Find the population of Germany\"},"
	"{\"id\": \"s3\", \"task\": \"Compare them\", \"needs\": [\"s1\", \"s2\", \"s1\"]}]}";

static void test_valid(void **state)
{
	struct plan p;
	struct qerr e;
	assert_int_equal(plan_parse(valid, 8, *state, &p, &e), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.subtasks[0].id, "s1");
	assert_string_equal(p.subtasks[1].task, "Find the population of Germany");
	assert_int_equal(p.subtasks[1].nneeds, 0);           /* missing needs = [] */
	assert_int_equal(p.subtasks[2].nneeds, 2);           /* duplicate merged */
	assert_int_equal(p.subtasks[2].needs[0], 0);
	assert_int_equal(p.subtasks[2].needs[1], 1);
	assert_int_equal(p.order[0], 0);
	assert_int_equal(p.order[1], 1);
	assert_int_equal(p.order[2], 2);
}

/* Fenced, with prose around it, needs pointing forwards: the order puts
 * every subtask after what it needs, and the listed order otherwise. */
static void test_fenced_forward_needs(void **state)
{
	const char *reply =
		"Sure! Here is the plan:\n\n```json\n"
		"{\n  \"subtasks\": [\n"
		"    {\"id\": \"final\", \"task\": \"Write the answer\", \"needs\": [\"a\", \"b\"]},\n"
		"    {\"id\": \"a\", \"task\": \"Research A\", \"needs\": [\"b\"]},\n"
		"    {\"id\": \"b\", \"task\": \"Research B\", \"needs\": null},\n"
		"    {\"id\": \"c\", \"task\": \"Side note\"}\n"
		"  ]\n}\n```\nLet me know if you want changes.";
	struct plan p;
	struct qerr e;
	assert_int_equal(plan_parse(reply, 8, *state, &p, &e), 0);
	assert_int_equal(p.n, 4);
	const size_t want[] = {2, 1, 0, 3};   /* b, a, final, c */
	assert_memory_equal(p.order, want, sizeof(want));
}

struct bad_case {
	const char *reply;
	size_t max;
	const char *msg;   /* the message, or a part of it */
};

static const struct bad_case bads[] = {
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\", \"needs\": [\"s2\"]},"
	 "{\"id\": \"s2\", \"task\": \"b\", \"needs\": [\"s1\"]}]}", 8,
	 "the needs form a cycle: s1 -> s2 -> s1 (each needs the next)"},
	{"{\"subtasks\": [{\"id\": \"x\", \"task\": \"a\"},"
	 "{\"id\": \"s1\", \"task\": \"a\", \"needs\": [\"s3\"]},"
	 "{\"id\": \"s2\", \"task\": \"b\", \"needs\": [\"s1\"]},"
	 "{\"id\": \"s3\", \"task\": \"c\", \"needs\": [\"s2\", \"x\"]}]}", 8,
	 "the needs form a cycle: s1 -> s3 -> s2 -> s1"},
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\", \"needs\": [\"s1\"]}]}", 8,
	 "the needs form a cycle: s1 -> s1"},
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\"},"
	 "{\"id\": \"s2\", \"task\": \"b\", \"needs\": [\"s9\"]}]}", 8,
	 "subtask 's2' needs unknown id 's9' (known ids: s1, s2)"},
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\"},"
	 "{\"id\": \"s1\", \"task\": \"b\"}]}", 8,
	 "subtasks 1 and 2 have the same id 's1'; ids must be unique"},
	{"{\"subtasks\": [{\"id\":\"1\",\"task\":\"t\"},{\"id\":\"2\",\"task\":\"t\"},"
	 "{\"id\":\"3\",\"task\":\"t\"},{\"id\":\"4\",\"task\":\"t\"},"
	 "{\"id\":\"5\",\"task\":\"t\"},{\"id\":\"6\",\"task\":\"t\"},"
	 "{\"id\":\"7\",\"task\":\"t\"},{\"id\":\"8\",\"task\":\"t\"},"
	 "{\"id\":\"9\",\"task\":\"t\"},{\"id\":\"10\",\"task\":\"t\"},"
	 "{\"id\":\"11\",\"task\":\"t\"},{\"id\":\"12\",\"task\":\"t\"}]}", 8,
	 "the plan has 12 subtasks, more than max_subtasks 8"},
	{"I would first research France, then Germany, then compare.", 8,
	 "the reply has no JSON object"},
	{"```json\n{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\",}]}\n```", 8,
	 "the reply is not valid JSON: error at line 2, column"},
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\"}", 8,
	 "the reply's JSON object is never closed"},
	{"{\"plan\": [\"research\", \"compare\"]}", 8, "the JSON object has no \"subtasks\" list"},
	{"{\"subtasks\": \"research then compare\"}", 8,
	 "\"subtasks\" must be a list, not a string"},
	{"{\"subtasks\": []}", 8, "\"subtasks\" is empty"},
	{"{\"subtasks\": [\"research\"]}", 8, "subtask 1 must be an object"},
	{"{\"subtasks\": [{\"id\": 1, \"task\": \"a\"}]}", 8,
	 "subtask 1: \"id\" must be a string, not a number"},
	{"{\"subtasks\": [{\"task\": \"a\"}]}", 8, "subtask 1 has no \"id\""},
	{"{\"subtasks\": [{\"id\": \"  \", \"task\": \"a\"}]}", 8, "subtask 1: \"id\" is empty"},
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"\"}]}", 8,
	 "subtask 's1': \"task\" is empty"},
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": [\"a\"]}]}", 8,
	 "subtask 's1': \"task\" must be a string, not a list"},
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\", \"needs\": \"s0\"}]}", 8,
	 "subtask 's1': \"needs\" must be a list of ids, not a string"},
	{"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"a\", \"needs\": [1]}]}", 8,
	 "subtask 's1': needs entry 1 must be an id string, not a number"},
	{"", 8, "the reply has no JSON object"},
};

static void test_refusals(void **state)
{
	for (size_t i = 0; i < N(bads); i++) {
		struct plan p;
		struct qerr e;
		memset(&e, 0, sizeof(e));
		int rc = plan_parse(bads[i].reply, bads[i].max, *state, &p, &e);
		if (rc != -1)
			fail_msg("case %zu accepted", i);
		if (!strstr(e.msg, bads[i].msg))
			fail_msg("case %zu: message \"%s\", want \"%s\"", i, e.msg, bads[i].msg);
		assert_int_equal(p.n, 0);
	}
	struct plan p;
	struct qerr e;
	assert_int_equal(plan_parse(NULL, 8, *state, &p, &e), -1);
}

static void test_prompts(void **state)
{
	(void)state;
	struct buf sys = BUF_INIT, user = BUF_INIT;
	assert_int_equal(plan_build_prompt(&sys, &user, "Compare France and Germany", 5, 0), 0);
	assert_non_null(strstr(buf_str(&sys), "ONLY a JSON object"));
	assert_non_null(strstr(buf_str(&sys), "{\"subtasks\": [{\"id\": \"s1\""));
	assert_non_null(strstr(buf_str(&sys), "at most 5 subtasks"));
	assert_string_equal(buf_str(&user), "Task:\nCompare France and Germany");
	buf_reset(&sys);
	buf_reset(&user);
	assert_int_equal(plan_build_retry_prompt(&sys, &user, "Compare", 5, 0, "{bad",
						 "the reply's JSON object is never closed"), 0);
	assert_non_null(strstr(buf_str(&user), "Your previous plan:\n{bad"));
	assert_non_null(strstr(buf_str(&user),
			       "refused: the reply's JSON object is never closed.\n"));
	assert_non_null(strstr(buf_str(&user), "only the corrected JSON object"));
	/* Estimates are asked for only when a route uses them. */
	assert_null(strstr(buf_str(&sys), "difficulty"));
	buf_reset(&sys);
	buf_reset(&user);
	assert_int_equal(plan_build_prompt(&sys, &user, "Compare", 5, 1), 0);
	assert_non_null(strstr(buf_str(&sys), "\"difficulty\": \"easy\", \"medium\" or \"hard\""));
	buf_release(&sys);
	buf_release(&user);
}

/* The planner's estimates: names, numbers, and what cannot be read is
 * unknown, never a refusal. */
static void test_estimates(void **state)
{
	struct plan p;
	struct qerr e;
	const char *reply =
		"{\"subtasks\": [{\"id\": \"a\", \"task\": \"x\", \"difficulty\": \"Easy\","
		" \"tokens\": 120}, {\"id\": \"b\", \"task\": \"y\", \"difficulty\": 0.9},"
		" {\"id\": \"c\", \"task\": \"z\", \"difficulty\": 7, \"tokens\": -3},"
		" {\"id\": \"d\", \"task\": \"w\", \"difficulty\": \"hard\", \"tokens\": \"many\"}]}";
	assert_int_equal(plan_parse(reply, 8, *state, &p, &e), 0);
	assert_true(p.subtasks[0].difficulty > 0.16 && p.subtasks[0].difficulty < 0.17);
	assert_int_equal(p.subtasks[0].tokens, 120);
	assert_true(p.subtasks[1].difficulty == 0.9);
	assert_int_equal(p.subtasks[1].tokens, -1);
	assert_true(p.subtasks[2].difficulty == -1);
	assert_int_equal(p.subtasks[2].tokens, -1);
	assert_true(p.subtasks[3].difficulty > 0.83 && p.subtasks[3].difficulty < 0.84);
	assert_int_equal(p.subtasks[3].tokens, -1);
}

static void test_subtask_prompt_and_results(void **state)
{
	struct plan p;
	struct qerr e;
	assert_int_equal(plan_parse(valid, 8, *state, &p, &e), 0);
	const char *results[] = {"68 million", "84 million", NULL};
	struct buf out = BUF_INIT;
	assert_int_equal(plan_subtask_prompt(&out, "Which is bigger?", &p, 2, results), 0);
	const char *s = buf_str(&out);
	assert_non_null(strstr(s, "Overall task:\nWhich is bigger?"));
	const char *r1 = strstr(s, "[s1] Find the population of France\n68 million");
	const char *r2 = strstr(s, "[s2] Find the population of Germany\n84 million");
	assert_non_null(r1);
	assert_non_null(r2);
	assert_true(r1 < r2);
	assert_non_null(strstr(s, "Your step (s3):\nCompare them"));
	buf_reset(&out);
	/* A subtask without needs gets no results section. */
	assert_int_equal(plan_subtask_prompt(&out, "q", &p, 0, results), 0);
	assert_null(strstr(buf_str(&out), "Results of"));
	buf_reset(&out);
	results[2] = "Germany";
	assert_int_equal(plan_format_results(&out, &p, results), 0);
	assert_string_equal(buf_str(&out), "[s1] Find the population of France\n68 million\n\n"
					   "[s2] Find the population of Germany\n84 million\n\n"
					   "[s3] Compare them\nGermany");
	buf_release(&out);
}

int test_plan_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_fenced_forward_needs),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_prompts),
		cmocka_unit_test(test_estimates),
		cmocka_unit_test(test_subtask_prompt_and_results),
	};
	return cmocka_run_group_tests_name("plan", tests, setup, teardown);
}
