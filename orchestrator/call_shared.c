/* What the calls room asks of the shared state (--shared, shared.h):
 * whether a model's shared rpm window and breaker let a call start, what
 * an attempt's outcome tells the breaker, the shared budget, and the
 * cache's answers in Redis. Without --shared (pool.shared NULL), or once
 * Redis is lost, every function here lets the in-process state decide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_int.h"

#define SHARED_BREAKER_POLL_MS 100
/* The most starts one round trip asks the shared window for. */
#define SHARED_ADMIT_BATCH 64

/* How many starts the model's queue could use now: its queued calls, as
 * many as its concurrency and this pump allow. */
static long starts_wanted(const struct model_state *ms, size_t left)
{
	long cap = SHARED_ADMIT_BATCH;
	if ((long)left < cap)
		cap = (long)left;
	if (ms->max_concurrency && ms->max_concurrency - ms->in_flight < cap)
		cap = ms->max_concurrency - ms->in_flight;
	long n = 0;
	for (const struct call *c = ms->qhead; c && n < cap; c = c->qnext)
		n++;
	return n > 0 ? n : 1;
}

/* The failure that started the shared streak, as another process kept
 * it ("CLASS\tHTTP\tMESSAGE"), becomes this model's first error: what
 * the calls the breaker skips here say. */
static void learn_why(struct pool *p, struct model_state *ms)
{
	char why[320];
	if (ms->first_msg[0] || shared_breaker_why(p->shared, ms->shared_key, why, sizeof(why)))
		return;
	char *tab = strchr(why, '\t'), *tab2 = tab ? strchr(tab + 1, '\t') : NULL;
	if (!tab2)
		return;
	*tab = *tab2 = '\0';
	ms->first_err = ERR_SERVER;
	for (int k = ERR_NONE + 1; k <= ERR_CANCELLED; k++)
		if (!strcmp(why, err_class_name((enum err_class)k)))
			ms->first_err = (enum err_class)k;
	/* Another program may have written it: an HTTP status or 0, never
	 * what atoi would make of a number too big for an int. */
	long http = strtol(tab + 1, NULL, 10);
	ms->first_http = http >= 100 && http <= 999 ? (int)http : 0;
	snprintf(ms->first_msg, sizeof(ms->first_msg), "%s", tab2 + 1);
}

int64_t call_shared_gate(struct pool *p, struct model_state *ms, int64_t now, size_t left)
{
	if (!p->shared || !shared_up(p->shared))
		return 0;
	/* Starts the window logged as of now: used now, or never. */
	if (ms->shared_credits > 0 && ms->shared_credit_at == now) {
		ms->shared_credits--;
		return 0;
	}
	ms->shared_credits = 0;
	if (ms->shared_until > now)
		return ms->shared_until;
	/* A model its breaker skips here or there starts nothing: its calls
	 * fail (or fall back) at once, without taking a slot of the window. */
	const struct breaker *b = &ms->breaker;
	if (ms->shared_broken_until > now ||
	    (b->open && (b->probing || now < b->opened_at + POLICY_BREAKER_COOLDOWN_MS)))
		return 0;
	/* As the in-process window counts: a fraction of one is one. */
	long rpm = ms->rpm_limit <= 0 ? 0 : ms->rpm_limit < 1 ? 1 : (long)ms->rpm_limit;
	long fails = 0, granted = 0;
	int64_t ms_left = 0;
	/* Without an rpm only the breaker is asked, at most every so often: a
	 * breaker another process opened is heard of within that, and a
	 * model called thousands of times a second does not pay a round
	 * trip for each. */
	if (!rpm && ms->shared_asked && now - ms->shared_asked < SHARED_BREAKER_POLL_MS)
		return 0;
	ms->shared_asked = now;
	switch (shared_admit(p->shared, ms->shared_key, rpm, POLICY_RPM_WINDOW_MS,
			     POLICY_BREAKER_THRESHOLD, POLICY_BREAKER_COOLDOWN_MS,
			     rpm ? starts_wanted(ms, left) : 1, &ms_left, &fails, &granted)) {
	case SHARED_WAIT:
		ms->shared_until = now + ms_left;
		return ms->shared_until;
	case SHARED_BROKEN:
		ms->shared_broken_until = now + ms_left;
		learn_why(p, ms);
		return 0;
	case SHARED_GO:
		ms->shared_fails = fails;
		ms->shared_credits = granted - 1;
		ms->shared_credit_at = now;
		return 0;
	case SHARED_DOWN:
		break;
	}
	return 0;
}

int call_shared_broken(const struct model_state *ms, int64_t now)
{
	return ms->shared_broken_until > now;
}

void call_shared_outcome(struct pool *p, struct model_state *ms, int ok, int64_t now)
{
	if (!p->shared || (ok && !ms->shared_fails && !ms->shared_broken_until))
		return;
	char why[320] = "";
	if (!ok)
		snprintf(why, sizeof(why), "%s\t%d\t%s", err_class_name(ms->first_err),
			 ms->first_http, ms->first_msg);
	long f = shared_breaker_report(p->shared, ms->shared_key, ok,
				       POLICY_BREAKER_THRESHOLD, POLICY_BREAKER_COOLDOWN_MS, why);
	if (f < 0)
		return;
	ms->shared_fails = f;
	if (ok)
		ms->shared_broken_until = 0;
	else if (f >= POLICY_BREAKER_THRESHOLD)
		ms->shared_broken_until = now + POLICY_BREAKER_COOLDOWN_MS;
}

int call_shared_reserve(struct call *c, double worst_usd)
{
	struct pool *p = c->cx->pool;
	c->shared_held_usd = 0;
	if (!p->shared || p->shared_budget_usd <= 0 || worst_usd <= 0)
		return 0;
	int fits = shared_budget_reserve(p->shared, p->shared_budget_usd, worst_usd);
	if (fits == 0)
		return -1;
	if (fits > 0)
		c->shared_held_usd = worst_usd;
	return 0;
}

void call_shared_settle(struct call *c, double actual_usd)
{
	struct pool *p = c->cx->pool;
	/* Spend is booked even when nothing was held (the price came known
	 * only now, or Redis came back): the limit is about what was spent. */
	if (!p->shared || p->shared_budget_usd <= 0 || (!c->shared_held_usd && actual_usd <= 0))
		return;
	shared_budget_settle(p->shared, c->shared_held_usd, actual_usd);
	c->shared_held_usd = 0;
}

int call_shared_cache_get(struct call *c, struct cache_entry *e)
{
	struct shared *s = c->cx->pool->shared;
	if (!s)
		return 0;
	int got = shared_cache_get(s, &c->key, e);
	if (got != 1)
		return 0;
	/* Kept in this machine's file too: the next lookup stays local. */
	char model[256];
	snprintf(model, sizeof(model), "%s %s", c->model->provider, c->model->model);
	cache_put(c->cx->cache, &c->key, model, e->text, e->len, e->finish_reason,
		  e->input_tokens, e->output_tokens, e->cost_usd);
	return 1;
}

void call_shared_cache_put(struct call *c, const char *text, size_t len,
			   const char *finish_reason, int64_t in, int64_t out, double cost)
{
	struct shared *s = c->cx->pool->shared;
	if (s)
		shared_cache_put(s, &c->key, text, len, finish_reason, in, out, cost);
}
