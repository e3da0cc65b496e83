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

#endif
