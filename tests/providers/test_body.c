/* What the four wire formats do alike before their own fields matter
 * (providers/body.c): the response's Content-Type decides a whole body
 * from a stream; a page is never read as a cut body; a UTF-8 BOM is
 * skipped; events with empty data carry nothing; a JSON error written
 * without `data:` is read; a NUL in answer text becomes U+FFFD rather
 * than cutting it; an invalid UTF-8 answer names the byte at fault. Each
 * case from tests/fixtures/<provider>/ is fed whole, byte by byte, split
 * at every byte and in random slices, all of which must agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../providers/provider.h"
#include "feed.h"
#include "util.h"

#define OA_CHAT                                                                \
	"The sky looks blue because air scatters short (blue) wavelengths of "  \
	"sunlight more than long ones: Rayleigh scattering."
#define OA_STREAM "Hello! Voil\xc3\xa0: \"blue\"\nsky \xe2\x98\x80\xef\xb8\x8f."
#define AN_MSG                                                                 \
	"Paris is the capital of France.\nIt has been since 987 \xe2\x80\x94 "  \
	"\"la Ville Lumi\xc3\xa8re\" \xf0\x9f\x97\xbc."
#define AN_STREAM                                                              \
	"Bonjour! The sky is \"blue\"\nbecause air scatters short waves "      \
	"\xe2\x98\x80\xef\xb8\x8f more \xe2\x80\x94 Rayleigh."
#define GM_STREAM                                                              \
	"Paris is the capital of France \xe2\x80\x94 \"la Ville Lumi\xc3\xa8re\"." \
	"\nIt sits on the Seine \xf0\x9f\x97\xbc."
#define OL_TEXT "Hello! Voil\xc3\xa0: \"blue\"\nsky <\xe2\x98\x80\xef\xb8\x8f> & sea."
/* "abc\u0000def \\u0000 \\\u0000." as the wire writes it: two NULs, and
 * between them a backslash and "u0000", which is text. */
#define NUL_TEXT "abc\xef\xbf\xbd" "def \\u0000 \\\xef\xbf\xbd."
#define HTML_MSG "response has content type 'text/html', not JSON or a stream"

static const struct provider *prov(const char *name)
{
	const struct provider *p = provider_find(name);
	assert_non_null(p);
	return p;
}

struct fcase {
	const char *prov;
	const char *fixture;
	int stream;
	const char *ctype;      /* the Content-Type; NULL: none came */
	enum err_class err;
	const char *text;       /* NULL: not checked */
	const char *finish;     /* NULL: not checked */
	int64_t in, out;
	const char *msg;        /* a substring of err_msg; "" with ERR_NONE */
};

static void check(const struct fcase *x, const struct feed_outcome *o)
{
	if (o->r.err != x->err)
		fail_msg("%s/%s (stream %d, '%s'): got %s '%s', want %s", x->prov,
			 x->fixture, x->stream, x->ctype ? x->ctype : "none",
			 err_class_name(o->r.err), buf_str(&o->r.err_msg),
			 err_class_name(x->err));
	if (x->text && strcmp(buf_str(&o->r.text), x->text))
		fail_msg("%s/%s: text '%s'", x->prov, x->fixture, buf_str(&o->r.text));
	if (x->finish)
		assert_string_equal(o->r.finish_reason, x->finish);
	assert_int_equal(o->r.input_tokens, x->in);
	assert_int_equal(o->r.output_tokens, x->out);
	if (!strstr(buf_str(&o->r.err_msg), x->msg))
		fail_msg("%s/%s: message '%s' lacks '%s'", x->prov, x->fixture,
			 buf_str(&o->r.err_msg), x->msg);
	if (x->err == ERR_NONE)
		assert_string_equal(buf_str(&o->r.err_msg), "");
}

static void run_cases(const struct fcase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct fcase *x = &cases[i];
		size_t len;
		char *data = fixture_read_in(x->prov, x->fixture, &len);
		struct feed_outcome whole;
		char what[160];
		snprintf(what, sizeof(what), "%s/%s (stream %d, '%s')", x->prov,
			 x->fixture, x->stream, x->ctype ? x->ctype : "none");
		feed_all_slicings_typed(prov(x->prov), x->stream, x->ctype, data, len,
					0x2545f4914f6cdd1dULL + i, 12, &whole, what);
		check(x, &whole);
		feed_outcome_release(&whole);
		q_free(data);
	}
}

