/* The trace's lines and the error object shared with the report. */
#include <errno.h>
#include <stdarg.h>

#include "../common/clock.h"
#include "trace.h"

int trace_on(const struct trace *t) { return t && t->f; }

void trace_begin(struct trace *t, struct buf *b, const char *event)
{
	int64_t now = clock_us();
	buf_printf(b, "{\"ts_us\":%lld,\"t_ms\":%.3f,\"event\":\"%s\"",
		   (long long)(t->t0_wall_us + (now - t->t0_ms * 1000)),
		   (double)(now - t->t0_ms * 1000) / 1000.0, event);
}

/* The first write error is kept for the end of the run, which reports
 * it: a full disk must not pass for a complete trace. */
void trace_end(struct trace *t, struct buf *b)
{
	buf_puts(b, "}\n");
	if (!b->overflow && b->data) {
		redact_mask(t->redact, b->data, b->len);
		if ((fwrite(b->data, 1, b->len, t->f) != b->len || fflush(t->f)) && !t->err)
			t->err = errno ? errno : EIO;
	}
	buf_release(b);
}

void trace_event(struct trace *t, const char *event, const char *fmt, ...)
{
	if (!trace_on(t))
		return;
	struct buf b;
	buf_init(&b, 0);
	trace_begin(t, &b, event);
	if (fmt && *fmt) {
		buf_putc(&b, ',');
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(&b, fmt, ap);
		va_end(ap);
	}
	trace_end(t, &b);
}

const char *trace_str(struct arena *a, const char *s)
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
		const char *e = b.len >= 2 ? arena_strndup(a, b.data + 1, b.len - 2) : "";
		buf_release(&b);
		return e ? e : "";
	}
	return s;
}

void trace_put_error(struct buf *b, const char *cls, int http_status, const char *msg,
		     const char *model)
{
	buf_puts(b, "{\"class\":");
	buf_put_json_str(b, cls);
	buf_puts(b, ",\"http_status\":");
	if (http_status)
		buf_printf(b, "%d", http_status);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"message\":");
	buf_put_json_str(b, msg ? msg : cls);
	if (model) {
		buf_puts(b, ",\"model\":");
		buf_put_json_str(b, model);
	}
	buf_putc(b, '}');
}
