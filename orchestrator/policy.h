#ifndef QUORUM_POLICY_H
#define QUORUM_POLICY_H
/* What to do when a call fails, as pure functions of what happened and
 * of the time: the backoff before a retry (jittered, honouring
 * Retry-After), whether to retry at all, a model's rpm window and its
 * circuit breaker, and the error class of a transfer that curl ended.
 * No clock, no network, no randomness of its own: time and chance come in
 * as arguments, so a test drives it with a fake clock. */
#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "../providers/provider.h"

/* A model that fails this many attempts in a row is skipped for the rest
 * of the run: its calls go straight to their fallbacks. */
#define POLICY_BREAKER_THRESHOLD 3
#define POLICY_BACKOFF_BASE_MS 500
#define POLICY_BACKOFF_CAP_MS 30000
/* Retry-After is honoured up to this; a server asking for more gets it
 * capped rather than stalling the whole run. */
#define POLICY_RETRY_AFTER_CAP_MS 60000

/* The wait before attempt `attempt` + 1, after `attempt` attempts failed
 * (1-based): exponential from 500 ms, capped at 30 s, with equal jitter
 * (half fixed, half u * half, u uniform in [0, 1)), so the retries of a
 * fan-out that failed together do not come back together; never shorter
 * than the server's Retry-After (ms, -1 when none; capped at 60 s). */
int64_t policy_backoff_ms(int attempt, double u, int64_t retry_after_ms);

/* Whether a call whose attempt `attempt` (1-based) failed with err gets
 * another attempt on the same model: a retryable class, retries left,
 * and the model not skipped by its breaker. */
int policy_should_retry(enum err_class err, int attempt, int retries, int broken);

/* The class and message of a transfer that curl ended with code (not
 * CURLE_OK). body_started: a 2xx status line had come, so a broken
 * connection truncated an answer rather than failing to get one. *msg is
 * static text. */
enum err_class policy_curl_class(CURLcode code, int body_started, const char **msg);

/* The span an rpm limit counts calls over. */
#define POLICY_RPM_WINDOW_MS 60000

/* The rpm window of a model: the start times of its last `cap` calls. */
struct rpm_window {
	int64_t *starts;     /* ring of cap entries; caller-owned */
	size_t cap, n, pos;
};

/* cap 0: no limit. starts must hold cap entries. */
void rpm_init(struct rpm_window *w, int64_t *starts, size_t cap);
/* 0 when a call may start at now; else the time the window opens. */
int64_t rpm_blocked_until(const struct rpm_window *w, int64_t now);
/* A call started at now. */
void rpm_record(struct rpm_window *w, int64_t now);

/* How long an open breaker skips its model before it lets one call
 * through to try again (half-open). A run is seldom this long; an engine
 * that runs for days must not lose a model for good to one bad minute. */
#define POLICY_BREAKER_COOLDOWN_MS 30000

/* A model's circuit breaker: open after POLICY_BREAKER_THRESHOLD
 * failures in a row; after POLICY_BREAKER_COOLDOWN_MS one attempt may
 * try again, and its outcome closes or reopens it. */
struct breaker {
	int consecutive;
	int open;
	int64_t opened_at;   /* ms, when it (re)opened */
	int probing;         /* half-open: the one attempt is out */
};

/* Records an attempt's outcome at now. Returns 1 when this failure opened
 * the breaker, else 0. */
int breaker_record(struct breaker *b, int ok, int64_t now);
/* Whether a call may try the model at now: closed, or open past its
 * cooldown with no probe out (which then becomes the probe). */
int breaker_allows(struct breaker *b, int64_t now);

/* ---- a model's endpoints (LiteLLM's deployments) ---- */

struct endpoint_view {
	double weight;          /* shuffle's odds */
	int in_flight;
	double latency_ms;      /* recent successful attempts (EWMA); 0: none yet */
	int64_t cool_until;     /* resting after a failure until then (ms); 0: not */
};

/* The endpoint of n (n >= 1) a call's attempt goes to at time now, by
 * strategy (enum endpoint_strategy: 0 shuffle, 1 least_busy, 2 latency):
 * among those not resting (when all are, the one that rests least long);
 * shuffle draws by weight with u uniform in [0, 1); least_busy takes the
 * fewest in flight; latency the lowest recent latency, one not yet tried
 * first. Ties go to the earlier one. */
size_t endpoint_pick(const struct endpoint_view *v, size_t n, int strategy, int64_t now,
		     double u);
/* The new latency average after an attempt that took ms. */
double endpoint_latency(double avg, int64_t ms);
/* Until when an endpoint rests after an attempt that failed with err:
 * now + cooldown, or + the server's Retry-After when longer (capped as
 * the backoff caps it); 0 (no rest) for a failure that says nothing
 * about the endpoint (bad_request, auth, content_filter, ...). */
int64_t endpoint_rest_until(enum err_class err, int64_t now, int64_t cooldown_ms,
			    int64_t retry_after_ms);

#endif
