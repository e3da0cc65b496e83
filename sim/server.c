/* The mock provider server: libmicrohttpd with an epoll thread pool; no
 * callback ever blocks (latency parks the connection, see park.h). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../common/alloc.h"

#define MOCK_CONN_LIMIT 20000
#define MOCK_MAX_THREADS 16
/* Per connection: request headers and the send buffer (MHD default 32 KiB). */
#define MOCK_CONN_MEMORY (16u << 10)

/* ---- the request log ---- */

static void mock_log_init(struct mock_log *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
}

static void mock_log_clear_locked(struct mock_log *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct mock_log_item *it = &l->items[(l->head + i) % MOCK_LOG_MAX];
		q_free(it->model);
		q_free(it->json);
	}
	l->head = l->n = l->bytes = 0;
}

static void mock_log_release(struct mock_log *l)
{
	mock_log_clear_locked(l);
	pthread_mutex_destroy(&l->lock);
}

void mock_log_add(struct mock *m, char *model, char *json)
{
	struct mock_log *l = &m->log;
	size_t size = strlen(json) + (model ? strlen(model) : 0);
	pthread_mutex_lock(&l->lock);
	while (l->n && (l->n == MOCK_LOG_MAX || l->bytes + size > MOCK_LOG_BYTES_MAX)) {
		struct mock_log_item *old = &l->items[l->head];
		q_free(old->model);
		q_free(old->json);
		l->bytes -= old->size;
		l->head = (l->head + 1) % MOCK_LOG_MAX;
		l->n--;
	}
	struct mock_log_item *it = &l->items[(l->head + l->n++) % MOCK_LOG_MAX];
	it->model = model;
	it->json = json;
	it->size = size;
	l->bytes += size;
	pthread_mutex_unlock(&l->lock);
}

/* [{"seq":..., "model":..., ...}, ...], oldest first; only `model`'s
 * when given. */
static int mock_log_json(struct mock *m, const char *model, struct buf *out)
{
	struct mock_log *l = &m->log;
	int rc = buf_putc(out, '[');
	const char *sep = "";
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n && !rc; i++) {
		const struct mock_log_item *it = &l->items[(l->head + i) % MOCK_LOG_MAX];
		if (model && (!it->model || strcmp(model, it->model)))
			continue;
		rc |= buf_puts(out, sep);
		rc |= buf_puts(out, it->json);
		sep = ",";
	}
	pthread_mutex_unlock(&l->lock);
	rc |= buf_puts(out, "]");
	return rc ? -1 : 0;
}

static void mock_reset(struct mock *m);

/* ---- requests ---- */

void req_unref(void *p)
{
	struct req *r = p;
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	buf_release(&r->body);
	buf_release(&r->out);
	sse_events_release(&r->ev);
	fault_release(r);
	q_free(r->url_model);
	q_free(r);
}

/* The whole answer is MHD's now: the request leaves in_flight here, not
 * when MHD reports the send finished, since a client that has read its
 * answer may ask again before that report, and a sequential client must
 * never count as two at once. */
void req_ending(struct req *r)
{
	if (r->counted && !r->ending) {
		r->ending = 1;
		atomic_fetch_add(&r->m->ending, 1);
		atomic_fetch_sub(&r->m->in_flight, 1);
	}
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail);
}

/* Gemini names the model and the method in the path (MHD has decoded it
 * already): .../models/{model}:generateContent or :streamGenerateContent.
 * A model name may hold '/' or ':'; the method follows the last ':'. */
