/* What model-routing research needs from the simulator, over real HTTP:
 * the embeddings endpoints in OpenAI's, Ollama's and Gemini's shapes,
 * vectors that are deterministic and carry a question's hidden topic and
 * difficulty, accuracy that falls with difficulty (per topic too, error
 * groups included), a small model that declines hard questions, a judge
 * whose `rating: auto` tells right from wrong, and the model's faults on
 * embeddings requests. */
#include <math.h>
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
#include "../../sim/sim.h"
#include "test_http.h"

enum { NB = 400, DIM = 64, NT = 3 };

static const char *const topic_names[NT] = {"billing", "code", "travel"};
static const char *const topic_words[NT][5] = {
	{"refund", "invoice", "charge", "payment", "card"},
	{"python", "compile", "function", "bug", "loop"},
	{"flight", "hotel", "visa", "train", "luggage"},
};
static const char *const filler[16] = {
	"red", "green", "blue", "amber", "coral", "ivory", "olive", "plum",
	"ruby", "sand", "teal", "azure", "beige", "cocoa", "denim", "jade",
};

/* Bank question i: topic i % 3, difficulty spread over [0, 1] (a
 * permutation of i / (NB - 1)), two of its topic's words and three
 * others. */
static double q_difficulty(int i) { return (double)((i * 7919) % NB) / (NB - 1); }

static void q_text(int i, char *out, size_t n)
{
	uint32_t s = (uint32_t)i * 2654435761u + 12345u;
	const char *w[5];
	for (int k = 0; k < 5; k++) {
		s = s * 1103515245u + 12345u;
		w[k] = k < 2 ? topic_words[i % NT][(s >> 16) % 5] : filler[(s >> 16) % 16];
	}
	snprintf(out, n, "Q%d: what about %s %s %s %s %s number %d?", i, w[2], w[0],
		 w[3], w[1], w[4], i);
}

/* The shared scenario: the models under test and a bank of NB generated
 * questions, two borderline ones and a capital. */
static char *route_scenario(void)
{
	struct buf b = BUF_INIT;
	buf_puts(&b,
		 "seed: 21\n"
		 "embeddings:\n"
		 "  topics:\n"
		 "    billing: [refund, invoice, charge, payment, card]\n"
		 "    code: [python, compile, function, bug, loop]\n"
		 "    travel: [flight, hotel, visa, train, luggage]\n"
		 "models:\n"
		 "  emb: {}\n"
		 "  embslow: {latency: 150ms}\n"
		 "  flaky: {faults: [{type: status, status: 429, retry_after: 2, every: 2}]}\n"
		 "  embreset: {faults: [{type: reset}]}\n"
		 "  embhuge: {faults: [{type: huge, bytes: 100000}]}\n"
		 "  embbad: {faults: [{type: malformed}]}\n"
		 "  graded: {accuracy: {easy: 0.95, hard: 0.3}}\n"
		 "  topical: {accuracy: 0.9, topic_accuracy: {code: 0.1, travel: {easy: 1, hard: 0.6}}}\n"
		 "  strong: {accuracy: {easy: 0.9, hard: 0.5}, error_group: g, correlation: 1}\n"
		 "  weak: {accuracy: {easy: 0.8, hard: 0.4}, error_group: g, correlation: 1}\n"
		 "  small: {accuracy: 1, decline_above: 0.5}\n"
		 "  noisy: {accuracy: 1, decline_above: 0.5, decline_noise: 0.2, decline_marker: DEFER}\n"
		 "  judge: {rules: [{kind: rating, rating: auto}]}\n"
		 "bank:\n");
	for (int i = 0; i < NB; i++) {
		char q[200];
		q_text(i, q, sizeof(q));
		buf_printf(&b, "  - {q: '%s', a: 'right%d', wrong: ['wrong%d'], topic: %s, "
			       "difficulty: %.6f}\n",
			   q, i, i, topic_names[i % NT], q_difficulty(i));
	}
	buf_puts(&b,
		 "  - {q: 'Is this borderline low?', a: 'low', wrong: [no], difficulty: 0.45}\n"
		 "  - {q: 'Is this borderline high?', a: 'high', wrong: [no], difficulty: 0.55}\n"
		 "  - {q: 'What is the capital of Australia?', a: 'Canberra is the capital.',\n"
		 "     short: Canberra, wrong: [Sydney, Melbourne], topic: travel, difficulty: 0.2}\n");
	return b.data;
}

static struct mock *start(const char *text)
{
	struct qerr e = {0};
	struct mock *m = mock_start("route", text, strlen(text), 0, &e);
	if (!m)
		fprintf(stderr, "mock_start: %s\n", e.msg);
	assert_non_null(m);
	return m;
}

