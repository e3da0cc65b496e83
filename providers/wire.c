#include "wire.h"

#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "../common/json.h"

#define WIRE_BODY_SLACK ((size_t)1 << 20)
#define WIRE_BODY_DEFAULT_CAP ((size_t)64 << 20)
/* How much of a provider's own error message a message keeps. */
#define WIRE_WORDS_MAX 2000

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

const char *wire_base_url(const char *base_url, const struct provfacts *f)
{
	return base_url && *base_url ? base_url : f->base_url;
}

int wire_key_header(struct http_req *r, const struct provfacts *f, const char *api_key,
		    struct qerr *e)
{
	if (!api_key || !*api_key)
		return 0;
	return wire_add_header(r, f->key_header, f->key_prefix, api_key, e);
}

/* The headers of a JSON request: "Content-Type: application/json", then
 * the key's (wire_key_header), then "Accept: accept" when accept is not
 * NULL. Returns 0, or -1 with e set. */
static int wire_json_headers(struct http_req *r, const struct provfacts *f,
			     const char *api_key, const char *accept, struct qerr *e)
{
	if (wire_add_header(r, "Content-Type", "", "application/json", e) ||
	    wire_key_header(r, f, api_key, e))
		return -1;
	if (accept && wire_add_header(r, "Accept", "", accept, e))
		return -1;
	return 0;
}

/* The length of the valid UTF-8 sequence at s[0..n), or 0 (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF). Then *stop is
 * the offset of the first byte that cannot be where it is (n when s ends
 * inside the sequence). */
static size_t utf8_check(const unsigned char *s, size_t n, size_t *stop)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	*stop = 0;
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
	/* The second byte's range rules out overlongs, surrogates and
	 * code points above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; i < len; i++) {
		*stop = i;
		if (i >= n)
			return 0;
		if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
			return 0;
	}
	return len;
}

static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t stop;
	return utf8_check(s, n, &stop);
}

cJSON *wire_json_string(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	/* ASCII, most of any prompt, needs no decoding. */
	while (i < n && (u[i] < 0x80 ? (k = 1) : (k = utf8_seq(u + i, n - i))))
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

int wire_json_add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return -1;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

