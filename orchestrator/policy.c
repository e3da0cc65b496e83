/* Retry, backoff, rpm and breaker decisions: pure, see policy.h. */
#include "policy.h"

int64_t policy_backoff_ms(int attempt, double u, int64_t retry_after_ms)
{
	int64_t d = POLICY_BACKOFF_BASE_MS;
	for (int i = 1; i < attempt && d < POLICY_BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > POLICY_BACKOFF_CAP_MS)
		d = POLICY_BACKOFF_CAP_MS;
	if (u < 0)
		u = 0;
	if (u >= 1)
		u = 0.999999;
	d = d / 2 + (int64_t)(u * (double)(d / 2));
	int64_t ra = retry_after_ms;
	if (ra > POLICY_RETRY_AFTER_CAP_MS)
		ra = POLICY_RETRY_AFTER_CAP_MS;
	return ra > d ? ra : d;
}

int policy_should_retry(enum err_class err, int attempt, int retries, int broken)
{
	return err_class_retryable(err) && attempt <= retries && !broken;
}

enum err_class policy_curl_class(CURLcode code, int body_started, const char **msg)
{
	*msg = curl_easy_strerror(code);
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		return ERR_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		/* What curl 7.88 says of a header line over its 100 KiB bound;
		 * running out of memory for real is far rarer. */
		*msg = "a response header was larger than curl accepts (100 KiB)";
		return ERR_TOO_LARGE;
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2_STREAM:
		if (body_started) {
			*msg = "the connection closed before the response ended";
			return ERR_TRUNCATED;
		}
		return ERR_CONNECTION;
	default:
		return ERR_CONNECTION;
	}
}

void rpm_init(struct rpm_window *w, int64_t *starts, size_t cap)
{
	w->starts = starts;
	w->cap = starts ? cap : 0;
	w->n = w->pos = 0;
}

int64_t rpm_blocked_until(const struct rpm_window *w, int64_t now)
{
	if (!w->cap || w->n < w->cap)
		return 0;
	int64_t open = w->starts[w->pos] + POLICY_RPM_WINDOW_MS;
	return open > now ? open : 0;
}

void rpm_record(struct rpm_window *w, int64_t now)
{
	if (!w->cap)
		return;
	if (w->n < w->cap) {
		w->starts[(w->pos + w->n++) % w->cap] = now;
	} else {
		w->starts[w->pos] = now;
		w->pos = (w->pos + 1) % w->cap;
	}
}

int breaker_record(struct breaker *b, int ok, int64_t now)
{
	b->probing = 0;
	if (ok) {
		b->consecutive = 0;
		b->open = 0;
		return 0;
	}
	if (b->open) {
		/* A probe that failed: closed again for another cooldown. */
		b->opened_at = now;
		return 0;
	}
	if (++b->consecutive < POLICY_BREAKER_THRESHOLD)
		return 0;
	b->open = 1;
	b->opened_at = now;
	return 1;
}

int breaker_allows(struct breaker *b, int64_t now)
{
	if (!b->open)
		return 1;
	if (b->probing || now < b->opened_at + POLICY_BREAKER_COOLDOWN_MS)
		return 0;
	b->probing = 1;
	return 1;
}

/* ---- endpoints ---- */

static int better(const struct endpoint_view *a, const struct endpoint_view *b, int strategy)
{
	if (strategy == 1)
		return a->in_flight < b->in_flight;
	/* An endpoint never tried is measured first. */
	if (!a->latency_ms != !b->latency_ms)
		return !a->latency_ms;
	return a->latency_ms < b->latency_ms;
}

size_t endpoint_pick(const struct endpoint_view *v, size_t n, int strategy, int64_t now,
		     double u)
{
	size_t ready = 0, soonest = 0;
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].cool_until > now) {
			if (v[i].cool_until < v[soonest].cool_until)
				soonest = i;
			continue;
		}
		ready++;
		total += v[i].weight;
	}
	if (!ready)
		return soonest;
	size_t pick = n;
	for (size_t i = 0; i < n; i++) {
		if (v[i].cool_until > now)
			continue;
		if (strategy == 0) {
			/* Weighted: walk until the draw is used up. */
			double w = total > 0 ? v[i].weight / total : 1.0 / (double)ready;
			pick = i;
			if (u < w)
				break;
			u -= w;
		} else if (pick == n || better(&v[i], &v[pick], strategy)) {
			pick = i;
		}
	}
	return pick;
}

double endpoint_latency(double avg, int64_t ms)
{
	return avg > 0 ? 0.8 * avg + 0.2 * (double)ms : (double)(ms > 0 ? ms : 1);
}

int64_t endpoint_rest_until(enum err_class err, int64_t now, int64_t cooldown_ms,
			    int64_t retry_after_ms)
{
	switch (err) {
	case ERR_RATE_LIMITED:
	case ERR_QUOTA:
	case ERR_OVERLOADED:
	case ERR_SERVER:
	case ERR_TIMEOUT:
	case ERR_CONNECTION:
		break;
	default:
		return 0;
	}
	int64_t rest = cooldown_ms;
	if (retry_after_ms > rest)
		rest = retry_after_ms < POLICY_RETRY_AFTER_CAP_MS ? retry_after_ms
								  : POLICY_RETRY_AFTER_CAP_MS;
	return rest > 0 ? now + rest : 0;
}
