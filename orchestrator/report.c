/* The run report (--json), in the contract's shape. Built once at the end
 * of the run into one string; printed whatever the outcome. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../aggregators/vote.h"
#include "../common/alloc.h"
#include "run.h"

static const char *node_status_name(enum node_status st)
{
	switch (st) {
	case NS_OK: return "ok";
	case NS_FAILED: return "failed";
	case NS_SKIPPED: return "skipped";
	default: return "skipped";
	}
}

static const char *resp_status_name(enum resp_status st)
{
	switch (st) {
	case RESP_OK: return "ok";
	case RESP_FAILED: return "failed";
	default: return "cancelled";
	}
}

static void put_tokens(struct buf *b, const char *key, int64_t v)
{
	if (v < 0)
		buf_printf(b, ",\"%s\":null", key);
	else
		buf_printf(b, ",\"%s\":%lld", key, (long long)v);
}

static void put_ms(struct buf *b, const char *key, int64_t v)
{
	put_tokens(b, key, v);
}


int response_first_differs(const struct response *p)
{
	if (!p->first_model)
		return 0;
	if (p->status == RESP_OK || strcmp(p->first_model, p->model))
		return 1;
	return p->first_err != p->err || p->first_http != p->http_status ||
	       strcmp(p->first_msg ? p->first_msg : "", p->err_msg ? p->err_msg : "");
}

/* An embeddings answer in the report: what it holds, not its bytes. */
static const char *embedding_words(const char *packed, char *out, size_t n)
{
	unsigned long count = 0, dim = 0;
	if (sscanf(packed, "qemb1 %lu %lu", &count, &dim) == 2)
		snprintf(out, n, "(%lu vector%s of %lu numbers)", count, count == 1 ? "" : "s", dim);
	else
		snprintf(out, n, "(vectors)");
	return out;
}

static void put_response(struct buf *b, const struct response *p)
{
	char words[64];
	buf_puts(b, "{\"model\":");
	buf_put_json_str(b, p->model);
	if (p->requested && strcmp(p->requested, p->model)) {
		buf_puts(b, ",\"requested_model\":");
		buf_put_json_str(b, p->requested);
	}
	buf_puts(b, ",\"text\":");
	buf_put_json_str(b, p->status != RESP_OK ? NULL
			    : p->role && !strcmp(p->role, "embedding") ? embedding_words(p->text, words, sizeof(words))
			    : p->text);
	buf_printf(b, ",\"status\":\"%s\",\"attempts\":%d", resp_status_name(p->status),
		   p->attempts);
	put_ms(b, "latency_ms", p->latency_ms);
	put_ms(b, "ttft_ms", p->ttft_ms);
	put_tokens(b, "input_tokens", p->input_tokens);
	put_tokens(b, "output_tokens", p->output_tokens);
	buf_printf(b, ",\"cost_usd\":%.10g", p->cost_usd);
	if (p->cached)
		buf_printf(b, ",\"cached\":true,\"saved_usd\":%.10g", p->saved_usd);
	if (p->role) {
		buf_puts(b, ",\"role\":");
		buf_put_json_str(b, p->role);
	}
	if (p->finish_reason) {
		buf_puts(b, ",\"finish_reason\":");
		buf_put_json_str(b, p->finish_reason);
	}
	if (p->host) {
		buf_puts(b, ",\"host\":");
		buf_put_json_str(b, p->host);
	}
	if (response_first_differs(p)) {
		/* What a retry, a fallback or the breaker moved on from. */
		buf_puts(b, ",\"first_error\":");
		trace_put_error(b, err_class_name(p->first_err), p->first_http, p->first_msg,
			  p->first_model);
	}
	buf_puts(b, ",\"error\":");
	if (p->status == RESP_OK || p->err == ERR_NONE)
		buf_puts(b, "null");
	else
		trace_put_error(b, err_class_name(p->err), p->http_status,
				 p->err_msg ? p->err_msg : err_class_name(p->err), NULL);
	buf_putc(b, '}');
}


static void put_votes(struct buf *b, const struct vote_result *vr)
{
	buf_puts(b, ",\"votes\":[");
	for (size_t i = 0; i < vr->nbuckets; i++) {
		const struct vote_bucket *k = &vr->buckets[i];
		buf_puts(b, i ? ",{\"answer\":" : "{\"answer\":");
		buf_put_json_str(b, k->answer);
		buf_printf(b, ",\"count\":%zu,\"weight\":%.6g}", k->count, k->weight);
	}
	buf_putc(b, ']');
}

