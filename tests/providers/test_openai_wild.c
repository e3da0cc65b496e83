/* OpenAI-compatible servers in the wild (OpenRouter, DeepSeek, Azure,
 * vLLM, llama.cpp, Mistral): their streams, from tests/fixtures/openai/
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
	/* The text is counted as it arrives. */
	if (!o->feed_failed)
		assert_int_equal(o->reported, o->r.text.len);
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

/* Every allocation failing in turn over the busiest wild stream: an
 * error or the right answer, never a crash or a leak. */
static void alloc_failures(void **state)
{
	(void)state;
	static const char *const names[] = {"wild_azure_prefilter.sse",
					    "wild_openrouter_comments.sse"};
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
		cmocka_unit_test(alloc_failures),
	};
	return cmocka_run_group_tests_name("openai_wild", tests, NULL, NULL);
}
