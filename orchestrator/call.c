/* A call's life: queue for a slot on its model, one HTTP attempt at a
 * time through the curl multi handle, timeouts from our own timers,
 * retries with jittered backoff that honour Retry-After, then fallbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "run.h"

/* A model that fails this many attempts in a row is skipped for the rest
 * of the run: its calls go straight to their fallbacks. */
#define BREAKER_THRESHOLD 3
#define BACKOFF_BASE_MS 500
#define BACKOFF_CAP_MS 30000
/* Retry-After is honoured up to this; a server asking for more gets it
 * capped rather than stalling the whole run. */
#define RETRY_AFTER_CAP_MS 60000
#define CONNECT_TIMEOUT_MS 10000
#define ERRBODY_MAX (64 * 1024)
/* Past this many in flight, a finished call closes its connection: curl
 * 7.88 walks its whole connection cache when a handle whose connection was
 * kept leaves the multi, so a 10,000-connection cache would cost O(n^2). */
#define KEEPALIVE_UP_TO 256
#define START_BATCH 256
#define EASY_POOL_MAX 1024
#define RECV_BUFFER 4096
/* The most header bytes one response may bring: curl refuses a single
 * header line past 100 KiB with "Out of memory"; many lines add up. */
#define HEADERS_MAX (256 * 1024)
/* A connection idle longer than this is not reused. Local servers
 * (uvicorn under vLLM, llama.cpp's httplib) close idle connections after
 * 5 s, and a request sent on one that just closed is lost or re-sent by
 * curl; the providers' front ends keep them for minutes. */
#define MAXAGE_HTTP_S 4L
#define MAXAGE_HTTPS_S 55L

static void attempt_start(struct call *c);
static void call_finish(struct call *c, enum resp_status st);

static struct model_state *model_of(struct call *c)
{
	return &c->run->models[c->model->idx];
}

static struct response *resp_of(struct call *c)
{
	return &c->ns->resp[c->slot];
}

struct call *call_new(struct run *r, struct node_state *ns, size_t slot,
		      const struct wf_model *model, const char *system,
		      const char *prompt)
{
	struct call *c = arena_alloc(r->arena, sizeof(*c));
	if (!c)
		return NULL;
	c->run = r;
	c->ns = ns;
	c->slot = slot;
	c->model = model;
	c->system = system;
	c->prompt = prompt;
	c->wake.pos = c->deadline.pos = (size_t)-1;
	workflow_call_settings(r->wf, ns->node, model, &c->cs);
	struct response *resp = &ns->resp[slot];
	resp->model = resp->requested = model->id;
	resp->status = RESP_PENDING;
	resp->latency_ms = resp->ttft_ms = -1;
	resp->input_tokens = resp->output_tokens = -1;
	resp->started_ms = -1;
	resp->price_known = 1;
	return c;
}

/* ---- per-model queues, concurrency and rpm ---- */

static void queue_push(struct model_state *ms, struct call *c)
{
	c->queued = 1;
	c->qnext = NULL;
	if (ms->qtail)
		ms->qtail->qnext = c;
	else
		ms->qhead = c;
	ms->qtail = c;
}

static struct call *queue_pop(struct model_state *ms)
{
	struct call *c = ms->qhead;
	if (!c)
		return NULL;
	ms->qhead = c->qnext;
	if (!ms->qhead)
		ms->qtail = NULL;
	c->queued = 0;
	return c;
}

static void queue_remove(struct model_state *ms, struct call *c)
{
	struct call *prev = NULL;
	for (struct call *p = ms->qhead; p; prev = p, p = p->qnext) {
		if (p != c)
			continue;
		if (prev)
			prev->qnext = c->qnext;
		else
			ms->qhead = c->qnext;
		if (ms->qtail == c)
			ms->qtail = prev;
		c->queued = 0;
		return;
	}
}

void call_settings_overlay(struct call *c, const struct call_settings *over)
{
	c->overlay = over;
	call_settings_apply(&c->cs, over);
}

void call_submit(struct call *c)
{
	queue_push(model_of(c), c);
}

/* 0 when the rpm window allows a start now, else when it will. */
static int64_t rpm_blocked_until(const struct model_state *ms, int64_t now)
{
	if (!ms->rpm_cap || ms->nstarts < ms->rpm_cap)
		return 0;
	int64_t open = ms->starts[ms->startpos] + 60000;
	return open > now ? open : 0;
}

