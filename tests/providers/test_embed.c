/* The embeddings endpoints (providers/embed.h): requests as each API
 * reads them, responses (the documented examples and every way they can
 * be wrong) fed whole, byte by byte, in two pieces split at every byte and
 * at random, all of which must agree; the packed form there and back and
 * every malformed one (the vector math is common/vec, test_vec.c).
 * Bodies are inline: each is a few lines. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../common/alloc.h"
#include "../../common/arena.h"
#include "../../common/base64.h"
#include "../../providers/embed.h"
#include "feed.h"
#include "util.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))
#define KEY "AIzaSyD-TEST-not-a-real-key-0123456789"

static const struct provider *embedder(const char *name)
{
	const struct provider *p = provider_embedder(name);
	assert_non_null(p);
	return p;
}

/* ---- which providers ---- */

static void embedders_named(void **state)
{
	(void)state;
	static const char *const have[] = {"openai", "gemini", "ollama"};
	for (size_t i = 0; i < N(have); i++) {
		const struct provider *e = embedder(have[i]), *chat = prov_get(have[i]);
		assert_ptr_not_equal(e, chat);
		assert_ptr_equal(e->facts, chat->facts);
		assert_ptr_equal(e->parse_error, chat->parse_error);
		assert_non_null(e->build);
		assert_non_null(e->parser_content_type);
	}
	assert_null(provider_embedder("anthropic"));
	assert_non_null(provider_find("anthropic"));
	assert_null(provider_embedder("OpenAI"));
	assert_null(provider_embedder("nope"));
	assert_null(provider_embedder(""));
	assert_null(provider_embedder(NULL));
}

/* ---- requests ---- */

static const char *const two[] = {"Why is the sky blue?", "Why is the grass green?"};

struct build_case {
	const char *prov, *model, *base, *key, *params;
	const char *url, *body;
	const char *key_header;  /* "Name: value" of the key; NULL: none sent */
};

static const struct build_case builds[] = {
	/* OpenAI: the default base, a key */
	{"openai", "text-embedding-3-small", NULL, "sk-test", NULL,
	 "https://api.openai.com/v1/embeddings",
	 "{\"model\":\"text-embedding-3-small\",\"input\":[\"Why is the sky blue?\","
	 "\"Why is the grass green?\"],\"encoding_format\":\"float\"}",
	 "Authorization: Bearer sk-test"},
	/* a compatible server, base with trailing slashes, no key */
	{"openai", "bge-m3", "http://127.0.0.1:8080/v1//", NULL, NULL,
	 "http://127.0.0.1:8080/v1/embeddings",
	 "{\"model\":\"bge-m3\",\"input\":[\"Why is the sky blue?\","
	 "\"Why is the grass green?\"],\"encoding_format\":\"float\"}",
	 NULL},
	/* "" is the default base and no key; params merged as chat's are */
	{"openai", "text-embedding-3-large", "", "", "{\"dimensions\": 256, \"user\": \"u1\"}",
	 "https://api.openai.com/v1/embeddings",
	 "{\"model\":\"text-embedding-3-large\",\"input\":[\"Why is the sky blue?\","
	 "\"Why is the grass green?\"],\"encoding_format\":\"float\",\"dimensions\":256,"
	 "\"user\":\"u1\"}",
	 NULL},
	{"openai", "m", "https://openrouter.ai/api/v1", "k", "{\"encoding_format\": null}",
	 "https://openrouter.ai/api/v1/embeddings",
	 "{\"model\":\"m\",\"input\":[\"Why is the sky blue?\",\"Why is the grass green?\"],"
	 "\"encoding_format\":null}",
	 "Authorization: Bearer k"},
	/* Gemini: the default base gets /v1beta, the key its own header */
	{"gemini", "gemini-embedding-001", NULL, KEY, NULL,
	 "https://generativelanguage.googleapis.com/v1beta/models/"
	 "gemini-embedding-001:batchEmbedContents",
	 "{\"requests\":[{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":"
	 "[{\"text\":\"Why is the sky blue?\"}]}},{\"model\":\"models/gemini-embedding-001\","
	 "\"content\":{\"parts\":[{\"text\":\"Why is the grass green?\"}]}}]}",
	 "x-goog-api-key: " KEY},
	/* a base that names its version keeps it; a model named with its
	 * collection keeps it; params go into each request */
	{"gemini", "models/text-embedding-004", "https://generativelanguage.googleapis.com/v1beta/",
	 NULL, "{\"outputDimensionality\": 256, \"taskType\": \"RETRIEVAL_QUERY\"}",
	 "https://generativelanguage.googleapis.com/v1beta/models/"
	 "text-embedding-004:batchEmbedContents",
	 "{\"requests\":[{\"model\":\"models/text-embedding-004\",\"content\":{\"parts\":"
	 "[{\"text\":\"Why is the sky blue?\"}]},\"outputDimensionality\":256,\"taskType\":"
	 "\"RETRIEVAL_QUERY\"},{\"model\":\"models/text-embedding-004\",\"content\":{\"parts\":"
	 "[{\"text\":\"Why is the grass green?\"}]},\"outputDimensionality\":256,"
	 "\"taskType\":\"RETRIEVAL_QUERY\"}]}",
	 NULL},
	{"gemini", "tunedModels/my-emb", "http://proxy.local/gemini/", "", NULL,
	 "http://proxy.local/gemini/v1beta/tunedModels/my-emb:batchEmbedContents",
	 "{\"requests\":[{\"model\":\"tunedModels/my-emb\",\"content\":{\"parts\":"
	 "[{\"text\":\"Why is the sky blue?\"}]}},{\"model\":\"tunedModels/my-emb\","
	 "\"content\":{\"parts\":[{\"text\":\"Why is the grass green?\"}]}}]}",
	 NULL},
	/* a model name cannot change the path */
	{"gemini", "a/b?c", "http://g/v1", NULL, NULL,
	 "http://g/v1/models/a%2Fb%3Fc:batchEmbedContents",
	 "{\"requests\":[{\"model\":\"models/a/b?c\",\"content\":{\"parts\":"
	 "[{\"text\":\"Why is the sky blue?\"}]}},{\"model\":\"models/a/b?c\","
	 "\"content\":{\"parts\":[{\"text\":\"Why is the grass green?\"}]}}]}",
	 NULL},
	/* Ollama: no key by default */
	{"ollama", "all-minilm", NULL, NULL, NULL, "http://127.0.0.1:11434/api/embed",
	 "{\"model\":\"all-minilm\",\"input\":[\"Why is the sky blue?\","
	 "\"Why is the grass green?\"]}",
	 NULL},
	/* a proxy's key as a bearer token; params at the top level */
	{"ollama", "nomic-embed-text", "http://gpu-box:11434/", "sk-proxy",
	 "{\"truncate\": false, \"keep_alive\": \"5m\", \"options\": {\"num_ctx\": 8192}}",
	 "http://gpu-box:11434/api/embed",
	 "{\"model\":\"nomic-embed-text\",\"input\":[\"Why is the sky blue?\","
	 "\"Why is the grass green?\"],\"truncate\":false,\"keep_alive\":\"5m\","
	 "\"options\":{\"num_ctx\":8192}}",
	 "Authorization: Bearer sk-proxy"},
};

