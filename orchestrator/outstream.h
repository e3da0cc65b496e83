#ifndef QUORUM_OUTSTREAM_H
#define QUORUM_OUTSTREAM_H
/* The output node's answer as its model streams it, for a caller's
 * quorum_options.on_output_delta: keys masked (the last bytes held back
 * until no key can still be cut in two), and never a byte of an attempt
 * that does not begin with what already went out. Loop thread only. */
#include <stddef.h>

#include "../common/buf.h"
#include "../common/redact.h"
#include "../dag/workflow.h"
#include "call.h"
#include "quorum.h"

struct outstream {
	const struct quorum_options *opts;
	const struct redact *redact;
	const struct wf_node *node;   /* the output node when it streams; NULL: none */
	const struct call *call;      /* the one call whose attempts stream */
	size_t hold;                  /* bytes held back: the longest key - 1 */
	struct buf sent;              /* what went out, masked */
	struct buf scratch;
	int aligned;                  /* the attempt in flight begins with sent */
	int broken;                   /* an attempt answered otherwise: no more */
};

/* Sets s up for a run of wf with o (nothing streams without
 * o->on_output_delta). The key set rd is read when text comes, so keys
 * added later count. */
void outstream_init(struct outstream *s, const struct workflow *wf,
		    const struct quorum_options *o, const struct redact *rd);
/* call_ctx.on_text: text[0..n) is the attempt's whole text so far, or
 * text NULL when the attempt failed. */
void outstream_text(void *ctx, const struct call *c, const char *text, size_t n);
void outstream_release(struct outstream *s);

#endif