#define CASES(c) run_cases(c, sizeof(c) / sizeof(c[0]))

/* ---- 1: the Content-Type decides ---- */

static void content_type(void **state)
{
	(void)state;
	static const struct fcase cases[] = {
		/* a stream asked for, one document sent: pretty-printed over
		 * many lines by Ollama, read whole by its type, or without
		 * one by its first line; a stream type says it is lines */
		{"ollama", "chat_pretty.json", 1, "application/json; charset=utf-8",
		 ERR_NONE, OL_TEXT, "stop", 26, 7, ""},
		{"ollama", "chat_pretty.json", 1, NULL, ERR_NONE, OL_TEXT, "stop", 26, 7, ""},
		{"ollama", "chat_pretty.json", 0, NULL, ERR_NONE, OL_TEXT, "stop", 26, 7, ""},
		{"ollama", "chat_pretty.json", 1, "application/x-ndjson", ERR_MALFORMED,
		 "", "", -1, -1, "stream line is not JSON: {"},
		{"anthropic", "msg_ok.json", 1, "application/json", ERR_NONE, AN_MSG,
		 "stop", 2095, 503, ""},
		{"gemini", "stream_array.json", 1, "application/json", ERR_NONE,
		 GM_STREAM, "stop", 11, 24, ""},
		{"openai", "chat_ok.json", 1, "Application/JSON", ERR_NONE, OA_CHAT,
		 "stop", -1, -1, ""},
		{"anthropic", "msg_error_200.json", 1, "application/problem+json",
		 ERR_SERVER, "", "", -1, -1, "Internal server error"},
		/* a stream mislabelled as JSON: for SSE the first byte tells */
		{"openai", "wild_usage_final.sse", 1, "application/json", ERR_NONE,
		 OA_STREAM, "stop", 19, 10, ""},
		{"anthropic", "stream_ok.sse", 1, "application/json", ERR_NONE, AN_STREAM,
		 "stop", 25, 15, ""},
		/* one document asked for, a stream sent: its type says so */
		{"openai", "wild_usage_final.sse", 0, "text/event-stream", ERR_NONE,
		 OA_STREAM, "stop", 19, 10, ""},
		{"openai", "wild_usage_final.sse", 0, NULL, ERR_MALFORMED, "", "", -1, -1,
		 "response is not JSON: data: {"},
		{"ollama", "stream_ok.ndjson", 0, "application/x-ndjson", ERR_NONE,
		 OL_TEXT, "stop", 26, 7, ""},
		{"anthropic", "stream_ok.sse", 0, "text/event-stream; charset=utf-8",
		 ERR_NONE, AN_STREAM, "stop", 25, 15, ""},
		/* a type that labels nothing leaves the first byte to tell */
		{"openai", "wild_usage_final.sse", 1, "text/plain; charset=utf-8",
		 ERR_NONE, OA_STREAM, "stop", 19, 10, ""},
		{"gemini", "generate_ok.json", 1, "application/octet-stream", ERR_NONE,
		 OA_CHAT, "stop", 7, 23, ""},
		{"openai", "chat_ok.json", 1, "", ERR_NONE, OA_CHAT, "stop", -1, -1, ""},
		/* a type no format reads fails whatever the body holds */
		{"openai", "chat_ok.json", 0, "text/html", ERR_MALFORMED, "", "", -1, -1,
		 HTML_MSG},
		{"gemini", "stream_ok.sse", 1, "application/xml", ERR_MALFORMED, "", "",
		 -1, -1, "content type 'application/xml'"},
		{"ollama", "stream_ok.ndjson", 1, " IMAGE/PNG ", ERR_MALFORMED, "", "", -1,
		 -1, "content type 'image/png'"},
	};
	CASES(cases);
}

