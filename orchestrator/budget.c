/* The run's budget: no attempt starts once max_calls or max_usd would be
 * passed. Each attempt reserves its worst case (the prompt's bytes as
 * input tokens, which bounds any tokenizer that spends a byte or more per
 * token, and max_tokens as output) and settles at its real cost, so calls
 * running in parallel cannot overspend together. */
#include <string.h>

#include "run.h"

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

int budget_reserve(struct run *r, struct call *c)
{
	const struct workflow *wf = r->wf;
	if (wf->has_max_calls && r->calls_started + 1 > wf->max_calls)
		return -1;
	if (!wf->has_max_usd)
		return 0;
	double w = budget_worst_case_usd(c->model, &c->cs, c->system, c->prompt);
	if (r->spent_usd + r->reserved_usd + w > wf->max_usd * (1 + 1e-9))
		return -1;
	c->reserved_usd = w;
	r->reserved_usd += w;
	return 0;
}

void budget_settle(struct run *r, struct call *c, double actual_usd)
{
	r->reserved_usd -= c->reserved_usd;
	if (r->reserved_usd < 0)
		r->reserved_usd = 0;
	c->reserved_usd = 0;
	r->spent_usd += actual_usd;
}
