#ifndef QUORUM_SIM_YAMLJSON_H
#define QUORUM_SIM_YAMLJSON_H
#include <stddef.h>

#include <cjson/cJSON.h>

#include "../common/qerr.h"

/* Reads a scenario written in YAML (or JSON, which YAML's flow style
 * covers; text starting with '{' goes to the JSON parser) into a cJSON
 * tree. Plain scalars that read as numbers, true/false or null become
 * those; quoted scalars stay strings. Only the first document is read;
 * aliases, non-scalar keys, duplicate keys and nesting deeper than 64 are
 * refused. Returns new; free with cJSON_Delete. NULL with e set
 * ("name:line:col" for syntax errors, `name` borrowed by e). */
cJSON *yamljson_parse(const char *name, const char *text, size_t len,
		      struct qerr *e);

#endif
