#ifndef QUORUM_EXTRACT_JSON_H
#define QUORUM_EXTRACT_JSON_H
#include <stddef.h>

#include "../common/buf.h"

/* The json:FIELD mode of extract_apply, internal to aggregators/: field
 * (dots walk objects) of the first JSON object in s[0..len) that has it,
 * objects in ```json fences first. Returns 1, 0 or -1 as extract_apply. */
int extract_json(const char *s, size_t len, const char *field, struct buf *out);

#endif
