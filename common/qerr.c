#include "qerr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

static int qerr_vset(struct qerr *e, const char *file, int line, int col,
		     const char *fmt, va_list ap)
{
	if (!e)
		return -1;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->file = file;
	e->line = line;
	e->col = col;
	return -1;
}

int qerr_set(struct qerr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	qerr_vset(e, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int qerr_set_at(struct qerr *e, const char *file, int line, int col,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	qerr_vset(e, file, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

void qdiags_init(struct qdiags *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = file;
}

int qdiags_add(struct qdiags *d, int line, int col, const char *fmt, ...)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct qdiag *p = q_realloc(d->items, cap * sizeof(*p));
		if (!p) {
			d->lost++;
			return -1;
		}
		d->items = p;
		d->cap = cap;
	}
	va_list ap, cp;
	va_start(ap, fmt);
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	char *msg = n >= 0 ? q_malloc((size_t)n + 1) : NULL;
	if (msg)
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (!msg) {
		d->lost++;
		return -1;
	}
	d->items[d->n++] = (struct qdiag){line, col, msg};
	return -1;
}

void qdiags_sort(struct qdiags *d)
{
	/* Insertion sort keeps equal positions in insertion order, which
	 * qsort does not promise; lists are short. */
	for (size_t i = 1; i < d->n; i++) {
		struct qdiag t = d->items[i];
		size_t j = i;
		while (j > 0 && (d->items[j - 1].line > t.line ||
				 (d->items[j - 1].line == t.line &&
				  d->items[j - 1].col > t.col))) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = t;
	}
}

void qdiags_format(const struct qdiags *d, size_t i, char *out, size_t n)
{
	const struct qdiag *q = &d->items[i];
	const char *f = d->file ? d->file : "<input>";
	if (q->line > 0)
		snprintf(out, n, "%s:%d:%d: %s", f, q->line, q->col, q->msg);
	else
		snprintf(out, n, "%s: %s", f, q->msg);
}

void qdiags_release(struct qdiags *d)
{
	for (size_t i = 0; i < d->n; i++)
		q_free(d->items[i].msg);
	q_free(d->items);
	d->items = NULL;
	d->n = d->cap = 0;
}
