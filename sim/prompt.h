#ifndef QUORUM_SIM_PROMPT_H
#define QUORUM_SIM_PROMPT_H
#include <stddef.h>

#include "scenario.h"

struct sim_msg; /* decide.h; not included, so tests can use aggregators/plan.h */

/* Reading the prompts quorum's aggregators send (aggregators/judge.c,
 * rank.c, cascade.c, plan_prompt.c) by key phrases, not whole prompts, so
 * a reworded instruction still reads: which kind of request it is, the
 * anonymised "Response A", "Response B", ... sections, the answer a
 * self-check or a rating is about, a planner's task. Pure. */

/* The first place needle occurs in hay[0..len), any case (ASCII), or
 * NULL; an empty needle is never found. */
const char *prompt_find(const char *hay, size_t len, const char *needle);

/* Returns new: every message's content joined by blank lines, the text
 * rules and kinds are read from; free with q_free. NULL when memory ran
 * out. */
char *prompt_join(const struct sim_msg *msgs, size_t n);

/* Which aggregator request joined is, PK_NONE for any other prompt. */
enum prompt_kind prompt_kind_of(const char *joined);

/* One anonymised response: its label letter and its text, borrowed from
 * the prompt. */
struct section {
	char label;        /* 'A'..'Z' */
	const char *text;
	size_t len;
};

#define PROMPT_SECTIONS_MAX 26

/* Finds the sections "Response A" .. "Response Z" (also "Assistant A",
 * "Candidate A") in text, however laid out: "[The Start of Response A]"
 * ... "[The End of Response A]" (judge), a line "Response A:" with the
 * text below or after it (rank), a heading "### Response A" or "**Response
 * A**". A section runs to the next one, an "[The End of" line or the
 * instructions after the last one ("Your task:", "FINAL RANKING", ...).
 * Fills out (room for PROMPT_SECTIONS_MAX) sorted by label, each label
 * once; returns how many. */
size_t prompt_sections(const char *text, struct section *out);

/* Whether text[0..len) gives the short answer: its last "Answer: X" line
 * names it when there is one, else the text holds it as a whole word
 * ("12" is not in "12.5" or "112"); any case. */
int prompt_says(const char *text, size_t len, const char *short_answer);

/* The answer a self-check ("Answer:" then the text) or a rating request
 * ("[The Start of Assistant's Answer]") is about, within joined; the
 * whole of joined when neither layout is found. */
void prompt_answer(const char *joined, enum prompt_kind kind, const char **text,
		   size_t *len);

/* A planner request's task: the text after "Task:" in the last user
 * message up to a retry's "Your previous plan:" or "That plan was
 * refused", else the whole last user message. */
void prompt_task(const struct sim_msg *msgs, size_t n, const char **text,
		 size_t *len);

/* The number in "at most N subtasks" (any case), or 0. */
size_t prompt_max_subtasks(const char *joined);

#endif
