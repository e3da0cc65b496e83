/* A chat request in any wire format: parse it (parse.c), let the scenario
 * decide, prepare the whole response, then send it now or after the
 * latency. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../common/alloc.h"
#include "../common/arena.h"
#include "../common/clock.h"
#include "../common/json.h"
#include "server.h"

#define CHAT_MAX_DEPTH 64
#define READER_BLOCK (8u << 10)

void req_error(struct req *r, int status, const char *message,
	       const char *type, const char *code)
{
	buf_reset(&r->out);
	sse_events_release(&r->ev);
	r->status = status;
	r->ctype = "application/json";
	r->send = SEND_BUFFER;
	r->stream = 0;
	r->cut_at = SIZE_MAX;
	if (reply_error(&r->out, r->wire, status, message, type, code))
		r->status = 500;
}

/* ---- the request log ---- */

const char *req_auth(struct req *r, const char **how)
{
	static const char *const headers[] = {
		"x-api-key", "x-goog-api-key", MHD_HTTP_HEADER_AUTHORIZATION,
	};
	const char *v;
	for (size_t i = 0; i < sizeof(headers) / sizeof(*headers); i++) {
		v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, headers[i]);
		if (v) {
			*how = i == 2 ? "authorization" : headers[i];
			return v;
		}
	}
	v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "key");
	*how = v ? "query" : NULL;
	return v;
}

/* Which credential came, never its value: the header's name, "query"
 * for Gemini's ?key=, or NULL. */
static const char *auth_of(struct req *r)
{
	const char *how;
	req_auth(r, &how);
	return how;
}

static int log_num(struct buf *b, const char *key, double v)
{
	return v < 0 ? buf_printf(b, ",\"%s\":null", key)
		     : buf_printf(b, ",\"%s\":%.15g", key, v);
}

int req_log_head(struct buf *b, struct req *r, const struct chat *ch,
		 const struct fault *f)
{
	const char *auth = auth_of(r);
	int rc = buf_printf(b, "{\"format\":\"%s\",\"model\":", mock_wire_names[r->wire]);
	rc |= ch->model ? buf_put_json_str(b, ch->model) : buf_puts(b, "null");
	rc |= buf_printf(b, ",\"stream\":%s,\"auth\":%s,\"auth_header\":",
			 ch->stream ? "true" : "false", auth ? "true" : "false");
	rc |= auth ? buf_put_json_str(b, auth) : buf_puts(b, "null");
	if (r->wire == WIRE_ANTHROPIC) {
		rc |= buf_puts(b, ",\"anthropic_version\":");
		rc |= ch->version ? buf_put_json_str(b, ch->version) : buf_puts(b, "null");
	}
	/* A hang never gets a status. */
	rc |= buf_puts(b, ",\"status\":");
	rc |= r->status ? buf_printf(b, "%d", r->status) : buf_puts(b, "null");
	if (f) {
		rc |= buf_puts(b, ",\"fault\":");
		rc |= buf_put_json_str(b, scenario_fault_names[f->type]);
	}
	rc |= log_num(b, "max_tokens", ch->max_tokens);
	rc |= log_num(b, "temperature", ch->temperature);
	return rc;
}

/* What /_mock/requests shows: the format, the model, which credential
 * came (never its value), the limits and every message. */
static void chat_log(struct req *r, const struct chat *ch, const char *raw,
		     const struct fault *f)
{
	struct buf b = BUF_INIT;
	int rc = req_log_head(&b, r, ch, f);
	if (raw) {
		rc |= buf_puts(&b, ",\"raw\":");
		rc |= buf_put_json_strn(&b, raw, strnlen(raw, MOCK_LOG_RAW_MAX));
	}
	rc |= buf_puts(&b, ",\"messages\":[");
	for (size_t i = 0; i < ch->n && ch->msgs; i++) {
		const char *c = ch->msgs[i].content ? ch->msgs[i].content : "";
		rc |= buf_puts(&b, i ? ",{\"role\":" : "{\"role\":");
		rc |= buf_put_json_str(&b, ch->msgs[i].role ? ch->msgs[i].role : "");
		rc |= buf_puts(&b, ",\"content\":");
		rc |= buf_put_json_str(&b, c);
		rc |= buf_putc(&b, '}');
	}
	rc |= buf_puts(&b, "]}");
	char *model = ch->model ? q_strdup(ch->model) : NULL;
	if (rc || (ch->model && !model)) {
		q_free(model);
		buf_release(&b);
		return;
	}
	mock_log_add(r->m, model, b.data);
}

/* ---- preparing the answer ---- */

/* A stream is cut after the last piece that keeps the text within `after`
 * bytes (< 0: half the text): never inside the prelude, never at or after
 * the event that ends the answer. */
