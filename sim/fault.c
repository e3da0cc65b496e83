/* What the network and the boxes between a client and its provider do to
 * a response: connections reset at once or midway, bodies that drip a
 * byte at a time, bodies too big to hold, an HTML page where JSON was
 * due, an error body under status 200, redirects, a proxy that echoes
 * the request's credential. */
#include <string.h>
#include <sys/socket.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "server.h"

/* A huge answer is made once with this text, then sent with the piece
 * that holds MARK repeated (MARK replaced by filler) until it is big
 * enough: a few KiB of memory for any size. In a stream the text is
 * PAD MARK ".", one piece each, so the repeated piece is never the first
 * (a Gemini array opens with '[') nor the last (it ends the answer). */
#define HUGE_MARK "@@huge@@"
#define HUGE_PAD "A huge: "
#define HUGE_FILLER_REPS 341 /* of "lorem ipsum ": 4 KiB a piece */
#define HUGE_ZEROS_REPS 1023  /* of "0.0,": an embedding's 4 KiB */

struct mock_huge {
	struct buf out;    /* head, one unit, tail */
	size_t head, unit; /* lengths of the first two */
	uint64_t n_units, total;
};

/* ---- resets ---- */

void req_reset(struct req *r)
{
	r->cut = 1;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return;
	/* A zero linger makes a close an RST, and drops whatever the
	 * kernel has not sent yet, as a crashed server or a middlebox
	 * would. MHD shuts its side down (a FIN) before it closes, so
	 * disconnect now: on Linux, connect(AF_UNSPEC) aborts a TCP
	 * connection with RST; MHD then finds the socket dead and closes. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	struct sockaddr sa = {.sa_family = AF_UNSPEC};
	connect(ci->connect_fd, &sa, sizeof(sa)); /* else a plain close */
}

/* ---- drip ---- */