static void rpm_record(struct model_state *ms, int64_t now)
{
	if (!ms->rpm_cap)
		return;
	if (ms->nstarts < ms->rpm_cap) {
		ms->starts[(ms->startpos + ms->nstarts++) % ms->rpm_cap] = now;
	} else {
		ms->starts[ms->startpos] = now;
		ms->startpos = (ms->startpos + 1) % ms->rpm_cap;
	}
}

static void wake_noop(void *ctx) { (void)ctx; }

void calls_pump(struct run *r)
{
	int64_t now = clock_ms();
	size_t budget = START_BATCH, nm = r->wf->nmodels;
	r->pump_more = 0;
	/* A call that fails as it starts (its model skipped) may queue its
	 * fallback, or its node's next call, on a model this pass has
	 * already served: pass again while a pass starts anything, or that
	 * call would wait for some other event (or the run "stall"). */
	for (int started = 1; started;) {
		started = 0;
		for (size_t k = 0; k < nm; k++) {
			size_t i = (r->pump_next + k) % nm;
			struct model_state *ms = &r->models[i];
			int limit = ms->model->max_concurrency;
			while (ms->qhead && (!limit || ms->in_flight < limit)) {
				int64_t until = rpm_blocked_until(ms, now);
				if (until) {
					ms->rpm_timer.fire = wake_noop;
					timer_arm(&r->timers, &ms->rpm_timer, until);
					break;
				}
				if (!budget) {
					r->pump_more = 1;
					r->pump_next = i;
					return;
				}
				budget--;
				started = 1;
				struct call *c = queue_pop(ms);
				rpm_record(ms, now);
				attempt_start(c);
			}
		}
	}
}

/* ---- the curl side of an attempt ---- */

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

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct call *c = ud;
	size_t len = size * n;
	if (over_limit(c, len, HEADERS_MAX < (size_t)c->cs.max_response
				       ? HEADERS_MAX : (size_t)c->cs.max_response, "headers"))
		return 0;
	static const char name[] = "retry-after:";
	if (len > sizeof(name) && !strncasecmp(data, name, sizeof(name) - 1)) {
		size_t vlen = len - (sizeof(name) - 1);
		const char *v = data + sizeof(name) - 1;
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
				v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= sizeof(c->retry_after))
			vlen = sizeof(c->retry_after) - 1;
		memcpy(c->retry_after, v, vlen);
		c->retry_after[vlen] = '\0';
	}
	return len;
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
	if (!c->status_seen) {
		long code = 0;
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
		c->http_status = (int)code;
		c->status_seen = 1;
		/* A server that ignores stream: true, or a proxy's HTML page,
		 * says so in its Content-Type before the first byte is read. */
		char *ct = NULL;
		curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ct);
		if (c->http_status / 100 == 2 && c->prov->parser_content_type)
			c->prov->parser_content_type(c->parser, ct);
		if (!c->cs.stream && c->http_status / 100 == 2)
			c->t_first = now;
	}
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
	return len;
}

static void deadline_fire(void *ctx);

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
		resp_of(c)->attempts++;
		c->run->calls_started++;
		trace_event(c->run, "resend", "\"node\":\"%s\",\"slot\":%zu,\"model\":\"%s\","
			    "\"attempt\":%d", trace_str(c->run, c->ns->node->id), c->slot,
			    trace_str(c->run, c->model->id), c->attempt);
	}
	return CURL_PREREQFUNC_OK;
}

/* A non-2xx response: the provider's class and message from its body. */
static void error_from_body(struct call *c)
{
	c->prov->parse_error(c->http_status, buf_str(&c->errbody), c->errbody.len,
			     c->retry_after[0] ? c->retry_after : NULL, &c->res);
}

static void deadline_arm(struct call *c)
{
	int64_t total = c->t_sent + c->cs.timeout_ms;
	int64_t next = total;
	if (!c->t_first && c->t_sent + c->cs.first_token_ms < next)
		next = c->t_sent + c->cs.first_token_ms;
	if (c->cs.stream && c->t_first && c->t_last + c->cs.idle_ms < next)
		next = c->t_last + c->cs.idle_ms;
	c->deadline.fire = deadline_fire;
	c->deadline.ctx = c;
	timer_arm(&c->run->timers, &c->deadline, next);
}

