/* The pure parts of the shared state (shared.h): the URL, the keys, and
 * the form a cache entry takes in Redis. No network, no clock. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../common/alloc.h"
#include "../common/sha256.h"
#include "shared.h"

/* A decimal number in [min, max] filling s[0..n) exactly: digits only
 * (strtol alone would take " 80" and "+80"). */
static int parse_int(const char *s, size_t n, long min, long max, long *out)
{
	char tmp[16];
	if (!n || n >= sizeof(tmp))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	long v = strtol(tmp, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Whether s holds a byte no host name or socket path has (a space, a
 * control byte): it would be printed in every message. */
static int has_odd_byte(const char *s, int space_ok)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || (*s == ' ' && !space_ok))
			return 1;
	return 0;
}

/* Copies s[0..n) into out (cap bytes). Returns 0, or -1 when too long. */
static int copy_part(char *out, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* "[USER]:PASSWORD@" at the start of *p, moved past. No '@': none. The
 * password is whatever follows the first ':' up to the last '@' before
 * the host part ends (passwords may hold '@' and ':'). */
static int parse_auth(struct shared_url *u, const char **p, const char *end)
{
	const char *at = NULL;
	for (const char *q = *p; q < end; q++)
		if (*q == '@')
			at = q;
	if (!at)
		return 0;
	const char *colon = memchr(*p, ':', (size_t)(at - *p));
	if (!colon) {
		if (copy_part(u->user, sizeof(u->user), *p, (size_t)(at - *p)))
			return -1;
		*p = at + 1;
		return 0;
	}
	if (copy_part(u->user, sizeof(u->user), *p, (size_t)(colon - *p)) ||
	    copy_part(u->password, sizeof(u->password), colon + 1, (size_t)(at - colon - 1)))
		return -1;
	*p = at + 1;
	return 0;
}

static int fail(char *err, size_t n, const char *why, const char *shown)
{
	snprintf(err, n, "%s: %s", shown, why);
	return -1;
}

/* HOST[:PORT][/DB] of a redis:// URL, from p to the end. */
static int parse_tcp(struct shared_url *u, const char *p, char *err, size_t n)
{
	const char *end = p + strlen(p);
	/* The database is digits: any '@' belongs to the password. */
	if (parse_auth(u, &p, end))
		return fail(err, n, "user or password too long", "redis://");
	const char *slash = memchr(p, '/', (size_t)(end - p));
	const char *hostend = slash ? slash : end;
	const char *colon = NULL;
	if (*p == '[') {
		/* [IPv6]:PORT */
		const char *close = memchr(p, ']', (size_t)(hostend - p));
		if (!close || copy_part(u->host, sizeof(u->host), p + 1, (size_t)(close - p - 1)))
			return fail(err, n, "a bad [IPv6] host", "redis://");
		colon = close + 1 < hostend && close[1] == ':' ? close + 1 : NULL;
		if (close + 1 < hostend && !colon)
			return fail(err, n, "a bad [IPv6] host", "redis://");
	} else {
		colon = memchr(p, ':', (size_t)(hostend - p));
		const char *he = colon ? colon : hostend;
		if (copy_part(u->host, sizeof(u->host), p, (size_t)(he - p)))
			return fail(err, n, "host name too long", "redis://");
	}
	if (!u->host[0])
		return fail(err, n, "no host (want redis://HOST:PORT)", "redis://");
	if (has_odd_byte(u->host, 0))
		return fail(err, n, "the host holds a space or a control character", "redis://");
	long v = 6379;
	if (colon && parse_int(colon + 1, (size_t)(hostend - colon - 1), 1, 65535, &v))
		return fail(err, n, "the port must be a number from 1 to 65535", "redis://");
	u->port = (int)v;
	if (slash && slash + 1 < end) {
		if (parse_int(slash + 1, (size_t)(end - slash - 1), 0, 1000000, &v))
			return fail(err, n, "the database must be a number, as in "
				    "redis://HOST:PORT/0", "redis://");
		u->db = (int)v;
	}
	if (strchr(u->host, ':'))
		snprintf(u->shown, sizeof(u->shown), "redis://[%s]:%d", u->host, u->port);
	else
		snprintf(u->shown, sizeof(u->shown), "redis://%s:%d", u->host, u->port);
	if (u->db)
		snprintf(u->shown + strlen(u->shown), sizeof(u->shown) - strlen(u->shown), "/%d",
			 u->db);
	return 0;
}

/* [[USER]:PASSWORD@]/PATH[?db=N] of a unix:// URL. */
static int parse_unix(struct shared_url *u, const char *p, char *err, size_t n)
{
	const char *end = p + strlen(p);
	const char *q = strstr(p, "?db=");
	const char *pathend = q ? q : end;
	const char *slash = memchr(p, '/', (size_t)(pathend - p));
	if (!slash)
		return fail(err, n, "no socket path (want unix:///PATH)", "unix://");
	if (slash > p && parse_auth(u, &p, slash))
		return fail(err, n, "user or password too long", "unix://");
	if (p != slash)
		return fail(err, n, "a host has no place here (want unix:///PATH)", "unix://");
	/* A longer path would be cut short by the connect, and name another
	 * socket. */
	if (copy_part(u->path, sizeof(((struct sockaddr_un *)0)->sun_path), slash,
		      (size_t)(pathend - slash)))
		return fail(err, n, "socket path too long", "unix://");
	if (has_odd_byte(u->path, 1))
		return fail(err, n, "the socket path holds a control character", "unix://");
	long v = 0;
	if (q && parse_int(q + 4, (size_t)(end - q - 4), 0, 1000000, &v))
		return fail(err, n, "the database must be a number, as in ?db=0", "unix://");
	u->db = (int)v;
	snprintf(u->shown, sizeof(u->shown), "unix://%s", u->path);
	if (u->db)
		snprintf(u->shown + strlen(u->shown), sizeof(u->shown) - strlen(u->shown),
			 "?db=%d", u->db);
	return 0;
}

int shared_url_parse(struct shared_url *u, const char *text, char *err, size_t n)
{
	memset(u, 0, sizeof(*u));
	if (!strncmp(text, "redis://", 8))
		return parse_tcp(u, text + 8, err, n);
	if (!strncmp(text, "unix://", 7))
		return parse_unix(u, text + 7, err, n);
	if (!strncmp(text, "rediss://", 9))
		return fail(err, n, "TLS is not supported (use redis:// on a trusted network, or "
			    "unix:///PATH)", "rediss://");
	/* Not ours to echo: it may be a password put in the wrong place. */
	snprintf(err, n, "'%.40s%s' is not a redis://HOST:PORT or unix:///PATH URL",
		 strchr(text, '@') ? "..." : text, strlen(text) > 40 ? "..." : "");
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

static void put_hex(char *out, const unsigned char *h, size_t nbytes)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

void shared_model_key(char *out, size_t n, const char *prefix, const char *ident)
{
	unsigned char h[SHA256_DIGEST_LEN];
	char hex[33];
	sha256_digest(ident, strlen(ident), h);
	put_hex(hex, h, 16);
	snprintf(out, n, "%s%s", prefix, hex);
}

void shared_cache_key(char *out, size_t n, const struct cache_key *k)
{
	char hex[65];
	put_hex(hex, k->h, 32);
	snprintf(out, n, "quorum:cache:%s", hex);
}

/* "qc1 IN OUT COST FLEN\n", the finish reason (FLEN bytes), the text. */
char *shared_entry_pack(const char *text, size_t len, const char *finish_reason,
			int64_t input_tokens, int64_t output_tokens, double cost_usd,
			size_t *len_out)
{
	char head[128];
	size_t flen = strnlen(finish_reason ? finish_reason : "", 31);
	int h = snprintf(head, sizeof(head), "qc1 %lld %lld %.17g %zu\n",
			 (long long)input_tokens, (long long)output_tokens, cost_usd, flen);
	size_t total = (size_t)h + flen + len;
	char *out = q_malloc(total + 1);
	if (!out)
		return NULL;
	memcpy(out, head, (size_t)h);
	if (flen)
		memcpy(out + h, finish_reason, flen);
	if (len)
		memcpy(out + h + flen, text, len);
	out[total] = '\0';
	*len_out = total;
	return out;
}

/* The most tokens and dollars one entry may say: an entry another
 * program wrote with more would overflow a run's totals or make its
 * report lie. */
#define ENTRY_MAX_TOKENS 1000000000000LL
#define ENTRY_MAX_USD 1e6

/* The next space-separated field of *p (up to end) as a whole number in
 * [-1, ENTRY_MAX_TOKENS]; moves *p past it and its one space. */
static int entry_tokens(const char **p, const char *end, long long *out)
{
	const char *s = *p, *e = memchr(s, ' ', (size_t)(end - s));
	if (!e)
		e = end;
	long v = 0;
	if (e - s == 2 && s[0] == '-' && s[1] == '1')
		v = -1;
	else if (parse_int(s, (size_t)(e - s), 0, ENTRY_MAX_TOKENS, &v))
		return -1;
	*out = v;
	*p = e < end ? e + 1 : e;
	return 0;
}

int shared_entry_unpack(const char *data, size_t len, struct cache_entry *e)
{
	memset(e, 0, sizeof(*e));
	const char *nl = memchr(data, '\n', len < 128 ? len : 128);
	char head[128];
	if (!nl || copy_part(head, sizeof(head), data, (size_t)(nl - data)))
		return -1;
	/* "qc1 IN OUT COST FLEN", one space apart, nothing else. */
	const char *p = head, *hend = head + strlen(head);
	long long in, out;
	if (strncmp(p, "qc1 ", 4))
		return -1;
	p += 4;
	if (entry_tokens(&p, hend, &in) || entry_tokens(&p, hend, &out))
		return -1;
	const char *sp = memchr(p, ' ', (size_t)(hend - p));
	if (!sp || sp == p || !((*p >= '0' && *p <= '9') || *p == '.'))
		return -1;
	char *cend;
	double cost = strtod(p, &cend);
	long flen;
	if (cend != sp || !isfinite(cost) || cost < 0 || cost > ENTRY_MAX_USD ||
	    parse_int(sp + 1, (size_t)(hend - sp - 1), 0, 31, &flen))
		return -1;
	size_t off = (size_t)(nl - data) + 1;
	if (len - off < (size_t)flen)
		return -1;
	memcpy(e->finish_reason, data + off, (size_t)flen);
	e->finish_reason[flen] = '\0';
	off += (size_t)flen;
	e->len = len - off;
	if (!(e->text = q_malloc(e->len + 1)))
		return -1;
	memcpy(e->text, data + off, e->len);
	e->text[e->len] = '\0';
	e->input_tokens = in;
	e->output_tokens = out;
	e->cost_usd = cost;
	return 0;
}
