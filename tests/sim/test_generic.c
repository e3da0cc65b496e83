/* Questions the bank does not hold (generic.c), over real HTTP: the
 * simulated answer quotes the question, gives a placeholder short answer
 * made from its key words, and ends with "Answer: ..." when the prompt
 * asks for that line; a panel agrees as often as its accuracy says,
 * reruns repeat, and quorum's aggregator requests about such answers are
 * read and answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../../aggregators/cascade.h"
#include "../../aggregators/judge.h"
#include "../../aggregators/plan.h"
#include "../../aggregators/rank.h"
#include "../../common/arena.h"
#include "../../sim/generic.h"
#include "../../sim/sim.h"
#include "test_http.h"

static const char scenario[] =
	"seed: 11\n"
	"models:\n"
	"  sure: {accuracy: 1.0}\n"
	"  never: {accuracy: 0.0}\n"
	"  p1: {accuracy: 0.7}\n"
	"  p2: {accuracy: 0.7}\n"
	"  p3: {accuracy: 0.7}\n"
	"  tied-a: {accuracy: 0.7, error_group: g, correlation: 1}\n"
	"  tied-b: {accuracy: 0.7, error_group: g, correlation: 1}\n"
	"bank:\n"
	"  - q: What is the capital of Australia?\n"
	"    a: The capital of Australia is Canberra.\n"
	"    short: Canberra\n"
	"    wrong: [Sydney]\n";

#define FRANCE "What is the capital of France?"
#define LINE "End with one line of the form \"Answer: <short answer>\"."
#define SHORT "simulated capital France"

static int setup(void **state)
{
	struct qerr e = {0};
	struct mock *m = mock_start("generic", scenario, strlen(scenario), 0, &e);
	if (!m)
		fprintf(stderr, "mock_start: %s\n", e.msg);
	*state = m;
	return m ? 0 : -1;
}

static int teardown(void **state)
{
	mock_stop(*state);
	return 0;
}

enum wire { W_OPENAI, W_ANTHROPIC, W_GEMINI, W_OLLAMA, W_COUNT };

static char *body_for(enum wire w, const char *model, const char *system,
		      const char *user)
{
	cJSON *b = cJSON_CreateObject();
	if (w == W_GEMINI) {
		cJSON *c = cJSON_CreateObject(), *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "text", user);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "parts"), p);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "contents"), c);
		if (system) {
			cJSON *s = cJSON_CreateObject(), *t = cJSON_CreateObject();
			cJSON_AddStringToObject(t, "text", system);
			cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "parts"), t);
			cJSON_AddItemToObject(b, "systemInstruction", s);
		}
	} else {
		cJSON_AddStringToObject(b, "model", model);
		cJSON_AddBoolToObject(b, "stream", 0);
		cJSON_AddNumberToObject(b, "max_tokens", 512);
		cJSON *msgs = cJSON_AddArrayToObject(b, "messages"), *u = cJSON_CreateObject();
		if (system) {
			cJSON *s = cJSON_CreateObject();
			cJSON_AddStringToObject(s, "role", "system");
			cJSON_AddStringToObject(s, "content", system);
			if (w == W_ANTHROPIC)
				cJSON_AddStringToObject(b, "system", system), cJSON_Delete(s);
			else
				cJSON_AddItemToArray(msgs, s);
		}
		cJSON_AddStringToObject(u, "role", "user");
		cJSON_AddStringToObject(u, "content", user);
		cJSON_AddItemToArray(msgs, u);
	}
	char *s = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	return s;
}

/* Asks model in format w; returns the answer's text (free). */
static char *ask_w(struct mock *m, enum wire w, const char *model, const char *system,
		   const char *user)
{
	static const char *const anth[] = {"anthropic-version: 2023-06-01", NULL};
	static const char *const paths[W_COUNT] = {
		[W_OPENAI] = "choices.0.message.content", [W_ANTHROPIC] = "content.0.text",
		[W_GEMINI] = "candidates.0.content.parts.0.text",
		[W_OLLAMA] = "message.content",
	};
	char path[256];
	if (w == W_GEMINI)
		snprintf(path, sizeof(path), "/v1beta/models/%s:generateContent", model);
	else
		snprintf(path, sizeof(path), "%s", w == W_OPENAI ? "/v1/chat/completions"
						   : w == W_ANTHROPIC ? "/v1/messages"
								      : "/api/chat");
	char *body = body_for(w, model, system, user);
	struct resp r;
	http_h(mock_port(m), path, w == W_ANTHROPIC ? anth : NULL, body, 10000, &r);
	cJSON_free(body);
	if (r.status != 200)
		fail_msg("status %ld: %s", r.status, buf_str(&r.body));
	cJSON *j = cJSON_Parse(buf_str(&r.body)), *v = j;
	char key[64];
	for (const char *p = paths[w]; v && *p; p += strcspn(p, ".") + (p[strcspn(p, ".")] != 0)) {
		snprintf(key, sizeof(key), "%.*s", (int)strcspn(p, "."), p);
		v = key[0] == '0' ? cJSON_GetArrayItem(v, 0)
				  : cJSON_GetObjectItemCaseSensitive(v, key);
	}
	char *text = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
	cJSON_Delete(j);
	resp_release(&r);
	assert_non_null(text);
	return text;
}

