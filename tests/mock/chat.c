/* POST .../chat/completions: parse the request, let the scenario decide,
 * prepare the whole response, then send it now or after the latency. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../../common/alloc.h"
#include "../../common/arena.h"
#include "../../common/clock.h"
#include "../../common/json.h"
#include "mock_int.h"

#define CHAT_MAX_DEPTH 64
#define READER_BLOCK (8u << 10)

/* A parsed request; strings borrowed from the cJSON tree or `tmp`. */
struct chat {
	const char *model;
	int stream, include_usage;
	struct sim_msg *msgs;
	size_t n;
	long prompt_tokens;
	struct arena *tmp;
};

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
	if (reply_error(&r->out, status, message, type, code))
		r->status = 500;
}

/* The text of one message: a string, null, or a list of parts whose
 * "text" parts are joined (images and the like are ignored). */
static int chat_content(struct chat *ch, const cJSON *c, const char **out)
{
	if (!c || cJSON_IsNull(c)) {
		*out = "";
		return 0;
	}
	if (cJSON_IsString(c)) {
		*out = c->valuestring;
		return 0;
	}
	if (!cJSON_IsArray(c))
		return -1;
	struct buf b = BUF_INIT;
	for (const cJSON *part = c->child; part; part = part->next) {
		const char *t = json_get_str(part, "text");
		if (!t)
			continue;
		if (b.len)
			buf_putc(&b, '\n');
		buf_puts(&b, t);
	}
	if (!ch->tmp)
		ch->tmp = arena_new();
	*out = ch->tmp && !b.overflow ? arena_strdup(ch->tmp, buf_str(&b)) : NULL;
	buf_release(&b);
	return *out ? 0 : -1;
}

static int chat_messages(struct req *r, struct chat *ch, const cJSON *msgs)
{
	ch->n = (size_t)cJSON_GetArraySize(msgs);
	ch->msgs = q_calloc(ch->n, sizeof(*ch->msgs));
	if (!ch->msgs) {
		req_error(r, 500, "mock: out of memory", NULL, NULL);
		return -1;
	}
	size_t i = 0;
	for (const cJSON *it = msgs->child; it; it = it->next, i++) {
		char msg[96];
		ch->msgs[i].role = json_get_str(it, "role");
		if (!cJSON_IsObject(it) || !ch->msgs[i].role) {
			snprintf(msg, sizeof(msg), "Missing required parameter: 'messages[%zu].role'.", i);
			req_error(r, 400, msg, NULL, "missing_required_parameter");
			return -1;
		}
		if (chat_content(ch, cJSON_GetObjectItemCaseSensitive(it, "content"),
				 &ch->msgs[i].content)) {
			snprintf(msg, sizeof(msg), "Invalid type for 'messages[%zu].content'.", i);
			req_error(r, 400, msg, NULL, "invalid_type");
			return -1;
		}
		ch->prompt_tokens += reply_tokens(ch->msgs[i].content) + 4;
	}
	return 0;
}

/* Reads the fields the mock needs; on a bad request prepares the 400 in r
 * and returns -1. */
static int chat_parse(struct req *r, const cJSON *j, struct chat *ch)
{
	if (!cJSON_IsObject(j)) {
		req_error(r, 400, "We could not parse the JSON body of your request. "
			  "The OpenAI API expects a JSON payload.", NULL, NULL);
		return -1;
	}
	ch->model = json_get_str(j, "model");
	if (!ch->model || !*ch->model) {
		req_error(r, 400, "you must provide a model parameter", NULL, NULL);
		return -1;
	}
	const cJSON *stream = cJSON_GetObjectItemCaseSensitive(j, "stream");
	if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
		req_error(r, 400, "Invalid type for 'stream': expected a boolean.", NULL,
			  "invalid_type");
		return -1;
	}
	ch->stream = cJSON_IsTrue(stream);
	const cJSON *so = json_get_obj(j, "stream_options");
	ch->include_usage = so && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
					    so, "include_usage"));
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
	if (!cJSON_IsArray(msgs)) {
		req_error(r, 400, "Missing required parameter: 'messages'.", NULL,
			  "missing_required_parameter");
		return -1;
	}
	if (!msgs->child) {
		req_error(r, 400, "Invalid 'messages': empty array. Expected an array "
			  "with minimum length 1.", NULL, "empty_array");
		return -1;
	}
	return chat_messages(r, ch, msgs);
}

/* What /_mock/requests shows: never a header value, only whether an
 * Authorization header came. */
static const char *const fault_names[] = {
	[FAULT_STATUS] = "status", [FAULT_HANG] = "hang",
	[FAULT_MALFORMED] = "malformed", [FAULT_CUT] = "cut", [FAULT_SLOW] = "slow",
};

