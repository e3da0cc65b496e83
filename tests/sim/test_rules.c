/* The mock's per-model rules and its answers to aggregator requests, over
 * real HTTP in all four wire formats: scripted answers, picks, rankings
 * and ratings read back with quorum's own parsers (aggregators/), the
 * simulated defaults of `quorum run --sim`, and the request log. */
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
#include "../../common/alloc.h"
#include "../../common/clock.h"
#include "../../sim/prompt.h"
#include "../../sim/sim.h"
#include "test_http.h"

static const char scenario[] =
	"seed: 7\n"
	"models:\n"
	"  scripted:\n"
	"    answer: 'Canberra.'\n"
	"    rules:\n"
	"      - {contains: 'correct or incorrect', answer: incorrect}\n"
	"      - {contains: 'CORRECT', answer: 'never: the first rule wins'}\n"
	"      - {contains: [alpha, beta], answer: both}\n"
	"      - {contains: sample, answers: [one, two, three]}\n"
	"      - {regex: '\\bQ[0-9]+\\b', answer: numbered, latency: 300ms}\n"
	"  kinds:\n"
	"    rules:\n"
	"      - {kind: self_check, answer: correct}\n"
	"      - {kind: rating, rating: 7}\n"
	"      - {kind: judge, pick: Canberra}\n"
	"      - {kind: rank, rank: [Canberra, Sydney]}\n"
	"  slow:\n"
	"    answer: late\n"
	"    rules: [{contains: wait, answer: waited, latency: 5s}]\n"
	"  sim: {accuracy: 0.8}\n"
	"  sharp: {accuracy: 0.95}\n"
	"  fixed: {answer: 'fixed wins', accuracy: 0.9}\n"
	"  plain: {accuracy: 1.0, formats: false}\n"
	"  openai/gpt-x: {answer: cloud}\n"
	"  local: {answer: local}\n"
	"bank:\n"
	"  - q: What is the capital of Australia?\n"
	"    a: The capital of Australia is Canberra, chosen in 1908.\n"
	"    short: Canberra\n"
	"    wrong: [Sydney, Melbourne]\n"
	"  - q: What is 100 divided by 8?\n"
	"    a: 100 / 8 = 12.5.\n"
	"    short: '12.5'\n"
	"    wrong: ['12', '13']\n";

#define QUESTION "What is the capital of Australia?"
#define RIGHT "The capital of Australia is Canberra, chosen in 1908.\n\nAnswer: Canberra"
#define WRONG1 "I believe the answer is Sydney.\n\nAnswer: Sydney"
#define WRONG2 "Melbourne, if I remember correctly.\n\nAnswer: Melbourne"

