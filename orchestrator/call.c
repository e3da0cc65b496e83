/* A call's life: queue for a slot on its model, one attempt at a time
 * (http.c), then retries as the policy says, then fallbacks; its record
 * for the report; and its done callback, once. */
#include <stdio.h>
#include <string.h>

#include "../common/clock.h"
#include "call_int.h"

#define START_BATCH 256

static struct model_state *model_of(struct call *c)
{
	return c->cx->models[c->model->idx];
}

int64_t call_ctx_now(const struct call_ctx *cx) { return clock_ms() - cx->t0; }

double call_ctx_random(struct call_ctx *cx)
{
	/* xorshift64*: good enough for jitter, and reproducible per seed. */
	uint64_t x = cx->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	cx->rng = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* The caller's request sampling over the workflow's defaults, for the
 * nodes that write answers; a value the node or model writes is the
 * author's, and stays. */
static void call_settings_request(struct call *c, const struct wf_model *m)
{
	const struct call_settings *rq = c->cx->request;
	if (!rq || !c->node || (c->node->kind != NK_GENERATE && c->node->kind != NK_SYNTHESIZE))
		return;
	struct call_settings over = *rq;
	over.set &= ~(m->cs.set | c->node->cs.set);
	call_settings_apply(&c->cs, &over);
}

struct call *call_new(struct call_ctx *cx, const struct wf_node *n, const char *label,
		      size_t slot, const struct wf_model *m, const char *system,
		      const char *prompt, call_done_fn *done, void *done_ctx)
{
	struct call *c = arena_alloc(cx->arena, sizeof(*c));
	if (!c)
		return NULL;
	c->cx = cx;
	c->node = n;
	c->label = label;
	c->slot = slot;
	c->model = m;
	c->system = system;
	c->prompt = prompt ? prompt : "";
	c->done_fn = done;
	c->done_ctx = done_ctx;
	c->wake.pos = c->deadline.pos = (size_t)-1;
	c->ep = -1;
	workflow_call_settings(cx->wf, n, m, &c->cs);
	call_settings_request(c, m);
	struct response *resp = &c->resp;
	resp->model = resp->requested = m->id;
	resp->status = RESP_PENDING;
	resp->latency_ms = resp->ttft_ms = -1;
	resp->input_tokens = resp->output_tokens = -1;
	resp->started_ms = -1;
	resp->price_known = 1;
	return c;
}

void call_embed(struct call *c, const char *const *texts, size_t n)
{
	c->texts = texts;
	c->ntexts = n;
	c->embed = 1;
	c->cs.stream = 0;
}

void call_settings_overlay(struct call *c, const struct call_settings *over)
{
	c->overlay = over;
	call_settings_apply(&c->cs, over);
}

/* ---- per-model queues ---- */

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

static int from_cache(struct call *c);

void call_submit(struct call *c)
{
	/* Looked up once per model: a retry is the same request, not another
	 * sample; a fallback's request is its own. */
	if (c->cx->cache && c->cache_model != c->model) {
		c->cache_model = c->model;
		if (from_cache(c))
			return;
	}
	queue_push(model_of(c), c);
}

/* ---- the end of a call ---- */

static void call_finish(struct call *c, enum resp_status st)
{
	if (c->done)
		return;
	c->done = 1;
	struct response *resp = &c->resp;
	resp->status = st;
	if (st == RESP_FAILED)
		c->cx->any_failed = 1;
	struct arena *a = c->cx->arena;
	trace_event(c->cx->trace, "call_end",
		    "\"node\":\"%s\",\"slot\":%zu,\"model\":\"%s\",\"status\":\"%s\",\"attempts\":%d",
		    trace_str(a, c->label), c->slot, trace_str(a, resp->model),
		    st == RESP_OK ? "ok" : st == RESP_FAILED ? "failed" : "cancelled",
		    resp->attempts);
	c->done_fn(c, c->done_ctx);
}

static void fail_now(struct call *c, enum err_class cls, int http_status, const char *msg)
{
	c->resp.err = cls;
	c->resp.http_status = http_status;
	c->resp.err_msg = arena_strdup(c->cx->arena, msg);
	call_finish(c, RESP_FAILED);
}

/* Stops the attempt in flight, if any: its model (and endpoint) has a
 * slot again. */
static void attempt_stop(struct call *c)
{
	int was_running = c->running;
	http_release(c);
	if (was_running)
		model_of(c)->in_flight--;
	if (c->ep_busy) {
		model_of(c)->eps[c->ep].view.in_flight--;
		c->ep_busy = 0;
	}
}

/* What an attempt says about its endpoint: how fast it is, or that it
 * must rest (a 429's Retry-After is the endpoint's, not the model's). */
static void endpoint_done(struct call *c, enum err_class err, int64_t now)
{
	if (c->ep < 0)
		return;
	struct endpoint_view *v = &model_of(c)->eps[c->ep].view;
	if (err == ERR_NONE)
		v->latency_ms = endpoint_latency(v->latency_ms, now - c->t_sent);
	else
		v->cool_until = endpoint_rest_until(err, now, c->model->cooldown_ms,
						    c->res.retry_after_ms);
}

/* Whether another endpoint of the model can take a retry now. */
static int endpoint_free(struct call *c, int64_t now)
{
	const struct model_state *ms = model_of(c);
	for (size_t i = 0; i < ms->neps; i++)
		if ((int)i != c->ep && ms->eps[i].view.cool_until <= now)
			return 1;
	return 0;
}

void call_cancel(struct call *c, enum err_class why, const char *msg)
{
	if (c->done)
		return;
	if (c->queued)
		queue_remove(model_of(c), c);
	loop_timer_disarm(c->cx->loop, &c->wake);
	if (c->running) {
		budget_settle(c->cx->budget, &c->reserved_usd, 0);
		call_shared_settle(c, 0);
		chat_result_release(&c->res);
		c->keepalive = 0; /* curl closes a connection cut mid-transfer */
		attempt_stop(c);
	}
	c->resp.err = why;
	c->resp.err_msg = arena_strdup(c->cx->arena, msg);
	/* A call cut by a timeout is a failure the run reports (partial); one
	 * cancelled because nobody needs it is not. */
	if (why != ERR_CANCELLED)
		c->cx->any_failed = 1;
	call_finish(c, RESP_CANCELLED);
}

/* ---- fallbacks, the breaker, attempts ---- */

static int switch_to_fallback(struct call *c)
{
	struct call_ctx *cx = c->cx;
	const struct wf_model *first = c->first ? c->first : c->model;
	while (c->next_fallback < first->nfallback) {
		const struct wf_model *m = first->fallback[c->next_fallback++];
		if (cx->models[m->idx]->breaker.open)
			continue;
		trace_event(cx->trace, "fallback",
			    "\"node\":\"%s\",\"slot\":%zu,\"from\":\"%s\",\"to\":\"%s\"",
			    trace_str(cx->arena, c->label), c->slot,
			    trace_str(cx->arena, c->model->id), trace_str(cx->arena, m->id));
		c->first = first;
		c->model = m;
		c->attempt = 0;
		workflow_call_settings(cx->wf, c->node, m, &c->cs);
		call_settings_request(c, m);
		if (c->overlay)
			call_settings_apply(&c->cs, c->overlay);
		call_submit(c);
		return 1;
	}
	return 0;
}

/* A model its breaker skips fails the call with the model's first error,
 * the cause worth telling, not "skipped". */
static void fail_skipped(struct call *c)
{
	struct model_state *ms = model_of(c);
	if (call_shared_broken(ms, clock_ms())) {
		/* Another process's failures may have opened it: the first error
		 * is the one Redis kept (call_shared_gate). */
		int known = ms->first_msg[0] != '\0';
		const char *msg = arena_printf(c->cx->arena,
			"model '%s' skipped: it failed %d times in a row, here or in another "
			"process sharing --shared; its first error: %s", c->model->id,
			POLICY_BREAKER_THRESHOLD, known ? ms->first_msg : "not known");
		fail_now(c, known ? ms->first_err : ERR_SERVER, known ? ms->first_http : 0,
			 msg ? msg : "model skipped after repeated failures");
		return;
	}
	const char *msg = arena_printf(c->cx->arena,
		"model '%s' skipped: it failed %d times in a row; its first error: %s",
		c->model->id, POLICY_BREAKER_THRESHOLD,
		ms->first_msg[0] ? ms->first_msg : err_class_name(ms->last_err));
	fail_now(c, ms->first_msg[0] ? ms->first_err : ms->last_err,
		 ms->first_msg[0] ? ms->first_http : 0,
		 msg ? msg : "model skipped after repeated failures");
}

static void trace_attempt_start(struct call *c)
{
	struct trace *t = c->cx->trace;
	if (!trace_on(t))
		return;
	struct buf b;
	buf_init(&b, 0);
	trace_begin(t, &b, "attempt_start");
	buf_puts(&b, ",\"node\":");
	buf_put_json_str(&b, c->label);
	buf_printf(&b, ",\"slot\":%zu,\"model\":", c->slot);
	buf_put_json_str(&b, c->model->id);
	buf_printf(&b, ",\"attempt\":%d,\"messages\":[", c->attempt);
	if (c->system) {
		buf_puts(&b, "{\"role\":\"system\",\"content\":");
		buf_put_json_str(&b, c->system);
		buf_puts(&b, "},");
	}
	buf_puts(&b, "{\"role\":\"user\",\"content\":");
	buf_put_json_str(&b, c->prompt);
	buf_puts(&b, "}]");
	trace_end(t, &b);
}

/* ---- the response cache ---- */

/* How often each request came in this run: the n-th identical request
 * (a sample of self-consistency) is its own cache entry. */
struct cache_seen {
	struct cache_key *keys;
	unsigned *counts;
	size_t n, cap;                /* cap: a power of two */
};

static unsigned *seen_slot(struct cache_seen *s, const struct cache_key *k)
{
	size_t i;
	memcpy(&i, k->h, sizeof(i));
	for (i &= s->cap - 1;; i = (i + 1) & (s->cap - 1)) {
		if (!s->counts[i] || !memcmp(s->keys[i].h, k->h, sizeof(k->h))) {
			s->keys[i] = *k;
			return &s->counts[i];
		}
	}
}

/* Makes room for one more; returns 0 or -1. */
static int seen_grow(struct call_ctx *cx)
{
	struct cache_seen *s = cx->seen;
	if (s && (s->n + 1) * 2 <= s->cap)
		return 0;
	struct cache_seen *t = arena_alloc(cx->arena, sizeof(*t));
	size_t cap = s ? s->cap * 2 : 64;
	if (!t || !(t->keys = arena_alloc(cx->arena, cap * sizeof(*t->keys))) ||
	    !(t->counts = arena_alloc(cx->arena, cap * sizeof(*t->counts))))
		return -1;
	t->cap = cap;
	for (size_t i = 0; s && i < s->cap; i++)
		if (s->counts[i])
			*seen_slot(t, &s->keys[i]) = s->counts[i];
	t->n = s ? s->n : 0;
	cx->seen = t;
	return 0;
}

/* The sample index of this request: how many identical ones came before
 * it in the run. */
static unsigned seen_next(struct call_ctx *cx, const struct cache_key *base)
{
	if (seen_grow(cx))
		return 0;
	unsigned *count = seen_slot(cx->seen, base);
	if (!*count)
		cx->seen->n++;
	return (*count)++;
}

/* A cache that cannot be read or written costs a lookup, never the run:
 * the call goes to the model, and the trace says why. */
static void trace_cache_error(struct call *c, const char *op)
{
	struct call_ctx *cx = c->cx;
	trace_event(cx->trace, "cache_error", "\"op\":\"%s\",\"message\":\"%s\"", op,
		    trace_str(cx->arena, cache_error(cx->cache)));
}

/* The request's key: provider (within the run's cache scope), URL and
 * body, and how many identical requests came before it in the run. */
static void key_request(struct call *c)
{
	struct call_ctx *cx = c->cx;
	const char *url = buf_str(&c->req.url), *body = buf_str(&c->req.body);
	/* The simulated provider's port changes with each process: its
	 * answers are keyed by what follows it. */
	char sim_url[512], provider[320];
	size_t ns = cx->sim_base_url ? strlen(cx->sim_base_url) : 0;
	if (ns && !strncmp(url, cx->sim_base_url, ns)) {
		snprintf(sim_url, sizeof(sim_url), "sim:%s", url + ns);
		url = sim_url;
	}
	/* Every endpoint of a model serves the same answers: keyed as the
	 * first one's. */
	char ep_url[1024];
	const struct model_state *ms = model_of(c);
	size_t nb = c->ep > 0 ? strlen(ms->eps[c->ep].base_url) : 0;
	if (nb && !strncmp(url, ms->eps[c->ep].base_url, nb)) {
		snprintf(ep_url, sizeof(ep_url), "%s%s", ms->eps[0].base_url, url + nb);
		url = ep_url;
	}
	snprintf(provider, sizeof(provider), "%s%s%s", cx->cache_scope ? cx->cache_scope : "",
		 cx->cache_scope ? "\n" : "", c->model->provider);
	struct cache_key base;
	cache_key(&base, provider, url, body, c->req.body.len, 0);
	cache_key(&c->key, provider, url, body, c->req.body.len, seen_next(cx, &base));
	c->keyed = 1;
}

static void cached_fire(void *ctx)
{
	struct call *c = ctx;
	c->resp.cached = 1;
	trace_event(c->cx->trace, "cache_hit", "\"node\":\"%s\",\"slot\":%zu,\"model\":\"%s\"",
		    trace_str(c->cx->arena, c->label), c->slot,
		    trace_str(c->cx->arena, c->model->id));
	call_finish(c, RESP_OK);
}

/* Before a call waits for a slot on a model, the first time: an answer in
 * the cache is served at once (no slot, no rpm allowance, no budget, even
 * while the breaker is open), a moment later on the loop so the caller
 * never sees its call end inside call_submit. Returns 1 when it is. */
static int from_cache(struct call *c)
{
	struct call_ctx *cx = c->cx;
	struct qerr err = {0};
	if (http_build(c, &err))
		return 0; /* attempt_start says why */
	key_request(c);
	http_req_release(&c->req);
	struct cache_entry e;
	int got = cache_get(cx->cache, &c->key, &e);
	if (got < 0)
		trace_cache_error(c, "cache_get");
	if (got != 1 && !(got = call_shared_cache_get(c, &e)))
		return 0;
	struct response *resp = &c->resp;
	char *text = arena_strndup(cx->arena, e.text, e.len);
	redact_mask(cx->redact, text, text ? e.len : 0);
	resp->text = text ? text : "";
	resp->finish_reason = e.finish_reason[0] ? arena_strdup(cx->arena, e.finish_reason)
						 : NULL;
	resp->input_tokens = e.input_tokens;
	resp->output_tokens = e.output_tokens;
	resp->saved_usd = e.cost_usd;
	resp->model = c->model->id;
	resp->host = NULL; /* nothing was sent */
	resp->latency_ms = 0;
	if (resp->started_ms < 0)
		resp->started_ms = call_ctx_now(cx);
	cache_entry_release(&e);
	c->wake.fire = cached_fire;
	c->wake.ctx = c;
	loop_timer_arm(cx->loop, &c->wake, clock_ms());
	return 1;
}

/* A successful answer goes into the cache (errors never do). */
static void to_cache(struct call *c)
{
	struct call_ctx *cx = c->cx;
	if (!cx->cache || !c->keyed)
		return;
	char model[256];
	snprintf(model, sizeof(model), "%s %s", c->model->provider, c->model->model);
	const struct response *r = &c->resp;
	if (cache_put(cx->cache, &c->key, model, r->text, strlen(r->text),
		      r->finish_reason ? r->finish_reason : "", c->res.input_tokens,
		      c->res.output_tokens, r->cost_usd))
		trace_cache_error(c, "cache_put");
	call_shared_cache_put(c, r->text, strlen(r->text), r->finish_reason ? r->finish_reason : "",
			      c->res.input_tokens, c->res.output_tokens, r->cost_usd);
}

static void attempt_start(struct call *c)
{
	struct call_ctx *cx = c->cx;
	struct model_state *ms = model_of(c);
	if (call_shared_broken(ms, clock_ms()) || !breaker_allows(&ms->breaker, clock_ms())) {
		if (!switch_to_fallback(c))
			fail_skipped(c);
		return;
	}
	struct qerr e = {0};
	if (http_build(c, &e)) {
		fail_now(c, ERR_BAD_REQUEST, 0, e.msg);
		return;
	}
	double worst = budget_worst_case_usd(c->model, &c->cs, c->system, c->prompt);
	if (budget_reserve(cx->budget, worst, &c->reserved_usd)) {
		http_req_release(&c->req);
		fail_now(c, ERR_BUDGET, 0, "not started: the run's budget would be exceeded");
		return;
	}
	if (call_shared_reserve(c, worst)) {
		budget_settle(cx->budget, &c->reserved_usd, 0);
		cx->budget->hit = 1;
		http_req_release(&c->req);
		fail_now(c, ERR_BUDGET, 0, "not started: the shared budget (--shared-budget) "
			 "would be exceeded");
		return;
	}
	if (http_send(c, &e)) {
		budget_settle(cx->budget, &c->reserved_usd, 0);
		call_shared_settle(c, 0);
		fail_now(c, ERR_CONNECTION, 0, e.msg);
		return;
	}
	ms->in_flight++;
	if (c->ep >= 0) {
		ms->eps[c->ep].view.in_flight++;
		c->ep_busy = 1;
	}
	c->attempt++;
	c->resp.attempts++;
	c->resp.model = c->model->id;
	if (c->resp.started_ms < 0)
		c->resp.started_ms = call_ctx_now(cx);
	trace_attempt_start(c);
}

static void wake_noop(void *ctx) { (void)ctx; }

/* Starts the first queued call of one model if it may start now (and
 * *left allows). Returns whether it started one. One per model per pass:
 * calls submitted together on different models (a council's members)
 * start together, not all of one model's first, which would hold every
 * council's next step until the last model's queue is reached. */
static int pump_model(struct pool *p, struct model_state *ms, int64_t now, size_t *left)
{
	int limit = ms->max_concurrency;
	if (!ms->qhead || (limit && ms->in_flight >= limit))
		return 0;
	int64_t until = rpm_blocked_until(&ms->rpm, now);
	if (until) {
		ms->rpm_timer.fire = wake_noop;
		loop_timer_arm(p->loop, &ms->rpm_timer, until);
		return 0;
	}
	if (!*left) {
		p->pump_more = 1;
		return 0;
	}
	if ((until = call_shared_gate(p, ms, now, *left))) {
		ms->rpm_timer.fire = wake_noop;
		loop_timer_arm(p->loop, &ms->rpm_timer, until);
		return 0;
	}
	--*left;
	struct call *c = queue_pop(ms);
	rpm_record(&ms->rpm, now);
	attempt_start(c);
	return 1;
}

void calls_pump(struct pool *p)
{
	int64_t now = clock_ms();
	size_t left = START_BATCH, nm = p->n;
	p->pump_more = 0;
	/* A call that fails as it starts (its model skipped) may queue its
	 * fallback, or its node's next call, on a model this pass has
	 * already served: pass again while a pass starts anything, or that
	 * call would wait for some other event (or the run "stall"). */
	for (int started = 1; started;) {
		started = 0;
		for (size_t k = 0; k < nm; k++) {
			size_t i = (p->pump_next + k) % nm;
			started |= pump_model(p, p->models[i], now, &left);
			if (p->pump_more) {
				p->pump_next = i;
				return;
			}
		}
	}
}

/* ---- the record of an attempt ---- */

/* Keeps the call's first failure: what a retry, a fallback or the breaker
 * moves on from is still the cause a user needs to see. */
static void keep_first_failure(struct call *c)
{
	struct response *resp = &c->resp;
	struct model_state *ms = model_of(c);
	if (!resp->first_model) {
		resp->first_model = c->model->id;
		resp->first_err = resp->err;
		resp->first_http = resp->http_status;
		resp->first_msg = resp->err_msg;
		resp->first_host = resp->host;
	}
	if (!ms->first_msg[0]) {
		ms->first_err = resp->err;
		ms->first_http = resp->http_status;
		snprintf(ms->first_msg, sizeof(ms->first_msg), "%s",
			 resp->err_msg ? resp->err_msg : err_class_name(resp->err));
	}
}

/* What the provider said, into the record, any configured key masked. */
static void record_text(struct call *c)
{
	struct response *resp = &c->resp;
	struct arena *a = c->cx->arena;
	if (c->res.err == ERR_NONE) {
		char *t = arena_strndup(a, buf_str(&c->res.text), c->res.text.len);
		redact_mask(c->cx->redact, t, t ? c->res.text.len : 0);
		resp->text = t;
		resp->err_msg = NULL;
		return;
	}
	char *m = c->res.err_msg.len ? arena_strdup(a, buf_str(&c->res.err_msg)) : NULL;
	redact_mask_str(c->cx->redact, m);
	resp->err_msg = m ? m : err_class_name(c->res.err);
	keep_first_failure(c);
}

static void record_outcome(struct call *c, int64_t now)
{
	struct response *resp = &c->resp;
	resp->latency_ms = now - c->t_sent;
	resp->ttft_ms = c->t_first ? c->t_first - c->t_sent : -1;
	resp->http_status = c->http_status;
	resp->err = c->res.err;
	resp->finish_reason = c->res.finish_reason[0]
				      ? arena_strdup(c->cx->arena, c->res.finish_reason) : NULL;
	record_text(c);
	int known = 1;
	double cost = response_cost(c->model, c->res.input_tokens, c->res.output_tokens,
				    &known);
	resp->cost_usd += cost;
	if (!known)
		resp->price_known = 0;
	if (c->res.input_tokens >= 0)
		resp->input_tokens = (resp->input_tokens > 0 ? resp->input_tokens : 0) +
				     c->res.input_tokens;
	if (c->res.output_tokens >= 0)
		resp->output_tokens = (resp->output_tokens > 0 ? resp->output_tokens : 0) +
				      c->res.output_tokens;
	budget_settle(c->cx->budget, &c->reserved_usd, cost);
	call_shared_settle(c, cost);
}

static void trace_attempt_end(struct call *c, int64_t latency_ms)
{
	struct trace *t = c->cx->trace;
	if (!trace_on(t))
		return;
	struct buf b;
	buf_init(&b, 0);
	trace_begin(t, &b, "attempt_end");
	buf_puts(&b, ",\"node\":");
	buf_put_json_str(&b, c->label);
	buf_printf(&b, ",\"slot\":%zu,\"model\":", c->slot);
	buf_put_json_str(&b, c->model->id);
	buf_printf(&b, ",\"attempt\":%d,\"ok\":%s,\"http_status\":", c->attempt,
		   c->res.err == ERR_NONE ? "true" : "false");
	if (c->http_status)
		buf_printf(&b, "%d", c->http_status);
	else
		buf_puts(&b, "null");
	buf_puts(&b, ",\"error\":");
	if (c->res.err == ERR_NONE)
		buf_puts(&b, "null");
	else
		trace_put_error(&b, err_class_name(c->res.err), c->http_status,
				c->resp.err_msg, NULL);
	buf_printf(&b, ",\"latency_ms\":%lld", (long long)latency_ms);
	trace_end(t, &b);
}

static void retry_fire(void *ctx)
{
	call_submit(ctx);
}

/* A failed attempt: another on the same model after a backoff, or the
 * next fallback, or the end of the call. */
static void after_failure(struct call *c, enum err_class err, int64_t now)
{
	struct call_ctx *cx = c->cx;
	struct model_state *ms = model_of(c);
	ms->last_err = err;
	if (breaker_record(&ms->breaker, 0, now))
		trace_event(cx->trace, "model_skipped", "\"model\":\"%s\",\"failures\":%d",
			    trace_str(cx->arena, c->model->id), ms->breaker.consecutive);
	call_shared_outcome(cx->pool, ms, 0, now);
	if (policy_should_retry(err, c->attempt, c->cs.retries,
				ms->breaker.open || call_shared_broken(ms, now))) {
		/* Another endpoint need not wait for this one's Retry-After. */
		int64_t after = endpoint_free(c, now) ? -1 : c->res.retry_after_ms;
		int64_t delay = policy_backoff_ms(c->attempt, call_ctx_random(cx), after);
		chat_result_release(&c->res);
		trace_event(cx->trace, "retry",
			    "\"node\":\"%s\",\"slot\":%zu,\"model\":\"%s\",\"attempt\":%d,"
			    "\"delay_ms\":%lld", trace_str(cx->arena, c->label), c->slot,
			    trace_str(cx->arena, c->model->id), c->attempt + 1, (long long)delay);
		c->wake.fire = retry_fire;
		c->wake.ctx = c;
		loop_timer_arm(cx->loop, &c->wake, now + delay);
		return;
	}
	chat_result_release(&c->res);
	if (!switch_to_fallback(c))
		call_finish(c, RESP_FAILED);
}

void call_attempt_end(struct call *c)
{
	int64_t now = clock_ms();
	enum err_class err = c->res.err;
	record_outcome(c, now);
	endpoint_done(c, err, now);
	trace_attempt_end(c, now - c->t_sent);
	attempt_stop(c);
	if (err != ERR_NONE) {
		if (c->cx->on_text)
			c->cx->on_text(c->cx->on_text_ctx, c, NULL, 0);
		after_failure(c, err, now);
		return;
	}
	/* A success ends the streak of failures: the next streak's first
	 * error is the one a skipped call will quote. */
	struct model_state *ms = model_of(c);
	ms->first_msg[0] = '\0';
	breaker_record(&ms->breaker, 1, now);
	call_shared_outcome(c->cx->pool, ms, 1, now);
	to_cache(c);
	chat_result_release(&c->res);
	call_finish(c, RESP_OK);
}
