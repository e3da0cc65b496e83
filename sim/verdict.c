#include "verdict.h"

#include <ctype.h>
#include <string.h>

#include "decide.h"

enum {
	SALT_PICK = 101,
	SALT_OTHER = 102,
	SALT_ORDER = 103,
	SALT_CHECK = 104,
	SALT_RATE = 105,
	SALT_SHUFFLE = 1000, /* + the step */
};

static double draw_u(const struct draw *d, uint64_t salt)
{
	return sim_uniform(d->seed, d->model, d->prompt, d->nth, salt);
}

/* An index below n drawn from u in [0, 1). */
static size_t below(double u, size_t n)
{
	size_t i = (size_t)(u * (double)n);
	return i < n ? i : n - 1;
}

/* ---- scripted ---- */

static int holds(const struct section *s, const char *fragment)
{
	return prompt_find(s->text, s->len, fragment) != NULL;
}

static int put_pick(struct buf *out, char label, const char *why)
{
	return buf_printf(out, "After comparing the responses, Response %c %s.\n\n[[%c]]",
			  label, why, label);
}

int verdict_pick(struct buf *out, const struct section *sec, size_t n,
		 const char *fragment)
{
	for (size_t i = 0; i < n; i++)
		if (holds(&sec[i], fragment))
			return put_pick(out, sec[i].label, "is the most accurate");
	/* Names no response and no lone capital a parser could take for one. */
	return buf_puts(out, "none of the responses stands out, so there is no verdict.");
}

/* Appends the ranking section for labels[0..n), best first. */
static int put_ranking(struct buf *out, const char *labels, size_t n)
{
	int rc = buf_puts(out, "\nFINAL RANKING:");
	for (size_t k = 0; k < n; k++)
		rc |= buf_printf(out, "\n%zu. Response %c", k + 1, labels[k]);
	return rc;
}

int verdict_rank(struct buf *out, const struct section *sec, size_t n,
		 const char *const *frags, size_t nfrags)
{
	char labels[PROMPT_SECTIONS_MAX];
	size_t key[PROMPT_SECTIONS_MAX], k = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		key[i] = nfrags;
		for (size_t f = 0; f < nfrags && key[i] == nfrags; f++)
			if (holds(&sec[i], frags[f]))
				key[i] = f;
		rc |= buf_printf(out, "Response %c: %s\n", sec[i].label,
				 key[i] < nfrags ? "covers what the question asks."
						 : "misses part of the question.");
	}
	/* Sections come sorted by label, so each group stays in label order. */
	for (size_t f = 0; f <= nfrags; f++)
		for (size_t i = 0; i < n; i++)
			if (key[i] == f)
				labels[k++] = sec[i].label;
	return rc | put_ranking(out, labels, k);
}

int verdict_rating(struct buf *out, double rating)
{
	return buf_printf(out, "The response %s.\n\nRating: [[%g]]",
			  rating >= 7   ? "is accurate and clear"
			  : rating >= 4 ? "is partly right"
					: "gets the answer wrong",
			  rating);
}

int verdict_rating_auto(struct buf *out, int ok)
{
	if (ok < 0)
		return buf_puts(out, "The response cannot be checked against a known "
				     "answer.\n\nRating: [[5]]");
	return verdict_rating(out, ok ? 9 : 2);
}

/* ---- simulated ---- */

/* The right sections (want 1) or the others (want 0), any when correct
 * is NULL: their indices into idx; returns how many. */
static size_t pick_set(const struct verdict_sim *v, int want, size_t *idx)
{
	size_t k = 0;
	for (size_t i = 0; i < v->nsec; i++)
		if (!v->correct || v->correct[i] == want)
			idx[k++] = i;
	return k;
}

static int sim_judge(struct buf *out, const struct verdict_sim *v)
{
	size_t idx[PROMPT_SECTIONS_MAX];
	int right = draw_u(&v->d, SALT_PICK) < v->accuracy;
	size_t k = pick_set(v, right, idx);
	if (k == 0) /* all right or all wrong: any one will do */
		k = pick_set(&(struct verdict_sim){.nsec = v->nsec}, 1, idx);
	size_t i = idx[below(draw_u(&v->d, SALT_OTHER), k)];
	const char *why = !v->correct	     ? "answers the question best"
			  : v->correct[i] ? "gives the right answer and explains it"
					  : "seems the most convincing";
	return put_pick(out, v->sec[i].label, why);
}

/* Fisher-Yates over idx[0..n), seeded by the draw. */
static void shuffle(const struct draw *d, size_t *idx, size_t n, uint64_t salt)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = below(draw_u(d, salt + i), i);
		size_t t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

