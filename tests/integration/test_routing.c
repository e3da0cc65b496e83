/* The routers of the routing field end to end over real HTTP against the
 * mock server: a plan's subtasks routed by the planner's difficulty
 * (HybridFlow), what each router promises a user, proven by the report
 * and by what the mock saw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* The planner answers with estimates only when asked for them. */
static const char scenario[] =
	"models:\n"
	"  planner-est:\n"
	"    rules:\n"
	"      - contains: 'how hard it is for a small model'\n"
	"        answer: '{\"subtasks\": [{\"id\": \"e\", \"task\": \"the easy part\","
	" \"difficulty\": \"easy\", \"tokens\": 50}, {\"id\": \"h\", \"task\": \"the hard"
	" part\", \"difficulty\": \"hard\", \"tokens\": 400}, {\"id\": \"long\", \"task\":"
	" \"the long part\", \"difficulty\": 0.5, \"tokens\": 2000}, {\"id\": \"n\", \"task\":"
	" \"the part with no estimate\", \"difficulty\": \"whatever\"}]}'\n"
	"      - answer: 'not a plan'\n"
	"  small: {answer: \"small did it\"}\n"
	"  big: {answer: \"big did it\"}\n"
	"  twin: {answer: \"from A\"}\n"
	"  right: {answer: \"It is 4.\\nAnswer: 4\"}\n"
	"  wrong: {answer: \"It is 5.\\nAnswer: 5\"}\n"
	"  rater:\n"
	"    answer: \"Rating: [[2]]\"\n"
	"    rules: [{regex: '(?s)Answer: 4', answer: \"Rating: [[9]]\"}]\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

/* A workflow whose models are all the mock's, by the same names. */
static void write_wf(struct harness *h, const char *models, const char *nodes)
{
	char yaml[8192];
	int n = snprintf(yaml, sizeof(yaml), "version: 1\ndefaults: {retries: 0}\nmodels:\n");
	for (const char *p = models; *p;) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);
		n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
			      "  %.*s: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
			      " model: %.*s}\n", (int)len, p, (int)len, p);
		p += len;
		while (*p == ' ')
			p++;
	}
	snprintf(yaml + n, sizeof(yaml) - (size_t)n, "nodes:\n%s", nodes);
	h_workflow(h, yaml);
}

/* HybridFlow's subtask routing: the planner says how hard each subtask
 * is; hard ones and long ones go to the strong model, the rest (and one
 * without a readable estimate) to the small one. */
static void test_subtasks_by_difficulty(void **state)
{
	struct harness *h = *state;
	write_wf(h, "planner-est small big",
		 "  p:\n"
		 "    kind: plan\n"
		 "    model: planner-est\n"
		 "    run:\n"
		 "      kind: route\n"
		 "      routes:\n"
		 "        - {when: {difficulty: hard}, to: big}\n"
		 "        - {when: {tokens: {min: 1000}}, to: big}\n"
		 "      default: small\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "do the whole thing", "t.jsonl"), "ok");
	assert_int_equal(mock_model_requests(h->mock, "planner-est"), 1);
	assert_int_equal(mock_model_requests(h->mock, "big"), 2);   /* h, long */
	assert_int_equal(mock_model_requests(h->mock, "small"), 2); /* e, n */
	const char *out = cJSON_GetObjectItem(h->report, "output")->valuestring;
	assert_non_null(strstr(out, "[h] the hard part\nbig did it"));
	assert_non_null(strstr(out, "[e] the easy part\nsmall did it"));
	/* The trace says which rule sent each subtask where. */
	char path[400];
	snprintf(path, sizeof(path), "%s/t.jsonl", h->dir);
	char *trace = h_read(path);
	assert_non_null(strstr(trace, "\"subtask\":\"h\",\"rule\":\"routes[0]: difficulty"));
	assert_non_null(strstr(trace, "\"subtask\":\"long\",\"rule\":\"routes[1]: tokens 2000\""));
	assert_non_null(strstr(trace, "\"subtask\":\"n\",\"rule\":\"default\""));
	free(trace);
}

/* ---- a model's endpoints (LiteLLM's deployments) ---- */

/* A second server: endpoint B of the model; its URL in url. */
static struct mock *second(const char *scenario_b, char *url, size_t n)
{
	struct qerr e = {0};
	struct mock *m = mock_start("b", scenario_b, strlen(scenario_b), 0, &e);
	if (!m)
		fail_msg("second mock: %s", e.msg);
	snprintf(url, n, "http://127.0.0.1:%d/v1", mock_port(m));
	return m;
}

/* A workflow of one node: samples calls to model `ep`, whose endpoints
 * are the harness's mock (A) and url_b (B); b_extra names B's key. */
static void write_endpoints(struct harness *h, const char *url_b, const char *model_extra,
			    const char *a_extra, const char *b_extra, int samples)
{
	char yaml[4096];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "defaults: {retries: 1}\n"
		 "models:\n"
		 "  ep:\n"
		 "    provider: openai\n"
		 "    model: twin\n"
		 "    endpoints:\n"
		 "      - {base_url: BASE_URL, api_key_env: \"\"%s}\n"
		 "      - {base_url: \"%s\"%s}\n"
		 "    %s\n"
		 "nodes:\n"
		 "  ask: {kind: generate, models: [ep], samples: %d, prompt: \"{{ query }}\"}\n",
		 a_extra, url_b, b_extra, model_extra, samples);
	h_workflow(h, yaml);
}

