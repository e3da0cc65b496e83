#include "feed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../providers/wire.h"
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

/* ---- tables of cases ---- */

static char *feed_fixture(const struct feed_suite *t, const char *name, size_t *len)
{
	return fixture_read_in(t->provider, name, len);
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail);
}

static void feed_case_check(const struct feed_case *x, const struct feed_outcome *o)
{
	if (o->r.err != x->err)
		fail_msg("%s (stream %d): got %s '%s', want %s", x->fixture, x->stream,
			 err_class_name(o->r.err), buf_str(&o->r.err_msg),
			 err_class_name(x->err));
	if (x->text)
		assert_string_equal(buf_str(&o->r.text), x->text);
	if (x->finish)
		assert_string_equal(o->r.finish_reason, x->finish);
	assert_int_equal(o->r.input_tokens, x->in);
	assert_int_equal(o->r.output_tokens, x->out);
	if (x->msg && !strstr(buf_str(&o->r.err_msg), x->msg))
		fail_msg("%s (stream %d): message '%s' lacks '%s'", x->fixture, x->stream,
			 buf_str(&o->r.err_msg), x->msg);
	if (x->err != ERR_NONE)
		return;
	assert_int_equal(o->rc, 0);
	assert_string_equal(buf_str(&o->r.err_msg), "");
	/* A stream's text is counted as it comes; a whole body's (even one
	 * sent for a stream, or lines sent for a whole body) only exists at
	 * the end. */
	int counted = x->stream && (ends_with(x->fixture, ".sse") ||
				    ends_with(x->fixture, ".ndjson"));
	assert_int_equal(o->reported, counted ? o->r.text.len : 0);
}

void feed_test_fixtures(void **state)
{
	const struct feed_suite *t = *state;
	/* A suite without cases would pass by testing nothing. */
	assert_true(t->ncases > 0);
	const struct provider *prov = prov_get(t->provider);
	for (size_t i = 0; i < t->ncases; i++) {
		const struct feed_case *x = &t->cases[i];
		size_t len;
		char *data = feed_fixture(t, x->fixture, &len);
		struct feed_outcome whole;
		char what[96];
		snprintf(what, sizeof(what), "%s (stream %d)", x->fixture, x->stream);
		feed_all_slicings(prov, x->stream, data, len, 0x9e3779b97f4a7c15ULL + i,
				  t->rounds, &whole, what);
		feed_case_check(x, &whole);
		feed_outcome_release(&whole);
		q_free(data);
	}
}

void feed_test_every_cut(void **state)
{
	const struct feed_suite *t = *state;
	assert_true(t->ncuts > 0);
	for (size_t i = 0; i < t->ncuts; i++) {
		size_t len;
		char *data = feed_fixture(t, t->cuts[i].fixture, &len);
		feed_every_cut(prov_get(t->provider), t->cuts[i].stream, data, len,
			       t->cuts[i].text, t->cuts[i].fixture);
		q_free(data);
	}
}

void feed_test_text_cap(void **state)
{
	const struct feed_suite *t = *state;
	assert_true(t->ncaps > 0);
	const struct provider *prov = prov_get(t->provider);
	for (size_t i = 0; i < t->ncaps; i++) {
		const struct feed_answer *x = &t->caps[i];
		size_t len;
		char *data = feed_fixture(t, x->fixture, &len);
		struct feed_outcome o;
		for (size_t step = 0; step <= 1; step++) {
			feed_run(prov, x->stream, 10, data, len, step, NULL, &o);
			assert_int_equal(o.rc, -1);
			assert_int_equal(o.r.err, ERR_TOO_LARGE);
			/* The message is capped with the text. */
			assert_string_equal(buf_str(&o.r.err_msg), "answer ove");
			assert_true(o.r.text.len <= 10);
			feed_outcome_release(&o);
		}
		feed_run(prov, x->stream, strlen(x->text), data, len, 1, NULL, &o);
		assert_int_equal(o.rc, 0);
		assert_string_equal(buf_str(&o.r.text), x->text);
		feed_outcome_release(&o);
		q_free(data);
	}
}

void feed_test_body_cap(void **state)
{
	const struct feed_suite *t = *state;
	const struct provider *prov = prov_get(t->provider);
	for (int stream = 0; stream <= 1; stream++) {
		struct chat_result r;
		chat_result_init(&r, 1);
		struct resp_parser *p = prov->parser_new(stream, 1);
		assert_non_null(p);
		char junk[4096];
		size_t head = strlen(t->body_head[stream]);
		memset(junk, t->body_fill, sizeof(junk));
		memcpy(junk, t->body_head[stream], head);
		int got = 0;
		size_t fed = 0;
		while (got >= 0 && fed < ((size_t)64 << 20)) {
			got = prov->parser_feed(p, junk, sizeof(junk), &r);
			memset(junk, t->body_fill, head);
			fed += sizeof(junk);
		}
		assert_int_equal(got, -1);
		assert_int_equal(r.err, ERR_TOO_LARGE);
		assert_true(fed < ((size_t)2 << 20));
		assert_int_equal(prov->parser_finish(p, &r), -1);
		assert_int_equal(r.err, ERR_TOO_LARGE);
		prov->parser_free(p);
		chat_result_release(&r);
	}
}

