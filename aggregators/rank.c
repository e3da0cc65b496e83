#include "rank.h"

#include <string.h>

#include "../common/alloc.h"
#include "label.h"
#include "text.h"

/* The request follows llm-council's stage 2 prompt (Karpathy, 2025,
 * backend/council.py): evaluate each response first, then a "FINAL
 * RANKING:" section in a fixed, parseable format with an example. */
int rank_build_prompt(struct buf *out, const char *query, const char *criteria,
		      const char *const *texts, const size_t *perm, size_t n)
{
	if (n == 0)
		return -1;
	if (buf_puts(out, "You are evaluating different responses to the following "
			  "question:\n\nQuestion: ") ||
	    buf_puts(out, query ? query : "") ||
	    buf_puts(out, "\n\nHere are the responses, anonymized:\n"))
		return -1;
	for (size_t k = 0; k < n; k++) {
		const char *t = texts[perm[k]];
		if (buf_puts(out, "\nResponse ") || label_put(out, k) ||
		    buf_puts(out, ":\n") || buf_puts(out, t ? t : "") || buf_putc(out, '\n'))
			return -1;
	}
	if (criteria && (buf_puts(out, "\nJudge the responses on: ") ||
			 buf_puts(out, criteria) || buf_putc(out, '\n')))
		return -1;
	if (buf_puts(out,
		     "\nYour task:\n"
		     "1. First, evaluate each response on its own: say what it does well "
		     "and what it does poorly.\n"
		     "2. Then, at the very end of your reply, give your final ranking.\n\n"
		     "Your final ranking MUST be formatted EXACTLY like this:\n"
		     "- a line \"FINAL RANKING:\" (capitals, with the colon)\n"
		     "- then every response, best first, as a numbered list\n"
		     "- each line: the number, a full stop, a space, and ONLY the "
		     "response's label (e.g. \"1. Response A\")\n"
		     "- nothing else in the ranking section\n\n"
		     "Example of the ranking section for three responses:\n\n"
		     "FINAL RANKING:\n1. Response C\n2. Response A\n3. Response B\n\n"
		     "Rank all "))
		return -1;
	return buf_printf(out, "%zu responses. Now give your evaluation and ranking:", n);
}

int rank_retry_note(struct buf *out, size_t n)
{
	if (n == 0)
		return -1;
	if (buf_printf(out, "Your reply did not end with a ranking in the required format. "
			    "Reply with only the final ranking of all %zu responses, best "
			    "first, and nothing else, exactly in this form:\n\nFINAL RANKING:\n",
		       n))
		return -1;
	for (size_t k = 0; k < n; k++)
		if (buf_printf(out, "%zu. Response ", k + 1) || label_put(out, k) ||
		    buf_putc(out, '\n'))
			return -1;
	return buf_puts(out, "\n(with the responses in your order, not this one)");
}

/* ---- reading a ranking ---- */

/* What one pass over a list collects: shown positions in order. */
struct list {
	size_t *pos;     /* n slots */
	size_t n;        /* responses */
	size_t count;    /* items read; > n means too many */
	int bad;         /* an item out of range */
};

static void list_add(struct list *l, size_t pos)
{
	if (pos >= l->n)
		l->bad = 1;
	else if (l->count < l->n)
		l->pos[l->count] = pos;
	l->count++;
}

/* A numbered item at s[i]: "1. Response C", "2) **B**", "3. Response 2".
 * Returns the index past its label and sets *num and *pos, or 0. */
static size_t item_at(const char *s, size_t len, size_t i, size_t n, size_t *num,
		      size_t *pos)
{
	if (!tx_digit(s[i]) || (i > 0 && (tx_alnum(s[i - 1]) || s[i - 1] == '.')))
		return 0;
	size_t j = i, v = 0;
	while (j < len && tx_digit(s[j]) && j - i < 4)
		v = v * 10 + (size_t)(s[j++] - '0');
	if (j >= len || (s[j] != '.' && s[j] != ')'))
		return 0;
	j++;
	while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '*' || s[j] == '_'))
		j++;
	int pref;
	size_t e = label_ref_at(s, len, j, n, 0, pos, &pref);
	if (e)
		*num = v;
	return e;
}

static size_t line_end(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] != '\n')
		i++;
	return i;
}

static int blank(const char *s, size_t b, size_t e)
{
	for (; b < e; b++)
		if (!tx_space(s[b]) && !strchr("*_`#-=", s[b]))
			return 0;
	return 1;
}

/* Reads the first numbered list at or after from: lines before its first
 * item are skipped; it ends at a non-blank line without items or where
 * the numbering starts again. Returns where reading stopped, and *start
 * gets where the list began (len when there was none). */
static size_t read_list(const char *s, size_t len, size_t from, struct list *l,
			size_t *start)
{
	size_t last = 0;
	*start = len;
	l->count = 0;
	l->bad = 0;
	for (size_t b = from; b < len;) {
		size_t e = line_end(s, len, b), before = l->count;
		for (size_t i = b; i < e; i++) {
			size_t num, pos, end = item_at(s, e, i, l->n, &num, &pos);
			if (!end)
				continue;
			if (l->count && num <= last)
				return i;
			if (!l->count)
				*start = i;
			list_add(l, pos);
			last = num;
			i = end - 1;
		}
		if (l->count && before == l->count && !blank(s, b, e))
			return b;
		b = e + 1;
	}
	return len;
}

