/* What a run that is not ok says on standard error: every failed call with
 * its node, model, host, class, HTTP status and the provider's own words;
 * every skipped node and the need that failed; every aggregator that
 * degraded and why. The report (--json) keeps the full record; this is
 * what a person reads without it. */
#include <string.h>

#include "../common/alloc.h"
#include "run.h"

/* A provider's message is cut here, on one line. */
#define MESSAGE_MAX 200

struct say {
	struct buf b;
	int color;
};

static const char *paint(const struct say *s, const char *code)
{
	return s->color ? code : "";
}

/* What a status word means, in words. */
static const char *status_words(const char *status)
{
	if (!strcmp(status, "partial"))
		return "the answer is incomplete: some calls failed or an aggregator "
		       "degraded";
	if (!strcmp(status, "failed"))
		return "no answer";
	if (!strcmp(status, "budget_exceeded"))
		return "over budget: no further call was started";
	if (!strcmp(status, "interrupted"))
		return "interrupted";
	return status;
}

/* An error class, in words. */
static const char *class_words(const char *cls)
{
	static const char *const words[][2] = {
		{"auth", "authentication failed"},
		{"bad_request", "bad request"},
		{"not_found", "not found"},
		{"rate_limited", "rate limited"},
		{"quota", "out of quota"},
		{"overloaded", "overloaded"},
		{"server", "server error"},
		{"timeout", "timed out"},
		{"connection", "connection failed"},
		{"truncated", "answer cut off"},
		{"malformed", "not the provider's format"},
		{"content_filter", "blocked by a content filter"},
		{"too_large", "too large"},
		{"budget", "over budget"},
		{"cancelled", "cancelled"},
		{"dependency", "a node it needs did not finish"},
		{"internal", "internal error"},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(cls, words[i][0]))
			return words[i][1];
	return cls;
}

/* The message on one line, at most MESSAGE_MAX bytes (on a UTF-8 boundary). */
static void put_message(struct buf *b, const char *msg)
{
	size_t n = strlen(msg);
	int cut = n > MESSAGE_MAX;
	if (cut) {
		n = MESSAGE_MAX;
		while (n && ((unsigned char)msg[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		char c = msg[i];
		buf_putc(b, c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
	}
	if (cut)
		buf_puts(b, "…");
}

static void put_error(struct say *s, const char *model, const char *host,
		      enum err_class cls, int http, const char *msg)
{
	struct buf *b = &s->b;
	buf_printf(b, "%s", model);
	if (host && *host)
		buf_printf(b, " (%s)", host);
	buf_printf(b, ": %s", class_words(err_class_name(cls)));
	if (http)
		buf_printf(b, ", HTTP %d", http);
	if (msg && strcmp(msg, err_class_name(cls))) {
		buf_puts(b, ": ");
		put_message(b, msg);
	}
}

/* Whether a call's end is worth telling: failed, or cut by a timeout;
 * not one cancelled because nobody needed it any more. */
static int call_failed(const struct response *p)
{
	return p->status == RESP_FAILED ||
	       (p->status == RESP_CANCELLED && p->err != ERR_CANCELLED && p->err != ERR_NONE);
}

static void explain_call(struct say *s, const struct response *p)
{
	struct buf *b = &s->b;
	if (call_failed(p)) {
		buf_printf(b, "    %s✗%s ", paint(s, "\033[31m"), paint(s, "\033[0m"));
		put_error(s, p->model, p->host, p->err, p->http_status, p->err_msg);
		if (p->attempts > 1)
			buf_printf(b, " (%d attempts)", p->attempts);
		if (response_first_differs(p)) {
			buf_puts(b, "; first ");
			put_error(s, p->first_model, p->first_host, p->first_err, p->first_http,
				  p->first_msg);
		}
		buf_putc(b, '\n');
	} else if (p->status == RESP_OK && p->first_model && strcmp(p->first_model, p->model)) {
		buf_printf(b, "    %s↷%s ", paint(s, "\033[33m"), paint(s, "\033[0m"));
		put_error(s, p->first_model, p->first_host, p->first_err, p->first_http,
			  p->first_msg);
		buf_printf(b, "; answered by fallback %s\n", p->model);
	}
}

static int node_has_news(const struct node_state *ns)
{
	if (ns->status != NS_OK || ns->degraded)
		return 1;
	for (size_t i = 0; i < ns->ncalls; i++) {
		const struct response *p = NODE_RESP(ns, i);
		if (call_failed(p) || (p->status == RESP_OK && p->first_model &&
				       strcmp(p->first_model, p->model)))
			return 1;
	}
	return 0;
}

static void explain_node(struct say *s, const struct node_state *ns)
{
	struct buf *b = &s->b;
	if (!node_has_news(ns))
		return;
	static const char *const word[] = {"waiting", "running", "ok", "failed", "skipped"};
	static const char *const tint[] = {"", "", "\033[32m", "\033[31m", "\033[2m"};
	buf_printf(b, "  %s (%s) %s%s%s", ns->node->id, node_kind_name(ns->node->kind),
		   paint(s, ns->degraded ? "\033[33m" : tint[ns->status]),
		   ns->degraded ? "degraded" : word[ns->status], paint(s, "\033[0m"));
	if (ns->degraded)
		buf_printf(b, ": %s", ns->degraded);
	else if (ns->status != NS_OK && ns->error)
		buf_printf(b, ": %s", ns->error);
	if (ns->status == NS_FAILED && ns->node->continue_on_error)
		buf_puts(b, " (continue_on_error: its dependents ran)");
	buf_putc(b, '\n');
	for (size_t i = 0; i < ns->ncalls; i++)
		explain_call(s, NODE_RESP(ns, i));
}

char *explain_run(struct run *r, const char *status, int color)
{
	if (!strcmp(status, "ok"))
		return NULL;
	struct say s = {.color = color};
	buf_init(&s.b, 0);
	buf_printf(&s.b, "quorum: run %s%s%s: %s\n", paint(&s, "\033[1m"), status,
		   paint(&s, "\033[0m"), status_words(status));
	for (size_t i = 0; i < r->wf->nnodes; i++)
		explain_node(&s, &r->set.nodes[r->wf->order[i]->idx]);
	char *text = s.b.data ? q_strdup(s.b.data) : NULL;
	buf_release(&s.b);
	redact_mask_str(&r->redact, text);
	return text;
}
