/* OpenAI-compatible servers in the wild (OpenRouter, DeepSeek, Azure,
 * vLLM, llama.cpp, Mistral, Groq, text-generation-inference): their streams, from tests/fixtures/openai/
 * wild_*.sse, must give the answer a user expects however the network
 * slices them (whole, one byte at a time, two feeds split at every byte,
 * random splits), and a cut stream is never a short answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../providers/provider.h"
#include "feed.h"
#include "util.h"

#define TEXT "Hello! Voil\xc3\xa0: \"blue\"\nsky \xe2\x98\x80\xef\xb8\x8f."
#define HEAD "Hello! Voil\xc3\xa0"

static const struct provider *openai(void)
{
	const struct provider *p = provider_find("openai");
	assert_non_null(p);
	return p;
}

struct expect {
	const char *fixture;
	const char *what;       /* the server behaviour it stands for */
	enum err_class err;
	const char *text;       /* NULL: not checked */
	const char *finish;
	int64_t in, out;
	const char *msg;        /* the whole err_msg */
};

static const struct expect table[] = {
	{"wild_openrouter_comments.sse", "': OPENROUTER PROCESSING' before and between events",
	 ERR_NONE, TEXT, "stop", 19, 10, ""},
	{"wild_keepalive.sse", "': keep-alive' comments, the first bytes included",
	 ERR_NONE, TEXT, "stop", 19, 10, ""},
	{"wild_usage_final.sse", "usage only in the final chunk, with finish_reason",
	 ERR_NONE, TEXT, "stop", 19, 10, ""},
	{"wild_no_usage.sse", "no usage anywhere", ERR_NONE, TEXT, "stop", -1, -1, ""},
	{"wild_usage_null.sse", "usage: null in every chunk", ERR_NONE, TEXT, "stop",
	 -1, -1, ""},
	{"wild_done_space.sse", "data: [DONE]", ERR_NONE, TEXT, "stop", 19, 10, ""},
	{"wild_done_nospace.sse", "data:[DONE] and data:{ with no space", ERR_NONE,
	 TEXT, "stop", 19, 10, ""},
	{"wild_crlf.sse", "CRLF line ends", ERR_NONE, TEXT, "stop", 19, 10, ""},
	{"wild_content_null.sse", "delta.content null", ERR_NONE, TEXT, "stop", 19, 10,
	 ""},
	{"wild_role_first.sse", "a role-only first chunk", ERR_NONE, TEXT, "stop", 19,
	 10, ""},
	{"wild_finish_empty_delta.sse", "finish_reason with an empty delta", ERR_NONE,
	 TEXT, "stop", 19, 10, ""},
	{"wild_azure_prefilter.sse", "Azure's choices: [] content-filter preamble",
	 ERR_NONE, TEXT, "stop", 19, 10, ""},
	{"wild_vllm.sse", "vLLM's extra fields, usage in every chunk", ERR_NONE, TEXT,
	 "stop", 19, 10, ""},
	{"wild_llamacpp.sse", "llama.cpp's key order and timings", ERR_NONE, TEXT,
	 "stop", 19, 10, ""},
	{"wild_reasoning.sse", "reasoning_content and reasoning deltas", ERR_NONE, TEXT,
	 "stop", 19, 10, ""},
	{"wild_openrouter_error.sse", "OpenRouter's event: error mid-stream", ERR_SERVER,
	 HEAD, "", -1, -1, "Provider returned error"},
	{"wild_openrouter_error_chunk.sse", "an error object in a chunk", ERR_SERVER,
	 HEAD, "", -1, -1, "Provider disconnected unexpectedly"},
	{"wild_finish_error.sse", "finish_reason 'error' with no error object",
	 ERR_SERVER, HEAD, "error", -1, -1,
	 "the provider ended the answer with finish_reason 'error'"},
	{"wild_groq.sse", "Groq's usage in x_groq.usage of the last chunk", ERR_NONE,
	 TEXT, "stop", 19, 10, ""},
	{"wild_tgi.sse", "text-generation-inference 1.4: choices[].index counts tokens",
	 ERR_NONE, TEXT, "eos_token", -1, -1, ""},
	{"wild_n2_interleaved.sse", "n: 2, one choice a chunk, interleaved",
	 ERR_NONE, TEXT, "stop", 19, 10, ""},
	{"wild_vllm_error.sse", "vLLM's error object mid-stream", ERR_BAD_REQUEST,
	 "Hello!", "", -1, -1,
	 "The decoder prompt (length 40000) is longer than the maximum model "
	 "length of 32768."},
};