static size_t stream_cut(const struct sse_events *ev, long after, size_t text_len)
{
	size_t lim = after < 0 ? text_len / 2 : (size_t)after, i = 0;
	while (i < ev->n && ev->kind[i] == EV_META)
		i++;
	if (i == ev->n) /* no text at all: only the first event */
		return ev->n ? ev->end[0] : 0;
	size_t cut = i ? ev->end[i - 1] : 0;
	for (; i < ev->n && ev->kind[i] == EV_PIECE && ev->text_end[i] <= lim; i++)
		cut = ev->end[i];
	return cut;
}

/* A status fault with after_chars on a stream: the pieces up to it, then
 * the format's error event, then the end. */
static int stream_fail(struct req *r, const struct reply *rp,
		       const struct fault *f)
{
	size_t cut = stream_cut(&r->ev, f->after_chars, strlen(rp->text));
	while (r->ev.n && r->ev.end[r->ev.n - 1] > cut)
		r->ev.n--;
	size_t text = r->ev.n ? r->ev.text_end[r->ev.n - 1] : 0;
	r->out.len = cut;
	if (reply_stream_error(&r->out, rp, f->status, f->message, f->etype, f->code))
		return -1;
	return reply_event(&r->ev, &r->out, text, EV_META);
}

static const char *stream_ctype(const struct chat *ch)
{
	if (ch->wire == WIRE_OLLAMA)
		return "application/x-ndjson";
	return ch->gemini_array ? "application/json" : "text/event-stream";
}

static int chat_prepare_stream(struct req *r, const struct chat *ch,
			       const struct model_state *ms, const struct plan *p,
			       const struct reply *rp)
{
	const struct fault *f = p->fault;
	r->ctype = stream_ctype(ch);
	r->send = SEND_READER;
	r->stream = 1;
	if (reply_stream(&r->out, &r->ev, rp, ms->cfg->chunk_chars,
			 p->kind == PLAN_MALFORMED))
		return -1;
	if (p->kind == PLAN_CUT)
		r->cut_at = stream_cut(&r->ev, f->after_chars, strlen(rp->text));
	if (p->kind == PLAN_ERROR)
		return stream_fail(r, rp, f);
	return 0;
}

static void reply_id(const struct chat *ch, struct mock *m, char *id, size_t n)
{
	static const char *const prefix[] = {
		[WIRE_OPENAI] = "chatcmpl-mock-", [WIRE_ANTHROPIC] = "msg_mock_",
		[WIRE_GEMINI] = "mock-", [WIRE_OLLAMA] = "ollama-mock-",
	};
	snprintf(id, n, "%s%ld", prefix[ch->wire], atomic_fetch_add(&m->ids, 1) + 1);
}

/* A whole body as the model sends it: indented over lines with `pretty`
 * (as a server that formats its JSON), cut for a cut fault. */
int req_prepare_body(struct req *r, const struct model_state *ms,
		     const struct plan *p)
{
	const struct fault *f = p->fault;
	if (ms->cfg->pretty && reply_pretty(&r->out))
		return -1;
	if (r->drip_ms > 0)
		r->send = SEND_READER;
	if (p->kind == PLAN_CUT) {
		r->send = SEND_READER;
		size_t lim = f->after_chars < 0 ? r->out.len / 2 : (size_t)f->after_chars;
		r->cut_at = lim < r->out.len ? lim : r->out.len - 1;
	}
	return 0;
}

/* The normal answer's text, with a reflect fault's echo before it. */
static int chat_text(struct req *r, const struct plan *p, char **echoed)
{
	*echoed = NULL;
	if (!p->fault || p->fault->type != FAULT_REFLECT)
		return 0;
	return fault_reflect(r, p->fault, p->text ? p->text : "", echoed);
}

int req_prepare_fault(struct req *r, const struct chat *ch,
		      const struct model_state *ms, const struct plan *p)
{
	const struct fault *f = p->fault;
	if (p->kind == PLAN_ERROR && !(ch->stream && f->after_chars >= 0 && p->text)) {
		req_error(r, f->status, f->message, f->etype, f->code);
		r->retry_after = f->retry_after;
		if (f->drip_ms > 0) {
			r->drip_ms = f->drip_ms;
			r->send = SEND_READER;
		}
		return 1;
	}
	if (p->kind == PLAN_HANG)
		return 1;
	if (p->kind == PLAN_RESET) {
		r->reset = 1;
		return 1;
	}
	if (p->kind == PLAN_DROP) {
		r->drop = 1;
		r->cut = 1; /* the server's doing: counted completed */
		return 1;
	}
	if (p->kind == PLAN_RAW)
		return fault_prepare(r, ch, ms, p) ? -1 : 1;
	return 0;
}

