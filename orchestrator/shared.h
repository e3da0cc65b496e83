#ifndef QUORUM_SHARED_H
#define QUORUM_SHARED_H
/* State that several quorum processes share (--shared redis://HOST:PORT):
 * each model's rpm window and circuit breaker, the spend against a shared
 * budget, and the response cache's answers. Without it (a NULL struct
 * shared), everything stays in the process, as the pool, budget.c and
 * cache.c keep it.
 *
 * The pure parts (the URL, the keys, the cache entry's wire form) are in
 * shared.c; shared_redis.c talks to Redis through hiredis, one synchronous
 * round trip per operation on a short timeout. An operation that fails
 * (Redis went away, a timeout) marks the connection lost: the caller then
 * falls back to its in-process state, shared_lost says why, and Redis is
 * tried again, less and less often, until it answers. Loop thread only. */
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

struct shared;

/* ---- shared.c: pure ---- */

/* A parsed --shared URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or
 * unix://[[USER]:PASSWORD@]/PATH[?db=N]. */
struct shared_url {
	char host[256];          /* "" for a unix socket */
	int port;                /* 6379 unless given */
	char path[256];          /* the unix socket; "" for TCP */
	char user[128];          /* "" : the default user */
	char password[256];      /* "" : none */
	int db;                  /* SELECTed when not 0 */
	char shown[600];         /* the URL to print: never the password */
};

/* Parses text into *u. Returns 0, or -1 with why in err (n bytes; the
 * message never repeats the password). */
int shared_url_parse(struct shared_url *u, const char *text, char *err, size_t n);

/* The key of a model's state: prefix (e.g. "quorum:rpm:") and the first
 * 16 bytes of the SHA-256 of ident (provider, base URL, model, key
 * variable: what makes two models one for a provider's limits), in hex.
 * out holds n bytes (64 is plenty). */
void shared_model_key(char *out, size_t n, const char *prefix, const char *ident);

/* The cache entry under k: "quorum:cache:" and its 64 hex digits. */
void shared_cache_key(char *out, size_t n, const struct cache_key *k);

/* A cache entry as the bytes Redis keeps, and back. shared_entry_pack
 * returns new memory (q_free) of *len bytes, or NULL when memory ran out.
 * shared_entry_unpack fills *e (release with cache_entry_release) and
 * returns 0, or -1 on anything it did not write (e is then empty). */
char *shared_entry_pack(const char *text, size_t len, const char *finish_reason,
			int64_t input_tokens, int64_t output_tokens, double cost_usd,
			size_t *len_out);
int shared_entry_unpack(const char *data, size_t len, struct cache_entry *e);

/* ---- shared_redis.c: the shared state in Redis ---- */

/* How long a cached answer lives in Redis. */
#define SHARED_CACHE_TTL_S (7 * 24 * 3600)
/* A breaker's failure count is forgotten this long after its last
 * failure, so a key for a model nobody calls any more goes away. */
#define SHARED_BREAKER_TTL_MS (3600 * 1000)

/* Whether this build can share state (it was built with hiredis). */
int shared_available(void);

/* Connects to the URL and checks that Redis answers (AUTH and SELECT
 * included). Returns new (free with shared_free), or NULL with the reason
 * in err ("redis://HOST:PORT: connection refused"; never the password). */
struct shared *shared_open(const char *url, char *err, size_t n);
void shared_free(struct shared *s);

/* The URL as it may be printed (no password); borrowed. */
const char *shared_shown(const struct shared *s);
/* NULL while Redis answers; else why it was given up (borrowed). */
const char *shared_lost(const struct shared *s);
/* 1 while Redis answers; when it is lost, tries it again if the wait
 * since the last try is over (250 ms, doubling to 30 s), and says so on
 * standard error when it is back. 0 while it stays lost. */
int shared_up(struct shared *s);

enum shared_admit {
	SHARED_GO,               /* the call may start now (and was counted) */
	SHARED_WAIT,             /* the rpm window is full: *ms until a slot frees */
	SHARED_BROKEN,           /* the model's breaker is open: *ms until a probe */
	SHARED_DOWN,             /* Redis is lost: decide in-process */
};

/* Asks whether calls to the model under key may start now, up to want
 * of them: its breaker (open after threshold failures in a row,
 * anywhere; after cooldown_ms one caller probes while the others wait
 * another cooldown), then its rpm window (rpm > 0: at most rpm starts in
 * any window_ms, counted by Redis's clock in one Lua script, so it is
 * exact across processes). On SHARED_GO, *granted (1 to want) starts
 * were logged as of now: the caller starts that many now or wastes
 * them, never later; *fails is the breaker's count of failures in a
 * row. */
enum shared_admit shared_admit(struct shared *s, const char *key, long rpm,
			       int64_t window_ms, int threshold, int64_t cooldown_ms,
			       long want, int64_t *ms, long *fails, long *granted);
/* Records an attempt's outcome for the breaker under key: a success
 * closes it, a failure counts (and opens it at threshold, for
 * cooldown_ms); why (a failure's, kept when it starts a streak) is what
 * shared_breaker_why gives the other processes. Returns the count of
 * failures in a row, or -1 when Redis is lost. */
long shared_breaker_report(struct shared *s, const char *key, int ok, int threshold,
			   int64_t cooldown_ms, const char *why);
/* The why of the failure that started the breaker's streak under key,
 * into out (n bytes). Returns 0, or -1 when there is none (or Redis is
 * lost). */
int shared_breaker_why(struct shared *s, const char *key, char *out, size_t n);

/* The shared budget: a limit (USD) that every process's calls count
 * against. Before an attempt, shared_budget_reserve holds its worst case;
 * returns 1 when it fits (settle it later), 0 when it would pass the
 * limit, -1 when Redis is lost. shared_budget_settle gives back what was
 * held and books what the attempt cost. shared_budget_spent: the spend
 * so far (-1 when lost). */
int shared_budget_reserve(struct shared *s, double limit_usd, double worst_usd);
void shared_budget_settle(struct shared *s, double held_usd, double actual_usd);
double shared_budget_spent(struct shared *s);

/* The cache's answers in Redis, with a TTL of SHARED_CACHE_TTL_S.
 * shared_cache_get returns 1 and fills *e on a hit, 0 on a miss, -1 when
 * lost. shared_cache_put returns 0 or -1. */
int shared_cache_get(struct shared *s, const struct cache_key *k, struct cache_entry *e);
int shared_cache_put(struct shared *s, const struct cache_key *k, const char *text,
		     size_t len, const char *finish_reason, int64_t input_tokens,
		     int64_t output_tokens, double cost_usd);

#endif
