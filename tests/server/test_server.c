/* quorum serve's pure pieces: the OpenAI request read, the response and
 * chunk shapes, errors, the model list, metrics, tokens, the report ring. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../common/alloc.h"
#include "../../server/anth.h"
#include "../../server/hangup.h"
#include "../../server/metrics.h"
#include "../../server/oai.h"
#include "../../server/render.h"
#include "../../server/runstore.h"
#include "../../server/tokens.h"

static int parse(struct oai_req *r, const char *body, struct oai_err *e)
{
	memset(e, 0, sizeof(*e));
	return oai_req_parse(r, body, strlen(body), e);
}

static void test_oai_messages(void **state)
{
	(void)state;
	struct oai_req r;
	struct oai_err e;
	assert_int_equal(parse(&r, "{\"model\":\"council\",\"messages\":["
			       "{\"role\":\"system\",\"content\":\"Be brief.\"},"
			       "{\"role\":\"user\",\"content\":\"Hi\"},"
			       "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
			       "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"No jokes.\"}]},"
			       "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is \"},"
			       "{\"type\":\"text\",\"text\":\"17 * 23?\"}]}],"
			       "\"temperature\":0.2,\"max_tokens\":50,\"stream\":true,"
			       "\"stream_options\":{\"include_usage\":true},\"quorum\":{\"report\":true}}",
			       &e), 0);
	assert_string_equal(r.model, "council");
	assert_string_equal(r.query, "What is 17 * 23?");
	assert_string_equal(r.history, "user: Hi\n\nassistant: Hello!");
	assert_string_equal(r.system, "Be brief.\n\nNo jokes.");
	assert_true(r.stream);
	assert_true(r.include_usage);
	assert_true(r.has_temperature);
	assert_true(r.temperature > 0.19 && r.temperature < 0.21);
	assert_int_equal(r.max_tokens, 50);
	assert_true(r.want_report);
	oai_req_release(&r);

	assert_int_equal(parse(&r, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", &e), 0);
	assert_null(r.history);
	assert_null(r.system);
	assert_false(r.stream);
	assert_false(r.has_temperature);
	assert_int_equal(r.max_tokens, 0);
	oai_req_release(&r);
}

static void test_oai_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *body, *param, *words;
	} cases[] = {
		{"{", NULL, "not valid JSON"},
		{"[]", NULL, "JSON object"},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", "model", "'model' is required"},
		{"{\"model\":\"m\"}", "messages", "non-empty array"},
		{"{\"model\":\"m\",\"messages\":[]}", "messages", "non-empty array"},
		{"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"q\"}]}",
		 "messages", "last message must be the user's"},
		{"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
		 "messages", "only text content parts"},
		{"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":7}]}", "messages",
		 "string or an array"},
		{"{\"model\":\"m\",\"messages\":[{\"content\":\"a\"},{\"role\":\"user\",\"content\":\"q\"}]}",
		 "messages", "no 'role'"},
		{"{\"model\":\"m\",\"temperature\":3,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
		 "temperature", "from 0 to 2"},
		{"{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
		 "max_tokens", "positive integer"},
		{"{\"model\":\"m\",\"max_completion_tokens\":1.5,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
		 "max_completion_tokens", "positive integer"},
		{"{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", "n",
		 "n = 1"},
		{"{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
		 "stream", "boolean"},
		{"{\"model\":\"m\",\"quorum\":1,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
		 "quorum", "must be an object"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oai_req r;
		struct oai_err e;
		assert_int_equal(parse(&r, cases[i].body, &e), -1);
		assert_null(r.doc);
		if (!strstr(e.message, cases[i].words))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.message, cases[i].words);
		if (cases[i].param)
			assert_string_equal(e.param, cases[i].param);
		else
			assert_null(e.param);
	}
}

/* A body nested deeper than a request may be (a message whose content
 * holds arrays in arrays) is refused as too deep, naming the limit: it is
 * JSON, so "not valid JSON" would send its author looking for a typo. */