/* Weighted shuffle: 3 to 1 over 200 calls (binomial: 150 +- 25 is more
 * than 4 standard deviations). */
static void test_endpoints_weighted(void **state)
{
	struct harness *h = *state;
	char url_b[128];
	struct mock *b = second("models:\n  twin: {answer: from B}\n", url_b, sizeof(url_b));
	write_endpoints(h, url_b, "strategy: shuffle", ", weight: 3",
			", api_key_env: \"\", weight: 1", 200);
	mock_reset_stats(h->mock);
	const char *st = h_run(h, "q", NULL);
	if (strcmp(st, "ok"))
		fail_msg("%s", h->report_text);
	long a = mock_model_requests(h->mock, "twin"), nb = mock_model_requests(b, "twin");
	assert_int_equal(a + nb, 200);
	assert_true(a > 125 && a < 175);
	mock_stop(b);
}

/* An endpoint that answers 429 rests for its Retry-After: the retry goes
 * to the other one at once, and the resting one is not asked again this
 * run. Every call succeeds. */
static void test_endpoints_rate_limited(void **state)
{
	struct harness *h = *state;
	char url_b[128];
	struct mock *b = second("models:\n  twin:\n    answer: from B\n    faults: [{type: "
				"status, status: 429, retry_after: 30}]\n", url_b, sizeof(url_b));
	/* latency, one call at a time: each endpoint is measured first, so B
	 * is tried once, rests, and A takes the rest. */
	write_endpoints(h, url_b, "strategy: latency\n    max_concurrency: 1", "",
			", api_key_env: \"\"", 10);
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", "t.jsonl"), "ok");
	assert_int_equal(mock_model_requests(b, "twin"), 1);
	assert_int_equal(mock_model_requests(h->mock, "twin"), 10);
	/* The retry did not wait out B's 30 s: A was free. */
	char path[400];
	snprintf(path, sizeof(path), "%s/t.jsonl", h->dir);
	char *trace = h_read(path);
	const char *retry = strstr(trace, "\"event\":\"retry\"");
	assert_non_null(retry);
	const char *delay = strstr(retry, "\"delay_ms\":");
	assert_non_null(delay);
	assert_true(atol(delay + 11) < 5000);
	free(trace);
	mock_stop(b);
}

/* latency: after each is measured, the fast endpoint takes the calls. */
static void test_endpoints_latency(void **state)
{
	struct harness *h = *state;
	char url_b[128];
	struct mock *b = second("models:\n  twin: {answer: fast B, latency: 1ms}\n", url_b,
				sizeof(url_b));
	h_stop(h);
	h_start(h, "models:\n  twin: {answer: slow A, latency: 60ms}\n");
	write_endpoints(h, url_b, "strategy: latency\n    max_concurrency: 1", "",
			", api_key_env: \"\"", 30);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_int_equal(mock_model_requests(h->mock, "twin"), 1);
	assert_int_equal(mock_model_requests(b, "twin"), 29);
	mock_stop(b);
	h_stop(h);
	h_start(h, scenario);
}

