#ifndef QUORUM_CACHE_H
#define QUORUM_CACHE_H
/* The response cache behind --cache: answers of models kept in one SQLite
 * file, keyed by the SHA-256 of what was asked, so a re-run does not pay
 * twice. Storage only: the calls room decides when to look and when to
 * store. Several processes may share one file (WAL, a busy timeout); one
 * struct cache is used by one thread at a time. */
#include <stddef.h>
#include <stdint.h>

struct cache;

/* The default cache file: $XDG_CACHE_HOME/quorum/cache.sqlite (when that
 * is an absolute path), else $HOME/.cache/quorum/cache.sqlite. Returns
 * new text (q_free), or NULL when neither is set or memory ran out. */
char *cache_default_path(void);

/* Opens the cache at path, creating the file (mode 0600) and its missing
 * folders (0700). Refuses a file that is not a database, an SQLite
 * database of something else, or a cache of a newer schema. Returns new
 * (free with cache_close), or NULL with a message in err (git style,
 * naming the path and the reason: "cannot open cache 'P': Permission
 * denied"); err may be NULL. */
struct cache *cache_open(const char *path, char *err, size_t n);
/* Writes pending counters, finishes the statements and closes the file.
 * cache_close(NULL) is a no-op. */
void cache_close(struct cache *c);

/* The SHA-256 of one request. */
struct cache_key {
	unsigned char h[32];
};

/* The key of one request: the provider's name, the URL, the request body
 * in canonical form (JSON parsed and printed with object keys sorted and
 * no insignificant whitespace, so key order or spacing do not matter; a
 * body that is not JSON, or nested deeper than 128, is used as it is),
 * and the sample index (the n-th identical request of a run: samples of
 * self-consistency stay distinct). Never the API key: it is in neither
 * the URL nor the body. provider and url may be NULL (as ""). Should
 * memory run out while canonicalising, the raw body is used: the request
 * then misses, it never hits a wrong answer. */
void cache_key(struct cache_key *k, const char *provider, const char *url,
	       const char *body, size_t len, unsigned sample);

struct cache_entry {
	char *text;           /* the answer: q_malloc'd, any bytes, NUL after len */
	size_t len;
	char finish_reason[32];
	int64_t input_tokens, output_tokens;   /* -1: not reported */
	double cost_usd;      /* what the call cost when it was made */
};

/* Looks k up. Returns 1 and fills *e on a hit (release with
 * cache_entry_release), 0 on a miss, -1 on an error (*e is then empty and
 * the caller treats it as a miss; cache_error says why). Counts the hit
 * (with its cost, as saved) or the miss for cache_stats; the counters
 * reach the file in batches, at the latest on cache_close. */
int cache_get(struct cache *c, const struct cache_key *k, struct cache_entry *e);
/* Frees e's text and empties it; e itself is the caller's. */
void cache_entry_release(struct cache_entry *e);

/* Stores a successful answer under k, replacing what was there (errors
 * are never stored: the caller only calls this for ok responses). model:
 * for stats (e.g. "openai gpt-4o-mini"); text: len bytes, any bytes;
 * finish_reason: up to 31 bytes are kept; tokens -1 when not reported.
 * Returns 0, or -1 (cache_error says why). */
int cache_put(struct cache *c, const struct cache_key *k, const char *model,
	      const char *text, size_t len, const char *finish_reason,
	      int64_t input_tokens, int64_t output_tokens, double cost_usd);

struct cache_stats {
	long entries;         /* stored answers */
	long long bytes;      /* their text bytes */
	long hits, misses;    /* since the file was made or cleared (persisted) */
	double saved_usd;     /* cost of the answers served from it */
	const char *path;     /* borrowed until cache_close */
};

/* Fills *s (writing this connection's pending counters first). Returns 0
 * or -1. */
int cache_stats(struct cache *c, struct cache_stats *s);

/* Calls fn once per model that has stored answers, with their count,
 * their text bytes and what they cost when made, most entries first.
 * Stops at the first fn that returns non-zero and returns that value;
 * else returns 0, or -1 on a database error. */
int cache_stats_models(struct cache *c,
		       int (*fn)(void *ctx, const char *model, long entries,
				 long long bytes, double cost_usd),
		       void *ctx);

/* Deletes every entry and resets the counters; the file stays (its free
 * pages are given back to the file system). Returns 0 or -1. */
int cache_clear(struct cache *c);

/* Why the last failing call on c failed (SQLite's words), borrowed until
 * the next call on c; "" when none has failed. */
const char *cache_error(const struct cache *c);

/* The public handle of include/quorum.h (cache_api.c). */
struct quorum_cache {
	struct cache *store;
};

#endif
