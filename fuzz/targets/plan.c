/* The plan node's reader: the planner's JSON (bare, fenced or in prose)
 * to a validated sub-DAG, and the prompts built from it.
 *
 * Input: byte 0 max_subtasks (0..40); the rest is the planner's reply. */
#include "../../aggregators/plan.h"
#include "../fuzz.h"

static void check_plan(const struct plan *p, size_t max)
{
	fuzz_check(p->n > 0 && p->n <= max, "a plan of %zu subtasks, max %zu", p->n, max);
	unsigned char *pos_seen = q_calloc(p->n, 1);
	size_t *pos = q_calloc(p->n, sizeof(*pos));
	fuzz_check(pos_seen && pos, "out of memory");
	for (size_t k = 0; k < p->n; k++) {
		size_t i = p->order[k];
		fuzz_check(i < p->n && !pos_seen[i], "order is not a permutation");
		pos_seen[i] = 1;
		pos[i] = k;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_subtask *s = &p->subtasks[i];
		fuzz_check(s->id && *s->id && s->task && *s->task, "an empty id or task");
		for (size_t j = 0; j < i; j++)
			fuzz_check(strcmp(p->subtasks[j].id, s->id), "id '%s' twice", s->id);
		for (size_t k = 0; k < s->nneeds; k++) {
			size_t d = s->needs[k];
			fuzz_check(d < p->n && d != i, "subtask %zu needs %zu", i, d);
			fuzz_check(pos[d] < pos[i], "order runs %zu before its need %zu", i, d);
			for (size_t m = 0; m < k; m++)
				fuzz_check(s->needs[m] != d, "a need listed twice");
		}
	}
	q_free(pos_seen);
	q_free(pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	size_t max = fuzz_byte(&in) % 41;
	char *reply = fuzz_rest(&in);
	struct arena *a = arena_new();
	if (!reply || !a) {
		q_free(reply);
		arena_free(a);
		return 0;
	}
	struct plan p;
	struct qerr e = {0};
	if (plan_parse(reply, max, a, &p, &e) == 0) {
		check_plan(&p, max);
		const char **results = q_calloc(p.n, sizeof(*results));
		fuzz_check(results != NULL, "out of memory");
		for (size_t i = 0; i < p.n; i++)
			results[i] = i % 2 ? p.subtasks[i].task : NULL;
		struct buf out = BUF_INIT;
		for (size_t i = 0; i < p.n; i++)
			fuzz_check(!plan_subtask_prompt(&out, "q", &p, i, results),
				   "plan_subtask_prompt failed");
		fuzz_check(!plan_format_results(&out, &p, results), "plan_format_results failed");
		buf_release(&out);
		q_free(results);
	} else {
		fuzz_check(e.msg[0] != '\0', "a refused plan with no message");
		struct buf sys = BUF_INIT, user = BUF_INIT;
		fuzz_check(!plan_build_retry_prompt(&sys, &user, "q", max, 1, reply, e.msg),
			   "plan_build_retry_prompt failed");
		buf_release(&sys);
		buf_release(&user);
	}
	arena_free(a);
	q_free(reply);
	return 0;
}
