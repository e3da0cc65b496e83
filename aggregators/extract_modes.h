#ifndef QUORUM_EXTRACT_MODES_H
#define QUORUM_EXTRACT_MODES_H
#include <stddef.h>

#include "../common/buf.h"

/* The extraction modes that have a file of their own, internal to
 * aggregators/. Each looks at s[0..len) and returns as extract_apply: 1
 * with the answer appended to out, 0 for none, -1 when out is full. */

/* extract_choice.c: the option letter, as written ("c" stays "c"). */
int extract_choice(const char *s, size_t len, struct buf *out);

/* extract_json.c: field (dots walk objects, digits index arrays) of the
 * first JSON object that has it, objects in ```json fences first. */
int extract_json(const char *s, size_t len, const char *field, struct buf *out);

#endif
