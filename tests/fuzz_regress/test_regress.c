/* Replays every input that once crashed a fuzz target, and every seed of
 * its corpus, through the target's own entry point (fuzz/targets/T.c,
 * compiled here without libFuzzer). A target aborts on a broken promise,
 * so a regression fails this test; under ASan and UBSan a memory error or
 * a leak does too. Each target has a folder $QUORUM_FIXTURES/regress/T/
 * (the inputs that crashed it, and the few seeds that cover most of what
 * its corpus does) and its seeds in $QUORUM_SRCDIR/fuzz/corpus/T/; a
 * variable unset, or a folder missing or empty, fails the test. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../fuzz/fuzz.h"
#include "../../providers/wire.h"

#define FUZZ_TARGETS(X)                                                   \
	X(workflow) X(template) X(openai) X(anthropic) X(gemini) X(ollama) \
	X(sse) X(extract) X(judge) X(rank) X(plan) X(oai_req) X(anth_req) X(tokens)

typedef int fuzz_entry_fn(const uint8_t *data, size_t size);

#define DECLARE(t) fuzz_entry_fn fuzz_entry_##t;
FUZZ_TARGETS(DECLARE)

/* Reads a whole file into an exact-size allocation, as libFuzzer hands
 * its input over (so reading past the end is an ASan error here too). */
static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct stat st;
	assert_int_equal(fstat(fileno(f), &st), 0);
	*len = (size_t)st.st_size;
	uint8_t *data = q_malloc(*len ? *len : 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, *len, f), *len);
	fclose(f);
	return data;
}

/* The folder named by the environment variable var. Unset is a mistake in
 * how the test was run, and must not pass as a test of nothing. */
static const char *env_dir(const char *var)
{
	const char *dir = getenv(var);
	if (!dir || !*dir)
		fail_msg("%s is not set (run this test with meson test, which sets it)", var);
	return dir;
}

/* Runs every regular file in root/sub through entry; returns how many. A
 * folder that is missing fails the test. */
static size_t replay_dir(const char *root, const char *sub, fuzz_entry_fn *entry)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open '%s': every fuzz target has its folder there", dir);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[8192];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		size_t len;
		uint8_t *data = read_all(path, &len);
		print_message("replay %s\n", path);
		assert_int_equal(entry(data, len), 0);
		q_free(data);
		n++;
	}
	closedir(d);
	return n;
}

/* The target's regression inputs and its seeds, both committed: a folder
 * that is empty is a packaging mistake, not a pass. */
static void replay(const char *target, fuzz_entry_fn *entry)
{
	char sub[64];
	snprintf(sub, sizeof(sub), "regress/%s", target);
	if (!replay_dir(env_dir("QUORUM_FIXTURES"), sub, entry))
		fail_msg("no inputs in '%s' under $QUORUM_FIXTURES", sub);
	snprintf(sub, sizeof(sub), "fuzz/corpus/%s", target);
	if (!replay_dir(env_dir("QUORUM_SRCDIR"), sub, entry))
		fail_msg("no seeds in '%s' under $QUORUM_SRCDIR", sub);
}

#define TEST_FN(t)                                  \
	static void test_##t(void **state)          \
	{                                           \
		(void)state;                        \
		replay(#t, fuzz_entry_##t);         \
	}
FUZZ_TARGETS(TEST_FN)

/* ---- the targets' own UTF-8 oracle ---- */

static int product_ok(const unsigned char *s, size_t n)
{
	return wire_utf8_valid((const char *)s, n) == n;
}

/* fuzz_utf8_ok against what RFC 3629 says of sequences worth naming
 * (Markus Kuhn's UTF-8 decoder test has most), so the oracle is not only
 * the product's twin. */
static void utf8_oracle_known(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
		{"", 1}, {"a", 1}, {"\x7f", 1}, {"\xc2\x80", 1}, {"\xdf\xbf", 1},
		{"\xe0\xa0\x80", 1}, {"\xed\x9f\xbf", 1}, {"\xee\x80\x80", 1},
		{"\xef\xbf\xbf", 1}, {"\xf0\x90\x80\x80", 1}, {"\xf4\x8f\xbf\xbf", 1},
		{"caf\xc3\xa9 \xe2\x98\x80\xef\xb8\x8f \xf0\x9f\x97\xbc", 1},
		/* a continuation byte alone, or a lead byte no sequence has */
		{"\x80", 0}, {"\xbf", 0}, {"\xf8\x88\x80\x80\x80", 0}, {"\xfe", 0}, {"\xff", 0},
		/* overlongs */
		{"\xc0\xaf", 0}, {"\xc1\xbf", 0}, {"\xe0\x80\xaf", 0}, {"\xe0\x9f\xbf", 0},
		{"\xf0\x80\x80\xaf", 0}, {"\xf0\x8f\xbf\xbf", 0},
		/* surrogates, and past U+10FFFF */
		{"\xed\xa0\x80", 0}, {"\xed\xbf\xbf", 0}, {"\xf4\x90\x80\x80", 0},
		{"\xf5\x80\x80\x80", 0}, {"\xf7\xbf\xbf\xbf", 0},
		/* cut short, or broken by a byte that is no continuation */
		{"\xc3", 0}, {"\xe2\x82", 0}, {"\xf0\x9f\x97", 0}, {"\xc3(", 0},
		{"\xe2\x28\xa1", 0}, {"a\xf0\x9f\x97\xbc" "b\xf0\x9f\x97", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const unsigned char *u = (const unsigned char *)cases[i].s;
		if (fuzz_utf8_ok(u, strlen(cases[i].s)) != cases[i].ok)
			fail_msg("case %zu: fuzz_utf8_ok says %d", i, !cases[i].ok);
	}
}

/* The oracle and the product agree on every string of one to three bytes
 * (past ASCII first), and on four-byte strings from every lead byte past
 * 0xef, every second byte and the boundary bytes after. */
static void utf8_oracle_agrees(void **state)
{
	(void)state;
	static const unsigned char edge[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
					     0xc0, 0xff};
	unsigned char s[4];
	for (unsigned a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		assert_int_equal(fuzz_utf8_ok(s, 1), product_ok(s, 1));
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (unsigned char)b;
			assert_int_equal(fuzz_utf8_ok(s, 2), product_ok(s, 2));
			for (unsigned c = 0; a >= 0x80 && c < 256; c++) {
				s[2] = (unsigned char)c;
				if (fuzz_utf8_ok(s, 3) != product_ok(s, 3))
					fail_msg("%02x %02x %02x", a, b, c);
				for (size_t d = 0; a >= 0xf0 && d < sizeof(edge); d++) {
					s[3] = edge[d];
					if (fuzz_utf8_ok(s, 4) != product_ok(s, 4))
						fail_msg("%02x %02x %02x %02x", a, b, c, s[3]);
				}
			}
		}
	}
}

#define TEST_ENTRY(t) cmocka_unit_test(test_##t),

int main(void)
{
	const struct CMUnitTest tests[] = {
		FUZZ_TARGETS(TEST_ENTRY)
		cmocka_unit_test(utf8_oracle_known),
		cmocka_unit_test(utf8_oracle_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
