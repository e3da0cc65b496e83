#ifndef QUORUM_PROVIDER_H
#define QUORUM_PROVIDER_H
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/provfacts.h"
#include "../common/qerr.h"

/* One wire format per file (openai.c, anthropic.c, gemini.c, ollama.c):
 * a normalised chat request to URL + headers + body, and response bytes to
 * a normalised result. Pure functions: no curl, no DAG, testable from
 * fixture files. */

enum err_class {
	ERR_NONE,
	ERR_AUTH,
	ERR_BAD_REQUEST,
	ERR_NOT_FOUND,
	ERR_RATE_LIMITED,
	ERR_QUOTA,
	ERR_OVERLOADED,
	ERR_SERVER,
	ERR_TIMEOUT,
	ERR_CONNECTION,
	ERR_TRUNCATED,
	ERR_MALFORMED,
	ERR_CONTENT_FILTER,
	ERR_TOO_LARGE,
	ERR_BUDGET,
	ERR_CANCELLED,
};

/* The report's name of a class: "auth", "rate_limited", ... */
const char *err_class_name(enum err_class c);
/* Whether another attempt may succeed: rate_limited, overloaded, server,
 * timeout, connection, truncated. Never auth, bad_request, not_found. */
int err_class_retryable(enum err_class c);
/* The class of an HTTP status that is not 2xx. */
enum err_class err_class_from_status(int http_status);

/* Parses a Retry-After header value: delta-seconds (fractions allowed) or
 * an HTTP-date, relative to now_unix. Returns milliseconds, or -1 when
 * absent or unparseable. */
int64_t retry_after_parse(const char *value, int64_t now_unix);

struct chat_request {
	const char *model;
	const char *system;        /* NULL: none */
	const char *prompt;
	int has_temperature;
	double temperature;
	int max_tokens;            /* 0: not sent (where the format allows) */
	int has_top_p;
	double top_p;
	int has_seed;
	int64_t seed;
	const char *const *stop;
	size_t nstop;
	const char *params_json;   /* JSON object merged into the body, or NULL */
	int stream;
	/* The texts an embeddings request embeds, in order (the build of
	 * provider_embedder, providers/embed.h). Chat builders ignore them;
	 * an embedder ignores prompt, system, the sampling settings and
	 * stream. */
	const char *const *texts;
	size_t ntexts;
};

/* An HTTP request ready to send. Header strings are "Name: value". The
 * header that carries the key is wiped by http_req_release. */
#define HTTP_REQ_MAX_HEADERS 8
struct http_req {
	struct buf url;
	struct buf body;
	char *headers[HTTP_REQ_MAX_HEADERS];
	size_t nheaders;
};

void http_req_release(struct http_req *r);

/* What one call attempt produced. */
struct chat_result {
	struct buf text;
	char finish_reason[32];    /* "" when the provider gave none */
	int64_t input_tokens;      /* -1: not reported */
	int64_t output_tokens;     /* -1: not reported */
	enum err_class err;        /* ERR_NONE on success */
	int http_status;           /* 0 when no HTTP response */
	struct buf err_msg;        /* the provider's own words, or ours */
	int64_t retry_after_ms;    /* -1: none given */
	int complete;              /* the body or stream ended as the format says */
	/* The nesting bound for every JSON document of this response (a
	 * hostile "[[[[..." gets an error, not a deep recursion); 64 after
	 * chat_result_init, the caller's --limit json_depth otherwise. */
	int json_depth;
};

/* max_bytes caps text and err_msg (0: no cap). */
void chat_result_init(struct chat_result *r, size_t max_bytes);
void chat_result_release(struct chat_result *r);
/* Sets err and a formatted message; returns -1. */
int chat_result_fail(struct chat_result *r, enum err_class c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct resp_parser;

struct provider {
	/* Its name, default base URL and key variable, and the header its
	 * key goes in: its row of common/provfacts.h. */
	const struct provfacts *facts;

	/* Fills out (initialised by the caller with http_req buffers empty).
	 * api_key may be NULL or "" (no auth header). Returns 0, or -1 with e
	 * set. */
	int (*build)(const struct chat_request *req, const char *base_url,
		     const char *api_key, struct http_req *out, struct qerr *e);

	/* A parser for one 2xx response body, streamed or whole. */
	struct resp_parser *(*parser_new)(int stream, size_t max_bytes);
	/* The response's Content-Type header value (NULL when none came), given
	 * once before the first parser_feed. A JSON type (application/json,
	 * anything ending in +json) makes a body that came for a stream request be
	 * read as one whole document; text/event-stream and application/x-ndjson
	 * as a stream; any other type the format does not expect (text/html, a
	 * proxy's or captive portal's page) makes the response malformed, naming
	 * the type. */
	void (*parser_content_type)(struct resp_parser *p, const char *content_type);
	/* Feeds body bytes in any slicing. Returns the number of new answer
	 * text bytes (>= 0), or -1 when the response is already a failure
	 * (r->err set: malformed, too_large, an error event mid-stream). */
	int (*parser_feed)(struct resp_parser *p, const char *data, size_t len,
			   struct chat_result *r);
	/* The body ended. Returns 0 when r holds a complete answer, or -1 with
	 * r->err set (a stream that ended without its final event is
	 * ERR_TRUNCATED, never a short answer). */
	int (*parser_finish)(struct resp_parser *p, struct chat_result *r);
	void (*parser_free)(struct resp_parser *p);

	/* A non-2xx response: sets r->err, r->http_status, r->err_msg (the
	 * provider's message when its error body has one) and
	 * r->retry_after_ms from the Retry-After header value (may be NULL). */
	void (*parse_error)(int http_status, const char *body, size_t len,
			    const char *retry_after, struct chat_result *r);
};

/* Returns the provider of that name, or NULL when there is none (or name
 * is NULL). */
const struct provider *provider_find(const char *name);
/* The names of all providers, NULL-terminated (for "did you mean"):
 * provfacts_names. */
const char *const *provider_names(void);

#endif