static int route_gemini(struct req *r, const char *url)
{
	const char *m = strstr(url, "/models/"), *colon = strrchr(url, ':');
	if (!m || !colon || colon <= m + 8)
		return 0;
	if (!strcmp(colon + 1, "embedContent") ||
	    !strcmp(colon + 1, "batchEmbedContents")) {
		r->route = ROUTE_EMBED;
		r->embed = colon[1] == 'b' ? EMBED_GEMINI_BATCH : EMBED_GEMINI;
	} else if (strcmp(colon + 1, "generateContent") &&
		   strcmp(colon + 1, "streamGenerateContent")) {
		return 0;
	}
	r->url_stream = colon[1] == 's';
	size_t n = (size_t)(colon - (m + 8));
	r->url_model = q_malloc(n + 1);
	if (r->url_model) {
		memcpy(r->url_model, m + 8, n);
		r->url_model[n] = '\0';
	}
	return 1;
}

/* The embeddings routes, by the end of the path like the chat ones: a
 * client given the base URL of its chat calls finds them. */
static int route_embed(struct req *r, const char *url)
{
	if (ends_with(url, "/api/embed"))
		r->embed = EMBED_OLLAMA;
	else if (ends_with(url, "/api/embeddings"))
		r->embed = EMBED_OLLAMA_LEGACY;
	else if (ends_with(url, "/embeddings"))
		r->embed = EMBED_OPENAI;
	else
		return 0;
	r->route = ROUTE_EMBED;
	r->wire = r->embed == EMBED_OPENAI ? WIRE_OPENAI : WIRE_OLLAMA;
	return 1;
}

/* The chat routes match on the end of the path, so any base URL works. */
static void req_route(struct req *r, const char *url)
{
	r->route = ROUTE_CHAT;
	if (route_embed(r, url))
		return;
	if (ends_with(url, "/chat/completions"))
		r->wire = WIRE_OPENAI;
	else if (ends_with(url, "/messages"))
		r->wire = WIRE_ANTHROPIC;
	else if (ends_with(url, "/api/chat"))
		r->wire = WIRE_OLLAMA;
	else if (route_gemini(r, url))
		r->wire = WIRE_GEMINI;
	else if (!strcmp(url, "/_mock/stats"))
		r->route = ROUTE_STATS;
	else if (!strcmp(url, "/_mock/reset"))
		r->route = ROUTE_RESET;
	else if (!strcmp(url, "/_mock/requests"))
		r->route = ROUTE_REQUESTS;
	else if (!strcmp(url, "/v1/models") || !strcmp(url, "/models"))
		r->route = ROUTE_MODELS;
	else if (ends_with(url, "/api/tags"))
		r->route = ROUTE_TAGS;
	else
		r->route = ROUTE_OTHER;
}

static void mock_count_in(struct mock *m)
{
	atomic_fetch_add(&m->requests, 1);
	long now = atomic_fetch_add(&m->in_flight, 1) + 1;
	long peak = atomic_load(&m->peak);
	while (now > peak && !atomic_compare_exchange_weak(&m->peak, &peak, now))
		;
}

/* The request's number on its connection: 1 on a fresh one, more on a
 * kept-alive one (what drop_reused looks for). */
static long conn_count(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct mock_conn *mc = ci ? ci->socket_context : NULL;
	return mc ? ++mc->requests : 1;
}

static struct req *req_new(struct mock *m, struct MHD_Connection *c,
			   const char *url)
{
	struct req *r = q_calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->m = m;
	r->conn = c;
	r->conn_nth = conn_count(c);
	atomic_init(&r->refs, 1);
	atomic_init(&r->park.gone, 0);
	r->park.conn = c;
	req_route(r, url);
	r->retry_after = -1;
	r->cut_at = SIZE_MAX;
	r->ctype = "application/json";
	buf_init(&r->body, MOCK_BODY_MAX);
	if (r->route == ROUTE_CHAT || r->route == ROUTE_EMBED) {
		r->counted = 1;
		mock_count_in(m);
	}
	return r;
}

/* The first call for a request: refuse an announced oversized body before
 * reading it. */
static enum MHD_Result req_begin(struct req *r)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > MOCK_BODY_MAX) {
		req_error(r, 413, "Request body larger than 16 MiB.", NULL,
			  "request_too_large");
		return req_respond(r);
	}
	return MHD_YES;
}

