#include "wire.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/json.h"

#define WIRE_BODY_SLACK ((size_t)1 << 20)
#define WIRE_BODY_DEFAULT_CAP ((size_t)64 << 20)

int wire_url_join(struct buf *url, const char *base_url, const char *path,
		  struct qerr *e)
{
	size_t n = base_url ? strlen(base_url) : 0;
	while (n && base_url[n - 1] == '/')
		n--;
	if (!n)
		return qerr_set(e, "base_url is empty");
	buf_reset(url);
	if (buf_append(url, base_url, n) || buf_puts(url, path))
		return qerr_set(e, "out of memory building the request url");
	return 0;
}

static int has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 1;
	return 0;
}

int wire_add_header(struct http_req *r, const char *name, const char *prefix,
		    const char *value, struct qerr *e)
{
	if (r->nheaders >= HTTP_REQ_MAX_HEADERS)
		return qerr_set(e, "too many request headers");
	if (has_control(prefix) || has_control(value))
		return qerr_set(e, "header '%s' holds a control character", name);
	size_t nl = strlen(name), pl = strlen(prefix), vl = strlen(value);
	char *h = q_malloc(nl + 2 + pl + vl + 1);
	if (!h)
		return qerr_set(e, "out of memory building the request headers");
	memcpy(h, name, nl);
	memcpy(h + nl, ": ", 2);
	memcpy(h + nl + 2, prefix, pl);
	memcpy(h + nl + 2 + pl, value, vl + 1);
	r->headers[r->nheaders++] = h;
	return 0;
}

/* The length of the valid UTF-8 sequence at s[0..n), or 0 (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

cJSON *wire_json_string(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	while (i < n && (k = utf8_seq(u + i, n - i)))
		i += k;
	if (i == n)
		return cJSON_CreateString(s);
	struct buf b = BUF_INIT;
	int bad = buf_append(&b, s, i);
	while (!bad && i < n) {
		k = utf8_seq(u + i, n - i);
		if (k)
			bad = buf_append(&b, s + i, k);
		else
			bad = buf_puts(&b, "\xef\xbf\xbd");
		i += k ? k : 1;
	}
	cJSON *j = bad ? NULL : cJSON_CreateString(buf_str(&b));
	buf_release(&b);
	return j;
}

int wire_merge_params(cJSON *body, const char *params_json, struct qerr *e)
{
	if (!params_json || !*params_json)
		return 0;
	cJSON *p = json_parse(params_json, strlen(params_json), WIRE_JSON_DEPTH);
	if (!p)
		return qerr_set(e, "params is not valid JSON");
	if (!cJSON_IsObject(p)) {
		qerr_set(e, "params must be a JSON object, not %s",
			 wire_json_type(p));
		cJSON_Delete(p);
		return -1;
	}
	cJSON *item;
	while ((item = p->child)) {
		cJSON_DetachItemViaPointer(p, item);
		while (cJSON_GetObjectItemCaseSensitive(body, item->string))
			cJSON_DeleteItemFromObjectCaseSensitive(body, item->string);
		/* cJSON copies the key before it frees the item's own. */
		if (!cJSON_AddItemToObject(body, item->string, item)) {
			cJSON_Delete(item);
			cJSON_Delete(p);
			return qerr_set(e, "out of memory merging params");
		}
	}
	cJSON_Delete(p);
	return 0;
}

int wire_body_print(const cJSON *body, struct buf *out, struct qerr *e)
{
	char *s = cJSON_PrintUnformatted(body);
	buf_reset(out);
	int bad = !s || buf_puts(out, s);
	cJSON_free(s);
	return bad ? qerr_set(e, "out of memory building the request body") : 0;
}

const char *wire_json_type(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "missing";
}

int64_t wire_tokens(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsNumber(v))
		return -1;
	double d = v->valuedouble;
	if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d))
		return -1;
	return (int64_t)d;
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

int wire_put_printable(struct buf *b, const char *s, size_t n, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t out = 0, i = 0;
	int space = 0;
	while (i < n && out < max) {
		if (is_blank(u[i])) {
			space = out > 0;
			i++;
			continue;
		}
		size_t k = utf8_seq(u + i, n - i);
		size_t need = (k ? k : 1) + (size_t)space;
		if (out + need > max)
			break;
		if (space && buf_putc(b, ' '))
			return -1;
		space = 0;
		int bad;
		if (k == 1 && (u[i] < 0x20 || u[i] == 0x7f))
			bad = buf_putc(b, '?');
		else if (k)
			bad = buf_append(b, s + i, k);
		else
			bad = buf_putc(b, '?');
		if (bad)
			return -1;
		out += need;
		i += k ? k : 1;
	}
	return 0;
}

size_t wire_body_cap(size_t max_text)
{
	if (!max_text)
		return WIRE_BODY_DEFAULT_CAP;
	if (max_text > (SIZE_MAX - WIRE_BODY_SLACK) / 8)
		return SIZE_MAX;
	return max_text * 8 + WIRE_BODY_SLACK;
}

size_t wire_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	while (i < n && (k = utf8_seq(u + i, n - i)))
		i += k;
	return i;
}

int wire_json_looks_cut(const char *s, size_t n)
{
	size_t i = 0;
	/* JSON's own blanks only. */
	while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' ||
			 s[i] == '\t'))
		i++;
	if (i == n)
		return 1;
	if (s[i] != '{')
		return 0;
	size_t depth = 0;
	int in_str = 0;
	for (; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
		} else if (s[i] == '"') {
			in_str = 1;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if (s[i] == '}' || s[i] == ']') {
			if (!depth--)
				return 0;
		}
	}
	return in_str || depth > 0;
}
