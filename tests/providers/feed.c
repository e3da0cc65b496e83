#include "feed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void feed_check(const struct feed_outcome *o)
{
	/* finish says success exactly when r holds no error. */
	assert_int_equal(o->rc == 0, o->r.err == ERR_NONE);
	if (!o->rc)
		assert_int_equal(o->r.complete, 1);
}

static int feed_one(const struct provider *prov, struct resp_parser *p,
		    const char *data, size_t n, struct feed_outcome *o)
{
	int got = prov->parser_feed(p, data, n, &o->r);
	if (got < 0) {
		o->feed_failed = 1;
		assert_int_not_equal(o->r.err, ERR_NONE);
		return -1;
	}
	o->reported += (size_t)got;
	return 0;
}

/* A new parser, told the Content-Type when one came. */
static struct resp_parser *feed_parser(const struct provider *prov, int stream,
				       const char *ctype, size_t max)
{
	struct resp_parser *p = prov->parser_new(stream, max);
	assert_non_null(p);
	assert_non_null(prov->parser_content_type);
	if (ctype)
		prov->parser_content_type(p, ctype);
	return p;
}

void feed_run(const struct provider *prov, int stream, size_t max,
	      const char *data, size_t len, size_t step, uint64_t *rng,
	      struct feed_outcome *o)
{
	feed_run_typed(prov, stream, NULL, max, data, len, step, rng, o);
}

void feed_run_typed(const struct provider *prov, int stream, const char *ctype,
		    size_t max, const char *data, size_t len, size_t step,
		    uint64_t *rng, struct feed_outcome *o)
{
	memset(o, 0, sizeof(*o));
	chat_result_init(&o->r, max);
	struct resp_parser *p = feed_parser(prov, stream, ctype, max);
	for (size_t i = 0; i < len;) {
		size_t n = len - i;
		if (step == 1)
			n = 1;
		else if (step && rng)
			n = 1 + rng_next(rng) % step;
		if (n > len - i)
			n = len - i;
		if (feed_one(prov, p, data + i, n, o))
			break;
		i += n;
	}
	o->rc = prov->parser_finish(p, &o->r);
	prov->parser_free(p);
	feed_check(o);
}

void feed_run_split(const struct provider *prov, int stream,
		    const char *data, size_t len, size_t cut,
		    struct feed_outcome *o)
{
	feed_run_split_typed(prov, stream, NULL, data, len, cut, o);
}

void feed_run_split_typed(const struct provider *prov, int stream,
			  const char *ctype, const char *data, size_t len,
			  size_t cut, struct feed_outcome *o)
{
	memset(o, 0, sizeof(*o));
	chat_result_init(&o->r, 0);
	struct resp_parser *p = feed_parser(prov, stream, ctype, 0);
	if (!feed_one(prov, p, data, cut, o))
		feed_one(prov, p, data + cut, len - cut, o);
	o->rc = prov->parser_finish(p, &o->r);
	prov->parser_free(p);
	feed_check(o);
}

void feed_outcome_release(struct feed_outcome *o) { chat_result_release(&o->r); }

void feed_same(const struct feed_outcome *a, const struct feed_outcome *b,
	       const char *what)
{
	if (a->rc != b->rc || a->r.err != b->r.err ||
	    strcmp(buf_str(&a->r.text), buf_str(&b->r.text)) ||
	    strcmp(buf_str(&a->r.err_msg), buf_str(&b->r.err_msg)) ||
	    strcmp(a->r.finish_reason, b->r.finish_reason) ||
	    a->r.input_tokens != b->r.input_tokens ||
	    a->r.output_tokens != b->r.output_tokens ||
	    a->r.complete != b->r.complete || a->feed_failed != b->feed_failed)
		fail_msg("%s: slicing changed the result: %s '%s' vs %s '%s'", what,
			 err_class_name(a->r.err), buf_str(&a->r.err_msg),
			 err_class_name(b->r.err), buf_str(&b->r.err_msg));
	/* Text is counted as it arrives, whatever the slicing (a feed that
	 * fails reports -1, not the text it added first). */
	if (!a->feed_failed && a->reported != b->reported)
		fail_msg("%s: reported %zu vs %zu text bytes", what, a->reported,
			 b->reported);
}

void feed_all_slicings(const struct provider *prov, int stream,
		       const char *data, size_t len, uint64_t seed, int rounds,
		       struct feed_outcome *whole, const char *what)
{
	feed_all_slicings_typed(prov, stream, NULL, data, len, seed, rounds, whole,
				what);
}

void feed_all_slicings_typed(const struct provider *prov, int stream,
			     const char *ctype, const char *data, size_t len,
			     uint64_t seed, int rounds, struct feed_outcome *whole,
			     const char *what)
{
	struct feed_outcome o;
	char label[160];
	feed_run_typed(prov, stream, ctype, 0, data, len, 0, NULL, whole);
	feed_run_typed(prov, stream, ctype, 0, data, len, 1, NULL, &o);
	snprintf(label, sizeof(label), "%s byte by byte", what);
	feed_same(whole, &o, label);
	feed_outcome_release(&o);
	for (size_t cut = 1; cut < len; cut++) {
		feed_run_split_typed(prov, stream, ctype, data, len, cut, &o);
		snprintf(label, sizeof(label), "%s split at %zu", what, cut);
		feed_same(whole, &o, label);
		feed_outcome_release(&o);
	}
	uint64_t rng = seed | 1;
	for (int round = 0; round < rounds; round++) {
		size_t step = round % 3 == 0 ? 16384 : round % 3 == 1 ? 64 : 7;
		feed_run_typed(prov, stream, ctype, 0, data, len, step, &rng, &o);
		snprintf(label, sizeof(label), "%s random round %d", what, round);
		feed_same(whole, &o, label);
		feed_outcome_release(&o);
	}
}

void feed_every_cut(const struct provider *prov, int stream, const char *data,
		    size_t len, const char *text, const char *what)
{
	feed_every_cut_typed(prov, stream, NULL, data, len, text, what);
}

void feed_every_cut_typed(const struct provider *prov, int stream,
			  const char *ctype, const char *data, size_t len,
			  const char *text, const char *what)
{
	for (size_t k = 0; k < len; k++) {
		struct feed_outcome o;
		feed_run_typed(prov, stream, ctype, 0, data, k, k % 2 ? 0 : 1, NULL, &o);
		if (o.rc == 0) {
			if (strcmp(buf_str(&o.r.text), text))
				fail_msg("%s cut at %zu: a short answer '%s'", what, k,
					 buf_str(&o.r.text));
		} else if (o.r.err != ERR_TRUNCATED) {
			fail_msg("%s cut at %zu: %s '%s'", what, k,
				 err_class_name(o.r.err), buf_str(&o.r.err_msg));
		}
		feed_outcome_release(&o);
	}
}
