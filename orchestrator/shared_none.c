/* A build without hiredis (-Dshared=disabled): no shared state. Every
 * engine keeps its limits in-process, and --shared is refused when it is
 * asked for, naming the reason; nothing else here is ever reached, as no
 * struct shared can be made. */
#include <stdio.h>

#include "shared.h"

int shared_available(void) { return 0; }

struct shared *shared_open(const char *url, char *err, size_t n)
{
	(void)url;
	snprintf(err, n, "this build has no Redis support (built without hiredis)");
	return NULL;
}

void shared_free(struct shared *s) { (void)s; }

const char *shared_shown(const struct shared *s)
{
	(void)s;
	return "";
}

int shared_up(struct shared *s)
{
	(void)s;
	return 0;
}

const char *shared_lost(const struct shared *s)
{
	(void)s;
	return "no Redis support";
}

enum shared_admit shared_admit(struct shared *s, const char *key, long rpm,
			       int64_t window_ms, int threshold, int64_t cooldown_ms,
			       long want, int64_t *ms, long *fails, long *granted)
{
	(void)s, (void)key, (void)rpm, (void)window_ms, (void)threshold, (void)cooldown_ms;
	(void)want;
	*ms = 0;
	*fails = 0;
	*granted = 0;
	return SHARED_DOWN;
}

long shared_breaker_report(struct shared *s, const char *key, int ok, int threshold,
			   int64_t cooldown_ms, const char *why)
{
	(void)s, (void)key, (void)ok, (void)threshold, (void)cooldown_ms, (void)why;
	return -1;
}

int shared_breaker_why(struct shared *s, const char *key, char *out, size_t n)
{
	(void)s, (void)key, (void)out, (void)n;
	return -1;
}

int shared_budget_reserve(struct shared *s, double limit_usd, double worst_usd)
{
	(void)s, (void)limit_usd, (void)worst_usd;
	return -1;
}

void shared_budget_settle(struct shared *s, double held_usd, double actual_usd)
{
	(void)s, (void)held_usd, (void)actual_usd;
}

double shared_budget_spent(struct shared *s)
{
	(void)s;
	return -1;
}

int shared_cache_get(struct shared *s, const struct cache_key *k, struct cache_entry *e)
{
	(void)s, (void)k, (void)e;
	return -1;
}

int shared_cache_put(struct shared *s, const struct cache_key *k, const char *text,
		     size_t len, const char *finish_reason, int64_t input_tokens,
		     int64_t output_tokens, double cost_usd)
{
	(void)s, (void)k, (void)text, (void)len, (void)finish_reason;
	(void)input_tokens, (void)output_tokens, (void)cost_usd;
	return -1;
}