static int setup(void **state)
{
	struct qerr e = {0};
	struct mock *m = mock_start("rules", scenario, strlen(scenario), 0, &e);
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

/* ---- asking in each wire format ---- */

enum wire { W_OPENAI, W_ANTHROPIC, W_GEMINI, W_OLLAMA, W_COUNT };

static cJSON *message(const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	return m;
}

static cJSON *gemini_content(const char *role, const char *text)
{
	cJSON *c = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(c, "parts");
	if (role)
		cJSON_AddStringToObject(c, "role", role);
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddItemToArray(parts, p);
	return c;
}

/* The request body for model with an optional system prompt. */
static char *body_for(enum wire w, const char *model, const char *system,
		      const char *user)
{
	cJSON *b = cJSON_CreateObject(), *msgs;
	if (w == W_GEMINI) {
		if (system)
			cJSON_AddItemToObject(b, "systemInstruction", gemini_content(NULL, system));
		msgs = cJSON_AddArrayToObject(b, "contents");
		cJSON_AddItemToArray(msgs, gemini_content("user", user));
	} else {
		cJSON_AddStringToObject(b, "model", model);
		cJSON_AddBoolToObject(b, "stream", 0);
		if (w == W_ANTHROPIC) {
			cJSON_AddNumberToObject(b, "max_tokens", 1024);
			if (system)
				cJSON_AddStringToObject(b, "system", system);
		}
		msgs = cJSON_AddArrayToObject(b, "messages");
		if (system && w != W_ANTHROPIC)
			cJSON_AddItemToArray(msgs, message("system", system));
		cJSON_AddItemToArray(msgs, message("user", user));
	}
	char *s = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	return s;
}

static const char *const text_paths[W_COUNT][6] = {
	[W_OPENAI] = {"choices", "0", "message", "content"},
	[W_ANTHROPIC] = {"content", "0", "text"},
	[W_GEMINI] = {"candidates", "0", "content", "parts", "0", "text"},
	[W_OLLAMA] = {"message", "content"},
};

/* Asks model in format w; returns the answer's text (free), or NULL when
 * the request failed (r then holds the response; else r is released). */
static char *ask_r(int port, enum wire w, const char *model, const char *system,
		   const char *user, long timeout_ms, struct resp *r)
{
	static const char *const anth[] = {"anthropic-version: 2023-06-01",
					   "x-api-key: k", NULL};
	char path[256];
	const char *p = w == W_OPENAI ? "/v1/chat/completions"
			: w == W_ANTHROPIC ? "/v1/messages"
					   : "/api/chat";
	if (w == W_GEMINI)
		snprintf(path, sizeof(path), "/v1beta/models/%s:generateContent", model);
	else
		snprintf(path, sizeof(path), "%s", p);
	char *body = body_for(w, model, system, user);
	http_h(port, path, w == W_ANTHROPIC ? anth : NULL, body, timeout_ms, r);
	cJSON_free(body);
	if (r->status != 200)
		return NULL;
	cJSON *j = cJSON_Parse(buf_str(&r->body)), *v = j;
	for (size_t k = 0; k < 6 && text_paths[w][k] && v; k++) {
		const char *key = text_paths[w][k];
		v = key[0] == '0' ? cJSON_GetArrayItem(v, 0)
				  : cJSON_GetObjectItemCaseSensitive(v, key);
	}
	char *text = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
	cJSON_Delete(j);
	resp_release(r);
	return text;
}

static char *ask(int port, enum wire w, const char *model, const char *system,
		 const char *user)
{
	struct resp r;
	char *t = ask_r(port, w, model, system, user, 10000, &r);
	if (!t) {
		fprintf(stderr, "status %ld: %s\n", r.status, buf_str(&r.body));
		resp_release(&r);
		fail();
	}
	return t;
}

static void expect_answer(int port, enum wire w, const char *model,
			  const char *prompt, const char *want)
{
	char *got = ask(port, w, model, NULL, prompt);
	if (strcmp(got, want))
		fail_msg("format %d, model %s, prompt '%s': got '%s', want '%s'", w, model,
			 prompt, got, want);
	free(got);
}

static int port_of(void **state) { return mock_port(*state); }

/* ---- rules ---- */

static void test_rule_contains_first_wins(void **state)
{
	for (enum wire w = 0; w < W_COUNT; w++) {
		expect_answer(port_of(state), w, "scripted",
			      "Is it correct or incorrect? Reply with one word.", "incorrect");
		expect_answer(port_of(state), w, "scripted", "Is it CoRrEcT?",
			      "never: the first rule wins");
		expect_answer(port_of(state), w, "scripted", "ALPHA and Beta", "both");
		expect_answer(port_of(state), w, "scripted", "alpha alone", "Canberra.");
		expect_answer(port_of(state), w, "scripted", QUESTION, "Canberra.");
	}
	/* A condition may hold in the system prompt too. */
	char *t = ask(port_of(state), W_ANTHROPIC, "scripted", "Say correct or incorrect.",
		      "2 + 2 = 4");
	assert_string_equal(t, "incorrect");
	free(t);
}

static void test_rule_answers_cycle(void **state)
{
	static const char *const want[] = {"one", "two", "three", "one", "two"};
	for (size_t i = 0; i < 5; i++)
		expect_answer(port_of(state), (enum wire)(i % W_COUNT), "scripted",
			      "sample please", want[i]);
	/* Another rule does not move this rule's cursor. */
	expect_answer(port_of(state), W_OPENAI, "scripted", "alpha beta", "both");
	expect_answer(port_of(state), W_OPENAI, "scripted", "sample", "three");
	mock_reset_stats(*state);
	expect_answer(port_of(state), W_OLLAMA, "scripted", "sample", "one");
}

static void test_rule_regex_and_latency(void **state)
{
	struct resp r;
	int64_t t0 = clock_ms();
	expect_answer(port_of(state), W_GEMINI, "scripted", "Solve Q12 now", "numbered");
	assert_true(clock_ms() - t0 >= 280);
	t0 = clock_ms();
	expect_answer(port_of(state), W_GEMINI, "scripted", "Solve Q12b now", "Canberra.");
	assert_true(clock_ms() - t0 < 280);
	/* A rule's latency holds its request only; aborting it counts. */
	mock_reset_stats(*state);
	for (int i = 0; i < 3; i++) {
		assert_null(ask_r(port_of(state), W_OPENAI, "slow", NULL, "please wait", 150, &r));
		assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
		resp_release(&r);
	}
	expect_answer(port_of(state), W_OPENAI, "slow", "hello", "late");
	struct mock_stats st;
	int64_t until = clock_ms() + 3000;
	do
		mock_get_stats(*state, &st);
	while (st.aborted < 3 && clock_ms() < until);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.aborted, 3);
	assert_int_equal(st.completed, 1);
	assert_int_equal(st.in_flight, 0);
}