void feed_test_error_bodies(void **state)
{
	const struct feed_suite *t = *state;
	assert_true(t->nerrs > 0);
	const struct provider *prov = prov_get(t->provider);
	for (size_t i = 0; i < t->nerrs; i++) {
		const struct feed_err_case *x = &t->errs[i];
		size_t len = x->body ? strlen(x->body) : 0;
		char *data = x->fixture ? feed_fixture(t, x->fixture, &len) : NULL;
		struct chat_result r;
		chat_result_init(&r, 0);
		prov->parse_error(x->status, data ? data : x->body, len, x->retry_after, &r);
		const char *m = buf_str(&r.err_msg);
		if (r.err != x->err)
			fail_msg("case %zu: got %s '%s', want %s", i, err_class_name(r.err), m,
				 err_class_name(x->err));
		assert_int_equal(r.http_status, x->status);
		if (x->msg && (t->errs_part ? !strstr(m, x->msg) : strcmp(m, x->msg)))
			fail_msg("case %zu: message '%s', want %s'%s'", i, m,
				 t->errs_part ? "a part " : "", x->msg);
		/* Messages go into a JSON report: printable, one line. */
		for (; *m; m++)
			assert_true((unsigned char)*m >= 0x20 && *m != 0x7f);
		if (r.retry_after_ms != x->retry_ms)
			fail_msg("case %zu: retry after %lld ms, want %lld", i,
				 (long long)r.retry_after_ms, (long long)x->retry_ms);
		chat_result_release(&r);
		q_free(data);
	}
}

static void mutate(char *d, size_t len, uint64_t *rng)
{
	static const char bytes[] = "{}[]\":,\n\r\\ 0a-\xff\xc3";
	int n = 1 + (int)(rng_next(rng) % 8);
	for (int i = 0; i < n && len; i++)
		d[rng_next(rng) % len] = bytes[rng_next(rng) % (sizeof(bytes) - 1)];
}

/* One run of hostile bytes: an answer is always text a JSON report can
 * hold. */
static void hostile_run(const struct provider *prov, int stream, size_t max,
			const char *d, size_t n, size_t step, uint64_t *rng)
{
	struct feed_outcome o;
	feed_run(prov, stream, max, d, n, step, rng, &o);
	if (!o.rc)
		assert_int_equal(wire_utf8_valid(buf_str(&o.r.text), o.r.text.len),
				 o.r.text.len);
	assert_true(o.r.input_tokens >= -1 && o.r.output_tokens >= -1);
	feed_outcome_release(&o);
}

void feed_test_hostile_bytes(void **state)
{
	const struct feed_suite *t = *state;
	assert_true(t->nhostile > 0);
	const struct provider *prov = prov_get(t->provider);
	uint64_t rng = t->hostile_seed;
	for (size_t f = 0; f < t->nhostile; f++) {
		size_t len;
		char *orig = feed_fixture(t, t->hostile[f], &len);
		char *d = q_malloc(len + 1);
		assert_non_null(d);
		d[len] = '\0';
		for (int round = 0; round < 150; round++) {
			memcpy(d, orig, len);
			mutate(d, len, &rng);
			size_t cut = round % 5 ? len : rng_next(&rng) % (len + 1);
			hostile_run(prov, round % 2, round % 7 ? 0 : 64, d, cut,
				    round % 3 ? 13 : 1, &rng);
			struct chat_result r;
			chat_result_init(&r, 300);
			prov->parse_error(400 + round % 200, d, cut, d, &r);
			assert_int_not_equal(r.err, ERR_NONE);
			assert_true(r.err_msg.len <= 300);
			chat_result_release(&r);
		}
		q_free(d);
		q_free(orig);
	}
	char noise[2048];
	for (int round = 0; round < 200; round++) {
		size_t len = rng_next(&rng) % sizeof(noise);
		for (size_t i = 0; i < len; i++)
			noise[i] = (char)rng_next(&rng);
		hostile_run(prov, round % 2, 0, noise, len, 17, &rng);
	}
}

/* Reads data in 5-byte feeds with allocation n failing. */
static void alloc_read(const struct provider *prov, const struct feed_alloc_case *x,
		       const char *data, size_t len, long n)
{
	struct chat_result r;
	chat_result_init(&r, 0);
	q_alloc_fail_after(n);
	struct resp_parser *p = prov->parser_new(x->stream, 0);
	int rc = -1;
	if (p) {
		for (size_t i = 0; i < len; i += 5)
			if (prov->parser_feed(p, data + i, len - i < 5 ? len - i : 5, &r) < 0)
				break;
		rc = prov->parser_finish(p, &r);
		prov->parser_free(p);
	}
	if (x->status)
		prov->parse_error(x->status, data, len, x->retry_after, &r);
	q_alloc_fail_after(0);
	if (!rc && x->text)
		assert_string_equal(buf_str(&r.text), x->text);
	if (!rc && x->must_fail)
		fail_msg("%s succeeded with allocation %ld failing", x->fixture, n);
	chat_result_release(&r);
}

void feed_test_alloc_failures(void **state)
{
	const struct feed_suite *t = *state;
	assert_true(t->nallocs > 0);
	const struct provider *prov = prov_get(t->provider);
	for (size_t f = 0; f < t->nallocs; f++) {
		size_t len;
		char *data = feed_fixture(t, t->allocs[f].fixture, &len);
		for (long k = 1; k < t->tries; k++)
			alloc_read(prov, &t->allocs[f], data, len, k);
		q_free(data);
	}
	for (long k = 1; k < t->tries; k++) {
		struct http_req out = {0};
		struct qerr e;
		q_alloc_fail_after(k);
		int rc = prov->build(t->alloc_req, NULL, t->alloc_key, &out, &e);
		q_alloc_fail_after(0);
		if (rc) {
			assert_int_equal(out.nheaders, 0);
			assert_null(out.url.data);
		}
		http_req_release(&out);
	}
}
