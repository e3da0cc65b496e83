/* The mock's Anthropic, Gemini and Ollama formats over real HTTP: each
 * one's answer, stream, errors and faults in the shape the real API uses,
 * and the log and counters that see every format. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../../common/clock.h"
#include "../../sim/sim.h"
#include "test_http.h"

static const char scenario[] =
	"seed: 3\n"
	"models:\n"
	"  fixed: {answer: 'The fixed answer, said in pieces.', chunk_chars: 5}\n"
	"  vendor/model-x: {answer: slashed}\n"
	"  rl: {answer: ok, faults: [{type: status, status: 429, retry_after: 2, first: 1}]}\n"
	"  over: {faults: [{type: status, status: 529}]}\n"
	"  down: {faults: [{type: status, status: 503}]}\n"
	"  safe: {faults: [{type: safety}]}\n"
	"  pblock: {faults: [{type: safety, block: prompt}]}\n"
	"  mid:\n"
	"    answer: 0123456789abcdefghij\n"
	"    chunk_chars: 4\n"
	"    faults: [{type: status, status: 500, after_chars: 8, message: 'mock: broke midway'}]\n"
	"  cut:\n"
	"    answer: 0123456789abcdefghijklmnopqrstuvwxyz\n"
	"    chunk_chars: 4\n"
	"    faults: [{type: cut, after_chars: 12}]\n"
	"  mal: {answer: hello, faults: [{type: malformed}]}\n"
	"  drip: {answer: abcdefghij, chunk_chars: 2, chunk_delay: 60ms}\n"
	"  quiet: {answer: hush, usage: false}\n"
	"  acc: {accuracy: 1.0}\n"
	"bank:\n"
	"  - q: What is the capital of Australia?\n"
	"    a: Canberra is the capital of Australia.\n"
	"    short: Canberra\n"
	"    wrong: [Sydney]\n";

#define FIXED "The fixed answer, said in pieces."
/* "Be brief." and "hi": ceil(9/4) + 4 + ceil(2/4) + 4. */
#define PROMPT_TOKENS 12
#define FIXED_TOKENS 9 /* ceil(33/4) */