static void test_too_deep(void **state)
{
	(void)state;
	char body[512];
	int n = snprintf(body, sizeof(body), "{\"model\":\"m\",\"max_tokens\":5,\"messages\":"
			 "[{\"role\":\"user\",\"content\":\"q\",\"x\":");
	for (int i = 0; i < 40; i++)
		body[n++] = '[';
	for (int i = 0; i < 40; i++)
		body[n++] = ']';
	n += snprintf(body + n, sizeof(body) - (size_t)n, "}]}");
	int (*const parsers[])(struct oai_req *, const char *, size_t, struct oai_err *) = {
		oai_req_parse, anth_req_parse};
	for (size_t i = 0; i < 2; i++) {
		struct oai_req r;
		struct oai_err e;
		memset(&e, 0, sizeof(e));
		assert_int_equal(parsers[i](&r, body, (size_t)n, &e), -1);
		assert_null(r.doc);
		if (!strstr(e.message, "nested too deep") || !strstr(e.message, "32"))
			fail_msg("parser %zu: '%s'", i, e.message);
		assert_null(strstr(e.message, "not valid JSON"));
		if (i == 0)
			assert_string_equal(e.code, "json_too_deep");
		/* Broken JSON is still called that. */
		memset(&e, 0, sizeof(e));
		assert_int_equal(parsers[i](&r, "{nope", 5, &e), -1);
		assert_non_null(strstr(e.message, "not valid JSON"));
	}
}

/* A message that writes \u0000 is refused, not cut short at it. */
static void test_nul_refused(void **state)
{
	(void)state;
	static const char body[] = "{\"model\":\"m\",\"max_tokens\":5,\"messages\":"
				   "[{\"role\":\"user\",\"content\":\"Is 2\\u0000 + 2 = 5?\"}]}";
	int (*const parsers[])(struct oai_req *, const char *, size_t, struct oai_err *) = {
		oai_req_parse, anth_req_parse};
	for (size_t i = 0; i < 2; i++) {
		struct oai_req r;
		struct oai_err e;
		memset(&e, 0, sizeof(e));
		assert_int_equal(parsers[i](&r, body, sizeof(body) - 1, &e), -1);
		assert_null(r.doc);
		if (!strstr(e.message, "NUL character"))
			fail_msg("parser %zu: '%s'", i, e.message);
	}
}

static cJSON *parse_buf(struct buf *b)
{
	cJSON *j = cJSON_Parse(buf_str(b));
	assert_non_null(j);
	return j;
}

static void test_render_completion(void **state)
{
	(void)state;
	struct oai_head h = {"chatcmpl-abc", "council", 1700000000};
	struct oai_usage u = {12, 30};
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(render_completion(&b, &h, "Answer: \"391\"\n", "stop", &u, "abc", "ok",
					   "{\"status\":\"ok\"}"), 0);
	cJSON *j = parse_buf(&b);
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "chatcmpl-abc");
	assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
	assert_int_equal(cJSON_GetObjectItem(j, "created")->valuedouble, 1700000000);
	assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "council");
	cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
	assert_int_equal(cJSON_GetObjectItem(c0, "index")->valueint, 0);
	cJSON *msg = cJSON_GetObjectItem(c0, "message");
	assert_string_equal(cJSON_GetObjectItem(msg, "role")->valuestring, "assistant");
	assert_string_equal(cJSON_GetObjectItem(msg, "content")->valuestring, "Answer: \"391\"\n");
	assert_string_equal(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "stop");
	cJSON *us = cJSON_GetObjectItem(j, "usage");
	assert_int_equal(cJSON_GetObjectItem(us, "prompt_tokens")->valueint, 12);
	assert_int_equal(cJSON_GetObjectItem(us, "completion_tokens")->valueint, 30);
	assert_int_equal(cJSON_GetObjectItem(us, "total_tokens")->valueint, 42);
	cJSON *q = cJSON_GetObjectItem(j, "quorum");
	assert_string_equal(cJSON_GetObjectItem(q, "run_id")->valuestring, "abc");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(q, "report"), "status")->valuestring, "ok");
	cJSON_Delete(j);
	/* Unknown token counts are 0, not -1; no "quorum" unless asked. */
	buf_reset(&b);
	u = (struct oai_usage){-1, -1};
	assert_int_equal(render_completion(&b, &h, "x", "stop", &u, "abc", "ok", NULL), 0);
	j = parse_buf(&b);
	assert_null(cJSON_GetObjectItem(j, "quorum"));
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "total_tokens")->valueint, 0);
	cJSON_Delete(j);
	buf_release(&b);
}

/* Each "data: " event of an SSE text, parsed. */
static cJSON *event(const char *sse, int i)
{
	const char *p = sse;
	for (int k = 0; k < i; k++) {
		p = strstr(p, "\n\n");
		assert_non_null(p);
		p += 2;
	}
	assert_memory_equal(p, "data: ", 6);
	const char *end = strstr(p, "\n\n");
	assert_non_null(end);
	cJSON *j = cJSON_ParseWithLength(p + 6, (size_t)(end - p - 6));
	assert_non_null(j);
	return j;
}

