#ifndef QUORUM_PROVIDERS_WIRE_H
#define QUORUM_PROVIDERS_WIRE_H
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../common/buf.h"
#include "../common/provfacts.h"
#include "../common/qerr.h"
#include "provider.h"

/* What every wire format needs around its own fields: URL joining, header
 * lines, request bodies that are valid JSON whatever bytes the prompt
 * holds, the user's params merged in, and careful reading of untrusted
 * response JSON. Private to providers/. */

/* Nesting bound for the user's `params` (the workflow's own JSON). */
#define WIRE_PARAMS_DEPTH 64

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

/* base_url, or f's default base URL when base_url is NULL or "". */
const char *wire_base_url(const char *base_url, const struct provfacts *f);

/* Adds the header that carries the key as f says ("x-api-key: KEY",
 * "Authorization: Bearer KEY") when there is a key (NULL or "": none).
 * Returns 0, or -1 with e set. */
int wire_key_header(struct http_req *r, const struct provfacts *f, const char *api_key,
		    struct qerr *e);


/* Returns a new JSON string item holding s with every invalid UTF-8
 * sequence replaced by U+FFFD, so the body we send is valid JSON; NULL
 * when memory is exhausted. */
cJSON *wire_json_string(const char *s);

/* Adds item under key in obj, taking ownership of item (NULL: making it
 * ran out of memory): it is freed when it cannot be added. Returns 0, or
 * -1. */
int wire_json_add(cJSON *obj, const char *key, cJSON *item);

/* Returns a new JSON array of the strings s[0..n) (as wire_json_string
 * makes them; NULL entries are skipped), or NULL when memory is
 * exhausted. */
cJSON *wire_json_strings(const char *const *s, size_t n);

/* The sampling settings of a struct chat_request. */
enum wire_setting { WIRE_TEMPERATURE, WIRE_TOP_P, WIRE_SEED, WIRE_MAX_TOKENS, WIRE_STOP };

/* A format's name for a setting, in the order its bodies write them. */
struct wire_setting_name {
	enum wire_setting setting;
	const char *name;
};

/* Adds to obj each setting of names[0..n) that req sets (max_tokens: when
 * above 0), under the format's name for it: only what is set goes in, so
 * the server's defaults hold otherwise. The seed is written as digits: a
 * double would round seeds above 2^53. With under, they go into a new
 * object added to obj under that key, and only when one is set. Returns
 * 0, or -1 when memory is exhausted. */
int wire_add_settings(cJSON *obj, const char *under, const struct chat_request *req,
		      const struct wire_setting_name *names, size_t n);

/* Checks what every request needs before a format builds it: a model
 * name and a prompt. Returns 0, or -1 with e set (naming provider). */
int wire_request_check(const struct chat_request *req, const char *provider,
		       struct qerr *e);

/* Merges the JSON object params_json into body: its keys replace ours
 * (null included, which asks the provider for its default). NULL or ""
 * merges nothing. Returns 0, or -1 with e set (not JSON, not an object). */
int wire_merge_params(cJSON *body, const char *params_json, struct qerr *e);
typedef int wire_merge_fn(cJSON *body, const char *params_json, struct qerr *e);

/* Prints body compactly into out (which is reset first). Returns 0, or -1
 * with e set. */
int wire_body_print(const cJSON *body, struct buf *out, struct qerr *e);

/* Takes ownership of body (NULL: building it ran out of memory), merges
 * params_json into it with merge (wire_merge_params, or a format's own),
 * prints it into out and frees it. Returns 0, or -1 with e set. */
int wire_body_finish(cJSON *body, const char *params_json, wire_merge_fn *merge,
		     struct buf *out, struct qerr *e);

/* How a format sends a request: one JSON POST. */
struct wire_post {
	const struct provfacts *facts;  /* the default base URL, the key header */
	const char *path;               /* after the base URL */
	/* The body for req; NULL when memory ran out. */
	cJSON *(*body)(const struct chat_request *req);
	wire_merge_fn *merge;           /* wire_merge_params, or the format's own */
	const char *stream_accept;      /* the Accept header of a stream; NULL: none */
};

/* provider.build for a format that sends p: checks req
 * (wire_request_check), then sets out's URL to base_url (the facts'
 * default when NULL or "") joined with p->path, its body to p->body(req)
 * with req->params_json merged, and the JSON headers with the key (NULL or
 * "": none) in the facts' header. Returns 0, or -1 with e set and out
 * released. */