static void build_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(builds); i++) {
		const struct build_case *x = &builds[i];
		/* Chat fields an embedder ignores. */
		struct chat_request req = {
			.model = x->model, .texts = two, .ntexts = 2, .params_json = x->params,
			.prompt = "ignored", .system = "ignored", .max_tokens = 9,
			.has_temperature = 1, .temperature = 0.5, .stream = 1};
		struct http_req out;
		struct qerr e;
		if (build_req(embedder(x->prov), &req, x->base, x->key, &out, NULL, &e))
			fail_msg("case %zu: build failed: %s", i, e.msg);
		assert_string_equal(buf_str(&out.url), x->url);
		assert_string_equal(buf_str(&out.body), x->body);
		assert_int_equal(out.nheaders, x->key_header ? 2 : 1);
		assert_string_equal(out.headers[0], "Content-Type: application/json");
		if (x->key_header)
			assert_string_equal(out.headers[1], x->key_header);
		/* The body is JSON whatever else is true. */
		cJSON *b = cJSON_ParseWithLength(out.body.data, out.body.len);
		assert_non_null(b);
		cJSON_Delete(b);
		http_req_release(&out);
	}
}

/* Texts are JSON strings whatever bytes they hold; one text is a list of
 * one, not a bare string. */
static void build_texts(void **state)
{
	(void)state;
	const char *odd[] = {"say \"hi\"\n\t\\ \xff end"};
	struct chat_request req = {.model = "m", .texts = odd, .ntexts = 1};
	struct http_req out;
	struct qerr e;
	assert_int_equal(build_req(embedder("ollama"), &req, NULL, NULL, &out, NULL, &e), 0);
	assert_string_equal(buf_str(&out.body),
			    "{\"model\":\"m\",\"input\":[\"say \\\"hi\\\"\\n\\t\\\\ "
			    "\xef\xbf\xbd end\"]}");
	http_req_release(&out);
	/* A chat builder ignores texts. */
	struct chat_request chat = {.model = "m", .prompt = "p"};
	struct http_req a, b;
	assert_int_equal(build_req(prov_get("openai"), &chat, NULL, NULL, &a, NULL, &e), 0);
	chat.texts = two;
	chat.ntexts = 2;
	assert_int_equal(build_req(prov_get("openai"), &chat, NULL, NULL, &b, NULL, &e), 0);
	assert_string_equal(buf_str(&a.body), buf_str(&b.body));
	assert_string_equal(buf_str(&a.url), buf_str(&b.url));
	http_req_release(&a);
	http_req_release(&b);
}

static void build_refused(void **state)
{
	(void)state;
	static const char *const provs[] = {"openai", "gemini", "ollama"};
	const char *with_null[] = {"a", NULL};
	static const struct {
		const char *model;
		size_t ntexts;
		int null_text;
		const char *params, *base, *key;
		const char *msg;  /* %s: the provider */
	} cases[] = {
		{NULL, 1, 0, NULL, NULL, NULL, "no model name for provider '%s'"},
		{"", 1, 0, NULL, NULL, NULL, "no model name for provider '%s'"},
		{"m", 0, 0, NULL, NULL, NULL, "no texts to embed for model 'm'"},
		{"m", 2, 1, NULL, NULL, NULL, "text 1 to embed for model 'm' is NULL"},
		{"m", 1, 0, "[1]", NULL, NULL, "params must be a JSON object, not an array"},
		{"m", 1, 0, "{", NULL, NULL, "params is not valid JSON"},
		{"m", 1, 0, NULL, "///", NULL, "base_url is empty"},
		{"m", 1, 0, NULL, NULL, "k\r\nX-Evil: 1", NULL},
	};
	for (size_t p = 0; p < N(provs); p++) {
		for (size_t i = 0; i < N(cases); i++) {
			struct chat_request req = {.model = cases[i].model,
						   .texts = cases[i].null_text ? with_null : two,
						   .ntexts = cases[i].ntexts,
						   .params_json = cases[i].params};
			struct http_req out = {0};
			struct qerr e;
			char want[128];
			memset(&e, 0, sizeof(e));
			if (embedder(provs[p])->build(&req, cases[i].base, cases[i].key, &out, &e) != -1)
				fail_msg("%s case %zu: built", provs[p], i);
			if (cases[i].msg) {
				snprintf(want, sizeof(want), cases[i].msg, provs[p]);
				assert_string_equal(e.msg, want);
			} else {
				assert_null(strstr(e.msg, "Evil"));
			}
			/* A failed build leaves nothing to free. */
			assert_int_equal(out.nheaders, 0);
			assert_null(out.url.data);
			assert_null(out.body.data);
		}
	}
	struct chat_request req = {.model = "models/", .texts = two, .ntexts = 1};
	struct http_req out = {0};
	struct qerr e;
	assert_int_equal(embedder("gemini")->build(&req, NULL, NULL, &out, &e), -1);
	assert_string_equal(e.msg, "no model name for provider 'gemini'");
}

