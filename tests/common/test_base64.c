/* common/base64: the RFC 4648 vectors, every byte value and length round
 * trip, and every way an encoding can be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../common/base64.h"
#include "../../common/buf.h"

/* RFC 4648 section 10. */
static const struct {
	const char *plain, *coded;
} vectors[] = {
	{"", ""},
	{"f", "Zg=="},
	{"fo", "Zm8="},
	{"foo", "Zm9v"},
	{"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

static void test_rfc_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *p = vectors[i].plain, *c = vectors[i].coded;
		struct buf b = BUF_INIT;
		assert_int_equal(base64_encode(&b, p, strlen(p)), 0);
		assert_string_equal(buf_str(&b), c);
		assert_int_equal(base64_encoded_len(strlen(p)), strlen(c));
		buf_release(&b);
		unsigned char out[8];
		size_t n = 99;
		assert_true(base64_decoded_max(strlen(c)) <= sizeof(out));
		assert_int_equal(base64_decode(c, strlen(c), out, &n), 0);
		assert_int_equal(n, strlen(p));
		assert_memory_equal(out, p, n);
	}
}

/* Every byte value in every position of a group, every length to 300. */
static void test_round_trip(void **state)
{
	(void)state;
	unsigned char msg[300];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 37 + i / 256);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		struct buf b = BUF_INIT;
		assert_int_equal(base64_encode(&b, msg, len), 0);
		assert_int_equal(b.len, base64_encoded_len(len));
		for (size_t k = 0; k < b.len; k++)
			assert_true(b.data[k] != '\n');
		size_t n;
		unsigned char *out = q_malloc(base64_decoded_max(b.len) + 1);
		assert_non_null(out);
		assert_int_equal(base64_decode(buf_str(&b), b.len, out, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, msg, len);
		q_free(out);
		buf_release(&b);
	}
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Zg=",        /* not a multiple of 4 */
		"Zg",
		"Z",
		"Zm9vY",
		"Zh==",       /* non-zero bits under the padding */
		"Zm9=",
		"Zm8=Zm8=",   /* padding before the end */
		"Zg==Zg==",
		"====",
		"Z===",
		"=Zm8",
		"Zm 9",       /* outside the alphabet */
		"Zm9\n",
		"Zm-_",       /* the URL-safe alphabet is another one */
		"Zm\xc3\xa9",
		"Zm\0v",
	};
	unsigned char out[16];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == sizeof(bad) / sizeof(bad[0]) - 1 ? 4 : strlen(bad[i]);
		size_t n = 99;
		if (base64_decode(bad[i], len, out, &n) != -1)
			fail_msg("'%s' decoded", bad[i]);
		assert_int_equal(n, 0);
	}
}

static void test_encode_cap(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 7);
	assert_int_equal(base64_encode(&b, "foobar", 6), -1);
	assert_true(b.overflow);
	buf_release(&b);
	buf_init(&b, 8);
	assert_int_equal(base64_encode(&b, "foobar", 6), 0);
	assert_string_equal(buf_str(&b), "Zm9vYmFy");
	buf_release(&b);
	assert_int_equal(base64_encoded_len(SIZE_MAX), 0);
	assert_int_equal(base64_encoded_len(SIZE_MAX / 4 / 4 * 3), SIZE_MAX / 4 / 4 * 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_vectors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_encode_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