static void check(const struct expect *x, const struct feed_outcome *o)
{
	if (o->r.err != x->err)
		fail_msg("%s (%s): got %s '%s', want %s", x->fixture, x->what,
			 err_class_name(o->r.err), buf_str(&o->r.err_msg),
			 err_class_name(x->err));
	if (x->text && strcmp(buf_str(&o->r.text), x->text))
		fail_msg("%s (%s): text '%s'", x->fixture, x->what,
			 buf_str(&o->r.text));
	assert_string_equal(o->r.finish_reason, x->finish);
	assert_int_equal(o->r.input_tokens, x->in);
	assert_int_equal(o->r.output_tokens, x->out);
	assert_string_equal(buf_str(&o->r.err_msg), x->msg);
	/* The text is counted as it arrives; token indices hold it back
	 * to the end (the rule in providers/openai.c), this one having no
	 * [DONE]. */
	int late = !strcmp(x->fixture, "wild_tgi.sse");
	if (!o->feed_failed)
		assert_int_equal(o->reported, late ? 0 : o->r.text.len);
}

static void fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct expect *x = &table[i];
		size_t len;
		char *data = fixture_read(x->fixture, &len);
		struct feed_outcome whole;
		feed_all_slicings(openai(), 1, data, len, 0x5851f42d4c957f2dULL + i,
				  30, &whole, x->fixture);
		check(x, &whole);
		feed_outcome_release(&whole);
		q_free(data);
	}
}

/* Every good stream cut after every byte: the whole answer (a cut after
 * the finish_reason chunk still is one) or truncated, never less. */
static void every_cut(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].err != ERR_NONE)
			continue;
		size_t len;
		char *data = fixture_read(table[i].fixture, &len);
		feed_every_cut(openai(), 1, data, len, TEXT, table[i].fixture);
		q_free(data);
	}
}

/* Comments, blank lines and [DONE] carry no text: a stream that is only
 * those, or ends after comments, is not an answer. */
static void only_comments(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		enum err_class err;
		const char *msg;
	} cases[] = {
		{": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n", ERR_TRUNCATED,
		 "stream ended after 0 bytes of text, before its last event"},
		{": keep-alive\r\n\r\n", ERR_TRUNCATED,
		 "stream ended after 0 bytes of text, before its last event"},
		{"\r\n\r\n", ERR_TRUNCATED, "stream ended before any event"},
		/* [DONE] alone is a whole, empty answer: the server said so */
		{": keep-alive\n\ndata:[DONE]\n\n", ERR_NONE, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct feed_outcome whole;
		feed_all_slicings(openai(), 1, cases[i].body, strlen(cases[i].body), i,
				  5, &whole, cases[i].body);
		if (whole.r.err != cases[i].err)
			fail_msg("case %zu: got %s '%s'", i, err_class_name(whole.r.err),
				 buf_str(&whole.r.err_msg));
		assert_string_equal(buf_str(&whole.r.err_msg), cases[i].msg);
		assert_string_equal(buf_str(&whole.r.text), "");
		feed_outcome_release(&whole);
	}
}

/* A chunk of one choice at index i: "data: {...}\n\n", finish_reason
 * fr unless NULL. */
static void chunk(struct buf *b, int i, const char *text, const char *fr)
{
	buf_printf(b, "data: {\"choices\":[{\"index\":%d,\"delta\":{\"content\":"
		      "\"%s\"},\"finish_reason\":", i, text);
	if (fr)
		buf_printf(b, "\"%s\"}]}\n\n", fr);
	else
		buf_puts(b, "null}]}\n\n");
}

/* choices[].index: named choices (only index 0 is the answer) or counted
 * tokens (all of them are), told apart by the chunks alone (see the rule
 * in providers/openai.c). Each stream is "i:text[:finish]" chunks. */
