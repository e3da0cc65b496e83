/* The trace: JSON Lines, one event per line, flushed as written so a
 * killed run still leaves what happened. Fields come preformatted from
 * the caller; ids in them are escaped with trace_str. */
#include <stdarg.h>
#include <stdio.h>

#include "../common/clock.h"
#include "run.h"

void trace_event(struct run *r, const char *event, const char *fmt, ...)
{
	if (!r->trace)
		return;
	int64_t now = clock_us();
	fprintf(r->trace, "{\"ts_us\":%lld,\"t_ms\":%.3f,\"event\":\"%s\"",
		(long long)(r->t0_wall_us + (now - r->t0 * 1000)),
		(double)(now - r->t0 * 1000) / 1000.0, event);
	if (fmt && *fmt) {
		fputc(',', r->trace);
		va_list ap;
		va_start(ap, fmt);
		vfprintf(r->trace, fmt, ap);
		va_end(ap);
	}
	fputs("}\n", r->trace);
	fflush(r->trace);
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