cJSON *wire_json_strings(const char *const *s, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < n; i++) {
		cJSON *item = s[i] ? wire_json_string(s[i]) : NULL;
		if (s[i] && (!item || !cJSON_AddItemToArray(a, item))) {
			cJSON_Delete(item);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* The value req gives setting s, or NULL with *set 0 when it sets none
 * (or with *set 1 when memory is exhausted). */
static cJSON *wire_setting(const struct chat_request *req, enum wire_setting s,
			  char *seed, size_t seed_len, int *set)
{
	switch (s) {
	case WIRE_TEMPERATURE:
		*set = req->has_temperature;
		return *set ? cJSON_CreateNumber(req->temperature) : NULL;
	case WIRE_TOP_P:
		*set = req->has_top_p;
		return *set ? cJSON_CreateNumber(req->top_p) : NULL;
	case WIRE_SEED:
		if (!(*set = req->has_seed))
			return NULL;
		snprintf(seed, seed_len, "%" PRId64, req->seed);
		return cJSON_CreateRaw(seed);
	case WIRE_MAX_TOKENS:
		*set = req->max_tokens > 0;
		return *set ? cJSON_CreateNumber(req->max_tokens) : NULL;
	case WIRE_STOP:
		*set = req->nstop > 0;
		return *set ? wire_json_strings(req->stop, req->nstop) : NULL;
	}
	*set = 0;
	return NULL;
}

int wire_add_settings(cJSON *obj, const char *under, const struct chat_request *req,
		      const struct wire_setting_name *names, size_t n)
{
	cJSON *to = under ? cJSON_CreateObject() : obj;
	char seed[32];
	int set;
	if (!to)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cJSON *v = wire_setting(req, names[i].setting, seed, sizeof(seed), &set);
		if (set && wire_json_add(to, names[i].name, v))
			goto fail;
	}
	if (!under)
		return 0;
	if (!to->child) {
		cJSON_Delete(to);
		return 0;
	}
	return wire_json_add(obj, under, to);
fail:
	if (under)
		cJSON_Delete(to);
	return -1;
}

int wire_request_check(const struct chat_request *req, const char *provider,
		       struct qerr *e)
{
	if (!req->model || !*req->model)
		return qerr_set(e, "no model name for provider '%s'", provider);
	if (!req->prompt)
		return qerr_set(e, "no prompt for model '%s'", req->model);
	return 0;
}

int wire_merge_params(cJSON *body, const char *params_json, struct qerr *e)
{
	if (!params_json || !*params_json)
		return 0;
	cJSON *p = json_parse(params_json, strlen(params_json), WIRE_PARAMS_DEPTH);
	if (!p)
		return qerr_set(e, "params is not valid JSON");
	if (!cJSON_IsObject(p)) {
		qerr_set(e, "params must be a JSON object, not %s",
			 json_type_name(p));
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

/* cJSON_PrintUnformatted's string: '"', '\\' and \b \f \n \r \t by
 * letter, other bytes below 0x20 as \u00xx, everything else as is. */
static int print_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	if (buf_putc(b, '"'))
		return -1;
	const char *run = s ? s : "", *end = run + strlen(run);
	for (const char *p = run;; p++) {
		/* Eight bytes at a time while none is below 0x20, '"' or '\\':
		 * the zero-byte test on w, w ^ '"' and w ^ '\\' (the bytes
		 * sought are all below 0x80, so ~w stands for each). It may
		 * stop early, never late. */
		while (end - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			uint64_t lo = w - ones * 0x20, quote = (w ^ (ones * '"')) - ones,
				 bslash = (w ^ (ones * '\\')) - ones;
			if ((lo | quote | bslash) & ~w & highs)
				break;
			p += 8;
		}
		unsigned char c = (unsigned char)*p;
		if (c > 31 && c != '"' && c != '\\')
			continue;
		if (buf_append(b, run, (size_t)(p - run)))
			return -1;
		if (!c)
			break;
		char esc[6] = {'\\', (char)c, 0};
		size_t n = 2;
		switch (c) {
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '"': case '\\': break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		if (buf_append(b, esc, n))
			return -1;
		run = p + 1;
	}
	return buf_putc(b, '"');
}

/* d in s as "%1.15g" prints it when d is the double nearest a decimal
 * m / 10^k (k <= 6, |m| < 1e15, |d| >= 1e-4: a temperature, a top_p):
 * 15 digits always read back, so that decimal is what cJSON prints.
 * Returns its length, or 0 when d is not such a number. */
static int short_decimal(double d, char *s)
{
	static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
	if (!(fabs(d) >= 1e-4 && fabs(d) < 1e14))
		return 0;
	for (int k = 1; k <= 6; k++) {
		double m = nearbyint(d * p10[k]);
		if (fabs(m) >= 1e15 || m / p10[k] != d)
			continue;
		long long v = (long long)fabs(m), den = (long long)p10[k];
		int n = sprintf(s, "%s%lld.", d < 0 ? "-" : "", v / den);
		for (long long f = v % den, q = den / 10; q; f %= q, q /= 10)
			s[n++] = (char)('0' + f / q);
		s[n] = '\0';
		return n;
	}
	return 0;
}

/* cJSON_PrintUnformatted's number: "%1.15g" when that reads back to
 * the same double, else "%1.17g"; "null" for NaN and infinities; the
 * locale's decimal point as '.'. Whole numbers below 1e15 (what that
 * prints without a fraction or an exponent) and short decimals skip
 * the printf and its check. */
static int print_num(struct buf *b, double d)
{
	char s[32];
	int n;
	if (isnan(d) || isinf(d)) {
		n = snprintf(s, sizeof(s), "null");
	} else if (fabs(d) < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
		n = snprintf(s, sizeof(s), "%lld", (long long)d);
	} else if ((n = short_decimal(d, s))) {
		/* as "%1.15g" prints it */
	} else {
		n = snprintf(s, sizeof(s), "%1.15g", d);
		double t = strtod(s, NULL);
		double m = fabs(t) > fabs(d) ? fabs(t) : fabs(d);
		if (!(fabs(t - d) <= m * DBL_EPSILON))
			n = snprintf(s, sizeof(s), "%1.17g", d);
		char point = *localeconv()->decimal_point;
		for (int i = 0; i < n && point != '.'; i++)
			if (s[i] == point)
				s[i] = '.';
	}
	return n < 0 || (size_t)n >= sizeof(s) ? -1 : buf_append(b, s, (size_t)n);
}

/* item as cJSON_PrintUnformatted prints it, byte for byte (a request's
 * body is part of its cache key), straight into b. -1 where cJSON would
 * fail too (a raw item without text, an invalid item) or memory ran out. */
static int print_json(struct buf *b, const cJSON *item)
{
	switch (item->type & 0xff) {
	case cJSON_NULL:
		return buf_puts(b, "null");
	case cJSON_False:
		return buf_puts(b, "false");
	case cJSON_True:
		return buf_puts(b, "true");
	case cJSON_Number:
		return print_num(b, item->valuedouble);
	case cJSON_Raw:
		return item->valuestring ? buf_puts(b, item->valuestring) : -1;
	case cJSON_String:
		return print_str(b, item->valuestring);
	case cJSON_Array:
	case cJSON_Object: {
		int obj = (item->type & 0xff) == cJSON_Object;
		if (buf_putc(b, obj ? '{' : '['))
			return -1;
		for (const cJSON *c = item->child; c; c = c->next) {
			if ((c != item->child && buf_putc(b, ',')) ||
			    (obj && (print_str(b, c->string) || buf_putc(b, ':'))) ||
			    print_json(b, c))
				return -1;
		}
		return buf_putc(b, obj ? '}' : ']');
	}
	}
	return -1;
}

int wire_body_print(const cJSON *body, struct buf *out, struct qerr *e)
{
	buf_reset(out);
	if (print_json(out, body)) {
		buf_reset(out);
		return qerr_set(e, "out of memory building the request body");
	}
	return 0;
}

int wire_body_finish(cJSON *body, const char *params_json, wire_merge_fn *merge,
		     struct buf *out, struct qerr *e)
{
	if (!body)
		return qerr_set(e, "out of memory building the request body");
	int rc = merge(body, params_json, e) || wire_body_print(body, out, e);
	cJSON_Delete(body);
	return rc ? -1 : 0;
}

int wire_post_json(const struct wire_post *p, const struct chat_request *req,
		   const char *base_url, const char *api_key, struct http_req *out,
		   struct qerr *e)
{
	if (wire_request_check(req, p->facts->name, e))
		return -1;
	if (wire_url_join(&out->url, wire_base_url(base_url, p->facts), p->path, e) ||
	    wire_body_finish(p->body(req), req->params_json, p->merge, &out->body, e) ||
	    wire_json_headers(out, p->facts, api_key, req->stream ? p->stream_accept : NULL,
			      e)) {
		http_req_release(out);
		return -1;
	}
	return 0;
}

int wire_add_message(cJSON *msgs, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	if (!m || wire_json_add(m, "role", cJSON_CreateString(role)) ||
	    wire_json_add(m, "content", wire_json_string(content)) ||
	    !cJSON_AddItemToArray(msgs, m)) {
		cJSON_Delete(m);
		return -1;
	}
	return 0;
}

cJSON *wire_chat_body(const struct chat_request *req)
{
	cJSON *body = cJSON_CreateObject();
	if (!body || wire_json_add(body, "model", wire_json_string(req->model)))
		goto fail;
	cJSON *msgs = cJSON_CreateArray();
	/* msgs belongs to body once added, and is freed otherwise. */
	if (wire_json_add(body, "messages", msgs))
		goto fail;
	if (req->system && *req->system && wire_add_message(msgs, "system", req->system))
		goto fail;
	if (wire_add_message(msgs, "user", req->prompt))
		goto fail;
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

const cJSON *wire_json_index0(const cJSON *arr)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, arr)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
		if (!idx || (cJSON_IsNumber(idx) && idx->valuedouble == 0))
			return c;
	}
	return NULL;
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

size_t wire_utf8_stop(const char *s, size_t n)
{
	size_t stop;
	if (!n)
		return 0;
	return utf8_check((const unsigned char *)s, n, &stop) ? 0 : stop;
}

int wire_json_looks_cut(const char *s, size_t n, const char *opens)
{
	size_t i = 0;
	/* JSON's own blanks only. */
	while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' ||
			 s[i] == '\t'))
		i++;
	if (i == n)
		return 1;
	/* The bracket count below does not mind which kind opens. */
	if (!s[i] || !strchr(opens, s[i]))
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

int wire_fail_excerpt(struct chat_result *r, enum err_class c, const char *what,
		      const char *body, size_t len)
{
	struct buf ex = BUF_INIT;
	wire_put_printable(&ex, body, len, WIRE_EXCERPT);
	if (ex.len)
		chat_result_fail(r, c, "%s: %s", what, buf_str(&ex));
	else
		chat_result_fail(r, c, "%s", what);
	buf_release(&ex);
	return -1;
}

int wire_fail_words(struct chat_result *r, enum err_class c, const char *msg,
		    const char *code, size_t code_max, const char *what,
		    const char *body, size_t len)
{
	struct buf m = BUF_INIT;
	if (msg)
		wire_put_printable(&m, msg, strlen(msg), WIRE_WORDS_MAX);
	if (m.len)
		chat_result_fail(r, c, "%s", buf_str(&m));
	else if (code && !wire_put_printable(&m, code, strlen(code), code_max) &&
		 m.len)
		chat_result_fail(r, c, "error '%s'", buf_str(&m));
	else
		wire_fail_excerpt(r, c, what, body, len);
	buf_release(&m);
	return -1;
}

const struct wire_err_name *wire_err_find(const struct wire_err_name *t, size_t n,
					  const char *name)
{
	for (size_t i = 0; name && i < n; i++) {
		if (!strcmp(t[i].name, name))
			return &t[i];
	}
	return NULL;
}

enum err_class wire_error_start(int http_status, const char *retry_after,
				struct chat_result *r)
{
	enum err_class c = err_class_from_status(http_status);
	r->http_status = http_status;
	r->retry_after_ms = retry_after_parse(retry_after, (int64_t)time(NULL));
	return c == ERR_NONE ? ERR_MALFORMED : c;
}

int wire_fail_status(struct chat_result *r, enum err_class c, int http_status,
		     const char *hint, const char *body, size_t len)
{
	char what[96];
	if (!body || !len)
		return chat_result_fail(r, c, "HTTP %d with an empty body",
					http_status);
	snprintf(what, sizeof(what), "HTTP %d%s", http_status, hint ? hint : "");
	return wire_fail_excerpt(r, c, what, body, len);
}

int wire_fail_type(struct chat_result *r, const char *what, const cJSON *v,
		   const char *want)
{
	return chat_result_fail(r, ERR_MALFORMED, "'%s' is %s, not %s", what,
				json_type_name(v), want);
}

int wire_opt_str(struct chat_result *r, const cJSON *obj, const char *key,
		 const char *what, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = cJSON_IsString(v) ? v->valuestring : NULL;
	if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
		return wire_fail_type(r, what, v, "a string");
	return 0;
}