static void test_rule_kinds(void **state)
{
	struct buf sys = BUF_INIT, user = BUF_INIT;
	assert_int_equal(selfcheck_build_prompt(&user, QUESTION, WRONG1), 0);
	char *t = ask(port_of(state), W_OLLAMA, "kinds", NULL, buf_str(&user));
	assert_int_equal(selfcheck_parse(t), 1);
	free(t);
	buf_reset(&user);
	assert_int_equal(cascade_judge_prompt(&sys, &user, QUESTION, RIGHT, NULL), 0);
	t = ask(port_of(state), W_ANTHROPIC, "kinds", buf_str(&sys), buf_str(&user));
	assert_true(judge_parse_score(t) == 7);
	free(t);
	buf_release(&sys);
	buf_release(&user);
}

/* ---- scripted judging ---- */

static const size_t perms3[6][3] = {
	{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0},
};

/* Judges every order of the three candidates: the one holding
 * "Canberra" must come back, whatever label it has. */
static void test_pick_any_order(void **state)
{
	const char *texts[] = {WRONG1, RIGHT, WRONG2};
	for (size_t k = 0; k < 6; k++) {
		struct buf sys = BUF_INIT, user = BUF_INIT;
		assert_int_equal(judge_build_prompt(&sys, &user, QUESTION, NULL, texts,
						    perms3[k], 3), 0);
		char *t = ask(port_of(state), (enum wire)(k % W_COUNT), "kinds",
			      buf_str(&sys), buf_str(&user));
		int pos = judge_parse_verdict(t, 3);
		assert_true(pos >= 0);
		assert_int_equal(perms3[k][pos], 1);
		free(t);
		buf_release(&sys);
		buf_release(&user);
	}
	/* Five candidates, shuffled as the judge node shuffles them. */
	const char *five[] = {WRONG1, WRONG2, "Perth.", "Hobart.", RIGHT};
	for (uint64_t seed = 0; seed < 8; seed++) {
		size_t perm[5];
		judge_shuffle(5, seed, perm);
		struct buf sys = BUF_INIT, user = BUF_INIT;
		judge_build_prompt(&sys, &user, QUESTION, NULL, five, perm, 5);
		char *t = ask(port_of(state), W_GEMINI, "kinds", buf_str(&sys), buf_str(&user));
		int pos = judge_parse_verdict(t, 5);
		assert_true(pos >= 0);
		assert_int_equal(perm[pos], 4);
		free(t);
		buf_release(&sys);
		buf_release(&user);
	}
}

