/* quorum serve end to end: the mock provider, `quorum serve` as a child
 * process on a free port, and a client over real HTTP (libcurl): answers
 * whole and streamed, the model list, health, metrics, every error's
 * shape and status, the run id and its report, a client that hangs up,
 * SIGTERM, and keys that never leave the server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

#define SECRET "sk-quorum-serve-test-0123456789abcdef"

static const char scenario[] =
	"seed: 1\n"
	"defaults: {chunk_chars: 4, chunk_delay: 5ms}\n"
	"models:\n"
	"  fast: {answer: \"The answer is 42, as ever.\"}\n"
	"  other: {answer: \"Forty-two it is.\"}\n"
	"  slow: {answer: \"Slow but sure.\", latency: 1500ms}\n"
	"  down: {faults: [{type: status, status: 500}]}\n"
	"  flaky:\n"
	"    answer: \"0123456789abcdefghij\"\n"
	"    faults: [{type: status, status: 500, after_chars: 8, first: 1}]\n"
	"  broken:\n"
	"    answer: \"0123456789abcdefghij\"\n"
	"    faults: [{type: status, status: 500, after_chars: 8}]\n"
	"  dribble: {answer: \"a long answer, two characters every 100 ms\", chunk_chars: 2, "
	"chunk_delay: 100ms}\n"
	"  echo: {faults: [{type: reflect, where: answer}]}\n"
	"  echoerr: {faults: [{type: reflect}]}\n";

#define M(id, model) "  " id ": {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: " model "}\n"

static const struct {
	const char *file, *yaml;
} workflows[] = {
	{"single.yaml", "version: 1\nmodels:\n" M("f", "fast")
	 "nodes:\n  a: {kind: generate, models: [f], prompt: \"{{ query }}\"}\n"},
	{"trio.yaml", "version: 1\nname: trio\nmodels:\n" M("f", "fast") M("o", "other")
	 "nodes:\n"
	 "  answers: {kind: generate, models: [f, o, f], prompt: \"{{ query }}\"}\n"
	 "  final: {kind: synthesize, from: answers, model: f}\noutput: final\n"},
	{"voted.yaml", "version: 1\nmodels:\n" M("f", "fast") M("o", "other")
	 "nodes:\n"
	 "  answers: {kind: generate, models: [f, o, f], prompt: \"{{ query }}\"}\n"
	 "  pick: {kind: vote, from: answers}\noutput: pick\n"},
	{"slow.yaml", "version: 1\nmodels:\n" M("s", "slow")
	 "nodes:\n  a: {kind: generate, models: [s], prompt: \"{{ query }}\"}\n"},
	{"dribble.yaml", "version: 1\nmodels:\n" M("d", "dribble")
	 "nodes:\n  a: {kind: generate, models: [d], prompt: \"{{ query }}\"}\n"},
	{"down.yaml", "version: 1\ndefaults: {retries: 0}\nmodels:\n" M("d", "down")
	 "nodes:\n  a: {kind: generate, models: [d, d], prompt: \"{{ query }}\"}\n"},
	{"flaky.yaml", "version: 1\ndefaults: {retries: 1}\nmodels:\n" M("f", "flaky")
	 "nodes:\n  a: {kind: generate, models: [f], prompt: \"{{ query }}\"}\n"},
	{"broken.yaml", "version: 1\ndefaults: {retries: 0}\nmodels:\n" M("b", "broken")
	 "nodes:\n  a: {kind: generate, models: [b], prompt: \"{{ query }}\"}\n"},
	{"echo.yaml", "version: 1\nmodels:\n"
	 "  e: {provider: openai, base_url: BASE_URL, api_key_env: QT_SECRET, model: echo}\n"
	 "nodes:\n  a: {kind: generate, models: [e], prompt: \"{{ query }}\"}\n"},
	{"echoerr.yaml", "version: 1\ndefaults: {retries: 0}\nmodels:\n"
	 "  e: {provider: openai, base_url: BASE_URL, api_key_env: QT_SECRET, model: echoerr}\n"
	 "nodes:\n  a: {kind: generate, models: [e], prompt: \"{{ query }}\"}\n"},
	{"hist.yaml", "version: 1\ninputs:\n  history: {default: \"\"}\n  system: {default: \"\"}\n"
	 "models:\n" M("f", "fast")
	 "nodes:\n  a: {kind: generate, models: [f], prompt: \"S={{ inputs.system }} "
	 "H={{ inputs.history }} Q={{ query }}\"}\n"},
	{"needs.yaml", "version: 1\ninputs:\n  topic: {required: true}\nmodels:\n" M("f", "fast")
	 "nodes:\n  a: {kind: generate, models: [f], prompt: \"{{ inputs.topic }} {{ query }}\"}\n"},
	{"nokey.yaml", "version: 1\nmodels:\n"
	 "  e: {provider: openai, base_url: BASE_URL, api_key_env: QT_UNSET_KEY, model: fast}\n"
	 "nodes:\n  a: {kind: generate, models: [e], prompt: \"{{ query }}\"}\n"},
	{"pinned.yaml", "version: 1\nmodels:\n"
	 "  f: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: fast, "
	 "temperature: 0.9}\n"
	 "  o: {provider: openai, base_url: BASE_URL, api_key_env: \"\", model: other}\n"
	 "nodes:\n  a: {kind: generate, models: [f, o], prompt: \"{{ query }}\"}\n"
	 "  pick: {kind: vote, from: a}\noutput: pick\n"},
};

#define ALL_WORKFLOWS "single.yaml trio.yaml voted.yaml slow.yaml dribble.yaml down.yaml " \
	"flaky.yaml broken.yaml echo.yaml echoerr.yaml hist.yaml needs.yaml nokey.yaml pinned.yaml"

struct srv {
	pid_t pid;
	int port;
	char err[400];
};

struct ctx {
	struct harness h;
	struct srv main;
};

/* ---- the server as a child process ---- */

static void write_workflows(struct harness *h)
{
	for (size_t i = 0; i < sizeof(workflows) / sizeof(workflows[0]); i++) {
		char text[4096] = "";
		const char *p = workflows[i].yaml;
		size_t n = 0;
		for (const char *hit; (hit = strstr(p, "BASE_URL")); p = hit + 8)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%.*s%s", (int)(hit - p), p,
					      h->url);
		snprintf(text + n, sizeof(text) - n, "%s", p);
		h_write(h, workflows[i].file, text);
	}
}