/* Each endpoint's key variable is checked before any call, at its line. */
static void test_endpoints_keys(void **state)
{
	struct harness *h = *state;
	unsetenv("QUORUM_TEST_KEY_B");
	write_endpoints(h, "http://127.0.0.1:9/v1", "strategy: shuffle", "",
			", api_key_env: QUORUM_TEST_KEY_B", 1);
	char *out, *err;
	int rc = h_cli(h, "run wf.yaml q", &out, &err);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(err, "wf.yaml:9:9: model 'ep' needs the environment variable "
				    "QUORUM_TEST_KEY_B, which is not set"));
	free(out);
	free(err);
}

/* ---- the bandit ---- */

static void write_bandit(struct harness *h, const char *reward)
{
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "name: learner\n"
		 "defaults: {retries: 0}\n"
		 "models:\n"
		 "  right: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: right}\n"
		 "  wrong: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: wrong}\n"
		 "  rater: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: rater}\n"
		 "nodes:\n"
		 "  pick: {kind: bandit, arms: [wrong, right], state: bandit.db%s}\n", reward);
	h_workflow(h, yaml);
}

/* A judge's ratings teach the bandit which arm is good: after a cold
 * start it asks the right model nearly always; every choice, its arm and
 * its reward are in the report. */
static void test_bandit_learns_from_judge(void **state)
{
	struct harness *h = *state;
	write_bandit(h, ", reward: {judge: rater}");
	int right_late = 0;
	for (int i = 0; i < 40; i++) {
		assert_string_equal(h_run(h, "what is 2 + 2?", NULL), "ok");
		const cJSON *b = cJSON_GetObjectItem(h_node(h, "pick"), "bandit");
		assert_non_null(b);
		const char *arm = cJSON_GetObjectItem(b, "arm")->valuestring;
		double reward = cJSON_GetObjectItem(b, "reward")->valuedouble;
		assert_true(reward == (!strcmp(arm, "right") ? 0.9 : 0.2));
		/* The cold start (one turn each) scores nothing: null, not
		 * zeros; then every arm has its score. */
		const cJSON *scores = cJSON_GetObjectItem(b, "scores");
		if (i < 2) {
			assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "cold_start")));
			assert_true(cJSON_IsNull(scores));
		} else {
			assert_true(cJSON_IsObject(scores));
			assert_true(cJSON_IsNumber(cJSON_GetObjectItem(scores, "right")));
		}
		if (i >= 20)
			right_late += !strcmp(arm, "right");
	}
	assert_true(right_late >= 16);
}

/* Feedback later: the run's choice waits for its reward, takes one, and
 * refuses a second. A state file that cannot be written costs the
 * learning, not the answer. */
static void test_bandit_feedback(void **state)
{
	struct harness *h = *state;
	write_bandit(h, "");
	char *out, *err;
	assert_int_equal(h_cli(h, "run wf.yaml 'what is 2 + 2?' --json --quiet", &out, &err), 0);
	cJSON *rep = cJSON_Parse(out);
	assert_non_null(rep);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "feedback wf.yaml %s 1",
		 cJSON_GetObjectItem(rep, "run_id")->valuestring);
	cJSON_Delete(rep);
	free(out);
	free(err);
	assert_int_equal(h_cli(h, cmd, &out, &err), 0);
	assert_non_null(strstr(out, "rewarded 1 choice of run"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, cmd, &out, &err), 1);
	assert_non_null(strstr(err, "no bandit choice waiting for a reward"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "feedback wf.yaml abc 2", &out, &err), 2);
	free(out);
	free(err);
	/* What the state file has learnt (here and in the test before): one
	 * node, both arms. */
	assert_int_equal(h_cli(h, "bandit stats --state bandit.db", &out, &err), 0);
	assert_non_null(strstr(out, "learner/pick#"));
	assert_non_null(strstr(out, " queries, mean cost $"));
	assert_non_null(strstr(out, "mean reward"));
	assert_non_null(strstr(out, "  right "));
	assert_non_null(strstr(out, "  wrong "));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "bandit stats --state missing.db", &out, &err), 1);
	assert_non_null(strstr(err, "cannot read bandit state 'missing.db'"));
	free(out);
	free(err);
	assert_int_equal(h_cli(h, "bandit stats", &out, &err), 2);
	free(out);
	free(err);
	/* --help says what a second reward does: it is refused. */
	assert_int_equal(h_cli(h, "feedback --help", &out, &err), 0);
	assert_non_null(strstr(out, "a second is refused\n(exit status 1)"));
	free(out);
	free(err);

	/* The state file's folder cannot be made: partial, with the answer. */
	h_workflow(h, "version: 1\nmodels:\n"
		      "  right: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: right}\n"
		      "  wrong: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: wrong}\n"
		      "nodes:\n"
		      "  pick: {kind: bandit, arms: [wrong, right], state: /dev/null/x/bandit.db}\n");
	assert_string_equal(h_run(h, "q", NULL), "partial");
	assert_non_null(cJSON_GetObjectItem(h->report, "output")->valuestring);
	const char *why = cJSON_GetObjectItem(h_node(h, "pick"), "degraded")->valuestring;
	assert_non_null(strstr(why, "the bandit's state is not available"));
}
/* ---- routes on meaning: semantic, ask, score ---- */

