/* The SSE / NDJSON framer: fed in any slicing, it must see the same
 * events, and a hostile stream gets an error, not our memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/buf.h"
#include "../../providers/sse.h"
#include "util.h"

/* Events are logged as "name|data;" (with eof marked by '!'). */
struct log {
	struct sse *s;
	struct buf out;
	int stop_after;   /* stop after this many events; 0: never */
	int seen;
};

static int log_event(void *ctx, const char *event, const char *data,
		     size_t len)
{
	struct log *l = ctx;
	buf_puts(&l->out, event);
	buf_putc(&l->out, l->s && l->s->eof ? '!' : '|');
	buf_append(&l->out, data, len);
	buf_putc(&l->out, ';');
	l->seen++;
	return l->stop_after && l->seen >= l->stop_after;
}

/* Feeds text in slices of `step` bytes (0: whole) and finishes; returns
 * the log, which the caller releases. */
static int frame(enum sse_mode mode, const char *text, size_t len, size_t step,
		 size_t max, struct log *l)
{
	struct sse s;
	memset(l, 0, sizeof(*l));
	l->s = &s;
	sse_init(&s, mode, max, log_event, l);
	int rc = 0;
	for (size_t i = 0; i < len && !rc;) {
		size_t n = step && step < len - i ? step : len - i;
		rc = sse_feed(&s, text + i, n);
		i += n;
	}
	if (!rc)
		rc = sse_finish(&s);
	sse_release(&s);
	l->s = NULL;
	return rc;
}

/* Every slicing (whole, byte by byte, every two-way split) gives want. */
static void expect_events(enum sse_mode mode, const char *text, const char *want)
{
	size_t len = strlen(text);
	struct log l;
	for (size_t step = 0; step <= 3; step++) {
		assert_int_equal(frame(mode, text, len, step, 0, &l), 0);
		assert_string_equal(buf_str(&l.out), want);
		buf_release(&l.out);
	}
	for (size_t cut = 1; cut < len; cut++) {
		struct sse s;
		memset(&l, 0, sizeof(l));
		l.s = &s;
		sse_init(&s, mode, 0, log_event, &l);
		assert_int_equal(sse_feed(&s, text, cut), 0);
		assert_int_equal(sse_feed(&s, text + cut, len - cut), 0);
		assert_int_equal(sse_finish(&s), 0);
		if (strcmp(buf_str(&l.out), want))
			fail_msg("split at %zu: got '%s', want '%s'", cut,
				 buf_str(&l.out), want);
		sse_release(&s);
		buf_release(&l.out);
	}
}

static void fields(void **state)
{
	(void)state;
	expect_events(SSE_MODE_SSE, "data: a\n\ndata:b\n\n", "|a;|b;");
	/* One space after the colon is dropped, a second one is data. */
	expect_events(SSE_MODE_SSE, "data:  two\n\n", "| two;");
	expect_events(SSE_MODE_SSE, "event: delta\ndata: x\n\ndata: y\n\n",
		      "delta|x;|y;");
	expect_events(SSE_MODE_SSE, "data: one\ndata: two\ndata:\ndata\n\n",
		      "|one\ntwo\n\n;");
	expect_events(SSE_MODE_SSE, "data:\n\n", "|;");
	/* An event with no data lines is no event. */
	expect_events(SSE_MODE_SSE, "event: ping\n\ndata: z\n\n", "|z;");
	expect_events(SSE_MODE_SSE,
		      ": keep-alive\n\n:\nid: 7\nretry: 100\ndata: a:b: c\n\n",
		      "|a:b: c;");
	expect_events(SSE_MODE_SSE, "\xef\xbb\xbf" "data: bom\n\n", "|bom;");
	/* "data " with a space is another field name, ignored. */
	expect_events(SSE_MODE_SSE, "data : no\n\ndata: yes\n\n", "|yes;");
	/* A line without a colon is a field with an empty value (the spec):
	 * "data" alone is empty data, which dispatches, "event" alone an
	 * empty event name. */
	expect_events(SSE_MODE_SSE, "data\n\n", "|;");
	expect_events(SSE_MODE_SSE, "event: x\nevent\ndata: y\n\n", "|y;");
	expect_events(SSE_MODE_SSE, "event\ndata\ndata\n\n", "|\n;");
	expect_events(SSE_MODE_SSE, "event: e\ndata:\n\n", "e|;");
}

