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

/* "prompt_eval_count" counts the input tokens of every text. */
static int ol_embed_vectors(const cJSON *root, struct embed_list *l,
			    struct chat_result *r)
{
	const cJSON *embs = embed_list_array(l, root, "embeddings", r), *v;
	if (!embs)
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
	.fixed_path = "/api/embed",
	.body = embed_input_body,
	.merge = wire_merge_params,
	.vectors = ol_embed_vectors,
};