static int chat_prepare(struct req *r, const struct chat *ch,
			const struct model_state *ms, const struct plan *p)
{
	const struct fault *f = p->fault;
	int done = req_prepare_fault(r, ch, ms, p);
	if (done)
		return done < 0 ? -1 : 0;
	char id[48], *echoed;
	reply_id(ch, r->m, id, sizeof(id));
	if (chat_text(r, p, &echoed))
		return -1;
	const char *text = echoed ? echoed : p->text ? p->text : "";
	struct reply rp = {
		.wire = ch->wire, .id = id, .model = ch->model,
		.created_ns = clock_wall_us() * 1000, .latency_ms = p->latency_ms,
		.text = text, .prompt_tokens = ch->prompt_tokens,
		.completion_tokens = reply_tokens(text),
		.usage = ms->cfg->usage, .include_usage = ch->include_usage,
		.gemini_array = ch->gemini_array,
		.end = p->kind != PLAN_SAFETY ? END_STOP
		       : f->block_prompt      ? END_BLOCK_PROMPT
					      : END_FILTER,
	};
	r->status = 200;
	r->chunk_delay_ms = p->chunk_delay_ms;
	r->rst = p->kind == PLAN_CUT && f->type == FAULT_RESET;
	if (f && f->type == FAULT_DRIP)
		r->drip_ms = f->interval_ms;
	int rc;
	if (ch->stream) {
		rc = chat_prepare_stream(r, ch, ms, p, &rp);
	} else {
		r->ctype = "application/json";
		rc = p->kind == PLAN_MALFORMED ? reply_malformed(&r->out, &rp)
					       : reply_completion(&r->out, &rp);
		rc = rc ? rc : req_prepare_body(r, ms, p);
	}
	if (ms->cfg->content_type)
		r->ctype = ms->cfg->content_type;
	q_free(echoed);
	return rc;
}

/* Sends the response, or resets or drops the connection as the fault
 * says: MHD_NO makes MHD close it without a byte of response. */
static enum MHD_Result chat_now(struct req *r)
{
	if (r->drop)
		return MHD_NO;
	if (!r->reset)
		return req_respond(r);
	req_reset(r);
	return MHD_NO;
}

enum MHD_Result req_wait(struct req *r, int64_t latency_ms)
{
	if (latency_ms == 0)
		return chat_now(r);
	int64_t due = latency_ms < 0 ? INT64_MAX : clock_ms() + latency_ms;
	r->state = RS_WAIT;
	if (mock_timer_park(r->m->timer, &r->park, due) == 0)
		return MHD_YES;
	if (atomic_load(&r->m->stopping) || latency_ms < 0)
		return MHD_NO;
	return chat_now(r);
}

/* Plans and prepares a request to a model the scenario knows. A model
 * that ignores `stream` answers as if the request had not asked; the log
 * still says what it asked. */
static enum MHD_Result chat_model(struct req *r, const struct chat *ch,
				  struct model_state *ms)
{
	struct plan p;
	struct chat sent = *ch;
	if (ms->cfg->ignore_stream)
		sent.stream = sent.gemini_array = 0;
	if (sim_plan(&r->m->sc, ms, ch->msgs, ch->n, r->conn_nth > 1, &p)) {
		req_error(r, 500, "mock: out of memory", NULL, NULL);
		chat_log(r, ch, NULL, NULL);
		return req_respond(r);
	}
	if (p.fault)
		atomic_fetch_add(&r->m->faults[p.fault->type], 1);
	int rc = chat_prepare(r, &sent, ms, &p);
	q_free(p.text);
	if (rc) {
		fault_release(r);
		r->reset = r->drop = r->cut = 0;
		req_error(r, 500, "mock: out of memory", NULL, NULL);
		p.latency_ms = 0;
	}
	chat_log(r, ch, NULL, p.fault);
	return req_wait(r, p.latency_ms);
}

void req_model_not_found(struct req *r, const char *model, const char *method)
{
	char msg[640];
	const char *type = NULL, *code = NULL;
	switch (r->wire) {
	case WIRE_OPENAI:
		snprintf(msg, sizeof(msg), "The model `%.400s` does not exist or you "
			 "do not have access to it.", model);
		type = "invalid_request_error";
		code = "model_not_found";
		break;
	case WIRE_ANTHROPIC:
		snprintf(msg, sizeof(msg), "model: %.400s", model);
		break;
	case WIRE_GEMINI:
		snprintf(msg, sizeof(msg), "models/%.400s is not found for API version "
			 "v1beta, or is not supported for %.40s. Call ListModels to see "
			 "the list of available models and their supported methods.",
			 model, method);
		break;
	case WIRE_OLLAMA:
		snprintf(msg, sizeof(msg), "model '%.400s' not found, try pulling it first",
			 model);
		break;
	}
	req_error(r, 404, msg, type, code);
}

