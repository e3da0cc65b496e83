/* Reads a request body in each wire format into a struct chat: the model,
 * stream or not, the messages wherever the format puts them (a top-level
 * system prompt becomes a "system" message), and the output limits. A bad
 * body gets the 400 the real API would give, in its shape. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "server.h"

/* The text of one content: a string, null, or a list of parts whose
 * "text" strings are joined (images, tool calls and the like are
 * ignored). */
static int chat_text(struct chat *ch, const cJSON *c, const char **out)
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

/* Room for n messages; prepares a 500 in r when memory ran out. */
static int chat_reserve(struct req *r, struct chat *ch, size_t n)
{
	ch->msgs = q_calloc(n ? n : 1, sizeof(*ch->msgs));
	if (ch->msgs)
		return 0;
	req_error(r, 500, "mock: out of memory", NULL, NULL);
	return -1;
}

static void chat_add(struct chat *ch, const char *role, const char *content)
{
	ch->msgs[ch->n].role = role;
	ch->msgs[ch->n].content = content;
	ch->prompt_tokens += reply_tokens(content) + 4;
	ch->n++;
}

/* A number the body may hold at key; < 0 when absent. */
static double opt_num(const cJSON *obj, const char *key)
{
	const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int bad(struct req *r, const char *msg, const char *code)
{
	req_error(r, 400, msg, NULL, code);
	return -1;
}

/* `stream` must be a boolean when present; `dflt` when absent. */
static int parse_stream(struct req *r, const cJSON *j, struct chat *ch, int dflt)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "stream");
	if (s && !cJSON_IsBool(s) && !cJSON_IsNull(s))
		return bad(r, r->wire == WIRE_OLLAMA
				      ? "json: cannot unmarshal string into Go struct field "
					"ChatRequest.stream of type bool"
				      : "Invalid type for 'stream': expected a boolean.",
			   "invalid_type");
	ch->stream = s && !cJSON_IsNull(s) ? cJSON_IsTrue(s) : dflt;
	return 0;
}

/* ---- OpenAI chat completions ---- */

static int openai_messages(struct req *r, struct chat *ch, const cJSON *msgs)
{
	if (chat_reserve(r, ch, (size_t)cJSON_GetArraySize(msgs)))
		return -1;
	size_t i = 0;
	for (const cJSON *it = msgs->child; it; it = it->next, i++) {
		char msg[96];
		const char *role = json_get_str(it, "role"), *text;
		if (!cJSON_IsObject(it) || !role) {
			snprintf(msg, sizeof(msg), "Missing required parameter: 'messages[%zu].role'.", i);
			return bad(r, msg, "missing_required_parameter");
		}
		if (chat_text(ch, cJSON_GetObjectItemCaseSensitive(it, "content"), &text)) {
			snprintf(msg, sizeof(msg), "Invalid type for 'messages[%zu].content'.", i);
			return bad(r, msg, "invalid_type");
		}
		chat_add(ch, role, text);
	}
	return 0;
}

static int openai_parse(struct req *r, const cJSON *j, struct chat *ch)
{
	if (!cJSON_IsObject(j))
		return bad(r, "We could not parse the JSON body of your request. "
			   "The OpenAI API expects a JSON payload.", NULL);
	ch->model = json_get_str(j, "model");
	if (!ch->model || !*ch->model)
		return bad(r, "you must provide a model parameter", NULL);
	if (parse_stream(r, j, ch, 0))
		return -1;
	const cJSON *so = json_get_obj(j, "stream_options");
	ch->include_usage = so && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
					  so, "include_usage"));
	ch->max_tokens = opt_num(j, "max_completion_tokens");
	if (ch->max_tokens < 0)
		ch->max_tokens = opt_num(j, "max_tokens");
	ch->temperature = opt_num(j, "temperature");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
	if (!cJSON_IsArray(msgs))
		return bad(r, "Missing required parameter: 'messages'.",
			   "missing_required_parameter");
	if (!msgs->child)
		return bad(r, "Invalid 'messages': empty array. Expected an array "
			   "with minimum length 1.", "empty_array");
	return openai_messages(r, ch, msgs);
}

/* ---- Anthropic messages ---- */

static int anthropic_messages(struct req *r, struct chat *ch, const cJSON *j,
			      const cJSON *msgs)
{
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(j, "system");
	const char *text;
	if (chat_reserve(r, ch, (size_t)cJSON_GetArraySize(msgs) + 1))
		return -1;
	if (sys && (chat_text(ch, sys, &text) || cJSON_IsNull(sys)))
		return bad(r, "system: Input should be a valid string", NULL);
	if (sys)
		chat_add(ch, "system", text);
	size_t i = 0;
	for (const cJSON *it = msgs->child; it; it = it->next, i++) {
		char msg[200];
		const char *role = json_get_str(it, "role");
		if (role && !strcmp(role, "system"))
			return bad(r, "messages: Unexpected role \"system\". The Messages API "
				   "accepts a top-level `system` parameter, not \"system\" as "
				   "an input message role.", NULL);
		if (!role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
			snprintf(msg, sizeof(msg), "messages.%zu.role: Input should be "
				 "'user' or 'assistant'", i);
			return bad(r, msg, NULL);
		}
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
		if (!c || cJSON_IsNull(c) || chat_text(ch, c, &text)) {
			snprintf(msg, sizeof(msg), "messages.%zu.content: Field required", i);
			return bad(r, msg, NULL);
		}
		chat_add(ch, role, text);
	}
	return 0;
}

