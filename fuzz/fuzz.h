#ifndef QUORUM_FUZZ_H
#define QUORUM_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/rng.h"

/* What every fuzz target shares. A target reads its input through a
 * cursor: the first bytes steer (mode, caps, slicing seed), the rest is
 * the text under test, so libFuzzer mutates both. The same target file is
 * built two ways: with -fsanitize=fuzzer for fuzz/run, and with the plain
 * compiler into tests/fuzz_regress, which replays every crash we fixed. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* The next steering byte, 0 once the input is used up. */
static inline unsigned fuzz_byte(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* The rest up to the next '\n' (taken out of the input, newline dropped);
 * a NUL-terminated copy, or NULL when memory ran out. */
static inline char *fuzz_line(struct fuzz_in *in, size_t max)
{
	size_t k = 0;
	while (k < in->n && k < max && in->p[k] != '\n')
		k++;
	char *s = q_malloc(k + 1);
	if (s) {
		memcpy(s, in->p, k);
		s[k] = '\0';
	}
	if (k < in->n && in->p[k] == '\n')
		k++;
	in->p += k;
	in->n -= k;
	return s;
}

/* The whole rest, NUL-terminated (an inner NUL ends it as a C string). */
static inline char *fuzz_rest(struct fuzz_in *in)
{
	char *s = q_malloc(in->n + 1);
	if (s) {
		if (in->n)
			memcpy(s, in->p, in->n);
		s[in->n] = '\0';
	}
	in->p += in->n;
	in->n = 0;
	return s;
}

/* Whether s[0..n) is UTF-8 as RFC 3629 has it. The oracle for what the
 * product's validator (providers/wire.c) decides, so it goes another way:
 * where that one checks the bytes' ranges, this one decodes each sequence
 * (its length from the lead byte's high bits, 6 bits from each
 * continuation byte) and then checks the code point it encodes against
 * RFC 3629's rules: written in the shortest form, not a surrogate, at most
 * U+10FFFF. tests/fuzz_regress checks the two agree on every sequence. */
static inline int fuzz_utf8_ok(const unsigned char *s, size_t n)
{
	/* The least code point a sequence of each length may encode: one
	 * below it has a shorter form (an overlong). */
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || len > n - i)
			return 0;
		/* The lead byte keeps the bits after its len ones and a zero. */
		uint32_t cp = len == 1 ? c : c & (0x7fu >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* A broken promise of the code under test: say which and abort, so
 * libFuzzer saves the input and the regression test fails. */
#define fuzz_check(cond, ...)                                              \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz: %s:%d: check failed: %s: ",  \
				__FILE__, __LINE__, #cond);                \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			abort();                                           \
		}                                                          \
	} while (0)

#endif