static int setup(void **state)
{
	char *text = route_scenario();
	struct qerr e = {0};
	struct mock *m = mock_start("route", text, strlen(text), 0, &e);
	if (!m)
		fprintf(stderr, "mock_start: %s\n", e.msg);
	free(text);
	*state = m;
	return m ? 0 : -1;
}

static int teardown(void **state)
{
	mock_stop(*state);
	return 0;
}

static int port_of(void **state) { return mock_port(*state); }

/* ---- helpers ---- */

/* Decodes standard base64 s into out; returns the bytes written, or -1. */
static long unbase64(const char *s, unsigned char *out, size_t max)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789+/";
	size_t n = 0, len = strlen(s);
	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t x = 0;
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			const char *c = s[i + k] == '=' ? NULL : strchr(abc, s[i + k]);
			if (!c && s[i + k] != '=')
				return -1;
			pad += !c;
			x = x << 6 | (uint32_t)(c ? c - abc : 0);
		}
		for (int k = 0; k < 3 - pad; k++) {
			if (n == max)
				return -1;
			out[n++] = (unsigned char)(x >> (16 - 8 * k));
		}
	}
	return (long)n;
}

/* POSTs body to path; returns the parsed answer (NULL when not JSON). */
static cJSON *post(int port, const char *path, const char *body, struct resp *r)
{
	http(port, path, body, 10000, r);
	return cJSON_Parse(buf_str(&r->body));
}

/* Asserts that o has exactly the keys in `keys` (space separated). */
static void assert_keys(const cJSON *o, const char *keys)
{
	assert_true(cJSON_IsObject(o));
	int n = 0;
	char want[256];
	snprintf(want, sizeof(want), " %s ", keys);
	for (const cJSON *it = o->child; it; it = it->next, n++) {
		char k[64];
		snprintf(k, sizeof(k), " %s ", it->string);
		if (!strstr(want, k))
			fprintf(stderr, "unexpected key '%s'\n", it->string);
		assert_non_null(strstr(want, k));
	}
	int spaces = 0;
	for (const char *p = keys; *p; p++)
		spaces += *p == ' ';
	assert_int_equal(n, spaces + 1);
}

/* Copies a JSON array of DIM numbers into v and checks it is a unit vector. */
static void vec_of(const cJSON *arr, double *v)
{
	assert_true(cJSON_IsArray(arr));
	assert_int_equal(cJSON_GetArraySize(arr), DIM);
	double len = 0;
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		assert_true(cJSON_IsNumber(it));
		v[i] = it->valuedouble;
		len += v[i] * v[i];
	}
	assert_true(fabs(len - 1) < 1e-5);
}

static double cosine(const double *a, const double *b)
{
	double d = 0, na = 0, nb = 0;
	for (int i = 0; i < DIM; i++) {
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	return d / sqrt(na * nb);
}

/* A JSON list of the texts, escaped. */
static char *json_texts(const char *const *texts, size_t n)
{
	struct buf b = BUF_INIT;
	buf_putc(&b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ',');
		buf_put_json_str(&b, texts[i]);
	}
	buf_putc(&b, ']');
	return b.data;
}

/* The OpenAI vectors of texts[0..n) from model, into v (n * DIM). */
static void embed_many(int port, const char *model, const char *const *texts,
		       size_t n, double *v)
{
	for (size_t at = 0; at < n; at += 100) {
		size_t k = n - at < 100 ? n - at : 100;
		char *in = json_texts(texts + at, k);
		struct buf body = BUF_INIT;
		buf_printf(&body, "{\"model\":\"%s\",\"input\":%s}", model, in);
		struct resp r;
		cJSON *j = post(port, "/v1/embeddings", buf_str(&body), &r);
		assert_int_equal(r.status, 200);
		const cJSON *data = cJSON_GetObjectItem(j, "data");
		assert_int_equal(cJSON_GetArraySize(data), (int)k);
		for (size_t i = 0; i < k; i++)
			vec_of(cJSON_GetObjectItem(cJSON_GetArrayItem(data, (int)i), "embedding"),
			       v + (at + i) * DIM);
		cJSON_Delete(j);
		resp_release(&r);
		buf_release(&body);
		free(in);
	}
}

static void embed_one(int port, const char *text, double *v)
{
	embed_many(port, "emb", &text, 1, v);
}

/* The bank's question texts, 0..NB. */
static char (*bank_texts(void))[200]
{
	static char q[NB][200];
	for (int i = 0; i < NB; i++)
		q_text(i, q[i], sizeof(q[i]));
	return q;
}