/* ---- responses ---- */

/* The documented examples: OpenAI's API reference, Ollama's docs/api.md
 * ("Generate Embeddings", both), and the shape of Google's
 * BatchEmbedContentsResponse. */
#define OA_DOC                                                                 \
	"{\n  \"object\": \"list\",\n  \"data\": [\n    {\n      \"object\": "    \
	"\"embedding\",\n      \"embedding\": [\n        0.0023064255,\n        " \
	"-0.009327292,\n        -0.0028842222\n      ],\n      \"index\": 0\n    " \
	"}\n  ],\n  \"model\": \"text-embedding-ada-002\",\n  \"usage\": {\n    " \
	"\"prompt_tokens\": 8,\n    \"total_tokens\": 8\n  }\n}\n"
#define OL_DOC_ONE                                                             \
	"{\n  \"model\": \"all-minilm\",\n  \"embeddings\": [[\n    0.010071029, " \
	"-0.0017594862, 0.05007221, 0.04692972, 0.054916814,\n    0.008599704, "  \
	"0.105441414, -0.025878139, 0.12958129, 0.031952348\n  ]],\n  "          \
	"\"total_duration\": 14143917,\n  \"load_duration\": 1019500,\n  "       \
	"\"prompt_eval_count\": 8\n}\n"
#define OL_DOC_TWO                                                             \
	"{\n  \"model\": \"all-minilm\",\n  \"embeddings\": [[\n    0.010071029, " \
	"-0.0017594862, 0.05007221, 0.04692972, 0.054916814,\n    0.008599704, "  \
	"0.105441414, -0.025878139, 0.12958129, 0.031952348\n  ],[\n    "        \
	"-0.0098027075, 0.06042469, 0.025257962, -0.006364387, 0.07272725,\n    " \
	"0.017194884, 0.09032035, -0.051705178, 0.09951512, 0.09072481\n  ]]\n}\n"
#define GM_DOC                                                                 \
	"{\n  \"embeddings\": [\n    {\n      \"values\": [\n        0.013168523,\n" \
	"        -0.008711934,\n        -0.046782676\n      ]\n    },\n    {\n    " \
	"  \"values\": [\n        -0.0142735,\n        0.0047638505,\n        "   \
	"0.0012531032\n      ]\n    }\n  ]\n}\n"

static const double oa_doc[] = {0.0023064255, -0.009327292, -0.0028842222};
static const double ol_one[] = {0.010071029, -0.0017594862, 0.05007221, 0.04692972,
				0.054916814, 0.008599704, 0.105441414, -0.025878139,
				0.12958129,  0.031952348};
static const double ol_two[] = {
	0.010071029,   -0.0017594862, 0.05007221,  0.04692972,   0.054916814,
	0.008599704,   0.105441414,   -0.025878139, 0.12958129,  0.031952348,
	-0.0098027075, 0.06042469,    0.025257962, -0.006364387, 0.07272725,
	0.017194884,   0.09032035,    -0.051705178, 0.09951512,  0.09072481};
static const double gm_doc[] = {0.013168523, -0.008711934, -0.046782676,
				-0.0142735,  0.0047638505, 0.0012531032};
static const double one_to_six[] = {1, 2, 3, 4, 5, 6};
static const double tiny[] = {-0.0, 1e-45, -FLT_MAX, FLT_MAX};

struct parse_case {
	const char *prov;
	const char *body;
	const char *ctype;      /* the Content-Type; NULL: none */
	enum err_class err;
	const char *msg;        /* a part of err_msg; NULL: none expected */
	size_t n, dim;          /* a success: the vectors */
	const double *want;     /* n*dim values, as float32 rounds them */
	int64_t in;             /* input tokens; -1: not reported */
};

