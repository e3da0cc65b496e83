/* The trace: JSON Lines, one event per line, flushed as written so a
 * killed run still leaves what happened. Fields come preformatted from
 * the caller; ids in them are escaped with trace_str. Every line passes
 * the key mask before it is written. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "../common/clock.h"
#include "run.h"

static void trace_begin(struct run *r, struct buf *b, const char *event)
{
	int64_t now = clock_us();
	buf_printf(b, "{\"ts_us\":%lld,\"t_ms\":%.3f,\"event\":\"%s\"",
		   (long long)(r->t0_wall_us + (now - r->t0 * 1000)),
		   (double)(now - r->t0 * 1000) / 1000.0, event);
}

/* Writes the line; the first write error is kept for the end of the run,
 * which reports it (a full disk must not pass for a complete trace). */
static void trace_end(struct run *r, struct buf *b)
{
	buf_puts(b, "}\n");
	if (b->overflow || !b->data) {
		buf_release(b);
		return;
	}
	redact_mask(&r->redact, b->data, b->len);
	if ((fwrite(b->data, 1, b->len, r->trace) != b->len || fflush(r->trace)) &&
	    !r->trace_errno)
		r->trace_errno = errno ? errno : EIO;
	buf_release(b);
}

void trace_event(struct run *r, const char *event, const char *fmt, ...)
{
	if (!r->trace)
		return;
	struct buf b;
	buf_init(&b, 0);
	trace_begin(r, &b, event);
	if (fmt && *fmt) {
		buf_putc(&b, ',');
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(&b, fmt, ap);
		va_end(ap);
	}
	trace_end(r, &b);
}

void trace_attempt_start(struct run *r, const struct call *c)
{
	if (!r->trace)
		return;
	struct buf b;
	buf_init(&b, 0);
	trace_begin(r, &b, "attempt_start");
	buf_puts(&b, ",\"node\":");
	buf_put_json_str(&b, c->ns->node->id);
	buf_printf(&b, ",\"slot\":%zu,\"model\":", c->slot);
	buf_put_json_str(&b, c->model->id);
	buf_printf(&b, ",\"attempt\":%d,\"messages\":[", c->attempt);
	if (c->system) {
		buf_puts(&b, "{\"role\":\"system\",\"content\":");
		buf_put_json_str(&b, c->system);
		buf_puts(&b, "},");
	}
	buf_puts(&b, "{\"role\":\"user\",\"content\":");
	buf_put_json_str(&b, c->prompt);
	buf_puts(&b, "}]");
	trace_end(r, &b);
}

void trace_attempt_end(struct run *r, const struct call *c, const struct response *resp,
		       int64_t latency_ms)
{
	if (!r->trace)
		return;
	struct buf b;
	buf_init(&b, 0);
	trace_begin(r, &b, "attempt_end");
	buf_puts(&b, ",\"node\":");
	buf_put_json_str(&b, c->ns->node->id);
	buf_printf(&b, ",\"slot\":%zu,\"model\":", c->slot);
	buf_put_json_str(&b, c->model->id);
	buf_printf(&b, ",\"attempt\":%d,\"ok\":%s,\"http_status\":", c->attempt,
		   c->res.err == ERR_NONE ? "true" : "false");
	if (c->http_status)
		buf_printf(&b, "%d", c->http_status);
	else
		buf_puts(&b, "null");
	buf_puts(&b, ",\"error\":");
	if (c->res.err == ERR_NONE)
		buf_puts(&b, "null");
	else
		report_put_error(&b, err_class_name(c->res.err), c->http_status, resp->err_msg);
	buf_printf(&b, ",\"latency_ms\":%lld", (long long)latency_ms);
	trace_end(r, &b);
}

const char *trace_str(struct run *r, const char *s)
{
	if (!s)
		return "";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		struct buf b;
		buf_init(&b, 0);
		buf_put_json_str(&b, s);
		/* Drop the quotes buf_put_json_str adds. */
		const char *e = b.len >= 2 ? arena_strndup(r->arena, b.data + 1, b.len - 2) : "";
		buf_release(&b);
		return e ? e : "";
	}
	return s;
}
