/* POST /v1/chat/completions (and /v1/messages, in Anthropic's shapes): a
 * request becomes a run of the workflow it names, on the engine's thread;
 * its connection is suspended meanwhile and resumed by the run's end or,
 * for a stream, by the first node that ends ok or the answer's first
 * piece. The engine's thread writes the stream's SSE into the request;
 * MHD's thread sends it. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "anth.h"
#include "render.h"
#include "sreq.h"

#define ERROR_MSG_MAX 2000

/* ---- the engine's thread ---- */

static void head_of(const struct sreq *r, struct oai_head *h)
{
	*h = (struct oai_head){r->cmpl_id, quorum_workflow_name(r->wf), r->created};
}

/* The stream's first chunk: the role, as OpenAI sends it. */
static void stream_begin_locked(struct sreq *r, const struct oai_head *h)
{
	if (r->began)
		return;
	if (r->anthropic)
		anth_render_start(&r->out, h);
	else
		render_chunk(&r->out, h, "assistant", "", 0, NULL, r->oreq.include_usage);
	r->began = 1;
}

static void on_delta(const char *text, size_t n, void *ctx)
{
	struct sreq *r = ctx;
	struct oai_head h;
	head_of(r, &h);
	pthread_mutex_lock(&r->lock);
	if (!r->mhd_gone) {
		stream_begin_locked(r, &h);
		if (r->anthropic)
			anth_render_delta(&r->out, text, n);
		else
			render_chunk(&r->out, &h, NULL, text, n, NULL, r->oreq.include_usage);
		buf_append(&r->sent, text, n);
		sreq_resume_locked(r);
	}
	pthread_mutex_unlock(&r->lock);
}

/* The output's finish reason in OpenAI's words: "length" when its model
 * hit its token limit, "content_filter" when a filter stopped it, else
 * "stop" (an aggregated answer always: a workflow decided it). */
static const char *finish_of(const struct quorum_report *rep)
{
	const char *f = rep ? quorum_report_finish_reason(rep) : NULL;
	if (!f)
		return "stop";
	if (strstr(f, "length") || !strcmp(f, "max_tokens") || !strcmp(f, "MAX_TOKENS"))
		return "length";
	if (strstr(f, "content_filter") || !strcmp(f, "SAFETY") || !strcmp(f, "refusal"))
		return "content_filter";
	return "stop";
}

/* The same in Anthropic's words. */
static const char *stop_reason_of(const struct quorum_report *rep)
{
	const char *f = finish_of(rep);
	return !strcmp(f, "length") ? "max_tokens" : !strcmp(f, "content_filter") ? "refusal"
										   : "end_turn";
}

/* A node ended: a stream says so in a comment (Anthropic's: a ping),
 * which keeps proxies from timing a long run out. The stream begins at
 * the first node that ended ok; until then a run that fails can still be
 * told with its HTTP status. */
static void on_node_done(const char *node, const char *status, void *ctx)
{
	struct sreq *r = ctx;
	struct oai_head h;
	head_of(r, &h);
	pthread_mutex_lock(&r->lock);
	if (!r->mhd_gone && (r->began || !strcmp(status, "ok"))) {
		stream_begin_locked(r, &h);
		if (r->anthropic)
			buf_puts(&r->out, "event: ping\ndata: {\"type\":\"ping\"}\n\n");
		else
			buf_printf(&r->out, ": node %.100s %s\n\n", node, status);
		sreq_resume_locked(r);
	}
	pthread_mutex_unlock(&r->lock);
}

static void usage_of(const struct quorum_report *rep, struct oai_usage *u)
{
	struct quorum_usage qu;
	quorum_report_usage(rep, &qu);
	u->prompt_tokens = qu.input_tokens;
	u->completion_tokens = qu.output_tokens;
}

/* What a run that gave no answer says, for the client: what failed, the
 * keys masked as in every text a run writes. Returns new (q_free), or
 * NULL out of memory. */