static enum MHD_Result req_json(struct req *r, struct buf *b, int rc)
{
	if (rc) {
		buf_release(b);
		req_error(r, 500, "mock: out of memory", NULL, NULL);
	} else {
		buf_release(&r->out);
		r->out = *b;
		r->status = 200;
	}
	return req_respond(r);
}

static enum MHD_Result mock_stats_json(struct req *r)
{
	struct mock *m = r->m;
	struct buf b = BUF_INIT;
	int rc = buf_printf(&b, "{\"requests\":%ld,\"completed\":%ld,\"aborted\":%ld,"
				"\"in_flight\":%ld,\"peak_in_flight\":%ld,"
				"\"parked\":%zu,\"connections\":%ld,\"models\":",
			    atomic_load(&m->requests), atomic_load(&m->completed),
			    atomic_load(&m->aborted), atomic_load(&m->in_flight),
			    atomic_load(&m->peak), mock_timer_parked(m->timer),
			    atomic_load(&m->connections));
	rc |= model_table_json(&m->models, &b);
	rc |= buf_printf(&b, ",\"faults_injected\":%ld,\"faults\":{",
			 mock_fault_count(m, NULL));
	const char *sep = "";
	for (size_t i = 0; i < FAULT_NTYPES; i++) {
		long n = atomic_load(&m->faults[i]);
		if (!n)
			continue;
		rc |= buf_printf(&b, "%s\"%s\":%ld", sep, scenario_fault_names[i], n);
		sep = ",";
	}
	rc |= buf_puts(&b, "}}");
	return req_json(r, &b, rc);
}

static enum MHD_Result mock_models_json(struct req *r)
{
	const struct scenario *sc = &r->m->sc;
	struct buf b = BUF_INIT;
	int rc = buf_puts(&b, "{\"object\":\"list\",\"data\":[");
	for (size_t i = 0; i < sc->n_models; i++) {
		rc |= buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
		rc |= buf_put_json_str(&b, sc->models[i].name);
		rc |= buf_puts(&b, ",\"object\":\"model\",\"created\":0,"
				   "\"owned_by\":\"quorum-mock\"}");
	}
	rc |= buf_puts(&b, "]}");
	return req_json(r, &b, rc);
}

/* Ollama's GET /api/tags: the models it has pulled. */
static enum MHD_Result mock_tags_json(struct req *r)
{
	const struct scenario *sc = &r->m->sc;
	struct buf b = BUF_INIT;
	int rc = buf_puts(&b, "{\"models\":[");
	const char *sep = "";
	for (size_t i = 0; i < sc->n_models; i++) {
		if (sc->fallback == &sc->models[i])
			continue;
		rc |= buf_printf(&b, "%s{\"name\":", sep);
		rc |= buf_put_json_str(&b, sc->models[i].name);
		rc |= buf_puts(&b, ",\"model\":");
		rc |= buf_put_json_str(&b, sc->models[i].name);
		rc |= buf_puts(&b, ",\"modified_at\":\"2024-01-01T00:00:00Z\",\"size\":0,"
				   "\"digest\":\"\",\"details\":{}}");
		sep = ",";
	}
	rc |= buf_puts(&b, "]}");
	return req_json(r, &b, rc);
}