static void attempt_end(struct call *c);

/* Our timers end attempts, not curl's CURLOPT_TIMEOUT_MS, which would
 * also count time spent queued behind connection limits. */
static void deadline_fire(void *ctx)
{
	struct call *c = ctx;
	int64_t now = clock_ms();
	const char *what = NULL;
	int64_t limit = 0;
	if (now >= c->t_sent + c->cs.timeout_ms) {
		what = "no complete answer within";
		limit = c->cs.timeout_ms;
	} else if (!c->t_first && now >= c->t_sent + c->cs.first_token_ms) {
		what = "no first token within";
		limit = c->cs.first_token_ms;
	} else if (c->cs.stream && c->t_first && now >= c->t_last + c->cs.idle_ms) {
		what = "stream idle for";
		limit = c->cs.idle_ms;
	}
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
	attempt_end(c);
}

/* curl_easy_init is a good part of a call's cost: handles are reused. */
static CURL *easy_get(struct run *r)
{
	if (!r->neasy)
		return curl_easy_init();
	CURL *e = r->easy_pool[--r->neasy];
	curl_easy_reset(e);
	return e;
}

static void easy_put(struct run *r, CURL *e)
{
	if (r->neasy == r->easy_cap && r->easy_cap < EASY_POOL_MAX) {
		size_t cap = r->easy_cap ? r->easy_cap * 2 : 64;
		CURL **p = q_realloc(r->easy_pool, cap * sizeof(*p));
		if (p) {
			r->easy_pool = p;
			r->easy_cap = cap;
		}
	}
	if (r->neasy < r->easy_cap)
		r->easy_pool[r->neasy++] = e;
	else
		curl_easy_cleanup(e);
}

void calls_release(struct run *r)
{
	while (r->neasy)
		curl_easy_cleanup(r->easy_pool[--r->neasy]);
	q_free(r->easy_pool);
	r->easy_pool = NULL;
	r->easy_cap = 0;
}