static void test_render_chunks(void **state)
{
	(void)state;
	struct oai_head h = {"chatcmpl-abc", "council", 1700000000};
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(render_chunk(&b, &h, "assistant", "", 0, NULL, 1), 0);
	assert_int_equal(render_chunk(&b, &h, NULL, "Hel\"lo", 6, NULL, 1), 0);
	assert_int_equal(render_chunk(&b, &h, NULL, NULL, 0, "stop", 1), 0);
	struct oai_usage u = {5, 7};
	assert_int_equal(render_usage_chunk(&b, &h, &u), 0);
	assert_int_equal(render_done(&b), 0);
	const char *s = buf_str(&b);
	cJSON *j = event(s, 0);
	assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion.chunk");
	cJSON *d = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "delta");
	assert_string_equal(cJSON_GetObjectItem(d, "role")->valuestring, "assistant");
	assert_string_equal(cJSON_GetObjectItem(d, "content")->valuestring, "");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "usage")));
	cJSON_Delete(j);
	j = event(s, 1);
	cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "delta"), "content")->valuestring, "Hel\"lo");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "delta"), "role"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c0, "finish_reason")));
	cJSON_Delete(j);
	j = event(s, 2);
	c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
	assert_string_equal(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "stop");
	cJSON_Delete(j);
	j = event(s, 3);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "choices")), 0);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "total_tokens")->valueint, 12);
	cJSON_Delete(j);
	assert_non_null(strstr(s, "\n\ndata: [DONE]\n\n"));
	/* Without include_usage the chunks carry no usage key. */
	buf_reset(&b);
	render_chunk(&b, &h, NULL, "x", 1, NULL, 0);
	j = event(buf_str(&b), 0);
	assert_null(cJSON_GetObjectItem(j, "usage"));
	cJSON_Delete(j);
	buf_release(&b);
}

static void test_render_errors_models(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(render_error(&b, "no \"such\" model", "invalid_request_error", "model",
				      "model_not_found"), 0);
	cJSON *j = parse_buf(&b);
	cJSON *e = cJSON_GetObjectItem(j, "error");
	assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring, "no \"such\" model");
	assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, "invalid_request_error");
	assert_string_equal(cJSON_GetObjectItem(e, "param")->valuestring, "model");
	assert_string_equal(cJSON_GetObjectItem(e, "code")->valuestring, "model_not_found");
	cJSON_Delete(j);
	buf_reset(&b);
	render_error(&b, "m", "server_error", NULL, NULL);
	j = parse_buf(&b);
	e = cJSON_GetObjectItem(j, "error");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "param")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "code")));
	cJSON_Delete(j);
	buf_reset(&b);
	render_error_event(&b, "broke", "server_error", "stream_broken");
	assert_memory_equal(buf_str(&b), "data: {\"error\":", 15);
	buf_reset(&b);
	const char *names[] = {"council", "judge"};
	assert_int_equal(render_models(&b, names, 2, 1700000000), 0);
	j = parse_buf(&b);
	assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "list");
	cJSON *d = cJSON_GetObjectItem(j, "data");
	assert_int_equal(cJSON_GetArraySize(d), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "id")->valuestring, "judge");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "object")->valuestring, "model");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "owned_by")->valuestring, "quorum");
	cJSON_Delete(j);
	/* GET /v1/models/ID: the one object, byte for byte as the list has it. */
	struct buf one;
	buf_init(&one, 0);
	assert_int_equal(render_model(&one, "judge", 1700000000), 0);
	assert_string_equal(buf_str(&one), "{\"id\":\"judge\",\"object\":\"model\","
			    "\"created\":1700000000,\"owned_by\":\"quorum\"}");
	assert_non_null(strstr(buf_str(&b), buf_str(&one)));
	buf_release(&one);
	buf_release(&b);
}

