/* The Gemini API's embeddings endpoint: POST
 * {base_url}/v1beta/models/{model}:batchEmbedContents (the path built as
 * for :generateContent, gemini.c) with {"requests": [{"model":
 * "models/{model}", "content": {"parts": [{"text": T}]}}, ...]}, answered
 * with {"embeddings": [{"values": [floats]}, ...]} in the order of the
 * requests, and no token counts.
 *
 * Checked against Google's Gemini API reference (ai.google.dev/api/
 * embeddings: models.batchEmbedContents, POST
 * v1beta/{model=models/...}:batchEmbedContents; its response, "the
 * embeddings for each request, in the same order as provided"; a
 * ContentEmbedding's "values"; models.embedContent's request fields) and
 * the REST example it shows (google-gemini/api-examples, rest/embed.sh:
 * the key in x-goog-api-key, each request's model "models/..."). The
 * model of each request "must match" the one in the path; the settings
 * (taskType, title, outputDimensionality) are fields of each
 * EmbedContentRequest, so a user's params are merged into every request,
 * not at the top level. */
#include <stdio.h>

#include "embed_formats.h"
#include "wire.h"

static int ge_path(struct buf *path, const char *base, const struct chat_request *req,
		   struct qerr *e)
{
	return gemini_model_path(path, base, req->model, ":batchEmbedContents", e);
}

/* {"model": name, "content": {"parts": [{"text": text}]}}. */
static cJSON *ge_request(const char *name, const char *text)
{
	cJSON *one = cJSON_CreateObject();
	if (!one || wire_json_add(one, "model", cJSON_CreateString(name)) ||
	    wire_json_add(one, "content", gemini_content(text))) {
		cJSON_Delete(one);
		return NULL;
	}
	return one;
}

static cJSON *ge_body(const struct chat_request *req)
{
	struct buf name = BUF_INIT;
	cJSON *body = cJSON_CreateObject();
	if (!body)
		return NULL;
	cJSON *reqs = cJSON_CreateArray();
	/* reqs belongs to body once added, and is freed otherwise. */
	if (wire_json_add(body, "requests", reqs) ||
	    gemini_model_name(&name, req->model))
		goto fail;
	for (size_t i = 0; i < req->ntexts; i++) {
		cJSON *one = ge_request(buf_str(&name), req->texts[i]);
		if (!one || !cJSON_AddItemToArray(reqs, one)) {
			cJSON_Delete(one);
			goto fail;
		}
	}
	buf_release(&name);
	return body;
fail:
	buf_release(&name);
	cJSON_Delete(body);
	return NULL;
}

/* wire_merge_fn: params into each of the requests. */
static int ge_merge(cJSON *body, const char *params_json, struct qerr *e)
{
	cJSON *one;
	cJSON_ArrayForEach(one, cJSON_GetObjectItemCaseSensitive(body, "requests"))
	{
		if (wire_merge_params(one, params_json, e))
			return -1;
	}
	return 0;
}

static int ge_vectors(const cJSON *root, struct embed_list *l, struct chat_result *r)
{
	const cJSON *embs = embed_list_array(l, root, "embeddings", r), *item;
	if (!embs)
		return -1;
	size_t k = 0;
	cJSON_ArrayForEach(item, embs)
	{
		char what[48];
		snprintf(what, sizeof(what), "embeddings[%zu]", k);
		if (!cJSON_IsObject(item))
			return wire_fail_type(r, what, item, "an object");
		l->vec[k] = cJSON_GetObjectItemCaseSensitive(item, "values");
		if (!l->vec[k++])
			return chat_result_fail(r, ERR_MALFORMED, "'%s' has no 'values'",
						what);
	}
	return 0;
}

const struct embed_format gemini_embed = {
	.path = ge_path,
	.body = ge_body,
	.merge = ge_merge,
	.vectors = ge_vectors,
};
