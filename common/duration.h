#ifndef QUORUM_DURATION_H
#define QUORUM_DURATION_H
#include <stdint.h>

/* Parses "500ms", "30s", "2m", "1h", "1.5s" or a bare number of seconds
 * into milliseconds. Returns 0, or -1 for anything else (negative, empty,
 * trailing garbage, overflow). */
int duration_parse(const char *s, int64_t *ms);

#endif
