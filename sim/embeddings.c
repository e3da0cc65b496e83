/* An embeddings request in OpenAI's, Ollama's or Gemini's format: read
 * the texts, let the scenario decide the model's faults and latency as for
 * a chat request, make the vectors (embed.c) and answer in the format's
 * shape, now or after the latency. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "embed.h"
#include "server.h"

#define EMBED_MAX_DEPTH 64
#define EMBED_INPUTS_MAX 2048         /* OpenAI's limit on one request */
#define EMBED_GEMINI_BATCH_MAX 100    /* Gemini's */
#define EMBED_OUT_MAX (512u << 20)

/* A parsed embeddings request; strings borrowed from the cJSON tree or
 * `tmp`. */
struct embed_req {
	const char *model;
	const char **texts;  /* q_free */
	size_t n;
	int base64;          /* OpenAI's encoding_format "base64" */
	struct arena *tmp;   /* arena_free */
};

static int bad(struct req *r, const char *msg, const char *code)
{
	req_error(r, 400, msg, NULL, code);
	return -1;
}

static int texts_reserve(struct req *r, struct embed_req *er, size_t n)
{
	er->texts = q_calloc(n ? n : 1, sizeof(*er->texts));
	if (er->texts)
		return 0;
	req_error(r, 500, "mock: out of memory", NULL, NULL);
	return -1;
}

/* `input`: a string or a list of strings (OpenAI, Ollama). */
static int parse_input(struct req *r, struct embed_req *er, const cJSON *in,
		       const char *invalid)
{
	if (cJSON_IsString(in)) {
		if (texts_reserve(r, er, 1))
			return -1;
		er->texts[er->n++] = in->valuestring;
		return 0;
	}
	if (!cJSON_IsArray(in))
		return bad(r, invalid, "invalid_type");
	size_t n = (size_t)cJSON_GetArraySize(in);
	if (n > EMBED_INPUTS_MAX)
		return bad(r, "'input' holds more than 2048 items.", "invalid_value");
	if (texts_reserve(r, er, n))
		return -1;
	for (const cJSON *it = in->child; it; it = it->next) {
		if (!cJSON_IsString(it))
			return bad(r, invalid, "invalid_type");
		er->texts[er->n++] = it->valuestring;
	}
	return 0;
}

static int openai_parse(struct req *r, const cJSON *j, struct embed_req *er)
{
	static const char invalid[] = "'$.input' is invalid. Please check the API "
				      "reference: https://platform.openai.com/docs/"
				      "api-reference.";
	if (!cJSON_IsObject(j))
		return bad(r, "We could not parse the JSON body of your request. "
			   "The OpenAI API expects a JSON payload.", NULL);
	er->model = json_get_str(j, "model");
	if (!er->model || !*er->model)
		return bad(r, "you must provide a model parameter", NULL);
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "encoding_format");
	if (fmt && !cJSON_IsNull(fmt)) {
		if (!cJSON_IsString(fmt) || (strcmp(fmt->valuestring, "float") &&
					     strcmp(fmt->valuestring, "base64")))
			return bad(r, "Invalid value for 'encoding_format': expected "
				   "'float' or 'base64'.", "invalid_value");
		er->base64 = !strcmp(fmt->valuestring, "base64");
	}
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input");
	if (!in)
		return bad(r, "Missing required parameter: 'input'.",
			   "missing_required_parameter");
	if (parse_input(r, er, in, invalid))
		return -1;
	if (!er->n)
		return bad(r, invalid, "invalid_value");
	for (size_t i = 0; i < er->n; i++)
		if (!*er->texts[i])
			return bad(r, invalid, "invalid_value");
	return 0;
}

/* /api/embed takes `input`; the older /api/embeddings one `prompt`. */
static int ollama_parse(struct req *r, const cJSON *j, struct embed_req *er)
{
	if (!cJSON_IsObject(j))
		return bad(r, "invalid character in JSON body", NULL);
	er->model = json_get_str(j, "model");
	if (!er->model || !*er->model)
		return bad(r, "model is required", NULL);
	if (r->embed == EMBED_OLLAMA_LEGACY) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
		if (p && !cJSON_IsString(p) && !cJSON_IsNull(p))
			return bad(r, "json: cannot unmarshal into Go struct field "
				   "EmbeddingRequest.prompt of type string", NULL);
		if (texts_reserve(r, er, 1))
			return -1;
		if (cJSON_IsString(p) && *p->valuestring)
			er->texts[er->n++] = p->valuestring;
		return 0;
	}
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input");
	if (!in || cJSON_IsNull(in))
		return texts_reserve(r, er, 0); /* loads the model: no vectors */
	return parse_input(r, er, in, "invalid input type");
}

/* A Content's text: its parts' texts joined by newlines, as a chat
 * request reads them. */
