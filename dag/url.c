#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/buf.h"
#include "loadctx.h"

/* Where a model may be sent: an http(s) URL with a sane host and port,
 * checked on what the file says when it is loaded and again by the
 * engine once ${VAR}s are expanded. A base_url may read the environment
 * (docker-compose style) but never a variable that holds a key: the URL
 * is logged, traced and shown in error summaries, the key must not be. */

static int why_set(char *why, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t n, const char *fmt, ...)
{
	if (why && n) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }
static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), as RFC 3986. */
static size_t scheme_len(const char *s)
{
	if (!is_alpha(s[0]))
		return 0;
	size_t i = 1;
	while (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return s[i] == ':' ? i : 0;
}

/* A DNS name (labels of letters, digits, '-' and '_', a trailing dot
 * allowed) or a dotted IPv4 address, which is such a name too. */
static int host_name_ok(const char *h, size_t n)
{
	if (!n || n > 253)
		return 0;
	if (h[n - 1] == '.')
		n--;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char ch = i < n ? h[i] : '.';
		if (ch == '.') {
			if (!label || label > 63 || h[i - 1] == '-' || h[i - label] == '-')
				return 0;
			label = 0;
		} else if (is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '_') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* Inside [...]: hex digits, ':' and '.' (an embedded IPv4), two colons
 * at least. */
static int host_v6_ok(const char *h, size_t n)
{
	size_t colons = 0;
	if (n < 2 || n > 45)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		colons += ch == ':';
		if (!(is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
		      ch == ':' || ch == '.'))
			return 0;
	}
	return colons >= 2;
}

static int port_check(const char *p, size_t n, char *why, size_t wn)
{
	if (!n)
		return why_set(why, wn, "the port after ':' is empty (remove the ':' or "
			       "write a port from 1 to 65535)");
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return why_set(why, wn, "the port is not a number (write a port from 1 "
				       "to 65535)");
		if (v <= 65535)
			v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return why_set(why, wn, "port %.*s is out of range (use 1 to 65535)",
			       n > 20 ? 20 : (int)n, p);
	return 0;
}

static int authority_check(const char *a, size_t n, char *why, size_t wn)
{
	if (memchr(a, '@', n))
		return why_set(why, wn, "it holds a user name or password (credentials never "
			       "go in the URL; name the key's variable with api_key_env)");
	const char *port = NULL;
	size_t hn;
	if (n && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		if (!close || !host_v6_ok(a + 1, (size_t)(close - a - 1)))
			return why_set(why, wn, "the host is not a valid IPv6 address in "
				       "[brackets]");
		hn = (size_t)(close - a) + 1;
		if (hn < n && a[hn] != ':')
			return why_set(why, wn, "unexpected text after the IPv6 address (a "
				       "port is written [::1]:8080)");
	} else {
		const char *colon = memchr(a, ':', n);
		hn = colon ? (size_t)(colon - a) : n;
		if (!hn)
			return why_set(why, wn, "it has no host (write http://HOST or "
				       "http://HOST:PORT)");
		if (!host_name_ok(a, hn))
			return why_set(why, wn, "the host is not a valid name or address "
				       "(letters, digits, '-', '_' and '.')");
	}
	if (hn < n)
		port = a + hn + 1;
	return port ? port_check(port, (size_t)(a + n - port), why, wn) : 0;
}

int workflow_url_check(const char *url, char *why, size_t n)
{
	if (!url || !*url)
		return why_set(why, n, "it is empty");
	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return why_set(why, n, "it contains a space or a control character");
	}
	size_t sl = scheme_len(url);
	/* localhost:8080 is a host and a port, not a scheme. */
	if (!sl || is_digit(url[sl + 1]))
		return why_set(why, n, "it has no scheme (start it with http:// or https://)");
	int http = (sl == 4 && !strncasecmp(url, "http", 4)) ||
		   (sl == 5 && !strncasecmp(url, "https", 5));
	if (!http)
		return why_set(why, n, "the scheme '%.*s' is not allowed (use http:// or "
			       "https://)", sl > 20 ? 20 : (int)sl, url);
	if (strncmp(url + sl, "://", 3))
		return why_set(why, n, "'%.*s:' must be followed by '//' and the host",
			       (int)sl, url);
	const char *a = url + sl + 3;
	size_t an = strcspn(a, "/?#");
	return authority_check(a, an, why, n);
}

/* ---- load time ---- */