static int easy_setup(struct call *c, CURL *e)
{
	struct curl_slist *h = NULL;
	for (size_t i = 0; i < c->req.nheaders; i++) {
		struct curl_slist *nh = curl_slist_append(h, c->req.headers[i]);
		if (!nh) {
			curl_slist_free_all(h);
			return -1;
		}
		h = nh;
	}
	/* curl adds "Expect: 100-continue" to big POSTs: a round trip we
	 * never want. */
	struct curl_slist *nh = curl_slist_append(h, "Expect:");
	if (!nh) {
		curl_slist_free_all(h);
		return -1;
	}
	c->headers = nh;
	int64_t ct = c->cs.timeout_ms < CONNECT_TIMEOUT_MS ? c->cs.timeout_ms
							    : CONNECT_TIMEOUT_MS;
	curl_easy_setopt(e, CURLOPT_URL, buf_str(&c->req.url));
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, buf_str(&c->req.body));
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req.body.len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(ct > 0 ? ct : 1));
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Over TLS, ALPN tells within the handshake whether the server
	 * multiplexes, so waiting for it costs little and saves connections.
	 * Over plain HTTP curl would learn only from a whole response, and the
	 * fan-out would be serialised behind the first call. */
	if (!strncmp(buf_str(&c->req.url), "https:", 6))
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	/* curl's default 16 KiB receive buffer per transfer is most of a
	 * call's memory in a 10,000-wide fan-out; answers arrive in small
	 * chunks anyway. */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
	/* Looking for a reusable connection scans curl's whole cache, and
	 * while a fan-out grows none is idle: then open one directly. Past
	 * KEEPALIVE_UP_TO in flight a connection closes after its call (see
	 * above), which costs a loopback handshake, not a scan. */
	struct run *r = c->run;
	if (r->idle_conns)
		r->idle_conns--;
	else
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	c->keepalive = r->running_attempts < KEEPALIVE_UP_TO;
	if (!c->keepalive)
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "quorum/" QUORUM_VERSION);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, c);
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN,
			 strncmp(buf_str(&c->req.url), "https:", 6) ? MAXAGE_HTTP_S
								    : MAXAGE_HTTPS_S);
	/* Nothing but HTTP(S), for requests and any redirect: a base_url
	 * that slipped past the loader cannot read a file or speak gopher. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	if (r->opts->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (r->verbose)
		verbose_attach(e, r->verbose);
	return 0;
}

/* Frees what the attempt held; the curl handle leaves the multi. */
static void attempt_release(struct call *c)
{
	struct run *r = c->run;
	timer_disarm(&r->timers, &c->deadline);
	if (c->easy) {
		curl_multi_remove_handle(r->multi, c->easy);
		easy_put(r, c->easy);
		c->easy = NULL;
		/* A call that ended well left its connection in the cache. */
		if (c->keepalive && c->res.err == ERR_NONE && c->status_seen)
			r->idle_conns++;
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
	if (c->running) {
		c->running = 0;
		model_of(c)->in_flight--;
		r->running_attempts--;
	}
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

static int request_build(struct call *c, struct qerr *e)
{
	struct run *r = c->run;
	const struct wf_model *m = c->model;
	const char *sim = r->opts->sim_base_url;
	/* The simulated provider speaks all four formats on one port. */
	c->prov = provider_find(m->provider);
	if (!c->prov)
		return qerr_set(e, "unknown provider '%s'", m->provider);
	/* The key is read when the call needs it and lives only in the
	 * request headers, which http_req_release wipes. */
	const char *key = NULL;
	if (!sim && m->api_key_env && *m->api_key_env)
		key = getenv(m->api_key_env);
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
	};
	buf_init(&c->req.url, 0);
	buf_init(&c->req.body, 0);
	c->req.nheaders = 0;
	return c->prov->build(&req, sim ? sim : model_of(c)->base_url, key, &c->req, e);
}

static void fail_now(struct call *c, enum err_class cls, int http_status, const char *msg)
{
	struct response *resp = resp_of(c);
	resp->err = cls;
	resp->http_status = http_status;
	resp->err_msg = arena_strdup(c->run->arena, msg);
	call_finish(c, RESP_FAILED);
}

static int switch_to_fallback(struct call *c);

static void attempt_start(struct call *c)
{
	struct run *r = c->run;
	struct model_state *ms = model_of(c);
	if (ms->broken) {
		if (switch_to_fallback(c))
			return;
		/* The model's first error is the cause worth telling, not
		 * that the breaker skipped it. */
		const char *msg = arena_printf(r->arena,
			"model '%s' skipped: it failed %d times in a row in this run; "
			"its first error: %s", c->model->id, BREAKER_THRESHOLD,
			ms->first_msg ? ms->first_msg : err_class_name(ms->last_err));
		fail_now(c, ms->first_msg ? ms->first_err : ms->last_err,
			 ms->first_msg ? ms->first_http : 0,
			 msg ? msg : "model skipped after repeated failures");
		return;
	}
	struct qerr e = {0};
	if (request_build(c, &e)) {
		http_req_release(&c->req);
		fail_now(c, ERR_BAD_REQUEST, 0, e.msg);
		return;
	}
	if (budget_reserve(r, c)) {
		http_req_release(&c->req);
		fail_now(c, ERR_BUDGET, 0, "not started: the run's budget would be exceeded");
		return;
	}
	chat_result_init(&c->res, (size_t)c->cs.max_response);
	c->res.json_depth = r->lim.json_depth;
	buf_init(&c->errbody, ERRBODY_MAX + 1);
	c->parser = c->prov->parser_new(c->cs.stream, (size_t)c->cs.max_response);
	c->easy = easy_get(r);
	if (!c->parser || !c->easy || easy_setup(c, c->easy) ||
	    curl_multi_add_handle(r->multi, c->easy) != CURLM_OK) {
		chat_result_release(&c->res);
		budget_settle(r, c, 0);
		attempt_release(c);
		fail_now(c, ERR_CONNECTION, 0, "out of memory starting the request");
		return;
	}
	c->running = 1;
	ms->in_flight++;
	r->running_attempts++;
	r->calls_started++;
	c->attempt++;
	struct response *resp = resp_of(c);
	resp->attempts++;
	resp->model = c->model->id;
	int64_t now = clock_ms();
	if (resp->started_ms < 0)
		resp->started_ms = now - r->t0;
	resp->host = url_host(r->arena, buf_str(&c->req.url));
	c->t_sent = c->t_last = now;
	c->t_first = 0;
	c->status_seen = 0;
	c->http_status = 0;
	c->sends = 0;
	c->bytes_in = 0;
	c->retry_after[0] = '\0';
	deadline_arm(c);
	trace_attempt_start(r, c);
}

static int64_t backoff_ms(struct call *c)
{
	int64_t d = BACKOFF_BASE_MS;
	for (int i = 1; i < c->attempt && d < BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	/* Equal jitter: half fixed, half random, so retries of a fan-out
	 * that failed together do not come back together. */
	d = d / 2 + (int64_t)(run_random(c->run) * (double)(d / 2));
	int64_t ra = c->res.retry_after_ms;
	if (ra > RETRY_AFTER_CAP_MS)
		ra = RETRY_AFTER_CAP_MS;
	return ra > d ? ra : d;
}

static void retry_fire(void *ctx)
{
	call_submit(ctx);
}

static int switch_to_fallback(struct call *c)
{
	struct run *r = c->run;
	const struct wf_model *first = c->first ? c->first : c->model;
	while (c->next_fallback < first->nfallback) {
		const struct wf_model *m = first->fallback[c->next_fallback++];
		if (r->models[m->idx].broken)
			continue;
		trace_event(r, "fallback", "\"node\":\"%s\",\"slot\":%zu,\"from\":\"%s\",\"to\":\"%s\"",
			    c->ns->node->id, c->slot, trace_str(r, c->model->id), trace_str(r, m->id));
		c->first = first;
		c->model = m;
		c->attempt = 0;
		workflow_call_settings(r->wf, c->ns->node, m, &c->cs);
		if (c->overlay)
			call_settings_apply(&c->cs, c->overlay);
		call_submit(c);
		return 1;
	}
	return 0;
}

/* Keeps the call's first failure: what a retry, a fallback or the breaker
 * moves on from is still the cause a user needs to see. */
static void keep_first_failure(struct call *c, struct response *resp)
{
	struct model_state *ms = model_of(c);
	if (resp->err == ERR_NONE)
		return;
	if (!resp->first_model) {
		resp->first_model = c->model->id;
		resp->first_err = resp->err;
		resp->first_http = resp->http_status;
		resp->first_msg = resp->err_msg;
		resp->first_host = resp->host;
	}
	if (!ms->first_msg) {
		ms->first_err = resp->err;
		ms->first_http = resp->http_status;
		ms->first_msg = resp->err_msg;
	}
}

static void record_outcome(struct call *c, int64_t now)
{
	struct response *resp = resp_of(c);
	struct arena *a = c->run->arena;
	const struct redact *rd = &c->run->redact;
	resp->latency_ms = now - c->t_sent;
	resp->ttft_ms = c->t_first ? c->t_first - c->t_sent : -1;
	resp->http_status = c->http_status;
	resp->err = c->res.err;
	resp->finish_reason = c->res.finish_reason[0]
				      ? arena_strdup(a, c->res.finish_reason) : NULL;
	if (c->res.err == ERR_NONE) {
		char *t = arena_strndup(a, buf_str(&c->res.text), c->res.text.len);
		redact_mask(rd, t, t ? c->res.text.len : 0);
		resp->text = t;
		resp->err_msg = NULL;
	} else {
		char *m = c->res.err_msg.len ? arena_strdup(a, buf_str(&c->res.err_msg)) : NULL;
		redact_mask_str(rd, m);
		resp->err_msg = m ? m : err_class_name(c->res.err);
		keep_first_failure(c, resp);
	}
	int known = 1;
	double cost = response_cost(c->model, c->res.input_tokens,
				    c->res.output_tokens, &known);
	resp->cost_usd += cost;
	if (!known)
		resp->price_known = 0;
	if (c->res.input_tokens >= 0)
		resp->input_tokens = (resp->input_tokens > 0 ? resp->input_tokens : 0) +
				     c->res.input_tokens;
	if (c->res.output_tokens >= 0)
		resp->output_tokens = (resp->output_tokens > 0 ? resp->output_tokens : 0) +
				      c->res.output_tokens;
	budget_settle(c->run, c, cost);
}

static void attempt_end(struct call *c)
{
	struct run *r = c->run;
	struct model_state *ms = model_of(c);
	int64_t now = clock_ms();
	enum err_class err = c->res.err;
	record_outcome(c, now);
	trace_attempt_end(r, c, resp_of(c), now - c->t_sent);
	attempt_release(c);
	if (err == ERR_NONE) {
		ms->consecutive_failures = 0;
		chat_result_release(&c->res);
		call_finish(c, RESP_OK);
		return;
	}
	ms->last_err = err;
	if (++ms->consecutive_failures >= BREAKER_THRESHOLD && !ms->broken) {
		ms->broken = 1;
		trace_event(r, "model_skipped", "\"model\":\"%s\",\"failures\":%d",
			    trace_str(r, c->model->id), ms->consecutive_failures);
	}
	if (err_class_retryable(err) && c->attempt <= c->cs.retries && !ms->broken) {
		int64_t delay = backoff_ms(c);
		chat_result_release(&c->res);
		trace_event(r, "retry", "\"node\":\"%s\",\"slot\":%zu,\"model\":\"%s\","
			    "\"attempt\":%d,\"delay_ms\":%lld",
			    c->ns->node->id, c->slot, trace_str(r, c->model->id), c->attempt + 1,
			    (long long)delay);
		c->wake.fire = retry_fire;
		c->wake.ctx = c;
		timer_arm(&r->timers, &c->wake, now + delay);
		return;
	}
	chat_result_release(&c->res);
	if (switch_to_fallback(c))
		return;
	call_finish(c, RESP_FAILED);
}

static enum err_class curl_class(CURLcode code, int body_started, const char **msg)
{
	*msg = curl_easy_strerror(code);
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		return ERR_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		/* What curl 7.88 says of a header line over its 100 KiB bound;
		 * running out of memory for real is far rarer. */
		*msg = "a response header was larger than curl accepts (100 KiB)";
		return ERR_TOO_LARGE;
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2_STREAM:
		if (body_started) {
			*msg = "the connection closed before the response ended";
			return ERR_TRUNCATED;
		}
		return ERR_CONNECTION;
	default:
		return ERR_CONNECTION;
	}
}

void call_transfer_done(struct call *c, CURLcode code)
{
	if (c->res.err == ERR_NONE) {
		if (!c->status_seen) {
			long st = 0;
			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &st);
			c->http_status = (int)st;
		}
		if (code == CURLE_OK && c->http_status / 100 == 2) {
			c->prov->parser_finish(c->parser, &c->res);
		} else if (code == CURLE_OK || c->http_status / 100 == 4 ||
			   c->http_status / 100 == 5) {
			/* An error status whose body broke off still has its
			 * class (a 429 is rate_limited however it ended). */
			error_from_body(c);
		} else {
			/* A response that had begun (its 2xx status line came)
			 * and then broke off is truncated, not a connection
			 * failure: the server started answering. */
			const char *msg;
			enum err_class cls = curl_class(code, c->http_status / 100 == 2, &msg);
			chat_result_fail(&c->res, cls, "%s", msg);
		}
	}
	attempt_end(c);
}