static void test_metrics(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	assert_non_null(m);
	metrics_request(m, "/v1/chat/completions", 200, 0.3);
	metrics_request(m, "/v1/chat/completions", 429, 0.001);
	metrics_request(m, "/nowhere", 404, 0.001);
	metrics_in_flight(m, 3);
	metrics_run(m, "ok", "{\"cost_usd\":0.5,\"usage\":{\"calls\":4,\"input_tokens\":10,"
		    "\"output_tokens\":20},\"nodes\":{\"a\":{\"responses\":["
		    "{\"latency_ms\":200,\"error\":null},"
		    "{\"latency_ms\":40,\"error\":{\"class\":\"rate_limited\"}}]}}}");
	metrics_run(m, "failed", NULL);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(metrics_render(m, &b), 0);
	const char *s = buf_str(&b);
	const char *want[] = {
		"quorum_requests_total{path=\"/v1/chat/completions\",code=\"200\"} 1\n",
		"quorum_requests_total{path=\"/v1/chat/completions\",code=\"429\"} 1\n",
		"quorum_requests_total{path=\"other\",code=\"404\"} 1\n",
		"quorum_runs_total{status=\"ok\"} 1\n",
		"quorum_runs_total{status=\"failed\"} 1\n",
		"quorum_runs_in_flight 3\n",
		"quorum_calls_total 4\n",
		"quorum_call_errors_total{class=\"rate_limited\"} 1\n",
		"quorum_tokens_total{kind=\"output\"} 20\n",
		"quorum_cost_usd_total 0.50000000\n",
		"quorum_request_duration_seconds_bucket{le=\"0.5\"} 2\n",
		"quorum_request_duration_seconds_count 2\n",
		"quorum_call_duration_seconds_bucket{le=\"0.05\"} 1\n",
		"quorum_call_duration_seconds_bucket{le=\"+Inf\"} 2\n",
		"# TYPE quorum_call_duration_seconds histogram\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(s, want[i]))
			fail_msg("metrics lack: %s\n%s", want[i], s);
	buf_release(&b);
	metrics_free(m);
}

static void test_tokens(void **state)
{
	(void)state;
	const char *why = NULL;
	const char text[] = "# clients\n  alpha-token-1  \n\nbeta-token-2\r\n";
	struct tokens *t = tokens_parse(text, strlen(text), &why);
	assert_non_null(t);
	assert_int_equal(tokens_count(t), 2);
	assert_true(tokens_check(t, "Bearer alpha-token-1"));
	assert_true(tokens_check(t, "bearer beta-token-2"));
	assert_false(tokens_check(t, "Bearer alpha-token-"));
	assert_false(tokens_check(t, "Bearer alpha-token-12"));
	assert_false(tokens_check(t, "Basic alpha-token-1"));
	assert_false(tokens_check(t, "Bearer "));
	assert_false(tokens_check(t, NULL));
	assert_false(tokens_check(t, "Bearer # clients"));
	tokens_free(t);
	assert_null(tokens_parse("# none\n\n", 8, &why));
	assert_non_null(strstr(why, "no token"));

	/* A NUL byte at a line's start once made an empty token, which
	 * "Bearer " alone matched: a UTF-16 file is refused, not misread. */
	static const char utf16[] = "a\0b\0c\0\n\0d\0e\0\n\0";
	why = NULL;
	assert_null(tokens_parse(utf16, sizeof(utf16) - 1, &why));
	assert_non_null(strstr(why, "NUL"));
	assert_null(tokens_parse("alpha\n\0\n", 8, &why));
}

static void test_runstore(void **state)
{
	(void)state;
	struct runstore *s = runstore_new(2);
	assert_non_null(s);
	assert_int_equal(runstore_put(s, "a", "{\"a\":1}"), 0);
	assert_int_equal(runstore_put(s, "b", "{\"b\":1}"), 0);
	char *j = runstore_get(s, "a");
	assert_string_equal(j, "{\"a\":1}");
	q_free(j);
	assert_int_equal(runstore_put(s, "c", "{\"c\":1}"), 0);
	assert_null(runstore_get(s, "a")); /* the oldest went */
	j = runstore_get(s, "c");
	assert_string_equal(j, "{\"c\":1}");
	q_free(j);
	assert_null(runstore_get(s, "zz"));
	runstore_free(s);
}

static void test_anth(void **state)
{
	(void)state;
	struct oai_req r;
	struct oai_err e = {0};
	const char ok[] = "{\"model\":\"council\",\"max_tokens\":64,\"temperature\":0.5,"
		"\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\"}],\"stream\":true,"
		"\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
		"{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"}]},"
		"{\"role\":\"user\",\"content\":\"Why?\"}]}";
	assert_int_equal(anth_req_parse(&r, ok, strlen(ok), &e), 0);
	assert_string_equal(r.model, "council");
	assert_string_equal(r.query, "Why?");
	assert_string_equal(r.history, "user: Hi\n\nassistant: Hello");
	assert_string_equal(r.system, "Be brief.");
	assert_int_equal(r.max_tokens, 64);
	assert_true(r.has_temperature);
	assert_true(r.stream);
	oai_req_release(&r);
	static const char *const bad[][2] = {
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", "model"},
		{"{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"q\"}]}", "messages"},
		{"{\"model\":\"m\",\"temperature\":1.5,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", "temperature"},
		{"{\"model\":\"m\",\"system\":5,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", "system"},
		{"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\"}]}]}", "messages"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(anth_req_parse(&r, bad[i][0], strlen(bad[i][0]), &e), -1);
		assert_string_equal(e.param, bad[i][1]);
	}
	struct oai_head h = {"msg_abc", "council", 0};
	struct oai_usage u = {10, 5};
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(anth_render_message(&b, &h, "391", "end_turn", &u, "abc", "ok", NULL), 0);
	cJSON *j = parse_buf(&b);
	assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "message");
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "msg_abc");
	cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0);
	assert_string_equal(cJSON_GetObjectItem(c0, "type")->valuestring, "text");
	assert_string_equal(cJSON_GetObjectItem(c0, "text")->valuestring, "391");
	assert_string_equal(cJSON_GetObjectItem(j, "stop_reason")->valuestring, "end_turn");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "output_tokens")->valueint, 5);
	cJSON_Delete(j);
	buf_reset(&b);
	anth_render_start(&b, &h);
	anth_render_delta(&b, "3\"9", 3);
	anth_render_stop(&b, "end_turn", &u);
	const char *s = buf_str(&b);
	static const char delta[] = "event: content_block_delta\ndata: {\"type\":"
		"\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
		"\"text\":\"3\\\"9\"}}\n\n";
	const char *order[] = {"event: message_start\n", "event: content_block_start\n", delta,
			       "event: content_block_stop\n", "event: message_delta\n",
			       "\"stop_reason\":\"end_turn\"", "event: message_stop\n"};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *at = strstr(s, order[i]);
		if (!at)
			fail_msg("no '%s' in:\n%s", order[i], s);
		s = at + strlen(order[i]);
	}
	buf_reset(&b);
	anth_render_error(&b, 404, "no such model");
	j = parse_buf(&b);
	assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "error");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "type")->valuestring,
			    "not_found_error");
	cJSON_Delete(j);
	buf_reset(&b);
	anth_render_error(&b, 429, "slow down");
	assert_non_null(strstr(buf_str(&b), "rate_limit_error"));
	buf_release(&b);
}

