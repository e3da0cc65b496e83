#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"
#include "judge.h"
#include "label.h"
#include "text.h"

/* Reading a judge's reply. Judges are asked for "[[B]]" but answer in
 * every way people do; the forms are tried strongest first, and within a
 * form the last one written wins, because a judge that reasons first says
 * what it concludes at the end ("A is clear, but ... Final verdict:
 * [[C]]"). Every scan is linear in the reply. */

/* The verdict found so far: the strongest tier, the last within it. */
struct hit {
	int tier;      /* 0 none; higher is stronger */
	size_t at;     /* offset in the reply */
	double value;  /* a position, or a score */
};

static void hit_offer(struct hit *h, int tier, size_t at, double value)
{
	if (tier > h->tier || (tier == h->tier && at >= h->at)) {
		h->tier = tier;
		h->at = at;
		h->value = value;
	}
}

enum { T_BARE = 1, T_PHRASE, T_JSON, T_BRACKET };

/* Spaces and markdown emphasis that may sit between the words of a
 * verdict ("**Verdict:** *B*"). */
static size_t skip_noise(const char *s, size_t len, size_t j)
{
	while (j < len && s[j] && strchr(" \t\r\n*_`\"'", s[j]))
		j++;
	return j;
}

static size_t word_in(const char *s, size_t len, size_t i, const char *const *words)
{
	for (size_t k = 0; words[k]; k++)
		if (tx_word_at(s, len, i, words[k]))
			return strlen(words[k]);
	return 0;
}

/* ---- [[B]] ---- */

static void find_brackets(const char *s, size_t len, size_t n, struct hit *h)
{
	for (size_t i = 0; (i = tx_find(s, i, len, "[[")) < len; i += 2) {
		size_t pos;
		int pref;
		size_t j = skip_noise(s, len, i + 2);
		size_t e = label_ref_at(s, len, j, n, LREF_DIGITS | LREF_LOWER, &pos, &pref);
		if (!e)
			continue;
		e = skip_noise(s, len, e);
		if (e < len && s[e] == '.')
			e++;
		if (len - e >= 2 && s[e] == ']' && s[e + 1] == ']')
			hit_offer(h, T_BRACKET, i, (double)pos);
	}
}

/* ---- JSON ---- */

/* Reads a whole string as a label: "B", "Response B", "[[B]]", "2". */
static int string_label(const char *v, size_t n, size_t *pos)
{
	size_t len = strlen(v), b = 0, e = len;
	while (b < e && (tx_space(v[b]) || v[b] == '['))
		b++;
	while (e > b && (tx_space(v[e - 1]) || v[e - 1] == ']' || v[e - 1] == '.'))
		e--;
	int pref;
	size_t end = label_ref_at(v, e, b, n, LREF_DIGITS | LREF_LOWER, pos, &pref);
	return end && end == e;
}

/* A member's value as the position it names, for find_json. */
static int json_label(const cJSON *v, size_t n, double *out)
{
	size_t pos;
	if (cJSON_IsString(v)) {
		if (!string_label(v->valuestring, n, &pos))
			return 0;
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		pos = d >= 1 && d <= 1e9 && d == floor(d) ? (size_t)d - 1 : SIZE_MAX;
	} else {
		return 0;
	}
	*out = (double)pos;
	return 1;
}

/* The member whose name is one of keys, ignoring ASCII case. */
static const cJSON *member_in(const cJSON *obj, const char *const *keys)
{
	const cJSON *c;
	for (size_t k = 0; keys[k]; k++) {
		cJSON_ArrayForEach(c, obj) {
			if (!c->string || strlen(c->string) != strlen(keys[k]))
				continue;
			size_t i = 0;
			while (c->string[i] && tx_lower(c->string[i]) == keys[k][i])
				i++;
			if (!c->string[i])
				return c;
		}
	}
	return NULL;
}

/* Offers the member of keys in each JSON object of the reply, as read
 * (json_label with n positions, or json_score) reads it. */
static void find_json(const char *s, size_t len, const char *const *keys,
		      int (*read)(const cJSON *v, size_t n, double *out), size_t n,
		      struct hit *h)
{
	struct json_scan js;
	json_scan_init(&js, s, len);
	size_t b;
	cJSON *j;
	while ((j = json_scan_next(&js, &b, NULL))) {
		double v;
		if (read(member_in(j, keys), n, &v))
			hit_offer(h, T_JSON, b, v);
		cJSON_Delete(j);
	}
}

