#include "text.h"

#include <string.h>

void tx_trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && tx_space(s[*b]))
		(*b)++;
	while (*e > *b && tx_space(s[*e - 1]))
		(*e)--;
}

size_t tx_find(const char *s, size_t from, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (n == 0 || len < n)
		return len;
	for (size_t i = from; i <= len - n; i++)
		if (s[i] == lit[0] && memcmp(s + i, lit, n) == 0)
			return i;
	return len;
}

int tx_word_at(const char *s, size_t len, size_t i, const char *w)
{
	size_t n = strlen(w);
	if (len - i < n || (i > 0 && tx_alpha(s[i - 1])))
		return 0;
	for (size_t k = 0; k < n; k++)
		if (tx_lower(s[i + k]) != w[k])
			return 0;
	return i + n == len || !tx_alpha(s[i + n]);
}

/* A markdown fence or horizontal rule: only ` - = * _ ~ and spaces. */
static int is_rule(const char *s, size_t b, size_t e)
{
	size_t marks = 0;
	for (size_t k = b; k < e; k++) {
		if (s[k] && strchr("`-=*_~", s[k]))
			marks++;
		else if (!tx_space(s[k]))
			return 0;
	}
	return marks >= 3;
}

/* Heading marks, quote marks and list bullets at the start of a line. */
static size_t skip_line_marks(const char *s, size_t b, size_t e)
{
	for (;;) {
		size_t k = b;
		while (k < e && s[k] == '#')
			k++;
		if (k > b && (k == e || tx_space(s[k])))
			b = k;
		else if (b < e && s[b] == '>')
			b++;
		else if (b + 1 < e && s[b] && strchr("-*+", s[b]) && s[b + 1] == ' ')
			b += 2;
		else
			return b;
		while (b < e && tx_space(s[b]))
			b++;
	}
}

/* Narrows p[*lo..*hi) past spaces and emphasis marks at the ends; '_' only
 * when it wraps both ends, so snake_case words keep theirs. */
static void strip_marks(const char *p, size_t *lo, size_t *hi)
{
	for (;;) {
		size_t l = *lo, h = *hi;
		tx_trim(p, lo, hi);
		while (*lo < *hi && (p[*lo] == '*' || p[*lo] == '`'))
			(*lo)++;
		while (*hi > *lo && (p[*hi - 1] == '*' || p[*hi - 1] == '`'))
			(*hi)--;
		if (*hi - *lo >= 2 && p[*lo] == '_' && p[*hi - 1] == '_') {
			(*lo)++;
			(*hi)--;
		}
		if (l == *lo && h == *hi)
			return;
	}
}

int tx_clean_line(const char *s, size_t b, size_t e, struct buf *out)
{
	tx_trim(s, &b, &e);
	if (is_rule(s, b, e))
		return 0;
	b = skip_line_marks(s, b, e);
	size_t start = out->len;
	for (size_t k = b; k < e; k++) {
		if (s[k] == '*' && k + 1 < e && s[k + 1] == '*') {
			k++;
			continue;
		}
		if (buf_putc(out, s[k]))
			return -1;
	}
	if (out->len == start)
		return 0;
	char *p = out->data + start;
	size_t lo = 0, hi = out->len - start;
	strip_marks(p, &lo, &hi);
	memmove(p, p + lo, hi - lo);
	out->len = start + (hi - lo);
	out->data[out->len] = '\0';
	return 0;
}