/* Hand-written layouts a judge prompt may use. */
static void test_pick_layouts(void **state)
{
	static const char *const prompts[] = {
		"Which is best? Answer [[A]] or [[B]] (final verdict).\n\n"
		"### Response A\nSydney, surely.\n\n### Response B\nIt is Canberra.\n",
		"Pick the best; final verdict as [[X]].\n**Response B**: Canberra\n"
		"**Response A**: Sydney\n",
		"impartial judge\n[Response B]\nMelbourne\n[Response A]\nCanberra\n",
		"impartial judge\n- Response A:\n  Perth\n- Response B:\n  Sydney\n"
		"- Response C:\n  canberra\nReply with the final verdict.",
	};
	static const int want[] = {1, 1, 0, 2};
	for (size_t i = 0; i < 4; i++) {
		char *t = ask(port_of(state), (enum wire)i, "kinds", NULL, prompts[i]);
		int pos = judge_parse_verdict(t, 3);
		if (pos != want[i])
			fail_msg("layout %zu: reply '%s' read as %d", i, t, pos);
		free(t);
	}
	/* A fragment no response holds: a reply that picks none. */
	char *t = ask(port_of(state), W_OPENAI, "kinds", NULL,
		      "impartial judge\nResponse A:\nSydney\nResponse B:\nPerth\n");
	assert_int_equal(judge_parse_verdict(t, 2), -1);
	free(t);
}

static void test_rank_any_order(void **state)
{
	const char *texts[] = {WRONG1, "Perth, I think.", RIGHT, "Hobart."};
	for (uint64_t seed = 0; seed < 12; seed++) {
		size_t perm[4], order[4];
		judge_shuffle(4, seed, perm);
		struct buf user = BUF_INIT;
		assert_int_equal(rank_build_prompt(&user, QUESTION, NULL, texts, perm, 4), 0);
		char *t = ask(port_of(state), (enum wire)(seed % W_COUNT), "kinds", NULL,
			      buf_str(&user));
		assert_int_equal(rank_parse(t, 4, order), 4);
		/* Canberra, then Sydney, then the rest in shown order. */
		assert_int_equal(perm[order[0]], 2);
		assert_int_equal(perm[order[1]], 0);
		assert_true(order[2] < order[3]);
		free(t);
		buf_release(&user);
	}
}

/* ---- simulated defaults ---- */

static void test_sim_judge(void **state)
{
	const char *texts[] = {WRONG1, RIGHT, WRONG2};
	int right = 0;
	for (uint64_t seed = 0; seed < 60; seed++) {
		size_t perm[3];
		judge_shuffle(3, seed, perm);
		struct buf sys = BUF_INIT, user = BUF_INIT;
		judge_build_prompt(&sys, &user, QUESTION, NULL, texts, perm, 3);
		char *t = ask(port_of(state), (enum wire)(seed % W_COUNT), "sharp",
			      buf_str(&sys), buf_str(&user));
		int pos = judge_parse_verdict(t, 3);
		assert_true(pos >= 0);
		right += perm[pos] == 1;
		free(t);
		buf_release(&sys);
		buf_release(&user);
	}
	/* 95% accurate: 57 expected of 60. */
	assert_in_range(right, 50, 60);
}

static void test_sim_rank(void **state)
{
	const char *texts[] = {WRONG1, RIGHT, WRONG2, RIGHT};
	int first = 0;
	for (uint64_t seed = 0; seed < 60; seed++) {
		size_t perm[4], order[4];
		judge_shuffle(4, seed, perm);
		struct buf user = BUF_INIT;
		rank_build_prompt(&user, QUESTION, "accuracy", texts, perm, 4);
		char *t = ask(port_of(state), W_OPENAI, "sharp", NULL, buf_str(&user));
		assert_int_equal(rank_parse(t, 4, order), 4);
		first += perm[order[0]] % 2 == 1 && perm[order[1]] % 2 == 1;
		free(t);
		buf_release(&user);
	}
	assert_in_range(first, 50, 60);
}

/* Self-checks sampled again draw again: the share of verdicts that tell
 * the truth follows the accuracy (0.8). */