ssize_t fault_drip_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *r = cls;
	(void)pos;
	if (atomic_load(&r->m->stopping) || atomic_load(&r->park.gone) || !max)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (r->sent >= r->out.len) {
		req_ending(r);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (r->sent && clock_ms() < r->next_due_ms) {
		if (!mock_timer_park(r->m->timer, &r->park, r->next_due_ms))
			return 0;
		if (atomic_load(&r->m->stopping))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	buf[0] = r->out.data[r->sent++];
	r->next_due_ms = clock_ms() + r->drip_ms;
	return 1;
}

/* ---- huge ---- */

/* The bytes at pos that lie in one piece of memory. */
static const char *huge_at(const struct mock_huge *h, uint64_t pos, size_t *len)
{
	uint64_t units = h->n_units * h->unit;
	if (pos < h->head) {
		*len = h->head - (size_t)pos;
		return h->out.data + pos;
	}
	pos -= h->head;
	if (pos < units) {
		size_t o = (size_t)(pos % h->unit);
		*len = h->unit - o;
		return h->out.data + h->head + o;
	}
	pos -= units;
	size_t tail = h->out.len - h->head - h->unit;
	*len = pos < tail ? tail - (size_t)pos : 0;
	return h->out.data + h->head + h->unit + pos;
}

ssize_t fault_huge_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *r = cls;
	const struct mock_huge *h = r->huge;
	if (atomic_load(&r->m->stopping) || atomic_load(&r->park.gone))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (pos >= h->total) {
		req_ending(r);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	size_t n = 0;
	while (n < max && pos < h->total) {
		size_t len;
		const char *p = huge_at(h, pos, &len);
		if (len > max - n)
			len = max - n;
		memcpy(buf + n, p, len);
		n += len;
		pos += len;
	}
	return (ssize_t)n;
}

uint64_t fault_huge_size(const struct req *r) { return r->huge->total; }

void fault_release(struct req *r)
{
	q_free(r->echo);
	r->echo = NULL;
	if (!r->huge)
		return;
	buf_release(&r->huge->out);
	q_free(r->huge);
	r->huge = NULL;
}

/* head = made[0..start), the unit = made[start..end) with MARK replaced
 * by filler, tail = made[end..); repeated to `bytes` in all. */
static int huge_layout(struct mock_huge *h, const struct buf *made, size_t start,
		       size_t end, int64_t bytes, const char *filler, int reps)
{
	const char *mark = strstr(made->data + start, HUGE_MARK);
	if (!mark || (size_t)(mark - made->data) + strlen(HUGE_MARK) > end)
		return -1;
	size_t at = (size_t)(mark - made->data), after = at + strlen(HUGE_MARK);
	int rc = buf_append(&h->out, made->data, at);
	size_t f0 = h->out.len;
	for (int i = 0; i < reps; i++)
		rc |= buf_puts(&h->out, filler);
	size_t fill = h->out.len - f0;
	rc |= buf_append(&h->out, made->data + after, made->len - after);
	if (rc)
		return -1;
	h->head = start;
	h->unit = (at - start) + fill + (end - after);
	uint64_t fixed = h->out.len - h->unit;
	uint64_t want = (uint64_t)bytes > fixed ? (uint64_t)bytes - fixed : 1;
	h->n_units = (want + h->unit - 1) / h->unit;
	h->total = fixed + h->n_units * h->unit;
	return 0;
}

/* Finds the stream event that holds MARK. */
static int huge_event(const struct sse_events *ev, const struct buf *made,
		      size_t *start, size_t *end)
{
	const char *mark = strstr(made->data, HUGE_MARK);
	if (!mark)
		return -1;
	size_t at = (size_t)(mark - made->data), from = 0;
	for (size_t i = 0; i < ev->n; from = ev->end[i++]) {
		if (at >= from && at < ev->end[i]) {
			*start = from;
			*end = ev->end[i];
			return 0;
		}
	}
	return -1;
}

static int fault_huge(struct req *r, const struct chat *ch,
		      const struct model_state *ms, const struct fault *f)
{
	struct reply rp = {
		.wire = ch->wire, .id = "mock-huge", .model = ch->model,
		.created_ns = clock_wall_us() * 1000,
		.text = ch->stream ? HUGE_PAD HUGE_MARK "." : HUGE_MARK,
		.prompt_tokens = ch->prompt_tokens,
		.completion_tokens = f->bytes / 4, .usage = ms->cfg->usage,
		.include_usage = ch->include_usage, .gemini_array = ch->gemini_array,
		.end = END_STOP,
	};
	struct buf made = BUF_INIT;
	struct sse_events ev = {0};
	size_t start = 0, end = 0;
	r->huge = q_calloc(1, sizeof(*r->huge));
	int rc = !r->huge;
	if (!rc && ch->stream) {
		rc = reply_stream(&made, &ev, &rp, strlen(HUGE_MARK), 0) ||
		     huge_event(&ev, &made, &start, &end);
	} else if (!rc) {
		rc = reply_completion(&made, &rp);
		if (!rc) {
			start = (size_t)(strstr(made.data, HUGE_MARK) - made.data);
			end = start + strlen(HUGE_MARK);
		}
	}
	if (!rc)
		rc = huge_layout(r->huge, &made, start, end, f->bytes, "lorem ipsum ",
				 HUGE_FILLER_REPS);
	buf_release(&made);
	sse_events_release(&ev);
	r->status = 200;
	r->send = SEND_READER;
	r->stream = ch->stream;
	r->ctype = !ch->stream ? "application/json"
		   : ch->wire == WIRE_OLLAMA ? "application/x-ndjson"
		   : ch->gemini_array ? "application/json" : "text/event-stream";
	return rc ? -1 : 0;
}

int fault_huge_embed(struct req *r, const struct embed_reply *e, int64_t bytes)
{
	struct embed_reply one = *e;
	one.mark = HUGE_MARK;
	one.n = 1;
	one.base64 = 0;
	struct buf made = BUF_INIT;
	r->huge = q_calloc(1, sizeof(*r->huge));
	int rc = !r->huge || reply_embeddings(&made, &one);
	if (!rc) {
		size_t start = (size_t)(strstr(made.data, HUGE_MARK) - made.data);
		rc = huge_layout(r->huge, &made, start, start + strlen(HUGE_MARK), bytes,
				 "0.0,", HUGE_ZEROS_REPS);
	}
	buf_release(&made);
	r->status = 200;
	r->send = SEND_READER;
	r->stream = 0;
	r->ctype = "application/json";
	return rc ? -1 : 0;
}

/* ---- the boxes in between ---- */

static int fault_html(struct req *r, const struct chat *ch, const struct fault *f)
{
	r->status = f->status;
	r->ctype = f->value;
	int rc = buf_puts(&r->out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>"
				   "<meta charset=\"utf-8\"><title>Just a moment..."
				   "</title></head>\n<body><h1>Checking your browser "
				   "before accessing the site.</h1>\n<p>The mock served "
				   "this page in place of ");
	const char *model = ch->model ? ch->model : "the model";
	rc |= buf_append(&r->out, model, strnlen(model, 200));
	return rc | buf_puts(&r->out, "'s answer.</p></body>\n</html>\n");
}

static int fault_redirect(struct req *r, const struct fault *f)
{
	r->status = f->status;
	r->ctype = "text/html; charset=utf-8";
	r->location = f->location ? f->location : "/_mock/moved";
	return buf_puts(&r->out, "<html><head><title>Moved</title></head><body>"
				 "<h1>Moved</h1><p>The document has moved.</p>"
				 "</body></html>\n");
}

/* ---- reflected credentials ---- */

/* The credential as it came, or a word that says none came. */
static const char *reflect_value(struct req *r)
{
	const char *how, *v = req_auth(r, &how);
	return v ? v : "(none)";
}

/* An error whose message ends with the credential, as a careless proxy
 * (or a provider quoting a bad key) would send it. */
static int fault_reflect_error(struct req *r, const struct fault *f)
{
	struct buf msg = BUF_INIT;
	int rc = buf_printf(&msg, "%s: %s",
			    f->message ? f->message : "Incorrect API key provided",
			    reflect_value(r));
	if (!rc)
		rc = reply_error(&r->out, r->wire, f->status, buf_str(&msg), f->etype,
				 f->code);
	buf_release(&msg);
	r->status = f->status;
	r->ctype = "application/json";
	return rc ? -1 : 0;
}

int fault_reflect(struct req *r, const struct fault *f, const char *text,
		  char **echoed)
{
	*echoed = NULL;
	if (f->where == REFLECT_HEADER) {
		r->echo_name = f->header;
		r->echo = q_strdup(reflect_value(r));
		return r->echo ? 0 : -1;
	}
	struct buf b = BUF_INIT;
	if (buf_printf(&b, "Credential received: %s\n\n%s", reflect_value(r), text)) {
		buf_release(&b);
		return -1;
	}
	*echoed = b.data;
	return 0;
}

int fault_prepare(struct req *r, const struct chat *ch,
		  const struct model_state *ms, const struct plan *p)
{
	const struct fault *f = p->fault;
	switch (f->type) {
	case FAULT_HUGE:
		return fault_huge(r, ch, ms, f);
	case FAULT_CTYPE:
		return fault_html(r, ch, f);
	case FAULT_ERROR_BODY:
		/* A gateway that wraps the provider's error in a 200. */
		if (reply_error(&r->out, r->wire, f->status, f->message, f->etype,
				f->code))
			return -1;
		r->status = 200;
		r->ctype = "application/json";
		return 0;
	case FAULT_REDIRECT:
		return fault_redirect(r, f);
	case FAULT_REFLECT:
		return fault_reflect_error(r, f);
	default:
		return -1;
	}
}