/* ---- the wire formats ---- */

static void test_embed_openai(void **state)
{
	struct resp r;
	cJSON *j = post(port_of(state), "/v1/embeddings",
			"{\"model\":\"emb\",\"input\":[\"hello world\",\"one two three\"],"
			"\"encoding_format\":\"float\"}", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(buf_str(&r.headers), "application/json"));
	assert_keys(j, "object data model usage");
	assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "list");
	assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "emb");
	const cJSON *data = cJSON_GetObjectItem(j, "data");
	assert_int_equal(cJSON_GetArraySize(data), 2);
	double v[2][DIM];
	for (int i = 0; i < 2; i++) {
		const cJSON *d = cJSON_GetArrayItem(data, i);
		assert_keys(d, "object index embedding");
		assert_string_equal(cJSON_GetObjectItem(d, "object")->valuestring, "embedding");
		assert_int_equal(cJSON_GetObjectItem(d, "index")->valueint, i);
		vec_of(cJSON_GetObjectItem(d, "embedding"), v[i]);
	}
	const cJSON *u = cJSON_GetObjectItem(j, "usage");
	assert_keys(u, "prompt_tokens total_tokens");
	assert_int_equal(cJSON_GetObjectItem(u, "prompt_tokens")->valueint, 5); /* words */
	assert_int_equal(cJSON_GetObjectItem(u, "total_tokens")->valueint, 5);
	cJSON_Delete(j);
	resp_release(&r);

	/* A string input, under another base URL, as base64 float32s. */
	j = post(port_of(state), "/openai/v1/embeddings",
		 "{\"model\":\"emb\",\"input\":\"hello world\",\"encoding_format\":\"base64\"}",
		 &r);
	assert_int_equal(r.status, 200);
	const cJSON *e = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0),
					     "embedding");
	assert_true(cJSON_IsString(e));
	unsigned char raw[DIM * 4 + 4];
	assert_int_equal(unbase64(e->valuestring, raw, sizeof(raw)), DIM * 4);
	for (int i = 0; i < DIM; i++) {
		uint32_t bits = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
				(uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24;
		float f;
		memcpy(&f, &bits, sizeof(f));
		assert_true(f == (float)v[0][i]);
	}
	cJSON_Delete(j);
	resp_release(&r);
}

static void test_embed_ollama(void **state)
{
	double want[DIM], v[DIM];
	embed_one(port_of(state), "hello world", want);
	struct resp r;
	cJSON *j = post(port_of(state), "/api/embed",
			"{\"model\":\"emb\",\"input\":[\"hello world\",\"x\"]}", &r);
	assert_int_equal(r.status, 200);
	assert_keys(j, "model embeddings total_duration load_duration prompt_eval_count");
	assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "emb");
	const cJSON *es = cJSON_GetObjectItem(j, "embeddings");
	assert_int_equal(cJSON_GetArraySize(es), 2);
	vec_of(cJSON_GetArrayItem(es, 0), v);
	assert_memory_equal(v, want, sizeof(v));
	assert_int_equal(cJSON_GetObjectItem(j, "prompt_eval_count")->valueint, 3);
	assert_true(cJSON_GetObjectItem(j, "total_duration")->valuedouble > 0);
	cJSON_Delete(j);
	resp_release(&r);

	j = post(port_of(state), "/api/embed", "{\"model\":\"emb\",\"input\":\"hello world\"}", &r);
	vec_of(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "embeddings"), 0), v);
	assert_memory_equal(v, want, sizeof(v));
	cJSON_Delete(j);
	resp_release(&r);

	/* Ollama's older endpoint: one prompt, one vector. */
	j = post(port_of(state), "/api/embeddings",
		 "{\"model\":\"emb\",\"prompt\":\"hello world\"}", &r);
	assert_int_equal(r.status, 200);
	assert_keys(j, "embedding");
	vec_of(cJSON_GetObjectItem(j, "embedding"), v);
	assert_memory_equal(v, want, sizeof(v));
	cJSON_Delete(j);
	resp_release(&r);
}