static const struct parse_case parses[] = {
	/* OpenAI */
	{"openai", OA_DOC, "application/json", ERR_NONE, NULL, 1, 3, oa_doc, 8},
	{"openai", OA_DOC, "application/json; charset=utf-8", ERR_NONE, NULL, 1, 3, oa_doc, 8},
	{"openai", OA_DOC, NULL, ERR_NONE, NULL, 1, 3, oa_doc, 8},
	/* a JSON document labelled as a stream is still read whole */
	{"openai", OA_DOC, "text/event-stream", ERR_NONE, NULL, 1, 3, oa_doc, 8},
	/* in the order of "index", not of "data" */
	{"openai",
	 "{\"data\":[{\"embedding\":[4,5,6],\"index\":1},{\"embedding\":[1,2,3],\"index\":0}],"
	 "\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}}",
	 NULL, ERR_NONE, NULL, 2, 3, one_to_six, 5},
	{"openai",
	 "{\"data\":[{\"index\":2,\"embedding\":[5,6]},{\"index\":0,\"embedding\":[1,2]},"
	 "{\"index\":1,\"embedding\":[3,4]}]}",
	 NULL, ERR_NONE, NULL, 3, 2, one_to_six, -1},
	/* no "index" (some compatible servers): their order */
	{"openai", "\xef\xbb\xbf{\"data\":[{\"embedding\":[1,2]},{\"embedding\":[3,4]},"
		   "{\"embedding\":[5,6]}],\"usage\":null}",
	 NULL, ERR_NONE, NULL, 3, 2, one_to_six, -1},
	{"openai", "{\"data\":[{\"embedding\":[-0.0,1e-45,-3.4028234663852886e38,"
		   "3.4028234663852886e38]}]}",
	 NULL, ERR_NONE, NULL, 1, 4, tiny, -1},
	{"openai", "{\"data\":[{\"embedding\":[1],\"index\":0},{\"embedding\":[2],\"index\":0}]}",
	 NULL, ERR_MALFORMED, "two items of 'data' have index 0", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[1],\"index\":0},{\"embedding\":[2],\"index\":2}]}",
	 NULL, ERR_MALFORMED, "'data[1].index' is 2, not a whole number below 2", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[1],\"index\":0.5}]}", NULL, ERR_MALFORMED,
	 "'data[0].index' is 0.5, not a whole number below 1", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[1],\"index\":-1}]}", NULL, ERR_MALFORMED,
	 "'data[0].index' is -1, not a whole number below 1", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[1],\"index\":\"0\"}]}", NULL, ERR_MALFORMED,
	 "'data[0].index' is a string, not a number", 0, 0, NULL, -1},
	{"openai", "{\"object\":\"list\"}", NULL, ERR_MALFORMED,
	 "response has no 'data' array", 0, 0, NULL, -1},
	{"openai", "{\"data\":{}}", NULL, ERR_MALFORMED, "'data' is an object, not an array",
	 0, 0, NULL, -1},
	{"openai", "{\"data\":[\"x\"]}", NULL, ERR_MALFORMED,
	 "'data[0]' is a string, not an object", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"index\":0}]}", NULL, ERR_MALFORMED,
	 "'data[0]' has no 'embedding'", 0, 0, NULL, -1},
	/* what encoding_format "base64" in a user's params brings */
	{"openai", "{\"data\":[{\"embedding\":\"AACAPw==\",\"index\":0}]}", NULL, ERR_MALFORMED,
	 "embedding 0 is a string, not an array", 0, 0, NULL, -1},
	{"openai", "{\"data\":[],\"usage\":{\"prompt_tokens\":0}}", NULL, ERR_MALFORMED,
	 "response has no embeddings", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[]}]}", NULL, ERR_MALFORMED,
	 "embedding 0 is empty", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[1,2,3]},{\"embedding\":[1,2]}]}", NULL,
	 ERR_MALFORMED, "embedding 1 has 2 dimensions where embedding 0 has 3", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[1,\"2\"]}]}", NULL, ERR_MALFORMED,
	 "embedding 0 value 1 is a string, not a number", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[1]},{\"embedding\":[null]}]}", NULL,
	 ERR_MALFORMED, "embedding 1 value 0 is null, not a number", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[[1]]}]}", NULL, ERR_MALFORMED,
	 "embedding 0 value 0 is an array, not a number", 0, 0, NULL, -1},
	/* NaN-ish: JSON has no NaN; 1e999 reads as infinity */
	{"openai", "{\"data\":[{\"embedding\":[1e999]}]}", NULL, ERR_MALFORMED,
	 "embedding 0 value 0 (inf) is beyond float32", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[0,-1e39]}]}", NULL, ERR_MALFORMED,
	 "embedding 0 value 1 (-1e+39) is beyond float32", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[NaN]}]}", NULL, ERR_MALFORMED,
	 "response is not JSON: {\"data\":[{\"embedding\":[NaN]}]}", 0, 0, NULL, -1},
	{"openai", "[{\"embedding\":[1]}]", NULL, ERR_MALFORMED,
	 "'response' is an array, not an object", 0, 0, NULL, -1},
	{"openai", "{\"data\":[{\"embedding\":[1,2", NULL, ERR_TRUNCATED,
	 "response body ended after 26 bytes, mid-JSON", 0, 0, NULL, -1},
	{"openai", "", "application/json", ERR_TRUNCATED,
	 "response body ended after 0 bytes, mid-JSON", 0, 0, NULL, -1},
	{"openai", "<html><body>502 Bad Gateway</body></html>", NULL, ERR_MALFORMED,
	 "response is not JSON: <html><body>502 Bad Gateway</body></html>", 0, 0, NULL, -1},
	{"openai", "<html><body>Sign in to the Wi-Fi</body></html>", "text/html; charset=utf-8",
	 ERR_MALFORMED, "response has content type 'text/html', not JSON or a stream",
	 0, 0, NULL, -1},
	{"openai", OA_DOC, "text/html", ERR_MALFORMED,
	 "response has content type 'text/html', not JSON or a stream", 0, 0, NULL, -1},
	{"openai", "data: {\"data\":[{\"embedding\":[1]}]}\n\n", "text/event-stream",
	 ERR_MALFORMED,
	 "embeddings response is a stream, not one JSON document: {\"data\":", 0, 0, NULL, -1},
	/* an error inside a 2xx body, in the provider's words */
	{"openai", "{\"error\":{\"message\":\"Invalid model\",\"type\":\"invalid_request_error\"}}",
	 NULL, ERR_MALFORMED, "Invalid model", 0, 0, NULL, -1},
	/* Gemini */
	{"gemini", GM_DOC, "application/json; charset=UTF-8", ERR_NONE, NULL, 2, 3, gm_doc, -1},
	{"gemini", "{\"embeddings\":[{\"values\":[1,2]},{\"values\":[3,4]},{\"values\":[5,6]}]}",
	 NULL, ERR_NONE, NULL, 3, 2, one_to_six, -1},
	{"gemini", "{}", NULL, ERR_MALFORMED, "response has no 'embeddings' array", 0, 0, NULL, -1},
	{"gemini", "{\"embeddings\":[{\"values\":[1]},{}]}", NULL, ERR_MALFORMED,
	 "'embeddings[1]' has no 'values'", 0, 0, NULL, -1},
	{"gemini", "{\"embeddings\":[[1,2]]}", NULL, ERR_MALFORMED,
	 "'embeddings[0]' is an array, not an object", 0, 0, NULL, -1},
	{"gemini", "{\"embeddings\":[{\"values\":[1,2]},{\"values\":[1,2,3]}]}", NULL,
	 ERR_MALFORMED, "embedding 1 has 3 dimensions where embedding 0 has 2", 0, 0, NULL, -1},
	{"gemini", "{\"embeddings\":[{\"values\":{}}]}", NULL, ERR_MALFORMED,
	 "embedding 0 is an object, not an array", 0, 0, NULL, -1},
	{"gemini", "{\"embeddings\":[]}", NULL, ERR_MALFORMED, "response has no embeddings",
	 0, 0, NULL, -1},
	{"gemini",
	 "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\","
	 "\"status\":\"RESOURCE_EXHAUSTED\"}}",
	 NULL, ERR_RATE_LIMITED, "Resource has been exhausted", 0, 0, NULL, -1},
	/* Ollama */
	{"ollama", OL_DOC_ONE, "application/json; charset=utf-8", ERR_NONE, NULL, 1, 10, ol_one, 8},
	{"ollama", OL_DOC_TWO, NULL, ERR_NONE, NULL, 2, 10, ol_two, -1},
	{"ollama", "{\"embeddings\":[[1,2],[3]]}", NULL, ERR_MALFORMED,
	 "embedding 1 has 1 dimensions where embedding 0 has 2", 0, 0, NULL, -1},
	{"ollama", "{\"embeddings\":[1,2]}", NULL, ERR_MALFORMED,
	 "embedding 0 is a number, not an array", 0, 0, NULL, -1},
	{"ollama", "{\"embedding\":[1,2]}", NULL, ERR_MALFORMED,
	 "response has no 'embeddings' array", 0, 0, NULL, -1},
	{"ollama", "{\"embeddings\":\"x\"}", NULL, ERR_MALFORMED,
	 "'embeddings' is a string, not an array", 0, 0, NULL, -1},
	{"ollama", "{\"error\":\"model \\\"x\\\" not found, try pulling it first\"}", NULL,
	 ERR_MALFORMED, "model \"x\" not found, try pulling it first", 0, 0, NULL, -1},
	{"ollama", "404 page not found", "text/plain", ERR_MALFORMED,
	 "response is not JSON: 404 page not found", 0, 0, NULL, -1},
};

