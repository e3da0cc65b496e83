#include "label.h"

#include <stdint.h>
#include <string.h>

#include "text.h"

int label_put(struct buf *out, size_t i)
{
	char tmp[16];
	size_t k = sizeof(tmp);
	/* Bijective base 26: A..Z, AA..ZZ, AAA.. */
	do {
		tmp[--k] = (char)('A' + i % 26);
		i = i / 26;
	} while (i-- > 0 && k > 0);
	return buf_append(out, tmp + k, sizeof(tmp) - k);
}

size_t label_width(size_t n)
{
	size_t w = 1;
	for (size_t span = 26, last = n ? n - 1 : 0; last >= span; w++) {
		last -= span;
		if (span > SIZE_MAX / 26)
			break;
		span *= 26;
	}
	return w;
}

/* The position the letters s[b..e) name, any case. */
static size_t letters_value(const char *s, size_t b, size_t e)
{
	size_t v = 0;
	for (size_t k = b; k < e; k++)
		v = v * 26 + (size_t)(tx_upper(s[k]) - 'A') + 1;
	return v - 1;
}

static int word_is(const char *s, size_t len, size_t i, const char *w)
{
	size_t n = strlen(w);
	if (len - i < n)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (tx_lower(s[i + k]) != w[k])
			return 0;
	return i + n == len || !tx_alnum(s[i + n]);
}

/* Past a prefix word and the spaces, '#' and emphasis after it, or i. */
static size_t skip_prefix(const char *s, size_t len, size_t i, int *prefixed)
{
	static const char *const words[] = {"response", "assistant", "candidate",
					    "answer", "option"};
	*prefixed = 0;
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		if (!word_is(s, len, i, words[k]))
			continue;
		size_t j = i + strlen(words[k]);
		size_t sp = j;
		while (j < len && (s[j] == ' ' || s[j] == '#' || s[j] == '*' || s[j] == '_'))
			j++;
		if (j == sp)
			return i;
		*prefixed = 1;
		return j;
	}
	return i;
}

/* Whether what follows a label at s[j] leaves it a whole word: "B." and
 * "2)" are labels, "2.5", "Bob" and "3%" are not. */
static int label_ends(const char *s, size_t len, size_t j)
{
	if (j >= len)
		return 1;
	if (tx_alnum(s[j]) || s[j] == '%' || s[j] == '/')
		return 0;
	if ((s[j] == '.' || s[j] == ',') && j + 1 < len && tx_digit(s[j + 1]))
		return 0;
	return 1;
}

size_t label_ref_at(const char *s, size_t len, size_t i, size_t n, unsigned flags,
		    size_t *pos, int *prefixed)
{
	if (i >= len || (i > 0 && tx_alnum(s[i - 1])))
		return 0;
	size_t j = skip_prefix(s, len, i, prefixed);
	if (!*prefixed && (flags & LREF_NEED_PREFIX))
		return 0;
	size_t e = j;
	if (j < len && tx_digit(s[j])) {
		if (!*prefixed && !(flags & LREF_DIGITS))
			return 0;
		size_t v = 0;
		while (e < len && tx_digit(s[e]) && e - j < 7)
			v = v * 10 + (size_t)(s[e++] - '0');
		if (!label_ends(s, len, e))
			return 0;
		*pos = v ? v - 1 : SIZE_MAX;
		return e;
	}
	while (e < len && tx_alpha(s[e]))
		e++;
	if (e == j || e - j > label_width(n) || !label_ends(s, len, e))
		return 0;
	int lower = 0;
	for (size_t k = j; k < e; k++)
		lower |= s[k] >= 'a' && s[k] <= 'z';
	/* "Response b" is a label, "Response is" is not. */
	if (lower && (!*prefixed || e - j > 1) && !(flags & LREF_LOWER))
		return 0;
	*pos = letters_value(s, j, e);
	return e;
}
