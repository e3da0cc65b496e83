/* Replays every input that once crashed a fuzz target, and every seed of
 * its corpus, through the target's own entry point (fuzz/targets/T.c,
 * compiled here without libFuzzer). A target aborts on a broken promise,
 * so a regression fails this test; under ASan and UBSan a memory error or
 * a leak does too. Crashes live in $QUORUM_FIXTURES/regress/T/, seeds in
 * $QUORUM_SRCDIR/fuzz/corpus/T/. */
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

#define FUZZ_TARGETS(X)                                                   \
	X(workflow) X(template) X(openai) X(anthropic) X(gemini) X(ollama) \
	X(sse) X(extract) X(judge) X(rank) X(plan)

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

/* Runs every regular file in root/sub through entry; returns how many. */
static size_t replay_dir(const char *root, const char *sub, fuzz_entry_fn *entry)
{
	if (!root)
		return 0;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
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

static void replay(const char *target, fuzz_entry_fn *entry)
{
	char sub[64];
	snprintf(sub, sizeof(sub), "regress/%s", target);
	replay_dir(getenv("QUORUM_FIXTURES"), sub, entry);
	snprintf(sub, sizeof(sub), "fuzz/corpus/%s", target);
	/* The seeds are committed: a target without any is a packaging
	 * mistake, not a pass. */
	const char *src = getenv("QUORUM_SRCDIR");
	if (src)
		assert_true(replay_dir(src, sub, entry) > 0);
}

#define TEST_FN(t)                                  \
	static void test_##t(void **state)          \
	{                                           \
		(void)state;                        \
		replay(#t, fuzz_entry_##t);         \
	}
FUZZ_TARGETS(TEST_FN)

#define TEST_ENTRY(t) cmocka_unit_test(test_##t),

int main(void)
{
	const struct CMUnitTest tests[] = {FUZZ_TARGETS(TEST_ENTRY)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