/* Checks a success: the packed text unpacks to want. */
static void check_vectors(const struct parse_case *x, const struct chat_result *r)
{
	struct arena *a = arena_new();
	size_t n, dim;
	float *v = embed_unpack(a, buf_str(&r->text), r->text.len, &n, &dim);
	if (!v)
		fail_msg("'%s' does not unpack", buf_str(&r->text));
	assert_int_equal(n, x->n);
	assert_int_equal(dim, x->dim);
	for (size_t i = 0; i < n * dim; i++) {
		float want = (float)x->want[i];
		if (memcmp(&v[i], &want, sizeof(float)))
			fail_msg("value %zu: %.9g, want %.9g", i, v[i], want);
	}
	arena_free(a);
}

static void parse_responses(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(parses); i++) {
		const struct parse_case *x = &parses[i];
		struct feed_outcome o;
		char what[64];
		snprintf(what, sizeof(what), "case %zu (%s)", i, x->prov);
		/* Byte by byte, split at every byte, 30 random slicings: the
		 * same outcome every time, and no text counted as it came. */
		feed_all_slicings_typed(embedder(x->prov), 0, x->ctype, x->body,
					strlen(x->body), 0x9e3779b97f4a7c15ULL + i, 30, &o,
					what);
		const char *m = buf_str(&o.r.err_msg);
		if (o.r.err != x->err)
			fail_msg("%s: got %s '%s', want %s", what, err_class_name(o.r.err), m,
				 err_class_name(x->err));
		assert_int_equal(o.reported, 0);
		if (x->err == ERR_NONE) {
			assert_int_equal(o.rc, 0);
			assert_string_equal(m, "");
			assert_string_equal(o.r.finish_reason, "");
			assert_int_equal(o.r.input_tokens, x->in);
			assert_int_equal(o.r.output_tokens, 0);
			check_vectors(x, &o.r);
		} else {
			if (!strstr(m, x->msg))
				fail_msg("%s: message '%s' lacks '%s'", what, m, x->msg);
			assert_int_equal(o.r.text.len, 0);
		}
		feed_outcome_release(&o);
	}
}

/* Every good body cut after every byte: the whole answer or truncated. */
static void every_cut(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(parses); i++) {
		const struct parse_case *x = &parses[i];
		/* (A body cut inside its BOM is no JSON at all: body.c's
		 * rule, the same for a chat.) */
		if (x->err != ERR_NONE || x->ctype || x->body[0] == '\xef')
			continue;
		struct feed_outcome o;
		feed_run(embedder(x->prov), 0, 0, x->body, strlen(x->body), 0, NULL, &o);
		feed_every_cut(embedder(x->prov), 0, x->body, strlen(x->body),
			       buf_str(&o.r.text), x->prov);
		feed_outcome_release(&o);
	}
}

/* The packed text counts against the answer's cap; the body against the
 * body's, before memory goes. */
static void caps(void **state)
{
	(void)state;
	const struct provider *p = embedder("ollama");
	struct feed_outcome o;
	feed_run(p, 0, 0, OL_DOC_TWO, strlen(OL_DOC_TWO), 0, NULL, &o);
	size_t packed = o.r.text.len;
	assert_string_equal(buf_str(&o.r.text),
			    "qemb1 2 10\n"
			    "9QAlPI+e5rqFGE09YTlAPXTwYD3G5Qw8q/HXPWT+07z1sAQ+d+ACPYmbILzh"
			    "f3c9yenOPFmM0LsG8pQ9SdyMPOD5uD3PyFO9lc7LPe7NuT0=");
	feed_outcome_release(&o);
	for (size_t step = 0; step <= 1; step++) {
		feed_run(p, 0, 10, OL_DOC_TWO, strlen(OL_DOC_TWO), step, NULL, &o);
		assert_int_equal(o.rc, -1);
		assert_int_equal(o.r.err, ERR_TOO_LARGE);
		assert_string_equal(buf_str(&o.r.err_msg), "answer ove");
		assert_int_equal(o.r.text.len, 0);
		feed_outcome_release(&o);
	}
	feed_run(p, 0, packed - 1, OL_DOC_TWO, strlen(OL_DOC_TWO), 0, NULL, &o);
	assert_int_equal(o.r.err, ERR_TOO_LARGE);
	feed_outcome_release(&o);
	feed_run(p, 0, packed, OL_DOC_TWO, strlen(OL_DOC_TWO), 1, NULL, &o);
	assert_int_equal(o.rc, 0);
	feed_outcome_release(&o);

	/* An endless body. */
	struct chat_result r;
	chat_result_init(&r, 1);
	struct resp_parser *rp = p->parser_new(1, 1);
	assert_non_null(rp);
	char junk[4096];
	memset(junk, '1', sizeof(junk));
	memcpy(junk, "{\"embeddings\":[[", 16);
	int got = 0;
	size_t fed = 0;
	while (got >= 0 && fed < ((size_t)64 << 20)) {
		got = p->parser_feed(rp, junk, sizeof(junk), &r);
		memset(junk, '1', 16);
		fed += sizeof(junk);
	}
	assert_int_equal(got, -1);
	assert_int_equal(r.err, ERR_TOO_LARGE);
	assert_true(fed < ((size_t)2 << 20));
	assert_int_equal(p->parser_finish(rp, &r), -1);
	p->parser_free(rp);
	chat_result_release(&r);
}

