#ifndef QUORUM_BUDGET_H
#define QUORUM_BUDGET_H
/* The run's budget and what calls cost. No attempt starts once max_calls
 * or max_usd would be passed: each attempt reserves its worst case (the
 * prompt's bytes as input tokens, which bounds any tokenizer that spends
 * a byte or more per token, and max_tokens as output) and settles at its
 * real cost, so calls running in parallel cannot overspend together. */
#include "../dag/workflow.h"

struct budget {
	int has_usd, has_calls;
	double max_usd;
	long max_calls;
	double spent_usd, reserved_usd;
	long started;              /* requests sent, re-sends included */
	int hit;                   /* a call was not started because of it */
};

/* The workflow's budget (none set: no limit). */
void budget_init(struct budget *b, const struct workflow *wf);
/* Reserves one attempt of worst case `worst_usd`. Returns 0 with *held
 * set (settle it later), or -1 when it would pass a limit (b->hit set). */
int budget_reserve(struct budget *b, double worst_usd, double *held);
/* Releases what an attempt held and books what it really cost. */
void budget_settle(struct budget *b, double *held, double actual_usd);

/* The most one attempt of m can cost with these settings and messages
 * (0 when m has no price). */
double budget_worst_case_usd(const struct wf_model *m, const struct call_settings *cs,
			     const char *system, const char *prompt);
/* What a response cost; *known is 0 when m has no price. */
double response_cost(const struct wf_model *m, int64_t in, int64_t out, int *known);

#endif