static char *ask(struct mock *m, const char *model, const char *user)
{
	return ask_w(m, W_OPENAI, model, NULL, user);
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail);
}

/* ---- reading questions, without HTTP ---- */

static void expect_question(const char *text, const char *want)
{
	const char *q;
	size_t len;
	generic_question(text, &q, &len);
	if (strlen(want) != len || memcmp(q, want, len))
		fail_msg("question of '%s': got '%.*s', want '%s'", text, (int)len, q, want);
}

static void expect_short(const char *q, const char *want)
{
	struct buf b = BUF_INIT;
	assert_int_equal(generic_short(&b, q, strlen(q)), 0);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void test_generic_reading(void **state)
{
	(void)state;
	expect_question(FRANCE "\n\nAnswer carefully. " LINE, FRANCE);
	expect_question("  Question: " FRANCE, FRANCE);
	expect_question("List the facts needed to answer this: " FRANCE, FRANCE);
	expect_question("Be brief. What is 3.5 + 2? Show it.", "What is 3.5 + 2?");
	expect_question("Explain how a hash table works.\n\nMore.",
			"Explain how a hash table works.");
	expect_question("Task: Explain recursion", "Explain recursion");
	expect_question("", "");

	expect_short(FRANCE, SHORT);
	expect_short("Who wrote \"Hamlet\"?", "simulated wrote Hamlet");
	expect_short("What is 37 * 41?", "simulated 37 41");
	expect_short("Why is it so?", "simulated so");
	expect_short("What is it?", "simulated answer");
	expect_short("Wie groß ist Zürich heute eigentlich?",
		     "simulated Wie groß ist Zürich");

	uint64_t k = generic_key(FRANCE, strlen(FRANCE));
	const char *same = "what is the capital of  FRANCE", *spain = "What is the capital of Spain?";
	assert_true(k == generic_key(same, strlen(same)));
	assert_true(k != generic_key(spain, strlen(spain)));

	assert_true(generic_wants_line(LINE));
	assert_true(generic_wants_line("Finish with 'answer: X'."));
	assert_true(generic_wants_line("Last line: Answer: <number>"));
	assert_true(generic_wants_line("Then write Answer: ... on its own line"));
	assert_false(generic_wants_line(FRANCE));
	assert_false(generic_wants_line("A member said:\nAnswer: Paris\n"));

	const char *right = "blah. In short: " SHORT ".\n\nAnswer: " SHORT;
	assert_int_equal(generic_says(right, strlen(right)), 1);
	const char *wrong = "In short: " SHORT " variant 7.";
	assert_int_equal(generic_says(wrong, strlen(wrong)), 0);
	const char *other = "It is Paris.\n\nAnswer: Paris";
	assert_int_equal(generic_says(other, strlen(other)), -1);
	const char *bold = "**Answer:** simulated capital France";
	assert_int_equal(generic_says(bold, strlen(bold)), 1);
}

/* ---- answers ---- */

static void test_generic_answer(void **state)
{
	struct mock *m = *state;
	for (int w = 0; w < W_COUNT; w++) {
		char *t = ask_w(m, (enum wire)w, "sure", NULL, FRANCE "\n\nAnswer carefully. " LINE);
		if (!ends_with(t, "In short: " SHORT ".\n\nAnswer: " SHORT) ||
		    !strstr(t, "\"" FRANCE "\"") || !strstr(t, "simulated"))
			fail_msg("format %d: %s", w, t);
		free(t);
	}
	/* Not asked for the line: none, but the short answer in the prose. */
	char *t = ask(m, "sure", FRANCE);
	assert_true(ends_with(t, "In short: " SHORT "."));
	assert_null(strstr(t, "Answer:"));
	free(t);
	t = ask(m, "never", FRANCE " " LINE);
	assert_non_null(strstr(t, "\n\nAnswer: " SHORT " variant "));
	free(t);
	/* A bank question still gets the bank's answer. */
	t = ask(m, "sure", "What is the capital of Australia? " LINE);
	assert_true(ends_with(t, "Answer: Canberra"));
	free(t);
}

#define N_QUESTIONS 60

static char *question(int i)
{
	static char q[96];
	snprintf(q, sizeof(q), "How tall is the tower in town %d?\n\n%s", i, LINE);
	return q;
}

/* Three members of accuracy 0.7: each right about 70% of the time, the
 * right ones all alike, the wrong ones apart. */
static void test_generic_panel(void **state)
{
	struct mock *m = *state;
	static const char *const panel[] = {"p1", "p2", "p3"};
	char *got[3][N_QUESTIONS];
	int right = 0, wrong_pairs = 0, wrong_alike = 0;
	for (int i = 0; i < N_QUESTIONS; i++) {
		for (int k = 0; k < 3; k++) {
			got[k][i] = ask(m, panel[k], question(i));
			right += !strstr(got[k][i], " variant ");
		}
		for (int a = 0; a < 3; a++) {
			for (int b = a + 1; b < 3; b++) {
				const char *x = strstr(got[a][i], "Answer: ");
				const char *y = strstr(got[b][i], "Answer: ");
				int xr = !strstr(x, " variant "), yr = !strstr(y, " variant ");
				if (xr && yr)
					assert_string_equal(x, y);
				wrong_pairs += !xr && !yr;
				wrong_alike += !xr && !yr && !strcmp(x, y);
			}
		}
	}
	/* 126 expected of 180. */
	assert_in_range(right, 105, 147);
	assert_true(wrong_pairs > 5);
	assert_true(wrong_alike * 10 <= wrong_pairs);

	/* A rerun (a new server, same seed) says the same. */
	mock_stop(m);
	struct qerr e = {0};
	m = *state = mock_start("generic", scenario, strlen(scenario), 0, &e);
	assert_non_null(m);
	for (int i = 0; i < N_QUESTIONS; i++) {
		for (int k = 0; k < 3; k++) {
			char *again = ask(m, panel[k], question(i));
			assert_string_equal(again, got[k][i]);
			free(again);
			free(got[k][i]);
		}
	}
	/* An error group with correlation 1 is right together, wrong alike. */
	for (int i = 0; i < 20; i++) {
		char *a = ask(m, "tied-a", question(i)), *b = ask(m, "tied-b", question(i));
		assert_string_equal(strstr(a, "Answer: "), strstr(b, "Answer: "));
		free(a);
		free(b);
	}
}

/* ---- aggregator requests about such answers ---- */

#define RIGHT_G "It is a placeholder. In short: " SHORT ".\n\nAnswer: " SHORT
#define WRONG_G "It is a placeholder. In short: " SHORT " variant 7.\n\nAnswer: " SHORT " variant 7"
#define WRONG_G2 "In short: " SHORT " variant 40.\n\nAnswer: " SHORT " variant 40"

static void test_generic_aggregators(void **state)
{
	struct mock *m = *state;
	const char *texts[] = {WRONG_G, RIGHT_G, WRONG_G2};
	for (uint64_t seed = 0; seed < 8; seed++) {
		size_t perm[3], order[3];
		judge_shuffle(3, seed, perm);
		struct buf sys = BUF_INIT, user = BUF_INIT;
		judge_build_prompt(&sys, &user, FRANCE, NULL, texts, perm, 3);
		char *t = ask_w(m, (enum wire)(seed % W_COUNT), "sure", buf_str(&sys),
				buf_str(&user));
		int pos = judge_parse_verdict(t, 3);
		assert_true(pos >= 0 && perm[pos] == 1);
		free(t);
		buf_reset(&user);
		rank_build_prompt(&user, FRANCE, NULL, texts, perm, 3);
		t = ask(m, "sure", buf_str(&user));
		assert_int_equal(rank_parse(t, 3, order), 3);
		assert_int_equal(perm[order[0]], 1);
		free(t);
		buf_release(&sys);
		buf_release(&user);
	}
	struct buf right = BUF_INIT, wrong = BUF_INIT;
	selfcheck_build_prompt(&right, FRANCE, RIGHT_G);
	selfcheck_build_prompt(&wrong, FRANCE, WRONG_G);
	char *t = ask(m, "sure", buf_str(&right));
	assert_int_equal(selfcheck_parse(t), 1);
	free(t);
	t = ask(m, "sure", buf_str(&wrong));
	assert_int_equal(selfcheck_parse(t), 0);
	free(t);
	t = ask(m, "never", buf_str(&right));
	assert_int_equal(selfcheck_parse(t), 0);
	free(t);
	buf_release(&right);
	buf_release(&wrong);

	static const char *const rated[] = {RIGHT_G, WRONG_G, "Paris.\n\nAnswer: Paris"};
	static const double lo[] = {8, 3, 5}, hi[] = {9, 4, 7};
	for (size_t i = 0; i < 3; i++) {
		struct buf sys = BUF_INIT, user = BUF_INIT;
		cascade_judge_prompt(&sys, &user, FRANCE, rated[i], NULL);
		t = ask_w(m, W_GEMINI, "sure", buf_str(&sys), buf_str(&user));
		double s = judge_parse_score(t);
		assert_true(s >= lo[i] && s <= hi[i]);
		free(t);
		buf_release(&sys);
		buf_release(&user);
	}

	struct buf sys = BUF_INIT, user = BUF_INIT;
	plan_build_prompt(&sys, &user, FRANCE, 6, 0);
	t = ask_w(m, W_ANTHROPIC, "p1", buf_str(&sys), buf_str(&user));
	struct arena *a = arena_new();
	struct plan p;
	struct qerr e = {0};
	assert_int_equal(plan_parse(t, 6, a, &p, &e), 0);
	assert_int_equal(p.n, 2);
	arena_free(a);
	free(t);
	buf_release(&sys);
	buf_release(&user);
}

/* The --sim scenario's council members answer a question it does not
 * hold with a line quorum's vote can read. */
static void test_generic_sim_scenario(void **state)
{
	(void)state;
	struct qerr e = {0};
	struct mock *m = mock_start("sim", mock_sim_scenario, strlen(mock_sim_scenario), 0, &e);
	assert_non_null(m);
	static const char *const council[] = {"openai/gpt-4o-mini", "anthropic/claude-3.5-haiku",
					      "google/gemini-2.0-flash-001"};
	int right = 0;
	for (size_t k = 0; k < 3; k++) {
		char *t = ask(m, council[k], FRANCE "\n\nAnswer carefully. " LINE);
		assert_non_null(strstr(t, "\n\nAnswer: " SHORT));
		right += ends_with(t, "\n\nAnswer: " SHORT);
		free(t);
	}
	assert_true(right >= 2); /* a majority, for this seed and question */
	mock_stop(m);
}

int test_generic_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generic_reading),
		cmocka_unit_test_setup_teardown(test_generic_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generic_panel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generic_aggregators, setup, teardown),
		cmocka_unit_test(test_generic_sim_scenario),
	};
	return cmocka_run_group_tests_name("questions not in the bank", tests, NULL, NULL);
}