static void test_embed_gemini(void **state)
{
	double want[DIM], v[DIM];
	embed_one(port_of(state), "hello world\nagain", want);
	struct resp r;
	cJSON *j = post(port_of(state), "/v1beta/models/emb:embedContent",
			"{\"model\":\"models/emb\",\"content\":{\"parts\":"
			"[{\"text\":\"hello world\"},{\"text\":\"again\"}]}}", &r);
	assert_int_equal(r.status, 200);
	assert_keys(j, "embedding");
	assert_keys(cJSON_GetObjectItem(j, "embedding"), "values");
	vec_of(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "embedding"), "values"), v);
	assert_memory_equal(v, want, sizeof(v));
	cJSON_Delete(j);
	resp_release(&r);

	j = post(port_of(state), "/v1beta/models/emb:batchEmbedContents",
		 "{\"requests\":[{\"model\":\"models/emb\",\"content\":{\"parts\":"
		 "[{\"text\":\"hello world\"},{\"text\":\"again\"}]}},"
		 "{\"model\":\"models/emb\",\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}",
		 &r);
	assert_int_equal(r.status, 200);
	assert_keys(j, "embeddings");
	const cJSON *es = cJSON_GetObjectItem(j, "embeddings");
	assert_int_equal(cJSON_GetArraySize(es), 2);
	assert_keys(cJSON_GetArrayItem(es, 1), "values");
	vec_of(cJSON_GetObjectItem(cJSON_GetArrayItem(es, 0), "values"), v);
	assert_memory_equal(v, want, sizeof(v));
	cJSON_Delete(j);
	resp_release(&r);
}

static void expect_status(int port, const char *path, const char *body, long status,
			  const char *fragment)
{
	struct resp r;
	http(port, path, body, 5000, &r);
	if (r.status != status || !strstr(buf_str(&r.body), fragment))
		fprintf(stderr, "%s: %ld %s\n", path, r.status, buf_str(&r.body));
	assert_int_equal(r.status, status);
	assert_non_null(strstr(buf_str(&r.body), fragment));
	resp_release(&r);
}

static void test_embed_errors(void **state)
{
	int port = port_of(state);
	expect_status(port, "/v1/embeddings", "{\"model\":\"nope\",\"input\":\"x\"}", 404,
		      "\"code\":\"model_not_found\"");
	expect_status(port, "/api/embed", "{\"model\":\"nope\",\"input\":\"x\"}", 404,
		      "{\"error\":\"model 'nope' not found, try pulling it first\"}");
	expect_status(port, "/v1beta/models/nope:embedContent",
		      "{\"content\":{\"parts\":[{\"text\":\"x\"}]}}", 404,
		      "\"status\": \"NOT_FOUND\"");
	expect_status(port, "/v1/embeddings", "{\"model\":\"emb\"}", 400,
		      "Missing required parameter: 'input'.");
	expect_status(port, "/v1/embeddings", "{\"model\":\"emb\",\"input\":\"\"}", 400,
		      "'$.input' is invalid");
	expect_status(port, "/v1/embeddings", "{\"model\":\"emb\",\"input\":[1,2]}", 400,
		      "'$.input' is invalid");
	expect_status(port, "/v1/embeddings",
		      "{\"model\":\"emb\",\"input\":\"x\",\"encoding_format\":\"hex\"}", 400,
		      "encoding_format");
	expect_status(port, "/v1beta/models/emb:embedContent", "{}", 400,
		      "content is not specified");
	expect_status(port, "/v1beta/models/emb:batchEmbedContents",
		      "{\"requests\":[{\"model\":\"models/other\",\"content\":"
		      "{\"parts\":[{\"text\":\"x\"}]}}]}", 400, "INVALID_ARGUMENT");
	expect_status(port, "/api/embed", "not json", 400, "{\"error\":");
	expect_status(port, "/v1/embeddings", NULL, 405, "Method not allowed.");
}

/* ---- the vectors ---- */

static void test_embed_deterministic(void **state)
{
	static const char body[] =
		"{\"model\":\"emb\",\"input\":[\"Q7: a question?\",\"refund my card\","
		"\"the quick brown fox\",\"the quick brown fox\"]}";
	struct resp a, b;
	http(port_of(state), "/v1/embeddings", body, 5000, &a);
	assert_int_equal(a.status, 200);
	cJSON *j = cJSON_Parse(buf_str(&a.body));
	const cJSON *data = cJSON_GetObjectItem(j, "data");
	char *v2 = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 2), "embedding"));
	char *v3 = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 3), "embedding"));
	assert_string_equal(v2, v3);
	cJSON_free(v2);
	cJSON_free(v3);
	cJSON_Delete(j);

	/* Another server on the same scenario: the same bytes. */
	char *text = route_scenario();
	struct mock *m = start(text);
	free(text);
	http(mock_port(m), "/v1/embeddings", body, 5000, &b);
	mock_stop(m);
	assert_int_equal(b.status, 200);
	assert_string_equal(buf_str(&a.body), buf_str(&b.body));
	resp_release(&a);
	resp_release(&b);
}