static void line_ends(void **state)
{
	(void)state;
	const char *want = "e|a\nb;|c;";
	expect_events(SSE_MODE_SSE, "event: e\ndata: a\ndata: b\n\ndata: c\n\n", want);
	expect_events(SSE_MODE_SSE,
		      "event: e\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", want);
	expect_events(SSE_MODE_SSE, "event: e\rdata: a\rdata: b\r\rdata: c\r\r", want);
	expect_events(SSE_MODE_SSE, "event: e\r\ndata: a\rdata: b\n\r\ndata: c\n\r",
		      want);
	/* A CR ends a line at once; the LF in the next slice is its pair. */
	struct log l = {0};
	struct sse s;
	l.s = &s;
	sse_init(&s, SSE_MODE_SSE, 0, log_event, &l);
	assert_int_equal(sse_feed(&s, "data: a\r", 8), 0);
	assert_int_equal(sse_feed(&s, "\n", 1), 0);
	assert_int_equal(sse_feed(&s, "\r", 1), 0);
	assert_string_equal(buf_str(&l.out), "|a;");
	assert_int_equal(sse_feed(&s, "\ndata: b\r", 9), 0);
	assert_int_equal(sse_feed(&s, "\r", 1), 0);
	assert_string_equal(buf_str(&l.out), "|a;|b;");
	sse_release(&s);
	buf_release(&l.out);
}

static void binary_data(void **state)
{
	(void)state;
	static const char text[] = "data: a\0b\xff\n\n";
	struct log l;
	assert_int_equal(frame(SSE_MODE_SSE, text, sizeof(text) - 1, 1, 0, &l), 0);
	assert_int_equal(l.out.len, 6);
	assert_memory_equal(l.out.data, "|a\0b\xff;", 6);
	buf_release(&l.out);
}

static void end_of_stream(void **state)
{
	(void)state;
	struct log l;
	/* Complete lines without their blank line: dispatched at the end. */
	const char *t = "data: a\n\ndata: b\n";
	assert_int_equal(frame(SSE_MODE_SSE, t, strlen(t), 1, 0, &l), 0);
	assert_string_equal(buf_str(&l.out), "|a;!b;");
	buf_release(&l.out);
	/* A line cut without its end may be half an event: dropped. */
	t = "data: a\n\ndata: {\"half";
	assert_int_equal(frame(SSE_MODE_SSE, t, strlen(t), 0, 0, &l), 0);
	assert_string_equal(buf_str(&l.out), "|a;");
	buf_release(&l.out);
	t = "data: a\n\ndata: b\ndata: {\"half";
	assert_int_equal(frame(SSE_MODE_SSE, t, strlen(t), 3, 0, &l), 0);
	assert_string_equal(buf_str(&l.out), "|a;!b;");
	buf_release(&l.out);
}

/* How a cut last line counts: dropped when it may be half a field we
 * know, an unknown line when it cannot (a page with no newline). */
static void cut_last_line(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		size_t nunknown;
	} cases[] = {
		{"dat", 0}, {"data", 0}, {"data: {\"a", 0}, {"event: x", 0}, {"id", 0},
		{"retry: 1", 0}, {": comment", 0}, {"\xef\xbb\xbf" "da", 0},
		{"<html><body>Denied</body></html>", 1}, {"{\"error\": 1}", 1},
		{"datum", 1}, {"data :x", 1}, {"\xef\xbb\xbf<p>", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sse s;
		struct log l = {0};
		l.s = &s;
		sse_init(&s, SSE_MODE_SSE, 0, log_event, &l);
		for (const char *p = cases[i].text; *p; p++)
			assert_int_equal(sse_feed(&s, p, 1), 0);
		assert_int_equal(sse_finish(&s), 0);
		if (s.nunknown != cases[i].nunknown)
			fail_msg("'%s': %zu unknown lines", cases[i].text, s.nunknown);
		assert_string_equal(buf_str(&l.out), "");
		sse_release(&s);
		buf_release(&l.out);
	}
}

