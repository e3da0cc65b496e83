#include "plan.h"

#include <string.h>

/* The planner instruction follows HybridFlow's task decomposition
 * (Dong et al., 2025): a DAG of self-contained subtasks with explicit
 * dependencies, so independent ones run in parallel and each gets only
 * the results it needs; the output is strict JSON so it can be checked. */
static int put_system(struct buf *b, size_t max_subtasks, int estimates)
{
	int rc = buf_printf(b,
		"You are a planner. Break the user's task into subtasks that other "
		"assistants will solve. Subtasks that do not depend on each other run "
		"in parallel; a subtask sees only the overall task and the results of "
		"the subtasks it needs.\n\n"
		"Answer with ONLY a JSON object of this shape, with no text before or "
		"after it:\n"
		"{\"subtasks\": [{\"id\": \"s1\", \"task\": \"...\", \"needs\": []}, "
		"{\"id\": \"s2\", \"task\": \"...\", \"needs\": [\"s1\"]}]}\n\n"
		"Rules:\n"
		"- at most %zu subtasks; use as few as the task needs (one is fine for "
		"a simple task)\n"
		"- every \"id\" is a short string, unique in the plan (s1, s2, ...)\n"
		"- every \"task\" is a complete, self-contained instruction\n"
		"- \"needs\" lists the ids of earlier subtasks whose results this one "
		"uses, [] when none; the needs must not form a cycle\n"
		"- when the results must be combined, end with a subtask that needs "
		"the others and writes the final answer",
		max_subtasks);
	/* HybridFlow's planner also says how hard each subtask is, so easy
	 * ones go to a small model and hard ones to a strong one. */
	if (!rc && estimates)
		rc = buf_puts(b, "\n- also give every subtask \"difficulty\": \"easy\", "
			      "\"medium\" or \"hard\" (how hard it is for a small model), and "
			      "\"tokens\": about how many tokens its answer needs, as in "
			      "{\"id\": \"s1\", \"task\": \"...\", \"needs\": [], "
			      "\"difficulty\": \"easy\", \"tokens\": 150}");
	return rc;
}

int plan_build_prompt(struct buf *system, struct buf *user, const char *task,
		      size_t max_subtasks, int estimates)
{
	if (put_system(system, max_subtasks, estimates))
		return -1;
	return buf_puts(user, "Task:\n") || buf_puts(user, task ? task : "") ? -1 : 0;
}

#define PLAN_ECHO_MAX 8192

int plan_build_retry_prompt(struct buf *system, struct buf *user, const char *task,
			    size_t max_subtasks, int estimates, const char *previous,
			    const char *error)
{
	if (plan_build_prompt(system, user, task, max_subtasks, estimates))
		return -1;
	if (previous) {
		size_t n = strlen(previous);
		if (buf_puts(user, "\n\nYour previous plan:\n") ||
		    buf_append(user, previous, n < PLAN_ECHO_MAX ? n : PLAN_ECHO_MAX) ||
		    (n > PLAN_ECHO_MAX && buf_puts(user, "\n[...]")))
			return -1;
	}
	if (buf_puts(user, "\n\nThat plan was refused: ") ||
	    buf_puts(user, error ? error : "it is not a valid plan") ||
	    buf_puts(user, ".\nAnswer again with only the corrected JSON object."))
		return -1;
	return 0;
}

/* "[s1] Find the population of France" */
static int put_heading(struct buf *out, const struct plan_subtask *t)
{
	return buf_putc(out, '[') || buf_puts(out, t->id) || buf_puts(out, "] ") ||
	       buf_puts(out, t->task);
}

int plan_subtask_prompt(struct buf *out, const char *query, const struct plan *p,
			size_t i, const char *const *results)
{
	const struct plan_subtask *t = &p->subtasks[i];
	if (buf_puts(out, "You are solving one step of a larger task.\n\nOverall task:\n") ||
	    buf_puts(out, query ? query : ""))
		return -1;
	if (t->nneeds && buf_puts(out, "\n\nResults of the steps this one builds on:"))
		return -1;
	for (size_t k = 0; k < t->nneeds; k++) {
		size_t j = t->needs[k];
		const char *r = results ? results[j] : NULL;
		if (buf_puts(out, "\n\n") || put_heading(out, &p->subtasks[j]) ||
		    buf_putc(out, '\n') || buf_puts(out, r ? r : ""))
			return -1;
	}
	if (buf_puts(out, "\n\nYour step (") || buf_puts(out, t->id) ||
	    buf_puts(out, "):\n") || buf_puts(out, t->task) ||
	    buf_puts(out, "\n\nDo this step only, and answer it directly."))
		return -1;
	return 0;
}

int plan_format_results(struct buf *out, const struct plan *p,
			const char *const *results)
{
	for (size_t k = 0; k < p->n; k++) {
		size_t j = p->order[k];
		const char *r = results ? results[j] : NULL;
		if ((k && buf_puts(out, "\n\n")) || put_heading(out, &p->subtasks[j]) ||
		    buf_putc(out, '\n') || buf_puts(out, r ? r : ""))
			return -1;
	}
	return 0;
}