static void test_embed_topics(void **state)
{
	enum { N = 90 };
	char(*q)[200] = bank_texts();
	const char *texts[N + 3];
	for (int i = 0; i < N; i++)
		texts[i] = q[i];
	texts[N] = "I want a refund for this charge";
	texts[N + 1] = "my python function will not compile";
	texts[N + 2] = "book a flight and a hotel";
	static double v[N + 3][DIM];
	embed_many(port_of(state), "emb", texts, N + 3, &v[0][0]);
	double same = 0, other = 0;
	int ns = 0, no = 0;
	for (int i = 0; i < N; i++) {
		for (int k = i + 1; k < N; k++) {
			double c = cosine(v[i], v[k]);
			if (i % NT == k % NT) {
				same += c;
				ns++;
			} else {
				other += c;
				no++;
			}
		}
	}
	same /= ns;
	other /= no;
	fprintf(stderr, "mean cosine: same topic %.3f, other topics %.3f\n", same, other);
	assert_true(same > 0.6);
	assert_true(other < 0.3);
	/* Text with a topic's keywords and no bank question: nearest its
	 * topic's questions. */
	for (int t = 0; t < NT; t++) {
		double mean[NT] = {0};
		for (int i = 0; i < N; i++)
			mean[i % NT] += cosine(v[N + t], v[i]) / (N / NT);
		fprintf(stderr, "keyword text %s: %.3f %.3f %.3f\n", topic_names[t], mean[0],
			mean[1], mean[2]);
		for (int u = 0; u < NT; u++)
			if (u != t)
				assert_true(mean[t] > mean[u] + 0.3);
	}
	/* Texts of no topic: shared words make them similar. */
	double a[DIM], b[DIM], c[DIM];
	embed_one(port_of(state), "the quick brown fox jumps", a);
	embed_one(port_of(state), "the quick brown fox sleeps", b);
	embed_one(port_of(state), "lorem ipsum dolor sit amet", c);
	fprintf(stderr, "shared words %.3f, none %.3f\n", cosine(a, b), cosine(a, c));
	assert_true(cosine(a, b) > 0.6);
	assert_true(fabs(cosine(a, c)) < 0.5);
}

static double pearson(const double *x, const double *y, int n)
{
	double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
	for (int i = 0; i < n; i++) {
		mx += x[i] / n;
		my += y[i] / n;
	}
	for (int i = 0; i < n; i++) {
		sxy += (x[i] - mx) * (y[i] - my);
		sxx += (x[i] - mx) * (x[i] - mx);
		syy += (y[i] - my) * (y[i] - my);
	}
	return sxy / sqrt(sxx * syy);
}

/* The difficulty direction depends on the seed and dim alone: a scenario
 * of the same seed whose only term is difficulty gives it as the vector
 * of a question of difficulty 1. */
static void difficulty_direction(double *u)
{
	static const char text[] =
		"seed: 21\n"
		"embeddings: {topic_weight: 0, words_weight: 0, noise: 0}\n"
		"models: {emb: {}}\n"
		"bank: [{q: 'the anchor', a: x, difficulty: 1}]\n";
	struct mock *m = start(text);
	embed_one(mock_port(m), "the anchor", u);
	mock_stop(m);
}

static void test_embed_difficulty(void **state)
{
	enum { N = 200 };
	char(*q)[200] = bank_texts();
	const char *texts[N];
	static double v[N][DIM];
	double d[N], proj[N], u[DIM], easy = 0, hard = 0;
	for (int i = 0; i < N; i++) {
		texts[i] = q[i];
		d[i] = q_difficulty(i);
	}
	embed_many(port_of(state), "emb", texts, N, &v[0][0]);
	difficulty_direction(u);
	int ne = 0, nh = 0;
	for (int i = 0; i < N; i++) {
		proj[i] = 0;
		for (int k = 0; k < DIM; k++)
			proj[i] += v[i][k] * u[k];
		if (d[i] < 0.25) {
			easy += proj[i];
			ne++;
		} else if (d[i] > 0.75) {
			hard += proj[i];
			nh++;
		}
	}
	double r = pearson(d, proj, N);
	fprintf(stderr, "difficulty: pearson r %.3f; mean projection easy %.3f, hard %.3f\n",
		r, easy / ne, hard / nh);
	assert_true(r > 0.8);
	assert_true(hard / nh > easy / ne + 0.2);
	/* A text with no bank question has no difficulty term at all. */
	double t[DIM], p = 0;
	embed_one(port_of(state), "I want a refund for this charge", t);
	for (int k = 0; k < DIM; k++)
		p += t[k] * u[k];
	assert_true(fabs(p) < 1e-5);
}

/* ---- accuracy, declines, ratings ---- */