static int gemini_text(struct embed_req *er, const cJSON *content,
		       const char **out)
{
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
	if (!cJSON_IsObject(content) || !cJSON_IsArray(parts))
		return -1;
	struct buf b = BUF_INIT;
	for (const cJSON *p = parts->child; p; p = p->next) {
		const char *t = json_get_str(p, "text");
		if (!t)
			continue;
		if (b.len)
			buf_putc(&b, '\n');
		buf_puts(&b, t);
	}
	if (!er->tmp)
		er->tmp = arena_new();
	*out = er->tmp && !b.overflow ? arena_strdup(er->tmp, buf_str(&b)) : NULL;
	buf_release(&b);
	return *out ? 0 : -1;
}

/* A request of a batch may name its model, "models/M": it must be the
 * URL's. */
static int gemini_same_model(const cJSON *req, const char *url_model)
{
	const char *m = json_get_str(req, "model");
	if (!m)
		return 1;
	if (!strncmp(m, "models/", 7))
		m += 7;
	return !strcmp(m, url_model);
}

static int gemini_parse(struct req *r, const cJSON *j, struct embed_req *er)
{
	if (!cJSON_IsObject(j))
		return bad(r, "Invalid JSON payload received. Expected an object.", NULL);
	er->model = r->url_model;
	if (!er->model) {
		req_error(r, 500, "mock: out of memory", NULL, NULL);
		return -1;
	}
	if (r->embed == EMBED_GEMINI) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "content");
		if (!c)
			return bad(r, "* EmbedContentRequest.content: content is not "
				   "specified\n", NULL);
		if (texts_reserve(r, er, 1) || gemini_text(er, c, &er->texts[0]))
			return er->texts ? bad(r, "Invalid JSON payload received. "
					       "Invalid value at 'content'.", NULL) : -1;
		er->n = 1;
		return 0;
	}
	const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(j, "requests");
	if (!cJSON_IsArray(reqs) || !reqs->child)
		return bad(r, "* BatchEmbedContentsRequest.requests: requests is not "
			   "specified\n", NULL);
	size_t n = (size_t)cJSON_GetArraySize(reqs);
	if (n > EMBED_GEMINI_BATCH_MAX)
		return bad(r, "* BatchEmbedContentsRequest.requests: at most 100 "
			   "requests can be in one batch\n", NULL);
	if (texts_reserve(r, er, n))
		return -1;
	for (const cJSON *it = reqs->child; it; it = it->next) {
		char msg[160];
		if (!gemini_same_model(it, er->model)) {
			snprintf(msg, sizeof(msg), "* BatchEmbedContentsRequest.requests[%zu]"
				 ".model: the model of each request must be the "
				 "batch's\n", er->n);
			return bad(r, msg, NULL);
		}
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
		if (!c || gemini_text(er, c, &er->texts[er->n])) {
			snprintf(msg, sizeof(msg), "* BatchEmbedContentsRequest.requests[%zu]"
				 ".content: content is not specified\n", er->n);
			return bad(r, msg, NULL);
		}
		er->n++;
	}
	return 0;
}

static int embed_parse(struct req *r, const cJSON *j, struct embed_req *er)
{
	switch (r->embed) {
	case EMBED_OLLAMA:
	case EMBED_OLLAMA_LEGACY:
		return ollama_parse(r, j, er);
	case EMBED_GEMINI:
	case EMBED_GEMINI_BATCH:
		return gemini_parse(r, j, er);
	case EMBED_OPENAI:
		break;
	}
	return openai_parse(r, j, er);
}

/* ---- the log ---- */

/* A log entry like a chat request's, with "endpoint": "embeddings" and
 * the texts as "input" in place of messages. */
static void embed_log(struct req *r, const struct embed_req *er, const char *raw,
		      const struct fault *f)
{
	struct chat ch = {.wire = r->wire, .model = er->model, .max_tokens = -1,
			  .temperature = -1};
	struct buf b = BUF_INIT;
	int rc = req_log_head(&b, r, &ch, f);
	rc |= buf_puts(&b, ",\"endpoint\":\"embeddings\"");
	if (raw) {
		rc |= buf_puts(&b, ",\"raw\":");
		rc |= buf_put_json_strn(&b, raw, strnlen(raw, MOCK_LOG_RAW_MAX));
	}
	rc |= buf_puts(&b, ",\"input\":[");
	for (size_t i = 0; i < er->n; i++) {
		rc |= i ? buf_putc(&b, ',') : 0;
		rc |= buf_put_json_str(&b, er->texts[i]);
	}
	rc |= buf_puts(&b, "],\"messages\":[]}");
	char *model = er->model ? q_strdup(er->model) : NULL;
	if (rc || (er->model && !model)) {
		q_free(model);
		buf_release(&b);
		return;
	}
	mock_log_add(r->m, model, b.data);
}

/* ---- the answer ---- */