static char *failure_text(const struct sreq *r)
{
	if (!r->rep)
		return q_strdup(r->error ? r->error : "the run could not start");
	char *why = quorum_report_explain(r->rep, 0);
	char *msg = q_malloc(ERROR_MSG_MAX + 64);
	if (msg)
		snprintf(msg, ERROR_MSG_MAX + 64, "the workflow produced no answer (run %s): %.*s",
			 quorum_report_status(r->rep), ERROR_MSG_MAX, why ? why : "no reason given");
	quorum_free(why);
	return msg;
}

#define BROKEN_MSG "the answer's stream broke: an attempt failed after part of it " \
	"was sent and the next one answered otherwise; the whole answer is in the run's " \
	"report (GET /v1/runs/ID)"

/* stream_end_locked in Anthropic's events. */
static void anth_stream_end_locked(struct sreq *r, const char *out, size_t len)
{
	if (out && r->sent.len <= len && !memcmp(out, buf_str(&r->sent), r->sent.len)) {
		if (len > r->sent.len)
			anth_render_delta(&r->out, out + r->sent.len, len - r->sent.len);
		struct oai_usage u;
		usage_of(r->rep, &u);
		anth_render_stop(&r->out, stop_reason_of(r->rep), &u);
	} else if (out) {
		anth_render_error_event(&r->out, 502, BROKEN_MSG);
	} else {
		char *why = failure_text(r);
		anth_render_error_event(&r->out, 502, why ? why : "the workflow produced no answer");
		q_free(why);
	}
	r->over = 1;
}

/* The stream's end: what the answer holds past the pieces sent, the
 * finish, the usage, [DONE]; or an error event when the pieces cannot
 * be mended into the answer. Nothing when no piece went out and the run
 * failed: the client then gets the error with its HTTP status. */
static void stream_end_locked(struct sreq *r)
{
	const char *out = r->rep ? quorum_report_output(r->rep) : NULL;
	if (!out && !r->began)
		return;
	struct oai_head h;
	head_of(r, &h);
	stream_begin_locked(r, &h);
	size_t len = out ? strlen(out) : 0;
	if (r->anthropic) {
		anth_stream_end_locked(r, out, len);
		return;
	}
	if (out && r->sent.len <= len && !memcmp(out, buf_str(&r->sent), r->sent.len)) {
		if (len > r->sent.len)
			render_chunk(&r->out, &h, NULL, out + r->sent.len, len - r->sent.len, NULL,
				     r->oreq.include_usage);
		render_chunk(&r->out, &h, NULL, NULL, 0, finish_of(r->rep), r->oreq.include_usage);
		if (r->oreq.include_usage) {
			struct oai_usage u;
			usage_of(r->rep, &u);
			render_usage_chunk(&r->out, &h, &u);
		}
		render_done(&r->out);
	} else if (out) {
		render_error_event(&r->out, BROKEN_MSG, "server_error", "stream_broken");
	} else {
		char *why = failure_text(r);
		render_error_event(&r->out, why ? why : "the workflow produced no answer",
				   "server_error", "upstream_failed");
		q_free(why);
	}
	r->over = 1;
}

static void active_remove(struct serve *sv, struct sreq *r)
{
	pthread_mutex_lock(&sv->lock);
	if (r->prev)
		r->prev->next = r->next;
	else if (sv->active == r)
		sv->active = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	pthread_mutex_unlock(&sv->lock);
}

static void active_add(struct serve *sv, struct sreq *r)
{
	pthread_mutex_lock(&sv->lock);
	r->prev = NULL;
	r->next = sv->active;
	if (sv->active)
		sv->active->prev = r;
	sv->active = r;
	pthread_mutex_unlock(&sv->lock);
}

