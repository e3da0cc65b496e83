#ifndef QUORUM_SIM_REPLY_H
#define QUORUM_SIM_REPLY_H
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

/* The four wire formats, as the mock writes them. Every function appends
 * to a buf and returns 0, or -1 when memory ran out. */

enum mock_wire {
	WIRE_OPENAI,    /* POST .../chat/completions */
	WIRE_ANTHROPIC, /* POST .../v1/messages */
	WIRE_GEMINI,    /* POST .../models/{model}:generateContent */
	WIRE_OLLAMA,    /* POST .../api/chat */
};

/* "openai", "anthropic", "gemini", "ollama". */
extern const char *const mock_wire_names[];

/* How an answer ends. */
enum reply_end {
	END_STOP,         /* the model finished */
	END_FILTER,       /* a content filter stopped it: no text */
	END_BLOCK_PROMPT, /* the prompt was refused before any answer */
};

struct reply {
	enum mock_wire wire;
	const char *id;      /* "chatcmpl-mock-42", "msg_mock_42", ... */
	const char *model;
	int64_t created_ns;  /* wall clock, nanoseconds since the epoch */
	int64_t latency_ms;  /* what the answer waited (Ollama's durations) */
	const char *text;
	long prompt_tokens, completion_tokens;
	int usage;           /* report usage where the format lets it go */
	int include_usage;   /* OpenAI's stream_options.include_usage */
	int gemini_array;    /* Gemini stream without alt=sse: a JSON array */
	enum reply_end end;
};

/* What an event of a stream is. A chunk delay goes before every piece. */
enum ev_kind {
	EV_META,  /* no text: a prelude, the finish, a terminator */
	EV_PIECE, /* carries a piece of the text */
	EV_LAST,  /* carries the last piece and ends the answer (Gemini) */
};

/* The events of a stream: `end[i]` is where event i ends in the buffer,
 * `kind[i]` an enum ev_kind, `text_end[i]` the text bytes sent by then. */
struct sse_events {
	size_t *end, *text_end;
	unsigned char *kind;
	size_t n, cap;
};

/* A deterministic token estimate: a quarter of the bytes, rounded up. */
long reply_tokens(const char *s);

/* The whole answer as one JSON body in r->wire's shape. */
int reply_completion(struct buf *b, const struct reply *r);
/* The same cut short: a 200 body that is not JSON. */
int reply_malformed(struct buf *b, const struct reply *r);
/* The answer as r->wire streams it (SSE, or NDJSON for Ollama): a
 * prelude, the text in pieces of chunk_chars characters, the finish, any
 * terminator. With `malformed`, one content event is not JSON. */
int reply_stream(struct buf *b, struct sse_events *ev, const struct reply *r,
		 size_t chunk_chars, int malformed);
void sse_events_release(struct sse_events *ev);

/* Rewrites the JSON text in b indented over lines, two spaces a level,
 * `"key": value`, a newline at the end (as Go's json.MarshalIndent and
 * other servers' formatters write it). Text that is not JSON passes with
 * its brackets and commas laid out the same way. Returns 0, or -1 (b
 * unchanged) when memory ran out. */
int reply_pretty(struct buf *b);

/* An error body in the wire's shape. NULL message or type take the
 * format's usual ones for the status; `type` is OpenAI's and Anthropic's
 * error type or Gemini's status name, `code` only OpenAI's. */
int reply_error(struct buf *b, enum mock_wire wire, int status,
		const char *message, const char *type, const char *code);

/* An error in the middle of a stream, framed as the format frames one:
 * OpenAI a `data: {"error"}` event, Anthropic an `event: error`, Gemini a
 * `data:` event (or the last array item), Ollama an {"error"} line. */
int reply_stream_error(struct buf *b, const struct reply *r, int status,
		       const char *message, const char *type, const char *code);

/* ---- embeddings (reply_embed.c) ---- */

/* The embeddings endpoints: what the request was, hence the answer's
 * shape. */
enum embed_api {
	EMBED_OPENAI,        /* POST .../embeddings */
	EMBED_OLLAMA,        /* POST .../api/embed */
	EMBED_OLLAMA_LEGACY, /* POST .../api/embeddings: one prompt, one vector */
	EMBED_GEMINI,        /* POST .../models/{model}:embedContent */
	EMBED_GEMINI_BATCH,  /* POST .../models/{model}:batchEmbedContents */
};

struct embed_reply {
	enum embed_api api;
	const char *model;
	const float *vecs;   /* n vectors of dim numbers, one after another */
	size_t n, dim;
	long tokens;         /* OpenAI's usage, Ollama's prompt_eval_count */
	int usage;           /* Ollama: report prompt_eval_count */
	int base64;          /* OpenAI: each vector as base64 of little-endian
			      * float32, as encoding_format "base64" asks */
	int64_t latency_ms;  /* Ollama's durations */
	const char *mark;    /* a huge fault: one vector written as mark then
			      * 0, the mark later replaced by many "0.0,"
			      * (fault.c); NULL otherwise */
};

/* The embeddings answer in the shape e->api asks for: OpenAI's list of
 * embedding objects with usage, Ollama's embeddings (or its older single
 * embedding), Gemini's embedding or embeddings of values. */
int reply_embeddings(struct buf *b, const struct embed_reply *e);

/* ---- shared by the format writers (reply_*.c) ---- */

/* Records that an event of `kind` ends at b->len. */
int reply_event(struct sse_events *ev, const struct buf *b, size_t text_end,
		enum ev_kind kind);
/* Bytes of the next n UTF-8 characters of s (n 0 counts as 1). */
size_t reply_span(const char *s, size_t n);

int reply_anthropic(struct buf *b, const struct reply *r);
int reply_anthropic_stream(struct buf *b, struct sse_events *ev,
			   const struct reply *r, size_t chunk_chars, int malformed);
int reply_anthropic_error(struct buf *b, int status, const char *message,
			  const char *type);
int reply_gemini(struct buf *b, const struct reply *r);
int reply_gemini_stream(struct buf *b, struct sse_events *ev,
			const struct reply *r, size_t chunk_chars, int malformed);
int reply_gemini_error(struct buf *b, int status, const char *message,
		       const char *type, int compact);
int reply_ollama(struct buf *b, const struct reply *r);
int reply_ollama_stream(struct buf *b, struct sse_events *ev,
			const struct reply *r, size_t chunk_chars, int malformed);
int reply_ollama_error(struct buf *b, int status, const char *message);

#endif