int wire_post_json(const struct wire_post *p, const struct chat_request *req,
		   const char *base_url, const char *api_key, struct http_req *out,
		   struct qerr *e);

/* Appends {"role": role, "content": content} to the array msgs, the
 * content as wire_json_string makes it. Returns 0, or -1 when memory is
 * exhausted. */
int wire_add_message(cJSON *msgs, const char *role, const char *content);

/* Returns a new body of the chat shape OpenAI's API and Ollama's share:
 * {"model": ..., "messages": [the system prompt (unless NULL or empty) and
 * the prompt as messages]}; free with cJSON_Delete. NULL when memory is
 * exhausted. */
cJSON *wire_chat_body(const struct chat_request *req);

/* The item of the array arr whose "index" is 0 or absent: the answer we
 * asked for, where a user's params may ask for more (OpenAI's `n`,
 * Gemini's candidateCount). NULL when there is none. */
const cJSON *wire_json_index0(const cJSON *arr);

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

/* s[0..n) opens a sequence that is not valid UTF-8 (where
 * wire_utf8_valid stopped): returns the offset of the first byte that
 * cannot be where it is, 0 for a byte no sequence starts with, 1 to 3 for
 * one that cannot continue the sequence (after E0, 80 is an overlong; after
 * ED, A0 a surrogate), n when s ends inside the sequence. */
size_t wire_utf8_stop(const char *s, size_t n);

/* Whether s[0..n), which did not parse as JSON, looks like a JSON document
 * that was cut off: nothing but blanks, or a document that opens with one
 * of the bytes in opens ("{", "{[") and is still open at the end (an
 * object, an array or a string). Unbalanced garbage is malformed, not
 * cut. */
int wire_json_looks_cut(const char *s, size_t n, const char *opens);

/* ---- failing a result in words fit to show ---- */

/* How much of a body that is not the API's JSON a message quotes. */
#define WIRE_EXCERPT 200

/* Fails r with c and "what: EXCERPT", the excerpt at most WIRE_EXCERPT
 * bytes of body[0..len) made printable (wire_put_printable); "what" alone
 * when nothing of it is. Returns -1. */
int wire_fail_excerpt(struct chat_result *r, enum err_class c, const char *what,
		      const char *body, size_t len);

/* Fails r with c and the provider's own words msg, made printable (they
 * go into a JSON report) and cut at 2,000 bytes; without words, with
 * "error 'CODE'" (code, a type or status name, at most code_max bytes of
 * it); without either, as wire_fail_excerpt(r, c, what, body, len).
 * msg and code may be NULL. Returns -1. */
int wire_fail_words(struct chat_result *r, enum err_class c, const char *msg,
		    const char *code, size_t code_max, const char *what,
		    const char *body, size_t len);

/* Starts reading a non-2xx response: sets r->http_status and
 * r->retry_after_ms (from the Retry-After header value, which may be
 * NULL) and returns the status's class (malformed for a 2xx, which is no
 * error: the caller erred). */
enum err_class wire_error_start(int http_status, const char *retry_after,
				struct chat_result *r);

/* A provider's name for a kind of error (a type, a code, a status name)
 * and its class. */
struct wire_err_name {
	const char *name;
	enum err_class c;
};

/* The entry of t[0..n) called name (case-sensitive), or NULL when there
 * is none or name is NULL. */
const struct wire_err_name *wire_err_find(const struct wire_err_name *t, size_t n,
					  const char *name);

/* Fails r with c for an error body that holds no words of the provider:
 * "HTTP STATUS" and hint (NULL: none), then an excerpt of body; "HTTP
 * STATUS with an empty body" when there is none. Returns -1. */
int wire_fail_status(struct chat_result *r, enum err_class c, int http_status,
		     const char *hint, const char *body, size_t len);

/* Fails r as malformed: "'what' is a number, not want". Returns -1. */
int wire_fail_type(struct chat_result *r, const char *what, const cJSON *v,
		   const char *want);

/* Sets *out to the string obj[key], NULL when it is null or absent.
 * Returns 0, or -1 with r failed (wire_fail_type, naming it what) when it
 * is another type. */
int wire_opt_str(struct chat_result *r, const cJSON *obj, const char *key,
		 const char *what, const char **out);

#endif