static const char *const verdict_keys[] = {
	"best", "choice", "winner", "verdict", "final_verdict", "answer", "selected",
	"selection", "pick", "preferred", "best_response", NULL};

/* ---- phrases ---- */

/* Words that may stand between a keyword and its label. */
static const char *const fillers[] = {
	"is", "be", "would", "will", "goes", "to", "final", "my", "the", "overall",
	"response", "answer", "one", "candidate", "assistant", "option", "choice",
	"here", "clearly", "definitely", "therefore", "thus", "so", "for", "with",
	"i", "think", "pick", "verdict", NULL};

/* The label after a keyword: "verdict: B", "best response is Response B",
 * "choose B". need_link asks for ':', '=' or "is"/"be" first, so "Best
 * practice B..." names nothing. Returns 1 with *pos and *pref set. */
static int label_after(const char *s, size_t len, size_t j, size_t n, unsigned flags,
		       int need_link, size_t *pos, int *pref)
{
	int linked = !need_link;
	for (int words = 0; words < 7; words++) {
		j = skip_noise(s, len, j);
		while (j < len && (s[j] == ':' || s[j] == '=' || s[j] == '-')) {
			linked = 1;
			j = skip_noise(s, len, j + 1);
		}
		if (j < len && (s[j] == '(' || s[j] == '['))
			j++;
		if (label_ref_at(s, len, j, n, flags, pos, pref))
			return linked;
		size_t w = word_in(s, len, j, fillers);
		if (!w)
			return 0;
		linked |= tx_word_at(s, len, j, "is") || tx_word_at(s, len, j, "be");
		j += w;
	}
	return 0;
}

/* "Response B is the best", "C is clearly better", "Response A wins". */
static int label_then_best(const char *s, size_t len, size_t e)
{
	static const char *const best[] = {
		"best", "better", "strongest", "stronger", "superior", "winner",
		"preferable", "preferred", "top", NULL};
	static const char *const links[] = {"is", "was", "stands", "ranks", NULL};
	static const char *const between[] = {
		"is", "was", "stands", "ranks", "out", "as", "clearly", "definitely", "the",
		"by", "far", "overall", "much", "slightly", "significantly", "one", NULL};
	e = skip_noise(s, len, e);
	if (tx_word_at(s, len, e, "wins"))
		return 1;
	int linked = 0;
	for (int words = 0; words < 6; words++) {
		if (linked && word_in(s, len, e, best))
			return 1;
		size_t w = word_in(s, len, e, between);
		if (!w)
			return 0;
		linked |= word_in(s, len, e, links) != 0;
		e = skip_noise(s, len, e + w);
	}
	return 0;
}

static void offer_phrase(struct hit *h, size_t at, size_t pos, int pref, size_t n)
{
	/* An unprefixed number or letter out of range is prose ("the answer
	 * is 42"); "Response E" of three is a verdict, a wrong one. */
	if (pos < n || pref)
		hit_offer(h, T_PHRASE, at, (double)pos);
}

static void phrase_at(const char *s, size_t len, size_t i, size_t n, struct hit *h)
{
	static const char *const nouns[] = {
		"verdict", "choice", "decision", "winner", "selection", "preference",
		"best", "pick", "final", NULL};
	static const char *const verbs[] = {"choose", "chose", "select", "prefer",
					    "pick", "vote for", "go with", "going with",
					    NULL};
	size_t pos, w;
	int pref;
	size_t e = label_ref_at(s, len, i, n, 0, &pos, &pref);
	if (e && label_then_best(s, len, e)) {
		offer_phrase(h, i, pos, pref, n);
		return;
	}
	if ((w = word_in(s, len, i, verbs)) &&
	    label_after(s, len, i + w, n, 0, 0, &pos, &pref)) {
		offer_phrase(h, i, pos, pref, n);
		return;
	}
	/* "Answer: 42" is the question's answer more often than a pick, so
	 * after "answer" only letters and prefixed numbers count. */
	/* "the most accurate is C": the adjective after "most" is free. */
	if (tx_word_at(s, len, i, "most")) {
		size_t j = skip_noise(s, len, i + 4);
		while (j < len && tx_alpha(s[j]))
			j++;
		if (label_after(s, len, j, n, 0, 1, &pos, &pref))
			offer_phrase(h, i, pos, pref, n);
		return;
	}
	unsigned flags = LREF_DIGITS;
	w = word_in(s, len, i, nouns);
	if (!w && tx_word_at(s, len, i, "answer")) {
		w = strlen("answer");
		flags = 0;
	}
	if (w && label_after(s, len, i + w, n, flags, 1, &pos, &pref))
		offer_phrase(h, i, pos, pref, n);
}