/* A second scenario: bank questions of two topics and two difficulties,
 * a model that declines hard ones, an embeddings model. */
static const char meaning[] =
	"embeddings: {dim: 32, topics: {billing: [refund, invoice, charge]}}\n"
	"bank:\n"
	"  - {q: 'How do I get a refund for my invoice?', a: 'Ask support.', short: support,"
	" topic: billing, difficulty: 0.2}\n"
	"  - {q: 'Why was my card charged twice this month?', a: 'A retry.', short: retry,"
	" topic: billing, difficulty: 0.9}\n"
	"  - {q: 'What is the capital of Peru?', a: 'Lima is.', short: Lima, difficulty: 0.1}\n"
	"  - {q: 'Prove the Riemann hypothesis.', a: 'Open.', short: open, difficulty: 0.95}\n"
	"models:\n"
	"  emb: {}\n"
	"  billing: {answer: \"billing desk\"}\n"
	"  general: {answer: \"general desk\"}\n"
	"  small: {accuracy: 1, decline_above: 0.5}\n"
	"  strong: {answer: \"strong answer\"}\n";

static void write_meaning(struct harness *h, const char *node)
{
	char yaml[4096];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "defaults: {retries: 0}\n"
		 "models:\n"
		 "  emb: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: emb}\n"
		 "  billing: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		 " model: billing}\n"
		 "  general: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		 " model: general}\n"
		 "  small: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: small}\n"
		 "  strong: {provider: openai, base_url: BASE_URL, api_key_env: \"\","
		 " model: strong}\n"
		 "nodes:\n%s", node);
	h_workflow(h, yaml);
}

static const char semantic_node[] =
	"  r:\n"
	"    kind: route\n"
	"    embed: emb\n"
	"    routes:\n"
	"      - when: {semantic: {examples: ['I want a refund', 'my invoice is wrong',"
	" 'you charged me'], threshold: 0.5}}\n"
	"        to: billing\n"
	"    default: general\n";

/* Semantic routing: a billing question goes to the billing model, another
 * to the default; the examples are embedded once for the engine's runs
 * (a batch: one engine), the prompt once per run. */
