#ifndef QUORUM_EXTRACT_H
#define QUORUM_EXTRACT_H
#include <stddef.h>

#include "../common/buf.h"
#include "../dag/workflow.h"

/* Answer extraction and normalisation: what a vote compares. Pure. */

/* Appends the answer that `spec` finds in text to out, as written in the
 * text (trimmed). Returns 1 when an answer was found, 0 when none, -1
 * when out is full or memory ran out. Modes:
 *   whole      the whole text
 *   last_line  the last non-empty line
 *   number     the last number (1,234.5  -3  1e-3  $12  45%)
 *   choice     a single-letter option A-E ("Answer: B", "(c)", "B.")
 *   json:FIELD a field of the first JSON object in the text (fenced or not)
 *   regex:P    capture group 1 of the first match */
int extract_apply(const struct extract_spec *spec, const char *text, struct buf *out);

/* Appends the comparable form of an extracted answer: case folded,
 * whitespace collapsed, surrounding punctuation and markdown dropped;
 * numbers in canonical form (1,000.00 -> 1000, +3.50 -> 3.5, 1e3 -> 1000);
 * choices as one upper-case letter. Returns 0 or -1 (out full). */
int answer_normalize(const char *answer, enum extract_mode mode, struct buf *out);

#endif