static enum MHD_Result mock_route(struct req *r, const char *method,
				  const char *url)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	struct buf b = BUF_INIT;
	switch (r->route) {
	case ROUTE_CHAT:
		if (post)
			return chat_dispatch(r);
		break;
	case ROUTE_EMBED:
		if (post)
			return embed_dispatch(r);
		break;
	case ROUTE_STATS:
		if (get)
			return mock_stats_json(r);
		break;
	case ROUTE_RESET:
		if (post) {
			mock_reset(r->m);
			return req_json(r, &b, buf_puts(&b, "{\"ok\":true}"));
		}
		break;
	case ROUTE_REQUESTS:
		if (get) {
			const char *model = MHD_lookup_connection_value(
				r->conn, MHD_GET_ARGUMENT_KIND, "model");
			return req_json(r, &b, mock_log_json(r->m, model, &b));
		}
		break;
	case ROUTE_MODELS:
		if (get)
			return mock_models_json(r);
		break;
	case ROUTE_TAGS:
		if (get)
			return mock_tags_json(r);
		break;
	case ROUTE_OTHER: {
		char msg[300];
		snprintf(msg, sizeof(msg), "Unknown request URL: %.16s %.200s.",
			 method, url);
		req_error(r, 404, msg, NULL, "unknown_url");
		return req_respond(r);
	}
	}
	req_error(r, 405, "Method not allowed.", NULL, NULL);
	return req_respond(r);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *data,
				 size_t *size, void **con_cls)
{
	struct mock *m = cls;
	struct req *r = *con_cls;
	(void)version;
	if (!r) {
		r = req_new(m, c, url);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		return req_begin(r);
	}
	if (*size) {
		if (r->state == RS_BODY && !r->too_large &&
		    buf_append(&r->body, data, *size))
			r->too_large = 1;
		*size = 0;
		return MHD_YES;
	}
	switch (r->state) {
	case RS_BODY:
		return mock_route(r, method, url);
	case RS_WAIT:
		/* Resumed: the latency is over, or the client or server is
		 * gone; a hang or a reset has nothing prepared (status 0). */
		if (atomic_load(&r->park.gone) || atomic_load(&m->stopping) ||
		    !r->status) {
			if (r->reset)
				req_reset(r);
			return MHD_NO;
		}
		return req_respond(r);
	case RS_SENT:
		break;
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct mock *m = cls;
	struct req *r = *con_cls;
	(void)c;
	if (!r)
		return;
	if (r->ending)
		atomic_fetch_sub(&m->ending, 1);
	if (r->counted) {
		if (!r->ending)
			atomic_fetch_sub(&m->in_flight, 1);
		/* A cut is the server's doing: the script ran to its end. */
		if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || r->cut)
			atomic_fetch_add(&m->completed, 1);
		else
			atomic_fetch_add(&m->aborted, 1);
	}
	*con_cls = NULL;
	req_unref(r);
}

/* Each connection carries a count of the requests begun on it; a
 * connection that cannot have one is taken for fresh every time. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct mock *m = cls;
	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = q_calloc(1, sizeof(struct mock_conn));
		atomic_fetch_add(&m->connections, 1);
	} else {
		q_free(*socket_context);
		*socket_context = NULL;
	}
}

/* ---- lifecycle ---- */

/* 10,000 connections need 10,000 descriptors; the hard limit is ours to
 * take. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static unsigned pool_size(void)
{
	const char *env = getenv("QUORUM_MOCK_THREADS");
	long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > MOCK_MAX_THREADS ? MOCK_MAX_THREADS : (unsigned)n;
}

static int mock_listen(struct mock *m, int port, struct qerr *e)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	raise_nofile();
	/* HTTPS when the scenario gives a certificate (GnuTLS, in MHD); the
	 * MEM options are ignored without MHD_USE_TLS. */
	const char *cert = m->sc.tls_cert, *key = m->sc.tls_key;
	m->d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			(cert ? MHD_USE_TLS : 0),
		(uint16_t)port, NULL, NULL, on_access, m,
		MHD_OPTION_HTTPS_MEM_CERT, cert ? cert : "",
		MHD_OPTION_HTTPS_MEM_KEY, key ? key : "",
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, pool_size(),
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)MOCK_CONN_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MOCK_CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, m,
		MHD_OPTION_END);
	if (!m->d)
		return qerr_set(e, "cannot listen on 127.0.0.1:%d: %s", port,
				errno ? strerror(errno) : "unknown error");
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	m->port = di ? di->port : port;
	return 0;
}