static void srv_start(struct harness *h, struct srv *s, const char *name, const char *args)
{
	snprintf(s->err, sizeof(s->err), "%s/%s.err", h->dir, name);
	const char *bin = getenv("QUORUM_BIN");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "cd '%s' && QT_SECRET=" SECRET " exec %s serve --listen "
		 "127.0.0.1:0 %s </dev/null >/dev/null 2>'%s'", h->dir, bin ? bin : "quorum", args,
		 s->err);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	s->port = 0;
	for (int i = 0; i < 1000 && !s->port; i++) {
		char *text = h_read(s->err);
		const char *at = text ? strstr(text, "on http://127.0.0.1:") : NULL;
		if (at)
			s->port = atoi(at + strlen("on http://127.0.0.1:"));
		free(text);
		int st;
		if (!s->port && waitpid(s->pid, &st, WNOHANG) == s->pid) {
			text = h_read(s->err);
			fail_msg("quorum serve exited: %s", text ? text : "");
		}
		if (!s->port)
			usleep(10000);
	}
	assert_true(s->port > 0);
}

/* SIGTERM; returns the exit status. */
static int srv_stop(struct srv *s)
{
	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	int st = 0;
	waitpid(s->pid, &st, 0);
	s->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- a client ---- */

struct resp {
	long status;
	char *body;
	size_t len;
	char run_id[64];
	char retry_after[16];
	char type[64];
	char allow[64];
	double seconds;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n;
	char *b = realloc(r->body, r->len + len + 1);
	assert_non_null(b);
	memcpy(b + r->len, p, len);
	r->len += len;
	b[r->len] = '\0';
	r->body = b;
	return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t n)
{
	size_t k = strlen(name);
	if (len <= k + 1 || strncasecmp(line, name, k) || line[k] != ':')
		return;
	const char *v = line + k + 1;
	while (*v == ' ')
		v++;
	snprintf(out, n, "%.*s", (int)strcspn(v, "\r\n"), v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n;
	header_value(p, len, "X-Quorum-Run-Id", r->run_id, sizeof(r->run_id));
	header_value(p, len, "Retry-After", r->retry_after, sizeof(r->retry_after));
	header_value(p, len, "Content-Type", r->type, sizeof(r->type));
	header_value(p, len, "Allow", r->allow, sizeof(r->allow));
	return len;
}

/* One request with one extra header (NULL: none); timeout_ms 0: none.
 * Returns curl's code. */
static CURLcode http_hdr(const struct srv *s, const char *method, const char *path,
			 const char *body, const char *header, long timeout_ms, struct resp *r)
{
	memset(r, 0, sizeof(*r));
	r->body = calloc(1, 1);
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	CURL *c = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	if (header)
		hd = curl_slist_append(hd, header);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (timeout_ms)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->seconds);
	curl_slist_free_all(hd);
	curl_easy_cleanup(c);
	return rc;
}

/* http_hdr with a bearer token (NULL: none). */
static CURLcode http(const struct srv *s, const char *method, const char *path,
		     const char *body, const char *auth, long timeout_ms, struct resp *r)
{
	char authz[256];
	if (auth)
		snprintf(authz, sizeof(authz), "Authorization: Bearer %s", auth);
	return http_hdr(s, method, path, body, auth ? authz : NULL, timeout_ms, r);
}

static char *chat_body(const char *model, const char *extra)
{
	char *b = malloc(1024);
	snprintf(b, 1024, "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":"
		 "\"What is the answer?\"}]%s%s}", model, extra ? "," : "", extra ? extra : "");
	return b;
}

static void chat(const struct srv *s, const char *model, const char *extra, struct resp *r)
{
	char *b = chat_body(model, extra);
	assert_int_equal(http(s, "POST", "/v1/chat/completions", b, NULL, 0, r), CURLE_OK);
	free(b);
}

static cJSON *json_of(const struct resp *r)
{
	cJSON *j = cJSON_Parse(r->body);
	if (!j)
		fail_msg("not JSON (%ld): %s", r->status, r->body);
	return j;
}

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItem(j, a);
	if (b)
		v = cJSON_GetObjectItem(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An OpenAI error: the status, and error.type and error.code. */
static void expect_error(struct resp *r, long status, const char *type, const char *code)
{
	if (r->status != status)
		fail_msg("want %ld, got %ld: %s", status, r->status, r->body);
	cJSON *j = json_of(r);
	const cJSON *e = cJSON_GetObjectItem(j, "error");
	assert_non_null(e);
	assert_non_null(str_at(e, "message", NULL));
	assert_string_equal(str_at(e, "type", NULL), type);
	if (code)
		assert_string_equal(str_at(e, "code", NULL), code);
	assert_non_null(cJSON_GetObjectItem(e, "param"));
	cJSON_Delete(j);
}

/* The SSE events of a stream: the concatenated content, how many
 * content pieces, and the usage chunk's total (-1: none). Returns
 * whether it ended with [DONE]. */
static int read_stream(const char *body, char *text, size_t n, int *pieces, long *total,
		       int *error)
{
	size_t tl = 0;
	*pieces = 0;
	*total = -1;
	*error = 0;
	text[0] = '\0';
	int done = 0;
	for (const char *p = body; p && *p;) {
		const char *end = strstr(p, "\n\n");
		if (!end)
			fail_msg("an event without its blank line: %s", p);
		if (*p == ':') { /* a comment: a node's progress */
			p = end + 2;
			continue;
		}
		if (!strncmp(p, "data: [DONE]", 12)) {
			done = 1;
			assert_string_equal(end + 2, "");
			break;
		}
		if (strncmp(p, "data: ", 6))
			fail_msg("not a data line: %.*s", (int)(end - p), p);
		cJSON *j = cJSON_ParseWithLength(p + 6, (size_t)(end - p - 6));
		assert_non_null(j);
		if (cJSON_GetObjectItem(j, "error")) {
			*error = 1;
		} else {
			assert_string_equal(str_at(j, "object", NULL), "chat.completion.chunk");
			assert_non_null(str_at(j, "id", NULL));
			const cJSON *ch = cJSON_GetObjectItem(j, "choices");
			const cJSON *c0 = cJSON_GetArrayItem(ch, 0);
			const char *piece = c0 ? str_at(c0, "delta", "content") : NULL;
			if (piece && *piece) {
				tl += (size_t)snprintf(text + tl, n - tl, "%s", piece);
				++*pieces;
			}
			const cJSON *u = cJSON_GetObjectItem(j, "usage");
			if (u && !cJSON_IsNull(u)) {
				assert_int_equal(cJSON_GetArraySize(ch), 0);
				*total = (long)cJSON_GetObjectItem(u, "total_tokens")->valuedouble;
			}
		}
		cJSON_Delete(j);
		p = end + 2;
	}
	return done;
}

/* ---- the tests ---- */

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	*state = c;
	h_start(&c->h, scenario);
	write_workflows(&c->h);
	srv_start(&c->h, &c->main, "main", "--max-runs 64 " ALL_WORKFLOWS);
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(srv_stop(&c->main), 0);
	h_stop(&c->h);
	free(c);
	return 0;
}

static void test_chat(void **state)
{
	struct ctx *c = *state;
	struct resp r;
	chat(&c->main, "single", NULL, &r);
	assert_int_equal(r.status, 200);
	cJSON *j = json_of(&r);
	assert_string_equal(str_at(j, "object", NULL), "chat.completion");
	assert_memory_equal(str_at(j, "id", NULL), "chatcmpl-", 9);
	assert_string_equal(str_at(j, "model", NULL), "single");
	assert_true(cJSON_GetObjectItem(j, "created")->valuedouble > 1.6e9);
	const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
	assert_string_equal(str_at(c0, "message", "content"), "The answer is 42, as ever.");
	assert_string_equal(str_at(c0, "message", "role"), "assistant");
	assert_string_equal(str_at(c0, "finish_reason", NULL), "stop");
	const cJSON *u = cJSON_GetObjectItem(j, "usage");
	assert_true(cJSON_GetObjectItem(u, "total_tokens")->valuedouble > 0);
	assert_null(cJSON_GetObjectItem(j, "quorum"));
	cJSON_Delete(j);
	/* The run id: a header, and its report. */
	assert_int_equal(strlen(r.run_id), 32);
	char path[128];
	snprintf(path, sizeof(path), "/v1/runs/%s", r.run_id);
	struct resp rr;
	assert_int_equal(http(&c->main, "GET", path, NULL, NULL, 0, &rr), CURLE_OK);
	assert_int_equal(rr.status, 200);
	j = json_of(&rr);
	assert_string_equal(str_at(j, "run_id", NULL), r.run_id);
	assert_string_equal(str_at(j, "status", NULL), "ok");
	cJSON_Delete(j);
	free(rr.body);
	free(r.body);
	assert_int_equal(http(&c->main, "GET", "/v1/runs/0123456789abcdef0123456789abcdef", NULL,
			      NULL, 0, &rr), CURLE_OK);
	expect_error(&rr, 404, "invalid_request_error", "run_not_found");
	free(rr.body);
	/* A council whose synthesis is the output, and the report asked for. */
	chat(&c->main, "trio", "\"quorum\":{\"report\":true}", &r);
	assert_int_equal(r.status, 200);
	j = json_of(&r);
	assert_string_equal(str_at(j, "model", NULL), "trio");
	const cJSON *q = cJSON_GetObjectItem(j, "quorum");
	assert_string_equal(str_at(q, "run_id", NULL), r.run_id);
	assert_string_equal(str_at(q, "status", NULL), "ok");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(q, "report"), "nodes"));
	cJSON_Delete(j);
	free(r.body);
}