static void choice_index(void **state)
{
	(void)state;
	static const struct {
		const char *chunks[8];
		int done;             /* a [DONE] ends it */
		enum err_class err;
		const char *text;
		const char *finish;
	} cases[] = {
		/* n: 2, each choice one chunk: index 0 finished, 1 is another */
		{{"0:Yes:stop", "1:No:stop"}, 1, ERR_NONE, "Yes", "stop"},
		/* n: 2, choice 1 first: index 0 comes after it */
		{{"1:No:stop", "0:Yes:stop"}, 1, ERR_NONE, "Yes", "stop"},
		{{"1:No", "0:Ye", "1::stop", "0:s:stop"}, 1, ERR_NONE, "Yes", "stop"},
		/* n: 3, content in the first chunks, held back then dropped */
		{{"0:A", "1:B", "2:C", "0:a:stop", "1:b:stop", "2:c:stop"}, 1, ERR_NONE,
		 "Aa", "stop"},
		/* tokens from 0 or from 1, with or without [DONE] */
		{{"0:He", "1:ll", "2:o:eos_token"}, 1, ERR_NONE, "Hello", "eos_token"},
		{{"1:He", "2:ll", "3:o:length"}, 0, ERR_NONE, "Hello", "length"},
		{{"1:Hello:eos_token"}, 0, ERR_NONE, "Hello", "eos_token"},
		/* tokens cut before the last: never a short answer */
		{{"1:He", "2:ll"}, 0, ERR_TRUNCATED, NULL, ""},
		/* one choice, every chunk index 0 */
		{{"0:He", "0:llo", "0::stop"}, 1, ERR_NONE, "Hello", "stop"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		for (size_t k = 0; k < 8 && cases[i].chunks[k]; k++) {
			char c[64];
			snprintf(c, sizeof(c), "%s", cases[i].chunks[k]);
			char *text = strchr(c, ':') + 1, *fr = strchr(text, ':');
			if (fr)
				*fr++ = '\0';
			chunk(&b, c[0] - '0', text, fr);
		}
		if (cases[i].done)
			buf_puts(&b, "data: [DONE]\n\n");
		struct feed_outcome whole;
		char what[32];
		snprintf(what, sizeof(what), "case %zu", i);
		feed_all_slicings(openai(), 1, b.data, b.len, i, 10, &whole, what);
		if (whole.r.err != cases[i].err)
			fail_msg("%s: got %s '%s'", what, err_class_name(whole.r.err),
				 buf_str(&whole.r.err_msg));
		if (cases[i].text && strcmp(buf_str(&whole.r.text), cases[i].text))
			fail_msg("%s: text '%s', want '%s'", what, buf_str(&whole.r.text),
				 cases[i].text);
		assert_string_equal(whole.r.finish_reason, cases[i].finish);
		feed_outcome_release(&whole);
		buf_release(&b);
	}
}

/* Token indices past any n OpenAI allows (128) are tokens for sure: the
 * text then streams as it comes rather than all at the end; and what is
 * held back still counts against the answer's cap. */
static void choice_index_long(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	for (int i = 1; i <= 300; i++)
		buf_printf(&b, "data:{\"choices\":[{\"index\":%d,\"delta\":{\"content\":"
			      "\"x\"},\"finish_reason\":%s}]}\n\n",
			   i, i == 300 ? "\"length\"" : "null");
	const struct provider *p = openai();
	struct chat_result r;
	chat_result_init(&r, 0);
	struct resp_parser *rp = p->parser_new(1, 0);
	/* Everything but the last chunk. */
	const char *last = strstr(b.data, "data:{\"choices\":[{\"index\":300,");
	int got = p->parser_feed(rp, b.data, (size_t)(last - b.data), &r);
	assert_int_equal(got, 299);
	assert_true(p->parser_feed(rp, last, b.len - (size_t)(last - b.data), &r) == 1);
	assert_int_equal(p->parser_finish(rp, &r), 0);
	assert_int_equal(r.text.len, 300);
	assert_string_equal(r.finish_reason, "length");
	p->parser_free(rp);
	chat_result_release(&r);
	struct feed_outcome o;
	feed_run(p, 1, 100, b.data, b.len, 7, NULL, &o);
	assert_int_equal(o.r.err, ERR_TOO_LARGE);
	assert_string_equal(buf_str(&o.r.err_msg), "answer over 100 bytes");
	feed_outcome_release(&o);
	buf_release(&b);
}

/* Every allocation failing in turn over the busiest wild stream: an
 * error or the right answer, never a crash or a leak. */
static void alloc_failures(void **state)
{
	(void)state;
	static const char *const names[] = {"wild_azure_prefilter.sse",
					    "wild_openrouter_comments.sse",
					    "wild_n2_interleaved.sse", "wild_tgi.sse"};
	const struct provider *prov = openai();
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *data = fixture_read(names[f], &len);
		for (long n = 1; n < 60; n++) {
			struct chat_result r;
			chat_result_init(&r, 0);
			q_alloc_fail_after(n);
			struct resp_parser *p = prov->parser_new(1, 0);
			int rc = -1;
			if (p) {
				for (size_t i = 0; i < len; i += 7)
					if (prov->parser_feed(p, data + i,
							      len - i < 7 ? len - i : 7, &r) < 0)
						break;
				rc = prov->parser_finish(p, &r);
				prov->parser_free(p);
			}
			q_alloc_fail_after(0);
			if (!rc)
				assert_string_equal(buf_str(&r.text), TEXT);
			chat_result_release(&r);
		}
		q_free(data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixtures),
		cmocka_unit_test(every_cut),
		cmocka_unit_test(only_comments),
		cmocka_unit_test(choice_index),
		cmocka_unit_test(choice_index_long),
		cmocka_unit_test(alloc_failures),
	};
	return cmocka_run_group_tests_name("openai_wild", tests, NULL, NULL);
}
