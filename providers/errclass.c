/* The normalised outcome of a call: error classes, what HTTP statuses and
 * Retry-After headers mean, and the lifecycle of results and requests. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/alloc.h"
#include "provider.h"

static const char *const class_names[] = {
	[ERR_NONE] = "none",
	[ERR_AUTH] = "auth",
	[ERR_BAD_REQUEST] = "bad_request",
	[ERR_NOT_FOUND] = "not_found",
	[ERR_RATE_LIMITED] = "rate_limited",
	[ERR_QUOTA] = "quota",
	[ERR_OVERLOADED] = "overloaded",
	[ERR_SERVER] = "server",
	[ERR_TIMEOUT] = "timeout",
	[ERR_CONNECTION] = "connection",
	[ERR_TRUNCATED] = "truncated",
	[ERR_MALFORMED] = "malformed",
	[ERR_CONTENT_FILTER] = "content_filter",
	[ERR_TOO_LARGE] = "too_large",
	[ERR_BUDGET] = "budget",
	[ERR_CANCELLED] = "cancelled",
};

const char *err_class_name(enum err_class c)
{
	size_t i = (size_t)c;
	if (i >= sizeof(class_names) / sizeof(class_names[0]) || !class_names[i])
		return "unknown";
	return class_names[i];
}

int err_class_retryable(enum err_class c)
{
	switch (c) {
	case ERR_RATE_LIMITED:
	case ERR_OVERLOADED:
	case ERR_SERVER:
	case ERR_TIMEOUT:
	case ERR_CONNECTION:
	case ERR_TRUNCATED:
		return 1;
	default:
		return 0;
	}
}

enum err_class err_class_from_status(int s)
{
	if (s >= 200 && s < 300)
		return ERR_NONE;
	switch (s) {
	case 0:
		return ERR_CONNECTION;   /* no HTTP response at all */
	case 401:
	case 403:
		return ERR_AUTH;
	case 402:
		return ERR_QUOTA;
	case 404:
	case 410:
		return ERR_NOT_FOUND;
	case 408:
		return ERR_TIMEOUT;
	case 413:
		return ERR_TOO_LARGE;
	case 429:
		return ERR_RATE_LIMITED;
	case 503:
	case 529:                        /* Anthropic's "overloaded" */
		return ERR_OVERLOADED;
	}
	if (s >= 400 && s < 500)
		return ERR_BAD_REQUEST;
	if (s >= 500 && s < 600)
		return ERR_SERVER;
	/* 1xx, an unfollowed 3xx, nonsense: not the API speaking. */
	return ERR_MALFORMED;
}

/* ---- Retry-After (RFC 9110 section 10.2.3) ---- */

static int scan_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int scan_lit(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n))
		return -1;
	*p += n;
	return 0;
}

/* Returns the index of the word from list that *p starts with, or -1. */
static int scan_word(const char **p, const char *const *list, int n)
{
	for (int i = 0; i < n; i++)
		if (!scan_lit(p, list[i]))
			return i;
	return -1;
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const wdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
				    "Sun"};
static const char *const wdays_long[] = {"Monday", "Tuesday", "Wednesday",
					 "Thursday", "Friday", "Saturday",
					 "Sunday"};

