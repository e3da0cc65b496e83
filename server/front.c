/* The HTTP side of quorum serve, on libmicrohttpd's threads: reads a
 * request, routes it, answers what needs no run at once (models, health,
 * metrics, a stored report, every refusal), and hands chat requests to
 * chat.c. Nothing here waits: a request that waits for its run is
 * suspended. */
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "anth.h"
#include "render.h"
#include "sreq.h"

/* A logged path: 200 bytes, each at most "%XX". */
#define LOG_PATH_MAX (200 * 3 + 1)

/* What /metrics counts a request under: its endpoint, known from the
 * path alone, so a request counts there whatever its answer (a 401, a
 * client that left mid-body); "other" for a path quorum does not serve. */
static const char *metric_path_of(const char *url)
{
	static const char *const exact[] = {"/v1/chat/completions", "/v1/messages",
					    "/v1/models", "/healthz", "/metrics"};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(url, exact[i]))
			return exact[i];
	if (!strncmp(url, "/v1/models/", 11) && url[11])
		return "/v1/models";
	if (!strncmp(url, "/v1/runs/", 9) && url[9])
		return "/v1/runs";
	return "other";
}

static struct sreq *sreq_new(struct serve *sv, struct MHD_Connection *c, const char *url,
			     const char *method)
{
	struct sreq *r = q_calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (!(r->url = q_strdup(url)) || pthread_mutex_init(&r->lock, NULL)) {
		q_free(r->url);
		q_free(r);
		return NULL;
	}
	r->sv = sv;
	r->conn = c;
	atomic_init(&r->refs, 1);
	r->fd = -1;
	r->t0_ms = clock_ms();
	r->metric_path = metric_path_of(url);
	r->method = !strcmp(method, "GET") ? "GET" : !strcmp(method, "POST") ? "POST"
		    : !strcmp(method, "HEAD") ? "HEAD" : "other";
	/* Past the cap the body frees itself; too_large remembers why. */
	buf_init(&r->body, sv->cfg->max_body);
	buf_init(&r->out, 0);
	buf_init(&r->sent, 0);
	atomic_fetch_add(&sv->live, 1);
	return r;
}

void sreq_unref(struct sreq *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	struct serve *sv = r->sv;
	oai_req_release(&r->oreq);
	quorum_report_free(r->rep);
	q_free(r->error);
	buf_release(&r->body);
	buf_release(&r->out);
	buf_release(&r->sent);
	pthread_mutex_destroy(&r->lock);
	q_free(r->url);
	q_free(r);
	atomic_fetch_sub(&sv->live, 1);
}

void sreq_resume_locked(struct sreq *r)
{
	r->ready = 1;
	if (r->suspended) {
		r->suspended = 0;
		MHD_resume_connection(r->conn);
	}
}

/* The first 200 bytes of a path as the log may show them: MHD decoded
 * the path's %XX, so a byte that is not printable ASCII (a %0a that would
 * start a forged log line, a terminal's escape) is encoded again. */
static void log_path(const char *url, char out[LOG_PATH_MAX])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (size_t i = 0; url[i] && i < 200; i++) {
		unsigned char ch = (unsigned char)url[i];
		if (ch > 0x20 && ch < 0x7f) {
			out[n++] = (char)ch;
			continue;
		}
		out[n++] = '%';
		out[n++] = hex[ch >> 4];
		out[n++] = hex[ch & 15];
	}
	out[n] = '\0';
}

/* Logs and counts r, once: a second call (a stream's end after its
 * start, a completion after the answer) does nothing. MHD's thread of
 * r's connection only. */
static void log_request(struct sreq *r, int status)
{
	const struct serve_config *c = r->sv->cfg;
	if (r->logged)
		return;
	r->logged = 1;
	long long ms = clock_ms() - r->t0_ms;
	metrics_request(r->sv->metrics, r->metric_path, status, (double)ms / 1000.0);
	if (c->quiet || !c->log)
		return;
	/* The method and path alone: no header, no body, nothing secret. */
	char path[LOG_PATH_MAX];
	log_path(r->url, path);
	fprintf(c->log, "quorum: %s %s %d %lld ms%s%s\n", r->method, path, status, ms,
		r->run_id[0] ? " run " : "", r->run_id);
}

