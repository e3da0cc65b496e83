/* The SSE/NDJSON framer: the events it dispatches must not depend on how
 * the body was sliced, and never exceed the cap.
 *
 * Input: byte 0 flags (bit 0 NDJSON, bits 1-2 the cap, bits 3-7 the
 * largest slice), byte 1 the event after which the callback stops (0:
 * never), byte 2 slicing seed; the rest is the body. */
#include "../../providers/sse.h"
#include "../fuzz.h"

struct rec {
	struct sse *s;
	struct buf log;      /* every event: name, NUL, length, data */
	size_t nevents;
	unsigned stop_at;
};

static int rec_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct rec *r = ctx;
	fuzz_check(len <= r->s->max, "event of %zu bytes over the cap %zu", len, r->s->max);
	fuzz_check(event != NULL && (data != NULL || len == 0), "NULL event or data");
	if (r->s->mode == SSE_MODE_NDJSON)
		fuzz_check(!*event, "an event name in NDJSON mode");
	fuzz_check(!buf_puts(&r->log, event) && !buf_putc(&r->log, '\0') &&
			   !buf_printf(&r->log, "%zu:", len) && !buf_append(&r->log, data, len),
		   "out of memory");
	r->nevents++;
	return r->stop_at && r->nevents >= r->stop_at;
}

struct framed {
	int rc, finish_rc;
	enum sse_error err;
	size_t nevents, nunknown;
	struct buf log;
};

static void frame(enum sse_mode mode, size_t max, unsigned stop_at, const char *p,
		  size_t len, size_t step, uint64_t *rng, struct framed *out)
{
	struct sse s;
	struct rec r = {&s, BUF_INIT, 0, stop_at};
	sse_init(&s, mode, max, rec_event, &r);
	out->rc = 0;
	for (size_t i = 0; i < len && !out->rc;) {
		size_t n = step ? 1 + (size_t)(splitmix64_next(rng) % step) : len - i;
		if (n > len - i)
			n = len - i;
		out->rc = sse_feed(&s, p + i, n);
		fuzz_check(out->rc == 0 || s.err != SSE_OK, "feed failed with no error");
		i += n;
	}
	if (out->rc)
		fuzz_check(sse_feed(&s, "data: x\n\n", 9) == -1, "a failed framer went on");
	out->finish_rc = sse_finish(&s);
	fuzz_check(s.line.len <= s.max, "line buffer of %zu bytes", s.line.len);
	out->err = s.err;
	out->nevents = s.nevents;
	out->nunknown = s.nunknown;
	fuzz_check(s.nevents == r.nevents, "nevents %zu, callbacks %zu", s.nevents, r.nevents);
	out->log = r.log;
	sse_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned flags = fuzz_byte(&in);
	unsigned stop_at = fuzz_byte(&in);
	uint64_t seed = fuzz_byte(&in);
	enum sse_mode mode = flags & 1 ? SSE_MODE_NDJSON : SSE_MODE_SSE;
	static const size_t caps[] = {0, 8, 64, 1024};
	size_t max = caps[flags >> 1 & 3];
	size_t step = (size_t)1 << (flags >> 3 & 0xf);
	if (flags & 0x80)
		step = 1;
	struct framed a, b;
	const char *p = (const char *)in.p;
	frame(mode, max, stop_at, p, in.n, 0, &seed, &a);
	frame(mode, max, stop_at, p, in.n, step, &seed, &b);
	fuzz_check(a.rc == b.rc && a.finish_rc == b.finish_rc && a.err == b.err,
		   "slicing changed the result: %d/%d/%d vs %d/%d/%d", a.rc, a.finish_rc,
		   (int)a.err, b.rc, b.finish_rc, (int)b.err);
	fuzz_check(a.nevents == b.nevents && a.nunknown == b.nunknown,
		   "slicing changed the counts: %zu/%zu vs %zu/%zu", a.nevents, a.nunknown,
		   b.nevents, b.nunknown);
	fuzz_check(a.log.len == b.log.len && !memcmp(buf_str(&a.log), buf_str(&b.log), a.log.len),
		   "slicing changed the events");
	buf_release(&a.log);
	buf_release(&b.log);
	return 0;
}