static void find_phrases(const char *s, size_t len, size_t n, struct hit *h)
{
	for (size_t i = 0; i < len; i++)
		if (tx_alnum(s[i]) && (i == 0 || !tx_alnum(s[i - 1])))
			phrase_at(s, len, i, n, h);
}

/* ---- a bare label ---- */

/* Whether s[b..e), less markdown, brackets and a full stop, is a label. */
static int bare_label(const char *s, size_t b, size_t e, size_t n, size_t *pos)
{
	while (b < e && (tx_space(s[b]) || strchr("*_`\"'([#>-", s[b])))
		b++;
	while (e > b && (tx_space(s[e - 1]) || strchr("*_`\"')].!", s[e - 1])))
		e--;
	int pref;
	size_t end = b < e ? label_ref_at(s, e, b, n, LREF_DIGITS | LREF_LOWER, pos, &pref) : 0;
	return end && end == e;
}

/* The last non-empty line, then the first, when either is only a label
 * ("B\n\nBecause..."). */
static void find_bare(const char *s, size_t len, size_t n, struct hit *h)
{
	size_t b = 0, e = len, pos;
	tx_trim(s, &b, &e);
	size_t last = e;
	while (last > b && s[last - 1] != '\n')
		last--;
	size_t first = b;
	while (first < e && s[first] != '\n')
		first++;
	if (bare_label(s, last, e, n, &pos))
		hit_offer(h, T_BARE, last, (double)pos);
	else if (bare_label(s, b, first, n, &pos))
		hit_offer(h, T_BARE, b, (double)pos);
}

int judge_parse_verdict(const char *reply, size_t n)
{
	if (!reply || n == 0)
		return -1;
	size_t len = strlen(reply);
	struct hit h = {0, 0, 0};
	find_brackets(reply, len, n, &h);
	if (!h.tier)
		find_json(reply, len, verdict_keys, json_label, n, &h);
	if (!h.tier)
		find_phrases(reply, len, n, &h);
	if (!h.tier)
		find_bare(reply, len, n, &h);
	if (!h.tier || h.value >= (double)n || h.value > (double)INT32_MAX)
		return -1;
	return (int)h.value;
}

/* ---- scores ---- */

/* A number at s[i] that stands on its own: "7", "8.5", not "v7" or
 * "1.2.3". Returns the index past it, or 0. */
static size_t number_at(const char *s, size_t len, size_t i, double *v)
{
	if (i >= len || !tx_digit(s[i]) || (i > 0 && (tx_alnum(s[i - 1]) || s[i - 1] == '.')))
		return 0;
	size_t e = i;
	double x = 0;
	while (e < len && tx_digit(s[e]) && e - i < 4)
		x = x * 10 + (s[e++] - '0');
	if (e < len && tx_digit(s[e]))
		return 0;
	if (e + 1 < len && s[e] == '.' && tx_digit(s[e + 1])) {
		double f = 0.1;
		for (e++; e < len && tx_digit(s[e]); e++, f /= 10)
			x += f * (s[e] - '0');
	}
	if (e < len && (tx_alpha(s[e]) || (s[e] == '.' && e + 1 < len && tx_digit(s[e + 1]))))
		return 0;
	*v = x;
	return e;
}

/* "/10", " / 10", " out of 10", "/100", "/5" after a number: sets *den and
 * returns the index past it, or returns 0 (*den untouched). */
static size_t scale_at(const char *s, size_t len, size_t e, double *den)
{
	size_t j = e;
	while (j < len && s[j] == ' ')
		j++;
	if (j < len && s[j] == '/')
		j++;
	else if (tx_word_at(s, len, j, "out") && len - j > 6 && memcmp(s + j + 3, " of ", 4) == 0)
		j += 7;
	else
		return 0;
	while (j < len && s[j] == ' ')
		j++;
	double d;
	size_t k = number_at(s, len, j, &d);
	if (!k || (d != 5 && d != 10 && d != 100))
		return 0;
	*den = d;
	return k;
}