static void on_done(struct quorum_report *rep, const char *error, void *ctx)
{
	struct sreq *r = ctx;
	struct serve *sv = r->sv;
	active_remove(sv, r);
	if (rep) {
		metrics_run(sv->metrics, quorum_report_status(rep), quorum_report_json(rep));
		runstore_put(sv->runs, r->run_id, quorum_report_json(rep));
	}
	/* The slot frees before the answer can leave: a client that asks
	 * again the moment it has its answer is not refused under
	 * --max-runs by its own run. */
	atomic_fetch_sub(&sv->in_flight, 1);
	pthread_mutex_lock(&r->lock);
	r->rep = rep;
	r->error = error ? q_strdup(error) : NULL;
	r->done = 1;
	r->t_end_ms = clock_ms();
	if (r->oreq.stream)
		stream_end_locked(r);
	if (!r->mhd_gone)
		sreq_resume_locked(r);
	pthread_mutex_unlock(&r->lock);
	sreq_unref(r);
}

/* ---- MHD's threads ---- */

static const struct quorum_workflow *find_workflow(const struct serve *sv, const char *name)
{
	for (size_t i = 0; i < sv->cfg->nwfs; i++)
		if (!strcmp(sv->names[i], name))
			return sv->cfg->wfs[i];
	return NULL;
}

static void new_ids(struct sreq *r)
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		long long t = clock_ms() ^ (long long)(size_t)r;
		memcpy(b, &t, sizeof(t));
		memcpy(b + 8, &t, sizeof(t));
	}
	for (int i = 0; i < 16; i++)
		snprintf(r->run_id + 2 * i, 3, "%02x", b[i]);
	r->created = (long long)time(NULL);
	snprintf(r->cmpl_id, sizeof(r->cmpl_id), "%s%s", r->anthropic ? "msg_" : "chatcmpl-",
		 r->run_id);
}

/* The run's options from the request: the query, the history and system
 * text where the workflow declares them, the sampling, the deadline. */
static void options_of(struct sreq *r)
{
	const struct serve_config *c = r->sv->cfg;
	size_t n = 0;
	if (r->oreq.history && quorum_workflow_has_input(r->wf, "history"))
		r->inputs[n++] = (struct quorum_input){"history", r->oreq.history};
	if (r->oreq.system && quorum_workflow_has_input(r->wf, "system"))
		r->inputs[n++] = (struct quorum_input){"system", r->oreq.system};
	if (c->limits)
		r->lim = *c->limits;
	else
		quorum_limits_default(&r->lim);
	if (c->deadline_ms > 0 && (!r->lim.wall_ms || c->deadline_ms < r->lim.wall_ms))
		r->lim.wall_ms = c->deadline_ms;
	r->opts = (struct quorum_options){
		.query = r->oreq.query,
		.inputs = r->inputs,
		.ninputs = n,
		.sim_base_url = c->sim_base_url,
		.interrupt = &r->cancel,
		.wake_fd = r->sv->kick,
		.limits = &r->lim,
		.cache = c->cache,
		.has_temperature = r->oreq.has_temperature,
		.temperature = r->oreq.temperature,
		.max_tokens = r->oreq.max_tokens,
		.on_output_delta = r->oreq.stream ? on_delta : NULL,
		.on_output_delta_ctx = r,
		.on_node_done = r->oreq.stream ? on_node_done : NULL,
		.on_node_done_ctx = r,
		.run_id = r->run_id,
	};
}

/* "FILE:LINE:COL: why" as "why": where the server keeps its workflows is
 * nothing a client needs. */
static const char *without_position(const char *e)
{
	const char *p = strstr(e, ": ");
	if (!p || p - e < 4)
		return e;
	const char *q = p;
	int colons = 0;
	while (q > e && (q[-1] == ':' || (q[-1] >= '0' && q[-1] <= '9')))
		colons += *--q == ':';
	return colons == 2 ? p + 2 : e;
}

/* A refusal before any call: the first line, without "quorum: ". A key
 * the server lacks is the server's fault (500); anything else, a
 * required input the request did not give, the client's (400). */
