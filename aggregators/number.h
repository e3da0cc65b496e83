#ifndef QUORUM_NUMBER_H
#define QUORUM_NUMBER_H
#include <stddef.h>

#include "../common/buf.h"

/* Numbers as models write them (-$1,234.50, 1e-3, 45%, −3, 3/4), shared by
 * extraction and normalisation. Internal to aggregators/. Everything works
 * on the decimal digits as written, never through a double, so 1e400 and
 * a 10,000-digit integer survive intact. */

struct num {
	int neg;
	const char *ip;    /* integer digits as written, thousands commas included */
	size_t il;
	const char *fp;    /* fraction digits, after the point */
	size_t fl;
	long long exp;     /* the written exponent, saturated at +-NUM_EXP_MAX */
	const char *dp;    /* a fraction's denominator digits (3/4), or NULL */
	size_t dl;
};

#define NUM_EXP_MAX 1000000000000000LL

/* Returns the length of the number that starts exactly at s[i] (sign,
 * currency, digits, fraction, exponent, then '%' or a currency sign; or
 * a fraction of integers, 3/4), or 0 when none starts there. Thousands
 * separators are commas or the no-break and thin spaces typeset French
 * uses, in groups of three. Fills n when not NULL. Looks at nothing
 * before s[i]: word boundaries are the caller's business. */
size_t num_scan(const char *s, size_t len, size_t i, struct num *n);

/* Appends the canonical form of n: no sign for zero, no leading or
 * trailing zeros, no separators, plain digits unless that would take more
 * than 30 padding zeros (then 1.5e400); fractions in lowest terms (6/8 ->
 * 3/4, 4/2 -> 2) where both sides fit 18 digits. Returns 0 or -1 (out
 * full). */
int num_canonical(const struct num *n, struct buf *out);

/* Byte length of the thousands separator at s[i] (',', U+00A0, U+202F,
 * U+2009), or 0. */
size_t num_separator_at(const char *s, size_t len, size_t i);

/* Byte length of the currency sign at s[i] ($ EUR GBP JPY INR), or 0. */
size_t num_currency_at(const char *s, size_t len, size_t i);

#endif
