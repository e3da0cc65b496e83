#ifndef QUORUM_QERR_H
#define QUORUM_QERR_H
#include <stddef.h>

/* The human side of a failure: functions return 0 / -1 (or NULL) and fill
 * a caller-owned qerr, the way curl fills an error buffer. Messages follow
 * git: lower case, no full stop, the subject in quotes. */
struct qerr {
	char msg[512];
	const char *file;  /* borrowed; NULL when not about a file */
	int line, col;     /* 1-based; 0 when unknown */
};

/* Sets the message; always returns -1 so callers can `return qerr_set(...)`. */
int qerr_set(struct qerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int qerr_set_at(struct qerr *e, const char *file, int line, int col,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A list of diagnostics: validation reports every problem, not just the
 * first. Each is "FILE:LINE:COL: message" when printed. */
struct qdiag {
	int line, col;
	char *msg;
};

struct qdiags {
	const char *file;     /* borrowed */
	struct qdiag *items;
	size_t n, cap;
	size_t lost;          /* diagnostics not kept because memory ran out:
			       * a caller that judges success by n checks
			       * this too */
};

void qdiags_init(struct qdiags *d, const char *file);
/* Adds a diagnostic; returns -1 (for `return qdiags_add(...)`). */
int qdiags_add(struct qdiags *d, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sorts by position, keeping the order of equal positions. */
void qdiags_sort(struct qdiags *d);
/* Formats diagnostic i as "FILE:LINE:COL: message" into out (size n). */
void qdiags_format(const struct qdiags *d, size_t i, char *out, size_t n);
void qdiags_release(struct qdiags *d);

#endif