static void test_sim_self_check(void **state)
{
	struct buf right = BUF_INIT, wrong = BUF_INIT;
	selfcheck_build_prompt(&right, QUESTION, RIGHT);
	selfcheck_build_prompt(&wrong, QUESTION, WRONG1);
	int says_right = 0, says_wrong = 0, n = 100;
	for (int i = 0; i < n; i++) {
		char *a = ask(port_of(state), (enum wire)(i % W_COUNT), "sim", NULL,
			      buf_str(&right));
		char *b = ask(port_of(state), W_OPENAI, "sim", NULL, buf_str(&wrong));
		assert_true(selfcheck_parse(a) >= 0 && selfcheck_parse(b) >= 0);
		says_right += selfcheck_parse(a) == 1;
		says_wrong += selfcheck_parse(b) == 0;
		free(a);
		free(b);
	}
	assert_in_range(says_right, 65, 93);
	assert_in_range(says_wrong, 65, 93);
	/* Deterministic: after a reset the same samples come again. */
	mock_reset_stats(*state);
	char *first[5];
	for (int i = 0; i < 5; i++)
		first[i] = ask(port_of(state), W_OPENAI, "sim", NULL, buf_str(&right));
	mock_reset_stats(*state);
	for (int i = 0; i < 5; i++) {
		char *again = ask(port_of(state), W_OLLAMA, "sim", NULL, buf_str(&right));
		assert_string_equal(again, first[i]);
		free(again);
		free(first[i]);
	}
	buf_release(&right);
	buf_release(&wrong);
}

static void test_sim_rating(void **state)
{
	static const char *const answers[] = {RIGHT, WRONG1,
					      "The capital is Canberra."};
	for (size_t i = 0; i < 3; i++) {
		for (int k = 0; k < 6; k++) {
			struct buf sys = BUF_INIT, user = BUF_INIT;
			cascade_judge_prompt(&sys, &user, QUESTION, answers[i], NULL);
			char *t = ask(port_of(state), (enum wire)k % W_COUNT, "sim",
				      buf_str(&sys), buf_str(&user));
			double s = judge_parse_score(t);
			if (i == 1)
				assert_true(s == 3 || s == 4);
			else
				assert_true(s == 8 || s == 9);
			free(t);
			buf_release(&sys);
			buf_release(&user);
		}
	}
}

static void expect_plan(void **state, const char *task, size_t max, size_t want)
{
	struct buf sys = BUF_INIT, user = BUF_INIT;
	plan_build_prompt(&sys, &user, task, max, 0);
	char *t = ask(port_of(state), W_ANTHROPIC, "sim", buf_str(&sys), buf_str(&user));
	struct arena *a = arena_new();
	struct plan p;
	struct qerr e = {0};
	if (plan_parse(t, max, a, &p, &e))
		fail_msg("plan '%s' refused: %s", t, e.msg);
	assert_int_equal(p.n, want);
	/* Every subtask after the first builds on an earlier one. */
	for (size_t i = 1; i < p.n && want > 1; i++)
		assert_true(p.subtasks[i].nneeds >= 1 || (want == 3 && i == 1));
	free(t);
	arena_free(a);
	buf_release(&sys);
	buf_release(&user);
}

static void test_sim_plan(void **state)
{
	expect_plan(state, QUESTION, 8, 2);
	expect_plan(state, "Find the capital of Australia. Then explain why it was chosen.",
		    8, 3);
	expect_plan(state, "Find the capital of Australia. Then explain why.", 2, 2);
	expect_plan(state, "One \"quoted\" step\twith a tab", 1, 1);
	/* A retry answers with a plan of the task, not of the refusal. */
	struct buf sys = BUF_INIT, user = BUF_INIT;
	plan_build_retry_prompt(&sys, &user, QUESTION, 4, 0, "{\"subtasks\": [",
				"the reply is not valid JSON");
	char *t = ask(port_of(state), W_GEMINI, "sim", buf_str(&sys), buf_str(&user));
	assert_non_null(strstr(t, QUESTION));
	assert_null(strstr(t, "refused"));
	free(t);
	buf_release(&sys);
	buf_release(&user);
}

