#ifndef QUORUM_PROVIDERS_WIRE_H
#define QUORUM_PROVIDERS_WIRE_H
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../common/buf.h"
#include "../common/qerr.h"
#include "provider.h"

/* What every wire format needs around its own fields: URL joining, header
 * lines, request bodies that are valid JSON whatever bytes the prompt
 * holds, the user's params merged in, and careful reading of untrusted
 * response JSON. Private to providers/. */

/* Nesting bound for every response body and stream event we parse. */
#define WIRE_JSON_DEPTH provider_json_depth()

/* Sets url to base_url without its trailing slashes, then path (which
 * starts with '/'). Returns 0, or -1 with e set. */
int wire_url_join(struct buf *url, const char *base_url, const char *path,
		  struct qerr *e);

/* Adds the header "name: prefix value" ("Authorization", "Bearer ", key),
 * built in place so no other copy of a key is left in memory. A value
 * with a control character (a CR/LF would smuggle in another header) is
 * refused, and the message never quotes it. Returns 0, or -1 with e set;
 * the header string is owned by r from then on. */
int wire_add_header(struct http_req *r, const char *name, const char *prefix,
		    const char *value, struct qerr *e);

/* Returns a new JSON string item holding s with every invalid UTF-8
 * sequence replaced by U+FFFD, so the body we send is valid JSON; NULL
 * when memory is exhausted. */
cJSON *wire_json_string(const char *s);

/* Merges the JSON object params_json into body: its keys replace ours
 * (null included, which asks the provider for its default). NULL or ""
 * merges nothing. Returns 0, or -1 with e set (not JSON, not an object). */
int wire_merge_params(cJSON *body, const char *params_json, struct qerr *e);

/* Prints body compactly into out (which is reset first). Returns 0, or -1
 * with e set. */
int wire_body_print(const cJSON *body, struct buf *out, struct qerr *e);

/* "string", "number", "object", ...: for messages about a wrong type. */
const char *wire_json_type(const cJSON *v);

/* A token count: a non-negative integer below 2^53, else -1 (absent,
 * null, negative, fractional: "not reported" rather than a guess). */
int64_t wire_tokens(const cJSON *obj, const char *key);

/* Appends at most max bytes of s[0..n) fit to show a user: whitespace
 * runs become one space, control bytes and invalid UTF-8 become '?',
 * a UTF-8 sequence is never cut, leading and trailing blanks are
 * dropped. Returns 0, or -1 when b refuses the bytes. */
int wire_put_printable(struct buf *b, const char *s, size_t n, size_t max);

/* The cap on one response body or one stream event for a parser whose
 * answer text is capped at max_text (0: none): JSON escapes and metadata
 * make the wire bigger than the text, so the cap leaves room for them. */
size_t wire_body_cap(size_t max_text);

/* The length of the longest valid UTF-8 prefix of s[0..n) (RFC 3629): n
 * when all of it is valid. An answer with invalid bytes would make the
 * report invalid JSON, so parsers check the text they return. */
size_t wire_utf8_valid(const char *s, size_t n);

/* Whether s[0..n), which did not parse as JSON, looks like a JSON object
 * that was cut off: nothing but blanks, or an object (or a string) still
 * open at the end. Unbalanced garbage is malformed, not cut. */
int wire_json_looks_cut(const char *s, size_t n);

#endif