static enum MHD_Result refused(struct sreq *r, char *errors)
{
	char msg[512];
	const char *e = errors ? errors : "the run could not start";
	if (!strncmp(e, "quorum: ", 8))
		e += 8;
	e = without_position(e);
	snprintf(msg, sizeof(msg), "%.*s", (int)strcspn(e, "\n"), e);
	quorum_free(errors);
	r->run_id[0] = '\0';
	if (strstr(msg, "environment variable"))
		return sreq_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, "server_error", NULL,
				  "server_misconfigured");
	return sreq_error(r, MHD_HTTP_BAD_REQUEST, msg, "invalid_request_error", NULL,
			  "run_refused");
}

static void kick(struct serve *sv)
{
	uint64_t one = 1;
	if (write(sv->kick, &one, sizeof(one)) < 0) {
		/* the counter is full: the engine's thread is due to wake */
	}
}

/* Admits the run under --max-runs. Returns 0, -1 (then answer 429) or
 * -2: the server began to stop meanwhile (503). The engine's thread sets
 * draining, then stops once in_flight reads 0; counting the run first and
 * reading draining after (both seq_cst) means one of the two sees the
 * other, so a run is never submitted to an engine nobody drives. */
static int admit(struct serve *sv)
{
	long n = atomic_fetch_add(&sv->in_flight, 1);
	int rc = sv->cfg->max_runs > 0 && n >= sv->cfg->max_runs ? -1
		 : atomic_load(&sv->draining) ? -2 : 0;
	if (rc)
		atomic_fetch_sub(&sv->in_flight, 1);
	return rc;
}

static enum MHD_Result submit(struct sreq *r)
{
	struct serve *sv = r->sv;
	new_ids(r);
	options_of(r);
	atomic_fetch_add(&r->refs, 1); /* the engine's, until on_done */
	active_add(sv, r);
	char *errors = NULL;
	if (quorum_engine_submit(sv->engine, r->wf, &r->opts, on_done, r, &errors)) {
		active_remove(sv, r);
		atomic_fetch_sub(&sv->in_flight, 1);
		atomic_fetch_sub(&r->refs, 1);
		return refused(r, errors);
	}
	kick(sv);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci && !hangup_watch(sv->hangup, ci->connect_fd, r)) {
		r->fd = ci->connect_fd;
		r->watched = 1;
	}
	r->state = SR_WAIT;
	pthread_mutex_lock(&r->lock);
	int ready = r->ready;
	if (!ready) {
		r->suspended = 1;
		MHD_suspend_connection(r->conn);
	}
	pthread_mutex_unlock(&r->lock);
	return ready ? chat_resume(r) : MHD_YES;
}

