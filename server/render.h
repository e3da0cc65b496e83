#ifndef QUORUM_SERVER_RENDER_H
#define QUORUM_SERVER_RENDER_H
/* The OpenAI wire shapes quorum serve answers with: a chat completion, a
 * stream's chunks and its end, the model list, errors. Pure: each
 * appends JSON (or SSE lines) to a buffer. Returns 0, or -1 when memory
 * ran out. */
#include <stddef.h>

#include "../common/buf.h"

/* What every chunk and completion of one request repeats. */
struct oai_head {
	const char *id;          /* "chatcmpl-..." */
	const char *model;       /* the workflow's name */
	long long created;       /* Unix seconds */
};

/* A run's tokens: -1 where no provider reported them. */
struct oai_usage {
	long long prompt_tokens, completion_tokens;
};

/* The answer's "quorum" field, when the request asked for the report:
 * `,"quorum":{"run_id", "status", "report"}` (report_json as it is). */
int render_quorum_field(struct buf *b, const char *run_id, const char *status,
			const char *report_json);
/* A whole chat completion. report_json: the run report to put under
 * "quorum" with run_id and status (NULL: no "quorum" field). */
int render_completion(struct buf *b, const struct oai_head *h, const char *text,
		      const char *finish_reason, const struct oai_usage *u,
		      const char *run_id, const char *status, const char *report_json);

/* One SSE event "data: {chunk}\n\n": a delta of text (role set on the
 * first chunk), or the last one with finish_reason. with_usage: the
 * chunk carries "usage": null, as include_usage asks of every chunk but
 * the usage one. */
int render_chunk(struct buf *b, const struct oai_head *h, const char *role, const char *text,
		 size_t n, const char *finish_reason, int with_usage);
/* The usage chunk (choices empty) that include_usage asks for last. */
int render_usage_chunk(struct buf *b, const struct oai_head *h, const struct oai_usage *u);
/* "data: [DONE]\n\n". */
int render_done(struct buf *b);

/* {"error": {"message", "type", "param", "code"}}; param and code may be
 * NULL (null). */
int render_error(struct buf *b, const char *message, const char *type, const char *param,
		 const char *code);
/* The same as an SSE event, for an error after a stream began. */
int render_error_event(struct buf *b, const char *message, const char *type,
		       const char *code);

/* {"object": "list", "data": [{"id", "object": "model", "created",
 * "owned_by": "quorum"}...]}. */
int render_models(struct buf *b, const char *const *names, size_t n, long long created);
/* One model, {"id", "object": "model", "created", "owned_by": "quorum"}:
 * GET /v1/models/ID's answer, and each element of the list. */
int render_model(struct buf *b, const char *name, long long created);

#endif