static void put_node(struct buf *b, const struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	buf_put_json_str(b, n->id);
	buf_printf(b, ":{\"kind\":\"%s\",\"status\":\"%s\"", node_kind_name(n->kind),
		   node_status_name(ns->status));
	if (n->group) {
		buf_puts(b, ",\"group\":");
		buf_put_json_str(b, n->group);
	}
	put_ms(b, "started_ms", ns->started_ms);
	put_ms(b, "wall_ms", ns->started_ms >= 0 && ns->ended_ms >= 0
				     ? ns->ended_ms - ns->started_ms : -1);
	buf_puts(b, ",\"output\":");
	buf_put_json_str(b, ns->status == NS_OK ? ns->output : NULL);
	double cost = 0;
	for (size_t i = 0; i < ns->ncalls; i++)
		cost += NODE_RESP(ns, i)->cost_usd;
	buf_printf(b, ",\"cost_usd\":%.10g", cost);
	if (ns->confident >= 0 && ns->status == NS_OK)
		buf_printf(b, ",\"confident\":%s", ns->confident ? "true" : "false");
	if (n->kind == NK_VOTE && ns->status == NS_OK && ns->vote) {
		buf_printf(b, ",\"agreement\":%.4g", ns->agreement);
		put_votes(b, ns->vote);
	}
	if (ns->degraded) {
		buf_puts(b, ",\"degraded\":");
		buf_put_json_str(b, ns->degraded);
	}
	if (ns->report_json)
		buf_printf(b, ",%s", ns->report_json);
	buf_puts(b, ",\"error\":");
	if (ns->status == NS_OK || !ns->error)
		buf_puts(b, "null");
	else
		trace_put_error(b, ns->err_class ? ns->err_class : "internal", ns->err_http,
				ns->error, NULL);
	buf_puts(b, ",\"responses\":[");
	for (size_t i = 0; i < ns->ncalls; i++) {
		if (i)
			buf_putc(b, ',');
		put_response(b, NODE_RESP(ns, i));
	}
	buf_puts(b, "]}");
}

/* UTC, to the millisecond: 2026-12-03T09:29:31.123Z. */
static void put_rfc3339(struct buf *b, int64_t wall_us)
{
	time_t secs = (time_t)(wall_us / 1000000);
	struct tm tm;
	char s[32];
	if (!gmtime_r(&secs, &tm) || !strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm)) {
		buf_puts(b, "1970-01-01T00:00:00.000Z");
		return;
	}
	buf_printf(b, "%s.%03dZ", s, (int)(wall_us / 1000 % 1000));
}

/* The run's inputs as it saw them: every declared input with the value it
 * had (given, else its default, else null), and any other given. */
static void put_inputs(struct buf *b, const struct run *r)
{
	const struct workflow *wf = r->wf;
	buf_puts(b, ",\"inputs\":{\"query\":");
	buf_put_json_str(b, r->set.query);
	for (size_t i = 0; i < wf->ninputs; i++) {
		const struct wf_input *in = &wf->inputs[i];
		if (!strcmp(in->name, "query"))
			continue;
		const char *v = in->def;
		for (size_t k = r->set.ninputs; k-- > 0;)
			if (!strcmp(r->set.inputs[k].name, in->name)) {
				v = r->set.inputs[k].value;
				break;
			}
		buf_putc(b, ',');
		buf_put_json_str(b, in->name);
		buf_putc(b, ':');
		buf_put_json_str(b, v);
	}
	buf_putc(b, '}');
}

struct totals {
	int64_t in, out;
	int in_known, out_known, price_known;
	double cost, saved;
	long calls, cached;
	int64_t cached_tokens;
};

static void sum_totals(const struct run *r, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->price_known = 1;
	for (size_t i = 0; i < r->wf->nnodes; i++) {
		const struct node_state *ns = &r->set.nodes[i];
		for (size_t k = 0; k < ns->ncalls; k++) {
			const struct response *p = NODE_RESP(ns, k);
			if (p->cached) {
				/* Nothing billed: its tokens count as none. */
				t->cached++;
				t->saved += p->saved_usd;
				t->in_known = t->out_known = 1;
				t->cached_tokens += (p->input_tokens > 0 ? p->input_tokens : 0) +
						    (p->output_tokens > 0 ? p->output_tokens : 0);
			}
			if (!p->attempts)
				continue;
			t->calls += p->attempts;
			t->cost += p->cost_usd;
			if (!p->price_known)
				t->price_known = 0;
			if (p->input_tokens >= 0) {
				t->in += p->input_tokens;
				t->in_known = 1;
			}
			if (p->output_tokens >= 0) {
				t->out += p->output_tokens;
				t->out_known = 1;
			}
		}
	}
}