enum MHD_Result chat_start(struct sreq *r)
{
	struct serve *sv = r->sv;
	char msg[160];
	if (r->too_large) {
		snprintf(msg, sizeof(msg), "the request body is larger than this server takes "
			 "(%zu bytes)", sv->cfg->max_body);
		return sreq_error(r, MHD_HTTP_CONTENT_TOO_LARGE, msg, "invalid_request_error", NULL,
				  "request_too_large");
	}
	if (atomic_load(&sv->draining))
		return sreq_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is shutting down",
				  "server_error", NULL, "shutting_down");
	struct oai_err e = {0};
	const char *body = r->body.data ? r->body.data : "";
	if ((r->anthropic ? anth_req_parse : oai_req_parse)(&r->oreq, body, r->body.len, &e))
		return sreq_error(r, MHD_HTTP_BAD_REQUEST, e.message, "invalid_request_error",
				  e.param, e.code);
	if (!(r->wf = find_workflow(sv, r->oreq.model)))
		return sreq_model_not_found(r, r->oreq.model);
	int admitted = admit(sv);
	if (admitted == -1) {
		snprintf(msg, sizeof(msg), "too many runs in flight (this server runs %ld at once); "
			 "retry after a second", sv->cfg->max_runs);
		return sreq_error(r, MHD_HTTP_TOO_MANY_REQUESTS, msg, "rate_limit_error", NULL,
				  "rate_limit_exceeded");
	}
	if (admitted == -2)
		return sreq_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is shutting down",
				  "server_error", NULL, "shutting_down");
	return submit(r);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sreq *r = cls;
	(void)pos;
	pthread_mutex_lock(&r->lock);
	if (r->hungup) {
		/* The client left: end the stream here, not into a dead socket. */
		pthread_mutex_unlock(&r->lock);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	size_t avail = r->out.len - r->out_off;
	if (avail) {
		size_t n = avail < max ? avail : max;
		memcpy(buf, r->out.data + r->out_off, n);
		r->out_off += n;
		if (r->out_off == r->out.len) {
			buf_reset(&r->out);
			r->out_off = 0;
		}
		pthread_mutex_unlock(&r->lock);
		return (ssize_t)n;
	}
	if (r->over || r->done) {
		pthread_mutex_unlock(&r->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	/* Nothing yet: the next piece resumes the connection. */
	r->ready = 0;
	r->suspended = 1;
	MHD_suspend_connection(r->conn);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* The answer, or why there is none, with the status that says it. */
static enum MHD_Result respond(struct sreq *r)
{
	struct serve *sv = r->sv;
	const char *out = r->rep ? quorum_report_output(r->rep) : NULL;
	const char *status = r->rep ? quorum_report_status(r->rep) : "failed";
	if (!strcmp(status, "interrupted"))
		return sreq_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, atomic_load(&sv->draining)
				  ? "the server stopped before the run ended"
				  : "the run was interrupted", "server_error", NULL, "interrupted");
	if (!out && sv->cfg->deadline_ms > 0 && r->t_end_ms - r->t0_ms >= sv->cfg->deadline_ms) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the run passed this server's deadline (%lld ms)",
			 sv->cfg->deadline_ms);
		return sreq_error(r, MHD_HTTP_GATEWAY_TIMEOUT, msg, "server_error", NULL,
				  "deadline_exceeded");
	}
	if (!out) {
		char *why = failure_text(r);
		enum MHD_Result rc = sreq_error(r, r->rep ? MHD_HTTP_BAD_GATEWAY
							  : MHD_HTTP_INTERNAL_SERVER_ERROR,
						why ? why : "the workflow produced no answer",
						"server_error", NULL,
						!strcmp(status, "budget_exceeded") ? "budget_exceeded"
										  : "upstream_failed");
		q_free(why);
		return rc;
	}
	struct oai_head h;
	head_of(r, &h);
	struct oai_usage u;
	usage_of(r->rep, &u);
	struct buf b;
	buf_init(&b, 0);
	const char *report = r->oreq.want_report ? quorum_report_json(r->rep) : NULL;
	if (r->anthropic)
		anth_render_message(&b, &h, out, stop_reason_of(r->rep), &u, r->run_id, status,
				    report);
	else
		render_completion(&b, &h, out, finish_of(r->rep), &u, r->run_id, status, report);
	return sreq_json(r, MHD_HTTP_OK, &b);
}

enum MHD_Result chat_resume(struct sreq *r)
{
	pthread_mutex_lock(&r->lock);
	int began = r->began, done = r->done, hungup = r->hungup;
	pthread_mutex_unlock(&r->lock);
	/* The client left: no answer (its run's 503 "interrupted" would
	 * reach nobody). MHD closes the connection; front_completed logs 499. */
	if (hungup)
		return MHD_NO;
	if (r->oreq.stream && began) {
		struct MHD_Response *resp =
			MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, r,
							  NULL);
		return resp ? sreq_sse(r, resp) : MHD_NO;
	}
	if (!done) {
		/* Woken with nothing to say (cannot happen): wait again. */
		pthread_mutex_lock(&r->lock);
		if (!r->ready) {
			r->suspended = 1;
			MHD_suspend_connection(r->conn);
		}
		pthread_mutex_unlock(&r->lock);
		return MHD_YES;
	}
	return respond(r);
}