/* "Response C > Response A > Response B" or one per line: the mentions on
 * the first lines that have any, for a section without a numbered list.
 * With bare set, capital letters alone count ("C, A, B") where they name
 * a response; others ("I rank them") are words. */
static void read_mentions(const char *s, size_t len, size_t from, int bare, struct list *l)
{
	l->count = 0;
	l->bad = 0;
	for (size_t b = from; b < len;) {
		size_t e = line_end(s, len, b), before = l->count;
		for (size_t i = b; i < e; i++) {
			size_t pos;
			int pref;
			size_t end = label_ref_at(s, e, i, l->n, bare ? 0 : LREF_NEED_PREFIX, &pos,
						  &pref);
			if (end && (!bare || pos < l->n)) {
				list_add(l, pos);
				i = end - 1;
			}
		}
		if (l->count && before == l->count && !blank(s, b, e))
			return;
		b = e + 1;
	}
}

/* Where the last "FINAL RANKING" heading ends, any case, or len. */
static size_t after_heading(const char *s, size_t len)
{
	static const char h[] = "final ranking";
	size_t found = len, k = sizeof(h) - 1;
	for (size_t i = 0; i + k <= len; i++) {
		size_t j = 0;
		while (j < k && tx_lower(s[i + j]) == h[j])
			j++;
		if (j == k)
			found = i + k;
	}
	while (found < len && (s[found] == ':' || s[found] == '*' || s[found] == ' '))
		found++;
	return found;
}

static void read_ranking(const char *s, size_t len, struct list *l)
{
	size_t start, from = after_heading(s, len);
	if (from < len) {
		read_list(s, len, from, l, &start);
		if (!l->count)
			read_mentions(s, len, from, 0, l);
		if (!l->count)
			read_mentions(s, len, from, 1, l);
		return;
	}
	/* No heading: the last numbered list in the reply. */
	size_t last = len;
	for (from = 0; from < len;) {
		size_t stop = read_list(s, len, from, l, &start);
		if (l->count)
			last = start;
		from = stop > from ? stop : from + 1;
	}
	l->count = 0;
	if (last < len)
		read_list(s, len, last, l, &start);
}

int rank_parse(const char *reply, size_t n, size_t *order)
{
	if (!reply || n == 0)
		return -1;
	struct list l = {q_malloc(n * sizeof(size_t)), n, 0, 0};
	unsigned char *seen = q_calloc(n, 1);
	int rc = -1;
	if (!l.pos || !seen)
		goto out;
	read_ranking(reply, strlen(reply), &l);
	if (l.bad || l.count != n)
		goto out;
	for (size_t k = 0; k < n; k++) {
		if (seen[l.pos[k]]++)
			goto out;
	}
	memcpy(order, l.pos, n * sizeof(size_t));
	rc = (int)n;
out:
	q_free(seen);
	q_free(l.pos);
	return rc;
}

/* ---- Borda ---- */

/* Whether candidate a goes before b: more points, then more first places,
 * then the lower index. */
static int ahead(const double *pts, const size_t *firsts, size_t a, size_t b)
{
	if (pts[a] != pts[b])
		return pts[a] > pts[b];
	if (firsts[a] != firsts[b])
		return firsts[a] > firsts[b];
	return a < b;
}

static int borda_count(const size_t *ballots, size_t nballots, size_t n, double *pts,
		       size_t *firsts, unsigned char *seen)
{
	for (size_t b = 0; b < nballots; b++) {
		const size_t *ballot = ballots + b * n;
		memset(seen, 0, n);
		for (size_t k = 0; k < n; k++) {
			size_t c = ballot[k];
			if (c >= n || seen[c]++)
				return -1;
			pts[c] += (double)(n - 1 - k);
		}
		firsts[ballot[0]]++;
	}
	return 0;
}

int borda_merge(const size_t *ballots, size_t nballots, size_t n, double *points_out,
		size_t *order_out)
{
	if (n == 0)
		return 0;
	double *pts = q_calloc(n, sizeof(double));
	size_t *firsts = q_calloc(n, sizeof(size_t));
	unsigned char *seen = q_calloc(n, 1);
	int rc = -1;
	if (!pts || !firsts || !seen || borda_count(ballots, nballots, n, pts, firsts, seen))
		goto out;
	/* Insertion sort: n is the number of candidates, a handful. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		for (; j > 0 && ahead(pts, firsts, i, order_out[j - 1]); j--)
			order_out[j] = order_out[j - 1];
		order_out[j] = i;
	}
	if (points_out)
		memcpy(points_out, pts, n * sizeof(double));
	rc = 0;
out:
	q_free(seen);
	q_free(firsts);
	q_free(pts);
	return rc;
}

int rank_format(struct buf *out, const size_t *order, const double *points, size_t n,
		const char *const *labels)
{
	for (size_t k = 0; k < n; k++) {
		size_t c = order[k];
		if (buf_printf(out, "%s%zu. ", k ? "\n" : "", k + 1))
			return -1;
		if (labels ? buf_puts(out, labels[c]) : buf_printf(out, "Response %zu", c + 1))
			return -1;
		if (points && buf_printf(out, " (%g point%s)", points[c],
					 points[c] == 1 ? "" : "s"))
			return -1;
	}
	return 0;
}
