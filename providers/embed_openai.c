/* OpenAI's embeddings endpoint, which most OpenAI-compatible servers
 * speak too (vLLM, llama.cpp, Ollama's /v1, LiteLLM): POST
 * {base_url}/embeddings with {"model", "input": [texts], "encoding_format":
 * "float"}, answered with {"object": "list", "data": [{"object":
 * "embedding", "embedding": [floats], "index": i}, ...], "model",
 * "usage": {"prompt_tokens", "total_tokens"}}.
 *
 * Checked against OpenAI's API reference (developers.openai.com/api/
 * reference, resources/embeddings: "Create embeddings", POST /embeddings;
 * CreateEmbeddingResponse, Embedding: "index", the index of the embedding
 * in the list) and its official Node SDK (openai-node,
 * src/resources/embeddings.ts: EmbeddingCreateParams): input is a string
 * or an array of strings; encoding_format is "float" or "base64" (asked
 * for as float: the SDK asks for base64 unless told, so what a server
 * does unasked is not to be relied on); dimensions and user are optional
 * (a user's params). The vectors are put in the order of "index", not of
 * "data". */
#include <stdio.h>

#include "../common/json.h"
#include "embed_formats.h"
#include "wire.h"

static cJSON *oe_body(const struct chat_request *req)
{
	cJSON *body = embed_input_body(req);
	if (body && wire_json_add(body, "encoding_format", cJSON_CreateString("float"))) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* The slot of data[k], item: its "index" (its position k when it has
 * none, as some compatible servers send), a whole number below n. Returns
 * 0, or -1 with r failed. */
static int oe_index(const cJSON *item, size_t k, size_t n, size_t *slot,
		    struct chat_result *r)
{
	const cJSON *idx = cJSON_GetObjectItemCaseSensitive(item, "index");
	char what[48];
	*slot = k;
	if (!idx)
		return 0;
	snprintf(what, sizeof(what), "data[%zu].index", k);
	if (!cJSON_IsNumber(idx))
		return wire_fail_type(r, what, idx, "a number");
	double d = idx->valuedouble;
	if (!(d >= 0 && d < (double)n) || d != (double)(size_t)d)
		return chat_result_fail(r, ERR_MALFORMED,
					"'%s' is %g, not a whole number below %zu", what,
					d, n);
	*slot = (size_t)d;
	return 0;
}

static int oe_vectors(const cJSON *root, struct embed_list *l, struct chat_result *r)
{
	const cJSON *data = embed_list_array(l, root, "data", r), *item;
	if (!data)
		return -1;
	size_t k = 0, slot;
	cJSON_ArrayForEach(item, data)
	{
		char what[48];
		snprintf(what, sizeof(what), "data[%zu]", k);
		if (!cJSON_IsObject(item))
			return wire_fail_type(r, what, item, "an object");
		if (oe_index(item, k, l->n, &slot, r))
			return -1;
		/* n items, n slots: each index once means every one filled. */
		if (l->vec[slot])
			return chat_result_fail(r, ERR_MALFORMED,
						"two items of 'data' have index %zu", slot);
		l->vec[slot] = cJSON_GetObjectItemCaseSensitive(item, "embedding");
		if (!l->vec[slot])
			return chat_result_fail(r, ERR_MALFORMED, "'%s' has no 'embedding'",
						what);
		k++;
	}
	r->input_tokens = wire_tokens(json_get_obj(root, "usage"), "prompt_tokens");
	return 0;
}

const struct embed_format openai_embed = {
	.fixed_path = "/embeddings",
	.body = oe_body,
	.merge = wire_merge_params,
	.vectors = oe_vectors,
};