/* A body nested deeper than the result's bound is refused, not recursed. */
static void nesting(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_puts(&b, "{\"embeddings\":[");
	for (int i = 0; i < 70; i++)
		buf_putc(&b, '[');
	buf_putc(&b, '1');
	for (int i = 0; i < 70; i++)
		buf_putc(&b, ']');
	buf_puts(&b, "]}");
	struct feed_outcome o;
	feed_run(embedder("ollama"), 0, 0, b.data, b.len, 0, NULL, &o);
	assert_int_equal(o.r.err, ERR_MALFORMED);
	assert_non_null(strstr(buf_str(&o.r.err_msg), "response is not JSON"));
	feed_outcome_release(&o);
	/* Within a bound of the caller's: the nesting is read, and refused
	 * as no vector of numbers. */
	struct chat_result r;
	chat_result_init(&r, 0);
	r.json_depth = 100;
	const struct provider *p = embedder("ollama");
	struct resp_parser *rp = p->parser_new(0, 0);
	assert_int_equal(p->parser_feed(rp, b.data, b.len, &r), 0);
	assert_int_equal(p->parser_finish(rp, &r), -1);
	assert_string_equal(buf_str(&r.err_msg),
			    "embedding 0 value 0 is an array, not a number");
	p->parser_free(rp);
	chat_result_release(&r);
	buf_release(&b);
}

/* embed_parser_expect: a short (or long) answer is malformed. */
static void expect_count(void **state)
{
	(void)state;
	static const struct {
		size_t expect;
		int ok;
		const char *msg;
	} cases[] = {
		{0, 1, ""},
		{2, 1, ""},
		{3, 0, "response has 2 embeddings for 3 texts"},
		{1, 0, "response has 2 embeddings for 1 texts"},
	};
	const struct provider *p = embedder("gemini");
	for (size_t i = 0; i < N(cases); i++) {
		struct chat_result r;
		chat_result_init(&r, 0);
		struct resp_parser *rp = p->parser_new(0, 0);
		assert_non_null(rp);
		embed_parser_expect(rp, cases[i].expect);
		p->parser_content_type(rp, "application/json");
		assert_int_equal(p->parser_feed(rp, GM_DOC, strlen(GM_DOC), &r), 0);
		assert_int_equal(p->parser_finish(rp, &r), cases[i].ok ? 0 : -1);
		assert_string_equal(buf_str(&r.err_msg), cases[i].msg);
		assert_int_equal(r.err, cases[i].ok ? ERR_NONE : ERR_MALFORMED);
		p->parser_free(rp);
		chat_result_release(&r);
	}
}

/* Non-2xx responses: the chat provider's parse_error, as it is. */
static void error_bodies(void **state)
{
	(void)state;
	static const struct {
		const char *prov;
		int status;
		const char *body, *retry_after;
		enum err_class err;
		const char *msg;
		int64_t retry_ms;
	} cases[] = {
		{"openai", 401,
		 "{\"error\":{\"message\":\"Incorrect API key provided: sk-xx.\",\"type\":"
		 "\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}",
		 NULL, ERR_AUTH, "Incorrect API key provided: sk-xx.", -1},
		{"openai", 429,
		 "{\"error\":{\"message\":\"Rate limit reached for text-embedding-3-small\","
		 "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}",
		 "20", ERR_RATE_LIMITED, "Rate limit reached for text-embedding-3-small", 20000},
		{"openai", 429,
		 "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":"
		 "\"insufficient_quota\",\"code\":\"insufficient_quota\"}}",
		 NULL, ERR_QUOTA, "You exceeded your current quota", -1},
		{"openai", 400,
		 "{\"error\":{\"message\":\"'$.input' is invalid.\",\"type\":"
		 "\"invalid_request_error\"}}",
		 NULL, ERR_BAD_REQUEST, "'$.input' is invalid.", -1},
		{"gemini", 429,
		 "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check "
		 "quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
		 "1.5", ERR_RATE_LIMITED, "Resource has been exhausted (e.g. check quota).", 1500},
		{"gemini", 400,
		 "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid "
		 "API key.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":"
		 "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\"}]}}",
		 NULL, ERR_AUTH, "API key not valid. Please pass a valid API key.", -1},
		{"ollama", 404, "{\"error\":\"model \\\"nomic-embed-text\\\" not found, try "
				"pulling it first\"}",
		 NULL, ERR_NOT_FOUND, "model \"nomic-embed-text\" not found, try pulling it first",
		 -1},
		{"ollama", 503, "", "5", ERR_OVERLOADED, "HTTP 503 with an empty body", 5000},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct chat_result r;
		chat_result_init(&r, 0);
		embedder(cases[i].prov)->parse_error(cases[i].status, cases[i].body,
						     strlen(cases[i].body),
						     cases[i].retry_after, &r);
		if (r.err != cases[i].err)
			fail_msg("case %zu: got %s '%s'", i, err_class_name(r.err),
				 buf_str(&r.err_msg));
		assert_int_equal(r.http_status, cases[i].status);
		assert_string_equal(buf_str(&r.err_msg), cases[i].msg);
		assert_int_equal(r.retry_after_ms, cases[i].retry_ms);
		chat_result_release(&r);
	}
}

