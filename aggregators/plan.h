#ifndef QUORUM_PLAN_H
#define QUORUM_PLAN_H
#include <stddef.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/qerr.h"

/* The plan node's pure parts, after HybridFlow (Dong et al., 2025,
 * arXiv:2512.22137): a planner model splits the task into subtasks with
 * dependencies, answering one JSON object; quorum validates it and runs
 * the subtasks as a sub-DAG, each seeing its dependencies' results. */

struct plan_subtask {
	const char *id;      /* as the planner wrote it */
	const char *task;
	size_t *needs;       /* indices into plan.subtasks, each once, as listed */
	size_t nneeds;
	/* The planner's estimates, when asked for (a route in the plan's run
	 * sends easy subtasks to a small model, hard ones to a strong one):
	 * difficulty 0 (easy) .. 1 (hard), tokens of the answer; -1 when
	 * absent or not readable (an estimate never fails a plan). */
	double difficulty;
	long tokens;
};

struct plan {
	struct plan_subtask *subtasks; /* as the planner listed them */
	size_t n;
	size_t *order;                 /* all n indices in a topological order:
					* the listed order wherever the needs
					* allow it */
};

/* Appends the planner's system message (the role, the exact JSON shape,
 * the rules: at most max_subtasks, unique ids, needs naming earlier ids,
 * only the JSON object; with estimates, each subtask's "difficulty" (easy,
 * medium or hard) and "tokens") and the user message (the task) to system
 * and user. Returns 0 or -1 (a buffer full). */
int plan_build_prompt(struct buf *system, struct buf *user, const char *task,
		      size_t max_subtasks, int estimates);

/* The one retry: appends the same system message and a user message with
 * the task, the planner's previous reply when not NULL (cut to 8 KiB) and
 * error (plan_parse's message), asking for a corrected object. Returns 0
 * or -1. */
int plan_build_retry_prompt(struct buf *system, struct buf *user, const char *task,
			    size_t max_subtasks, int estimates, const char *previous,
			    const char *error);

/* Reads and validates the planner's reply into out, all memory from a
 * (each subtask's "difficulty": a number from 0 to 1 or easy, medium,
 * hard as 1/6, 1/2, 5/6; "tokens": a whole number; both optional):
 * the first JSON object with "subtasks" (bare, fenced or among prose); a
 * non-empty array of at most max_subtasks objects, each with a non-empty
 * string "id" unique in the plan, a non-empty string "task" and "needs", a
 * list of known ids (absent or null: none; a subtask's own id or a
 * duplicate entry are errors only as a cycle or are merged), and no cycle.
 * Returns 0, or -1 with e set to one message the planner can act on when
 * it is sent back: "the plan has 12 subtasks, more than max_subtasks 8",
 * "subtask 's3' needs unknown id 's9' (known ids: s1, s2, s3)", "the needs
 * form a cycle: s1 -> s2 -> s1 (each needs the next)", "the reply is not
 * valid JSON: error at line 3, column 14". */
int plan_parse(const char *reply, size_t max_subtasks, struct arena *a,
	       struct plan *out, struct qerr *e);

/* Appends subtask i's prompt: the overall question, the results of its
 * needs in listed order, each under its id and task, then its own task.
 * results[j] is subtask j's result (NULL reads as empty). Returns 0 or
 * -1. */
int plan_subtask_prompt(struct buf *out, const char *query, const struct plan *p,
			size_t i, const char *const *results);

/* Appends the node's output: every subtask in p->order as "[ID] task"
 * followed by its result, separated by blank lines. Returns 0 or -1. */
int plan_format_results(struct buf *out, const struct plan *p,
			const char *const *results);

#endif
