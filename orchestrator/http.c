/* One attempt of a call over HTTP: the request the provider builds, the
 * curl handle that carries it, the bytes that come back, and the
 * attempt's own deadlines (our timers, not curl's CURLOPT_TIMEOUT_MS,
 * which would also count time queued behind connection limits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/clock.h"
#include "../providers/embed.h"
#include "call_int.h"

#define CONNECT_TIMEOUT_MS 10000
#define ERRBODY_MAX (64 * 1024)
/* Plain HTTP: a call whose answer begins while this many are in flight
 * closes its connection when it ends: curl 7.88 walks every connection to
 * the host when a handle whose connection was kept leaves the multi, so
 * keeping them in a 10,000-wide fan-out would cost O(n^2). Decided when
 * the answer begins, not when the call starts: then the first calls of a
 * fan-out, which end while it is at its widest, close theirs (deciding at
 * the start, 1,024 cost that fan-out 0.3 s more CPU than 256). 1,024
 * keeps the 600 connections of 200 councils at once for the next 200
 * (256 closed 344 of them after each batch, and the next opened them
 * again: 1.34 x one run's wall against 1.20-1.22 x). */
#define KEEPALIVE_UP_TO 1024
/* c->keepalive while a plain call's answer has not begun: undecided. */
#define KEEPALIVE_UNDECIDED 2
#define RECV_BUFFER 4096
#define SEND_BUFFER (16 * 1024)
/* The most header bytes one response may bring: curl refuses a single
 * header line past 100 KiB with "Out of memory"; many lines add up. */
#define HEADERS_MAX (256 * 1024)
/* A connection idle longer than this is not reused. Local servers
 * (uvicorn under vLLM, llama.cpp's httplib) close idle connections after
 * 5 s, and a request sent on one that just closed is lost or re-sent by
 * curl; the providers' front ends keep them for minutes. */
#define MAXAGE_HTTP_S 4L
#define MAXAGE_HTTPS_S 55L

static struct model_state *model_of(struct call *c)
{
	return c->cx->models[c->model->idx];
}

/* The attempt's response went past max_response_bytes (or its headers
 * past HEADERS_MAX): it fails as too_large and the transfer is aborted. */
static int over_limit(struct call *c, size_t len, size_t limit, const char *what)
{
	c->bytes_in += len;
	if (c->bytes_in <= limit)
		return 0;
	if (c->res.err == ERR_NONE)
		chat_result_fail(&c->res, ERR_TOO_LARGE,
				 "the response's %s passed %zu bytes (max_response_bytes)",
				 what, limit);
	return 1;
}

static void keep_retry_after(struct call *c, const char *data, size_t len)
{
	static const char name[] = "retry-after:";
	if (len <= sizeof(name) || strncasecmp(data, name, sizeof(name) - 1))
		return;
	size_t vlen = len - (sizeof(name) - 1);
	const char *v = data + sizeof(name) - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (vlen >= sizeof(c->retry_after))
		vlen = sizeof(c->retry_after) - 1;
	memcpy(c->retry_after, v, vlen);
	c->retry_after[vlen] = '\0';
}

/* The answer begins: whether its plain HTTP connection is kept (above). */
static void keepalive_decide(struct call *c)
{
	c->keepalive = loop_transfers(c->cx->loop) < KEEPALIVE_UP_TO;
	if (!c->keepalive)
		curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct call *c = ud;
	size_t len = size * n;
	if (c->keepalive == KEEPALIVE_UNDECIDED)
		keepalive_decide(c);
	size_t cap = (size_t)c->cs.max_response;
	if (over_limit(c, len, HEADERS_MAX < cap ? HEADERS_MAX : cap, "headers"))
		return 0;
	keep_retry_after(c, data, len);
	return len;
}

/* The first body byte: the status, and the Content-Type, which says
 * whether a server ignored stream: true or a proxy sent its HTML page. */
static void body_begins(struct call *c, int64_t now)
{
	long code = 0;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	c->http_status = (int)code;
	c->status_seen = 1;
	char *ct = NULL;
	curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ct);
	if (c->http_status / 100 == 2 && c->prov->parser_content_type)
		c->prov->parser_content_type(c->parser, ct);
	if (!c->cs.stream && c->http_status / 100 == 2)
		c->t_first = now;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct call *c = ud;
	size_t len = size * n;
	int64_t now = clock_ms();
	c->t_last = now;
	/* The limit bounds the bytes received, framing and error bodies
	 * included, not only the answer's text. */
	if (over_limit(c, len, (size_t)c->cs.max_response, "body"))
		return 0;
	if (!c->status_seen)
		body_begins(c, now);
	if (c->http_status / 100 != 2) {
		/* Error bodies are kept, capped, for the provider's message. */
		size_t room = ERRBODY_MAX - c->errbody.len;
		buf_append(&c->errbody, data, len < room ? len : room);
		return len;
	}
	int got = c->prov->parser_feed(c->parser, data, len, &c->res);
	if (got < 0)
		return 0; /* aborts the transfer; res.err says why */
	if (got > 0 && !c->t_first)
		c->t_first = now;
	if (got > 0 && c->cx->on_text)
		c->cx->on_text(c->cx->on_text_ctx, c, buf_str(&c->res.text), c->res.text.len);
	return len;
}

