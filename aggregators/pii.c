#include "pii.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

/* Hand scanners, not regular expressions: each start position costs a
 * bounded look ahead (an IBAN is at most 34 characters, a card 19 digits,
 * an address part 64 or 255), and starts are word boundaries, so a
 * megabyte of hostile text is a linear pass. Found spans are skipped
 * whole, so the digits of an IBAN are not read again as a card. */

/* ---- checksums ---- */

int luhn_valid(const char *s, size_t len)
{
	unsigned sum = 0, ndig = 0;
	for (size_t i = len; i-- > 0;) {
		if (s[i] == ' ' || s[i] == '-')
			continue;
		if (!tx_digit(s[i]))
			return 0;
		unsigned d = (unsigned)(s[i] - '0');
		if (ndig++ % 2 == 1 && (d *= 2) > 9)
			d -= 9;
		sum += d;
	}
	return ndig >= 2 && sum % 10 == 0;
}

/* IBAN lengths by country, from the SWIFT IBAN registry. */
static const struct {
	char cc[3];
	unsigned char len;
} iban_lengths[] = {
	{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20},
	{"BE", 16}, {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28},
	{"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27},
	{"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
	{"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23},
	{"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
	{"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
	{"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
	{"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19},
	{"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18},
	{"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
	{"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
	{"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23},
	{"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
	{"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

/* The registered length for country a b, or 0 when not in the table. */
static size_t iban_country_len(char a, char b)
{
	a = tx_upper(a);
	b = tx_upper(b);
	for (size_t k = 0; k < sizeof(iban_lengths) / sizeof(iban_lengths[0]); k++)
		if (iban_lengths[k].cc[0] == a && iban_lengths[k].cc[1] == b)
			return iban_lengths[k].len;
	return 0;
}

/* ISO 13616 on compact c[0..n): the first four characters moved to the
 * end, letters as 10..35, the whole number mod 97 must be 1. */
static int iban_check(const char *c, size_t n)
{
	if (n < 15 || n > 34 || !tx_alpha(c[0]) || !tx_alpha(c[1]) || !tx_digit(c[2]) ||
	    !tx_digit(c[3]))
		return 0;
	size_t want = iban_country_len(c[0], c[1]);
	if (want && n != want)
		return 0;
	unsigned rem = 0;
	for (size_t k = 0; k < n; k++) {
		char ch = c[(k + 4) % n];
		if (tx_digit(ch))
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else if (tx_alpha(ch))
			rem = (rem * 100 + (unsigned)(tx_upper(ch) - 'A' + 10)) % 97;
		else
			return 0;
	}
	return rem == 1;
}

int iban_valid(const char *s, size_t len)
{
	char c[35];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ')
			continue;
		if (n == sizeof(c) || !tx_alnum(s[i]) || s[i] == '_')
			return 0;
		c[n++] = s[i];
	}
	return iban_check(c, n);
}

/* ---- IBAN in text ---- */

/* At s[i]: two letters of one case, two digits, then alphanumeric groups
 * split by single spaces. Tries the country's length, or every group end
 * from 15 to 34 characters, and returns the index past the IBAN or 0. */
static size_t iban_at(const char *s, size_t len, size_t i)
{
	if (len - i < 15 || !tx_alpha(s[i]) || !tx_alpha(s[i + 1]) ||
	    (s[i] >= 'a') != (s[i + 1] >= 'a') || !tx_digit(s[i + 2]) || !tx_digit(s[i + 3]))
		return 0;
	char c[35];
	size_t n = 0, want = iban_country_len(s[i], s[i + 1]);
	for (size_t j = i; j < len && n < sizeof(c); j++) {
		if (s[j] == ' ' && n > 0 && j + 1 < len && tx_alnum(s[j + 1]) && s[j + 1] != '_')
			continue;
		if (!tx_alnum(s[j]) || s[j] == '_')
			break;
		c[n++] = s[j];
		int group_end = j + 1 == len || !tx_alnum(s[j + 1]) || s[j + 1] == '_';
		if (group_end && (want ? n == want : n >= 15) && iban_check(c, n))
			return j + 1;
		if (want && n >= want)
			break;
	}
	return 0;
}

/* ---- e-mail ---- */

static int local_char(char c)
{
	return tx_alnum(c) || (c && strchr(".%+-'!#$&*/=?^`{|}~", c));
}

static int domain_char(char c) { return (tx_alnum(c) && c != '_') || c == '-'; }

/* At an '@': a local part before it and a domain with a dot and a
 * letters-only top-level label after it. Returns the index past, or 0. */
static size_t email_at(const char *s, size_t len, size_t at)
{
	size_t b = at;
	while (b > 0 && at - b < 64 && local_char(s[b - 1]))
		b--;
	while (b < at && !tx_alnum(s[b]))
		b++;
	if (b == at)
		return 0;
	size_t j = at + 1, labels = 0, tld_b = 0, tld_e = 0;
	while (j < len && j - at < 255) {
		size_t k = j;
		while (j < len && domain_char(s[j]) && j - k < 63)
			j++;
		if (j == k)
			break;
		labels++;
		tld_b = k;
		tld_e = j;
		if (j + 1 < len && s[j] == '.' && tx_alnum(s[j + 1]))
			j++;
		else
			break;
	}
	if (labels < 2 || tld_e - tld_b < 2)
		return 0;
	for (size_t k = tld_b; k < tld_e; k++)
		if (!tx_alpha(s[k]))
			return 0;
	return tld_e;
}

/* ---- digit groups: phones and cards ---- */

#define MAX_GROUPS 12

struct groups {
	size_t n;                  /* groups */
	size_t len[MAX_GROUPS];    /* digits in each */
	size_t end[MAX_GROUPS];    /* index past each */
	char sep[MAX_GROUPS];      /* the separator after each: ' ', '-', '.', ')' */
	size_t ndig;
	int plus, paren;           /* began with '+'; a group was in brackets */
	size_t paren_len;
};

/* Reads digit groups at s[i]: "+44 20 7946 0958", "(415) 555-2671",
 * "4111-1111-1111-1111". Separators are one space, '-' or '.', or a
 * closing bracket and a space. Stops after max_digits + 1 digits. */
static void groups_read(const char *s, size_t len, size_t i, size_t max_digits,
			struct groups *g)
{
	memset(g, 0, sizeof(*g));
	size_t j = i;
	if (j < len && s[j] == '+') {
		g->plus = 1;
		j++;
	}
	while (j < len && g->n < MAX_GROUPS && g->ndig <= max_digits) {
		int open = s[j] == '(' && !g->paren;
		size_t k = j + (size_t)open;
		while (k < len && tx_digit(s[k]) && g->ndig <= max_digits) {
			k++;
			g->ndig++;
		}
		size_t glen = k - j - (size_t)open;
		if (glen == 0 || (open && (k >= len || s[k] != ')')))
			break;
		if (open) {
			g->paren = 1;
			g->paren_len = glen;
			k++;
		}
		g->len[g->n] = glen;
		g->end[g->n] = k;
		g->sep[g->n] = 0;
		g->n++;
		/* One separator, then a digit or '(' must follow. */
		size_t m = k;
		if (m < len && (s[m] == ' ' || s[m] == '-' || s[m] == '.'))
			m++;
		else if (!open)
			break;
		if (m >= len || !(tx_digit(s[m]) || (s[m] == '(' && !g->paren)))
			break;
		g->sep[g->n - 1] = m > k ? s[k] : ')';
		j = m;
	}
}

/* What may not touch a number on the right: a letter or digit, or a
 * point or comma before more digits ("555-1234.5"). */
static int ends_clean(const char *s, size_t len, size_t e)
{
	if (e >= len)
		return 1;
	if (tx_alnum(s[e]))
		return 0;
	return !(strchr(".,-/", s[e]) && e + 1 < len && tx_digit(s[e + 1]));
}

/* A phone keyword within the 32 bytes before i. */
static int phone_context(const char *s, size_t i)
{
	static const char *const words[] = {"phone", "tel", "mobile", "cell", "call",
					    "fax", "sms", "whatsapp", NULL};
	size_t b = i > 32 ? i - 32 : 0;
	for (size_t k = b; k < i; k++) {
		if (k > 0 && tx_alpha(s[k - 1]))
			continue;
		for (size_t w = 0; words[w]; w++) {
			size_t n = strlen(words[w]), m = 0;
			while (m < n && k + m < i && tx_lower(s[k + m]) == words[w][m])
				m++;
			if (m == n)
				return 1;
		}
	}
	return 0;
}

/* Whether groups 0..n-1 all have separator c (n - 1 separators). */
static int same_sep(const struct groups *g, size_t n, char c)
{
	for (size_t k = 0; k + 1 < n; k++)
		if (g->sep[k] != c)
			return 0;
	return 1;
}

static int nanp_shape(const struct groups *g, const char *s, size_t i)
{
	size_t o = g->n == 4 && g->len[0] == 1 && s[i] == '1';
	if (g->n != 3 + o || g->len[o] != 3 || g->len[o + 1] != 3 || g->len[o + 2] != 4)
		return 0;
	if (g->paren)
		return 1;
	return same_sep(g, g->n, ' ') || same_sep(g, g->n, '-') || same_sep(g, g->n, '.');
}

/* Trunk-0 national numbers: 030 1234567, 020 7946 0958, 06 12 34 56 78. */
static int trunk0_shape(const struct groups *g, const char *s, size_t i)
{
	if (s[i] != '0' || g->n < 2 || g->ndig < 9 || g->ndig > 12 || g->len[0] < 2 ||
	    g->len[0] > 5)
		return 0;
	for (size_t k = 1; k < g->n; k++)
		if (g->len[k] < 2 || g->len[k] > 8)
			return 0;
	return 1;
}

static size_t phone_at(const char *s, size_t len, size_t i)
{
	struct groups g;
	groups_read(s, len, i, 15, &g);
	if (g.n == 0 || g.ndig > 15 || g.ndig < 7 || !ends_clean(s, len, g.end[g.n - 1]))
		return 0;
	size_t d0 = i + (size_t)g.plus + (s[i + (size_t)g.plus] == '(');
	int ok = 0;
	if (g.plus)
		ok = s[d0] != '0';
	else if (s[d0] == '0' && d0 + 1 < len && s[d0 + 1] == '0')
		ok = g.n >= 2 && g.ndig >= 9;
	else if (g.paren)
		ok = g.n >= 2 && g.paren_len >= 2 && g.paren_len <= 5;
	else
		ok = nanp_shape(&g, s, d0) || trunk0_shape(&g, s, d0);
	if (!ok)
		ok = phone_context(s, i);
	return ok ? g.end[g.n - 1] : 0;
}

/* 13-19 digits ending at a group end, groups of 3-8 when split, starting
 * with 2-6. */
static size_t card_at(const char *s, size_t len, size_t i)
{
	if (s[i] < '2' || s[i] > '6')
		return 0;
	struct groups g;
	groups_read(s, len, i, 19, &g);
	size_t ndig = 0;
	for (size_t k = 0; k < g.n; k++) {
		if (g.sep[k] == '.' || g.sep[k] == ')' || (g.n > 1 && (g.len[k] < 3 || g.len[k] > 8)))
			break;
		ndig += g.len[k];
		if (ndig > 19)
			break;
		if (ndig >= 13 && ends_clean(s, len, g.end[k]) && luhn_valid(s + i, g.end[k] - i))
			return g.end[k];
	}
	return 0;
}

/* ---- the scan ---- */

/* Where a number or an IBAN may start: not inside a word or number. A
 * digit after a separator after a digit is inside a group sequence that
 * was read from its start ("3704" in "DE89 3704 ..."): starting again
 * there would find a shorter number in a longer one. */
static int starts_token(const char *s, size_t i)
{
	if (i == 0)
		return 1;
	char p = s[i - 1];
	if (tx_alnum(p))
		return 0;
	if (strchr(".,-/", p) && i >= 2 && tx_digit(s[i - 2]))
		return 0;
	return !(tx_digit(s[i]) && p == ' ' && i >= 2 && tx_digit(s[i - 2]));
}

unsigned pii_scan(const char *text, size_t len)
{
	const unsigned all = PII_EMAIL | PII_PHONE | PII_CARD | PII_IBAN;
	unsigned found = 0;
	for (size_t i = 0; i < len && found != all; i++) {
		char c = text[i];
		size_t e = 0;
		if (c == '@' && (e = email_at(text, len, i))) {
			found |= PII_EMAIL;
		} else if (tx_alpha(c) && starts_token(text, i) && (e = iban_at(text, len, i))) {
			found |= PII_IBAN;
		} else if ((tx_digit(c) || c == '+' || c == '(') && starts_token(text, i)) {
			if (tx_digit(c) && (e = card_at(text, len, i)))
				found |= PII_CARD;
			else if ((e = phone_at(text, len, i)))
				found |= PII_PHONE;
		}
		if (e > i + 1)
			i = e - 1;
	}
	return found;
}

char *pii_kinds(unsigned bits, char *out, size_t n)
{
	static const char *const names[] = {"email", "phone", "card", "iban"};
	size_t used = 0;
	if (n)
		out[0] = '\0';
	for (unsigned k = 0; k < 4 && n; k++) {
		if (!(bits & (1u << k)))
			continue;
		int w = snprintf(out + used, n - used, "%s%s", used ? ", " : "", names[k]);
		if (w < 0 || (size_t)w >= n - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	return out;
}