static void test_semantic(void **state)
{
	struct harness *h = *state;
	h_stop(h);
	h_start(h, meaning);
	write_meaning(h, semantic_node);
	assert_string_equal(h_run(h, "How do I get a refund for my invoice?", NULL), "ok");
	assert_string_equal(cJSON_GetObjectItem(h->report, "output")->valuestring,
			    "billing desk");
	const cJSON *route = cJSON_GetObjectItem(h_node(h, "r"), "route");
	assert_non_null(strstr(cJSON_GetObjectItem(route, "rule")->valuestring,
			       "routes[0]: semantic 0."));
	assert_string_equal(h_run(h, "What is the capital of Peru?", NULL), "ok");
	assert_string_equal(cJSON_GetObjectItem(h->report, "output")->valuestring,
			    "general desk");
	/* Embedding responses are described, not dumped. */
	const cJSON *resp = cJSON_GetObjectItem(h_node(h, "r"), "responses");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(resp, 0), "role")->valuestring,
			    "embedding");
	assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(resp, 0),
						   "text")->valuestring, "of 32 numbers"));

	h_write(h, "q.jsonl", "\"How do I get a refund for my invoice?\"\n"
		   "\"What is the capital of Peru?\"\n\"Why was my card charged twice this month?\"\n");
	mock_reset_stats(h->mock);
	char *out, *err;
	assert_int_equal(h_cli(h, "batch wf.yaml --in q.jsonl --parallel 1", &out, &err), 0);
	assert_int_equal(mock_model_requests(h->mock, "emb"), 1 + 3);
	assert_int_equal(mock_model_requests(h->mock, "billing"), 2);
	assert_int_equal(mock_model_requests(h->mock, "general"), 1);
	free(out);
	free(err);

	/* 150 examples go in two requests (no provider takes any number). */
	char *node = calloc(1, 16384);
	size_t n = (size_t)sprintf(node, "  r:\n    kind: route\n    embed: emb\n    routes:\n"
				   "      - when: {semantic: {threshold: 0.5, examples: [");
	for (int k = 0; k < 150; k++)
		n += (size_t)sprintf(node + n, "%s'refund number %d'", k ? ", " : "", k);
	sprintf(node + n, "]}}\n        to: billing\n    default: general\n");
	write_meaning(h, node);
	free(node);
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "How do I get a refund for my invoice?", NULL), "ok");
	assert_string_equal(cJSON_GetObjectItem(h->report, "output")->valuestring,
			    "billing desk");
	assert_int_equal(mock_model_requests(h->mock, "emb"), 1 + 2);
}

/* A small model answers what it can and declines the rest, which the
 * strong model then takes; the report says who declined. */
static void test_ask(void **state)
{
	struct harness *h = *state;
	write_meaning(h, "  r:\n"
			 "    kind: route\n"
			 "    routes:\n"
			 "      - ask: small\n"
			 "    default: strong\n");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "What is the capital of Peru?", NULL), "ok");
	assert_non_null(strstr(cJSON_GetObjectItem(h->report, "output")->valuestring, "Lima"));
	assert_int_equal(mock_model_requests(h->mock, "strong"), 0);
	assert_string_equal(h_run(h, "Prove the Riemann hypothesis.", NULL), "ok");
	assert_string_equal(cJSON_GetObjectItem(h->report, "output")->valuestring,
			    "strong answer");
	const cJSON *route = cJSON_GetObjectItem(h_node(h, "r"), "route");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(route, "declined"), 0)
				    ->valuestring, "small");
	assert_int_equal(mock_model_requests(h->mock, "small"), 2);
	assert_int_equal(mock_model_requests(h->mock, "strong"), 1);
}

/* The router of test_learned (32 numbers) against embeddings of 16: the
 * score route cannot hold, and the report says why; where the embed
 * model's params say 16, the file is refused at load. */
static void score_dims(struct harness *h)
{
	char *small = strdup(meaning), path[512];
	memcpy(strstr(small, "dim: 32"), "dim: 16", 7);
	snprintf(path, sizeof(path), "%s/router.json", h->dir);
	char *router = h_read(path);
	h_stop(h);
	h_start(h, small);
	free(small);
	h_write(h, "router.json", router);
	write_meaning(h, "  r:\n    kind: route\n    embed: emb\n    routes:\n"
			 "      - when: {score: {file: router.json}}\n        to: strong\n"
			 "    default: general\n");
	assert_string_equal(h_run(h, "What is the capital of Peru?", NULL), "partial");
	assert_string_equal(cJSON_GetObjectItem(h->report, "output")->valuestring,
			    "general desk");
	const char *why = cJSON_GetObjectItem(h_node(h, "r"), "degraded")->valuestring;
	assert_non_null(strstr(why, "routes[0]: the prompt's embedding has 16 numbers, but "
				    "router file 'router.json' was trained on 32"));
	h_workflow(h, "version: 1\nmodels:\n"
		      "  emb: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: emb,"
		      " params: {dimensions: 16}}\n"
		      "nodes:\n  r:\n    kind: route\n    embed: emb\n    routes:\n"
		      "      - when: {score: {file: router.json}}\n        to: openai/x\n"
		      "    default: openai/y\n");
	char *out, *err;
	assert_int_equal(h_cli(h, "validate wf.yaml", &out, &err), 2);
	assert_non_null(strstr(err, "router file 'router.json' was trained on embeddings of "
				    "32 numbers, but node 'r' asks 'emb' for 16"));
	free(out);
	free(err);
	h_stop(h);
	h_start(h, meaning);
	h_write(h, "router.json", router);
	free(router);
	write_meaning(h, "  r:\n    kind: route\n    embed: emb\n    routes:\n"
			 "      - when: {score: {file: router.json}}\n        to: strong\n"
			 "    default: general\n");
}