/* curl calls this for every request it puts on the wire, the silent
 * re-send on a fresh connection (after a reused one turned out dead)
 * included: each is an attempt the report counts, since the server may
 * have run, and billed, every one. */
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port,
		     int local_port)
{
	struct call *c = ud;
	(void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
	if (c->sends++ > 0) {
		c->resp.attempts++;
		c->cx->budget->started++;
		trace_event(c->cx->trace, "resend",
			    "\"node\":\"%s\",\"slot\":%zu,\"model\":\"%s\",\"attempt\":%d",
			    trace_str(c->cx->arena, c->label), c->slot,
			    trace_str(c->cx->arena, c->model->id), c->attempt);
	}
	return CURL_PREREQFUNC_OK;
}

/* curl 7.88 copies an HTTPS request's body through its upload buffer (16
 * KiB at least) and keeps that buffer until the transfer ends: in a
 * 10,000-wide fan-out, most of our memory. Once the whole body is sent,
 * nothing points into it (nghttp2 copied it; TLS took it), and curl calls
 * this after its upload step; setting the size again frees the buffer,
 * which curl would allocate anew only to send again (a re-send). Then this
 * callback is switched off. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct call *c = ud;
	(void)dltotal, (void)dlnow;
	if (ultotal > 0 && ulnow == ultotal) {
		curl_easy_setopt(c->easy, CURLOPT_UPLOAD_BUFFERSIZE, (long)SEND_BUFFER);
		curl_easy_setopt(c->easy, CURLOPT_NOPROGRESS, 1L);
	}
	return 0;
}

/* A non-2xx response: the provider's class and message from its body. */
static void error_from_body(struct call *c)
{
	c->prov->parse_error(c->http_status, buf_str(&c->errbody), c->errbody.len,
			     c->retry_after[0] ? c->retry_after : NULL, &c->res);
}

static void deadline_fire(void *ctx);

static void deadline_arm(struct call *c)
{
	int64_t next = c->t_sent + c->cs.timeout_ms;
	if (!c->t_first && c->t_sent + c->cs.first_token_ms < next)
		next = c->t_sent + c->cs.first_token_ms;
	if (c->cs.stream && c->t_first && c->t_last + c->cs.idle_ms < next)
		next = c->t_last + c->cs.idle_ms;
	c->deadline.fire = deadline_fire;
	c->deadline.ctx = c;
	loop_timer_arm(c->cx->loop, &c->deadline, next);
}

/* Which of the attempt's limits has passed at now, or NULL. */
static const char *deadline_passed(const struct call *c, int64_t now, int64_t *limit)
{
	if (now >= c->t_sent + c->cs.timeout_ms) {
		*limit = c->cs.timeout_ms;
		return "no complete answer within";
	}
	if (!c->t_first && now >= c->t_sent + c->cs.first_token_ms) {
		*limit = c->cs.first_token_ms;
		return "no first token within";
	}
	if (c->cs.stream && c->t_first && now >= c->t_last + c->cs.idle_ms) {
		*limit = c->cs.idle_ms;
		return "stream idle for";
	}
	return NULL;
}

static void deadline_fire(void *ctx)
{
	struct call *c = ctx;
	int64_t limit = 0;
	const char *what = deadline_passed(c, clock_ms(), &limit);
	if (!what) {
		deadline_arm(c);
		return;
	}
	if (c->status_seen && c->http_status / 100 != 2) {
		/* An error status came and its body did not end in time: the
		 * status and what came of the provider's words still say more
		 * than "timed out". */
		error_from_body(c);
		buf_printf(&c->res.err_msg, " (the rest of the error body did not come "
			   "within %lld ms)", (long long)limit);
	} else {
		chat_result_fail(&c->res, ERR_TIMEOUT, "%s %lld ms", what, (long long)limit);
	}
	call_attempt_end(c);
}

/* The loop: curl is done with the attempt's transfer. */
static void transfer_done(void *ctx, CURL *e, CURLcode code)
{
	struct call *c = ctx;
	if (c->easy != e)
		return;
	if (c->res.err == ERR_NONE) {
		if (!c->status_seen) {
			long st = 0;
			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &st);
			c->http_status = (int)st;
		}
		int cls = c->http_status / 100;
		if (code == CURLE_OK && cls == 2) {
			c->prov->parser_finish(c->parser, &c->res);
		} else if (code == CURLE_OK || cls == 4 || cls == 5) {
			/* An error status whose body broke off still has its
			 * class (a 429 is rate_limited however it ended). */
			error_from_body(c);
		} else {
			/* A response that had begun (its 2xx status line came)
			 * and then broke off is truncated, not a connection
			 * failure: the server started answering. */
			const char *msg;
			enum err_class ec = policy_curl_class(code, cls == 2, &msg);
			chat_result_fail(&c->res, ec, "%s", msg);
		}
	}
	call_attempt_end(c);
}

