#ifndef QUORUM_JSON_H
#define QUORUM_JSON_H
#include <stddef.h>

#include <cjson/cJSON.h>

/* Helpers over cJSON for untrusted input. cJSON trees are temporary:
 * parse, copy what is needed, cJSON_Delete. */

/* Parses exactly len bytes; refuses nesting deeper than max_depth (cJSON's
 * own bound is compiled in, ours is tighter and configurable). Returns new;
 * free with cJSON_Delete. NULL on any error. */
cJSON *json_parse(const char *s, size_t len, int max_depth);

/* Why json_parse_why returned NULL. */
enum json_fail {
	JSON_FAIL_NONE,   /* it did not: the parse succeeded */
	JSON_FAIL_SYNTAX, /* not one JSON value (or NULL s, or out of memory) */
	JSON_FAIL_DEPTH,  /* nested deeper than max_depth (checked first) */
};

/* json_parse, telling a caller that answers someone what to say: *why
 * (when why is not NULL) is set on every return. Returns new; free with
 * cJSON_Delete. NULL on any error. */
cJSON *json_parse_why(const char *s, size_t len, int max_depth, enum json_fail *why);

/* Whether JSON text s[0..len) writes a NUL character (\u0000) in a
 * string. cJSON keeps strings as C strings, so such a string would end
 * there without a word: a caller that passes text on refuses it instead. */
int json_has_nul(const char *s, size_t len);

/* For scanners that look at JSON as text (brace matching, depth checks):
 * s[i] is the '"' that opens a string literal; returns the index of the
 * '"' that closes it, stepping over backslash escapes, or len when the
 * string does not close before len. */
size_t json_skip_string(const char *s, size_t i, size_t len);

/* Case-sensitive getters that return NULL / fallback on a missing key or a
 * wrong type, so parsers never dereference a surprise. */
const char *json_get_str(const cJSON *obj, const char *key);
const cJSON *json_get_obj(const cJSON *obj, const char *key);
const cJSON *json_get_arr(const cJSON *obj, const char *key);
/* Returns the number, or `fallback` when absent or not a number. */
double json_get_num(const cJSON *obj, const char *key, double fallback);

/* What v is, in words for a message about a wrong type: "a string", "a
 * number", "an object", "an array", "a boolean", "null", or "missing"
 * (NULL, or no JSON value). */
const char *json_type_name(const cJSON *v);

#endif