static void chat_log(struct req *r, const struct chat *ch, const char *raw,
		     const struct fault *f)
{
	struct buf b = BUF_INIT;
	int auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					       MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
	int rc = buf_puts(&b, "{\"model\":");
	rc |= ch->model ? buf_put_json_str(&b, ch->model) : buf_puts(&b, "null");
	rc |= buf_printf(&b, ",\"stream\":%s,\"auth\":%s,\"status\":",
			 ch->stream ? "true" : "false", auth ? "true" : "false");
	/* A hang never gets a status. */
	rc |= r->status ? buf_printf(&b, "%d", r->status) : buf_puts(&b, "null");
	if (f) {
		rc |= buf_puts(&b, ",\"fault\":");
		rc |= buf_put_json_str(&b, fault_names[f->type]);
	}
	if (raw) {
		rc |= buf_puts(&b, ",\"raw\":");
		rc |= buf_put_json_strn(&b, raw, strnlen(raw, MOCK_LOG_TEXT_MAX));
	}
	rc |= buf_puts(&b, ",\"messages\":[");
	for (size_t i = 0; i < ch->n && ch->msgs; i++) {
		const char *c = ch->msgs[i].content ? ch->msgs[i].content : "";
		rc |= buf_puts(&b, i ? ",{\"role\":" : "{\"role\":");
		rc |= buf_put_json_str(&b, ch->msgs[i].role ? ch->msgs[i].role : "");
		rc |= buf_puts(&b, ",\"content\":");
		rc |= buf_put_json_strn(&b, c, strnlen(c, MOCK_LOG_TEXT_MAX));
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

/* A stream is cut after the last content piece that keeps the text within
 * `after` bytes, never before the role event nor after the last piece. */
static size_t stream_cut(const struct sse_events *ev, long after, size_t text_len)
{
	size_t lim = after < 0 ? text_len / 2 : (size_t)after;
	size_t cut = ev->n ? ev->end[0] : 0;
	for (size_t i = 1; i < ev->n && ev->piece[i]; i++)
		if (ev->text_end[i] <= lim)
			cut = ev->end[i];
	return cut;
}

static int chat_prepare(struct req *r, const struct chat *ch,
			const struct model_state *ms, const struct plan *p)
{
	const struct fault *f = p->fault;
	if (p->kind == PLAN_ERROR) {
		req_error(r, f->status, f->message, f->etype, f->code);
		r->retry_after = f->retry_after;
		return 0;
	}
	if (p->kind == PLAN_HANG)
		return 0;
	char id[48];
	snprintf(id, sizeof(id), "chatcmpl-mock-%ld",
		 atomic_fetch_add(&r->m->ids, 1) + 1);
	struct reply rp = {
		.id = id, .model = ch->model, .created = (long)time(NULL),
		.text = p->text, .prompt_tokens = ch->prompt_tokens,
		.completion_tokens = reply_tokens(p->text),
		.usage = ms->cfg->usage, .include_usage = ch->include_usage,
	};
	r->status = 200;
	r->chunk_delay_ms = p->chunk_delay_ms;
	if (ch->stream) {
		r->ctype = "text/event-stream";
		r->send = SEND_READER;
		r->stream = 1;
		if (reply_stream(&r->out, &r->ev, &rp, ms->cfg->chunk_chars,
				 p->kind == PLAN_MALFORMED))
			return -1;
		if (p->kind == PLAN_CUT)
			r->cut_at = stream_cut(&r->ev, f->after_chars, strlen(p->text));
		return 0;
	}
	r->ctype = "application/json";
	int rc = p->kind == PLAN_MALFORMED ? reply_malformed(&r->out, &rp)
					   : reply_completion(&r->out, &rp);
	if (p->kind == PLAN_CUT && !rc) {
		r->send = SEND_READER;
		size_t lim = f->after_chars < 0 ? r->out.len / 2 : (size_t)f->after_chars;
		r->cut_at = lim < r->out.len ? lim : r->out.len - 1;
	}
	return rc;
}

/* Answers now, or parks until the latency is over (latency < 0: until the
 * client goes). */
static enum MHD_Result chat_wait(struct req *r, int64_t latency_ms)
{
	if (latency_ms == 0)
		return req_respond(r);
	int64_t due = latency_ms < 0 ? INT64_MAX : clock_ms() + latency_ms;
	r->state = RS_WAIT;
	if (mock_timer_park(r->m->timer, &r->park, due) == 0)
		return MHD_YES;
	if (atomic_load(&r->m->stopping) || latency_ms < 0)
		return MHD_NO;
	return req_respond(r);
}

/* Plans and prepares a request to a model the scenario knows. */
static enum MHD_Result chat_model(struct req *r, const struct chat *ch,
				  struct model_state *ms)
{
	struct plan p;
	if (sim_plan(&r->m->sc, ms, ch->msgs, ch->n, &p)) {
		req_error(r, 500, "mock: out of memory", NULL, NULL);
		chat_log(r, ch, NULL, NULL);
		return req_respond(r);
	}
	int rc = chat_prepare(r, ch, ms, &p);
	q_free(p.text);
	if (rc) {
		req_error(r, 500, "mock: out of memory", NULL, NULL);
		p.latency_ms = 0;
	}
	chat_log(r, ch, NULL, p.fault);
	return chat_wait(r, p.latency_ms);
}

static enum MHD_Result chat_unknown(struct req *r, const struct chat *ch,
				    struct model_state *ms)
{
	char msg[512];
	if (ms)
		atomic_fetch_add(&ms->requests, 1);
	snprintf(msg, sizeof(msg),
		 "The model `%.400s` does not exist or you do not have access to it.",
		 ch->model);
	req_error(r, 404, msg, "invalid_request_error", "model_not_found");
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
		req_ending(r);
		return r->cut ? MHD_CONTENT_READER_END_WITH_ERROR
			      : MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (r->chunk_delay_ms > 0 && r->next_ev < r->ev.n) {
		if (r->ev.piece[r->next_ev] && clock_ms() < r->next_due_ms) {
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
		if (r->ev.piece[r->next_ev])
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
	uint64_t size = r->stream ? MHD_SIZE_UNKNOWN : r->out.len;
	atomic_fetch_add(&r->refs, 1);
	resp = MHD_create_response_from_callback(size, READER_BLOCK, req_read, r,
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