static int scan_time(const char **p, int *h, int *m, int *s)
{
	if (scan_digits(p, 2, h) || scan_lit(p, ":") || scan_digits(p, 2, m) ||
	    scan_lit(p, ":") || scan_digits(p, 2, s))
		return -1;
	return (*h > 23 || *m > 59 || *s > 60) ? -1 : 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil), so no timegm and no time zone state. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_of(int64_t unix_s)
{
	int64_t z = (unix_s >= 0 ? unix_s : unix_s - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static int days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return dim[m - 1] + (m == 2 && leap);
}

struct http_date {
	int year, mon, day, h, m, s;
};

/* "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, after the day name). */
static int scan_imf(const char **p, struct http_date *d)
{
	if (scan_lit(p, ", ") || scan_digits(p, 2, &d->day) || scan_lit(p, " ") ||
	    (d->mon = scan_word(p, months, 12) + 1) == 0 || scan_lit(p, " ") ||
	    scan_digits(p, 4, &d->year) || scan_lit(p, " ") ||
	    scan_time(p, &d->h, &d->m, &d->s) || scan_lit(p, " GMT"))
		return -1;
	return 0;
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" (obsolete RFC 850): a year more than
 * 50 years ahead is the most recent past one with those digits. */
static int scan_rfc850(const char **p, struct http_date *d, int64_t now_unix)
{
	int yy;
	if (scan_lit(p, ", ") || scan_digits(p, 2, &d->day) || scan_lit(p, "-") ||
	    (d->mon = scan_word(p, months, 12) + 1) == 0 || scan_lit(p, "-") ||
	    scan_digits(p, 2, &yy) || scan_lit(p, " ") ||
	    scan_time(p, &d->h, &d->m, &d->s) || scan_lit(p, " GMT"))
		return -1;
	int64_t now_year = year_of(now_unix);
	int64_t y = now_year - now_year % 100 + yy;
	if (y > now_year + 50)
		y -= 100;
	else if (y + 100 <= now_year + 50)
		y += 100;
	d->year = (int)y;
	return 0;
}

/* "Sun Nov  6 08:49:37 1994" (obsolete asctime, after the day name). */
static int scan_asctime(const char **p, struct http_date *d)
{
	if (scan_lit(p, " ") || (d->mon = scan_word(p, months, 12) + 1) == 0 ||
	    scan_lit(p, " "))
		return -1;
	if (**p == ' ') {
		(*p)++;
		if (scan_digits(p, 1, &d->day))
			return -1;
	} else if (scan_digits(p, 2, &d->day)) {
		return -1;
	}
	if (scan_lit(p, " ") || scan_time(p, &d->h, &d->m, &d->s) ||
	    scan_lit(p, " ") || scan_digits(p, 4, &d->year))
		return -1;
	return 0;
}

/* Parses the three HTTP-date forms into seconds since the epoch. */
static int http_date_parse(const char **p, int64_t now_unix, int64_t *out)
{
	struct http_date d = {0};
	int rc;
	if (scan_word(p, wdays_long, 7) >= 0)
		rc = scan_rfc850(p, &d, now_unix);
	else if (scan_word(p, wdays, 7) < 0)
		return -1;
	else if (**p == ',')
		rc = scan_imf(p, &d);
	else
		rc = scan_asctime(p, &d);
	if (rc || d.day < 1 || d.day > days_in_month(d.year, d.mon))
		return -1;
	*out = days_from_civil(d.year, d.mon, d.day) * 86400 + d.h * 3600 +
	       d.m * 60 + d.s;
	return 0;
}

/* delta-seconds, with a fraction some servers send ("1.5"); rounds up to
 * the next millisecond so we never come back early. */
static int delta_parse(const char **p, int64_t *ms)
{
	const char *s = *p;
	int64_t secs = 0, frac = 0;
	if (*s < '0' || *s > '9')
		return -1;
	/* Room for secs * 1000 plus a fraction of up to 1000 ms. */
	const int64_t limit = INT64_MAX / 1000 - 1;
	for (; *s >= '0' && *s <= '9'; s++) {
		int d = *s - '0';
		if (secs > (limit - d) / 10)
			return -1;
		secs = secs * 10 + d;
	}
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		int scale = 100, more = 0;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (scale)
				frac += (*s - '0') * scale;
			else if (*s != '0')
				more = 1;
			scale /= 10;
		}
		frac += more;
	}
	*p = s;
	*ms = secs * 1000 + frac;
	return 0;
}

int64_t retry_after_parse(const char *value, int64_t now_unix)
{
	if (!value)
		return -1;
	const char *p = value;
	while (*p == ' ' || *p == '\t')
		p++;
	int64_t ms, when;
	if (*p >= '0' && *p <= '9') {
		if (delta_parse(&p, &ms))
			return -1;
	} else if (!http_date_parse(&p, now_unix, &when)) {
		ms = when > now_unix ? (when - now_unix) * 1000 : 0;
	} else {
		return -1;
	}
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return *p ? -1 : ms;
}

/* ---- results and requests ---- */

void chat_result_init(struct chat_result *r, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, max_bytes);
	buf_init(&r->err_msg, max_bytes);
	r->input_tokens = r->output_tokens = -1;
	r->retry_after_ms = -1;
	r->err = ERR_NONE;
	r->json_depth = 64;
}

void chat_result_release(struct chat_result *r)
{
	buf_release(&r->text);
	buf_release(&r->err_msg);
}

int chat_result_fail(struct chat_result *r, enum err_class c, const char *fmt, ...)
{
	struct buf tmp = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int bad = buf_vprintf(&tmp, fmt, ap);
	va_end(ap);
	r->err = c;
	buf_reset(&r->err_msg);
	if (!bad) {
		size_t n = tmp.len, max = r->err_msg.max;
		if (max && n > max) {
			/* Cut on a character boundary, not inside one. */
			n = max;
			while (n && ((unsigned char)tmp.data[n] & 0xc0) == 0x80)
				n--;
		}
		buf_append(&r->err_msg, tmp.data, n);
	}
	buf_release(&tmp);
	return -1;
}

/* A memset that the compiler may not drop as a dead store before free. */
static void *(*const volatile wipe)(void *, int, size_t) = memset;

void http_req_release(struct http_req *r)
{
	if (r->url.data)
		wipe(r->url.data, 0, r->url.cap);
	buf_release(&r->url);
	buf_release(&r->body);
	for (size_t i = 0; i < r->nheaders && i < HTTP_REQ_MAX_HEADERS; i++) {
		if (r->headers[i]) {
			wipe(r->headers[i], 0, strlen(r->headers[i]));
			q_free(r->headers[i]);
		}
		r->headers[i] = NULL;
	}
	r->nheaders = 0;
}