static int sim_rank(struct buf *out, const struct verdict_sim *v)
{
	size_t idx[PROMPT_SECTIONS_MAX], n = 0;
	char labels[PROMPT_SECTIONS_MAX];
	int rc = 0;
	for (size_t i = 0; i < v->nsec; i++)
		rc |= buf_printf(out, "Response %c: %s\n", v->sec[i].label,
				 !v->correct	   ? "addresses the question."
				 : v->correct[i] ? "reaches the right answer."
						 : "reaches a doubtful answer.");
	if (v->correct && draw_u(&v->d, SALT_ORDER) < v->accuracy) {
		size_t k = pick_set(v, 1, idx);
		shuffle(&v->d, idx, k, SALT_SHUFFLE);
		n = k + pick_set(v, 0, idx + k);
		shuffle(&v->d, idx + k, n - k, SALT_SHUFFLE + 100);
	} else {
		n = pick_set(&(struct verdict_sim){.nsec = v->nsec}, 1, idx);
		shuffle(&v->d, idx, n, SALT_SHUFFLE + 200);
	}
	for (size_t k = 0; k < n; k++)
		labels[k] = v->sec[idx[k]].label;
	return rc | put_ranking(out, labels, n);
}

static int sim_self_check(struct buf *out, const struct verdict_sim *v)
{
	int truth = draw_u(&v->d, SALT_CHECK) < v->accuracy;
	int ok = v->answer_ok < 0 ? truth : truth ? v->answer_ok : !v->answer_ok;
	return buf_puts(out, ok ? "correct" : "incorrect");
}

static int sim_rating(struct buf *out, const struct verdict_sim *v)
{
	double u = draw_u(&v->d, SALT_RATE);
	if (v->answer_ok < 0)
		return verdict_rating(out, 5 + (double)below(u, 3));
	return verdict_rating(out, (v->answer_ok ? 8 : 3) + (double)below(u, 2));
}

/* ---- plans ---- */

struct span {
	const char *p;
	size_t len;
};

static int wordy(const char *p, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < len; i++)
		k += isalnum((unsigned char)p[i]) != 0;
	return k >= 2;
}

/* Up to max sentences or lines of t, the last one running to the end. */
static size_t split_parts(const char *t, size_t len, struct span *parts, size_t max)
{
	const char *p = t, *end = t + len;
	size_t n = 0;
	while (p < end && n < max) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		const char *s = p;
		while (p < end) {
			char c = *p++;
			if (c == '\n' || ((c == '?' || c == '!' || c == '.') &&
					  (p == end || isspace((unsigned char)*p))))
				break;
		}
		if (n + 1 == max)
			p = end;
		const char *e = p;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (wordy(s, (size_t)(e - s)))
			parts[n++] = (struct span){s, (size_t)(e - s)};
	}
	return n;
}

#define TASK_MAX 1000

/* s[0..len) as a JSON string, cut to TASK_MAX bytes on a UTF-8 boundary. */
static int put_text(struct buf *out, const char *prefix, const char *s, size_t len)
{
	if (len > TASK_MAX) {
		len = TASK_MAX;
		while (len && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	struct buf t = BUF_INIT;
	int rc = buf_puts(&t, prefix) | buf_append(&t, s, len);
	rc |= buf_put_json_strn(out, t.data ? t.data : "", t.len);
	buf_release(&t);
	return rc;
}

static int put_subtask(struct buf *out, int i, const char *prefix, struct span text,
		       const char *needs)
{
	int rc = buf_printf(out, "%s    {\"id\": \"s%d\", \"task\": ", i > 1 ? ",\n" : "", i);
	rc |= put_text(out, prefix, text.p, text.len);
	return rc | buf_printf(out, ", \"needs\": [%s]}", needs);
}

/* Two parts become two parallel subtasks and a third that combines them;
 * one part becomes facts, then the answer from them. */
static int sim_planner(struct buf *out, const struct verdict_sim *v)
{
	size_t max = v->max_subtasks ? v->max_subtasks : 3;
	struct span whole = {v->task, v->task_len}, parts[2];
	size_t n = split_parts(v->task, v->task_len, parts, 2);
	int rc = buf_puts(out, "{\n  \"subtasks\": [\n");
	if (max == 1) {
		rc |= put_subtask(out, 1, whole.len ? "" : "Answer the question.", whole, "");
	} else if (n == 2 && max >= 3) {
		rc |= put_subtask(out, 1, "", parts[0], "");
		rc |= put_subtask(out, 2, "", parts[1], "");
		rc |= put_subtask(out, 3, "Combine the results of s1 and s2 into one "
				  "complete answer to: ", whole, "\"s1\", \"s2\"");
	} else {
		rc |= put_subtask(out, 1, "List the facts needed to answer this: ", whole, "");
		rc |= put_subtask(out, 2, "Using those facts, answer: ", whole, "\"s1\"");
	}
	return rc | buf_puts(out, "\n  ]\n}");
}

int verdict_simulate(struct buf *out, const struct verdict_sim *v)
{
	switch (v->kind) {
	case PK_JUDGE:
		return v->nsec ? sim_judge(out, v) : 1;
	case PK_RANK:
		return v->nsec ? sim_rank(out, v) : 1;
	case PK_SELF_CHECK:
		return sim_self_check(out, v);
	case PK_RATING:
		return sim_rating(out, v);
	case PK_PLAN:
		return sim_planner(out, v);
	case PK_NONE:
		break;
	}
	return 1;
}