static void mutate(char *d, size_t len, uint64_t *rng)
{
	static const char bytes[] = "{}[]\":,\n\\ 0.-e9\xff";
	int n = 1 + (int)(rng_next(rng) % 6);
	for (int i = 0; i < n && len; i++)
		d[rng_next(rng) % len] = bytes[rng_next(rng) % (sizeof(bytes) - 1)];
}

/* Mutated bodies keep the contract, and every success unpacks. */
static void hostile_bytes(void **state)
{
	(void)state;
	uint64_t rng = 17;
	for (size_t i = 0; i < N(parses); i++) {
		const struct parse_case *x = &parses[i];
		size_t len = strlen(x->body);
		char *d = q_malloc(len + 1);
		assert_non_null(d);
		for (int round = 0; round < 60; round++) {
			memcpy(d, x->body, len + 1);
			mutate(d, len, &rng);
			struct feed_outcome o;
			feed_run(embedder(x->prov), 0, round % 5 ? 0 : 64, d, len,
				 round % 2 ? 7 : 0, &rng, &o);
			if (!o.rc) {
				struct arena *a = arena_new();
				size_t n, dim;
				assert_non_null(embed_unpack(a, o.r.text.data, o.r.text.len,
							     &n, &dim));
				arena_free(a);
			}
			feed_outcome_release(&o);
		}
		q_free(d);
	}
}

/* Every allocation failing in turn: an error or the right answer, never a
 * crash or a leak, and a failed build leaves nothing to free. */
static void alloc_failures(void **state)
{
	(void)state;
	static const char *const provs[] = {"openai", "gemini", "ollama"};
	static const char *const bodies[] = {OA_DOC, GM_DOC, OL_DOC_TWO};
	for (size_t f = 0; f < N(provs); f++) {
		const struct provider *p = embedder(provs[f]);
		struct feed_outcome good;
		feed_run(p, 0, 0, bodies[f], strlen(bodies[f]), 0, NULL, &good);
		assert_int_equal(good.rc, 0);
		for (long k = 1; k < 200; k++) {
			struct chat_result r;
			chat_result_init(&r, 0);
			q_alloc_fail_after(k);
			struct resp_parser *rp = p->parser_new(0, 0);
			int rc = -1;
			if (rp) {
				size_t len = strlen(bodies[f]);
				for (size_t i = 0; i < len; i += 7)
					if (p->parser_feed(rp, bodies[f] + i,
							   len - i < 7 ? len - i : 7, &r) < 0)
						break;
				rc = p->parser_finish(rp, &r);
				p->parser_free(rp);
			}
			q_alloc_fail_after(0);
			if (!rc)
				assert_string_equal(buf_str(&r.text), buf_str(&good.r.text));
			chat_result_release(&r);
		}
		feed_outcome_release(&good);
		for (long k = 1; k < 200; k++) {
			struct chat_request req = {.model = "m", .texts = two, .ntexts = 2,
						   .params_json = "{\"dimensions\": 8}"};
			struct http_req out = {0};
			struct qerr e;
			q_alloc_fail_after(k);
			int rc = p->build(&req, NULL, "key", &out, &e);
			q_alloc_fail_after(0);
			if (rc) {
				assert_int_equal(out.nheaders, 0);
				assert_null(out.url.data);
			}
			http_req_release(&out);
		}
	}
}

/* ---- the packed form ---- */

static void pack_exact(void **state)
{
	(void)state;
	static const float one = 1.0f, four[] = {1, 2, 3, 4};
	struct buf b = BUF_INIT;
	assert_int_equal(embed_pack(&b, &one, 1, 1), 0);
	assert_string_equal(buf_str(&b), "qemb1 1 1\nAACAPw==");
	buf_reset(&b);
	assert_int_equal(embed_pack(&b, four, 2, 2), 0);
	assert_string_equal(buf_str(&b), "qemb1 2 2\nAACAPwAAAEAAAEBAAACAQA==");
	buf_reset(&b);
	assert_int_equal(embed_pack(&b, four, 1, 4), 0);
	assert_string_equal(buf_str(&b), "qemb1 1 4\nAACAPwAAAEAAAEBAAACAQA==");
	/* It appends. */
	assert_int_equal(embed_pack(&b, &one, 1, 1), 0);
	assert_string_equal(buf_str(&b), "qemb1 1 4\nAACAPwAAAEAAAEBAAACAQA=="
					 "qemb1 1 1\nAACAPw==");
	buf_release(&b);
}

/* Every float class there and back, bit for bit, across the encoder's
 * chunks (768 floats): the same text as one base64 of the whole. */
static void pack_round_trip(void **state)
{
	(void)state;
	static const size_t shapes[][2] = {{1, 1},   {1, 767}, {1, 768}, {1, 769},
					   {3, 512}, {2, 1536}, {7, 3}, {1000, 3}};
	for (size_t s = 0; s < N(shapes); s++) {
		size_t n = shapes[s][0], dim = shapes[s][1], total = n * dim;
		float *v = q_malloc(total * sizeof(float));
		unsigned char *le = q_malloc(total * 4);
		assert_non_null(v);
		assert_non_null(le);
		uint64_t rng = 5 + s;
		for (size_t i = 0; i < total; i++) {
			static const float special[] = {0.0f, -0.0f, FLT_MIN, -FLT_MIN,
							FLT_MAX, -FLT_MAX, 1e-45f, 1.0f};
			if (i < N(special)) {
				v[i] = special[i];
			} else {
				uint32_t u = (uint32_t)rng_next(&rng);
				memcpy(&v[i], &u, 4);
				if (!isfinite(v[i]))
					v[i] = (float)i;
			}
			uint32_t u;
			memcpy(&u, &v[i], 4);
			for (int k = 0; k < 4; k++)
				le[4 * i + (size_t)k] = (unsigned char)(u >> (8 * k));
		}
		struct buf packed = BUF_INIT, want = BUF_INIT;
		assert_int_equal(embed_pack(&packed, v, n, dim), 0);
		buf_printf(&want, "qemb1 %zu %zu\n", n, dim);
		assert_int_equal(base64_encode(&want, le, total * 4), 0);
		assert_string_equal(buf_str(&packed), buf_str(&want));
		struct arena *a = arena_new();
		size_t gn, gd;
		float *back = embed_unpack(a, packed.data, packed.len, &gn, &gd);
		assert_non_null(back);
		assert_int_equal(gn, n);
		assert_int_equal(gd, dim);
		assert_memory_equal(back, v, total * sizeof(float));
		arena_free(a);
		buf_release(&packed);
		buf_release(&want);
		q_free(v);
		q_free(le);
	}
}