/* The hangup watcher: a client that goes is told once; a watch let go is
 * never told, even when its event was already on its way (the request
 * behind it is freed at once: ASan sees a late callback). */
static pthread_mutex_t gone_lock = PTHREAD_MUTEX_INITIALIZER;
static int gone_count;
static void *gone_ctx;

static void on_gone(void *ctx)
{
	pthread_mutex_lock(&gone_lock);
	gone_count++;
	gone_ctx = ctx;
	pthread_mutex_unlock(&gone_lock);
	*(int *)ctx = 1; /* a freed ctx would be a use after free here */
}

static int gone_now(void)
{
	pthread_mutex_lock(&gone_lock);
	int n = gone_count;
	pthread_mutex_unlock(&gone_lock);
	return n;
}

static void nap_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_hangup(void **state)
{
	(void)state;
	struct hangup *h = hangup_new(on_gone);
	assert_non_null(h);
	int a = 0, sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(hangup_watch(h, sv[0], &a), 0);
	close(sv[1]);
	for (int i = 0; i < 200 && !gone_now(); i++)
		nap_ms(5);
	assert_int_equal(gone_now(), 1);
	assert_ptr_equal(gone_ctx, &a);
	assert_int_equal(a, 1);
	nap_ms(20);
	assert_int_equal(gone_now(), 1); /* once */
	hangup_unwatch(h, sv[0], &a);
	close(sv[0]);
	/* Let go before the client goes: never told. */
	int b = 0;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(hangup_watch(h, sv[0], &b), 0);
	hangup_unwatch(h, sv[0], &b);
	close(sv[1]);
	nap_ms(30);
	assert_int_equal(gone_now(), 1);
	assert_int_equal(b, 0);
	close(sv[0]);
	/* The race: the client goes and the watch is let go (its ctx freed)
	 * at once, many times, descriptors reused. */
	int before = gone_now();
	for (int i = 0; i < 2000; i++) {
		int *ctx = malloc(sizeof(*ctx));
		*ctx = 0;
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(hangup_watch(h, sv[0], ctx), 0);
		close(sv[1]);
		if (i % 3)
			nap_ms(0);
		hangup_unwatch(h, sv[0], ctx);
		free(ctx);
		close(sv[0]);
	}
	assert_true(gone_now() >= before);
	hangup_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oai_messages),
		cmocka_unit_test(test_oai_refusals),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_render_completion),
		cmocka_unit_test(test_render_chunks),
		cmocka_unit_test(test_render_errors_models),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_runstore),
		cmocka_unit_test(test_anth),
		cmocka_unit_test(test_hangup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