/* The hook once bytes came is too late: ignored, not a change of mind. */
static void content_type_late(void **state)
{
	(void)state;
	const struct provider *p = prov("openai");
	size_t len;
	char *data = fixture_read_in("openai", "wild_usage_final.sse", &len);
	struct chat_result r;
	chat_result_init(&r, 0);
	struct resp_parser *rp = p->parser_new(1, 0);
	assert_true(p->parser_feed(rp, data, 10, &r) >= 0);
	p->parser_content_type(rp, "text/html");
	assert_true(p->parser_feed(rp, data + 10, len - 10, &r) >= 0);
	assert_int_equal(p->parser_finish(rp, &r), 0);
	assert_string_equal(buf_str(&r.text), OA_STREAM);
	p->parser_free(rp);
	chat_result_release(&r);
	q_free(data);
}

/* ---- 2: a page is malformed, never a cut body ---- */

static void html_pages(void **state)
{
	(void)state;
	static const char *const provs[] = {"openai", "anthropic", "gemini", "ollama"};
	static const char *const pages[] = {"page_captive.html", "page_oneline.html"};
	static const char *const types[] = {NULL, "text/html; charset=utf-8"};
	for (size_t i = 0; i < 4 * 2 * 2 * 2; i++) {
		const char *name = provs[i % 4], *page = pages[i / 4 % 2];
		const char *ctype = types[i / 8 % 2];
		int stream = (int)(i / 16);
		size_t len;
		char *data = fixture_read_in(name, page, &len);
		struct feed_outcome whole;
		char what[160];
		snprintf(what, sizeof(what), "%s/%s (stream %d, '%s')", name, page,
			 stream, ctype ? ctype : "none");
		feed_all_slicings_typed(prov(name), stream, ctype, data, len, i, 6,
					&whole, what);
		if (whole.r.err != ERR_MALFORMED)
			fail_msg("%s: got %s '%s'", what, err_class_name(whole.r.err),
				 buf_str(&whole.r.err_msg));
		if (ctype)
			assert_string_equal(buf_str(&whole.r.err_msg), HTML_MSG);
		feed_outcome_release(&whole);
		/* However much of the page came, it is not a cut answer. */
		for (size_t k = 1; k < len; k++) {
			struct feed_outcome o;
			feed_run_typed(prov(name), stream, ctype, 0, data, k, k % 3, NULL, &o);
			if (o.r.err != ERR_MALFORMED)
				fail_msg("%s cut at %zu: got %s '%s'", what, k,
					 err_class_name(o.r.err), buf_str(&o.r.err_msg));
			feed_outcome_release(&o);
		}
		q_free(data);
	}
}

/* ---- 3: a BOM before the body ---- */

static void bom(void **state)
{
	(void)state;
	static const struct fcase cases[] = {
		{"openai", "chat_bom.json", 0, NULL, ERR_NONE, OA_CHAT, "stop", -1, -1, ""},
		{"openai", "chat_bom.json", 1, NULL, ERR_NONE, OA_CHAT, "stop", -1, -1, ""},
		{"openai", "chat_bom.json", 1, "application/json", ERR_NONE, OA_CHAT,
		 "stop", -1, -1, ""},
		{"openai", "stream_bom.sse", 1, NULL, ERR_NONE, OA_STREAM, "stop", 19, 10,
		 ""},
		{"openai", "stream_bom.sse", 1, "text/event-stream", ERR_NONE, OA_STREAM,
		 "stop", 19, 10, ""},
		{"anthropic", "msg_bom.json", 0, NULL, ERR_NONE, AN_MSG, "stop", 2095, 503,
		 ""},
		{"anthropic", "msg_bom.json", 1, NULL, ERR_NONE, AN_MSG, "stop", 2095, 503,
		 ""},
		{"anthropic", "stream_bom.sse", 1, NULL, ERR_NONE, AN_STREAM, "stop", 25,
		 15, ""},
		{"gemini", "generate_bom.json", 0, NULL, ERR_NONE, OA_CHAT, "stop", 7, 23,
		 ""},
		{"gemini", "generate_bom.json", 1, NULL, ERR_NONE, OA_CHAT, "stop", 7, 23,
		 ""},
		{"ollama", "chat_bom.json", 0, NULL, ERR_NONE, OL_TEXT, "stop", 26, 7, ""},
		{"ollama", "chat_bom.json", 1, NULL, ERR_NONE, OL_TEXT, "stop", 26, 7, ""},
		{"ollama", "stream_bom.ndjson", 1, NULL, ERR_NONE, OL_TEXT, "stop", 26, 7,
		 ""},
		{"ollama", "stream_bom.ndjson", 1, "application/x-ndjson", ERR_NONE,
		 OL_TEXT, "stop", 26, 7, ""},
	};
	CASES(cases);
}