static void call_finish(struct call *c, enum resp_status st)
{
	if (c->done)
		return;
	c->done = 1;
	struct response *resp = resp_of(c);
	resp->status = st;
	if (st == RESP_FAILED)
		c->run->any_call_failed = 1;
	if (resp->err == ERR_BUDGET)
		c->run->budget_hit = 1;
	trace_event(c->run, "call_end",
		    "\"node\":\"%s\",\"slot\":%zu,\"model\":\"%s\",\"status\":\"%s\",\"attempts\":%d",
		    c->ns->node->id, c->slot, trace_str(c->run, resp->model),
		    st == RESP_OK ? "ok" : st == RESP_FAILED ? "failed" : "cancelled",
		    resp->attempts);
	node_call_done(c->run, c->ns, c);
}

void call_cancel(struct call *c, enum err_class why, const char *msg)
{
	if (c->done)
		return;
	struct run *r = c->run;
	if (c->queued)
		queue_remove(model_of(c), c);
	timer_disarm(&r->timers, &c->wake);
	if (c->running) {
		budget_settle(r, c, 0);
		chat_result_release(&c->res);
		c->keepalive = 0; /* curl closes a connection cut mid-transfer */
		attempt_release(c);
	}
	struct response *resp = resp_of(c);
	resp->err = why;
	resp->err_msg = arena_strdup(r->arena, msg);
	/* A call cut by a timeout is a failure the run reports (partial); one
	 * cancelled because nobody needs it is not. */
	if (why != ERR_CANCELLED)
		r->any_call_failed = 1;
	call_finish(c, RESP_CANCELLED);
}
