#ifndef QUORUM_EMBED_H
#define QUORUM_EMBED_H
#include <stddef.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "provider.h"

/* The embeddings endpoints of the wire formats, as a struct provider, so
 * the engine's call machinery (retries, rate limits, caching) drives them
 * as it drives a chat: build turns a struct chat_request whose texts and
 * ntexts are set into the HTTP request, and the parser turns a 2xx body
 * into r->text holding the vectors in their packed form (below), usage in
 * r->input_tokens (r->output_tokens 0), finish_reason "". Pure functions,
 * like the rest of providers/.
 *
 * The packed form is a C string, so a result caches as text:
 *   "qemb1 N DIM\n" then the base64 (standard alphabet, padded, no line
 *   breaks) of N*DIM float32 values, little-endian, vector after vector;
 * N and DIM in decimal without leading zeros, both at least 1, every value
 * finite, N*DIM*4 bytes under EMBED_MAX_BYTES. */

/* The cap on the raw vectors of one packed text: 256 MiB. */
#define EMBED_MAX_BYTES ((size_t)256 << 20)

/* Returns the embeddings vtable of the provider called name ("openai", and
 * every OpenAI-compatible server; "gemini"; "ollama"), its facts the same
 * row as provider_find(name)'s; NULL for "anthropic" (it has no embeddings
 * API), unknown names and NULL. Its build refuses a request without a
 * model or texts, or with a NULL text; base_url NULL or "" is the facts'
 * default; params_json goes where the format keeps its embedding settings
 * (OpenAI's dimensions, Ollama's truncate, Gemini's outputDimensionality
 * in each of its requests). Its parser_new ignores stream (an embeddings
 * response never streams) and caps the body and the packed text as a
 * chat's are (too_large); parser_finish fails as malformed unless every
 * vector is there (OpenAI's in the order of their "index"), all of one
 * dimension above 0, every value a number float32 holds; an "error"
 * object in a 2xx body fails in the provider's words, as parse_error
 * reads it for status 200 (malformed, unless Gemini's status name says
 * more). Its parse_error is the chat provider's. */
const struct provider *provider_embedder(const char *name);

/* Makes parser_finish of p, a parser from an embedder's parser_new, fail
 * as malformed unless exactly n vectors came (the request's ntexts), so a
 * short answer never reaches a cache as a success. Without it (n 0, the
 * default) any number of vectors above 0 is packed, and the caller of
 * embed_unpack compares the count. */
void embed_parser_expect(struct resp_parser *p, size_t n);

/* Appends the packed form of the n vectors of dim floats at v (n*dim
 * values, vector after vector) to out. Returns 0, or -1 when n or dim is
 * 0, n*dim*4 is not under EMBED_MAX_BYTES, a value is not finite, or out
 * refuses the bytes (out is then as buf_append leaves it). */
int embed_pack(struct buf *out, const float *v, size_t n, size_t dim);

/* Reads the packed form text[0..len) (no NUL needed, nothing after the
 * base64 allowed). Returns its n*dim floats, vector after vector, in a
 * (borrowed until arena_free), with *n and *dim set; NULL, with *n and
 * *dim 0, on any malformed input (another magic, a count of 0, with a
 * sign or leading zeros or too large, bad base64, a length that is not
 * N*DIM*4 bytes, a value that is not finite) or when memory runs out. */
float *embed_unpack(struct arena *a, const char *text, size_t len, size_t *n,
		    size_t *dim);

#endif