static int anthropic_parse(struct req *r, const cJSON *j, struct chat *ch)
{
	if (!cJSON_IsObject(j))
		return bad(r, "There was an issue with the request body: invalid JSON.", NULL);
	ch->version = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						  "anthropic-version");
	if (!ch->version)
		return bad(r, "anthropic-version: header is required", NULL);
	ch->model = json_get_str(j, "model");
	if (!ch->model || !*ch->model)
		return bad(r, "model: Field required", NULL);
	ch->max_tokens = opt_num(j, "max_tokens");
	if (ch->max_tokens < 0)
		return bad(r, "max_tokens: Field required", NULL);
	ch->temperature = opt_num(j, "temperature");
	if (parse_stream(r, j, ch, 0))
		return -1;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
	if (!cJSON_IsArray(msgs))
		return bad(r, "messages: Field required", NULL);
	if (!msgs->child)
		return bad(r, "messages: at least one message is required", NULL);
	return anthropic_messages(r, ch, j, msgs);
}

/* ---- Gemini generateContent ---- */

/* Google's REST API takes a field in lowerCamel or snake_case. */
static const cJSON *gem_get(const cJSON *j, const char *camel, const char *snake)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, camel);
	return v ? v : cJSON_GetObjectItemCaseSensitive(j, snake);
}

static int gemini_contents(struct req *r, struct chat *ch, const cJSON *j,
			   const cJSON *contents)
{
	const cJSON *sys = gem_get(j, "systemInstruction", "system_instruction");
	const char *text;
	if (chat_reserve(r, ch, (size_t)cJSON_GetArraySize(contents) + 1))
		return -1;
	if (sys && (!cJSON_IsObject(sys) ||
		    chat_text(ch, cJSON_GetObjectItemCaseSensitive(sys, "parts"), &text)))
		return bad(r, "Invalid JSON payload received. Invalid value at "
			   "'system_instruction'.", NULL);
	if (sys)
		chat_add(ch, "system", text);
	for (const cJSON *it = contents->child; it; it = it->next) {
		const char *role = json_get_str(it, "role");
		if (!role || !*role)
			role = "user";
		if (strcmp(role, "user") && strcmp(role, "model"))
			return bad(r, "Please use a valid role: user, model.", NULL);
		if (!cJSON_IsObject(it) ||
		    chat_text(ch, cJSON_GetObjectItemCaseSensitive(it, "parts"), &text))
			return bad(r, "Invalid JSON payload received. Invalid value at "
				   "'contents.parts'.", NULL);
		chat_add(ch, role, text);
	}
	return 0;
}

static int gemini_parse(struct req *r, const cJSON *j, struct chat *ch)
{
	if (!cJSON_IsObject(j))
		return bad(r, "Invalid JSON payload received. Expected an object.", NULL);
	ch->model = r->url_model;
	ch->stream = r->url_stream;
	if (!ch->model) {
		req_error(r, 500, "mock: out of memory", NULL, NULL);
		return -1;
	}
	const char *alt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
						      "alt");
	ch->gemini_array = ch->stream && !(alt && !strcmp(alt, "sse"));
	const cJSON *gc = gem_get(j, "generationConfig", "generation_config");
	ch->max_tokens = opt_num(gc, "maxOutputTokens");
	if (ch->max_tokens < 0)
		ch->max_tokens = opt_num(gc, "max_output_tokens");
	ch->temperature = opt_num(gc, "temperature");
	const cJSON *contents = cJSON_GetObjectItemCaseSensitive(j, "contents");
	if (!cJSON_IsArray(contents) || !contents->child)
		return bad(r, "* GenerateContentRequest.contents: contents is not "
			   "specified\n", NULL);
	return gemini_contents(r, ch, j, contents);
}

/* ---- Ollama /api/chat ---- */

static int ollama_parse(struct req *r, const cJSON *j, struct chat *ch)
{
	if (!cJSON_IsObject(j))
		return bad(r, "invalid character in JSON body", NULL);
	ch->model = json_get_str(j, "model");
	if (!ch->model || !*ch->model)
		return bad(r, "model is required", NULL);
	/* Ollama streams unless told not to. */
	if (parse_stream(r, j, ch, 1))
		return -1;
	const cJSON *opts = json_get_obj(j, "options");
	ch->max_tokens = opt_num(opts, "num_predict");
	ch->temperature = opt_num(opts, "temperature");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
	if (msgs && !cJSON_IsArray(msgs) && !cJSON_IsNull(msgs))
		return bad(r, "json: cannot unmarshal object into Go struct field "
			   "ChatRequest.messages of type []api.Message", NULL);
	if (chat_reserve(r, ch, (size_t)cJSON_GetArraySize(msgs)))
		return -1;
	for (const cJSON *it = msgs ? msgs->child : NULL; it; it = it->next) {
		const char *role = json_get_str(it, "role"), *text;
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
		if (!cJSON_IsObject(it) || (c && !cJSON_IsString(c) && !cJSON_IsNull(c)) ||
		    chat_text(ch, c, &text))
			return bad(r, "json: cannot unmarshal into Go struct field "
				   "ChatRequest.messages of type api.Message", NULL);
		chat_add(ch, role ? role : "", text);
	}
	return 0;
}

int chat_parse(struct req *r, const cJSON *j, struct chat *ch)
{
	ch->wire = r->wire;
	ch->max_tokens = ch->temperature = -1;
	switch (r->wire) {
	case WIRE_ANTHROPIC:
		return anthropic_parse(r, j, ch);
	case WIRE_GEMINI:
		return gemini_parse(r, j, ch);
	case WIRE_OLLAMA:
		return ollama_parse(r, j, ch);
	case WIRE_OPENAI:
		break;
	}
	return openai_parse(r, j, ch);
}
