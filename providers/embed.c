/* The embeddings endpoints: what every format shares (the request's
 * checks and headers, the parser over body.c, the check of the vectors),
 * the packed form a result carries them in. Each format's own words are
 * in embed_NAME.c. */
#include "embed.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/base64.h"
#include "../common/json.h"
#include "body.h"
#include "embed_formats.h"
#include "formats.h"
#include "wire.h"

#define EMBED_MAGIC "qemb1 "
#define EMBED_MAGIC_LEN (sizeof(EMBED_MAGIC) - 1)

/* ---- the request ---- */

/* provider.build of an embedder: the model and the texts checked, then
 * one JSON POST to base_url joined with fmt's path. */
static int embed_post(const struct embed_format *fmt, const struct provfacts *f,
		      const struct chat_request *req, const char *base_url,
		      const char *api_key, struct http_req *out, struct qerr *e)
{
	if (!req->model || !*req->model)
		return qerr_set(e, "no model name for provider '%s'", f->name);
	if (!req->texts || !req->ntexts)
		return qerr_set(e, "no texts to embed for model '%s'", req->model);
	for (size_t i = 0; i < req->ntexts; i++)
		if (!req->texts[i])
			return qerr_set(e, "text %zu to embed for model '%s' is NULL", i,
					req->model);
	const char *base = wire_base_url(base_url, f);
	struct buf path = BUF_INIT;
	int rc = (!fmt->fixed_path && fmt->path(&path, base, req, e)) ||
		 wire_url_join(&out->url, base,
			       fmt->fixed_path ? fmt->fixed_path : buf_str(&path), e) ||
		 wire_body_finish(fmt->body(req), req->params_json, fmt->merge, &out->body,
				  e) ||
		 wire_add_header(out, "Content-Type", "", "application/json", e) ||
		 wire_key_header(out, f, api_key, e);
	buf_release(&path);
	if (rc) {
		http_req_release(out);
		return -1;
	}
	return 0;
}

cJSON *embed_input_body(const struct chat_request *req)
{
	cJSON *body = cJSON_CreateObject();
	if (!body || wire_json_add(body, "model", wire_json_string(req->model)) ||
	    wire_json_add(body, "input", wire_json_strings(req->texts, req->ntexts))) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* ---- the response ---- */

/* provider.parse_error. */
typedef void embed_error_fn(int http_status, const char *body, size_t len,
			    const char *retry_after, struct chat_result *r);

struct embed_parser {
	struct body_reader b;            /* first */
	const struct embed_format *fmt;
	/* The chat format's: it reads an error inside a 2xx body too. */
	embed_error_fn *parse_error;
	size_t expect;                   /* vectors wanted; 0: any */
};

const cJSON *embed_list_array(struct embed_list *l, const cJSON *root, const char *key,
			      struct chat_result *r)
{
	l->n = 0;
	l->vec = NULL;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!arr) {
		chat_result_fail(r, ERR_MALFORMED, "response has no '%s' array", key);
		return NULL;
	}
	if (!cJSON_IsArray(arr)) {
		wire_fail_type(r, key, arr, "an array");
		return NULL;
	}
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (!n)
		return arr;
	l->vec = q_calloc(n, sizeof(*l->vec));
	if (!l->vec) {
		chat_result_fail(r, ERR_TOO_LARGE, "out of memory reading the embeddings");
		return NULL;
	}
	l->n = n;
	return arr;
}

/* The length of the packed form of n vectors of dim floats, or 0 when
 * embed_pack refuses those counts. */
static size_t embed_packed_len(size_t n, size_t dim)
{
	char head[64];
	if (!n || !dim || n > (EMBED_MAX_BYTES - 1) / 4 / dim)
		return 0;
	int k = snprintf(head, sizeof(head), EMBED_MAGIC "%zu %zu\n", n, dim);
	return (size_t)k + base64_encoded_len(n * dim * 4);
}

/* Every vector of l an array of the same dim above 0, and as many as p
 * expects. Returns 0, or -1 with r failed. */
static int embed_shape(const struct embed_parser *p, const struct embed_list *l,
		       struct chat_result *r, size_t *dim)
{
	*dim = 0;
	if (!l->n)
		return chat_result_fail(r, ERR_MALFORMED, "response has no embeddings");
	if (p->expect && l->n != p->expect)
		return chat_result_fail(r, ERR_MALFORMED,
					"response has %zu embeddings for %zu texts",
					l->n, p->expect);
	for (size_t i = 0; i < l->n; i++) {
		const cJSON *v = l->vec[i];
		if (!cJSON_IsArray(v))
			return chat_result_fail(r, ERR_MALFORMED,
						"embedding %zu is %s, not an array", i,
						json_type_name(v));
		size_t d = (size_t)cJSON_GetArraySize(v);
		if (!d)
			return chat_result_fail(r, ERR_MALFORMED, "embedding %zu is empty",
						i);
		if (i && d != *dim)
			return chat_result_fail(r, ERR_MALFORMED,
						"embedding %zu has %zu dimensions where "
						"embedding 0 has %zu",
						i, d, *dim);
		*dim = d;
	}
	if (!embed_packed_len(l->n, *dim))
		return chat_result_fail(r, ERR_TOO_LARGE,
					"%zu embeddings of %zu dimensions are over %zu bytes",
					l->n, *dim, EMBED_MAX_BYTES);
	return 0;
}

