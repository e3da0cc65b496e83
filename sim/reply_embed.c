/* The embeddings answers: OpenAI's {"object": "list", "data": [...],
 * "model", "usage"}, Ollama's {"model", "embeddings", durations,
 * "prompt_eval_count"} (and its older {"embedding"}), Gemini's
 * {"embedding": {"values"}} and {"embeddings": [{"values"}]}. */
#include <stdint.h>
#include <string.h>

#include "../common/base64.h"
#include "reply.h"

/* [x, y, ...]: each float with the 9 digits that give it back exactly;
 * a huge fault's mark, then 0, in place of the numbers. */
static int put_values(struct buf *b, const struct embed_reply *e, size_t k)
{
	if (e->mark)
		return buf_printf(b, "[%s0]", e->mark);
	const float *v = e->vecs + k * e->dim;
	int rc = buf_putc(b, '[');
	for (size_t i = 0; i < e->dim; i++)
		rc |= buf_printf(b, i ? ",%.9g" : "%.9g", (double)v[i]);
	return rc | buf_putc(b, ']');
}

/* The vector as base64 of its float32s, little-endian whatever the host. */
static int put_base64(struct buf *b, const struct embed_reply *e, size_t k)
{
	const float *v = e->vecs + k * e->dim;
	struct buf raw = BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < e->dim && !rc; i++) {
		uint32_t bits;
		memcpy(&bits, &v[i], sizeof(bits));
		unsigned char le[4] = {(unsigned char)bits, (unsigned char)(bits >> 8),
				       (unsigned char)(bits >> 16),
				       (unsigned char)(bits >> 24)};
		rc |= buf_append(&raw, le, sizeof(le));
	}
	rc |= buf_putc(b, '"');
	if (!rc && raw.len)
		rc |= base64_encode(b, raw.data, raw.len);
	rc |= buf_putc(b, '"');
	buf_release(&raw);
	return rc;
}

static int openai_embeddings(struct buf *b, const struct embed_reply *e)
{
	int rc = buf_puts(b, "{\"object\":\"list\",\"data\":[");
	for (size_t k = 0; k < e->n; k++) {
		rc |= buf_printf(b, "%s{\"object\":\"embedding\",\"index\":%zu,"
				    "\"embedding\":", k ? "," : "", k);
		rc |= e->base64 && !e->mark ? put_base64(b, e, k) : put_values(b, e, k);
		rc |= buf_putc(b, '}');
	}
	rc |= buf_puts(b, "],\"model\":");
	rc |= buf_put_json_str(b, e->model);
	rc |= buf_printf(b, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}",
			 e->tokens, e->tokens);
	return rc;
}

/* Ollama's durations are nanoseconds: the latency, a load and a prompt
 * evaluation that grows with the tokens (as its chat answers count). */
static int ollama_embeddings(struct buf *b, const struct embed_reply *e)
{
	int rc = buf_puts(b, "{\"model\":");
	rc |= buf_put_json_str(b, e->model);
	rc |= buf_puts(b, ",\"embeddings\":[");
	for (size_t k = 0; k < e->n; k++) {
		rc |= k ? buf_putc(b, ',') : 0;
		rc |= put_values(b, e, k);
	}
	long long load = 1000000, prompt = 200000LL * e->tokens;
	long long total = (long long)e->latency_ms * 1000000 + load + prompt;
	rc |= buf_printf(b, "],\"total_duration\":%lld,\"load_duration\":%lld", total,
			 load);
	if (e->usage)
		rc |= buf_printf(b, ",\"prompt_eval_count\":%ld", e->tokens);
	return rc | buf_putc(b, '}');
}

static int gemini_embeddings(struct buf *b, const struct embed_reply *e)
{
	int rc = 0;
	if (e->api == EMBED_GEMINI) {
		rc |= buf_puts(b, "{\"embedding\":{\"values\":");
		rc |= put_values(b, e, 0);
		return rc | buf_puts(b, "}}");
	}
	rc |= buf_puts(b, "{\"embeddings\":[");
	for (size_t k = 0; k < e->n; k++) {
		rc |= buf_puts(b, k ? ",{\"values\":" : "{\"values\":");
		rc |= put_values(b, e, k);
		rc |= buf_putc(b, '}');
	}
	return rc | buf_puts(b, "]}");
}

int reply_embeddings(struct buf *b, const struct embed_reply *e)
{
	int rc;
	switch (e->api) {
	case EMBED_OLLAMA:
		rc = ollama_embeddings(b, e);
		break;
	case EMBED_OLLAMA_LEGACY:
		rc = buf_puts(b, "{\"embedding\":");
		rc |= e->n ? put_values(b, e, 0) : buf_puts(b, "[]");
		rc |= buf_putc(b, '}');
		break;
	case EMBED_GEMINI:
	case EMBED_GEMINI_BATCH:
		rc = gemini_embeddings(b, e);
		break;
	case EMBED_OPENAI:
	default:
		rc = openai_embeddings(b, e);
		break;
	}
	return rc ? -1 : 0;
}
