#include "decide.h"

int vote_decided(const struct wf_node *vote_node, const struct vote_candidate *done,
		 size_t ndone, const char *const *pending_models, size_t npending)
{
	double pending = 0;
	for (size_t i = 0; i < npending; i++)
		pending += vote_weight(vote_node, pending_models[i]);
	if (pending <= 0)
		return 1;
	struct arena *a = arena_new();
	if (!a)
		return 0;
	double lead = 0, second = 0, total = pending;
	struct vote_result r;
	if (ndone && vote_run(vote_node, done, ndone, a, &r) == 0) {
		lead = r.buckets[0].weight;
		second = r.nbuckets > 1 ? r.buckets[1].weight : 0;
		total += r.buckets[0].weight / (r.agreement > 0 ? r.agreement : 1);
	}
	arena_free(a);
	/* Sums of weights like 0.1 + 0.2 are compared as vote.c compares
	 * them: closer than a billionth of the total is a tie. */
	return lead > second + pending + 1e-9 * total;
}
