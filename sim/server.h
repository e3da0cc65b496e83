#ifndef QUORUM_SIM_SERVER_H
#define QUORUM_SIM_SERVER_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "decide.h"
#include "park.h"
#include "reply.h"
#include "scenario.h"
#include "sim.h"

/* The mock server's insides, shared by server.c (the server, its own
 * endpoints), parse.c (request bodies) and chat.c (answering them). */

#define MOCK_BODY_MAX (16u << 20)     /* request bodies past it get 413 */
#define MOCK_LOG_MAX 1000             /* requests kept for /_mock/requests */
#define MOCK_LOG_RAW_MAX (64u << 10)  /* bytes kept of a body that is not JSON */
/* Messages are kept whole (a test reads them to prove what reached a
 * model); the oldest entries go when the log would grow past this. */
#define MOCK_LOG_BYTES_MAX (64u << 20)

struct mock_log_item {
	char *model; /* NULL when the body had none */
	char *json;
	size_t size;
};

/* The last MOCK_LOG_MAX chat requests, oldest first from `head`. */
struct mock_log {
	pthread_mutex_t lock;
	struct mock_log_item items[MOCK_LOG_MAX];
	size_t head, n, bytes;
	long seq;
};

struct mock {
	struct MHD_Daemon *d;
	int port;
	struct scenario sc;
	struct model_table models;
	struct mock_timer *timer;
	struct mock_log log;
	atomic_long requests, completed, aborted, in_flight, peak, ids;
	atomic_long connections; /* TCP connections accepted */
	/* Responses wholly handed to MHD but not yet reported complete:
	 * a client can see its answer a moment before MHD tells us. */
	atomic_long ending;
	atomic_int stopping;
	atomic_long faults[FAULT_NTYPES]; /* requests each fault type hit */
};

enum route {
	ROUTE_CHAT,   /* a chat request in any wire format */
	ROUTE_EMBED,  /* an embeddings request (OpenAI, Ollama, Gemini) */
	ROUTE_TAGS,   /* Ollama's model list */
	ROUTE_STATS,
	ROUTE_RESET,
	ROUTE_REQUESTS,
	ROUTE_MODELS,
	ROUTE_OTHER,
};

enum req_state {
	RS_BODY,  /* receiving the body */
	RS_WAIT,  /* parked: latency or hang */
	RS_SENT,  /* a response is queued */
};

enum req_send {
	SEND_BUFFER, /* `out` in one piece */
	SEND_READER, /* `out` through the content reader: stream, delays, cut */
};

/* One TCP connection: MHD's socket context, from accept to close. */
struct mock_conn {
	long requests; /* begun on it so far */
};

/* One HTTP request. Held by MHD's con_cls and, while a reader response
 * exists, by that response too: freed when both let go. */
struct req {
	struct mock *m;
	struct MHD_Connection *conn;
	atomic_int refs;
	enum route route;
	enum mock_wire wire;
	char *url_model;    /* Gemini: the model named in the URL */
	int url_stream;     /* Gemini: :streamGenerateContent */
	enum embed_api embed; /* ROUTE_EMBED: which endpoint */
	enum req_state state;
	int counted;     /* a chat or embeddings request: in the stats */
	int too_large;
	int cut;         /* the server cut the response on purpose */
	int ending;      /* counted in mock.ending */
	long conn_nth;   /* its number on its connection, from 1 */
	struct buf body;
	/* The response, made before any wait. */
	int status;
	long retry_after;   /* < 0: no Retry-After */
	const char *ctype;
	enum req_send send;
	int stream;         /* reader without a size: chunked */
	struct buf out;
	struct sse_events ev;
	size_t sent, next_ev, cut_at; /* cut_at: SIZE_MAX when whole */
	int64_t chunk_delay_ms, next_due_ms;
	struct mock_park park;
	/* network faults (fault.c) */
	int reset;          /* close at once with RST, no response */
	int rst;            /* a cut ends with RST */
	int64_t drip_ms;    /* > 0: one byte per drip_ms */
	struct mock_huge *huge; /* a huge body, made as it is sent */
	const char *location;   /* a redirect's Location */
	int drop;               /* close at once (a FIN), no response */
	const char *echo_name;  /* reflect: a header that echoes... */
	char *echo;             /* ...the credential (owned) */
};

/* A parsed chat request; strings borrowed from the cJSON tree, the
 * request or `tmp`. A top-level system prompt is the message "system". */
