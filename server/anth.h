#ifndef QUORUM_SERVER_ANTH_H
#define QUORUM_SERVER_ANTH_H
/* Anthropic's Messages API (POST /v1/messages), read into the same
 * request a chat completion becomes, and its shapes written: a message,
 * a stream's events, errors. Pure: no I/O. Render functions return 0, or
 * -1 when memory ran out. */
#include <stddef.h>

#include "../common/buf.h"
#include "oai.h"
#include "render.h"

/* Parses body[0..len): model, messages (the last the user's), system (a
 * string or text blocks), max_tokens, temperature, stream, and quorum's
 * own "quorum": {"report": true}. Returns 0, or -1 with e set. */
int anth_req_parse(struct oai_req *r, const char *body, size_t len, struct oai_err *e);

/* A whole message (stop_reason: "end_turn", "max_tokens", ...);
 * report_json as for render_completion. */
int anth_render_message(struct buf *b, const struct oai_head *h, const char *text,
			const char *stop_reason, const struct oai_usage *u, const char *run_id,
			const char *status, const char *report_json);
/* message_start and content_block_start: what a stream opens with. */
int anth_render_start(struct buf *b, const struct oai_head *h);
/* One content_block_delta of text. */
int anth_render_delta(struct buf *b, const char *text, size_t n);
/* content_block_stop, message_delta (stop reason, usage), message_stop. */
int anth_render_stop(struct buf *b, const char *stop_reason, const struct oai_usage *u);
/* {"type": "error", "error": {"type", "message"}}, the type from the
 * HTTP status as Anthropic names it. */
int anth_render_error(struct buf *b, int status, const char *message);
/* The same as an `error` event, for an error after a stream began. */
int anth_render_error_event(struct buf *b, int status, const char *message);

#endif