/* The numbers of l's vectors (of dim each, checked) into out. Returns 0,
 * or -1 with r failed at the first that is no number float32 holds. */
static int embed_values(const struct embed_list *l, size_t dim, float *out,
			struct chat_result *r)
{
	for (size_t i = 0; i < l->n; i++) {
		const cJSON *x;
		size_t j = 0;
		cJSON_ArrayForEach(x, l->vec[i])
		{
			if (!cJSON_IsNumber(x))
				return chat_result_fail(r, ERR_MALFORMED,
							"embedding %zu value %zu is %s, not a "
							"number",
							i, j, json_type_name(x));
			/* A number past float32's range (1e39, or 1e999, which
			 * reads as infinity) would pack as infinity. */
			double d = x->valuedouble;
			if (!(d >= -FLT_MAX && d <= FLT_MAX))
				return chat_result_fail(r, ERR_MALFORMED,
							"embedding %zu value %zu (%g) is "
							"beyond float32",
							i, j, d);
			out[i * dim + j++] = (float)d;
		}
	}
	return 0;
}

/* Checks l and packs it into r->text, under the answer's cap. Returns 0,
 * or -1 with r failed. */
static int embed_answer(const struct embed_parser *p, const struct embed_list *l,
			struct chat_result *r)
{
	size_t dim;
	if (embed_shape(p, l, r, &dim))
		return -1;
	size_t len = embed_packed_len(l->n, dim);
	if (r->text.max && len > r->text.max - r->text.len)
		return chat_result_fail(r, ERR_TOO_LARGE, "answer over %zu bytes",
					r->text.max);
	float *v = q_malloc(l->n * dim * sizeof(float));
	if (!v)
		return chat_result_fail(r, ERR_TOO_LARGE,
					"out of memory reading the embeddings");
	int rc = embed_values(l, dim, v, r);
	if (!rc && embed_pack(&r->text, v, l->n, dim))
		rc = chat_result_fail(r, ERR_TOO_LARGE, "out of memory holding the answer");
	q_free(v);
	if (!rc)
		r->output_tokens = 0;
	return rc;
}

/* body_whole_fn: the one JSON document of a 2xx response. */
static int embed_whole(struct body_reader *b, const cJSON *root, const char *s,
		       size_t n)
{
	struct embed_parser *p = (struct embed_parser *)b;
	struct chat_result *r = b->r;
	if (!root)
		return body_reader_bad_body(b, s, n);
	if (!cJSON_IsObject(root))
		return wire_fail_type(r, "response", root, "an object");
	/* An error reported with a 2xx status: in the provider's words, and
	 * malformed unless they say what it is (a Gemini status name). */
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (err && !cJSON_IsNull(err)) {
		p->parse_error(200, s, n, NULL, r);
		return -1;
	}
	struct embed_list l = {0};
	int rc = p->fmt->vectors(root, &l, r);
	if (!rc)
		rc = embed_answer(p, &l, r);
	q_free(l.vec);
	return rc;
}

/* body_event_fn: a stream (its Content-Type said so) is no answer here. */
static int embed_event(struct body_reader *b, const cJSON *root, const char *event,
		       const char *data, size_t len)
{
	(void)root, (void)event;
	return wire_fail_excerpt(b->r, ERR_MALFORMED,
				 "embeddings response is a stream, not one JSON "
				 "document",
				 data, len);
}

/* body_check_fn: a stream without an event (a JSON document mislabelled
 * as one was read whole before this). */
static int embed_end(struct body_reader *b)
{
	return chat_result_fail(b->r, ERR_MALFORMED,
				"embeddings response is a stream, not one JSON document");
}

/* Never asked to stream, so framing and lead only matter for a body whose
 * Content-Type says stream (body.c reads it as one). */
static const struct body_format embed_body = {
	.size = sizeof(struct embed_parser),
	.framing = SSE_MODE_SSE, .opens = "{",
	.event = embed_event, .whole = embed_whole, .end = embed_end,
};

/* provider.parser_new of fmt's embedder: body.c's parser, whole bodies
 * only. Returns new; free with body_parser_free. NULL when memory is
 * exhausted. */
static struct resp_parser *embed_parser_new(const struct embed_format *fmt,
					    embed_error_fn *parse_error,
					    size_t max_bytes)
{
	struct resp_parser *rp = body_parser_new(&embed_body, 0, max_bytes);
	if (rp) {
		struct embed_parser *p = (struct embed_parser *)rp;
		p->fmt = fmt;
		p->parse_error = parse_error;
	}
	return rp;
}