/* A learned router: trained from an eval's details (the weak model right
 * on easy questions only), judged, written, loaded by a score route, and
 * sending the hard question to the strong model. */
static void test_learned(void **state)
{
	struct harness *h = *state;
	write_meaning(h, "  r:\n"
			 "    kind: route\n"
			 "    embed: emb\n"
			 "    routes:\n"
			 "      - when: {score: {file: router.json}}\n"
			 "        to: strong\n"
			 "    default: general\n");
	/* Details as quorum eval writes them: 40 questions, easy and hard. */
	static const char *const qs[] = {
		"How do I get a refund for my invoice?", "Why was my card charged twice this month?",
		"What is the capital of Peru?", "Prove the Riemann hypothesis.",
	};
	char *text = calloc(1, 1 << 16);
	size_t n = 0;
	for (int k = 0; k < 40; k++) {
		const char *q = qs[k % 4];
		int hard = k % 2;
		for (int s = 0; s < 2; s++)
			n += (size_t)sprintf(text + n, "{\"id\":%d,\"query\":\"%s\",\"system\":\"%s\","
					     "\"correct\":%s}\n", k, q, s ? "strong alone" : "weak alone",
					     s || !hard ? "true" : "false");
	}
	h_write(h, "details.jsonl", text);
	free(text);
	char *out, *err;
	int rc = h_cli(h, "router train wf.yaml --node r --details details.jsonl --weak 'weak "
			  "alone' --strong 'strong alone' --out router.json --share 0.5", &out, &err);
	if (rc)
		fail_msg("router train: %s", err);
	if (!strstr(out, "router: logistic regression on 30 questions"))
		fail_msg("%s", out);
	assert_non_null(strstr(out, "APGR"));
	assert_non_null(strstr(out, "threshold"));
	free(out);
	free(err);
	assert_string_equal(h_run(h, "Prove the Riemann hypothesis.", NULL), "ok");
	assert_string_equal(cJSON_GetObjectItem(h->report, "output")->valuestring,
			    "strong answer");
	assert_string_equal(h_run(h, "What is the capital of Peru?", NULL), "ok");
	assert_string_equal(cJSON_GetObjectItem(h->report, "output")->valuestring,
			    "general desk");
	/* A --node the file lacks, or one without embed, is a usage error. */
	assert_int_equal(h_cli(h, "router train wf.yaml --node nope --details details.jsonl "
			       "--weak 'weak alone' --strong 'strong alone' --out x.json", &out,
			       &err), 2);
	assert_non_null(strstr(err, "--node: the workflow has no node 'nope'"));
	free(out);
	free(err);
	/* calibrate moves the threshold: everything to the strong model. */
	assert_int_equal(h_cli(h, "router calibrate router.json --share 1", &out, &err), 0);
	free(out);
	free(err);
	/* Rewritten through a file beside it, renamed over it: none is left. */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "! ls '%s' | grep -q 'router.json.tmp'", h->dir);
	assert_int_equal(h_sh(cmd), 0);
	assert_string_equal(h_run(h, "What is the capital of Peru?", NULL), "ok");
	assert_string_equal(cJSON_GetObjectItem(h->report, "output")->valuestring,
			    "strong answer");
	score_dims(h);
	/* A broken router file is refused at load, at the condition. */
	h_write(h, "router.json", "{\"format\": \"quorum-router\"}");
	rc = h_cli(h, "run wf.yaml q", &out, &err);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(err, "wf.yaml:14:30: router file 'router.json': "));
	free(out);
	free(err);
	write_meaning(h, "  g: {kind: generate, models: [general]}\n");
	assert_int_equal(h_cli(h, "router train wf.yaml --node g --details details.jsonl "
			       "--weak 'weak alone' --strong 'strong alone' --out x.json", &out,
			       &err), 2);
	assert_non_null(strstr(err, "--node: node 'g' has no 'embed' model"));
	free(out);
	free(err);
	h_stop(h);
	h_start(h, scenario);
}

