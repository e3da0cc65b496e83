/* The simulated answer to a question the bank does not hold: a placeholder
 * short answer made from the question's key words, and prose around it
 * that says so. */
#include "generic.h"

#include <ctype.h>
#include <string.h>

#include "prompt.h"

#define KEY_WORDS_MAX 4
#define KEY_WORD_BYTES 32   /* longer words are left out of a short answer */
#define EXCERPT_BYTES 80    /* of the question, quoted in the prose */

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* A byte of a word: ASCII letters and digits, and any byte of a UTF-8
 * sequence, so "Zürich" and "東京" are words too. */
static int word_byte(char c)
{
	return isalnum((unsigned char)c) || ((unsigned char)c & 0x80);
}

/* Where the sentence that ends at text[at] begins: after a line break or
 * a ". ", ": ", "! ", "? " before it. */
static size_t sentence_start(const char *text, size_t at)
{
	size_t s = at;
	while (s > 0) {
		char c = text[s - 1];
		if (c == '\n')
			break;
		if ((c == ' ' || c == '\t') && s >= 2 && strchr(".:!?", text[s - 2]))
			break;
		s--;
	}
	while (s < at && blank(text[s]))
		s++;
	return s;
}

void generic_question(const char *text, const char **q, size_t *len)
{
	while (blank(*text))
		text++;
	const char *mark = strchr(text, '?');
	if (mark) {
		size_t s = sentence_start(text, (size_t)(mark - text));
		*q = text + s;
		*len = (size_t)(mark + 1 - *q);
		return;
	}
	const char *e = text;
	while (*e && *e != '\n' && !((*e == '.' || *e == '!') && (blank(e[1]) || !e[1])))
		e++;
	/* From after a label ("Task: ...", "answer this: ...") too. */
	*q = text + sentence_start(text, (size_t)(e - text));
	if (*e == '.' || *e == '!')
		e++;
	if (*q == e)
		*q = text;
	*len = (size_t)(e - *q);
}

/* The next word of s[*at..len): sets *w and returns its length, 0 at the
 * end. */
static size_t next_word(const char *s, size_t len, size_t *at, const char **w)
{
	size_t i = *at;
	while (i < len && !word_byte(s[i]))
		i++;
	size_t b = i;
	while (i < len && word_byte(s[i]))
		i++;
	*at = i;
	*w = s + b;
	return i - b;
}

uint64_t generic_key(const char *q, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *w;
	size_t at = 0, n;
	while ((n = next_word(q, len, &at, &w)) > 0) {
		for (size_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)tolower((unsigned char)w[i])) * 0x100000001b3ULL;
		h = (h ^ ' ') * 0x100000001b3ULL;
	}
	return h;
}

/* Words a question is made of but that say nothing of its subject. */
static const char *const common_words[] = {
	"a", "about", "an", "and", "answer", "are", "as", "at", "be", "been",
	"briefly", "by", "can", "could", "describe", "did", "do", "does",
	"explain", "for", "from", "get", "give", "had", "has", "have", "how",
	"i", "in", "is", "it", "its", "list", "many", "me", "mean", "means",
	"much", "my", "name", "of", "on", "or", "please", "question", "shall",
	"should", "tell", "that", "the", "their", "there", "these", "this",
	"those", "to", "was", "we", "were", "what", "when", "where", "which",
	"who", "whom", "whose", "why", "will", "with", "work", "works",
	"would", "you", "your",
};

static int is_common(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(common_words) / sizeof(*common_words); i++) {
		const char *c = common_words[i];
		if (strlen(c) == n && prompt_find(w, n, c) == w)
			return 1;
	}
	/* A lone letter, as left of "France's" or "U.S.", reads as noise. */
	return n == 1 && isalpha((unsigned char)w[0]);
}

int generic_short(struct buf *out, const char *q, size_t len)
{
	int rc = buf_puts(out, "simulated"), kept = 0;
	const char *w;
	size_t at = 0, n;
	while (kept < KEY_WORDS_MAX && (n = next_word(q, len, &at, &w)) > 0) {
		if (n > KEY_WORD_BYTES || is_common(w, n))
			continue;
		rc |= buf_putc(out, ' ');
		rc |= buf_append(out, w, n);
		kept++;
	}
	if (!kept)
		rc |= buf_puts(out, " answer");
	return rc ? -1 : 0;
}

