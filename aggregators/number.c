#include "number.h"

#include <stdlib.h>
#include <string.h>

/* Padding zeros allowed before a number is written in scientific form:
 * 1e30 stays readable digits, 1e400 does not become 400 bytes. */
#define NUM_PLAIN_ZEROS 30

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int has_at(const char *s, size_t len, size_t i, const char *lit)
{
	size_t n = strlen(lit);
	return i <= len && len - i >= n && memcmp(s + i, lit, n) == 0;
}

size_t num_currency_at(const char *s, size_t len, size_t i)
{
	static const char *const signs[] = {"$", "\xe2\x82\xac", "\xc2\xa3",
					    "\xc2\xa5", "\xe2\x82\xb9"};
	for (size_t k = 0; k < sizeof(signs) / sizeof(signs[0]); k++)
		if (has_at(s, len, i, signs[k]))
			return strlen(signs[k]);
	return 0;
}

/* '-', '+' or U+2212 MINUS SIGN, which typeset answers use. */
static size_t sign_at(const char *s, size_t len, size_t i, int *neg)
{
	if (i < len && (s[i] == '-' || s[i] == '+')) {
		*neg = s[i] == '-';
		return 1;
	}
	if (has_at(s, len, i, "\xe2\x88\x92")) {
		*neg = 1;
		return 3;
	}
	return 0;
}

size_t num_separator_at(const char *s, size_t len, size_t i)
{
	static const char *const seps[] = {",", "\xc2\xa0", "\xe2\x80\xaf", "\xe2\x80\x89"};
	for (size_t k = 0; k < sizeof(seps) / sizeof(seps[0]); k++)
		if (has_at(s, len, i, seps[k]))
			return strlen(seps[k]);
	return 0;
}

/* Integer digits with optional thousands separators: one counts only in
 * 1,234 groups (first group 1-3 digits, not "0", then exactly 3), so a
 * list "1,2,3" is three numbers. */
static size_t scan_int(const char *s, size_t len, size_t p)
{
	size_t start = p, q;
	while (p < len && is_digit(s[p]))
		p++;
	size_t first = p - start;
	if (first == 0 || first > 3 || (first == 1 && s[start] == '0'))
		return p;
	while ((q = num_separator_at(s, len, p)) != 0 && len - p - q >= 3 &&
	       is_digit(s[p + q]) && is_digit(s[p + q + 1]) && is_digit(s[p + q + 2]) &&
	       (len - p - q == 3 || !is_digit(s[p + q + 3])))
		p += q + 3;
	return p;
}

/* "/8" after the integer 6 of 6/8; a zero denominator is no fraction. */
static size_t scan_denominator(const char *s, size_t len, size_t p, struct num *n)
{
	if (p + 1 >= len || s[p] != '/' || !is_digit(s[p + 1]))
		return p;
	size_t q = p + 1, nonzero = 0;
	for (; q < len && is_digit(s[q]); q++)
		nonzero |= s[q] != '0';
	if (!nonzero)
		return p;
	n->dp = s + p + 1;
	n->dl = q - p - 1;
	return q;
}

/* e[+-]digits after the mantissa; returns the new position (p when there
 * is no exponent). */
static size_t scan_exp(const char *s, size_t len, size_t p, long long *exp)
{
	*exp = 0;
	if (p >= len || (s[p] != 'e' && s[p] != 'E'))
		return p;
	size_t q = p + 1;
	int neg = 0;
	if (q < len && (s[q] == '+' || s[q] == '-'))
		neg = s[q++] == '-';
	if (q >= len || !is_digit(s[q]))
		return p;
	long long v = 0;
	for (; q < len && is_digit(s[q]); q++)
		if (v < NUM_EXP_MAX)
			v = v * 10 + (s[q] - '0');
	if (v > NUM_EXP_MAX)
		v = NUM_EXP_MAX;
	*exp = neg ? -v : v;
	return q;
}

size_t num_scan(const char *s, size_t len, size_t i, struct num *n)
{
	struct num tmp;
	if (!n)
		n = &tmp;
	memset(n, 0, sizeof(*n));
	size_t p = i;
	size_t sl = sign_at(s, len, p, &n->neg);
	p += sl;
	size_t cur = num_currency_at(s, len, p);
	p += cur;
	if (cur && !sl)
		p += sign_at(s, len, p, &n->neg);
	n->ip = s + p;
	p = scan_int(s, len, p);
	n->il = (size_t)(s + p - n->ip);
	n->fp = s + p;
	if (p + 1 < len && s[p] == '.' && is_digit(s[p + 1])) {
		n->fp = s + ++p;
		while (p < len && is_digit(s[p]))
			p++;
		n->fl = (size_t)(s + p - n->fp);
	}
	if (n->il == 0 && n->fl == 0)
		return 0;
	if (n->fl == 0 && !cur) {
		size_t q = scan_denominator(s, len, p, n);
		if (q != p)
			return q - i;
	}
	p = scan_exp(s, len, p, &n->exp);
	if (p < len && s[p] == '%')
		p++;
	else if (!cur && p < len && s[p] != '$')
		p += num_currency_at(s, len, p);
	return p - i;
}

