#ifndef QUORUM_TESTS_PROVIDERS_FEED_H
#define QUORUM_TESTS_PROVIDERS_FEED_H
#include <stddef.h>
#include <stdint.h>

#include "../../providers/provider.h"

/* Runs a provider's response parser over fixture bytes in every slicing a
 * network can produce, for the tests of any wire format: whole, one byte
 * at a time, random sizes, two feeds split at every byte, and the body
 * cut after every byte. */

/* What one run of a parser produced. */
struct feed_outcome {
	int rc;                /* parser_finish */
	int feed_failed;       /* a feed returned -1 */
	size_t reported;       /* sum of the feeds' text byte counts */
	struct chat_result r;
};

/* Feeds data[0..len) to a new parser in slices: step 0 whole, 1 byte by
 * byte, else random sizes in [1, step] from rng; then finishes. Checks
 * the contract on the way (a failed feed sets r.err; finish returns 0
 * exactly when r holds no error, and then r.complete is set). Release o
 * with feed_outcome_release. */
void feed_run(const struct provider *prov, int stream, size_t max,
	      const char *data, size_t len, size_t step, uint64_t *rng,
	      struct feed_outcome *o);
/* feed_run, with the response's Content-Type given to the parser first
 * (NULL: none came). */
void feed_run_typed(const struct provider *prov, int stream, const char *ctype,
		    size_t max, const char *data, size_t len, size_t step,
		    uint64_t *rng, struct feed_outcome *o);
/* The same with exactly two feeds, split at cut (0 < cut < len). */
void feed_run_split(const struct provider *prov, int stream,
		    const char *data, size_t len, size_t cut,
		    struct feed_outcome *o);
void feed_run_split_typed(const struct provider *prov, int stream,
			  const char *ctype, const char *data, size_t len,
			  size_t cut, struct feed_outcome *o);
void feed_outcome_release(struct feed_outcome *o);

/* Fails the test when b differs from a in anything a user would see. */
void feed_same(const struct feed_outcome *a, const struct feed_outcome *b,
	       const char *what);

/* Runs data whole into *whole (the caller releases it), then checks that
 * byte by byte, every two-way split and `rounds` random slicings (from
 * seed) all give the same outcome. */
void feed_all_slicings(const struct provider *prov, int stream,
		       const char *data, size_t len, uint64_t seed, int rounds,
		       struct feed_outcome *whole, const char *what);
/* The same, with a Content-Type (NULL: none) given before every run. */
void feed_all_slicings_typed(const struct provider *prov, int stream,
			     const char *ctype, const char *data, size_t len,
			     uint64_t seed, int rounds, struct feed_outcome *whole,
			     const char *what);

/* Cuts a good response after every byte: each cut must give exactly the
 * whole answer text or ERR_TRUNCATED, never a shorter answer. */
void feed_every_cut(const struct provider *prov, int stream, const char *data,
		    size_t len, const char *text, const char *what);
void feed_every_cut_typed(const struct provider *prov, int stream,
			  const char *ctype, const char *data, size_t len,
			  const char *text, const char *what);

/* ---- tables of cases ----
 * What every wire format's tests do with its fixtures, driven from its
 * tables, gathered in a struct feed_suite: the fixtures are
 * $QUORUM_FIXTURES/<name>/, named after the provider. */

/* A fixture fed in every slicing (feed_all_slicings), and what it must
 * give whole. */
struct feed_case {
	const char *fixture;
	int stream;             /* a stream was asked for */
	enum err_class err;
	const char *text;       /* NULL: not checked */
	const char *finish;     /* NULL: not checked */
	int64_t in, out;        /* token counts; -1: not reported */
	const char *msg;        /* a substring of err_msg; NULL: not checked */
};

/* A good response and its whole answer. */
struct feed_answer {
	const char *fixture;
	int stream;
	const char *text;
};

/* A non-2xx response for parse_error, and what it must give. */
struct feed_err_case {
	int status;
	const char *fixture;    /* NULL: body below */
	const char *body;
	const char *retry_after;
	enum err_class err;
	const char *msg;        /* NULL: not checked */
	int64_t retry_ms;
};

/* A response read while one allocation fails. */
struct feed_alloc_case {
	const char *fixture;
	int stream;
	const char *text;        /* what a success must hold; NULL: not checked */
	int must_fail;           /* no allocation failure makes it a success */
	int status;              /* then parse_error with this status; 0: not */
	const char *retry_after;
};

/* The length of a table, for the fields of a struct feed_suite. */
#define FEED_N(t) (sizeof(t) / sizeof((t)[0]))

struct feed_suite {
	const char *provider;
	/* Each fed in every slicing, with `rounds` random ones (seeded by the
	 * case's index). A success has no message, and its text was counted
	 * as it came when it came as a stream (a .sse or .ndjson fixture
	 * asked for as one), else only at the end. */
	const struct feed_case *cases;
	size_t ncases;
	int rounds;
	/* Each cut after every byte (feed_every_cut): the whole answer or
	 * truncated, never a shorter answer. */
	const struct feed_answer *cuts;
	size_t ncuts;
	/* The answer's cap: at 10 bytes each fails too_large, whole and byte
	 * by byte, its message cut with it; at exactly the answer's length it
	 * is whole. */
	const struct feed_answer *caps;
	size_t ncaps;
	/* An endless body (stream 0) or stream event or line (1) fails
	 * too_large early, before memory goes: its first feed starts with
	 * body_head[stream], the rest is body_fill, 4 KiB a feed. */
	const char *body_head[2];
	char body_fill;
	/* Through parse_error: the class, the status, the delay and the
	 * message (the whole, or with errs_part a substring of it); every
	 * message is one printable line. */
	const struct feed_err_case *errs;
	size_t nerrs;
	int errs_part;
	/* Nothing crashes on any bytes (run under the sanitizers to mean
	 * something): each fixture mutated 150 times, then noise (from
	 * hostile_seed), through the parser (every outcome keeping the
	 * contract, an answer valid UTF-8) and parse_error (always an error,
	 * its message under the cap). */
	const char *const *hostile;
	size_t nhostile;
	uint64_t hostile_seed;
	/* Every allocation that can fail, failing, for each of 1 .. tries, in
	 * the parser (then parse_error) and in build(alloc_req, alloc_key): an
	 * error or the right answer, never a crash or a leak, and a failed
	 * build leaves nothing to free. */
	const struct feed_alloc_case *allocs;
	size_t nallocs;
	const struct chat_request *alloc_req;
	const char *alloc_key;
	long tries;
};

/* The cmocka tests of a suite, state the struct feed_suite. */
void feed_test_fixtures(void **state);
void feed_test_every_cut(void **state);
void feed_test_text_cap(void **state);
void feed_test_body_cap(void **state);
void feed_test_error_bodies(void **state);
void feed_test_hostile_bytes(void **state);
void feed_test_alloc_failures(void **state);

/* The entries of a struct CMUnitTest array for suite s. */
#define FEED_SUITE_TESTS(s)                                                    \
	cmocka_unit_test_prestate(feed_test_fixtures, (void *)(s)),            \
	cmocka_unit_test_prestate(feed_test_every_cut, (void *)(s)),           \
	cmocka_unit_test_prestate(feed_test_text_cap, (void *)(s)),            \
	cmocka_unit_test_prestate(feed_test_body_cap, (void *)(s)),            \
	cmocka_unit_test_prestate(feed_test_error_bodies, (void *)(s)),        \
	cmocka_unit_test_prestate(feed_test_hostile_bytes, (void *)(s)),       \
	cmocka_unit_test_prestate(feed_test_alloc_failures, (void *)(s))

#endif