static void test_stream(void **state)
{
	struct ctx *c = *state;
	static const char *const models[] = {"single", "trio", "voted", "flaky"};
	static const char *const want[] = {"The answer is 42, as ever.", NULL, NULL,
					   "0123456789abcdefghij"};
	for (size_t i = 0; i < 4; i++) {
		struct resp whole, r;
		chat(&c->main, models[i], NULL, &whole);
		assert_int_equal(whole.status, 200);
		cJSON *j = json_of(&whole);
		const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
		char expect[512];
		snprintf(expect, sizeof(expect), "%s", want[i] ? want[i]
				 : str_at(c0, "message", "content"));
		cJSON_Delete(j);
		free(whole.body);
		chat(&c->main, models[i], "\"stream\":true,\"stream_options\":{\"include_usage\":true}",
		     &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.type, "text/event-stream");
		assert_int_equal(strlen(r.run_id), 32);
		char text[4096];
		int pieces, error;
		long total;
		assert_true(read_stream(r.body, text, sizeof(text), &pieces, &total, &error));
		assert_false(error);
		assert_string_equal(text, expect);
		assert_true(total > 0);
		/* Each node's end is a comment: the council's members first. */
		if (i == 1 && (!strstr(r.body, "\n\n: node answers ok\n\n") ||
			       !strstr(r.body, "\n\n: node final ok\n\n") ||
			       strstr(r.body, ": node final") < strstr(r.body, ": node answers")))
			fail_msg("no progress comments: %s", r.body);
		/* A generate or synthesize output streams piece by piece (4
		 * characters a piece); a vote's output comes whole. */
		if (i == 2)
			assert_int_equal(pieces, 1);
		else
			assert_true(pieces >= 3);
		free(r.body);
	}
	/* Without include_usage: no usage chunk, no usage key. */
	struct resp r;
	chat(&c->main, "single", "\"stream\":true", &r);
	assert_null(strstr(r.body, "\"usage\""));
	assert_non_null(strstr(r.body, "data: [DONE]\n\n"));
	free(r.body);
}

static void test_stream_broken(void **state)
{
	struct ctx *c = *state;
	struct resp r;
	/* Pieces went out, then every attempt failed: an error event, no
	 * [DONE], never a made-up ending. */
	chat(&c->main, "broken", "\"stream\":true", &r);
	assert_int_equal(r.status, 200);
	char text[512];
	int pieces, error;
	long total;
	assert_false(read_stream(r.body, text, sizeof(text), &pieces, &total, &error));
	assert_true(error);
	assert_string_equal(text, "01234567");
	free(r.body);
	/* Nothing went out and every call failed: a real 502. */
	chat(&c->main, "down", "\"stream\":true", &r);
	expect_error(&r, 502, "server_error", "upstream_failed");
	free(r.body);
}

/* A completion's created is when it was made (OpenAI: "the Unix
 * timestamp of when the chat completion was created"), not when the
 * server started: GET /v1/models gives the latter, so wait until the
 * clock has passed it. */
static void test_created(void **state)
{
	struct ctx *c = *state;
	struct resp r;
	assert_int_equal(http(&c->main, "GET", "/v1/models", NULL, NULL, 0, &r), CURLE_OK);
	cJSON *j = json_of(&r);
	double started = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0),
					     "created")->valuedouble;
	cJSON_Delete(j);
	free(r.body);
	while ((double)time(NULL) <= started)
		usleep(50000);
	long long t0 = (long long)time(NULL);
	chat(&c->main, "single", NULL, &r);
	assert_int_equal(r.status, 200);
	j = json_of(&r);
	long long created = (long long)cJSON_GetObjectItem(j, "created")->valuedouble;
	cJSON_Delete(j);
	free(r.body);
	if (created < t0)
		fail_msg("created %lld, before the request (%lld)", created, t0);
	chat(&c->main, "single", "\"stream\":true", &r);
	assert_int_equal(r.status, 200);
	const char *at = strstr(r.body, "\"created\":");
	assert_non_null(at);
	created = atoll(at + strlen("\"created\":"));
	free(r.body);
	if (created < t0)
		fail_msg("a chunk's created %lld, before the request (%lld)", created, t0);
}

