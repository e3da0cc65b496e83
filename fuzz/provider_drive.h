#ifndef QUORUM_FUZZ_PROVIDER_DRIVE_H
#define QUORUM_FUZZ_PROVIDER_DRIVE_H
/* The driver the four provider targets share: one response body fed to a
 * provider's parser whole and again in slices drawn from the input, which
 * must give the same result (a network may cut a body anywhere), or a
 * non-2xx body fed to parse_error.
 *
 * Input: byte 0 flags (bit 0 stream, bit 1 error body, bits 2-3 the cap on
 * the answer, bits 4-7 the largest slice), byte 1 slicing seed (its top
 * two bits also pick the Content-Type the parser is told), then in
 * error mode byte 2 the HTTP status and a first line that is the
 * Retry-After value when bit 4 is set; the rest is the body. */
#include "../providers/provider.h"
#include "fuzz.h"

struct drive_outcome {
	int rc;             /* parser_finish */
	int feed_failed;    /* a feed returned -1 */
	size_t reported;    /* sum of the feeds' text byte counts */
	struct chat_result r;
};

/* The Content-Type a response may come with (NULL: none). */
static const char *const drive_types[] = {NULL, "application/json; charset=utf-8",
					  "text/event-stream", "text/html"};

/* step 0: one feed; else slices of 1..step bytes from rng. */
static void drive_run(const struct provider *prov, int stream, size_t max, const char *ct,
		      const char *body, size_t len, size_t step, uint64_t *rng,
		      struct drive_outcome *o)
{
	memset(o, 0, sizeof(*o));
	chat_result_init(&o->r, max);
	struct resp_parser *p = prov->parser_new(stream, max);
	fuzz_check(p != NULL, "parser_new failed");
	prov->parser_content_type(p, ct);
	for (size_t i = 0; i < len;) {
		size_t n = step ? 1 + (size_t)(splitmix64_next(rng) % step) : len - i;
		if (n > len - i)
			n = len - i;
		int got = prov->parser_feed(p, body + i, n, &o->r);
		fuzz_check(got >= -1, "feed returned %d", got);
		if (got < 0) {
			fuzz_check(o->r.err != ERR_NONE, "a failed feed left no error");
			o->feed_failed = 1;
			break;
		}
		o->reported += (size_t)got;
		i += n;
	}
	o->rc = prov->parser_finish(p, &o->r);
	prov->parser_free(p);
	fuzz_check(o->rc == 0 || o->rc == -1, "finish returned %d", o->rc);
	fuzz_check((o->rc == 0) == (o->r.err == ERR_NONE),
		   "finish returned %d with err %s", o->rc, err_class_name(o->r.err));
	if (o->rc)
		return;
	fuzz_check(o->r.complete, "a success that is not complete");
	fuzz_check(!max || o->r.text.len <= max, "answer of %zu bytes over the cap %zu",
		   o->r.text.len, max);
	fuzz_check(o->reported <= o->r.text.len, "reported %zu text bytes, holds %zu",
		   o->reported, o->r.text.len);
	fuzz_check(fuzz_utf8_ok((const unsigned char *)buf_str(&o->r.text), o->r.text.len),
		   "an answer that is not UTF-8");
}

static void drive_same(const struct drive_outcome *a, const struct drive_outcome *b)
{
	fuzz_check(a->rc == b->rc && a->r.err == b->r.err,
		   "slicing changed the outcome: %d %s '%s' vs %d %s '%s'", a->rc,
		   err_class_name(a->r.err), buf_str(&a->r.err_msg), b->rc,
		   err_class_name(b->r.err), buf_str(&b->r.err_msg));
	fuzz_check(!strcmp(buf_str(&a->r.err_msg), buf_str(&b->r.err_msg)),
		   "slicing changed the message: '%s' vs '%s'", buf_str(&a->r.err_msg),
		   buf_str(&b->r.err_msg));
	fuzz_check(a->r.text.len == b->r.text.len &&
			   !memcmp(buf_str(&a->r.text), buf_str(&b->r.text), a->r.text.len),
		   "slicing changed the text: %zu vs %zu bytes", a->r.text.len,
		   b->r.text.len);
	fuzz_check(!strcmp(a->r.finish_reason, b->r.finish_reason),
		   "slicing changed finish_reason: '%s' vs '%s'", a->r.finish_reason,
		   b->r.finish_reason);
	fuzz_check(a->r.input_tokens == b->r.input_tokens &&
			   a->r.output_tokens == b->r.output_tokens,
		   "slicing changed usage");
	fuzz_check(a->r.complete == b->r.complete && a->feed_failed == b->feed_failed,
		   "slicing changed complete %d/%d or feed_failed %d/%d", a->r.complete,
		   b->r.complete, a->feed_failed, b->feed_failed);
	fuzz_check(a->feed_failed || a->reported == b->reported,
		   "slicing changed the reported text bytes: %zu vs %zu", a->reported,
		   b->reported);
}

static const int drive_statuses[] = {400, 401, 402, 403, 404, 408, 409, 413, 422, 429,
				     499, 500, 502, 503, 504, 529, 301, 302, 100, 0};

static void drive_error(const struct provider *prov, unsigned flags, struct fuzz_in *in)
{
	int status = drive_statuses[fuzz_byte(in) % (sizeof(drive_statuses) /
						     sizeof(drive_statuses[0]))];
	char *retry = (flags & 0x10) ? fuzz_line(in, 256) : NULL;
	if (retry) {
		int64_t ms = retry_after_parse(retry, 1700000000);
		fuzz_check(ms >= -1, "retry_after_parse gave %lld", (long long)ms);
	}
	size_t max = (flags >> 2 & 3) == 0 ? 0 : (size_t)8 << (2 * (flags >> 2 & 3));
	struct chat_result r;
	chat_result_init(&r, max);
	prov->parse_error(status, (const char *)in->p, in->n, retry, &r);
	fuzz_check(r.err != ERR_NONE, "HTTP %d read as a success", status);
	fuzz_check(r.retry_after_ms >= -1, "retry_after_ms %lld",
		   (long long)r.retry_after_ms);
	chat_result_release(&r);
	q_free(retry);
}

static int fuzz_provider(const char *name, const uint8_t *data, size_t size)
{
	const struct provider *prov = provider_find(name);
	fuzz_check(prov != NULL, "no provider '%s'", name);
	struct fuzz_in in = {data, size};
	unsigned flags = fuzz_byte(&in);
	uint64_t seed = fuzz_byte(&in);
	if (flags & 2) {
		drive_error(prov, flags, &in);
		return 0;
	}
	int stream = flags & 1;
	/* No cap, or a small one so the too_large paths run. */
	size_t max = (flags >> 2 & 3) == 0 ? 0 : (size_t)8 << (2 * (flags >> 2 & 3));
	size_t step = (size_t)1 << (flags >> 4 & 0xf);
	const char *body = (const char *)in.p;
	struct drive_outcome whole, sliced;
	const char *ct = drive_types[seed >> 6];
	drive_run(prov, stream, max, ct, body, in.n, 0, &seed, &whole);
	drive_run(prov, stream, max, ct, body, in.n, step > 4096 ? 1 : step, &seed, &sliced);
	drive_same(&whole, &sliced);
	chat_result_release(&whole.r);
	chat_result_release(&sliced.r);
	return 0;
}

#endif