/* Queues resp (taking it) with the headers every answer carries. */
static enum MHD_Result queue(struct sreq *r, int status, struct MHD_Response *resp,
			     const char *type)
{
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (r->run_id[0])
		MHD_add_response_header(resp, "X-Quorum-Run-Id", r->run_id);
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED && r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (atomic_load(&r->sv->draining))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->state = SR_SENT;
	/* A stream's status is known at its end: whole, or the client gone. */
	if (!r->streaming)
		log_request(r, status);
	return ok;
}

static enum MHD_Result queue_buf(struct sreq *r, int status, struct buf *b, const char *type)
{
	if (b->overflow || !b->data) {
		buf_release(b);
		return MHD_NO;
	}
	/* MHD frees the body with free(): buf's memory comes from malloc. */
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(
		b->len, b->data, free);
	if (!resp) {
		buf_release(b);
		return MHD_NO;
	}
	b->data = NULL;
	buf_release(b);
	return queue(r, status, resp, type);
}

enum MHD_Result sreq_json(struct sreq *r, int status, struct buf *b)
{
	return queue_buf(r, status, b, "application/json");
}

enum MHD_Result sreq_error(struct sreq *r, int status, const char *message, const char *type,
			   const char *param, const char *code)
{
	struct buf b;
	buf_init(&b, 0);
	if (r->anthropic)
		anth_render_error(&b, status, message);
	else
		render_error(&b, message, type, param, code);
	return sreq_json(r, status, &b);
}

enum MHD_Result sreq_sse(struct sreq *r, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	r->streaming = 1;
	return queue(r, MHD_HTTP_OK, resp, "text/event-stream");
}

enum MHD_Result sreq_model_not_found(struct sreq *r, const char *name)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "the model '%.100s' does not exist: quorum serves the "
			 "workflows", name);
	for (size_t i = 0; i < r->sv->cfg->nwfs && n > 0 && (size_t)n < sizeof(msg) - 1; i++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s '%.60s'", i ? "," : "",
			      r->sv->names[i]);
	return sreq_error(r, MHD_HTTP_NOT_FOUND, msg, "invalid_request_error", "model",
			  "model_not_found");
}

/* ---- the endpoints that need no run ---- */

static enum MHD_Result get_models(struct sreq *r)
{
	struct buf b;
	buf_init(&b, 0);
	render_models(&b, r->sv->names, r->sv->cfg->nwfs, r->sv->created);
	return sreq_json(r, MHD_HTTP_OK, &b);
}

/* GET /v1/models/ID (the SDKs' models.retrieve): the list's element. */
static enum MHD_Result get_model(struct sreq *r, const char *id)
{
	for (size_t i = 0; i < r->sv->cfg->nwfs; i++) {
		if (strcmp(r->sv->names[i], id))
			continue;
		struct buf b;
		buf_init(&b, 0);
		render_model(&b, id, r->sv->created);
		return sreq_json(r, MHD_HTTP_OK, &b);
	}
	return sreq_model_not_found(r, id);
}

static enum MHD_Result get_health(struct sreq *r)
{
	struct buf b;
	buf_init(&b, 0);
	int draining = atomic_load(&r->sv->draining);
	buf_printf(&b, "{\"status\":\"%s\",\"workflows\":%zu,\"runs_in_flight\":%ld}",
		   draining ? "draining" : "ok", r->sv->cfg->nwfs,
		   atomic_load(&r->sv->in_flight));
	return sreq_json(r, draining ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, &b);
}

