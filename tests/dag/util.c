#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct workflow *load_text(const char *text, struct qdiags *d)
{
	qdiags_init(d, NULL);
	return workflow_load_string("wf.yaml", text, strlen(text), NULL, d);
}

const char *fixture(const char *name)
{
	static char path[4096];
	const char *dir = getenv("QUORUM_FIXTURES");
	snprintf(path, sizeof(path), "%s/workflows/%s", dir ? dir : "tests/fixtures", name);
	return path;
}

void print_diags(const struct qdiags *d)
{
	char line[2048];
	for (size_t i = 0; i < d->n; i++) {
		qdiags_format(d, i, line, sizeof(line));
		fprintf(stderr, "  | %s\n", line);
	}
}

int has_diag(const struct qdiags *d, int line, int col, const char *msg)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->items[i].line == line && d->items[i].col == col &&
		    !strcmp(d->items[i].msg, msg))
			return 1;
	}
	fprintf(stderr, "expected %d:%d: %s\nin:\n", line, col, msg);
	print_diags(d);
	return 0;
}

void expect_one(const char *text, int line, int col, const char *msg)
{
	struct qdiags d;
	struct workflow *wf = load_text(text, &d);
	assert_null(wf);
	if (d.n != 1)
		print_diags(&d);
	assert_int_equal(d.n, 1);
	assert_true(has_diag(&d, line, col, msg));
	qdiags_release(&d);
}

void expect_diag(const char *text, int line, int col, const char *msg)
{
	struct qdiags d;
	struct workflow *wf = load_text(text, &d);
	assert_null(wf);
	assert_true(has_diag(&d, line, col, msg));
	qdiags_release(&d);
}