void embed_parser_expect(struct resp_parser *rp, size_t n)
{
	struct embed_parser *p = (struct embed_parser *)rp;
	assert(p->b.fmt == &embed_body);
	p->expect = n;
}

/* ---- the providers ---- */

#define EMBEDDER_DEFINE(name, id)                                             \
	static int name##_embed_build(const struct chat_request *req,         \
				      const char *base_url, const char *api_key, \
				      struct http_req *out, struct qerr *e)   \
	{                                                                     \
		return embed_post(&name##_embed, &provfacts[id], req, base_url, \
				  api_key, out, e);                           \
	}                                                                     \
	static struct resp_parser *name##_embed_parser_new(int stream, size_t max) \
	{                                                                     \
		(void)stream;                                                 \
		return embed_parser_new(&name##_embed, name##_parse_error, max); \
	}                                                                     \
	static const struct provider name##_embedder = {                     \
		.facts = &provfacts[id],                                      \
		.build = name##_embed_build,                                  \
		.parser_new = name##_embed_parser_new,                        \
		.parser_content_type = body_parser_content_type,             \
		.parser_feed = body_parser_feed,                              \
		.parser_finish = body_parser_finish,                          \
		.parser_free = body_parser_free,                              \
		.parse_error = name##_parse_error,                            \
	};
EMBEDDERS(EMBEDDER_DEFINE)

#define EMBEDDER_ENTRY(name, id) [id] = &name##_embedder,
static const struct provider *const embedders[PROV_COUNT] = {EMBEDDERS(EMBEDDER_ENTRY)};

const struct provider *provider_embedder(const char *name)
{
	const struct provfacts *f = provfacts_find(name);
	return f ? embedders[f - provfacts] : NULL;
}

/* ---- the packed form ---- */

/* float32 in little-endian bytes, whatever the host's order. */
static void embed_put_le(unsigned char *o, float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof(u));
	o[0] = (unsigned char)u;
	o[1] = (unsigned char)(u >> 8);
	o[2] = (unsigned char)(u >> 16);
	o[3] = (unsigned char)(u >> 24);
}

static float embed_get_le(const unsigned char *s)
{
	uint32_t u = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
		     (uint32_t)s[3] << 24;
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

int embed_pack(struct buf *out, const float *v, size_t n, size_t dim)
{
	/* 768 floats are 3,072 bytes, a multiple of 3: the chunks' base64
	 * joins with no padding between them. */
	enum { CHUNK = 768 };
	unsigned char bytes[CHUNK * 4];
	if (!embed_packed_len(n, dim))
		return -1;
	size_t total = n * dim;
	for (size_t i = 0; i < total; i++)
		if (!isfinite(v[i]))
			return -1;
	if (buf_printf(out, EMBED_MAGIC "%zu %zu\n", n, dim))
		return -1;
	for (size_t i = 0; i < total; i += CHUNK) {
		size_t k = total - i < CHUNK ? total - i : CHUNK;
		for (size_t j = 0; j < k; j++)
			embed_put_le(bytes + 4 * j, v[i + j]);
		if (base64_encode(out, bytes, 4 * k))
			return -1;
	}
	return 0;
}

/* Reads a count of s[*i..len) that ends at the byte end: decimal digits,
 * no sign, no leading zero, at least 1, at most max. Returns it, or 0. */
static size_t embed_count(const char *s, size_t len, size_t *i, char end, size_t max)
{
	size_t v = 0, start = *i;
	for (; *i < len && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
		if (v > (max - (size_t)(s[*i] - '0')) / 10)
			return 0;
		v = v * 10 + (size_t)(s[*i] - '0');
	}
	if (*i == start || s[start] == '0' || *i >= len || s[*i] != end)
		return 0;
	(*i)++;
	return v;
}

float *embed_unpack(struct arena *a, const char *text, size_t len, size_t *n,
		    size_t *dim)
{
	const size_t most = (EMBED_MAX_BYTES - 1) / 4;  /* floats */
	size_t i = EMBED_MAGIC_LEN, vn, vd, got;
	*n = *dim = 0;
	if (len < EMBED_MAGIC_LEN || memcmp(text, EMBED_MAGIC, EMBED_MAGIC_LEN))
		return NULL;
	if (!(vn = embed_count(text, len, &i, ' ', most)) ||
	    !(vd = embed_count(text, len, &i, '\n', most)) || vn > most / vd)
		return NULL;
	size_t bytes = vn * vd * 4;
	if (len - i != base64_encoded_len(bytes))
		return NULL;
	unsigned char *raw = arena_alloc(a, base64_decoded_max(len - i));
	if (!raw || base64_decode(text + i, len - i, raw, &got) || got != bytes)
		return NULL;
	/* In place: the arena's memory is aligned for a float. */
	float *v = (float *)(void *)raw;
	for (size_t k = 0; k < vn * vd; k++) {
		float f = embed_get_le(raw + 4 * k);
		if (!isfinite(f))
			return NULL;
		v[k] = f;
	}
	*n = vn;
	*dim = vd;
	return v;
}