/* The vectors of every text and the words they cost. */
static float *embed_all(const struct scenario *sc, const struct embed_req *er,
			long *tokens)
{
	size_t dim = sc->embed.dim;
	float *v = q_malloc((er->n ? er->n : 1) * dim * sizeof(*v));
	*tokens = 0;
	for (size_t i = 0; v && i < er->n; i++) {
		struct embed_meta meta;
		if (embed_text(sc, er->texts[i], v + i * dim, &meta)) {
			q_free(v);
			return NULL;
		}
		*tokens += meta.words;
	}
	return v;
}

/* The body of a normal answer (or a malformed one: its first half and a
 * marker). */
static int embed_body(struct req *r, const struct embed_reply *e,
		      const struct plan *p)
{
	if (p->kind != PLAN_MALFORMED)
		return reply_embeddings(&r->out, e);
	struct buf whole = BUF_INIT;
	buf_init(&whole, EMBED_OUT_MAX);
	int rc = reply_embeddings(&whole, e);
	if (!rc)
		rc = buf_append(&r->out, whole.data, whole.len / 2);
	buf_release(&whole);
	rc |= buf_puts(&r->out, "<<mock: malformed body>>");
	return rc ? -1 : 0;
}

/* A safety fault has nothing to filter in a vector, and an echo has no
 * text to ride on but a header: both answer as usual. */
static int embed_prepare(struct req *r, const struct embed_req *er,
			 const struct model_state *ms, const struct plan *p)
{
	const struct scenario *sc = &r->m->sc;
	const struct fault *f = p->fault;
	struct chat ch = {.wire = r->wire, .model = er->model};
	long tokens = 0;
	struct embed_reply e = {
		.api = r->embed, .model = er->model, .n = er->n, .dim = sc->embed.dim,
		.usage = ms->cfg->usage, .base64 = er->base64,
		.latency_ms = p->latency_ms,
	};
	if (f && f->type == FAULT_HUGE)
		return fault_huge_embed(r, &e, f->bytes);
	int done = req_prepare_fault(r, &ch, ms, p);
	if (done)
		return done < 0 ? -1 : 0;
	float *v = embed_all(sc, er, &tokens);
	if (!v)
		return -1;
	e.vecs = v;
	e.tokens = tokens;
	buf_init(&r->out, EMBED_OUT_MAX);
	r->status = 200;
	r->ctype = ms->cfg->content_type ? ms->cfg->content_type : "application/json";
	r->rst = p->kind == PLAN_CUT && f->type == FAULT_RESET;
	if (f && f->type == FAULT_DRIP)
		r->drip_ms = f->interval_ms;
	char *echoed = NULL;
	int rc = f && f->type == FAULT_REFLECT ? fault_reflect(r, f, "", &echoed) : 0;
	q_free(echoed);
	rc = rc ? rc : embed_body(r, &e, p);
	q_free(v);
	return rc ? rc : req_prepare_body(r, ms, p);
}

static enum MHD_Result embed_model(struct req *r, const struct embed_req *er,
				   struct model_state *ms)
{
	struct plan p;
	sim_plan_embed(&r->m->sc, ms, r->conn_nth > 1, &p);
	if (p.fault)
		atomic_fetch_add(&r->m->faults[p.fault->type], 1);
	if (embed_prepare(r, er, ms, &p)) {
		fault_release(r);
		r->reset = r->drop = r->cut = 0;
		req_error(r, 500, "mock: out of memory", NULL, NULL);
		p.latency_ms = 0;
	}
	embed_log(r, er, NULL, p.fault);
	return req_wait(r, p.latency_ms);
}

static const char *gemini_method(const struct req *r)
{
	return r->embed == EMBED_GEMINI_BATCH ? "batchEmbedContents" : "embedContent";
}

enum MHD_Result embed_dispatch(struct req *r)
{
	if (r->too_large) {
		req_error(r, 413, "Request body larger than 16 MiB.", NULL,
			  "request_too_large");
		return req_respond(r);
	}
	struct embed_req er = {0};
	cJSON *j = json_parse(r->body.data, r->body.len, EMBED_MAX_DEPTH);
	enum MHD_Result res;
	if (embed_parse(r, j, &er)) {
		embed_log(r, &er, j ? NULL : buf_str(&r->body), NULL);
		res = req_respond(r);
	} else {
		struct model_state *ms = model_table_get(&r->m->models, er.model);
		if (!ms && scenario_model(&r->m->sc, er.model)) {
			req_error(r, 500, "mock: too many model names", NULL, NULL);
			res = req_respond(r);
		} else if (!ms || !ms->cfg) {
			if (ms)
				atomic_fetch_add(&ms->requests, 1);
			req_model_not_found(r, er.model, gemini_method(r));
			embed_log(r, &er, NULL, NULL);
			res = req_respond(r);
		} else {
			res = embed_model(r, &er, ms);
		}
	}
	cJSON_Delete(j);
	q_free(er.texts);
	arena_free(er.tmp);
	buf_release(&r->body);
	return res;
}