/* Details as quorum eval writes them, n questions of the four above, the
 * weak model wrong on every other one; extra (may be "") after them. */
static void write_details(struct harness *h, int n, const char *extra)
{
	static const char *const qs[] = {
		"How do I get a refund for my invoice?", "Why was my card charged twice this month?",
		"What is the capital of Peru?", "Prove the Riemann hypothesis.",
	};
	size_t cap = (size_t)n * 256 + strlen(extra) + 1, len = 0;
	char *text = calloc(1, cap);
	assert_non_null(text);
	for (int k = 0; k < n; k++)
		for (int s = 0; s < 2; s++)
			len += (size_t)snprintf(text + len, cap - len, "{\"id\":%d,\"query\":\"%s\","
						"\"system\":\"%s\",\"correct\":%s}\n", k, qs[k % 4],
						s ? "strong" : "weak", s || k % 2 ? "true" : "false");
	snprintf(text + len, cap - len, "%s", extra);
	h_write(h, "details.jsonl", text);
	free(text);
}

/* Runs `quorum ARGS`, wants exit status rc and want in its stderr. */
static void cli_wants(struct harness *h, const char *args, int rc, const char *want)
{
	char *out, *err;
	int got = h_cli(h, args, &out, &err);
	if (got != rc || !strstr(err, want))
		fail_msg("quorum %s: exit %d (want %d), stderr '%s' lacks '%s'", args, got, rc,
			 err, want);
	free(out);
	free(err);
}

#define TRAIN "router train wf.yaml --node r --details details.jsonl --weak weak --strong strong "

/* What a careless command line or a hostile details file does to router
 * train and calibrate: a clear message, the right exit status, and no
 * file of the user's overwritten. */