static int setup(void **state)
{
	struct qerr e = {0};
	struct mock *m = mock_start("wire", scenario, strlen(scenario), 0, &e);
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

static int port_of(void **state) { return mock_port(*state); }

/* ---- JSON and framing helpers ---- */

/* Follows a path of keys and array indexes: "content.0.text". */
static cJSON *jpath(const cJSON *j, const char *path)
{
	char key[64];
	while (j && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (isdigit((unsigned char)key[0]))
			j = cJSON_GetArrayItem(j, atoi(key));
		else
			j = cJSON_GetObjectItemCaseSensitive(j, key);
		path += n + (path[n] == '.');
	}
	return (cJSON *)j;
}

static const char *jstr(const cJSON *j, const char *path)
{
	const cJSON *v = jpath(j, path);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static long jnum(const cJSON *j, const char *path)
{
	const cJSON *v = jpath(j, path);
	assert_true(cJSON_IsNumber(v));
	return (long)v->valuedouble;
}

static cJSON *parse_body(const struct resp *r)
{
	cJSON *j = cJSON_Parse(buf_str(&r->body));
	if (!j)
		fprintf(stderr, "not JSON: %s\n", buf_str(&r->body));
	assert_non_null(j);
	return j;
}

struct events {
	char *name[64], *data[64];
	int n;
};

/* Splits a stream into events at `sep`: "event:" and "data:" lines, or
 * whole lines (NDJSON, sep "\n"). */
static void events_split(const char *body, const char *sep, struct events *ev)
{
	memset(ev, 0, sizeof(*ev));
	size_t sl = strlen(sep);
	for (const char *p = body; *p && ev->n < 64;) {
		const char *end = strstr(p, sep);
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *one = strndup(p, len);
		char *data = one;
		if (!strncmp(one, "event: ", 7)) {
			char *nl = strchr(one, '\n');
			assert_non_null(nl);
			ev->name[ev->n] = strndup(one + 7, (size_t)(nl - one - 7));
			data = nl + 1;
		}
		if (sl > 1) {
			assert_memory_equal(data, "data: ", 6);
			data += 6;
		}
		ev->data[ev->n++] = strdup(data);
		free(one);
		p += len + (end ? sl : 0);
	}
}

static void events_free(struct events *ev)
{
	for (int i = 0; i < ev->n; i++) {
		free(ev->name[i]);
		free(ev->data[i]);
	}
}

static int has_header(const struct resp *r, const char *line)
{
	return strstr(buf_str(&r->headers), line) != NULL;
}

/* ---- Anthropic ---- */

static const char *const anthropic_hdr[] = {
	"anthropic-version: 2023-06-01", "x-api-key: sk-ant-secret",
	"content-type: application/json", NULL,
};

static char *anthropic_body(const char *model, int stream, const char *user)
{
	static char b[512];
	snprintf(b, sizeof(b),
		 "{\"model\":\"%s\",\"max_tokens\":100,\"stream\":%s,\"system\":\"Be brief.\","
		 "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
		 "\"text\":\"%s\"}]}]}",
		 model, stream ? "true" : "false", user);
	return b;
}

static void anthropic(int port, const char *model, int stream, struct resp *r)
{
	http_h(port, "/v1/messages", anthropic_hdr, anthropic_body(model, stream, "hi"),
	       5000, r);
}

static void test_anthropic_json(void **state)
{
	struct resp r;
	anthropic(port_of(state), "fixed", 0, &r);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "application/json"));
	cJSON *j = parse_body(&r);
	assert_memory_equal(jstr(j, "id"), "msg_", 4);
	assert_string_equal(jstr(j, "type"), "message");
	assert_string_equal(jstr(j, "role"), "assistant");
	assert_string_equal(jstr(j, "model"), "fixed");
	assert_int_equal(cJSON_GetArraySize(jpath(j, "content")), 1);
	assert_string_equal(jstr(j, "content.0.type"), "text");
	assert_string_equal(jstr(j, "content.0.text"), FIXED);
	assert_string_equal(jstr(j, "stop_reason"), "end_turn");
	assert_true(cJSON_IsNull(jpath(j, "stop_sequence")));
	assert_int_equal(jnum(j, "usage.input_tokens"), PROMPT_TOKENS);
	assert_int_equal(jnum(j, "usage.output_tokens"), FIXED_TOKENS);
	cJSON_Delete(j);
	resp_release(&r);
}