static int valid_var(const char *s, size_t n)
{
	if (!n || n >= 256 || !(is_alpha(s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_'))
			return 0;
	}
	return 1;
}

static int ends_with(const char *s, size_t n, const char *tail)
{
	size_t t = strlen(tail);
	return n >= t && !memcmp(s + n - t, tail, t);
}

/* Whether the variable name[0..n) holds an API key: a key variable of a
 * model of the file or of a provider, or a name that says so. */
static int key_var(const struct loadctx *c, const char *name, size_t n)
{
	if (ends_with(name, n, "API_KEY"))
		return 1;
	for (size_t i = 0; i < PROV_COUNT; i++) {
		const char *k = provfacts[i].key_env;
		if (*k && strlen(k) == n && !memcmp(k, name, n))
			return 1;
	}
	for (size_t i = 0; i < c->wf->nmodels; i++) {
		const struct wf_model *m = c->wf->models[i];
		const char *k = m->api_key_env;
		if (k && *k && strlen(k) == n && !memcmp(k, name, n))
			return 1;
		for (size_t e = 0; e < m->nendpoints; e++) {
			k = m->endpoints[e].api_key_env;
			if (k && *k && strlen(k) == n && !memcmp(k, name, n))
				return 1;
		}
	}
	return 0;
}

/* Where byte off of a one-line scalar is; the scalar's start otherwise. */
static void pos_in(const struct ynode *v, size_t off, int *line, int *col)
{
	*line = v->line;
	*col = v->col;
	if (memchr(v->str, '\n', off))
		return;
	*line = v->text_line;
	*col = v->text_col;
	for (size_t i = 0; i < off; i++)
		*col += ((unsigned char)v->str[i] & 0xC0) != 0x80;
}

/* One ${...} at s (after "${", n bytes up to the '}'; its "${" is byte
 * off of the scalar v): reports a bad name or a key variable; appends its
 * default, or a stand-in, to out. Sets *open_scheme when a variable
 * without default comes before any "://", so it may supply the scheme.
 * Returns -1 after reporting. */
static int one_var(struct loadctx *c, const struct ynode *v, size_t off, const char *s,
		   size_t n, struct buf *out, int *open_scheme)
{
	const char *sep = NULL;
	for (size_t i = 0; i + 1 < n && !sep; i++) {
		if (s[i] == ':' && s[i + 1] == '-')
			sep = s + i;
	}
	size_t nlen = sep ? (size_t)(sep - s) : n;
	int line, col;
	pos_in(v, off, &line, &col);
	if (!valid_var(s, nlen))
		return ld_diag(c, line, col, "'base_url' names the variable '%.*s', which is "
			       "not a valid name (use letters, digits and '_'; a default is "
			       "written ${NAME:-default})", nlen > 60 ? 60 : (int)nlen, s);
	if (key_var(c, s, nlen))
		return ld_diag(c, line, col, "'base_url' reads ${%.*s}, which holds an API "
			       "key: that would put the key in the URL (the key goes only in "
			       "api_key_env)", (int)nlen, s);
	if (sep)
		return buf_append(out, sep + 2, n - nlen - 2) ? ld_oom(c) : 0;
	if (!strstr(buf_str(out), "://"))
		*open_scheme = 1;
	/* A value that is valid wherever it lands: host, port or path. */
	return buf_putc(out, '1') ? ld_oom(c) : 0;
}

void ld_check_base_url(struct loadctx *c, const char *url, const struct ynode *v)
{
	const char *s = url;
	struct buf out = BUF_INIT;
	int open_scheme = 0, bad = 0;
	while (*s && !bad) {
		const char *open = strstr(s, "${");
		if (!open) {
			bad = buf_puts(&out, s) ? ld_oom(c) : 0;
			break;
		}
		const char *close = strchr(open, '}');
		if (!close) {
			int line, col;
			pos_in(v, (size_t)(open - url), &line, &col);
			bad = ld_diag(c, line, col, "'base_url' has '${' without its closing '}'");
			break;
		}
		if (buf_append(&out, s, (size_t)(open - s))) {
			bad = ld_oom(c);
			break;
		}
		bad = one_var(c, v, (size_t)(open - url), open + 2,
			      (size_t)(close - open - 2), &out, &open_scheme);
		s = close + 1;
	}
	char why[160];
	/* A URL with a password in it is not repeated. */
	if (!bad && !open_scheme && workflow_url_check(buf_str(&out), why, sizeof(why))) {
		if (strchr(url, '@'))
			ld_diag(c, v->line, v->col, "invalid base_url: %s", why);
		else
			ld_diag(c, v->line, v->col, "invalid base_url '%.80s%s': %s", url,
				strlen(url) > 80 ? "..." : "", why);
	}
	buf_release(&out);
}