static void test_router_hostile(void **state)
{
	struct harness *h = *state;
	h_stop(h);
	h_start(h, meaning);
	write_meaning(h, "  r:\n    kind: route\n    embed: emb\n    routes:\n"
			 "      - when: {score: {file: router.json}}\n        to: strong\n"
			 "    default: general\n");
	write_details(h, 12, "");
	char path[400];
	snprintf(path, sizeof(path), "%s/details.jsonl", h->dir);
	char *before = h_read(path);
	/* --out naming the details or the workflow would destroy them. */
	cli_wants(h, TRAIN "--out details.jsonl", 2, "--out 'details.jsonl' is the --details file");
	cli_wants(h, TRAIN "--out ./wf.yaml", 2, "--out './wf.yaml' is the workflow file");
	char *after = h_read(path);
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* One system as both: nothing to learn. */
	cli_wants(h, "router train wf.yaml --node r --details details.jsonl --weak weak "
		     "--strong weak --out x.json", 2, "--weak and --strong name one system 'weak'");
	/* An option without its value says so. */
	cli_wants(h, "router train wf.yaml --weak weak --node", 2, "option '--node' needs a value");
	cli_wants(h, "router calibrate x.json --share", 2, "option '--share' needs a value");
	/* A folder is not a details file, nor a router file. */
	cli_wants(h, "router train wf.yaml --node r --details . --weak weak --strong strong "
		     "--out x.json", 2, "cannot read '.': Is a directory");
	cli_wants(h, "router calibrate . --share 0.5", 2, "cannot read '.': Is a directory");
	cli_wants(h, "router calibrate missing.json --share 0.5", 2,
		  "cannot read 'missing.json': No such file or directory");
	/* One id for two questions: whose answers are whose cannot be told. */
	write_details(h, 12, "{\"id\":3,\"query\":\"Another question\",\"system\":\"weak\","
			     "\"correct\":true}\n");
	cli_wants(h, TRAIN "--out x.json", 1, "details.jsonl:25: id 3 is the id of another "
					       "question (line 7)");
	/* The same system twice for one question: which answer counts? */
	write_details(h, 12, "{\"id\":3,\"query\":\"Prove the Riemann hypothesis.\",\"system\":"
			     "\"strong\",\"correct\":false}\n");
	cli_wants(h, TRAIN "--out x.json", 1, "details.jsonl:25: a second line for id 3 and "
					       "system 'strong' (line 8)");
	/* A NUL in the query would embed half of it. */
	write_details(h, 12, "{\"id\":99,\"query\":\"half\\u0000hidden\",\"system\":\"weak\","
			     "\"correct\":true}\n");
	cli_wants(h, TRAIN "--out x.json", 1, "details.jsonl:25: ");
	/* A run that failed did not answer: it teaches nothing. */
	write_details(h, 10, "{\"id\":10,\"query\":\"What is the capital of Peru?\",\"system\":"
			     "\"weak\",\"correct\":false,\"failed\":true}\n"
			     "{\"id\":10,\"query\":\"What is the capital of Peru?\",\"system\":"
			     "\"strong\",\"correct\":true}\n");
	char *out, *err;
	assert_int_equal(h_cli(h, TRAIN "--out x.json", &out, &err), 0);
	if (!strstr(out, "router: logistic regression on 7 questions"))
		fail_msg("%s", out);
	free(out);
	free(err);
	cli_wants(h, "router calibrate x.json --share 0.5 --node r", 2,
		  "router calibrate takes --share only, not '--node'");
	/* Stopped while embedding: says so, not that the embeddings failed. */
	h_stop(h);
	h_start(h, "embeddings: {dim: 8}\nmodels:\n  emb: {latency: 10s}\n");
	write_meaning(h, "  r:\n    kind: route\n    embed: emb\n    routes:\n"
			 "      - when: {score: {file: router.json}}\n        to: strong\n"
			 "    default: general\n");
	write_details(h, 40, "");
	assert_int_equal(h_cli(h, TRAIN "--out x.json --parallel 4 2>stopped.txt & p=$!; "
			       "sleep 1; kill -TERM $p; wait $p", &out, &err), 130);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/stopped.txt", h->dir);
	err = h_read(path);
	if (!strstr(err, "quorum: interrupted after embedding 0 of 40 questions"))
		fail_msg("%s", err);
	free(err);
	h_stop(h);
	h_start(h, scenario);
}

/* Feedback and stats against a careless command line: usage errors are
 * 2, and a state file that is not there is not made by asking. */
static void test_feedback_hostile(void **state)
{
	struct harness *h = *state;
	write_bandit(h, "");
	cli_wants(h, "feedback wf.yaml '' 1", 2, "RUN_ID is empty");
	cli_wants(h, "bandit stats --state=", 2, "--state needs a FILE");
	h_workflow(h, "version: 1\nname: fresh\nmodels:\n"
		      "  right: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: right}\n"
		      "  wrong: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: wrong}\n"
		      "nodes:\n"
		      "  pick: {kind: bandit, arms: [wrong, right], state: fresh/b.db}\n");
	cli_wants(h, "feedback wf.yaml abc 1", 1, "no bandit choice waiting for a reward");
	char path[400];
	snprintf(path, sizeof(path), "%s/fresh", h->dir);
	assert_int_not_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subtasks_by_difficulty),
		cmocka_unit_test(test_endpoints_weighted),
		cmocka_unit_test(test_endpoints_rate_limited),
		cmocka_unit_test(test_endpoints_latency),
		cmocka_unit_test(test_endpoints_keys),
		cmocka_unit_test(test_bandit_learns_from_judge),
		cmocka_unit_test(test_bandit_feedback),
		cmocka_unit_test(test_semantic),
		cmocka_unit_test(test_ask),
		cmocka_unit_test(test_learned),
		cmocka_unit_test(test_router_hostile),
		cmocka_unit_test(test_feedback_hostile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
