/* The run's budget, see budget.h. */
#include <string.h>

#include "budget.h"

double response_cost(const struct wf_model *m, int64_t in, int64_t out, int *known)
{
	if (!m->price_known) {
		*known = 0;
		return 0;
	}
	*known = 1;
	double i = in > 0 ? (double)in : 0, o = out > 0 ? (double)out : 0;
	return (i * m->price_in + o * m->price_out) / 1e6;
}

double budget_worst_case_usd(const struct wf_model *m, const struct call_settings *cs,
			     const char *system, const char *prompt)
{
	if (!m->price_known)
		return 0;
	double in = (double)((system ? strlen(system) : 0) + (prompt ? strlen(prompt) : 0)) + 16;
	double out = cs->max_tokens > 0 ? cs->max_tokens : 4096;
	return (in * m->price_in + out * m->price_out) / 1e6;
}

void budget_init(struct budget *b, const struct workflow *wf)
{
	memset(b, 0, sizeof(*b));
	b->has_usd = wf->has_max_usd;
	b->has_calls = wf->has_max_calls;
	b->max_usd = wf->max_usd;
	b->max_calls = wf->max_calls;
}

int budget_reserve(struct budget *b, double worst_usd, double *held)
{
	*held = 0;
	if ((b->has_calls && b->started + 1 > b->max_calls) ||
	    (b->has_usd &&
	     b->spent_usd + b->reserved_usd + worst_usd > b->max_usd * (1 + 1e-9))) {
		b->hit = 1;
		return -1;
	}
	if (b->has_usd) {
		*held = worst_usd;
		b->reserved_usd += worst_usd;
	}
	b->started++;
	return 0;
}

void budget_settle(struct budget *b, double *held, double actual_usd)
{
	b->reserved_usd -= *held;
	if (b->reserved_usd < 0)
		b->reserved_usd = 0;
	*held = 0;
	b->spent_usd += actual_usd;
}