/* The score written at s[i], on a 0..10 scale: a number and an optional
 * "/10"-like scale. Sets *scaled when a scale was written. */
static size_t score_at(const char *s, size_t len, size_t i, double *v, int *scaled)
{
	double den = 10;
	size_t e = number_at(s, len, i, v);
	if (!e)
		return 0;
	size_t k = scale_at(s, len, e, &den);
	*scaled = k != 0;
	*v = *v * 10 / den;
	return k ? k : e;
}

static void find_score_brackets(const char *s, size_t len, struct hit *h)
{
	for (size_t i = 0; (i = tx_find(s, i, len, "[[")) < len; i += 2) {
		double v;
		int scaled;
		size_t e = score_at(s, len, skip_noise(s, len, i + 2), &v, &scaled);
		if (!e)
			continue;
		e = skip_noise(s, len, e);
		if (len - e >= 2 && s[e] == ']' && s[e + 1] == ']')
			hit_offer(h, T_BRACKET, i, v);
	}
}

/* A member's value as a score, for find_json; n is not used. */
static int json_score(const cJSON *v, size_t n, double *out)
{
	(void)n;
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return 1;
	}
	if (!cJSON_IsString(v))
		return 0;
	const char *t = v->valuestring;
	size_t len = strlen(t), b = 0;
	while (b < len && tx_space(t[b]))
		b++;
	int scaled;
	size_t e = score_at(t, len, b, out, &scaled);
	while (e && e < len && (tx_space(t[e]) || t[e] == '.'))
		e++;
	return e && e == len;
}

static const char *const score_keys[] = {
	"score", "rating", "grade", "overall", "overall_score", "final_score", NULL};

/* "7/10" anywhere; "Score: 8.5", "Rating - 7", "I would rate it 8". */
static void score_phrase_at(const char *s, size_t len, size_t i, struct hit *h)
{
	static const char *const keys[] = {"score", "rating", "rate", "rated", "grade",
					   NULL};
	static const char *const between[] = {
		"is", "of", "i", "would", "give", "it", "this", "that", "response",
		"answer", "a", "an", "final", "overall", "as", "my", "be", "the", NULL};
	double v;
	int scaled;
	if (score_at(s, len, i, &v, &scaled) && scaled) {
		hit_offer(h, T_PHRASE, i, v);
		return;
	}
	size_t w = word_in(s, len, i, keys);
	if (!w)
		return;
	size_t j = i + w;
	for (int words = 0; words < 6; words++) {
		j = skip_noise(s, len, j);
		while (j < len && (s[j] == ':' || s[j] == '=' || s[j] == '-'))
			j = skip_noise(s, len, j + 1);
		if (score_at(s, len, j, &v, &scaled)) {
			hit_offer(h, T_PHRASE, i, v);
			return;
		}
		size_t k = word_in(s, len, j, between);
		if (!k)
			return;
		j += k;
	}
}

double judge_parse_score(const char *reply)
{
	if (!reply)
		return -1;
	size_t len = strlen(reply);
	struct hit h = {0, 0, 0};
	find_score_brackets(reply, len, &h);
	if (!h.tier)
		find_json(reply, len, score_keys, json_score, 0, &h);
	int tier_found = h.tier != 0;
	for (size_t i = 0; !tier_found && i < len; i++)
		if (i == 0 || !tx_alnum(reply[i - 1]))
			score_phrase_at(reply, len, i, &h);
	if (!h.tier) {
		size_t b = 0, e = len;
		while (b < e && (tx_space(reply[b]) || strchr("*_`\"'", reply[b])))
			b++;
		while (e > b && (tx_space(reply[e - 1]) || strchr("*_`\"'.", reply[e - 1])))
			e--;
		double v;
		int scaled;
		if (b < e && score_at(reply, e, b, &v, &scaled) == e)
			hit_offer(&h, T_BARE, b, v);
	}
	if (!h.tier || !(h.value >= 0 && h.value <= 10))
		return -1;
	return h.value;
}
