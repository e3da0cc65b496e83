#include <string.h>

#include "extract.h"
#include "number.h"
#include "text.h"

/* The comparable form of an answer: two answers vote together exactly
 * when their normalised forms are equal bytes. */

/* Lower-cases ASCII, turns each run of white space (no-break and thin
 * spaces included) into one space and drops "**" bold marks. Other UTF-8
 * bytes pass through: folding their case needs tables we do not carry. */
static int fold_text(const char *s, struct buf *out)
{
	int space = 0;
	size_t len = strlen(s), q;
	for (size_t i = 0; i < len; i++) {
		if (tx_space(s[i])) {
			space = 1;
			continue;
		}
		/* A no-break or thin space: inside a number ("1 000") a
		 * thousands separator and dropped, elsewhere a space. */
		if (s[i] != ',' && (q = num_separator_at(s, len, i)) != 0) {
			int in_number = out->len && tx_digit(out->data[out->len - 1]) &&
					!space && tx_digit(s[i + q]);
			space |= !in_number;
			i += q - 1;
			continue;
		}
		if (s[i] == '*' && s[i + 1] == '*') {
			i++;
			continue;
		}
		if (space && buf_putc(out, ' '))
			return -1;
		space = 0;
		if (buf_putc(out, tx_lower(s[i])))
			return -1;
	}
	/* An empty answer still leaves a valid, empty string. */
	return buf_append(out, "", 0);
}

/* Quotes that may wrap an answer, curly ones as UTF-8. */
static size_t quote_at(const char *p, size_t lo, size_t hi, int at_end)
{
	static const char *const quotes[] = {
		"\xe2\x80\x9c", "\xe2\x80\x9d", "\xe2\x80\x98", "\xe2\x80\x99",
		"\xc2\xab", "\xc2\xbb"};
	for (size_t k = 0; k < sizeof(quotes) / sizeof(quotes[0]); k++) {
		size_t n = strlen(quotes[k]);
		if (hi - lo >= n && memcmp(p + (at_end ? hi - n : lo), quotes[k], n) == 0)
			return n;
	}
	return 0;
}

/* Whether p[lo] opens a bracket that p[hi - 1] closes: "(a)" yes,
 * "(a) and (b)" no. */
static int wrapped(const char *p, size_t lo, size_t hi)
{
	static const char open[] = "([{", close[] = ")]}";
	const char *o = hi - lo >= 2 && p[lo] ? strchr(open, p[lo]) : NULL;
	if (!o || p[hi - 1] != close[o - open])
		return 0;
	size_t depth = 0;
	for (size_t k = lo; k < hi - 1; k++) {
		if (p[k] == *o)
			depth++;
		else if (p[k] == close[o - open] && --depth == 0)
			return 0;
	}
	return 1;
}

/* One round of stripping at the ends; returns whether anything went. */
static int strip_once(const char *p, size_t *lo, size_t *hi)
{
	size_t l = *lo, h = *hi, q;
	tx_trim(p, lo, hi);
	if (*lo < *hi && p[*lo] && strchr("*_`\"'", p[*lo]))
		(*lo)++;
	else if ((q = quote_at(p, *lo, *hi, 0)) != 0)
		*lo += q;
	else if (*lo < *hi && p[*lo] == '#') /* a markdown heading mark */
		while (*lo < *hi && p[*lo] == '#')
			(*lo)++;
	if (*hi > *lo && p[*hi - 1] && strchr("*_`\"'.,;:!?", p[*hi - 1]))
		(*hi)--;
	else if ((q = quote_at(p, *lo, *hi, 1)) != 0)
		*hi -= q;
	if (wrapped(p, *lo, *hi) || (*hi - *lo >= 2 && p[*lo] == '$' && p[*hi - 1] == '$')) {
		(*lo)++; /* (B), [42], LaTeX $42$ */
		(*hi)--;
	}
	return l != *lo || h != *hi;
}

static int put_key(const char *p, size_t n, enum extract_mode mode, struct buf *out)
{
	struct num num;
	if (n > 0 && num_scan(p, n, 0, &num) == n)
		return num_canonical(&num, out);
	if (mode == EX_CHOICE && n == 1 && tx_alpha(p[0]))
		return buf_putc(out, tx_upper(p[0]));
	return buf_append(out, p, n);
}

int answer_normalize(const char *answer, enum extract_mode mode, struct buf *out)
{
	if (!answer)
		return 0;
	struct buf t = BUF_INIT;
	if (fold_text(answer, &t)) {
		buf_release(&t);
		return -1;
	}
	const char *p = buf_str(&t);
	size_t lo = 0, hi = t.len;
	while (strip_once(p, &lo, &hi))
		;
	int rc = put_key(p + lo, hi - lo, mode, out);
	buf_release(&t);
	return rc;
}