/* ---- reading prompts and answers ---- */

static int starts_with(const char *p, const char *word)
{
	return !strncmp(p, word, strlen(word));
}

/* An "Answer:" at p that asks for the line: in quotes, or followed by a
 * placeholder. */
static int asks_line(const char *text, const char *p)
{
	char before = p > text ? p[-1] : '\0';
	if (strchr("\"'`", before) && before)
		return 1;
	if (p - text >= 3 && starts_with(p - 3, "\xe2\x80\x9c")) /* a curly quote */
		return 1;
	const char *v = p + strlen("answer:");
	while (*v == ' ' || *v == '\t')
		v++;
	return (*v && strchr("<[{", *v)) || starts_with(v, "...") ||
	       starts_with(v, "\xe2\x80\xa6");
}

int generic_wants_line(const char *text)
{
	size_t len = strlen(text);
	for (const char *p = text; (p = prompt_find(p, len - (size_t)(p - text), "answer:"));
	     p++)
		if (asks_line(text, p))
			return 1;
	return 0;
}

/* The value of the last line "TAG value" in text[0..len) with a value,
 * to the end of its line; NULL when there is none. */
static const char *last_value(const char *text, size_t len, const char *tag,
			      size_t *vlen)
{
	const char *val = NULL, *end = text + len;
	size_t t = strlen(tag);
	for (const char *p = text; (p = prompt_find(p, (size_t)(end - p), tag)); p++) {
		const char *v = p + t, *ve;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		for (ve = v; ve < end && *ve != '\n'; ve++)
			;
		if (ve > v) {
			val = v;
			*vlen = (size_t)(ve - v);
		}
	}
	return val;
}

int generic_says(const char *text, size_t len)
{
	size_t n = 0;
	const char *v = last_value(text, len, "Answer:", &n);
	if (!v)
		v = last_value(text, len, "In short:", &n);
	while (v && n && (v[0] == '*' || v[0] == '"' || blank(v[0])))
		v++, n--;
	if (!v || prompt_find(v, n, "simulated ") != v)
		return -1;
	const char *var = prompt_find(v, n, " variant ");
	return !(var && var + 9 < v + n && isdigit((unsigned char)var[9]));
}

/* ---- the answer ---- */

/* Up to EXCERPT_BYTES of q[0..len), cut on a UTF-8 boundary. */
static size_t excerpt_len(const char *q, size_t len)
{
	size_t n = len < EXCERPT_BYTES ? len : EXCERPT_BYTES;
	while (n && n < len && ((unsigned char)q[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* The wordings; each quotes the question (%s twice: the model, then the
 * excerpt) in its own way. */
static const char *const openings[] = {
	"%s has no real knowledge of this, so here is a simulated answer to "
	"\"%s\", made up from the question's key words.",
	"This is a simulated answer from %s to \"%s\": the simulator has no "
	"bank entry for the question, so it stands in for the real answer "
	"with a placeholder.",
	"Speaking as %s, a simulated model: the answer to \"%s\" cannot be "
	"looked up here, so this one is a placeholder built from the question.",
};

int generic_answer(struct buf *out, const struct generic *g)
{
	struct buf quote = BUF_INIT, sh = BUF_INIT;
	size_t ex = excerpt_len(g->q, g->q_len);
	int rc = buf_append(&quote, g->q, ex);
	rc |= buf_puts(&quote, ex < g->q_len ? "..." : "");
	rc |= generic_short(&sh, g->q, g->q_len);
	if (g->variant)
		rc |= buf_printf(&sh, " variant %d", g->variant);
	size_t k = (size_t)(g->phrase * (double)(sizeof(openings) / sizeof(*openings)));
	if (k >= sizeof(openings) / sizeof(*openings))
		k = 0;
	if (!rc) {
		rc |= buf_printf(out, openings[k], g->model, buf_str(&quote));
		rc |= buf_printf(out, " In short: %s.", buf_str(&sh));
		if (g->line)
			rc |= buf_printf(out, "\n\nAnswer: %s", buf_str(&sh));
	}
	buf_release(&quote);
	buf_release(&sh);
	return rc ? -1 : 0;
}