/* The text of model's answer to a user message. */
static char *chat_text(int port, const char *model, const char *user)
{
	struct buf body = BUF_INIT;
	buf_printf(&body, "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":", model);
	buf_put_json_str(&body, user);
	buf_puts(&body, "}]}");
	struct resp r;
	cJSON *j = post(port, "/v1/chat/completions", buf_str(&body), &r);
	assert_int_equal(r.status, 200);
	const cJSON *msg = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
	char *t = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "content")));
	cJSON_Delete(j);
	resp_release(&r);
	buf_release(&body);
	return t;
}

static int answered_right(int port, const char *model, int i)
{
	char q[200], want[32];
	q_text(i, q, sizeof(q));
	snprintf(want, sizeof(want), "Answer: right%d", i);
	char *t = chat_text(port, model, q);
	int ok = strstr(t, want) != NULL;
	free(t);
	return ok;
}

static void test_accuracy_by_difficulty(void **state)
{
	int right_easy = 0, n_easy = 0, right_hard = 0, n_hard = 0, right = 0;
	double expect = 0, var = 0;
	for (int i = 0; i < NB; i++) {
		double d = q_difficulty(i), p = 0.95 + (0.3 - 0.95) * d;
		int ok = answered_right(port_of(state), "graded", i);
		right += ok;
		expect += p;
		var += p * (1 - p);
		if (d < 0.25) {
			right_easy += ok;
			n_easy++;
		} else if (d > 0.75) {
			right_hard += ok;
			n_hard++;
		}
	}
	double pe = (double)right_easy / n_easy, ph = (double)right_hard / n_hard;
	fprintf(stderr, "graded: right %d of %d (expected %.1f +- %.1f); easy %.3f of %d, "
		"hard %.3f of %d\n", right, NB, expect, sqrt(var), pe, n_easy, ph, n_hard);
	/* Four standard deviations of the binomial sums. */
	assert_true(fabs(right - expect) < 4 * sqrt(var));
	assert_true(fabs(pe - 0.869) < 4 * sqrt(0.869 * 0.131 / n_easy));
	assert_true(fabs(ph - 0.381) < 4 * sqrt(0.381 * 0.619 / n_hard));
	assert_true(pe > ph + 0.3);
}

static void test_topic_accuracy(void **state)
{
	int right[NT] = {0}, n[NT] = {0};
	for (int i = 0; i < 300; i++) {
		right[i % NT] += answered_right(port_of(state), "topical", i);
		n[i % NT]++;
	}
	double billing = (double)right[0] / n[0], code = (double)right[1] / n[1],
	       travel = (double)right[2] / n[2];
	fprintf(stderr, "topical: billing %.3f, code %.3f, travel %.3f\n", billing, code, travel);
	assert_true(fabs(billing - 0.9) < 0.12);
	assert_true(fabs(code - 0.1) < 0.12);
	assert_true(fabs(travel - 0.8) < 0.16); /* 1 - 0.4 d, d about 0.5 */
}

/* Error groups keep working with a per-question accuracy: sharing every
 * draw (correlation 1), the more accurate member is right whenever the
 * less accurate one is. */
static void test_group_by_difficulty(void **state)
{
	int strong = 0, weak = 0;
	for (int i = 0; i < 200; i++) {
		int s = answered_right(port_of(state), "strong", i);
		int w = answered_right(port_of(state), "weak", i);
		assert_true(s || !w);
		strong += s;
		weak += w;
	}
	fprintf(stderr, "group: strong %d, weak %d of 200\n", strong, weak);
	assert_true(strong > weak + 10);
}

static const char marker_prompt[] =
	"If the question is too hard for you, reply with [[DECLINE]] alone.\n\n";

static void test_decline(void **state)
{
	int port = port_of(state), declined = 0, answered = 0;
	for (int i = 0; i < 60; i++) {
		char q[200], p[400], want[32];
		q_text(i, q, sizeof(q));
		snprintf(p, sizeof(p), "%s%s", marker_prompt, q);
		snprintf(want, sizeof(want), "Answer: right%d", i);
		char *t = chat_text(port, "small", p);
		if (q_difficulty(i) > 0.5) {
			assert_string_equal(t, "[[DECLINE]]");
			declined++;
		} else {
			assert_non_null(strstr(t, want));
			answered++;
		}
		free(t);
		/* Without the marker, it answers whatever the difficulty. */
		t = chat_text(port, "small", q);
		assert_non_null(strstr(t, want));
		free(t);
	}
	assert_true(declined > 10 && answered > 10);
}

/* decline_noise: near the threshold, some requests decline and some
 * answer, the same ones on a rerun. */
