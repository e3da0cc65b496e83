/* Answer extraction and normalisation, every mode: what a vote compares.
 *
 * Input: byte 0 the mode (0 whole, 1 last_line, 2 number, 3 choice, 4
 * json, 5 regex) and the output cap (bits 4-5), byte 1 for regex the
 * pattern (one of ours, or past them the input's first line); for json
 * the first line is the FIELD; the rest is the model's answer. */
#include "../../aggregators/extract.h"
#include "../fuzz.h"

/* Patterns the way workflow files write them: one capture group. */
static const char *const patterns[] = {
	"(?i)answer:\\s*(\\d+)",
	"(?i)final answer\\s*[:=-]\\s*(.+)",
	"\\\\boxed\\{([^}]*)\\}",
	"(?s)<answer>(.*?)</answer>",
	"\\b([A-E])\\b",
	"(\\d+(?:\\.\\d+)?)\\s*%",
	"^(.*)$",
	"(?m)^#### (.*)$",
	"(\\w+)@example\\.com",
	"(x)?y",
	"(a+)+b",
	"(\\p{L}+)",
};
#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))

static const enum extract_mode modes[] = {EX_WHOLE, EX_LAST_LINE, EX_NUMBER,
					  EX_CHOICE, EX_JSON, EX_REGEX};

static void normalize_checked(const char *s, enum extract_mode mode, size_t cap)
{
	struct buf norm, again;
	buf_init(&norm, cap);
	buf_init(&again, cap);
	int rc = answer_normalize(s, mode, &norm);
	fuzz_check(rc == 0 || rc == -1, "answer_normalize returned %d", rc);
	fuzz_check(rc == 0 || cap, "answer_normalize failed without a cap");
	if (rc == 0) {
		fuzz_check(norm.data != NULL && norm.data[norm.len] == '\0',
			   "a normal form that is not a string");
		/* The normal form is a fixed point: normalising it again
		 * changes nothing, or two equal answers could split a vote.
		 * Answers are UTF-8 (the providers refuse others); in broken
		 * UTF-8, dropping "**" may join bytes into a character. */
		if (fuzz_utf8_ok((const unsigned char *)s, strlen(s)) &&
		    !answer_normalize(buf_str(&norm), mode, &again))
			fuzz_check(!strcmp(buf_str(&norm), buf_str(&again)),
				   "not idempotent: '%s' -> '%s'", buf_str(&norm),
				   buf_str(&again));
	}
	buf_release(&norm);
	buf_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned b0 = fuzz_byte(&in);
	enum extract_mode mode = modes[(b0 & 0xf) % 6];
	static const size_t caps[] = {0, 4, 64, 4096};
	size_t cap = caps[b0 >> 4 & 3];
	struct extract_spec spec = {.mode = mode};
	char *field = NULL;
	if (mode == EX_REGEX) {
		unsigned k = fuzz_byte(&in);
		char *own = k >= NPATTERNS ? fuzz_line(&in, 128) : NULL;
		struct qerr e;
		spec.re = regex_compile(own ? own : patterns[k % NPATTERNS], NULL, &e);
		q_free(own);
		/* The loader refuses a pattern without exactly one group. */
		if (spec.re && regex_groups(spec.re) != 1) {
			regex_free(spec.re);
			spec.re = NULL;
		}
		if (!spec.re)
			return 0;
	} else if (mode == EX_JSON) {
		field = fuzz_line(&in, 64);
		if (!field)
			return 0;
		spec.field = field;
	}
	char *text = fuzz_rest(&in);
	if (text) {
		struct buf out;
		buf_init(&out, cap);
		int rc = extract_apply(&spec, text, &out);
		fuzz_check(rc >= -1 && rc <= 1, "extract_apply returned %d", rc);
		fuzz_check(rc != -1 || cap, "extract_apply failed without a cap");
		if (rc == 1) {
			fuzz_check(out.len > 0, "found an empty answer");
			fuzz_check(out.len <= strlen(text) || mode == EX_JSON,
				   "an answer longer than the text");
			normalize_checked(buf_str(&out), mode, cap);
		}
		buf_release(&out);
		normalize_checked(text, mode, cap);
	}
	q_free(text);
	q_free(field);
	regex_free(spec.re);
	return 0;
}