/* Lines that are no field since the last data line are kept, joined,
 * for a caller to read at the end; a data line drops them, the cap drops
 * them. */
static void stray_lines(void **state)
{
	(void)state;
	const char *t = "junk\n\ndata: a\n\n{\n  \"error\": {\n    \"code\": 503\n"
			": comment\n  }\n}";
	for (size_t step = 0; step <= 2; step++) {
		struct log l;
		struct sse s;
		memset(&l, 0, sizeof(l));
		l.s = &s;
		sse_init(&s, SSE_MODE_SSE, 0, log_event, &l);
		for (size_t i = 0; i < strlen(t);) {
			size_t n = step ? step : strlen(t);
			if (n > strlen(t) - i)
				n = strlen(t) - i;
			assert_int_equal(sse_feed(&s, t + i, n), 0);
			i += n;
		}
		assert_int_equal(sse_finish(&s), 0);
		assert_string_equal(buf_str(&l.out), "|a;");
		assert_string_equal(buf_str(&s.stray),
				    "{\n  \"error\": {\n    \"code\": 503\n  }\n}");
		assert_int_equal(s.nunknown, 6);
		sse_release(&s);
		buf_release(&l.out);
	}
	struct log l = {0};
	struct sse s;
	sse_init(&s, SSE_MODE_SSE, 16, log_event, &l);
	const char *u = "0123456789\nabcdefghij\nxy\n";
	assert_int_equal(sse_feed(&s, u, strlen(u)), 0);
	assert_int_equal(s.stray_over, 1);
	assert_string_equal(buf_str(&s.stray), "");
	assert_int_equal(sse_feed(&s, "data: z\n\nkept\n", 14), 0);
	assert_int_equal(s.stray_over, 0);
	assert_string_equal(buf_str(&s.stray), "kept");
	/* The end dispatches an event still open: what follows its data
	 * stays. */
	assert_int_equal(sse_feed(&s, "data: y\n{x}", 11), 0);
	assert_int_equal(sse_finish(&s), 0);
	assert_string_equal(buf_str(&s.stray), "{x}");
	sse_release(&s);
	buf_release(&l.out);
}

static void ndjson(void **state)
{
	(void)state;
	expect_events(SSE_MODE_NDJSON, "{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}\r",
		      "|{\"a\":1};|{\"b\":2};|{\"c\":3};");
	/* No event names, comments or fields in NDJSON: lines are lines. */
	expect_events(SSE_MODE_NDJSON, "data: x\n: y\n", "|data: x;|: y;");
	/* The last line may lack its newline; the callback can tell. */
	struct log l;
	const char *t = "{\"a\":1}\n{\"done\":true}";
	assert_int_equal(frame(SSE_MODE_NDJSON, t, strlen(t), 2, 0, &l), 0);
	assert_string_equal(buf_str(&l.out), "|{\"a\":1};!{\"done\":true};");
	buf_release(&l.out);
}

static void caps(void **state)
{
	(void)state;
	struct log l;
	struct sse s;
	/* A line exactly at the cap passes; one byte more fails. */
	const char *t = "data: 0123456789\n\n";  /* the line is 16 bytes */
	for (size_t step = 0; step <= 1; step++) {
		assert_int_equal(frame(SSE_MODE_SSE, t, strlen(t), step, 16, &l), 0);
		assert_string_equal(buf_str(&l.out), "|0123456789;");
		buf_release(&l.out);
		assert_int_equal(frame(SSE_MODE_SSE, t, strlen(t), step, 15, &l), -1);
		assert_string_equal(buf_str(&l.out), "");
		buf_release(&l.out);
	}
	/* Many short lines cannot build an event past the cap either. */
	memset(&l, 0, sizeof(l));
	l.s = &s;
	sse_init(&s, SSE_MODE_SSE, 64, log_event, &l);
	int rc = 0;
	for (int i = 0; i < 100 && !rc; i++)
		rc = sse_feed(&s, "data: 0123456789\n", 17);
	assert_int_equal(rc, -1);
	assert_int_equal(s.err, SSE_TOO_LARGE);
	/* Failed for good: no more events, even valid ones. */
	assert_int_equal(sse_feed(&s, "\n\ndata: x\n\n", 11), -1);
	assert_int_equal(sse_finish(&s), -1);
	assert_string_equal(buf_str(&l.out), "");
	sse_release(&s);
	buf_release(&l.out);
	/* A line that never ends: bounded memory, then an error. */
	memset(&l, 0, sizeof(l));
	sse_init(&s, SSE_MODE_NDJSON, 1000, log_event, &l);
	char junk[100];
	memset(junk, 'x', sizeof(junk));
	rc = 0;
	int fed = 0;
	while (!rc && fed < 100)
		rc = sse_feed(&s, junk, sizeof(junk)), fed++;
	assert_int_equal(rc, -1);
	assert_int_equal(s.err, SSE_TOO_LARGE);
	assert_true(s.line.len <= 1000);
	sse_release(&s);
}