/* The significant digits of n (thousands commas skipped) into out;
 * *point gets how many digits stood before the decimal point. */
static int num_digits(const struct num *n, struct buf *d, size_t *point)
{
	*point = 0;
	for (size_t k = 0; k < n->il; k++) {
		if (!is_digit(n->ip[k]))
			continue;
		(*point)++;
		if (buf_putc(d, n->ip[k]))
			return -1;
	}
	return buf_append(d, n->fp, n->fl);
}

static int put_zeros(struct buf *out, long long k)
{
	for (; k > 0; k--)
		if (buf_putc(out, '0'))
			return -1;
	return 0;
}

/* A written exponent saturates at NUM_EXP_MAX when scanned, so the one
 * we write does too: the canonical form must read back as itself. */
static long long sat_exp(long long e)
{
	return e > NUM_EXP_MAX ? NUM_EXP_MAX : e < -NUM_EXP_MAX ? -NUM_EXP_MAX : e;
}

/* Writes sig * 10^e, sig being L >= 1 digits without leading or trailing
 * zeros. */
static int put_scaled(struct buf *out, const char *sig, size_t L, long long e)
{
	long long before = (long long)L + e; /* digits before the point */
	int bad;
	if (e >= 0 && e <= NUM_PLAIN_ZEROS)
		bad = buf_append(out, sig, L) || put_zeros(out, e);
	else if (e < 0 && before > 0)
		bad = buf_append(out, sig, (size_t)before) || buf_putc(out, '.') ||
		      buf_append(out, sig + before, L - (size_t)before);
	else if (e < 0 && -before <= NUM_PLAIN_ZEROS)
		bad = buf_puts(out, "0.") || put_zeros(out, -before) ||
		      buf_append(out, sig, L);
	else
		bad = buf_putc(out, sig[0]) ||
		      (L > 1 && (buf_putc(out, '.') || buf_append(out, sig + 1, L - 1))) ||
		      buf_printf(out, "e%lld", sat_exp(before - 1));
	return bad ? -1 : 0;
}

/* The digits of p[0..n) into out, without separators or leading zeros:
 * nothing for zero. */
static int digits_of(const char *p, size_t n, struct buf *out)
{
	for (size_t k = 0; k < n; k++)
		if (is_digit(p[k]) && (out->len > 0 || p[k] != '0') && buf_putc(out, p[k]))
			return -1;
	return 0;
}

static unsigned long long gcd(unsigned long long a, unsigned long long b)
{
	while (b) {
		unsigned long long t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* 6/8 -> 3/4, 4/2 -> 2, -0/5 -> 0; sides past 18 digits stay as written
 * (less leading zeros), which only loses agreement with reduced forms. */
static int fraction_canonical(const struct num *n, struct buf *out)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	int bad = digits_of(n->ip, n->il, &a) || digits_of(n->dp, n->dl, &b);
	if (bad || a.len == 0 || b.len == 0) {
		bad = bad || buf_putc(out, '0');
	} else if (a.len <= 18 && b.len <= 18) {
		unsigned long long x = strtoull(a.data, NULL, 10), y = strtoull(b.data, NULL, 10);
		unsigned long long g = gcd(x, y);
		x /= g;
		y /= g;
		bad = buf_printf(out, "%s%llu", n->neg ? "-" : "", x) ||
		      (y != 1 && buf_printf(out, "/%llu", y));
	} else {
		bad = (n->neg && buf_putc(out, '-')) || buf_append(out, a.data, a.len) ||
		      buf_putc(out, '/') || buf_append(out, b.data, b.len);
	}
	buf_release(&a);
	buf_release(&b);
	return bad ? -1 : 0;
}

int num_canonical(const struct num *n, struct buf *out)
{
	if (n->dp)
		return fraction_canonical(n, out);
	struct buf d = BUF_INIT;
	size_t point;
	if (num_digits(n, &d, &point)) {
		buf_release(&d);
		return -1;
	}
	const char *s = buf_str(&d);
	size_t lo = 0, hi = d.len;
	while (lo < hi && s[lo] == '0')
		lo++;
	while (hi > lo && s[hi - 1] == '0')
		hi--;
	int rc;
	if (lo == hi) {
		rc = buf_putc(out, '0');
	} else {
		long long e = (long long)point - (long long)hi + n->exp;
		rc = (n->neg && buf_putc(out, '-')) || put_scaled(out, s + lo, hi - lo, e);
		rc = rc ? -1 : 0;
	}
	buf_release(&d);
	return rc;
}
