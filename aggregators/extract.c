#include "extract.h"

#include <string.h>

#include "extract_modes.h"
#include "number.h"
#include "text.h"

/* Extraction modes: what a vote compares, found in free model text. The
 * finders return a span of the text, or a letter, and never allocate more
 * than a line; every scan is linear in the text. */

struct span {
	size_t b, e;
};

/* Appends s[sp], trimmed. Returns 1, 0 when nothing is left, -1 (full). */
static int put_span(struct buf *out, const char *s, struct span sp)
{
	tx_trim(s, &sp.b, &sp.e);
	if (sp.b == sp.e)
		return 0;
	return buf_append(out, s + sp.b, sp.e - sp.b) ? -1 : 1;
}

static int ex_last_line(const char *s, size_t len, struct buf *out)
{
	for (size_t e = len;;) {
		size_t b = e;
		while (b > 0 && s[b - 1] != '\n')
			b--;
		size_t before = out->len;
		if (tx_clean_line(s, b, e, out))
			return -1;
		if (out->len > before)
			return 1;
		if (b == 0)
			return 0;
		e = b - 1;
	}
}

/* ---- number ---- */

/* Past a word and what is glued to it ("gpt-4o", "v1.2", "x2"): digits in
 * a name are not an answer. */
static size_t skip_word(const char *s, size_t e, size_t i)
{
	while (i < e && (tx_alnum(s[i]) ||
			 ((s[i] == '.' || s[i] == '-') && i + 1 < e && tx_alnum(s[i + 1]))))
		i++;
	return i;
}

/* A digit, a point, a sign, '$' or the first byte of the UTF-8 currency
 * and minus signs num_scan knows: a cheap test before the real one. */
static int may_start_number(char c)
{
	return tx_digit(c) || (c && strchr(".+-$", c)) || (unsigned char)c == 0xe2 ||
	       (unsigned char)c == 0xc2;
}

/* The last number in s[b..e) that stands on its own. */
static int last_number(const char *s, size_t b, size_t e, struct span *found)
{
	int got = 0;
	for (size_t i = b; i < e;) {
		if (tx_alpha(s[i]) || s[i] == '_') {
			i = skip_word(s, e, i);
			continue;
		}
		/* "5-10" is a range, not -10; "1.2.3" is a version, 12/25/2024
		 * a date. */
		char prev = i > b ? s[i - 1] : ' ';
		size_t n = !may_start_number(s[i]) || tx_alnum(prev) || (prev && strchr(".)/", prev))
				   ? 0 : num_scan(s, e, i, NULL);
		if (n == 0) {
			i++;
			continue;
		}
		size_t end = i + n;
		if (end + 1 < e && (s[end] == '.' || s[end] == '/') && tx_digit(s[end + 1])) {
			for (i = end; i < e && (tx_digit(s[i]) || s[i] == '.' || s[i] == '/');)
				i++;
			continue;
		}
		found->b = i;
		found->e = end;
		got = 1;
		i = end;
	}
	return got;
}

/* A boxed answer is short; the bound keeps a text of a million unclosed
 * "\boxed{" linear. */
#define BOXED_MAX 256

/* The number in the brace group after "\boxed{" at s[i]. */
static int boxed_number(const char *s, size_t len, size_t i, struct span *found)
{
	size_t b = i + strlen("\\boxed{"), e = b;
	if (len - b > BOXED_MAX)
		len = b + BOXED_MAX;
	int depth = 1;
	for (; e < len; e++) {
		if (s[e] == '{')
			depth++;
		else if (s[e] == '}' && --depth == 0)
			break;
	}
	return depth == 0 && last_number(s, b, e, found);
}

/* GSM8K's "#### 42": the marker, then only the number on its line, so a
 * markdown heading "#### Step 2" is not an answer. */
static int hashes_number(const char *s, size_t len, size_t i, struct span *found)
{
	size_t b = i + 4;
	while (b < len && (s[b] == ' ' || s[b] == '*'))
		b++;
	size_t n = num_scan(s, len, b, NULL);
	if (n == 0)
		return 0;
	for (size_t k = b + n; k < len && s[k] != '\n'; k++)
		if (!tx_space(s[k]) && s[k] != '.' && s[k] != '*')
			return 0;
	found->b = b;
	found->e = b + n;
	return 1;
}

/* Math answers mark the final number: \boxed{42}, or "#### 42" as in
 * GSM8K. The last such mark beats the last number in the text. */
static int marked_number(const char *s, size_t len, struct span *found)
{
	int got = 0;
	for (size_t i = 0; (i = tx_find(s, i, len, "\\boxed{")) < len; i++)
		got |= boxed_number(s, len, i, found);
	if (got)
		return 1;
	for (size_t i = 0; (i = tx_find(s, i, len, "####")) < len; i += 4)
		got |= hashes_number(s, len, i, found);
	return got;
}

static int ex_number(const char *s, size_t len, struct buf *out)
{
	struct span sp;
	if (!marked_number(s, len, &sp) && !last_number(s, 0, len, &sp))
		return 0;
	return put_span(out, s, sp);
}

/* ---- regex ---- */

/* Group 1 of the first match (the whole match for a pattern without
 * groups). A pattern that hits the backtracking limit finds nothing. */
static int ex_regex(const struct regex *re, const char *s, size_t len, struct buf *out)
{
	if (!re)
		return 0;
	size_t b = 0, e = 0;
	if (regex_search(re, s, len, regex_groups(re) > 0 ? 1 : 0, &b, &e) != 1)
		return 0;
	return put_span(out, s, (struct span){b, e});
}

int extract_apply(const struct extract_spec *spec, const char *text, struct buf *out)
{
	if (!spec || !text)
		return 0;
	size_t len = strlen(text);
	switch (spec->mode) {
	case EX_WHOLE:
		return put_span(out, text, (struct span){0, len});
	case EX_LAST_LINE:
		return ex_last_line(text, len, out);
	case EX_NUMBER:
		return ex_number(text, len, out);
	case EX_CHOICE:
		return extract_choice(text, len, out);
	case EX_JSON:
		return spec->field ? extract_json(text, len, spec->field, out) : 0;
	case EX_REGEX:
		return ex_regex(spec->re, text, len, out);
	}
	return 0;
}