/* A fixed answer and `formats: false` keep their old behaviour. */
static void test_sim_opt_out(void **state)
{
	struct buf user = BUF_INIT;
	selfcheck_build_prompt(&user, QUESTION, RIGHT);
	char *t = ask(port_of(state), W_OPENAI, "fixed", NULL, buf_str(&user));
	assert_string_equal(t, "fixed wins");
	free(t);
	t = ask(port_of(state), W_OPENAI, "plain", NULL, buf_str(&user));
	assert_non_null(strstr(t, "Answer: Canberra"));
	free(t);
	buf_release(&user);
}

/* The --sim scenario's models answer every aggregator request in a form
 * quorum reads. */
static void test_sim_scenario_formats(void **state)
{
	(void)state;
	struct qerr e = {0};
	struct mock *m = mock_start("sim", mock_sim_scenario, strlen(mock_sim_scenario), 0, &e);
	assert_non_null(m);
	int port = mock_port(m);
	const char *q = "What is the chemical symbol for gold?";
	const char *texts[] = {"Ag, I think.\n\nAnswer: Ag", "It is Au.\n\nAnswer: Au"};
	size_t perm[2] = {1, 0}, order[2];
	struct buf sys = BUF_INIT, user = BUF_INIT;
	judge_build_prompt(&sys, &user, q, NULL, texts, perm, 2);
	char *t = ask(port, W_OPENAI, "sim-judge", buf_str(&sys), buf_str(&user));
	assert_true(judge_parse_verdict(t, 2) >= 0);
	free(t);
	buf_reset(&sys);
	buf_reset(&user);
	rank_build_prompt(&user, q, NULL, texts, perm, 2);
	t = ask(port, W_ANTHROPIC, "sim-strong", NULL, buf_str(&user));
	assert_int_equal(rank_parse(t, 2, order), 2);
	free(t);
	buf_reset(&user);
	selfcheck_build_prompt(&user, q, texts[1]);
	t = ask(port, W_GEMINI, "sim-weak", NULL, buf_str(&user));
	assert_true(selfcheck_parse(t) >= 0);
	free(t);
	buf_reset(&user);
	plan_build_prompt(&sys, &user, "Compare Jupiter and Mars. Say which is larger.", 6, 0);
	t = ask(port, W_OLLAMA, "sim-medium", buf_str(&sys), buf_str(&user));
	struct arena *a = arena_new();
	struct plan p;
	assert_int_equal(plan_parse(t, 6, a, &p, &e), 0);
	assert_int_equal(p.n, 3);
	arena_free(a);
	free(t);
	buf_release(&sys);
	buf_release(&user);
	mock_stop(m);
}

/* ---- the request log ---- */

static void test_log_full_text(void **state)
{
	size_t n = 200000;
	char *big = q_malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\0';
	memcpy(big + n - 32, "my email is ann@example.org ok", 30);
	free(ask(port_of(state), W_OPENAI, "local", NULL, big));
	free(ask(port_of(state), W_GEMINI, "openai/gpt-x", NULL, "nothing personal"));
	free(ask(port_of(state), W_ANTHROPIC, "local", "sys", "second"));

	struct resp r;
	http(port_of(state), "/_mock/requests?model=local", NULL, 5000, &r);
	cJSON *j = cJSON_Parse(buf_str(&r.body));
	assert_int_equal(cJSON_GetArraySize(j), 2);
	cJSON *msg = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0),
							    "messages"), 0);
	assert_string_equal(cJSON_GetObjectItem(msg, "content")->valuestring, big);
	cJSON *second = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "messages");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(second, 0), "role")
				    ->valuestring, "system");
	cJSON_Delete(j);
	resp_release(&r);

	/* A name with a slash, escaped or not; the cloud model never saw it. */
	http(port_of(state), "/_mock/requests?model=openai%2Fgpt-x", NULL, 5000, &r);
	assert_null(strstr(buf_str(&r.body), "ann@example.org"));
	j = cJSON_Parse(buf_str(&r.body));
	assert_int_equal(cJSON_GetArraySize(j), 1);
	cJSON_Delete(j);
	resp_release(&r);
	http(port_of(state), "/_mock/requests?model=openai/gpt-x", NULL, 5000, &r);
	j = cJSON_Parse(buf_str(&r.body));
	assert_int_equal(cJSON_GetArraySize(j), 1);
	cJSON_Delete(j);
	resp_release(&r);
	q_free(big);
}