static void callback_stops(void **state)
{
	(void)state;
	struct log l = {0};
	struct sse s;
	l.stop_after = 2;
	l.s = &s;
	sse_init(&s, SSE_MODE_SSE, 0, log_event, &l);
	const char *t = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	assert_int_equal(sse_feed(&s, t, strlen(t)), -1);
	assert_int_equal(s.err, SSE_STOPPED);
	assert_string_equal(buf_str(&l.out), "|1;|2;");
	assert_int_equal(sse_feed(&s, "data: 4\n\n", 9), -1);
	assert_string_equal(buf_str(&l.out), "|1;|2;");
	sse_release(&s);
	buf_release(&l.out);
}

static void counters(void **state)
{
	(void)state;
	struct log l = {0};
	struct sse s;
	sse_init(&s, SSE_MODE_SSE, 0, log_event, &l);
	const char *t = "<html>\n: c\nid: 1\n\ndata: x\n\n<body>\n";
	assert_int_equal(sse_feed(&s, t, strlen(t)), 0);
	assert_int_equal(sse_finish(&s), 0);
	assert_int_equal(s.nevents, 1);
	assert_int_equal(s.nunknown, 2);
	sse_release(&s);
	buf_release(&l.out);
}

/* Random slicings of a long mixed stream give the same events. */
static void random_slices(void **state)
{
	(void)state;
	struct buf text = BUF_INIT, want = BUF_INIT;
	const char *ends[] = {"\n", "\r\n", "\r"};
	uint64_t rng = 42;
	for (int i = 0; i < 300; i++) {
		const char *eol = ends[rng_next(&rng) % 3];
		buf_printf(&text, ": ping %d%sevent: e%d%sdata: line %d%sdata: more%s%s",
			   i, eol, i % 7, eol, i, eol, eol, eol);
		buf_printf(&want, "e%d|line %d\nmore;", i % 7, i);
	}
	for (int round = 0; round < 200; round++) {
		struct log l = {0};
		struct sse s;
		l.s = &s;
		sse_init(&s, SSE_MODE_SSE, 0, log_event, &l);
		size_t max = round % 2 ? 16384 : 40;
		for (size_t i = 0; i < text.len;) {
			size_t n = 1 + rng_next(&rng) % max;
			if (n > text.len - i)
				n = text.len - i;
			assert_int_equal(sse_feed(&s, text.data + i, n), 0);
			i += n;
		}
		assert_int_equal(sse_finish(&s), 0);
		assert_string_equal(buf_str(&l.out), buf_str(&want));
		sse_release(&s);
		buf_release(&l.out);
	}
	buf_release(&text);
	buf_release(&want);
}

int test_sse(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fields),
		cmocka_unit_test(line_ends),
		cmocka_unit_test(binary_data),
		cmocka_unit_test(end_of_stream),
		cmocka_unit_test(cut_last_line),
		cmocka_unit_test(stray_lines),
		cmocka_unit_test(ndjson),
		cmocka_unit_test(caps),
		cmocka_unit_test(callback_stops),
		cmocka_unit_test(counters),
		cmocka_unit_test(random_slices),
	};
	return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
