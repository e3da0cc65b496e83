#ifndef QUORUM_TEST_DAG_UTIL_H
#define QUORUM_TEST_DAG_UTIL_H
#include <stddef.h>

#include "../../common/qerr.h"
#include "../../dag/workflow.h"

/* Loads text as the file "wf.yaml". Returns the workflow or NULL; d is
 * initialised here and released by the caller. */
struct workflow *load_text(const char *text, struct qdiags *d);

/* The path of a fixture under $QUORUM_FIXTURES/workflows (static buffer). */
const char *fixture(const char *name);

/* Whether d holds exactly this diagnostic. Prints d when not. */
int has_diag(const struct qdiags *d, int line, int col, const char *msg);

/* Loads text, asserts it fails with exactly one diagnostic, which is this. */
void expect_one(const char *text, int line, int col, const char *msg);

/* Loads text, asserts it fails and that this diagnostic is among those. */
void expect_diag(const char *text, int line, int col, const char *msg);

void print_diags(const struct qdiags *d);

#endif