void report_usage(const struct run *r, int64_t wall_ms, struct quorum_usage *u)
{
	struct totals t;
	sum_totals(r, &t);
	*u = (struct quorum_usage){
		.calls = t.calls, .input_tokens = t.in_known ? t.in : -1,
		.output_tokens = t.out_known ? t.out : -1, .cost_usd = t.cost,
		.cached = t.cached, .saved_usd = t.saved, .cached_tokens = t.cached_tokens,
		.wall_ms = wall_ms,
	};
}

/* n with thousands separators: 3,412. */
static void put_count(struct buf *b, long long n)
{
	if (n >= 1000) {
		put_count(b, n / 1000);
		buf_printf(b, ",%03lld", n % 1000);
	} else {
		buf_printf(b, "%lld", n);
	}
}

char *report_totals_line(const struct run *r, int64_t wall_ms)
{
	struct totals t;
	sum_totals(r, &t);
	struct buf b;
	buf_init(&b, 0);
	put_count(&b, t.calls);
	buf_puts(&b, t.calls == 1 ? " call, " : " calls, ");
	if (t.in_known || t.out_known) {
		put_count(&b, t.in + t.out);
		buf_puts(&b, " tokens, ");
	} else {
		buf_puts(&b, "tokens not reported, ");
	}
	buf_printf(&b, "$%.4f%s, ", t.cost, t.price_known ? "" : " (some prices unknown)");
	if (t.cached) {
		put_count(&b, t.cached);
		buf_printf(&b, " from the cache (saved $%.4f), ", t.saved);
	}
	buf_printf(&b, "%.1f s", (double)wall_ms / 1000.0);
	char *s = b.data ? q_strdup(b.data) : NULL;
	buf_release(&b);
	return s;
}

/* With --shared: where the limits were shared, and, when Redis went
 * away, why this run's limits were its process's own from then on. */
static void put_shared(struct buf *b, const struct shared *s)
{
	buf_puts(b, ",\"shared\":{\"url\":");
	buf_put_json_str(b, shared_shown(s));
	if (shared_lost(s)) {
		buf_puts(b, ",\"lost\":");
		buf_put_json_str(b, shared_lost(s));
	}
	buf_putc(b, '}');
}

char *report_build_json(struct run *r, const char *status, int64_t wall_ms)
{
	struct buf b;
	buf_init(&b, 0);
	struct totals t;
	sum_totals(r, &t);
	buf_puts(&b, "{\"workflow\":");
	buf_put_json_str(&b, r->wf->name);
	buf_printf(&b, ",\"run_id\":\"%s\"", r->id);
	buf_printf(&b, ",\"quorum_version\":\"%s\",\"started_at\":\"", QUORUM_VERSION);
	put_rfc3339(&b, r->t0_wall_us);
	buf_printf(&b, "\",\"status\":\"%s\",\"output\":", status);
	buf_put_json_str(&b, run_output(r));
	buf_printf(&b, ",\"wall_ms\":%lld,\"cost_usd\":%.10g,\"price_known\":%s",
		   (long long)wall_ms, t.cost, t.price_known ? "true" : "false");
	buf_puts(&b, ",\"usage\":{");
	buf_puts(&b, "\"calls\":");
	buf_printf(&b, "%ld", t.calls);
	put_tokens(&b, "input_tokens", t.in_known ? t.in : -1);
	put_tokens(&b, "output_tokens", t.out_known ? t.out : -1);
	if (t.cached)
		buf_printf(&b, ",\"cached\":%ld,\"saved_usd\":%.10g", t.cached, t.saved);
	buf_putc(&b, '}');
	if (r->pool && r->pool->shared)
		put_shared(&b, r->pool->shared);
	put_inputs(&b, r);
	buf_puts(&b, ",\"nodes\":{");
	for (size_t i = 0; i < r->wf->nnodes; i++) {
		if (i)
			buf_putc(&b, ',');
		put_node(&b, &r->set.nodes[r->wf->order[i]->idx]);
	}
	buf_puts(&b, "}}");
	if (b.overflow || !b.data) {
		buf_release(&b);
		return NULL;
	}
	redact_mask(&r->redact, b.data, b.len);
	char *s = arena_strndup(r->arena, buf_str(&b), b.len);
	buf_release(&b);
	return s;
}
