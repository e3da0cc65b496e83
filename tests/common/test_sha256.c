/* common/sha256: the FIPS 180-2 vectors, and any slicing gives the same
 * digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/sha256.h"

static void hex(const unsigned char d[SHA256_DIGEST_LEN], char out[65])
{
	for (int i = 0; i < SHA256_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const char *msg, size_t len, const char *want)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char h[65];
	sha256_digest(msg, len, d);
	hex(d, h);
	assert_string_equal(h, want);
}

static void test_fips_vectors(void **state)
{
	(void)state;
	check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check(m448, strlen(m448),
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* The 896-bit message of FIPS 180-2's SHA-384/512 examples: a second
	 * padding block. */
	const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
			   "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	check(m896, strlen(m896),
	      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
	(void)state;
	char chunk[1000];
	memset(chunk, 'a', sizeof(chunk));
	struct sha256 s;
	sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		sha256_update(&s, chunk, sizeof(chunk));
	unsigned char d[SHA256_DIGEST_LEN];
	char h[65];
	sha256_final(&s, d);
	hex(d, h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every length from 0 to 200 (each padding case: fill below 56, exactly
 * 55, 56 to 63, whole blocks), fed in slices of every size from 1 to 70,
 * against the one-shot digest. */
static void test_any_slicing(void **state)
{
	(void)state;
	unsigned char msg[200];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 31 + 7);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		unsigned char want[SHA256_DIGEST_LEN];
		sha256_digest(msg, len, want);
		for (size_t step = 1; step <= 70; step++) {
			struct sha256 s;
			sha256_init(&s);
			for (size_t off = 0; off < len; off += step)
				sha256_update(&s, msg + off, len - off < step ? len - off : step);
			sha256_update(&s, NULL, 0);
			unsigned char got[SHA256_DIGEST_LEN];
			sha256_final(&s, got);
			assert_memory_equal(got, want, SHA256_DIGEST_LEN);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_any_slicing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