static void noisy_pattern(int port, char *out, int n)
{
	for (int i = 0; i < n; i++) {
		const char *q = i % 2 ? "Is this borderline high?" : "Is this borderline low?";
		char p[200];
		snprintf(p, sizeof(p), "Say DEFER when unsure. %s", q);
		char *t = chat_text(port, "noisy", p);
		out[i] = !strcmp(t, "DEFER") ? 'D' : strstr(t, "Answer: ") ? 'A' : '?';
		free(t);
	}
	out[n] = '\0';
}

static void test_decline_noise(void **state)
{
	enum { N = 200 };
	char first[N + 1], again[N + 1];
	noisy_pattern(port_of(state), first, N);
	int low = 0, high = 0;
	for (int i = 0; i < N; i++) {
		assert_true(first[i] != '?');
		*(i % 2 ? &high : &low) += first[i] == 'D';
	}
	fprintf(stderr, "noisy declines: d 0.45 %d of %d, d 0.55 %d of %d\n", low, N / 2,
		high, N / 2);
	/* P(0.45 + 0.2 g > 0.5) = 0.40, P(0.55 + 0.2 g > 0.5) = 0.60 */
	assert_true(low > 20 && low < 60);
	assert_true(high > 40 && high < 80);
	mock_reset_stats(*state);
	noisy_pattern(port_of(state), again, N);
	assert_string_equal(first, again);
}

static double rate(int port, const char *question, const char *answer)
{
	struct buf sys = BUF_INIT, user = BUF_INIT;
	cascade_judge_prompt(&sys, &user, question, answer, NULL);
	struct buf body = BUF_INIT;
	buf_puts(&body, "{\"model\":\"judge\",\"messages\":[{\"role\":\"system\",\"content\":");
	buf_put_json_str(&body, buf_str(&sys));
	buf_puts(&body, "},{\"role\":\"user\",\"content\":");
	buf_put_json_str(&body, buf_str(&user));
	buf_puts(&body, "}]}");
	struct resp r;
	cJSON *j = post(port, "/v1/chat/completions", buf_str(&body), &r);
	const cJSON *msg = cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
	double s = judge_parse_score(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "content")));
	cJSON_Delete(j);
	resp_release(&r);
	buf_release(&body);
	buf_release(&sys);
	buf_release(&user);
	return s;
}

static void test_rating_auto(void **state)
{
	int port = port_of(state);
	const char *q = "What is the capital of Australia?";
	assert_true(rate(port, q, "Canberra is the capital.\n\nAnswer: Canberra") == 9);
	assert_true(rate(port, q, "The capital is Canberra.") == 9);
	assert_true(rate(port, q, "I believe it is Sydney.\n\nAnswer: Sydney") == 2);
	assert_true(rate(port, q, "Perhaps Perth.\n\nAnswer: Perth") == 2);
	assert_true(rate(port, q, "[[DECLINE]]") == 5);
	/* A generated question, and one the bank does not hold. */
	char g[200];
	q_text(5, g, sizeof(g));
	assert_true(rate(port, g, "Answer: right5") == 9);
	assert_true(rate(port, g, "Answer: wrong5") == 2);
	q = "What is the capital of France?";
	assert_true(rate(port, q, "Paris.\n\nAnswer: simulated capital France") == 9);
	assert_true(rate(port, q, "Answer: simulated capital France variant 7") == 2);
	assert_true(rate(port, q, "Paris, I think.") == 5);
}

/* ---- faults and the books ---- */