static void test_models_health_metrics(void **state)
{
	struct ctx *c = *state;
	struct resp r;
	assert_int_equal(http(&c->main, "GET", "/v1/models", NULL, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	cJSON *j = json_of(&r);
	assert_string_equal(str_at(j, "object", NULL), "list");
	const cJSON *d = cJSON_GetObjectItem(j, "data");
	assert_int_equal(cJSON_GetArraySize(d), 14);
	assert_string_equal(str_at(cJSON_GetArrayItem(d, 0), "id", NULL), "single");
	assert_string_equal(str_at(cJSON_GetArrayItem(d, 1), "id", NULL), "trio");
	assert_string_equal(str_at(cJSON_GetArrayItem(d, 0), "object", NULL), "model");
	cJSON_Delete(j);
	free(r.body);
	assert_int_equal(http(&c->main, "GET", "/healthz", NULL, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"status\":\"ok\""));
	free(r.body);
	chat(&c->main, "single", NULL, &r);
	free(r.body);
	assert_int_equal(http(&c->main, "GET", "/metrics", NULL, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.type, "text/plain", 10);
	static const char *const want[] = {
		"quorum_requests_total{path=\"/v1/chat/completions\",code=\"200\"} ",
		"quorum_runs_total{status=\"ok\"} ", "quorum_runs_in_flight 0\n",
		"quorum_calls_total ", "quorum_cost_usd_total ",
		"quorum_request_duration_seconds_bucket{le=\"+Inf\"} ",
		"quorum_call_duration_seconds_count ", "quorum_tokens_total{kind=\"input\"} ",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(r.body, want[i]))
			fail_msg("/metrics lacks '%s':\n%s", want[i], r.body);
	free(r.body);
}

/* GET /v1/models/ID, as the SDKs' models.retrieve asks it: each model as
 * the list shows it, and an unknown one in OpenAI's not-found shape. */
static void test_model_retrieve(void **state)
{
	struct ctx *c = *state;
	struct resp r;
	assert_int_equal(http(&c->main, "GET", "/v1/models", NULL, NULL, 0, &r), CURLE_OK);
	cJSON *list = json_of(&r);
	free(r.body);
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(list, "data"))
	{
		char path[128];
		snprintf(path, sizeof(path), "/v1/models/%s", str_at(m, "id", NULL));
		assert_int_equal(http(&c->main, "GET", path, NULL, NULL, 0, &r), CURLE_OK);
		if (r.status != 200)
			fail_msg("GET %s: %ld: %s", path, r.status, r.body);
		assert_string_equal(r.type, "application/json");
		cJSON *one = json_of(&r);
		if (!cJSON_Compare(one, m, 1))
			fail_msg("GET %s: %s, not as listed", path, r.body);
		assert_int_equal(cJSON_GetArraySize(one), 4);
		cJSON_Delete(one);
		free(r.body);
	}
	cJSON_Delete(list);
	assert_int_equal(http(&c->main, "GET", "/v1/models/nonesuch", NULL, NULL, 0, &r), CURLE_OK);
	expect_error(&r, 404, "invalid_request_error", "model_not_found");
	assert_non_null(strstr(r.body, "\"param\":\"model\""));
	assert_non_null(strstr(r.body, "'nonesuch'"));
	free(r.body);
	/* "/v1/models/" names no model: no such path. */
	assert_int_equal(http(&c->main, "GET", "/v1/models/", NULL, NULL, 0, &r), CURLE_OK);
	expect_error(&r, 404, "invalid_request_error", "unknown_url");
	free(r.body);
}

static void test_errors(void **state)
{
	struct ctx *c = *state;
	struct resp r;
	chat(&c->main, "nonesuch", NULL, &r);
	expect_error(&r, 404, "invalid_request_error", "model_not_found");
	assert_non_null(strstr(r.body, "'trio'"));
	assert_non_null(strstr(r.body, "\"param\":\"model\""));
	free(r.body);
	assert_int_equal(http(&c->main, "POST", "/v1/chat/completions", "{nope", NULL, 0, &r),
			 CURLE_OK);
	expect_error(&r, 400, "invalid_request_error", "invalid_json");
	assert_non_null(strstr(r.body, "not valid JSON"));
	free(r.body);
	/* JSON, but nested past the limit: said so, with the limit. */
	char deep[512];
	int n = snprintf(deep, sizeof(deep), "{\"model\":\"single\",\"messages\":[{\"role\":"
			 "\"user\",\"content\":\"q\"}],\"x\":");
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	snprintf(deep + n, sizeof(deep) - (size_t)n, "}");
	assert_int_equal(http(&c->main, "POST", "/v1/chat/completions", deep, NULL, 0, &r),
			 CURLE_OK);
	expect_error(&r, 400, "invalid_request_error", "json_too_deep");
	assert_non_null(strstr(r.body, "nested too deep"));
	assert_non_null(strstr(r.body, "32"));
	free(r.body);
	assert_int_equal(http(&c->main, "POST", "/v1/chat/completions", "{\"model\":\"single\"}",
			      NULL, 0, &r), CURLE_OK);
	expect_error(&r, 400, "invalid_request_error", NULL);
	free(r.body);
	assert_int_equal(http(&c->main, "GET", "/v1/chat/completions", NULL, NULL, 0, &r),
			 CURLE_OK);
	expect_error(&r, 405, "invalid_request_error", NULL);
	free(r.body);
	assert_int_equal(http(&c->main, "GET", "/v2/whatever", NULL, NULL, 0, &r), CURLE_OK);
	expect_error(&r, 404, "invalid_request_error", "unknown_url");
	free(r.body);
	/* Refused before any call: an input the request cannot give is the
	 * client's problem, a key the server lacks the server's. Neither
	 * names where the server keeps its files. */
	chat(&c->main, "needs", NULL, &r);
	expect_error(&r, 400, "invalid_request_error", "run_refused");
	assert_non_null(strstr(r.body, "topic"));
	assert_null(strstr(r.body, ".yaml"));
	free(r.body);
	chat(&c->main, "nokey", NULL, &r);
	expect_error(&r, 500, "server_error", "server_misconfigured");
	assert_non_null(strstr(r.body, "QT_UNSET_KEY"));
	assert_null(strstr(r.body, ".yaml"));
	free(r.body);
	/* Every member failed. */
	chat(&c->main, "down", NULL, &r);
	expect_error(&r, 502, "server_error", "upstream_failed");
	assert_int_equal(strlen(r.run_id), 32);
	free(r.body);
}

static void test_body_cap_and_tokens(void **state)
{
	struct ctx *c = *state;
	h_write(&c->h, "tokens.txt", "# clients\ngood-token-1\n");
	struct srv s;
	srv_start(&c->h, &s, "tok", "--tokens tokens.txt --max-body 300 single.yaml");
	struct resp r;
	char *b = chat_body("single", NULL);
	assert_int_equal(http(&s, "POST", "/v1/chat/completions", b, NULL, 0, &r), CURLE_OK);
	expect_error(&r, 401, "invalid_request_error", "invalid_api_key");
	free(r.body);
	assert_int_equal(http(&s, "POST", "/v1/chat/completions", b, "bad-token", 0, &r), CURLE_OK);
	expect_error(&r, 401, "invalid_request_error", "invalid_api_key");
	free(r.body);
	assert_int_equal(http(&s, "GET", "/v1/models", NULL, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 401);
	free(r.body);
	assert_int_equal(http(&s, "GET", "/v1/models/single", NULL, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 401);
	free(r.body);
	assert_int_equal(http(&s, "POST", "/v1/chat/completions", b, "good-token-1", 0, &r),
			 CURLE_OK);
	assert_int_equal(r.status, 200);
	free(r.body);
	free(b);
	/* /healthz answers without a token (for load balancers). */
	assert_int_equal(http(&s, "GET", "/healthz", NULL, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	free(r.body);
	char big[2048];
	snprintf(big, sizeof(big), "{\"model\":\"single\",\"messages\":[{\"role\":\"user\","
		 "\"content\":\"%0500d\"}]}", 7);
	assert_int_equal(http(&s, "POST", "/v1/chat/completions", big, "good-token-1", 0, &r),
			 CURLE_OK);
	expect_error(&r, 413, "invalid_request_error", "request_too_large");
	free(r.body);
	assert_int_equal(srv_stop(&s), 0);
}

/* How many lines of s's log past byte off hold what. */
static int log_count(const struct srv *s, size_t off, const char *what)
{
	char *log = h_read(s->err);
	int n = 0;
	for (const char *p = log && strlen(log) > off ? log + off : ""; (p = strstr(p, what));
	     p++)
		n++;
	free(log);
	return n;
}

/* Fails, showing s's log past off. */
static void log_fail(const struct srv *s, size_t off, const char *why)
{
	char shown[4096];
	char *log = h_read(s->err);
	snprintf(shown, sizeof(shown), "%s", log && strlen(log) > off ? log + off : "");
	free(log);
	fail_msg("%s:\n%s", why, shown);
}

/* Waits (up to 3 s) until the log past off holds want lines with what. */
static int log_wait(const struct srv *s, size_t off, const char *what, int want)
{
	int n = 0;
	for (int i = 0; i < 300 && (n = log_count(s, off, what)) < want; i++)
		usleep(10000);
	return n;
}

/* A counter's value in s's /metrics (0: absent). */
static long metric(const struct srv *s, const char *series)
{
	struct resp m;
	assert_int_equal(http(s, "GET", "/metrics", NULL, NULL, 0, &m), CURLE_OK);
	const char *at = strstr(m.body, series);
	long v = at ? strtol(at + strlen(series), NULL, 10) : 0;
	free(m.body);
	return v;
}

/* ---- a client below libcurl: bytes as they are, a body that lies ---- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends req[0..n) on a new connection to s, then reads until the server
 * closes it or ms pass. Returns the HTTP status (0: no answer), what
 * came back in out; *closed says whether the server closed it. */
static long raw_http(const struct srv *s, const char *req, size_t n, char *out, size_t outn,
		     int ms, int *closed)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* A server that stops reading may refuse the rest: that is its right. */
	for (size_t off = 0; off < n;) {
		ssize_t k = send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	size_t got = 0;
	long long end = now_ms() + ms;
	*closed = 0;
	while (!*closed && now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			continue;
		ssize_t k = recv(fd, out + got, outn - 1 - got, 0);
		if (k > 0)
			got += (size_t)k;
		*closed = k == 0 || (k < 0 && errno != EINTR) || got == outn - 1;
	}
	out[got] = '\0';
	close(fd);
	long status = 0;
	if (!strncmp(out, "HTTP/1.", 7) && strlen(out) > 12)
		status = strtol(out + 9, NULL, 10);
	return status;
}

/* --max-body: a Content-Length past it is answered 413 at once, the body
 * never read (a client that says 1 GB and sends two bytes is not waited
 * for); a chunked body past it is counted and refused at its end, or cut
 * off past twice the cap; the server stays healthy. */
static void test_body_cap_early(void **state)
{
	struct ctx *c = *state;
	struct srv s;
	srv_start(&c->h, &s, "bodycap", "--max-body 300 single.yaml");
	char out[4096];
	int closed;
	static const char gb[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: q\r\n"
		"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{}";
	long long t0 = now_ms();
	assert_int_equal(raw_http(&s, gb, sizeof(gb) - 1, out, sizeof(out), 5000, &closed), 413);
	assert_true(now_ms() - t0 < 3000);
	assert_true(closed);
	assert_non_null(strstr(out, "\"request_too_large\""));

	/* Expect: 100-continue gets the 413 instead of the go-ahead. */
	static const char expect[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: q\r\n"
		"Content-Length: 301\r\nExpect: 100-continue\r\n\r\n";
	assert_int_equal(raw_http(&s, expect, sizeof(expect) - 1, out, sizeof(out), 5000, &closed),
			 413);
	assert_null(strstr(out, "100 Continue"));

	/* Anthropic's shape on its endpoint, for a length of 10 TB. */
	static const char tb[] = "POST /v1/messages HTTP/1.1\r\nHost: q\r\n"
		"Content-Length: 10000000000000\r\n\r\n{}";
	assert_int_equal(raw_http(&s, tb, sizeof(tb) - 1, out, sizeof(out), 5000, &closed), 413);
	if (!strstr(out, "\"type\":\"request_too_large\""))
		fail_msg("not Anthropic's 413: %s", out);
	/* A length no integer holds: MHD refuses it itself (413 too, in 0.9.75). */
	static const char huge[] = "POST /v1/messages HTTP/1.1\r\nHost: q\r\n"
		"Content-Length: 99999999999999999999999999\r\n\r\n{}";
	long st = raw_http(&s, huge, sizeof(huge) - 1, out, sizeof(out), 5000, &closed);
	assert_true(st == 413 || st == 400);

	/* Chunked, 400 bytes (no Content-Length to go by): read, then 413. */
	char req[8192];
	int n = snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\nHost: q\r\n"
			 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	for (int i = 0; i < 4; i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "64\r\n%0100d\r\n", i);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "0\r\n\r\n");
	assert_int_equal(raw_http(&s, req, (size_t)n, out, sizeof(out), 5000, &closed), 413);
	assert_non_null(strstr(out, "\"request_too_large\""));

	/* Chunked without end: cut off past twice the cap, not read forever. */
	n = snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\nHost: q\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 20; i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "64\r\n%0100d\r\n", i);
	char *log = h_read(s.err);
	size_t off = log ? strlen(log) : 0;
	free(log);
	t0 = now_ms();
	assert_int_equal(raw_http(&s, req, (size_t)n, out, sizeof(out), 5000, &closed), 0);
	assert_true(closed);
	assert_true(now_ms() - t0 < 3000);
	/* Unanswered, but logged and counted as what it was. */
	if (log_wait(&s, off, "POST /v1/chat/completions 413 ", 1) != 1)
		log_fail(&s, off, "the cut-off body is not logged 413");

	/* Still healthy, and a body under the cap still runs. */
	struct resp r;
	assert_int_equal(http(&s, "GET", "/healthz", NULL, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	free(r.body);
	char *b = chat_body("single", NULL);
	assert_int_equal(http(&s, "POST", "/v1/chat/completions", b, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	free(r.body);
	free(b);
	assert_int_equal(srv_stop(&s), 0);
}

/* A 405 says which methods the path takes (RFC 9110: an origin server
 * MUST send Allow with it), and HEAD is GET without the body: a load
 * balancer that checks health with HEAD is not told 405. */
static void test_methods(void **state)
{
	struct ctx *c = *state;
	static const struct {
		const char *method, *path, *allow;
	} wrong[] = {
		{"PUT", "/v1/chat/completions", "POST"},
		{"GET", "/v1/messages", "POST"},
		{"POST", "/v1/models", "GET, HEAD"},
		{"DELETE", "/v1/models/single", "GET, HEAD"},
		{"DELETE", "/healthz", "GET, HEAD"},
		{"POST", "/metrics", "GET, HEAD"},
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		struct resp r;
		assert_int_equal(http(&c->main, wrong[i].method, wrong[i].path, "{}", NULL, 0, &r),
				 CURLE_OK);
		if (r.status != 405 || strcmp(r.allow, wrong[i].allow))
			fail_msg("%s %s: %ld, Allow '%s' (want 405, '%s')", wrong[i].method,
				 wrong[i].path, r.status, r.allow, wrong[i].allow);
		free(r.body);
	}
	static const char *const heads[] = {"/healthz", "/v1/models", "/v1/models/single",
					    "/metrics"};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		char req[256], out[4096];
		int closed;
		int n = snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: q\r\n"
				 "Connection: close\r\n\r\n", heads[i]);
		long st = raw_http(&c->main, req, (size_t)n, out, sizeof(out), 5000, &closed);
		if (st != 200)
			fail_msg("HEAD %s: %ld: %s", heads[i], st, out);
		const char *end = strstr(out, "\r\n\r\n");
		assert_non_null(end);
		assert_string_equal(end + 4, ""); /* no body */
	}
}

/* Under a low `ulimit -n` the server holds fewer client connections, and
 * says so at start: a full table of 4,096 would take the descriptors its
 * provider calls need. */
static void test_fd_limit(void **state)
{
	struct ctx *c = *state;
	const char *bin = getenv("QUORUM_BIN");
	char cmd[1024], path[512];
	snprintf(cmd, sizeof(cmd), "cd '%s' && ulimit -n 200 && QT_SECRET=" SECRET " timeout -s "
		 "TERM 4 %s serve --listen 127.0.0.1:0 single.yaml </dev/null >/dev/null "
		 "2>fdlimit.err; true", c->h.dir, bin ? bin : "quorum");
	assert_int_equal(h_sh(cmd), 0);
	snprintf(path, sizeof(path), "%s/fdlimit.err", c->h.dir);
	char *err = h_read(path);
	assert_non_null(err);
	if (!strstr(err, "at most 100 client connections (open files limited to 200") ||
	    !strstr(err, "serving 1 workflow"))
		fail_msg("%s", err);
	free(err);
}

/* MHD hands the path over percent-decoded: a %0a in it must not start a
 * line of the server's log of its own (a forged request), nor an escape
 * sequence reach the operator's terminal. */
static void test_log_not_forged(void **state)
{
	struct ctx *c = *state;
	static const char req[] = "GET /v1/x%0d%0aquorum:%20FORGED%20/v1/chat/completions%20200"
		"%1b[2J HTTP/1.1\r\nHost: q\r\nConnection: close\r\n\r\n";
	char out[4096];
	int closed;
	assert_int_equal(raw_http(&c->main, req, sizeof(req) - 1, out, sizeof(out), 5000, &closed),
			 404);
	char *log = NULL;
	for (int i = 0; i < 100; i++) {
		free(log);
		log = h_read(c->main.err);
		if (log && strstr(log, "GET /v1/x"))
			break;
		usleep(10000);
	}
	assert_non_null(log);
	const char *line = strstr(log, "GET /v1/x");
	assert_non_null(line);
	if (strstr(log, "\nquorum: FORGED") || strchr(log, '\x1b') || strchr(log, '\r'))
		fail_msg("the path wrote the log:\n%.300s", line);
	assert_non_null(strstr(line, " 404 "));
	free(log);
}

/* The "and with curl": the curl command line, as a user would
 * type it, against the server (skipped where there is no curl). */
static void test_curl_command(void **state)
{
	struct ctx *c = *state;
	if (access("/usr/bin/curl", X_OK))
		skip();
	char cmd[1024], path[512];
	snprintf(path, sizeof(path), "%s/curl.out", c->h.dir);
	snprintf(cmd, sizeof(cmd), "/usr/bin/curl -sS -o '%s' -w '%%{http_code}' "
		 "-H 'Content-Type: application/json' -d '{\"model\":\"single\",\"messages\":"
		 "[{\"role\":\"user\",\"content\":\"hi\"}]}' "
		 "http://127.0.0.1:%d/v1/chat/completions", path, c->main.port);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char code[16] = "";
	assert_non_null(fgets(code, sizeof(code), p));
	assert_int_equal(pclose(p), 0);
	assert_string_equal(code, "200");
	char *body = h_read(path);
	assert_non_null(body);
	assert_non_null(strstr(body, "\"The answer is 42, as ever.\""));
	free(body);
}

struct bg {
	const struct srv *s;
	const char *model;
	struct resp r;
	pthread_t t;
};

static void *bg_main(void *arg)
{
	struct bg *g = arg;
	char *b = chat_body(g->model, NULL);
	http(g->s, "POST", "/v1/chat/completions", b, NULL, 0, &g->r);
	free(b);
	return NULL;
}

static void test_runs_cap(void **state)
{
	struct ctx *c = *state;
	struct srv s;
	srv_start(&c->h, &s, "cap", "--max-runs 1 slow.yaml single.yaml");
	struct bg g = {.s = &s, .model = "slow"};
	pthread_create(&g.t, NULL, bg_main, &g);
	usleep(300000);
	struct resp r;
	chat(&s, "single", NULL, &r);
	expect_error(&r, 429, "rate_limit_error", "rate_limit_exceeded");
	assert_string_equal(r.retry_after, "1");
	free(r.body);
	pthread_join(g.t, NULL);
	assert_int_equal(g.r.status, 200);
	free(g.r.body);
	/* A run's slot is free by the time its answer arrives: asking again at
	 * once is never refused by one's own last run. */
	for (int i = 0; i < 20; i++) {
		chat(&s, "single", NULL, &r);
		if (r.status != 200)
			fail_msg("request %d after the last answer: %ld: %s", i, r.status, r.body);
		free(r.body);
	}
	assert_int_equal(srv_stop(&s), 0);
}

static long mock_stat(struct harness *h, const char *key)
{
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	if (!strcmp(key, "aborted"))
		return st.aborted;
	return st.in_flight;
}

#define CHAT_499 "quorum_requests_total{path=\"/v1/chat/completions\",code=\"499\"} "
#define CHAT_200 "quorum_requests_total{path=\"/v1/chat/completions\",code=\"200\"} "

static void test_disconnect_cancels(void **state)
{
	struct ctx *c = *state;
	long aborted = mock_stat(&c->h, "aborted");
	char *log = h_read(c->main.err);
	size_t off = log ? strlen(log) : 0;
	free(log);
	long ok_before = metric(&c->main, CHAT_200);
	/* Waiting for the answer, waiting for the stream's first piece, and
	 * in the middle of a stream. */
	static const char *const model[] = {"slow", "slow", "dribble"};
	static const char *const extra[] = {NULL, "\"stream\":true", "\"stream\":true"};
	for (int i = 0; i < 3; i++) {
		struct resp r;
		char *b = chat_body(model[i], extra[i]);
		assert_int_equal(http(&c->main, "POST", "/v1/chat/completions", b, NULL, 300, &r),
				 CURLE_OPERATION_TIMEDOUT);
		free(b);
		if (i == 2)
			assert_non_null(strstr(r.body, "\"content\":\"a \""));
		free(r.body);
		/* The call ends long before the model would have. */
		int gone = 0;
		for (int k = 0; k < 100 && !gone; k++) {
			gone = mock_stat(&c->h, "aborted") > aborted && mock_stat(&c->h, "in_flight") == 0;
			if (!gone)
				usleep(10000);
		}
		assert_true(gone);
		aborted = mock_stat(&c->h, "aborted");
	}
	struct resp m;
	assert_int_equal(http(&c->main, "GET", "/metrics", NULL, NULL, 0, &m), CURLE_OK);
	assert_non_null(strstr(m.body, "quorum_runs_total{status=\"interrupted\"} "));
	free(m.body);
	/* Each of the three is logged once, as nginx logs a client that
	 * closed its request (499), with its run; the one that left
	 * mid-stream is not a 200 as well. */
	if (log_wait(&c->main, off, "POST /v1/chat/completions 499 ", 3) != 3 ||
	    log_count(&c->main, off, "POST /v1/chat/completions ") != 3 ||
	    log_count(&c->main, off, " ms run ") < 3)
		log_fail(&c->main, off, "want three 499 lines with their runs");
	assert_int_equal(metric(&c->main, CHAT_499), 3);
	assert_int_equal(metric(&c->main, CHAT_200), ok_before);
	/* A client that leaves while it sends its body is one too (it waits a
	 * moment first: a request whose headers MHD never handed over is no
	 * request yet). */
	static const char part[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: q\r\n"
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":";
	char out[256];
	int closed;
	assert_int_equal(raw_http(&c->main, part, sizeof(part) - 1, out, sizeof(out), 200,
				  &closed), 0);
	if (log_wait(&c->main, off, "POST /v1/chat/completions 499 ", 4) != 4)
		log_fail(&c->main, off, "no 499 for a body cut short");
	assert_int_equal(metric(&c->main, CHAT_499), 4);
}

/* --deadline: the run is stopped, its call cancelled, the client told. */
static void test_deadline(void **state)
{
	struct ctx *c = *state;
	struct srv s;
	srv_start(&c->h, &s, "deadline", "--deadline 300ms slow.yaml single.yaml");
	long aborted = mock_stat(&c->h, "aborted");
	struct resp r;
	chat(&s, "slow", NULL, &r);
	expect_error(&r, 504, "server_error", "deadline_exceeded");
	assert_true(r.seconds < 1.2);
	assert_int_equal(strlen(r.run_id), 32);
	free(r.body);
	int gone = 0;
	for (int k = 0; k < 100 && !gone; k++) {
		gone = mock_stat(&c->h, "aborted") > aborted;
		if (!gone)
			usleep(10000);
	}
	assert_true(gone);
	/* A run within the deadline is untouched. */
	chat(&s, "single", NULL, &r);
	assert_int_equal(r.status, 200);
	free(r.body);
	assert_int_equal(srv_stop(&s), 0);
}

static void test_sigterm(void **state)
{
	struct ctx *c = *state;
	struct srv s;
	srv_start(&c->h, &s, "term", "--grace 5s slow.yaml");
	struct bg g = {.s = &s, .model = "slow"};
	pthread_create(&g.t, NULL, bg_main, &g);
	usleep(300000);
	kill(s.pid, SIGTERM);
	/* The run in flight finishes within the grace and is answered. */
	pthread_join(g.t, NULL);
	assert_int_equal(g.r.status, 200);
	free(g.r.body);
	int st = 0;
	waitpid(s.pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	char *log = h_read(s.err);
	assert_non_null(strstr(log, "quorum: stopping: 1 run in flight"));
	assert_non_null(strstr(log, "quorum: stopped"));
	free(log);
	/* Past the grace, what is left is interrupted: 503, and exit 0. */
	srv_start(&c->h, &s, "term2", "--grace 100ms slow.yaml");
	g = (struct bg){.s = &s, .model = "slow"};
	pthread_create(&g.t, NULL, bg_main, &g);
	usleep(300000);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(srv_stop(&s), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(g.t, NULL);
	expect_error(&g.r, 503, "server_error", "interrupted");
	free(g.r.body);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
}

static void test_history_and_sampling(void **state)
{
	struct ctx *c = *state;
	struct resp r;
	const char body[] = "{\"model\":\"hist\",\"temperature\":0.15,\"max_tokens\":77,"
		"\"messages\":[{\"role\":\"system\",\"content\":\"Be terse.\"},"
		"{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello\"},"
		"{\"role\":\"user\",\"content\":\"Why?\"}]}";
	mock_reset_stats(c->h.mock);
	assert_int_equal(http(&c->main, "POST", "/v1/chat/completions", body, NULL, 0, &r),
			 CURLE_OK);
	assert_int_equal(r.status, 200);
	free(r.body);
	char url[1024];
	snprintf(url, sizeof(url), "curl -s '%s/../_mock/requests' > '%s/reqs.json'", c->h.url,
		 c->h.dir);
	assert_int_equal(h_sh(url), 0);
	snprintf(url, sizeof(url), "%s/reqs.json", c->h.dir);
	char *text = h_read(url);
	assert_non_null(strstr(text, "S=Be terse. H=user: Hi\\n\\nassistant: Hello Q=Why?"));
	assert_non_null(strstr(text, "\"temperature\":0.15"));
	assert_non_null(strstr(text, "\"max_tokens\":77"));
	free(text);
	/* A temperature the model writes itself stays: the author pinned it. */
	mock_reset_stats(c->h.mock);
	chat(&c->main, "pinned", "\"temperature\":0.25", &r);
	assert_int_equal(r.status, 200);
	free(r.body);
	snprintf(url, sizeof(url), "curl -s '%s/../_mock/requests' > '%s/reqs.json'", c->h.url,
		 c->h.dir);
	assert_int_equal(h_sh(url), 0);
	snprintf(url, sizeof(url), "%s/reqs.json", c->h.dir);
	text = h_read(url);
	assert_non_null(strstr(text, "\"temperature\":0.9"));
	assert_non_null(strstr(text, "\"temperature\":0.25"));
	free(text);
}

static void test_key_never_leaves(void **state)
{
	struct ctx *c = *state;
	static const char *const cases[][2] = {
		{"echo", NULL}, {"echo", "\"stream\":true"}, {"echoerr", NULL},
		{"echoerr", "\"stream\":true"}, {"echo", "\"quorum\":{\"report\":true}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resp r, rep;
		chat(&c->main, cases[i][0], cases[i][1], &r);
		if (strstr(r.body, SECRET) || strstr(r.body, "0123456789abcdef"))
			fail_msg("case %zu: the key left: %s", i, r.body);
		/* The mock did get it, and said it back: quorum masked it. */
		char text[4096];
		snprintf(text, sizeof(text), "%s", r.body);
		if (cases[i][1] && strstr(cases[i][1], "stream") && r.status == 200) {
			int pieces, error;
			long total;
			read_stream(r.body, text, sizeof(text), &pieces, &total, &error);
		}
		if (!strcmp(cases[i][0], "echo") && !strstr(text, "Credential received: Bearer ****"))
			fail_msg("case %zu: no masked credential: %s", i, r.body);
		char path[128];
		snprintf(path, sizeof(path), "/v1/runs/%s", r.run_id);
		assert_int_equal(http(&c->main, "GET", path, NULL, NULL, 0, &rep), CURLE_OK);
		assert_int_equal(rep.status, 200);
		assert_null(strstr(rep.body, SECRET));
		free(rep.body);
		free(r.body);
	}
	char *log = h_read(c->main.err);
	assert_null(strstr(log, SECRET));
	free(log);
}

/* Anthropic's Messages API on the same workflows. */
static void test_anthropic(void **state)
{
	struct ctx *c = *state;
	struct resp r;
	const char body[] = "{\"model\":\"single\",\"max_tokens\":100,\"messages\":"
		"[{\"role\":\"user\",\"content\":\"What is the answer?\"}]}";
	assert_int_equal(http(&c->main, "POST", "/v1/messages", body, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	cJSON *j = json_of(&r);
	assert_string_equal(str_at(j, "type", NULL), "message");
	assert_memory_equal(str_at(j, "id", NULL), "msg_", 4);
	assert_string_equal(str_at(j, "role", NULL), "assistant");
	assert_string_equal(str_at(j, "stop_reason", NULL), "end_turn");
	const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0);
	assert_string_equal(str_at(c0, "text", NULL), "The answer is 42, as ever.");
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "output_tokens")->valuedouble > 0);
	cJSON_Delete(j);
	free(r.body);
	const char sbody[] = "{\"model\":\"single\",\"max_tokens\":100,\"stream\":true,"
		"\"messages\":[{\"role\":\"user\",\"content\":\"What is the answer?\"}]}";
	assert_int_equal(http(&c->main, "POST", "/v1/messages", sbody, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	char text[512] = "";
	size_t tl = 0;
	int deltas = 0;
	for (const char *p = strstr(r.body, "\"text_delta\",\"text\":"); p;
	     p = strstr(p + 1, "\"text_delta\",\"text\":")) {
		const char *v = p + strlen("\"text_delta\",\"text\":");
		cJSON *piece = cJSON_ParseWithLength(v, strcspn(v, "}"));
		assert_true(cJSON_IsString(piece));
		tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "%s", piece->valuestring);
		cJSON_Delete(piece);
		deltas++;
	}
	assert_string_equal(text, "The answer is 42, as ever.");
	assert_true(deltas >= 3);
	assert_non_null(strstr(r.body, "event: message_start\n"));
	assert_non_null(strstr(r.body, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
	free(r.body);
	const char nobody[] = "{\"model\":\"nonesuch\",\"max_tokens\":10,\"messages\":"
		"[{\"role\":\"user\",\"content\":\"q\"}]}";
	assert_int_equal(http(&c->main, "POST", "/v1/messages", nobody, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 404);
	j = json_of(&r);
	assert_string_equal(str_at(j, "type", NULL), "error");
	assert_string_equal(str_at(j, "error", "type"), "not_found_error");
	cJSON_Delete(j);
	free(r.body);
	const char downbody[] = "{\"model\":\"down\",\"max_tokens\":10,\"messages\":"
		"[{\"role\":\"user\",\"content\":\"q\"}]}";
	assert_int_equal(http(&c->main, "POST", "/v1/messages", downbody, NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 502);
	assert_non_null(strstr(r.body, "\"api_error\""));
	free(r.body);
	/* Anthropic's clients send their key as x-api-key. */
	h_write(&c->h, "tokens2.txt", "anth-token-1\n");
	struct srv s;
	srv_start(&c->h, &s, "anth", "--tokens tokens2.txt single.yaml");
	assert_int_equal(http_hdr(&s, "POST", "/v1/messages", body, "x-api-key: wrong", 0, &r),
			 CURLE_OK);
	assert_int_equal(r.status, 401);
	assert_non_null(strstr(r.body, "\"authentication_error\""));
	free(r.body);
	assert_int_equal(http_hdr(&s, "POST", "/v1/messages", body, "x-api-key: anth-token-1", 0,
				  &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	free(r.body);
	assert_int_equal(srv_stop(&s), 0);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chat),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_broken),
		cmocka_unit_test(test_models_health_metrics),
		cmocka_unit_test(test_created),
		cmocka_unit_test(test_model_retrieve),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_body_cap_and_tokens),
		cmocka_unit_test(test_body_cap_early),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_log_not_forged),
		cmocka_unit_test(test_curl_command),
		cmocka_unit_test(test_runs_cap),
		cmocka_unit_test(test_disconnect_cancels),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_sigterm),
		cmocka_unit_test(test_history_and_sampling),
		cmocka_unit_test(test_key_never_leaves),
		cmocka_unit_test(test_anthropic),
		cmocka_unit_test(test_fd_limit),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