/* A model the scenario does not know: each format's 404. */
static enum MHD_Result chat_unknown(struct req *r, const struct chat *ch,
				    struct model_state *ms)
{
	if (ms)
		atomic_fetch_add(&ms->requests, 1);
	req_model_not_found(r, ch->model, "generateContent");
	chat_log(r, ch, NULL, NULL);
	return req_respond(r);
}

enum MHD_Result chat_dispatch(struct req *r)
{
	if (r->too_large) {
		req_error(r, 413, "Request body larger than 16 MiB.", NULL,
			  "request_too_large");
		return req_respond(r);
	}
	struct chat ch = {0};
	cJSON *j = json_parse(r->body.data, r->body.len, CHAT_MAX_DEPTH);
	enum MHD_Result res;
	if (chat_parse(r, j, &ch)) {
		chat_log(r, &ch, j ? NULL : buf_str(&r->body), NULL);
		res = req_respond(r);
	} else {
		struct model_state *ms = model_table_get(&r->m->models, ch.model);
		if (!ms && scenario_model(&r->m->sc, ch.model)) {
			req_error(r, 500, "mock: too many model names", NULL, NULL);
			res = req_respond(r);
		} else if (!ms || !ms->cfg) {
			res = chat_unknown(r, &ch, ms);
		} else {
			res = chat_model(r, &ch, ms);
		}
	}
	cJSON_Delete(j);
	q_free(ch.msgs);
	arena_free(ch.tmp);
	buf_release(&r->body);
	return res;
}

/* ---- sending ---- */

/* Gives MHD the next bytes: one event at a time when pieces are delayed,
 * suspending the connection until a piece is due (MHD's documented way
 * to return 0 without busy-waiting), and ending with an error at a cut. */
static ssize_t req_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *r = cls;
	(void)pos;
	if (atomic_load(&r->m->stopping) || atomic_load(&r->park.gone))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t end = r->cut_at < r->out.len ? r->cut_at : r->out.len;
	if (r->sent >= end) {
		r->cut = r->cut_at < r->out.len;
		if (r->cut && r->rst)
			req_reset(r);
		req_ending(r);
		return r->cut ? MHD_CONTENT_READER_END_WITH_ERROR
			      : MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (r->chunk_delay_ms > 0 && r->next_ev < r->ev.n) {
		if (r->ev.kind[r->next_ev] != EV_META && clock_ms() < r->next_due_ms) {
			if (!mock_timer_park(r->m->timer, &r->park, r->next_due_ms))
				return 0;
			if (atomic_load(&r->m->stopping))
				return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (r->ev.end[r->next_ev] < end)
			end = r->ev.end[r->next_ev];
	}
	size_t n = end - r->sent < max ? end - r->sent : max;
	memcpy(buf, r->out.data + r->sent, n);
	r->sent += n;
	for (; r->next_ev < r->ev.n && r->ev.end[r->next_ev] <= r->sent; r->next_ev++)
		if (r->ev.kind[r->next_ev] != EV_META)
			r->next_due_ms = clock_ms() + r->chunk_delay_ms;
	return (ssize_t)n;
}

static struct MHD_Response *req_response(struct req *r)
{
	struct MHD_Response *resp;
	if (r->send == SEND_BUFFER) {
		resp = MHD_create_response_from_buffer_with_free_callback(
			r->out.len, r->out.data, q_free);
		if (resp)
			buf_init(&r->out, 0); /* the response owns the data now */
		return resp;
	}
	uint64_t size = r->stream ? MHD_SIZE_UNKNOWN
		      : r->huge   ? fault_huge_size(r)
				  : r->out.len;
	MHD_ContentReaderCallback read = r->huge ? fault_huge_read
					 : r->drip_ms > 0 ? fault_drip_read
							  : req_read;
	atomic_fetch_add(&r->refs, 1);
	resp = MHD_create_response_from_callback(size, READER_BLOCK, read, r,
						 req_unref);
	if (!resp)
		atomic_fetch_sub(&r->refs, 1);
	return resp;
}

enum MHD_Result req_respond(struct req *r)
{
	r->state = RS_SENT;
	if (!r->out.data && r->send == SEND_BUFFER && buf_puts(&r->out, ""))
		return MHD_NO;
	struct MHD_Response *resp = req_response(r);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	if (r->stream)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	if (r->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->echo)
		MHD_add_response_header(resp, r->echo_name, r->echo);
	if (r->retry_after >= 0) {
		char v[24];
		snprintf(v, sizeof(v), "%ld", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	enum MHD_Result res = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	if (res == MHD_YES && r->send == SEND_BUFFER)
		req_ending(r);
	return res;
}