struct mock *mock_start(const char *name, const char *text, size_t len, int port,
			struct qerr *e)
{
	if (port < 0 || port > 65535) {
		qerr_set(e, "invalid port %d", port);
		return NULL;
	}
	struct mock *m = q_calloc(1, sizeof(*m));
	if (!m) {
		qerr_set(e, "out of memory");
		return NULL;
	}
	if (scenario_load(&m->sc, name, text, len, e)) {
		q_free(m);
		return NULL;
	}
	model_table_init(&m->models, &m->sc);
	mock_log_init(&m->log);
	m->timer = mock_timer_new(e);
	if (!m->timer || mock_listen(m, port, e)) {
		mock_stop(m);
		return NULL;
	}
	return m;
}

struct mock *mock_start_file(const char *path, int port, struct qerr *e)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		qerr_set(e, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct buf b;
	buf_init(&b, MOCK_BODY_MAX);
	char chunk[8192];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_append(&b, chunk, n);
	rc |= ferror(f);
	fclose(f);
	struct mock *m = NULL;
	if (rc)
		qerr_set(e, "cannot read '%s': %s", path,
			 b.overflow ? "larger than 16 MiB" : strerror(errno));
	else
		m = mock_start(path, buf_str(&b), b.len, port, e);
	buf_release(&b);
	return m;
}

int mock_port(const struct mock *m) { return m->port; }

/* A client that has its whole answer must find it counted: give MHD up
 * to 50 ms to report what it has finished sending. */
static void mock_settle(struct mock *m)
{
	struct timespec ms = {0, 1000000};
	for (int i = 0; i < 50 && atomic_load(&m->ending) > 0; i++)
		nanosleep(&ms, NULL);
}

void mock_get_stats(struct mock *m, struct mock_stats *out)
{
	mock_settle(m);
	out->requests = atomic_load(&m->requests);
	out->completed = atomic_load(&m->completed);
	out->aborted = atomic_load(&m->aborted);
	out->in_flight = atomic_load(&m->in_flight);
	out->peak_in_flight = atomic_load(&m->peak);
	out->connections = atomic_load(&m->connections);
}

long mock_fault_count(struct mock *m, const char *type)
{
	long n = 0;
	for (size_t i = 0; i < FAULT_NTYPES; i++)
		if (!type || !strcmp(type, scenario_fault_names[i]))
			n += atomic_load(&m->faults[i]);
	return n;
}

long mock_model_requests(struct mock *m, const char *model)
{
	return model_table_requests(&m->models, model);
}

/* Zeroes the counters and the log; restarts every model's script. */
static void mock_reset(struct mock *m)
{
	atomic_store(&m->requests, 0);
	atomic_store(&m->completed, 0);
	atomic_store(&m->aborted, 0);
	atomic_store(&m->connections, 0);
	atomic_store(&m->peak, atomic_load(&m->in_flight));
	for (size_t i = 0; i < FAULT_NTYPES; i++)
		atomic_store(&m->faults[i], 0);
	model_table_reset(&m->models);
	pthread_mutex_lock(&m->log.lock);
	mock_log_clear_locked(&m->log);
	pthread_mutex_unlock(&m->log.lock);
}

void mock_reset_stats(struct mock *m)
{
	/* ...and what came before a reset must not be counted after it (a
	 * server thread, answering POST /_mock/reset, does not wait). */
	mock_settle(m);
	mock_reset(m);
}

void mock_stop(struct mock *m)
{
	if (!m)
		return;
	atomic_store(&m->stopping, 1);
	/* MHD must not stop with suspended connections: resume them all
	 * (marked gone, so they close) before stopping the daemon. */
	mock_timer_stop(m->timer);
	if (m->d)
		MHD_stop_daemon(m->d);
	mock_timer_free(m->timer);
	mock_log_release(&m->log);
	model_table_release(&m->models);
	scenario_release(&m->sc);
	q_free(m);
}
