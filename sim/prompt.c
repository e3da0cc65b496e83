#include "prompt.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "decide.h"

static int lower(char c) { return tolower((unsigned char)c); }
static int alnum(char c) { return isalnum((unsigned char)c); }
static int digit(char c) { return isdigit((unsigned char)c); }
static int space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

const char *prompt_find(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (!n || n > len)
		return NULL;
	for (size_t i = 0; i + n <= len; i++) {
		size_t k = 0;
		while (k < n && lower(hay[i + k]) == lower(needle[k]))
			k++;
		if (k == n)
			return hay + i;
	}
	return NULL;
}

static const char *find_z(const char *hay, const char *needle)
{
	return prompt_find(hay, strlen(hay), needle);
}

char *prompt_join(const struct sim_msg *msgs, size_t n)
{
	struct buf b = BUF_INIT;
	int rc = buf_puts(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rc |= buf_puts(&b, "\n\n");
		rc |= buf_puts(&b, msgs[i].content ? msgs[i].content : "");
	}
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return b.data;
}

/* The phrases each request is known by; the first kind with one wins,
 * which is why the narrower kinds come first (a rating request is also
 * an "impartial judge"). */
static const struct {
	enum prompt_kind kind;
	const char *phrases[5];
} kinds[] = {
	{PK_PLAN, {"\"subtasks\"", NULL}},
	{PK_RATING, {"Rating: [[", "[[rating]]", NULL}},
	{PK_RANK, {"FINAL RANKING", NULL}},
	{PK_JUDGE, {"[[A]]", "final verdict", "impartial judge", NULL}},
	{PK_SELF_CHECK, {"correct or incorrect", "is the following answer correct",
			 NULL}},
};

enum prompt_kind prompt_kind_of(const char *joined)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		for (size_t k = 0; kinds[i].phrases[k]; k++)
			if (find_z(joined, kinds[i].phrases[k]))
				return kinds[i].kind;
	return PK_NONE;
}

/* ---- sections ---- */

static int starts_ci(const char *p, const char *e, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(e - p) >= n && prompt_find(p, n, word) == p;
}

static const char *skip_blank(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/* Past "Response " (or Assistant, Candidate) at p, or NULL. */
static const char *after_word(const char *p, const char *e)
{
	static const char *const words[] = {"response ", "assistant ", "candidate "};
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (starts_ci(p, e, words[i]))
			return skip_blank(p + strlen(words[i]), e);
	return NULL;
}

/* The header on the line [p, e), if it is one: returns its label and sets
 * *body to where the text starts (NULL: on the next line); else 0. */
static char header_at(const char *p, const char *e, const char **body)
{
	p = skip_blank(p, e);
	int bracket = starts_ci(p, e, "[the start of ");
	if (bracket)
		p += 14;
	while (!bracket && p < e && strchr("#*_>[(- \t", *p))
		p++;
	p = after_word(p, e);
	if (!p || p >= e || *p < 'A' || *p > 'Z' || (p + 1 < e && alnum(p[1])))
		return 0;
	char label = *p++;
	*body = NULL;
	if (bracket) {
		/* "[The Start of Assistant A's Answer]": anything to the ']'. */
		const char *close = memchr(p, ']', (size_t)(e - p));
		return close && skip_blank(close + 1, e) == e ? label : 0;
	}
	while (p < e && (*p == '*' || *p == '_'))
		p++;
	if (p < e && *p == ':') {
		const char *t = skip_blank(p + 1, e);
		*body = t < e ? t : NULL;
		return label;
	}
	while (p < e && strchr("*_])>.: \t\r", *p))
		p++;
	return p == e ? label : 0;
}

/* Whether the line [p, e) ends the section before it without starting
 * another: an end marker or the instructions after the responses. */
static int closer_at(const char *p, const char *e)
{
	static const char *const closers[] = {
		"[the end of", "your task:", "judge the responses on", "final ranking",
	};
	p = skip_blank(p, e);
	for (size_t i = 0; i < sizeof(closers) / sizeof(*closers); i++)
		if (starts_ci(p, e, closers[i]))
			return 1;
	return 0;
}

static const char *line_end(const char *p)
{
	const char *nl = strchr(p, '\n');
	return nl ? nl : p + strlen(p);
}

static void section_close(struct section *s, const char *end)
{
	if (!s)
		return;
	if (end < s->text)
		end = s->text;
	while (end > s->text && space(end[-1]))
		end--;
	s->len = (size_t)(end - s->text);
}

static int by_label(const void *a, const void *b)
{
	return ((const struct section *)a)->label - ((const struct section *)b)->label;
}

size_t prompt_sections(const char *text, struct section *out)
{
	unsigned seen = 0;
	size_t n = 0;
	struct section *open = NULL;
	for (const char *p = text; *p;) {
		const char *e = line_end(p), *body;
		char label = header_at(p, e, &body);
		if (label || closer_at(p, e)) {
			section_close(open, p);
			open = NULL;
		}
		if (label && !(seen & (1u << (label - 'A')))) {
			seen |= 1u << (label - 'A');
			open = &out[n++];
			open->label = label;
			open->text = body ? body : (*e ? e + 1 : e);
		}
		p = *e ? e + 1 : e;
	}
	section_close(open, text + strlen(text));
	qsort(out, n, sizeof(*out), by_label);
	return n;
}

/* ---- answers ---- */

/* Whether needle occurs in hay[0..len) as a whole word, any case: not
 * inside a longer word or number ("12" in "12.5", "5" in "2.5"). */
static int has_word(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay, *end = hay + len;
	     (p = prompt_find(p, (size_t)(end - p), needle)); p++) {
		size_t i = (size_t)(p - hay), j = i + n;
		int before = i == 0 || (!alnum(hay[i - 1]) &&
					!((hay[i - 1] == '.' || hay[i - 1] == ',') &&
					  i >= 2 && digit(hay[i - 2]) && digit(needle[0])));
		int after = j == len || (!alnum(hay[j]) &&
					 !((hay[j] == '.' || hay[j] == ',') && j + 1 < len &&
					   digit(hay[j + 1])));
		if (before && after)
			return 1;
	}
	return 0;
}

