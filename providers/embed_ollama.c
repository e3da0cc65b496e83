/* Ollama's native embeddings endpoint: POST {base_url}/api/embed with
 * {"model", "input": [texts]}, answered with {"model", "embeddings":
 * [[floats], ...], "total_duration", "load_duration", "prompt_eval_count"}
 * in the order of the inputs.
 *
 * Checked against Ollama's API documentation (github.com/ollama/ollama,
 * docs/api.md, "Generate Embeddings"): input is a text or a list of them;
 * truncate, options and keep_alive are optional (a user's params, merged
 * at the top level). /api/embeddings, which it superseded, takes one
 * prompt and is not used. */
#include "embed_formats.h"
#include "wire.h"

static int ol_embed_path(struct buf *path, const char *base,
			 const struct chat_request *req, struct qerr *e)
{
	(void)base, (void)req;
	return buf_puts(path, "/api/embed") ? qerr_set(e, "out of memory building the request url")
					    : 0;
}

static cJSON *ol_embed_body(const struct chat_request *req)
{
	cJSON *body = cJSON_CreateObject();
	if (!body || wire_json_add(body, "model", wire_json_string(req->model)) ||
	    wire_json_add(body, "input", wire_json_strings(req->texts, req->ntexts))) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* "prompt_eval_count" counts the input tokens of every text. */
static int ol_embed_vectors(const cJSON *root, struct embed_list *l,
			    struct chat_result *r)
{
	const cJSON *embs = cJSON_GetObjectItemCaseSensitive(root, "embeddings"), *v;
	if (!embs)
		return chat_result_fail(r, ERR_MALFORMED,
					"response has no 'embeddings' array");
	if (!cJSON_IsArray(embs))
		return wire_fail_type(r, "embeddings", embs, "an array");
	if (embed_list_init(l, (size_t)cJSON_GetArraySize(embs), r))
		return -1;
	size_t k = 0;
	cJSON_ArrayForEach(v, embs)
	{
		l->vec[k++] = v;
	}
	r->input_tokens = wire_tokens(root, "prompt_eval_count");
	return 0;
}

const struct embed_format ollama_embed = {
	.path = ol_embed_path,
	.body = ol_embed_body,
	.merge = wire_merge_params,
	.vectors = ol_embed_vectors,
};