static void test_anthropic_stream(void **state)
{
	static const char *const want[] = {
		"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_stop", "message_delta",
		"message_stop",
	};
	struct resp r;
	anthropic(port_of(state), "fixed", 1, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_true(has_header(&r, "text/event-stream"));
	struct events ev;
	events_split(buf_str(&r.body), "\n\n", &ev);
	assert_int_equal(ev.n, 13);
	char text[128] = "";
	for (int i = 0; i < ev.n; i++) {
		assert_string_equal(ev.name[i], want[i]);
		cJSON *j = cJSON_Parse(ev.data[i]);
		assert_non_null(j);
		assert_string_equal(jstr(j, "type"), want[i]); /* data names itself */
		if (!strcmp(want[i], "message_start")) {
			assert_int_equal(jnum(j, "message.usage.input_tokens"), PROMPT_TOKENS);
			assert_int_equal(jnum(j, "message.usage.output_tokens"), 1);
			assert_int_equal(cJSON_GetArraySize(jpath(j, "message.content")), 0);
		} else if (!strcmp(want[i], "content_block_delta")) {
			assert_string_equal(jstr(j, "delta.type"), "text_delta");
			strcat(text, jstr(j, "delta.text"));
		} else if (!strcmp(want[i], "message_delta")) {
			assert_string_equal(jstr(j, "delta.stop_reason"), "end_turn");
			assert_int_equal(jnum(j, "usage.output_tokens"), FIXED_TOKENS);
		}
		cJSON_Delete(j);
	}
	assert_string_equal(text, FIXED);
	events_free(&ev);
	resp_release(&r);
}

static void check_anthropic_error(const struct resp *r, int status, const char *type)
{
	assert_int_equal(r->status, status);
	cJSON *j = parse_body(r);
	assert_string_equal(jstr(j, "type"), "error");
	assert_string_equal(jstr(j, "error.type"), type);
	assert_true(*jstr(j, "error.message"));
	cJSON_Delete(j);
}

static void test_anthropic_errors(void **state)
{
	int port = port_of(state);
	struct resp r;
	anthropic(port, "rl", 0, &r);
	check_anthropic_error(&r, 429, "rate_limit_error");
	assert_true(has_header(&r, "Retry-After: 2\r\n"));
	resp_release(&r);
	anthropic(port, "rl", 0, &r);
	assert_int_equal(r.status, 200);
	resp_release(&r);
	anthropic(port, "over", 1, &r);
	check_anthropic_error(&r, 529, "overloaded_error");
	resp_release(&r);
	anthropic(port, "nope", 0, &r);
	check_anthropic_error(&r, 404, "not_found_error");
	assert_non_null(strstr(buf_str(&r.body), "nope"));
	resp_release(&r);

	/* What the real API refuses, so a provider that sends it finds out. */
	static const char *const bad[] = {
		"{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
		("{\"model\":\"fixed\",\"max_tokens\":5,\"messages\":[{\"role\":\"system\","
		 "\"content\":\"x\"},{\"role\":\"user\",\"content\":\"x\"}]}"),
		"{\"model\":\"fixed\",\"max_tokens\":5,\"messages\":[]}",
		"{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
		"not json",
	};
	static const char *const says[] = {"max_tokens", "top-level `system`",
					   "at least one", "model", "JSON"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		http_h(port, "/v1/messages", anthropic_hdr, bad[i], 5000, &r);
		check_anthropic_error(&r, 400, "invalid_request_error");
		assert_non_null(strstr(buf_str(&r.body), says[i]));
		resp_release(&r);
	}
	static const char *const no_version[] = {"x-api-key: k", NULL};
	http_h(port, "/v1/messages", no_version, anthropic_body("fixed", 0, "hi"), 5000, &r);
	check_anthropic_error(&r, 400, "invalid_request_error");
	assert_non_null(strstr(buf_str(&r.body), "anthropic-version"));
	resp_release(&r);
}

static void test_anthropic_faults(void **state)
{
	int port = port_of(state);
	struct resp r;
	anthropic(port, "safe", 0, &r);
	cJSON *j = parse_body(&r);
	assert_string_equal(jstr(j, "stop_reason"), "refusal");
	assert_int_equal(cJSON_GetArraySize(jpath(j, "content")), 0);
	cJSON_Delete(j);
	resp_release(&r);
	anthropic(port, "safe", 1, &r);
	assert_null(strstr(buf_str(&r.body), "content_block"));
	assert_non_null(strstr(buf_str(&r.body), "\"stop_reason\":\"refusal\""));
	resp_release(&r);

	/* An error event midway: the pieces up to 8 bytes, then `error`. */
	anthropic(port, "mid", 1, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	struct events ev;
	events_split(buf_str(&r.body), "\n\n", &ev);
	assert_string_equal(ev.name[ev.n - 1], "error");
	j = cJSON_Parse(ev.data[ev.n - 1]);
	assert_string_equal(jstr(j, "type"), "error");
	assert_string_equal(jstr(j, "error.type"), "api_error");
	assert_string_equal(jstr(j, "error.message"), "mock: broke midway");
	cJSON_Delete(j);
	assert_non_null(strstr(ev.data[ev.n - 2], "\"4567\""));
	events_free(&ev);
	resp_release(&r);

	anthropic(port, "cut", 1, &r);
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	assert_non_null(strstr(buf_str(&r.body), "\"89ab\""));
	assert_null(strstr(buf_str(&r.body), "cdef"));
	assert_null(strstr(buf_str(&r.body), "message_stop"));
	resp_release(&r);

	anthropic(port, "mal", 0, &r);
	assert_int_equal(r.status, 200);
	assert_null(cJSON_Parse(buf_str(&r.body)));
	resp_release(&r);

	anthropic(port, "drip", 1, &r);
	assert_true(r.ms >= 230); /* five pieces, four gaps of 60 ms */
	assert_non_null(strstr(buf_str(&r.body), "message_stop"));
	resp_release(&r);
}

/* ---- Gemini ---- */

static const char *const gemini_hdr[] = {
	"x-goog-api-key: AIza-secret", "content-type: application/json", NULL,
};

static const char gemini_body[] =
	"{\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"}]},"
	"\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
	"\"generationConfig\":{\"maxOutputTokens\":50,\"temperature\":0.5}}";

