#ifndef QUORUM_SERVER_SREQ_H
#define QUORUM_SERVER_SREQ_H
/* One HTTP request to quorum serve, from its first byte to MHD's
 * completion: its body, and for a chat request its run, the response it
 * waits for and the stream it sends. Two owners hold it: MHD (until the
 * request completes) and the engine (from the run's submission to its
 * end); the last to let go frees it. */
#include <signal.h>
#include <stdatomic.h>

#include "../common/buf.h"
#include "oai.h"
#include "serve_int.h"

enum sreq_state { SR_BODY, SR_WAIT, SR_SENT };

struct sreq {
	struct serve *sv;
	struct MHD_Connection *conn;
	atomic_int refs;
	enum sreq_state state;
	char *url;
	const char *method;            /* "GET", "POST", "HEAD" or "other" (static) */
	const char *metric_path;       /* what /metrics counts it under */
	int anthropic;                 /* POST /v1/messages: Anthropic's shapes */
	const char *allow;             /* a 405's Allow header (static) */
	struct buf body;
	size_t body_seen;              /* the body's bytes so far, kept or not */
	int too_large;
	long long t0_ms;
	int logged;                    /* its log line and count are done: once */
	int streaming;                 /* its 200 stream is queued: logged at its end */

	/* A chat request's run: set on an MHD thread before submission,
	 * read-only after it. */
	struct oai_req oreq;
	const struct quorum_workflow *wf;
	struct quorum_options opts;
	struct quorum_limits lim;
	struct quorum_input inputs[2];
	volatile sig_atomic_t cancel;  /* the run's interrupt flag */
	char run_id[33];
	char cmpl_id[48];              /* "chatcmpl-" and the run id */
	long long created;             /* Unix seconds the run was submitted */
	struct sreq *prev, *next;      /* serve.active, under its lock */
	int fd;                        /* the socket the hangup watcher sees */
	int watched;

	/* Between the engine's thread and MHD's: under lock. */
	pthread_mutex_t lock;
	int suspended;                 /* MHD_suspend_connection was called */
	int ready;                     /* there is something to answer with */
	int done;                      /* the run ended */
	int mhd_gone;                  /* MHD completed the request */
	int hungup;                    /* the watcher saw the client leave */
	struct quorum_report *rep;     /* the run's, once done */
	char *error;                   /* why the run did not start (engine) */
	int began;                     /* the stream's first chunk is in out */
	int over;                      /* the stream's end is in out */
	struct buf out;                /* SSE bytes not yet sent */
	size_t out_off;
	struct buf sent;               /* the answer text streamed so far */
	long long t_end_ms;            /* when the run ended */
};

/* chat.c */
/* POST /v1/chat/completions, the body read. Queues a response, or
 * submits the run and suspends the connection. */
enum MHD_Result chat_start(struct sreq *r);
/* The connection resumed: the run ended or its stream began. */
enum MHD_Result chat_resume(struct sreq *r);

/* front.c */
void sreq_unref(struct sreq *r);
/* Queues a JSON response with status and the run id header when set;
 * counts it for /metrics. */
enum MHD_Result sreq_json(struct sreq *r, int status, struct buf *b);
/* An OpenAI error response. */
enum MHD_Result sreq_error(struct sreq *r, int status, const char *message, const char *type,
			   const char *param, const char *code);
/* OpenAI's 404 for a model no workflow is named (param "model", code
 * "model_not_found"), the message listing the workflows. */
enum MHD_Result sreq_model_not_found(struct sreq *r, const char *name);
/* Queues resp (taking it) as a 200 text/event-stream. */
enum MHD_Result sreq_sse(struct sreq *r, struct MHD_Response *resp);
/* Wakes a suspended connection; call with r->lock held. */
void sreq_resume_locked(struct sreq *r);

#endif