struct chat {
	enum mock_wire wire;
	const char *model;
	int stream, include_usage;
	int gemini_array;          /* streamGenerateContent without alt=sse */
	struct sim_msg *msgs;      /* q_free */
	size_t n;
	long prompt_tokens;        /* the sum of tokens + 4 per message */
	double max_tokens, temperature; /* < 0: not sent */
	const char *version;       /* the anthropic-version header */
	struct arena *tmp;         /* arena_free */
};

/* The credential the request came with, as it came (the Authorization,
 * x-api-key or x-goog-api-key header's value, or Gemini's ?key=), or
 * NULL; *how is set to "authorization", "x-api-key", "x-goog-api-key" or
 * "query". Borrowed until the request ends. */
const char *req_auth(struct req *r, const char **how);

/* Reads the fields the mock needs from r's body j in r's wire format; on
 * a bad request prepares the format's 400 in r and returns -1. */
int chat_parse(struct req *r, const cJSON *j, struct chat *ch);

/* Handles a complete chat request in any format: parse, plan, then answer
 * now or park until the latency passes. Returns MHD_YES or MHD_NO. */
enum MHD_Result chat_dispatch(struct req *r);
/* The same for an embeddings request (embeddings.c). */
enum MHD_Result embed_dispatch(struct req *r);

/* What chat.c and embeddings.c share. */
/* Prepares what p's fault sends instead of an answer: an error, nothing
 * (a hang, a reset, a drop) or a raw response (fault.c). Returns 1 when
 * r is ready so, 0 when an answer is still to be prepared, -1 when
 * memory ran out. */
int req_prepare_fault(struct req *r, const struct chat *ch,
		      const struct model_state *ms, const struct plan *p);
/* Finishes a whole body in r->out as the model and fault send it:
 * indented with `pretty`, dripped, or cut. Returns 0 or -1. */
int req_prepare_body(struct req *r, const struct model_state *ms,
		     const struct plan *p);
/* Answers now, or parks until latency_ms is over (< 0: until the client
 * goes); a reset or a drop closes the connection instead. */
enum MHD_Result req_wait(struct req *r, int64_t latency_ms);
/* Prepares each format's 404 for a model the scenario does not know;
 * `method` names the Gemini method ("generateContent"). */
void req_model_not_found(struct req *r, const char *model, const char *method);
/* Appends the start of a request log entry, up to the limits: format,
 * model, stream, credential, status, fault, max_tokens, temperature. */
int req_log_head(struct buf *b, struct req *r, const struct chat *ch,
		 const struct fault *f);
/* Queues the response prepared in r. */
enum MHD_Result req_respond(struct req *r);
/* Prepares an error response in r's wire format. */
void req_error(struct req *r, int status, const char *message,
	       const char *type, const char *code);
/* Marks r's response as wholly handed to MHD (once). */
void req_ending(struct req *r);
/* Adds a request to the log; takes ownership of json (and model). */
void mock_log_add(struct mock *m, char *model, char *json);
void req_unref(void *r);

/* fault.c: what the network and the boxes in between do. */
/* Prepares a PLAN_RAW response in r: a huge body, an HTML page, an error
 * body with status 200, a redirect. Returns 0, or -1 when memory ran out. */
int fault_prepare(struct req *r, const struct chat *ch,
		  const struct model_state *ms, const struct plan *p);
/* A reflect fault on a normal answer: for `where: answer` sets *echoed to
 * text with the credential before it (new; free with q_free), else to
 * NULL; for `where: header` sets r->echo. Returns 0, or -1 when memory
 * ran out. */
int fault_reflect(struct req *r, const struct fault *f, const char *text,
		  char **echoed);
/* Makes the close MHD is about to do (after MHD_NO, or a content reader's
 * END_WITH_ERROR) an RST, and counts it as the server's doing. */
void req_reset(struct req *r);
/* A huge fault on an embeddings request: 200 with e's shape and one
 * vector of zeros `bytes` long. Returns 0, or -1 when memory ran out. */
int fault_huge_embed(struct req *r, const struct embed_reply *e, int64_t bytes);
/* Content readers: one byte every r->drip_ms; r->huge as it is made. */
ssize_t fault_drip_read(void *cls, uint64_t pos, char *buf, size_t max);
ssize_t fault_huge_read(void *cls, uint64_t pos, char *buf, size_t max);
uint64_t fault_huge_size(const struct req *r);
void fault_release(struct req *r);

#endif
