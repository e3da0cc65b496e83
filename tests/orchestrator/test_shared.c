/* The pure parts of --shared (orchestrator/shared.c): the URL, the keys
 * in Redis, and a cache entry's form there. No Redis needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../orchestrator/shared.h"

static void test_url_tcp(void **state)
{
	(void)state;
	struct shared_url u;
	char err[256];
	assert_int_equal(shared_url_parse(&u, "redis://10.0.0.5:6380", err, sizeof(err)), 0);
	assert_string_equal(u.host, "10.0.0.5");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 0);
	assert_string_equal(u.password, "");
	assert_string_equal(u.shown, "redis://10.0.0.5:6380");
	assert_int_equal(shared_url_parse(&u, "redis://cache.internal", err, sizeof(err)), 0);
	assert_int_equal(u.port, 6379);
	assert_string_equal(u.shown, "redis://cache.internal:6379");
	assert_int_equal(shared_url_parse(&u, "redis://[::1]:7000/3", err, sizeof(err)), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
	assert_int_equal(u.db, 3);
	assert_string_equal(u.shown, "redis://[::1]:7000/3");
}

/* A password may hold '@', ':' and '/'; it is kept for AUTH and never
 * shown. */
static void test_url_password_never_shown(void **state)
{
	(void)state;
	struct shared_url u;
	char err[256];
	assert_int_equal(shared_url_parse(&u, "redis://:p@ss:w/rd@db.example:6379/2", err,
					  sizeof(err)), 0);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "p@ss:w/rd");
	assert_string_equal(u.host, "db.example");
	assert_int_equal(u.db, 2);
	assert_null(strstr(u.shown, "p@ss"));
	assert_int_equal(shared_url_parse(&u, "redis://alice:s3cret@h:1", err, sizeof(err)), 0);
	assert_string_equal(u.user, "alice");
	assert_string_equal(u.password, "s3cret");
	assert_string_equal(u.shown, "redis://h:1");
	/* A URL it refuses is not echoed when it may hold a password. */
	assert_int_equal(shared_url_parse(&u, "http://:s3cret@h:1", err, sizeof(err)), -1);
	assert_null(strstr(err, "s3cret"));
	assert_int_equal(shared_url_parse(&u, "redis://:s3cret@h:99999", err, sizeof(err)), -1);
	assert_null(strstr(err, "s3cret"));
	assert_non_null(strstr(err, "port"));
}

static void test_url_unix_and_errors(void **state)
{
	(void)state;
	struct shared_url u;
	char err[256];
	assert_int_equal(shared_url_parse(&u, "unix:///run/redis.sock?db=4", err, sizeof(err)), 0);
	assert_string_equal(u.path, "/run/redis.sock");
	assert_int_equal(u.db, 4);
	assert_string_equal(u.shown, "unix:///run/redis.sock?db=4");
	assert_int_equal(shared_url_parse(&u, "unix://:pw@/run/r.sock", err, sizeof(err)), 0);
	assert_string_equal(u.password, "pw");
	assert_string_equal(u.path, "/run/r.sock");
	static const char *const bad[] = {
		"redis://", "redis://:6379", "redis://h:0", "redis://h:x", "redis://h:1/x",
		"rediss://h:1", "unix://", "unix://host/path", "localhost:6379", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		assert_int_equal(shared_url_parse(&u, bad[i], err, sizeof(err)), -1);
		assert_true(err[0]);
	}
}

/* Keys are short, stable and differ with the model's identity. */
static void test_keys(void **state)
{
	(void)state;
	char a[64], b[64], c[64];
	shared_model_key(a, sizeof(a), "quorum:rpm:", "openai\nhttp://x/v1\ngpt\nKEY");
	shared_model_key(b, sizeof(b), "quorum:rpm:", "openai\nhttp://x/v1\ngpt\nKEY");
	shared_model_key(c, sizeof(c), "quorum:rpm:", "openai\nhttp://y/v1\ngpt\nKEY");
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), strlen("quorum:rpm:") + 32);
	struct cache_key k;
	memset(k.h, 0xab, sizeof(k.h));
	char want[96] = "quorum:cache:";
	for (int i = 0; i < 32; i++)
		strcat(want, "ab");
	char full[96];
	shared_cache_key(full, sizeof(full), &k);
	assert_string_equal(full, want);
}

/* An entry goes to Redis and back byte for byte (NULs and newlines in the
 * text too); anything else reads as a miss. */
static void test_entry_round_trip(void **state)
{
	(void)state;
	const char text[] = "line one\nline\0two";
	size_t n;
	char *packed = shared_entry_pack(text, sizeof(text) - 1, "stop", 12, -1, 0.000125, &n);
	assert_non_null(packed);
	struct cache_entry e;
	assert_int_equal(shared_entry_unpack(packed, n, &e), 0);
	assert_int_equal(e.len, sizeof(text) - 1);
	assert_memory_equal(e.text, text, e.len);
	assert_string_equal(e.finish_reason, "stop");
	assert_int_equal(e.input_tokens, 12);
	assert_int_equal(e.output_tokens, -1);
	assert_true(e.cost_usd == 0.000125);
	cache_entry_release(&e);
	/* Cut anywhere in its head or its finish reason: refused. */
	size_t head = (size_t)((char *)memchr(packed, '\n', n) - packed) + 1 + strlen("stop");
	for (size_t cut = 0; cut < head; cut++)
		assert_int_equal(shared_entry_unpack(packed, cut, &e), -1);
	q_free(packed);
	static const char *const bad[] = {"", "qc2 1 1 0 0\n", "qc1 1 1 0 40\nx",
					  "qc1 a 1 0 0\n", "qc1 1 1 0 4\nst", "qc1 -5 1 0 0\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(shared_entry_unpack(bad[i], strlen(bad[i]), &e), -1);
	/* An empty answer is an answer. */
	packed = shared_entry_pack("", 0, "", -1, -1, 0, &n);
	assert_int_equal(shared_entry_unpack(packed, n, &e), 0);
	assert_int_equal(e.len, 0);
	assert_string_equal(e.text, "");
	cache_entry_release(&e);
	q_free(packed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_tcp),
		cmocka_unit_test(test_url_password_never_shown),
		cmocka_unit_test(test_url_unix_and_errors),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_entry_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