/* POST /v1beta/models/{model}:{method}{query} */
static void gemini(int port, const char *model, const char *method,
		   const char *query, const char *body, struct resp *r)
{
	char path[256];
	snprintf(path, sizeof(path), "/v1beta/models/%s:%s%s", model, method, query);
	http_h(port, path, gemini_hdr, body ? body : gemini_body, 5000, r);
}

static void check_gemini_text(const cJSON *j, const char *text, int last)
{
	assert_string_equal(jstr(j, "candidates.0.content.parts.0.text"), text);
	assert_string_equal(jstr(j, "candidates.0.content.role"), "model");
	assert_int_equal(jnum(j, "candidates.0.index"), 0);
	assert_int_equal(jnum(j, "usageMetadata.promptTokenCount"), PROMPT_TOKENS);
	assert_string_equal(jstr(j, "modelVersion"), "fixed");
	assert_true(*jstr(j, "responseId"));
	if (!last) {
		assert_null(jpath(j, "candidates.0.finishReason"));
		return;
	}
	assert_string_equal(jstr(j, "candidates.0.finishReason"), "STOP");
	assert_int_equal(jnum(j, "usageMetadata.candidatesTokenCount"), FIXED_TOKENS);
	assert_int_equal(jnum(j, "usageMetadata.totalTokenCount"),
			 PROMPT_TOKENS + FIXED_TOKENS);
}

static void test_gemini_json(void **state)
{
	struct resp r;
	gemini(port_of(state), "fixed", "generateContent", "", NULL, &r);
	assert_int_equal(r.status, 200);
	cJSON *j = parse_body(&r);
	check_gemini_text(j, FIXED, 1);
	cJSON_Delete(j);
	resp_release(&r);
}

