/* The four wire formats end to end: one workflow asks an OpenAI, an
 * Anthropic, a Gemini and an Ollama model over real HTTP (the mock server
 * speaks all four on one port), streaming and not, with their faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static const char scenario[] =
	"models:\n"
	"  gpt-x: {latency: 50ms, answer: \"from openai\\nAnswer: 7\"}\n"
	"  claude-x: {latency: 50ms, answer: \"from anthropic\\nAnswer: 7\"}\n"
	"  gemini-x: {latency: 50ms, answer: \"from gemini\\nAnswer: 7\"}\n"
	"  llama-x: {latency: 50ms, answer: \"from ollama\\nAnswer: 8\"}\n"
	"  claude-busy:\n"
	"    latency: 10ms\n"
	"    answer: \"after 529\"\n"
	"    faults: [{type: status, status: 529, first: 1}]\n"
	"  gemini-unsafe: {latency: 10ms, answer: x, faults: [{type: safety}]}\n"
	"  llama-cut: {latency: 10ms, answer: \"a long answer cut midway\","
	" faults: [{type: cut, after_chars: 6}]}\n";

static int setup(void **state) { return h_group_setup(state, scenario); }

static int teardown(void **state) { return h_group_teardown(state); }

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *resp_at(struct harness *h, const char *node, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(h_node(h, node),
								   "responses"), i);
}

static void write_wf(struct harness *h, const char *defaults, const char *models)
{
	char yaml[4096];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "defaults: {%s}\n"
		 "models:\n"
		 "  o: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: gpt-x}\n"
		 "  a: {provider: anthropic, base_url: BASE_URL, api_key_env: \"\", model: %s}\n"
		 "  g: {provider: gemini, base_url: BASE_URL, api_key_env: \"\", model: %s}\n"
		 "  l: {provider: ollama, base_url: BASE_URL, model: %s}\n"
		 "nodes:\n"
		 "  ask: {kind: generate, models: [o, a, g, l], prompt: \"{{ query }}\"}\n"
		 "  pick: {kind: vote, from: ask, extract: number}\n",
		 defaults, models, models + strlen(models) + 1,
		 models + strlen(models) + 1 + strlen(models + strlen(models) + 1) + 1);
	h_workflow(h, yaml);
}

static void check_all_four(struct harness *h)
{
	static const char *const texts[] = {"from openai\nAnswer: 7", "from anthropic\nAnswer: 7",
					    "from gemini\nAnswer: 7", "from ollama\nAnswer: 8"};
	assert_string_equal(h_run(h, "q", NULL), "ok");
	for (int i = 0; i < 4; i++) {
		const cJSON *r = resp_at(h, "ask", i);
		assert_string_equal(str_of(r, "text"), texts[i]);
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(r, "input_tokens")));
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(r, "output_tokens")));
		assert_string_equal(str_of(r, "finish_reason"), "stop");
	}
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(h->report, "output");
	assert_string_equal(out->valuestring, "7");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.peak_in_flight, 4);
}

static void test_four_formats_streaming(void **state)
{
	struct harness *h = *state;
	write_wf(h, "stream: true", "claude-x\0gemini-x\0llama-x");
	mock_reset_stats(h->mock);
	check_all_four(h);
}

static void test_four_formats_whole(void **state)
{
	struct harness *h = *state;
	write_wf(h, "stream: false", "claude-x\0gemini-x\0llama-x");
	mock_reset_stats(h->mock);
	check_all_four(h);
}

/* Anthropic's 529 is retried; a Gemini safety block is content_filter and
 * not retried; an Ollama stream cut midway is truncated, never short */
static void test_format_faults(void **state)
{
	struct harness *h = *state;
	write_wf(h, "retries: 1", "claude-busy\0gemini-unsafe\0llama-cut");
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "partial");
	const cJSON *a = resp_at(h, "ask", 1);
	assert_string_equal(str_of(a, "status"), "ok");
	assert_string_equal(str_of(a, "text"), "after 529");
	assert_int_equal(cJSON_GetObjectItem(a, "attempts")->valueint, 2);
	const cJSON *g = resp_at(h, "ask", 2);
	assert_string_equal(str_of(g, "status"), "failed");
	assert_int_equal(cJSON_GetObjectItem(g, "attempts")->valueint, 1);
	assert_string_equal(str_of(cJSON_GetObjectItem(g, "error"), "class"), "content_filter");
	assert_int_equal(mock_model_requests(h->mock, "gemini-unsafe"), 1);
	const cJSON *l = resp_at(h, "ask", 3);
	assert_string_equal(str_of(l, "status"), "failed");
	assert_null(str_of(l, "text"));
	assert_string_equal(str_of(cJSON_GetObjectItem(l, "error"), "class"), "truncated");
}

int main(void)
{
	quorum_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_formats_streaming),
		cmocka_unit_test(test_four_formats_whole),
		cmocka_unit_test(test_format_faults),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	quorum_global_cleanup();
	return rc;
}
