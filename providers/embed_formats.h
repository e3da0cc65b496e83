#ifndef QUORUM_PROVIDERS_EMBED_FORMATS_H
#define QUORUM_PROVIDERS_EMBED_FORMATS_H
#include <stddef.h>

#include <cjson/cJSON.h>

#include "../common/buf.h"
#include "../common/provfacts.h"
#include "../common/qerr.h"
#include "provider.h"
#include "wire.h"

/* The embeddings endpoints, by the name of the wire format and its row in
 * the table of provider facts. Private to providers/: each
 * embed_NAME.c defines NAME_embed, and embed.c makes it a struct provider
 * with NAME_parse_error (formats.h). Anthropic has no embeddings API. */
#define EMBEDDERS(X)                                                          \
	X(openai, PROV_OPENAI)                                                \
	X(gemini, PROV_GEMINI)                                                \
	X(ollama, PROV_OLLAMA)

/* The vectors of one response in the order of the texts: vec[i] is the
 * JSON value that should be vector i's array of numbers (embed.c checks
 * that it is); never NULL once the format's hook has returned 0. */
struct embed_list {
	const cJSON **vec;
	size_t n;
};

/* The array root[key] that holds a response's vectors (or their
 * objects), with l set to as many empty slots (freed by embed.c).
 * Returns it, or NULL with r failed: malformed when it is missing or not
 * an array, too_large when memory ran out. */
const cJSON *embed_list_array(struct embed_list *l, const cJSON *root, const char *key,
			      struct chat_result *r);

/* What a format's embeddings endpoint says in its own words. */
struct embed_format {
	/* What follows base (the default one when the request named none)
	 * in the URL, when it is always the same; else NULL, and path
	 * appends it to path, returning 0, or -1 with e set. */
	const char *fixed_path;
	int (*path)(struct buf *path, const char *base, const struct chat_request *req,
		    struct qerr *e);
	/* The body for req->texts[0..ntexts), all of them not NULL; NULL when
	 * memory ran out. */
	cJSON *(*body)(const struct chat_request *req);
	wire_merge_fn *merge;   /* how params_json goes in */
	/* Reads root, a 2xx response's JSON object that reports no error,
	 * into l (through embed_list_array) and r->input_tokens. Returns 0,
	 * or -1 with r failed (malformed: what is missing or of a wrong
	 * type, where). */
	int (*vectors)(const cJSON *root, struct embed_list *l, struct chat_result *r);
};

/* {"model": req->model, "input": [req->texts...]}, the body OpenAI's and
 * Ollama's endpoints share; NULL when memory ran out. */
cJSON *embed_input_body(const struct chat_request *req);

#define EMBED_DECLARE(name, id) extern const struct embed_format name##_embed;
EMBEDDERS(EMBED_DECLARE)

/* From gemini.c, so both endpoints name a model alike: the path after
 * base of the model's method (":batchEmbedContents"), and the model's
 * resource name ("models/x"). Each returns 0, or -1 (path: with e set). */
int gemini_model_path(struct buf *path, const char *base, const char *model,
		      const char *method, struct qerr *e);
int gemini_model_name(struct buf *name, const char *model);
/* A Content holding text as its one part, without a role; NULL when
 * memory ran out. */
cJSON *gemini_content(const char *text);

#endif