static void test_gemini_stream(void **state)
{
	struct resp r;
	gemini(port_of(state), "fixed", "streamGenerateContent", "?alt=sse", NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_true(has_header(&r, "text/event-stream"));
	assert_null(strstr(buf_str(&r.body), "[DONE]"));
	struct events ev;
	events_split(buf_str(&r.body), "\r\n\r\n", &ev);
	assert_int_equal(ev.n, 7);
	char text[128] = "";
	for (int i = 0; i < ev.n; i++) {
		cJSON *j = cJSON_Parse(ev.data[i]);
		assert_non_null(j);
		const char *piece = jstr(j, "candidates.0.content.parts.0.text");
		check_gemini_text(j, piece, i == ev.n - 1);
		strcat(text, piece);
		cJSON_Delete(j);
	}
	assert_string_equal(text, FIXED);
	events_free(&ev);
	resp_release(&r);

	/* Without alt=sse, Gemini streams one JSON array. */
	gemini(port_of(state), "fixed", "streamGenerateContent", "", NULL, &r);
	cJSON *j = parse_body(&r);
	assert_true(cJSON_IsArray(j));
	assert_int_equal(cJSON_GetArraySize(j), 7);
	check_gemini_text(jpath(j, "6"), "es.", 1);
	cJSON_Delete(j);
	resp_release(&r);
}

static void check_gemini_error(const struct resp *r, int status, const char *name)
{
	assert_int_equal(r->status, status);
	cJSON *j = parse_body(r);
	assert_int_equal(jnum(j, "error.code"), status);
	assert_string_equal(jstr(j, "error.status"), name);
	assert_true(*jstr(j, "error.message"));
	cJSON_Delete(j);
}

static void test_gemini_errors(void **state)
{
	int port = port_of(state);
	struct resp r;
	gemini(port, "rl", "generateContent", "", NULL, &r);
	check_gemini_error(&r, 429, "RESOURCE_EXHAUSTED");
	assert_true(has_header(&r, "Retry-After: 2\r\n"));
	resp_release(&r);
	gemini(port, "down", "streamGenerateContent", "?alt=sse", NULL, &r);
	check_gemini_error(&r, 503, "UNAVAILABLE");
	resp_release(&r);
	gemini(port, "nope", "generateContent", "", NULL, &r);
	check_gemini_error(&r, 404, "NOT_FOUND");
	assert_non_null(strstr(buf_str(&r.body), "models/nope is not found"));
	resp_release(&r);
	gemini(port, "fixed", "generateContent", "",
	       "{\"contents\":[{\"role\":\"assistant\",\"parts\":[{\"text\":\"x\"}]}]}", &r);
	check_gemini_error(&r, 400, "INVALID_ARGUMENT");
	assert_non_null(strstr(buf_str(&r.body), "valid role: user, model"));
	resp_release(&r);
	gemini(port, "fixed", "generateContent", "", "{\"contents\":[]}", &r);
	check_gemini_error(&r, 400, "INVALID_ARGUMENT");
	resp_release(&r);
	gemini(port, "fixed", "countTokens", "", NULL, &r);
	assert_int_equal(r.status, 404);
	resp_release(&r);
}

static void test_gemini_faults(void **state)
{
	int port = port_of(state);
	struct resp r;
	gemini(port, "safe", "generateContent", "", NULL, &r);
	cJSON *j = parse_body(&r);
	assert_string_equal(jstr(j, "candidates.0.finishReason"), "SAFETY");
	assert_null(jpath(j, "candidates.0.content"));
	cJSON_Delete(j);
	resp_release(&r);
	gemini(port, "pblock", "streamGenerateContent", "?alt=sse", NULL, &r);
	struct events ev;
	events_split(buf_str(&r.body), "\r\n\r\n", &ev);
	assert_int_equal(ev.n, 1);
	j = cJSON_Parse(ev.data[0]);
	assert_string_equal(jstr(j, "promptFeedback.blockReason"), "SAFETY");
	assert_null(jpath(j, "candidates"));
	cJSON_Delete(j);
	events_free(&ev);
	resp_release(&r);

	gemini(port, "mid", "streamGenerateContent", "?alt=sse", NULL, &r);
	assert_int_equal(r.status, 200);
	events_split(buf_str(&r.body), "\r\n\r\n", &ev);
	assert_int_equal(ev.n, 3);
	j = cJSON_Parse(ev.data[2]);
	assert_int_equal(jnum(j, "error.code"), 500);
	assert_string_equal(jstr(j, "error.status"), "INTERNAL");
	cJSON_Delete(j);
	events_free(&ev);
	resp_release(&r);

	gemini(port, "cut", "streamGenerateContent", "?alt=sse", NULL, &r);
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	assert_null(strstr(buf_str(&r.body), "finishReason"));
	resp_release(&r);
}

/* The model comes from the path, decoded; a ?key= is noted, never kept. */
static void test_gemini_url(void **state)
{
	int port = port_of(state);
	struct resp r;
	static const char *const plain[] = {"content-type: application/json", NULL};
	http_h(port, "/v1beta/models/vendor%2Fmodel-x:generateContent?key=AIza-in-query",
	       plain, gemini_body, 5000, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(buf_str(&r.body), "slashed"));
	resp_release(&r);
	http(port, "/_mock/requests?model=vendor/model-x", NULL, 5000, &r);
	assert_null(strstr(buf_str(&r.body), "AIza-in-query"));
	cJSON *j = parse_body(&r);
	assert_int_equal(cJSON_GetArraySize(j), 1);
	assert_string_equal(jstr(j, "0.format"), "gemini");
	assert_string_equal(jstr(j, "0.auth_header"), "query");
	assert_int_equal(jnum(j, "0.max_tokens"), 50);
	assert_string_equal(jstr(j, "0.messages.0.role"), "system");
	assert_string_equal(jstr(j, "0.messages.1.content"), "hi");
	cJSON_Delete(j);
	resp_release(&r);
}

/* ---- Ollama ---- */

static void ollama(int port, const char *model, const char *stream, struct resp *r)
{
	char b[512];
	snprintf(b, sizeof(b),
		 "{\"model\":\"%s\",%s\"options\":{\"temperature\":0.25,\"num_predict\":64},"
		 "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
		 "{\"role\":\"user\",\"content\":\"hi\"}]}",
		 model, stream);
	http(port, "/api/chat", b, 5000, r);
}

static void check_ollama_done(const cJSON *j, const char *content)
{
	assert_true(cJSON_IsTrue(jpath(j, "done")));
	assert_string_equal(jstr(j, "done_reason"), "stop");
	assert_string_equal(jstr(j, "message.role"), "assistant");
	assert_string_equal(jstr(j, "message.content"), content);
	assert_int_equal(jnum(j, "prompt_eval_count"), PROMPT_TOKENS);
	assert_int_equal(jnum(j, "eval_count"), FIXED_TOKENS);
	assert_true(jnum(j, "total_duration") > 0);
	assert_true(jnum(j, "eval_duration") > 0);
	/* "2024-08-07T03:57:33.036588812Z" */
	assert_int_equal(strlen(jstr(j, "created_at")), 30);
}

static void test_ollama_stream(void **state)
{
	struct resp r;
	ollama(port_of(state), "fixed", "", &r); /* no "stream": Ollama streams */
	assert_int_equal(r.rc, CURLE_OK);
	assert_true(has_header(&r, "application/x-ndjson"));
	struct events ev;
	events_split(buf_str(&r.body), "\n", &ev);
	assert_int_equal(ev.n, 8);
	char text[128] = "";
	for (int i = 0; i < ev.n; i++) {
		cJSON *j = cJSON_Parse(ev.data[i]);
		assert_non_null(j);
		assert_string_equal(jstr(j, "model"), "fixed");
		if (i < ev.n - 1) {
			assert_true(cJSON_IsFalse(jpath(j, "done")));
			strcat(text, jstr(j, "message.content"));
		} else {
			check_ollama_done(j, "");
		}
		cJSON_Delete(j);
	}
	assert_string_equal(text, FIXED);
	events_free(&ev);
	resp_release(&r);
}

static void test_ollama_json(void **state)
{
	struct resp r;
	ollama(port_of(state), "fixed", "\"stream\":false,", &r);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "application/json"));
	cJSON *j = parse_body(&r);
	check_ollama_done(j, FIXED);
	cJSON_Delete(j);
	resp_release(&r);

	http(port_of(state), "/_mock/requests?model=fixed", NULL, 5000, &r);
	j = parse_body(&r);
	assert_string_equal(jstr(j, "0.format"), "ollama");
	assert_int_equal(jnum(j, "0.max_tokens"), 64);
	assert_true(jpath(j, "0.temperature")->valuedouble == 0.25);
	cJSON_Delete(j);
	resp_release(&r);

	http(port_of(state), "/api/tags", NULL, 5000, &r);
	assert_non_null(strstr(buf_str(&r.body), "{\"name\":\"fixed\""));
	resp_release(&r);
}

