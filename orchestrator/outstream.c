/* Streams the output node's answer to the caller exactly: what goes out
 * is always a prefix of the text the report will hold, or nothing more
 * goes out at all. */
#include <string.h>

#include "outstream.h"

/* Only a node whose output is one call's text can stream it: a vote, a
 * judge or a cascade decides after its calls end, and a generate of
 * several calls has no single answer to stream. */
static int streams(const struct wf_node *n)
{
	if (n->kind == NK_SYNTHESIZE)
		return 1;
	return n->kind == NK_GENERATE && n->nmodels == 1 && n->samples <= 1;
}

void outstream_init(struct outstream *s, const struct workflow *wf,
		    const struct quorum_options *o, const struct redact *rd)
{
	memset(s, 0, sizeof(*s));
	s->opts = o;
	s->redact = rd;
	s->node = o->on_output_delta && streams(wf->output) ? wf->output : NULL;
	buf_init(&s->sent, 0);
	buf_init(&s->scratch, 0);
}

/* A key split across two pieces must still be masked: the last
 * (longest key - 1) bytes wait until more text or the end shows them. */
static size_t hold_back(const struct redact *rd)
{
	size_t longest = 0;
	for (size_t i = 0; i < rd->n; i++) {
		size_t k = strlen(rd->keys[i]);
		if (k > longest)
			longest = k;
	}
	return longest ? longest - 1 : 0;
}

/* A new attempt (or the first): it may go on only if it begins with
 * what went out. Returns 0, or -1 when it cannot tell yet. */
static int realign(struct outstream *s, const char *text, size_t n, size_t safe)
{
	if (safe < s->sent.len)
		return -1;
	buf_reset(&s->scratch);
	if (buf_append(&s->scratch, text, n)) {
		s->broken = 1;
		return -1;
	}
	redact_mask(s->redact, s->scratch.data, n);
	if (memcmp(s->scratch.data, buf_str(&s->sent), s->sent.len)) {
		s->broken = 1;
		return -1;
	}
	s->aligned = 1;
	return 0;
}

void outstream_text(void *ctx, const struct call *c, const char *text, size_t n)
{
	struct outstream *s = ctx;
	if (!s->node || s->broken || c->node != s->node || (s->call && s->call != c))
		return;
	s->call = c;
	if (!text) {
		s->aligned = 0;
		return;
	}
	if (!n)
		return;
	s->hold = hold_back(s->redact);
	size_t safe = n > s->hold ? n - s->hold : 0;
	/* A piece ends on a character's boundary: a client decodes each. */
	while (safe > 0 && safe < n && ((unsigned char)text[safe] & 0xC0) == 0x80)
		safe--;
	size_t from = 0; /* where scratch begins in the attempt's text */
	if (!s->aligned) {
		if (realign(s, text, n, safe))
			return;
	} else {
		/* Only the window a key could reach needs masking again. */
		from = s->sent.len > s->hold ? s->sent.len - s->hold : 0;
		buf_reset(&s->scratch);
		if (buf_append(&s->scratch, text + from, n - from)) {
			s->broken = 1;
			return;
		}
		redact_mask(s->redact, s->scratch.data, n - from);
	}
	if (safe <= s->sent.len)
		return;
	const char *piece = s->scratch.data + (s->sent.len - from);
	size_t len = safe - s->sent.len;
	if (buf_append(&s->sent, piece, len)) {
		s->broken = 1;
		return;
	}
	s->opts->on_output_delta(piece, len, s->opts->on_output_delta_ctx);
}

void outstream_release(struct outstream *s)
{
	buf_release(&s->sent);
	buf_release(&s->scratch);
}