static enum MHD_Result get_metrics(struct sreq *r)
{
	struct buf b;
	buf_init(&b, 0);
	metrics_in_flight(r->sv->metrics, atomic_load(&r->sv->in_flight));
	metrics_render(r->sv->metrics, &b);
	return queue_buf(r, MHD_HTTP_OK, &b, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result get_run(struct sreq *r, const char *id)
{
	char *json = runstore_get(r->sv->runs, id);
	if (!json) {
		char msg[160];
		snprintf(msg, sizeof(msg), "no report of run '%.40s' is kept (unknown, or older "
			 "than the last %zu)", id, r->sv->cfg->keep_reports);
		return sreq_error(r, MHD_HTTP_NOT_FOUND, msg, "invalid_request_error", NULL,
				  "run_not_found");
	}
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, json);
	q_free(json);
	return sreq_json(r, MHD_HTTP_OK, &b);
}

/* A bearer token, or (as Anthropic's clients send it) an x-api-key. */
static int authorized(struct sreq *r)
{
	const struct tokens *t = r->sv->cfg->tokens;
	if (!t)
		return 1;
	if (tokens_check(t, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION)))
		return 1;
	const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-api-key");
	char bearer[512];
	if (!key || strlen(key) > sizeof(bearer) - 8)
		return 0;
	snprintf(bearer, sizeof(bearer), "Bearer %s", key);
	int ok = tokens_check(t, bearer);
	memset(bearer, 0, sizeof(bearer));
	return ok;
}

/* A 405 names what the path takes, in its Allow header too (RFC 9110
 * wants it there); a path that takes GET takes HEAD. */
static enum MHD_Result wrong_method(struct sreq *r, const char *allowed)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "%s wants %s", r->url, allowed);
	r->allow = !strcmp(allowed, "GET") ? "GET, HEAD" : allowed;
	return sreq_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, msg, "invalid_request_error", NULL,
			  "method_not_allowed");
}

/* The /v1/ endpoints, the token checked. */
static enum MHD_Result route_v1(struct sreq *r, int get, int post)
{
	const char *u = r->url;
	if (!strcmp(u, "/v1/chat/completions"))
		return post ? chat_start(r) : wrong_method(r, "POST");
	if (!strcmp(u, "/v1/messages")) {
		r->anthropic = 1;
		return post ? chat_start(r) : wrong_method(r, "POST");
	}
	if (!strcmp(u, "/v1/models"))
		return get ? get_models(r) : wrong_method(r, "GET");
	if (!strncmp(u, "/v1/models/", 11) && u[11])
		return get ? get_model(r, u + 11) : wrong_method(r, "GET");
	if (!strncmp(u, "/v1/runs/", 9) && u[9])
		return get ? get_run(r, u + 9) : wrong_method(r, "GET");
	char msg[256];
	snprintf(msg, sizeof(msg), "no such endpoint: %.200s", u);
	return sreq_error(r, MHD_HTTP_NOT_FOUND, msg, "invalid_request_error", NULL,
			  "unknown_url");
}

static enum MHD_Result route(struct sreq *r)
{
	/* HEAD is GET without the body, which MHD leaves out itself. */
	int get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
	int post = !strcmp(r->method, "POST");
	if (!strcmp(r->url, "/healthz"))
		return get ? get_health(r) : wrong_method(r, "GET");
	if (!strcmp(r->url, "/metrics"))
		return get ? get_metrics(r) : wrong_method(r, "GET");
	r->anthropic = !strcmp(r->url, "/v1/messages");
	if (!authorized(r))
		return sreq_error(r, MHD_HTTP_UNAUTHORIZED, "a valid bearer token is needed "
				  "(Authorization: Bearer TOKEN)", "invalid_request_error", NULL,
				  "invalid_api_key");
	return route_v1(r, get, post);
}

/* Whether the request's Content-Length says its body is past the cap (a
 * number too long to hold is). MHD has refused a malformed one already. */
static int declared_too_large(struct sreq *r)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return 0;
	size_t cap = r->sv->cfg->max_body, n = 0;
	for (; *cl >= '0' && *cl <= '9'; cl++) {
		if (n > (SIZE_MAX - 9) / 10)
			return 1;
		n = n * 10 + (size_t)(*cl - '0');
	}
	return n > cap;
}