static void pack_refused(void **state)
{
	(void)state;
	float v[4] = {1, 2, 3, 4};
	struct buf b = BUF_INIT;
	assert_int_equal(embed_pack(&b, v, 0, 4), -1);
	assert_int_equal(embed_pack(&b, v, 4, 0), -1);
	/* 2^26 floats are 256 MiB: the counts are refused before v is read. */
	assert_int_equal(embed_pack(&b, v, (size_t)1 << 26, 1), -1);
	assert_int_equal(embed_pack(&b, v, 1 << 13, 1 << 13), -1);
	assert_int_equal(embed_pack(&b, v, SIZE_MAX, 2), -1);
	assert_int_equal(embed_pack(&b, v, 2, SIZE_MAX), -1);
	v[3] = NAN;
	assert_int_equal(embed_pack(&b, v, 1, 4), -1);
	v[3] = -INFINITY;
	assert_int_equal(embed_pack(&b, v, 2, 2), -1);
	assert_int_equal(b.len, 0);
	v[3] = 4;
	buf_release(&b);
	buf_init(&b, 20);
	assert_int_equal(embed_pack(&b, v, 1, 4), -1);
	assert_true(b.overflow);
	buf_release(&b);
}

static void unpack_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"qemb1",
		"qemb1 ",
		"qemb1 1 1",
		"qemb1 1 1\n",
		"qemb2 1 1\nAACAPw==",
		"QEMB1 1 1\nAACAPw==",
		" qemb1 1 1\nAACAPw==",
		"qemb1 0 1\n",
		"qemb1 1 0\n",
		"qemb1 01 1\nAACAPw==",
		"qemb1 1 01\nAACAPw==",
		"qemb1 +1 1\nAACAPw==",
		"qemb1 -1 1\nAACAPw==",
		"qemb1  1 1\nAACAPw==",
		"qemb1 1  1\nAACAPw==",
		"qemb1 1 1 \nAACAPw==",
		"qemb1 1 1\r\nAACAPw==",
		"qemb1 1\nAACAPw==",
		"qemb1 1 1AACAPw==",
		"qemb1 1 1 1\nAACAPw==",
		"qemb1 1 1\nAACAPw==\n",   /* nothing after the base64 */
		"qemb1 1 1\nAACAPw",
		"qemb1 1 1\nAACA",
		"qemb1 1 1\nAACAPwAAgD8=", /* two floats for one */
		"qemb1 2 1\nAACAPw==",
		"qemb1 1 2\nAACAPw==",
		"qemb1 1 1\nAACAP!==",
		"qemb1 1 1\nAACAPx==",     /* non-zero bits under the padding */
		"qemb1 1 1\nAACA Pw=",
		"qemb1 1 1\nAADAfw==",     /* a NaN */
		"qemb1 1 1\nAACAfw==",     /* infinity */
		"qemb1 1 1\nAACA/w==",     /* minus infinity */
		"qemb1 99999999999999999999999999 1\nAACAPw==",
		"qemb1 18446744073709551617 1\nAACAPw==",
		"qemb1 67108864 1\nAACAPw==",  /* 2^26 floats: 256 MiB */
		"qemb1 65536 1025\nAACAPw==",
		"qemb1 1 67108864\nAACAPw==",
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < N(bad); i++) {
		size_t n = 9, dim = 9;
		if (embed_unpack(a, bad[i], strlen(bad[i]), &n, &dim))
			fail_msg("'%s' unpacked", bad[i]);
		assert_int_equal(n, 0);
		assert_int_equal(dim, 0);
	}
	/* A NUL is a byte like another: refused where it stands, and the
	 * length, not the NUL, ends the text. */
	static const char nul[] = "qemb1 1 1\nAACAPw==\0";
	size_t n, dim;
	assert_null(embed_unpack(a, nul, sizeof(nul) - 1, &n, &dim));
	assert_non_null(embed_unpack(a, nul, sizeof(nul) - 2, &n, &dim));
	static const char cut[] = "qemb1 1 1\nAACAPw==XYZ";
	float *v = embed_unpack(a, cut, sizeof(cut) - 4, &n, &dim);
	assert_non_null(v);
	assert_true(v[0] == 1.0f);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(embedders_named),
		cmocka_unit_test(build_requests),
		cmocka_unit_test(build_texts),
		cmocka_unit_test(build_refused),
		cmocka_unit_test(parse_responses),
		cmocka_unit_test(every_cut),
		cmocka_unit_test(caps),
		cmocka_unit_test(nesting),
		cmocka_unit_test(expect_count),
		cmocka_unit_test(error_bodies),
		cmocka_unit_test(hostile_bytes),
		cmocka_unit_test(alloc_failures),
		cmocka_unit_test(pack_exact),
		cmocka_unit_test(pack_round_trip),
		cmocka_unit_test(pack_refused),
		cmocka_unit_test(unpack_refused),
	};
	return cmocka_run_group_tests_name("providers_embed", tests, NULL, NULL);
}