/* Bytes that only start like a BOM are body: not skipped, in any
 * slicing. */
static void bom_partial(void **state)
{
	(void)state;
	static const char *const heads[] = {"\xef", "\xef\xbb", "\xef\xbb\xbf\xef\xbb"};
	static const char body[] = "{\"message\":{\"content\":\"hi\"},\"done\":true}";
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		char data[128];
		snprintf(data, sizeof(data), "%s%s", heads[i], body);
		for (int stream = 0; stream <= 1; stream++) {
			struct feed_outcome whole;
			feed_all_slicings(prov("ollama"), stream, data, strlen(data), i, 6,
					  &whole, heads[i]);
			assert_int_equal(whole.r.err, ERR_MALFORMED);
			feed_outcome_release(&whole);
		}
	}
	/* A BOM alone is an empty body. */
	struct feed_outcome o;
	feed_run(prov("openai"), 0, 0, "\xef\xbb\xbf", 3, 1, NULL, &o);
	assert_int_equal(o.r.err, ERR_TRUNCATED);
	feed_outcome_release(&o);
}

/* ---- 4: events whose data is empty ---- */

static void empty_data(void **state)
{
	(void)state;
	static const struct fcase cases[] = {
		{"openai", "stream_empty_data.sse", 1, NULL, ERR_NONE, "Hello!", "stop",
		 -1, -1, ""},
		{"anthropic", "stream_empty_data.sse", 1, NULL, ERR_NONE, "Hello!",
		 "stop", 5, 6, ""},
		{"gemini", "stream_empty_data.sse", 1, NULL, ERR_NONE,
		 "Paris is the capital.", "stop", 11, 24, ""},
	};
	CASES(cases);
}

/* ---- 7: a JSON error written without `data:` ---- */

static void raw_error(void **state)
{
	(void)state;
	static const struct fcase cases[] = {
		{"gemini", "stream_error_raw.sse", 1, NULL, ERR_OVERLOADED,
		 "Paris is the", "", 11, -1,
		 "The model is overloaded. Please try again later."},
		{"gemini", "stream_error_raw.sse", 1, "text/event-stream", ERR_OVERLOADED,
		 "Paris is the", "", 11, -1,
		 "The model is overloaded. Please try again later."},
		{"gemini", "stream_error_raw_line.sse", 1, NULL, ERR_RATE_LIMITED, "Paris",
		 "", 11, -1, "Resource has been exhausted (e.g. check quota)."},
		/* the whole stream: an error object, by its type a stream */
		{"gemini", "err_503_unavailable.json", 1, "text/event-stream",
		 ERR_OVERLOADED, "", "", -1, -1,
		 "The model is overloaded. Please try again later."},
		{"gemini", "err_503_unavailable.json", 1, NULL, ERR_OVERLOADED, "", "", -1,
		 -1, "The model is overloaded. Please try again later."},
		{"openai", "chat_error_200.json", 1, "text/event-stream", ERR_SERVER, "",
		 "", -1, -1, "The server had an error while processing your request."},
	};
	CASES(cases);
	/* No blank line between the last event and the error, no newline
	 * after it: the event is dispatched at the end, the error still
	 * read. */
	static const char t[] =
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
		"\"Paris\"}]}, \"index\": 0}]}\n"
		"{\"error\": {\"code\": 500, \"message\": \"Internal error.\", "
		"\"status\": \"INTERNAL\"}}";
	struct feed_outcome whole;
	feed_all_slicings(prov("gemini"), 1, t, strlen(t), 7, 8, &whole, "no blank");
	assert_int_equal(whole.r.err, ERR_SERVER);
	assert_string_equal(buf_str(&whole.r.err_msg), "Internal error.");
	assert_string_equal(buf_str(&whole.r.text), "Paris");
	feed_outcome_release(&whole);
}

/* ---- 8: NUL in answer text ---- */