static void test_ollama_errors(void **state)
{
	int port = port_of(state);
	struct resp r;
	ollama(port, "nope", "", &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(buf_str(&r.body),
			    "{\"error\":\"model 'nope' not found, try pulling it first\"}");
	resp_release(&r);
	ollama(port, "down", "\"stream\":false,", &r);
	assert_int_equal(r.status, 503);
	cJSON *j = parse_body(&r);
	assert_true(*jstr(j, "error"));
	cJSON_Delete(j);
	resp_release(&r);
	http(port, "/api/chat", "{\"messages\":[]}", 5000, &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(buf_str(&r.body), "{\"error\":\"model is required\"}"));
	resp_release(&r);
}

static void test_ollama_faults(void **state)
{
	int port = port_of(state);
	struct resp r;
	ollama(port, "mid", "", &r);
	assert_int_equal(r.rc, CURLE_OK);
	struct events ev;
	events_split(buf_str(&r.body), "\n", &ev);
	assert_int_equal(ev.n, 3);
	assert_string_equal(ev.data[2], "{\"error\":\"mock: broke midway\"}");
	events_free(&ev);
	resp_release(&r);

	ollama(port, "cut", "", &r);
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	assert_null(strstr(buf_str(&r.body), "\"done\":true"));
	resp_release(&r);

	ollama(port, "mal", "", &r);
	events_split(buf_str(&r.body), "\n", &ev);
	assert_int_equal(ev.n, 1);
	assert_null(cJSON_Parse(ev.data[0]));
	events_free(&ev);
	resp_release(&r);

	ollama(port, "safe", "\"stream\":false,", &r);
	cJSON *j = parse_body(&r);
	assert_string_equal(jstr(j, "message.content"), "");
	cJSON_Delete(j);
	resp_release(&r);
}

/* ---- what every format shares ---- */

static void test_wire_log_and_stats(void **state)
{
	int port = port_of(state);
	struct resp r;
	static const char *const bearer[] = {"Authorization: Bearer sk-secret", NULL};
	http_h(port, "/v1/chat/completions", bearer,
	       "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}",
	       5000, &r);
	resp_release(&r);
	anthropic(port, "fixed", 0, &r);
	resp_release(&r);
	gemini(port, "fixed", "generateContent", "", NULL, &r);
	resp_release(&r);
	ollama(port, "fixed", "", &r);
	resp_release(&r);

	struct mock_stats st;
	mock_get_stats(*state, &st);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.completed, 4);
	assert_int_equal(mock_model_requests(*state, "fixed"), 4);
	http(port, "/_mock/requests", NULL, 5000, &r);
	assert_null(strstr(buf_str(&r.body), "secret"));
	cJSON *j = parse_body(&r);
	static const char *const formats[] = {"openai", "anthropic", "gemini", "ollama"};
	static const char *const via[] = {"authorization", "x-api-key", "x-goog-api-key", NULL};
	for (int i = 0; i < 4; i++) {
		char p[32];
		snprintf(p, sizeof(p), "%d.format", i);
		assert_string_equal(jstr(j, p), formats[i]);
		snprintf(p, sizeof(p), "%d.auth", i);
		assert_int_equal(cJSON_IsTrue(jpath(j, p)), via[i] != NULL);
		snprintf(p, sizeof(p), "%d.auth_header", i);
		if (via[i])
			assert_string_equal(jstr(j, p), via[i]);
	}
	assert_string_equal(jstr(j, "1.anthropic_version"), "2023-06-01");
	assert_int_equal(jnum(j, "1.max_tokens"), 100);
	assert_string_equal(jstr(j, "1.messages.0.role"), "system");
	assert_string_equal(jstr(j, "1.messages.0.content"), "Be brief.");
	assert_string_equal(jstr(j, "1.messages.1.content"), "hi");
	cJSON_Delete(j);
	resp_release(&r);
}