/* A slice of the body. Past the cap the body has freed itself and the
 * rest is only counted, so the 413 can go back once it ends (MHD takes a
 * response only before the body or after it); a body that runs on past
 * twice the cap (chunked: no Content-Length said so) is not read to its
 * end: the connection is closed. */
static enum MHD_Result take_body(struct sreq *r, const char *data, size_t *size)
{
	size_t cap = r->sv->cfg->max_body, n = *size;
	*size = 0;
	r->body_seen = n > SIZE_MAX - r->body_seen ? SIZE_MAX : r->body_seen + n;
	if (!r->too_large && buf_append(&r->body, data, n))
		r->too_large = 1;
	return r->body_seen > cap && r->body_seen - cap > cap ? MHD_NO : MHD_YES;
}

enum MHD_Result front_access(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *data,
			     size_t *size, void **con_cls)
{
	struct serve *sv = cls;
	struct sreq *r = *con_cls;
	(void)version;
	if (!r) {
		if (!(r = sreq_new(sv, c, url, method)))
			return MHD_NO;
		*con_cls = r;
		if (!declared_too_large(r))
			return MHD_YES;
		/* Answered now, before a byte of the body is read: a response
		 * queued this early makes MHD skip the body, and close the
		 * connection once the answer is out. */
		r->too_large = 1;
		return route(r);
	}
	if (*size)
		return take_body(r, data, size);
	switch (r->state) {
	case SR_BODY:
		return route(r);
	case SR_WAIT:
		return chat_resume(r);
	case SR_SENT:
		break;
	}
	return MHD_YES;
}

/* What a request that ended unlogged is logged as: a stream that ended
 * whole, its 200; a client that left before its answer or mid-stream,
 * 499 (nginx's "client closed request"); a body cut off past twice the
 * cap, 413; a client MHD timed out, 408; the server stopping, 503. 0: MHD
 * answered it itself (a malformed request) with a status we never see. */
static int end_status(const struct sreq *r, enum MHD_RequestTerminationCode toe, int hungup)
{
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		return r->streaming ? MHD_HTTP_OK : 0;
	if (hungup)
		return 499;
	if (r->state == SR_BODY && r->too_large)
		return MHD_HTTP_CONTENT_TOO_LARGE;
	switch (toe) {
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return MHD_HTTP_REQUEST_TIMEOUT;
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:
		return 499;
	}
}

void front_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		     enum MHD_RequestTerminationCode toe)
{
	struct serve *sv = cls;
	struct sreq *r = *con_cls;
	(void)c;
	if (!r)
		return;
	*con_cls = NULL;
	if (r->watched)
		hangup_unwatch(sv->hangup, r->fd, r);
	pthread_mutex_lock(&r->lock);
	r->mhd_gone = 1;
	int running = r->opts.interrupt && !r->done, hungup = r->hungup;
	pthread_mutex_unlock(&r->lock);
	int status = r->logged ? 0 : end_status(r, toe, hungup);
	if (status)
		log_request(r, status);
	if (running) {
		/* The client went mid-stream: its run's calls are cancelled. */
		r->cancel = 1;
		quorum_engine_wakeup(sv->engine);
	}
	sreq_unref(r);
}

void front_hangup(void *ctx)
{
	struct sreq *r = ctx;
	/* Nothing more is sent: what MHD ends next is logged 499. */
	pthread_mutex_lock(&r->lock);
	r->hungup = 1;
	pthread_mutex_unlock(&r->lock);
	r->cancel = 1;
	quorum_engine_wakeup(r->sv->engine);
}

void front_cancel_all(struct serve *sv)
{
	pthread_mutex_lock(&sv->lock);
	for (struct sreq *r = sv->active; r; r = r->next)
		r->cancel = 1;
	pthread_mutex_unlock(&sv->lock);
	quorum_engine_wakeup(sv->engine);
}