static void nul_text(void **state)
{
	(void)state;
	static const struct fcase cases[] = {
		{"openai", "chat_nul.json", 0, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6, ""},
		{"openai", "chat_nul.json", 1, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6, ""},
		{"openai", "stream_nul.sse", 1, NULL, ERR_NONE, NUL_TEXT, "stop", -1, -1,
		 ""},
		{"anthropic", "msg_nul.json", 0, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6,
		 ""},
		{"anthropic", "msg_nul.json", 1, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6,
		 ""},
		{"anthropic", "stream_nul.sse", 1, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6,
		 ""},
		{"gemini", "generate_nul.json", 0, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6,
		 ""},
		{"gemini", "generate_nul.json", 1, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6,
		 ""},
		{"gemini", "stream_nul.sse", 1, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6, ""},
		{"ollama", "chat_nul.json", 0, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6, ""},
		{"ollama", "chat_nul.json", 1, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6, ""},
		/* one of its NULs a raw byte in the string */
		{"ollama", "stream_nul.ndjson", 1, NULL, ERR_NONE, NUL_TEXT, "stop", 5, 6,
		 ""},
	};
	CASES(cases);
}

/* ---- 9: the byte an invalid UTF-8 answer names ---- */

/* A whole body of each format whose answer is text. */
static void body_of(const char *format, const char *text, char *out, size_t size)
{
	if (!strcmp(format, "openai"))
		snprintf(out, size, "{\"choices\":[{\"index\":0,\"message\":{\"content\":"
				    "\"%s\"},\"finish_reason\":\"stop\"}]}", text);
	else if (!strcmp(format, "anthropic"))
		snprintf(out, size, "{\"type\":\"message\",\"content\":[{\"type\":"
				    "\"text\",\"text\":\"%s\"}],\"stop_reason\":"
				    "\"end_turn\"}", text);
	else if (!strcmp(format, "gemini"))
		snprintf(out, size, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
				    "\"%s\"}]},\"finishReason\":\"STOP\"}]}", text);
	else
		snprintf(out, size, "{\"message\":{\"content\":\"%s\"},\"done\":true}",
			 text);
}

static void utf8_messages(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{"ab\x80" "c", "(byte 0x80 at offset 2)"},
		{"ab\xc0\xaf", "(byte 0xc0 at offset 2)"},             /* overlong '/' */
		{"ab\xff", "(byte 0xff at offset 2)"},
		{"ab\xe2\x82" "c", "(byte 0x63 at offset 4, after 0xe2 0x82)"},
		{"ab\xe2\x82", "(it ends inside the sequence 0xe2 0x82 at offset 2)"},
		{"ab\xe0\x80\xaf", "(byte 0x80 at offset 3, after 0xe0)"}, /* overlong */
		{"ab\xed\xa0\x80", "(byte 0xa0 at offset 3, after 0xed)"}, /* surrogate */
		{"ab\xf4\x90\x80\x80", "(byte 0x90 at offset 3, after 0xf4)"},
		{"\xc3\xa9\xf0\x9f\x98" "x", "(byte 0x78 at offset 5, after 0xf0 0x9f 0x98)"},
	};
	static const char *const formats[] = {"openai", "anthropic", "gemini", "ollama"};
	for (size_t f = 0; f < 4; f++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char body[256], want[128], what[64];
			body_of(formats[f], cases[i].text, body, sizeof(body));
			snprintf(want, sizeof(want), "answer is not valid UTF-8 %s",
				 cases[i].msg);
			snprintf(what, sizeof(what), "%s case %zu", formats[f], i);
			struct feed_outcome whole;
			feed_all_slicings(prov(formats[f]), 0, body, strlen(body), i, 4,
					  &whole, what);
			assert_int_equal(whole.r.err, ERR_MALFORMED);
			if (strcmp(buf_str(&whole.r.err_msg), want))
				fail_msg("%s: '%s', want '%s'", what,
					 buf_str(&whole.r.err_msg), want);
			feed_outcome_release(&whole);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(content_type),
		cmocka_unit_test(content_type_late),
		cmocka_unit_test(html_pages),
		cmocka_unit_test(bom),
		cmocka_unit_test(bom_partial),
		cmocka_unit_test(empty_data),
		cmocka_unit_test(raw_error),
		cmocka_unit_test(nul_text),
		cmocka_unit_test(utf8_messages),
	};
	return cmocka_run_group_tests_name("body", tests, NULL, NULL);
}