/* The bank question is found wherever each format puts the prompt. */
static void test_wire_bank(void **state)
{
	int port = port_of(state);
	struct resp r;
	http_h(port, "/v1/messages", anthropic_hdr,
	       "{\"model\":\"acc\",\"max_tokens\":9,\"system\":[{\"type\":\"text\",\"text\":"
	       "\"Q: What is the capital of Australia?\"}],\"messages\":[{\"role\":"
	       "\"user\",\"content\":\"go\"}]}", 5000, &r);
	assert_non_null(strstr(buf_str(&r.body), "\\n\\nAnswer: Canberra\""));
	resp_release(&r);
	gemini(port, "acc", "generateContent", "",
	       "{\"system_instruction\":{\"parts\":[{\"text\":\"What is the capital of "
	       "Australia?\"}]},\"contents\":[{\"parts\":[{\"text\":\"go\"}]}]}", &r);
	assert_non_null(strstr(buf_str(&r.body), "\\n\\nAnswer: Canberra\""));
	resp_release(&r);
	http(port, "/api/chat", "{\"model\":\"acc\",\"stream\":false,\"messages\":"
	     "[{\"role\":\"user\",\"content\":\"What is the capital of Australia?\"}]}",
	     5000, &r);
	assert_non_null(strstr(buf_str(&r.body), "\\n\\nAnswer: Canberra\""));
	resp_release(&r);
}

/* usage: false drops usage where the format lets it go. */
static void test_wire_quiet(void **state)
{
	int port = port_of(state);
	struct resp r;
	gemini(port, "quiet", "generateContent", "", NULL, &r);
	assert_null(strstr(buf_str(&r.body), "usageMetadata"));
	resp_release(&r);
	ollama(port, "quiet", "\"stream\":false,", &r);
	assert_null(strstr(buf_str(&r.body), "eval_count\""));
	resp_release(&r);
	anthropic(port, "quiet", 0, &r); /* Anthropic's schema requires usage */
	assert_non_null(strstr(buf_str(&r.body), "\"output_tokens\":1"));
	resp_release(&r);
}

int test_wire_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_anthropic_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anthropic_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anthropic_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anthropic_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gemini_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gemini_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gemini_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gemini_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gemini_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ollama_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ollama_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ollama_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ollama_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wire_log_and_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wire_bank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wire_quiet, setup, teardown),
	};
	return cmocka_run_group_tests_name("wire formats", tests, NULL, NULL);
}