static struct curl_slist *header_list(const struct http_req *req)
{
	struct curl_slist *h = NULL;
	for (size_t i = 0; i < req->nheaders; i++) {
		struct curl_slist *nh = curl_slist_append(h, req->headers[i]);
		if (!nh) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = nh;
	}
	/* curl adds "Expect: 100-continue" to big POSTs: a round trip we
	 * never want. */
	struct curl_slist *nh = curl_slist_append(h, "Expect:");
	if (!nh)
		curl_slist_free_all(h);
	return nh;
}

/* How an attempt gets its connection.
 *
 * Over TLS the providers speak HTTP/2: calls to one host share a few
 * connections, many streams each. ALPN tells within the handshake whether
 * the server multiplexes, so PIPEWAIT (wait for that rather than open
 * another connection) costs little, and curl opens a second connection
 * only when the first is full. Nothing here may force a fresh connection:
 * that would be one TLS handshake per call.
 *
 * Over plain HTTP (Ollama, vLLM, llama.cpp on localhost) each request
 * needs a connection of its own while it runs. Looking for a reusable one
 * scans every connection to the host, those in use included: while none
 * is idle, or past KEEPALIVE_UP_TO in flight, open one directly. Whether
 * the connection is kept is decided when the answer begins (see
 * KEEPALIVE_UP_TO); closing one costs a loopback handshake, not a scan. */
static void easy_connection(struct call *c, CURL *e, int tls)
{
	struct loop *l = c->cx->loop;
	enum http_version v = c->cs.http_version;
	long version = v == HTTP_1_1 ? CURL_HTTP_VERSION_1_1
		       : v == HTTP_2 ? (tls ? CURL_HTTP_VERSION_2_0
					    : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
				     : CURL_HTTP_VERSION_2TLS;
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, version);
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, tls ? MAXAGE_HTTPS_S : MAXAGE_HTTP_S);
	if ((tls && v != HTTP_1_1) || v == HTTP_2) {
		c->keepalive = 1;
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
		return;
	}
	c->keepalive = KEEPALIVE_UNDECIDED;
	if (loop_transfers(l) >= KEEPALIVE_UP_TO || !loop_idle_take(l))
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
}

/* The certificates TLS is checked against: the model's ca_cert, else the
 * PEM file SSL_CERT_FILE names (as OpenSSL's tools read it; libcurl
 * itself would not), else the system's. */
static void easy_tls(struct call *c, CURL *e)
{
	const char *bundle = c->cs.ca_cert ? c->cs.ca_cert : getenv("SSL_CERT_FILE");
	if (bundle && *bundle)
		curl_easy_setopt(e, CURLOPT_CAINFO, bundle);
	if (c->cx->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static int easy_setup(struct call *c, CURL *e)
{
	if (!(c->headers = header_list(&c->req)))
		return -1;
	const char *url = buf_str(&c->req.url);
	int64_t ct = c->cs.timeout_ms < CONNECT_TIMEOUT_MS ? c->cs.timeout_ms : CONNECT_TIMEOUT_MS;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, buf_str(&c->req.body));
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req.body.len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(ct > 0 ? ct : 1));
	/* curl's default 16 KiB receive buffer per transfer is most of a
	 * call's memory in a 10,000-wide fan-out; answers arrive in small
	 * chunks anyway. */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
	/* And its 64 KiB upload buffer, which every transfer allocates to
	 * copy the request into however small it is: curl's least. */
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, (long)SEND_BUFFER);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "quorum/" QUORUM_VERSION);
	/* Nothing but HTTP(S), for requests and any redirect: a base_url
	 * that slipped past the loader cannot read a file or speak gopher. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	easy_connection(c, e, !strncmp(url, "https:", 6));
	easy_tls(c, e);
	if (c->cx->verbose)
		verbose_attach(e, c->cx->verbose);
	return 0;
}

/* The endpoint this attempt goes to, by the model's strategy. */
static size_t pick_endpoint(struct call *c, const struct model_state *ms)
{
	struct endpoint_view v[64];
	size_t n = ms->neps < 64 ? ms->neps : 64;
	for (size_t i = 0; i < n; i++)
		v[i] = ms->eps[i].view;
	return endpoint_pick(v, n, (int)c->model->strategy, clock_ms(), call_ctx_random(c->cx));
}