int prompt_says(const char *text, size_t len, const char *short_answer)
{
	static const char tag[] = "Answer:";
	const char *val = NULL, *val_end = NULL;
	for (const char *p = text, *end = text + len;
	     (p = memchr(p, 'A', (size_t)(end - p))); p++) {
		if ((size_t)(end - p) < sizeof(tag) - 1 || memcmp(p, tag, sizeof(tag) - 1))
			continue;
		const char *v = p + sizeof(tag) - 1, *ve = v;
		while (ve < end && *ve != '\n')
			ve++;
		if (skip_blank(v, ve) < ve) {
			val = v;
			val_end = ve;
		}
	}
	if (val)
		return has_word(val, (size_t)(val_end - val), short_answer);
	return has_word(text, len, short_answer);
}

/* The text after the last line that is only "Answer:", up to "Check the
 * answer" when that follows. */
static int selfcheck_block(const char *s, const char **text, size_t *len)
{
	const char *found = NULL;
	for (const char *p = s; *p;) {
		const char *e = line_end(p), *q = skip_blank(p, e);
		if (starts_ci(q, e, "answer:") && skip_blank(q + 7, e) == e)
			found = *e ? e + 1 : e;
		p = *e ? e + 1 : e;
	}
	if (!found)
		return -1;
	const char *end = find_z(found, "\n\nCheck the answer");
	*text = found;
	*len = end ? (size_t)(end - found) : strlen(found);
	return 0;
}

/* Between "[The Start of Assistant's Answer]" and "[The End of". */
static int rated_block(const char *s, const char **text, size_t *len)
{
	const char *b = find_z(s, "[The Start of Assistant");
	if (!b)
		return -1;
	b = line_end(b);
	b = *b ? b + 1 : b;
	const char *end = find_z(b, "[The End of");
	*text = b;
	*len = end ? (size_t)(end - b) : strlen(b);
	return 0;
}

void prompt_answer(const char *joined, enum prompt_kind kind, const char **text,
		   size_t *len)
{
	int rc = kind == PK_SELF_CHECK ? selfcheck_block(joined, text, len)
		 : kind == PK_RATING   ? rated_block(joined, text, len)
				       : -1;
	if (rc) {
		*text = joined;
		*len = strlen(joined);
	}
}

void prompt_task(const struct sim_msg *msgs, size_t n, const char **text,
		 size_t *len)
{
	const char *u = "";
	for (size_t i = n; i-- > 0;) {
		if (msgs[i].role && !strcmp(msgs[i].role, "user") && msgs[i].content) {
			u = msgs[i].content;
			break;
		}
	}
	const char *b = u;
	while (space(*b))
		b++;
	if (starts_ci(b, b + strlen(b), "task:"))
		b += 5;
	while (space(*b))
		b++;
	const char *end = b + strlen(b);
	static const char *const tails[] = {"\n\nYour previous plan:",
					    "\n\nThat plan was refused"};
	for (size_t i = 0; i < sizeof(tails) / sizeof(*tails); i++) {
		const char *t = find_z(b, tails[i]);
		if (t && t < end)
			end = t;
	}
	while (end > b && space(end[-1]))
		end--;
	*text = b;
	*len = (size_t)(end - b);
}

size_t prompt_max_subtasks(const char *joined)
{
	for (const char *p = joined; (p = find_z(p, "at most ")); p++) {
		const char *q = p + 8;
		if (!digit(*q))
			continue;
		size_t v = 0;
		while (digit(*q) && v < 100000)
			v = v * 10 + (size_t)(*q++ - '0');
		while (*q == ' ')
			q++;
		if (starts_ci(q, q + strlen(q), "subtask"))
			return v;
	}
	return 0;
}