/* ---- prompt reading, without HTTP ---- */

static void test_prompt_reading(void **state)
{
	(void)state;
	assert_true(prompt_says("Answer: 12.5", 12, "12.5"));
	assert_false(prompt_says("Answer: 12.5", 12, "12"));
	assert_false(prompt_says("It is 112.", 10, "12"));
	assert_true(prompt_says("It is 12, surely", 16, "12"));
	/* The last "Answer:" line decides, not the prose. */
	const char *t = "Some say Canberra.\n\nAnswer: Sydney";
	assert_false(prompt_says(t, strlen(t), "Canberra"));
	/* Mentions inside instructions are not sections. */
	struct section s[PROMPT_SECTIONS_MAX];
	const char *p = "Say \"[[A]]\" if Response A is best.\n"
			"Response B is not a header\nResponse A:\nfirst\n"
			"Response B: second\n\nYour task: rank.\n1. Response A\n";
	assert_int_equal(prompt_sections(p, s), 2);
	assert_int_equal(s[0].label, 'A');
	assert_int_equal((int)s[0].len, 5);
	assert_memory_equal(s[1].text, "second", 6);
	assert_int_equal((int)s[1].len, 6);
	assert_int_equal(prompt_kind_of("You are a planner. {\"subtasks\": []}"), PK_PLAN);
	assert_int_equal(prompt_kind_of("just a question"), PK_NONE);
	assert_int_equal(prompt_max_subtasks("- at most 5 subtasks; use"), 5);
}

/* ---- scenario errors ---- */

static void expect_bad(const char *yaml, const char *want)
{
	struct qerr e = {0};
	struct mock *m = mock_start("bad.yaml", yaml, strlen(yaml), 0, &e);
	assert_null(m);
	if (!strstr(e.msg, want))
		fail_msg("got '%s', want '%s'", e.msg, want);
}

static void test_rule_errors(void **state)
{
	(void)state;
	expect_bad("models:\n  a: {rules: [{contains: x}]}\n",
		   "models.a.rules[0]: a rule needs exactly one of answer, answers, pick");
	expect_bad("models:\n  a: {rules: [{contains: x, answer: y, rating: 3}]}\n",
		   "a rule needs exactly one");
	expect_bad("models:\n  a: {rules: [{regex: '(', answer: y}]}\n",
		   "models.a.rules[0].regex: invalid regular expression");
	expect_bad("models:\n  a: {rules: [{kind: juge, answer: y}]}\n",
		   "unknown kind 'juge' (did you mean 'judge'?)");
	expect_bad("models:\n  a: {rules: [{contians: x, answer: y}]}\n",
		   "did you mean 'contains'");
	expect_bad("models:\n  a: {rules: [{rating: 11}]}\n", "rules[0].rating");
	expect_bad("models:\n  a: {rules: [{rank: []}]}\n", "non-empty list");
	expect_bad("models:\n  a: {rules: {answer: x}}\n", "expected a list of rules");
	expect_bad("models:\n  a: {formats: 1}\n", "models.a.formats: expected true or false");
}

int test_rules_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rule_contains_first_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_answers_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_regex_and_latency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pick_any_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pick_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rank_any_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_judge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_rank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_self_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_rating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_opt_out, setup, teardown),
		cmocka_unit_test(test_sim_scenario_formats),
		cmocka_unit_test_setup_teardown(test_log_full_text, setup, teardown),
		cmocka_unit_test(test_prompt_reading),
		cmocka_unit_test(test_rule_errors),
	};
	return cmocka_run_group_tests_name("mock rules", tests, NULL, NULL);
}