static int request_build(struct call *c, struct qerr *e)
{
	const struct wf_model *m = c->model;
	const char *sim = c->cx->sim_base_url;
	/* The simulated provider speaks all four formats on one port. */
	c->prov = c->embed ? provider_embedder(m->provider) : provider_find(m->provider);
	if (!c->prov)
		return qerr_set(e, c->embed ? "provider '%s' has no embeddings endpoint"
					    : "unknown provider '%s'", m->provider);
	/* The key is read when the call needs it and lives only in the
	 * request headers, which http_req_release wipes. */
	const struct model_state *ms = model_of(c);
	const char *base = ms->base_url, *env = m->api_key_env, *key = NULL;
	c->ep = ms->neps ? (int)pick_endpoint(c, ms) : -1;
	if (c->ep >= 0) {
		base = ms->eps[c->ep].base_url;
		env = ms->eps[c->ep].key_env;
	}
	if (!sim && env && *env)
		key = getenv(env);
	const struct call_settings *cs = &c->cs;
	struct chat_request req = {
		.model = m->model,
		.system = c->system,
		.prompt = c->prompt,
		.has_temperature = (cs->set & CS_TEMPERATURE) != 0,
		.temperature = cs->temperature,
		.max_tokens = cs->max_tokens,
		.has_top_p = (cs->set & CS_TOP_P) != 0,
		.top_p = cs->top_p,
		.has_seed = (cs->set & CS_SEED) != 0,
		.seed = cs->seed,
		.stop = cs->stop,
		.nstop = cs->nstop,
		.params_json = m->params_json,
		.stream = cs->stream,
		.texts = c->texts,
		.ntexts = c->ntexts,
	};
	buf_init(&c->req.url, 0);
	buf_init(&c->req.body, 0);
	c->req.nheaders = 0;
	return c->prov->build(&req, sim ? sim : base, key, &c->req, e);
}

/* The host[:port] of a URL, in the arena ("" when it has none). */
static const char *url_host(struct arena *a, const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/?#");
	const char *at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	return arena_strndup(a, p, n);
}

int http_build(struct call *c, struct qerr *e)
{
	if (request_build(c, e)) {
		http_req_release(&c->req);
		return -1;
	}
	c->resp.host = url_host(c->cx->arena, buf_str(&c->req.url));
	return 0;
}

int http_send(struct call *c, struct qerr *e)
{
	struct call_ctx *cx = c->cx;
	chat_result_init(&c->res, (size_t)c->cs.max_response);
	c->res.json_depth = cx->json_depth;
	buf_init(&c->errbody, ERRBODY_MAX + 1);
	c->parser = c->prov->parser_new(c->cs.stream, (size_t)c->cs.max_response);
	/* Every vector asked for, or the answer is malformed (never cached). */
	if (c->parser && c->embed)
		embed_parser_expect(c->parser, c->ntexts);
	c->easy = loop_easy_get(cx->loop);
	c->xfer = (struct loop_xfer){transfer_done, c, NULL};
	if (!c->parser || !c->easy || easy_setup(c, c->easy) ||
	    loop_add(cx->loop, c->easy, &c->xfer, c->cs.max_connections)) {
		chat_result_release(&c->res);
		http_release(c);
		return qerr_set(e, "out of memory starting the request");
	}
	int64_t now = clock_ms();
	c->running = 1;
	c->t_sent = c->t_last = now;
	c->t_first = 0;
	c->status_seen = 0;
	c->http_status = 0;
	c->sends = 0;
	c->bytes_in = 0;
	c->retry_after[0] = '\0';
	deadline_arm(c);
	return 0;
}

void http_release(struct call *c)
{
	struct loop *l = c->cx->loop;
	loop_timer_disarm(l, &c->deadline);
	if (c->easy) {
		if (c->running)
			loop_remove(l, c->easy, &c->xfer);
		loop_easy_put(l, c->easy);
		c->easy = NULL;
		/* A call that ended well left its connection in the cache. */
		if (c->keepalive == 1 && c->res.err == ERR_NONE && c->status_seen)
			loop_idle_put(l);
	}
	/* Our copy of the key header is wiped, not just freed. */
	for (struct curl_slist *h = c->headers; h; h = h->next)
		memset(h->data, 0, strlen(h->data));
	curl_slist_free_all(c->headers);
	c->headers = NULL;
	http_req_release(&c->req);
	if (c->parser) {
		c->prov->parser_free(c->parser);
		c->parser = NULL;
	}
	buf_release(&c->errbody);
	c->running = 0;
}