static void test_embed_faults(void **state)
{
	int port = port_of(state);
	static const char *const path[3] = {"/v1/embeddings",
					    "/v1beta/models/flaky:embedContent",
					    "/api/embed"};
	static const char *const body[3] = {
		"{\"model\":\"flaky\",\"input\":\"x\"}",
		"{\"content\":{\"parts\":[{\"text\":\"x\"}]}}",
		"{\"model\":\"flaky\",\"input\":\"x\"}",
	};
	static const char *const error[3] = {
		"\"code\":\"rate_limit_exceeded\"", "\"status\": \"RESOURCE_EXHAUSTED\"",
		"{\"error\":\"too many requests\"}",
	};
	for (int f = 0; f < 3; f++) {
		/* every: 2 counts the model's requests of any format. */
		struct resp r;
		http(port, path[f], body[f], 5000, &r);
		assert_int_equal(r.status, 200);
		resp_release(&r);
		http(port, path[f], body[f], 5000, &r);
		assert_int_equal(r.status, 429);
		assert_non_null(strstr(buf_str(&r.headers), "Retry-After: 2\r\n"));
		assert_non_null(strstr(buf_str(&r.body), error[f]));
		resp_release(&r);
	}
	assert_int_equal(mock_fault_count(*state, "status"), 3);
	assert_int_equal(mock_model_requests(*state, "flaky"), 6);

	struct resp r;
	http(port, "/v1/embeddings", "{\"model\":\"embslow\",\"input\":\"x\"}", 5000, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.ms >= 150);
	resp_release(&r);
	http(port, "/v1/embeddings", "{\"model\":\"embreset\",\"input\":\"x\"}", 5000, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	resp_release(&r);
	http(port, "/v1/embeddings", "{\"model\":\"embbad\",\"input\":\"x\"}", 5000, &r);
	assert_int_equal(r.status, 200);
	assert_null(cJSON_Parse(buf_str(&r.body)));
	assert_non_null(strstr(buf_str(&r.body), "<<mock: malformed body>>"));
	resp_release(&r);
	cJSON *j = post(port, "/api/embed", "{\"model\":\"embhuge\",\"input\":\"x\"}", &r);
	assert_int_equal(r.status, 200);
	assert_true(r.body.len >= 100000);
	const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "embeddings"), 0);
	assert_true(cJSON_GetArraySize(v) > 20000);
	assert_true(cJSON_GetArrayItem(v, 100)->valuedouble == 0);
	cJSON_Delete(j);
	resp_release(&r);
}

static void test_embed_books(void **state)
{
	int port = port_of(state);
	mock_reset_stats(*state);
	double v[DIM];
	embed_one(port, "count me", v);
	struct mock_stats st;
	mock_get_stats(*state, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.completed, 1);
	assert_int_equal(mock_model_requests(*state, "emb"), 1);
	struct resp r;
	cJSON *j = post(port, "/_mock/requests?model=emb", NULL, &r);
	assert_int_equal(cJSON_GetArraySize(j), 1);
	const cJSON *e = cJSON_GetArrayItem(j, 0);
	assert_string_equal(cJSON_GetObjectItem(e, "format")->valuestring, "openai");
	assert_string_equal(cJSON_GetObjectItem(e, "endpoint")->valuestring, "embeddings");
	assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 200);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "input"), 0)->valuestring,
			    "count me");
	cJSON_Delete(j);
	resp_release(&r);
}

static void expect_refused(const char *text, const char *want)
{
	struct qerr e = {0};
	struct mock *m = mock_start("bad.yaml", text, strlen(text), 0, &e);
	assert_null(m);
	if (!strstr(e.msg, want))
		fprintf(stderr, "got: %s\n", e.msg);
	assert_non_null(strstr(e.msg, want));
}

static void test_route_scenario_errors(void **state)
{
	(void)state;
	expect_refused("models: {a: {accuracy: {easy: 0.9}}}\n",
		       "models.a.accuracy: needs both 'easy'");
	expect_refused("models: {a: {accuracy: {easy: 0.9, hard: 1.2}}}\n",
		       "models.a.accuracy.hard: expected a number from 0 to 1");
	expect_refused("models: {a: {accuracy: {easy: 0.9, hrad: 1}}}\n", "did you mean 'hard'");
	expect_refused("models: {a: {accuracy: high}}\n",
		       "models.a.accuracy: expected a number from 0 to 1 or {easy");
	expect_refused("models: {a: {topic_accuracy: {code: 2}}}\n",
		       "models.a.topic_accuracy.code: expected a number");
	expect_refused("models: {a: {decline_above: 1.5}}\n", "models.a.decline_above");
	expect_refused("models: {a: {decline_marker: ''}}\n", "expected a non-empty marker");
	expect_refused("models: {a: {rules: [{rating: often}]}}\n",
		       "expected a number from 0 to 10 or 'auto'");
	expect_refused("bank: [{q: x, a: y, difficulty: 2}]\n", "bank[0].difficulty");
	expect_refused("bank: [{q: x, a: y, topic: ''}]\n", "bank[0].topic: expected a topic name");
	expect_refused("embeddings: {dim: 1}\n", "embeddings.dim: expected a number from 2");
	expect_refused("embeddings: {noize: 1}\n", "did you mean 'noise'");
	expect_refused("embeddings: {topics: {code: python}}\n", "embeddings.topics.code");
	expect_refused("embedings: {}\n", "did you mean 'embeddings'");
}

int test_route_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_embed_openai, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embed_ollama, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embed_gemini, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embed_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embed_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embed_topics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embed_difficulty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accuracy_by_difficulty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_topic_accuracy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_by_difficulty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decline_noise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rating_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embed_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embed_books, setup, teardown),
		cmocka_unit_test(test_route_scenario_errors),
	};
	return cmocka_run_group_tests_name("mock_routing", tests, NULL, NULL);
}
