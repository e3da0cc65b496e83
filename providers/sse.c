#include "sse.h"

#include <string.h>

void sse_init(struct sse *s, enum sse_mode mode, size_t max,
	      sse_event_fn *on_event, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->max = max ? max : SSE_DEFAULT_MAX;
	s->on_event = on_event;
	s->ctx = ctx;
	buf_init(&s->line, 0);
	buf_init(&s->data, 0);
	buf_init(&s->event, 0);
	buf_init(&s->stray, 0);
}

void sse_release(struct sse *s)
{
	buf_release(&s->line);
	buf_release(&s->data);
	buf_release(&s->event);
	buf_release(&s->stray);
}

static int sse_fail(struct sse *s, enum sse_error err)
{
	s->err = err;
	return -1;
}

static int sse_dispatch(struct sse *s, const char *event, const char *data,
			size_t len)
{
	s->nevents++;
	if (s->on_event(s->ctx, event, data, len))
		return sse_fail(s, SSE_STOPPED);
	return 0;
}

/* A blank line ends the event. One without data lines is no event
 * (the spec's rule: `event: ping` alone dispatches nothing). */
static int sse_end_event(struct sse *s)
{
	int rc = 0;
	if (s->has_data)
		rc = sse_dispatch(s, buf_str(&s->event), buf_str(&s->data),
				  s->data.len);
	buf_reset(&s->data);
	buf_reset(&s->event);
	s->has_data = 0;
	return rc;
}

static int field_is(const char *f, size_t n, const char *name)
{
	return n == strlen(name) && !memcmp(f, name, n);
}

/* A line that is no field we know: counted, and kept for the caller while
 * it fits (a JSON error written without `data:` spans such lines). */
static void sse_unknown(struct sse *s, const char *line, size_t len)
{
	s->nunknown++;
	if (s->stray_over)
		return;
	if (s->stray.len + len + 1 > s->max ||
	    (s->stray.len && buf_putc(&s->stray, '\n')) ||
	    buf_append(&s->stray, line, len)) {
		buf_reset(&s->stray);
		s->stray_over = 1;
	}
}

static int sse_field(struct sse *s, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t flen = colon ? (size_t)(colon - line) : len;
	const char *v = colon ? colon + 1 : line + len;
	size_t vlen = (size_t)(line + len - v);
	if (vlen && *v == ' ')
		v++, vlen--;
	if (field_is(line, flen, "data")) {
		if (s->data.len + vlen + 1 > s->max)
			return sse_fail(s, SSE_TOO_LARGE);
		if ((s->has_data && buf_putc(&s->data, '\n')) ||
		    buf_append(&s->data, v, vlen))
			return sse_fail(s, SSE_NOMEM);
		s->has_data = 1;
		/* Stray lines before an event's data are not after it. */
		buf_reset(&s->stray);
		s->stray_over = 0;
	} else if (field_is(line, flen, "event")) {
		buf_reset(&s->event);
		if (buf_append(&s->event, v, vlen))
			return sse_fail(s, SSE_NOMEM);
	} else if (!field_is(line, flen, "id") && !field_is(line, flen, "retry")) {
		/* We never reconnect, so id and retry mean nothing to us. */
		sse_unknown(s, line, len);
	}
	return 0;
}

static int is_blank_line(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return 0;
	return 1;
}

static int sse_line(struct sse *s, const char *line, size_t len)
{
	if (!s->started) {
		s->started = 1;
		if (len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3))
			line += 3, len -= 3;
	}
	if (s->mode == SSE_MODE_NDJSON)
		return is_blank_line(line, len) ? 0 : sse_dispatch(s, "", line, len);
	if (!len)
		return sse_end_event(s);
	if (line[0] == ':')
		return 0;
	return sse_field(s, line, len);
}

static size_t find_eol(const char *p, size_t len)
{
	size_t i = 0;
	while (i < len && p[i] != '\n' && p[i] != '\r')
		i++;
	return i;
}

int sse_feed(struct sse *s, const char *p, size_t len)
{
	if (s->err)
		return -1;
	while (len) {
		if (s->after_cr) {
			s->after_cr = 0;
			if (*p == '\n') {
				p++, len--;
				continue;
			}
		}
		size_t i = find_eol(p, len);
		if (s->line.len + i > s->max)
			return sse_fail(s, SSE_TOO_LARGE);
		if (i == len) {
			if (buf_append(&s->line, p, len))
				return sse_fail(s, SSE_NOMEM);
			return 0;
		}
		int rc;
		if (!s->line.len) {
			/* The whole line is in this slice: no copy. */
			rc = sse_line(s, p, i);
		} else {
			if (buf_append(&s->line, p, i))
				return sse_fail(s, SSE_NOMEM);
			rc = sse_line(s, s->line.data, s->line.len);
			buf_reset(&s->line);
		}
		if (rc)
			return -1;
		s->after_cr = p[i] == '\r';
		p += i + 1;
		len -= i + 1;
	}
	return 0;
}

/* Whether a line cut by the end of the stream may be the start of a
 * field we know or a comment ("dat", "data: {\"cut"), rather than text
 * that is no event stream at all ("<html>...</html>" without a newline). */
static int sse_may_be_field(const char *line, size_t len)
{
	static const char *const names[] = {"data", "event", "id", "retry"};
	const char *colon = memchr(line, ':', len);
	size_t flen = colon ? (size_t)(colon - line) : len;
	if (!flen && colon)
		return 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t k = strlen(names[i]);
		if (colon ? flen == k && !memcmp(line, names[i], k)
			  : len <= k && !memcmp(line, names[i], len))
			return 1;
	}
	return 0;
}

/* The cut last line of an SSE stream: see sse_finish. */
static void sse_cut_line(struct sse *s, const char *line, size_t len)
{
	if (!s->started && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3))
		line += 3, len -= 3;
	s->started = 1;
	if (len && !sse_may_be_field(line, len))
		sse_unknown(s, line, len);
}

int sse_finish(struct sse *s)
{
	if (s->err)
		return -1;
	s->eof = 1;
	if (s->line.len && s->mode == SSE_MODE_NDJSON &&
	    sse_line(s, s->line.data, s->line.len))
		return -1;
	if (s->line.len && s->mode == SSE_MODE_SSE)
		sse_cut_line(s, s->line.data, s->line.len);
	buf_reset(&s->line);
	if (s->mode == SSE_MODE_SSE)
		return sse_end_event(s);
	return 0;
}
