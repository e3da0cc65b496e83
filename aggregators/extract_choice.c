#include <string.h>

#include "extract_modes.h"
#include "text.h"

/* choice: the option letter A-E a model picked. Models name it in many
 * ways ("Answer: B", "the answer is (c)", "\boxed{D}", "B is correct",
 * a last line "**E**"); explicit phrases beat bare letters, and a text
 * that only lists the options names none. */

static int is_choice(char c)
{
	c = tx_upper(c);
	return c >= 'A' && c <= 'E';
}

/* Whether s[k] is an option letter: alone, not the start of a word.
 * Lower-case a..e are English words too ("the answer is a bit"), so they
 * count only in brackets or where they end the phrase. */
static int letter_ok(const char *s, size_t len, size_t k, int bracketed)
{
	if (k >= len || !is_choice(s[k]))
		return 0;
	char next = k + 1 < len ? s[k + 1] : '\0';
	if (bracketed)
		return next == ')' || next == ']' || next == '}';
	if (tx_alnum(next))
		return 0;
	if (s[k] >= 'A' && s[k] <= 'E')
		return 1;
	return next == '\0' || strchr(".):,*`\"'\n\r", next) != NULL;
}

static int is_filler(const char *s, size_t len, size_t w)
{
	static const char *const words[] = {
		"is", "be", "would", "should", "will", "must", "then", "option",
		"choice", "letter", "the", "correct", "right", "final", "therefore",
		"thus", "so", "most", "likely", "probably", "here"};
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (tx_word_at(s, len, w, words[k]))
			return 1;
	return 0;
}

/* After a keyword ("answer", "option"): the letter in "answer is (B)",
 * "answer: **B**", "option would be C". need_link asks for a ':' or "is"
 * first, so "Option A is wrong" names no answer. */
static int choice_after(const char *s, size_t len, size_t j, int need_link, char *letter)
{
	int linked = !need_link, words = 0;
	for (;;) {
		while (j < len && s[j] && strchr(" \t\r\n*_`\"':=-", s[j])) {
			linked |= s[j] == ':' || s[j] == '=';
			j++;
		}
		int br = j < len && (s[j] == '(' || s[j] == '[');
		if (br || (j < len && tx_alpha(s[j]) && (j + 1 == len || !tx_alpha(s[j + 1])))) {
			if (!linked || !letter_ok(s, len, j + (size_t)br, br))
				return 0;
			*letter = s[j + (size_t)br];
			return 1;
		}
		if (j >= len || !is_filler(s, len, j) || ++words > 4)
			return 0;
		linked |= tx_word_at(s, len, j, "is") || tx_word_at(s, len, j, "be");
		while (j < len && tx_alpha(s[j]))
			j++;
	}
}

/* "\boxed{B}", "\boxed{\text{B}}", "\boxed{\textbf{(C)}}". */
static int choice_boxed(const char *s, size_t len, size_t i, char *letter)
{
	size_t j = i + strlen("\\boxed{");
	while (j < len && s[j] == '\\') {
		size_t k = j + 1;
		while (k < len && tx_alpha(s[k]))
			k++;
		if (k >= len || s[k] != '{')
			return 0;
		j = k + 1;
	}
	int br = j < len && s[j] == '(';
	if (!letter_ok(s, len, j + (size_t)br, 1))
		return 0;
	*letter = s[j + (size_t)br];
	return 1;
}

/* A verdict after the letter: "B is correct", "(c) is the right answer". */
static int choice_verdict(const char *s, size_t len, size_t i, char *letter)
{
	int br = s[i] == '(';
	size_t k = i + (size_t)br;
	if (k >= len || !is_choice(s[k]) || (!br && !(s[k] >= 'A' && s[k] <= 'E')) ||
	    (br ? k + 1 >= len || s[k + 1] != ')' : k + 1 < len && tx_alnum(s[k + 1])))
		return 0;
	size_t j = k + 1 + (size_t)br;
	while (j < len && (s[j] == ' ' || s[j] == '*'))
		j++;
	if (!tx_word_at(s, len, j, "is"))
		return 0;
	for (j += 2; j < len && s[j] == ' '; j++)
		;
	if (tx_word_at(s, len, j, "the"))
		for (j += 3; j < len && s[j] == ' '; j++)
			;
	if (!tx_word_at(s, len, j, "correct") && !tx_word_at(s, len, j, "right") &&
	    !tx_word_at(s, len, j, "answer") && !tx_word_at(s, len, j, "best"))
		return 0;
	*letter = s[k];
	return 1;
}

/* Phrases that name the answer, weakest kind first. */
enum { CH_OPTION, CH_VERB, CH_VERDICT, CH_BOXED, CH_ANSWER, CH__N };

static const struct {
	const char *word;
	int kind;
	int need_link;  /* "option A is wrong" names no answer; "option: A" does */
} choice_keys[] = {
	{"answer", CH_ANSWER, 0}, {"choose", CH_VERB, 0},   {"chose", CH_VERB, 0},
	{"pick", CH_VERB, 0},     {"select", CH_VERB, 0},   {"go with", CH_VERB, 0},
	{"option", CH_OPTION, 1}, {"choice", CH_OPTION, 1},
};

/* The letter that a keyword at s[i] introduces, with its kind. */
static int choice_at(const char *s, size_t len, size_t i, char *letter)
{
	if (s[i] == '\\')
		return len - i >= 7 && memcmp(s + i, "\\boxed{", 7) == 0 &&
			       choice_boxed(s, len, i, letter)
			   ? CH_BOXED : -1;
	if (choice_verdict(s, len, i, letter))
		return CH_VERDICT;
	for (size_t k = 0; k < sizeof(choice_keys) / sizeof(choice_keys[0]); k++)
		if (tx_word_at(s, len, i, choice_keys[k].word))
			return choice_after(s, len, i + strlen(choice_keys[k].word),
					    choice_keys[k].need_link, letter)
				   ? choice_keys[k].kind : -1;
	return -1;
}

/* The last explicit answer of the strongest kind found: "the answer is
 * D" beats "\boxed{C}" beats "B is correct" and "I choose B" beat
 * "option: A". */
static int choice_explicit(const char *s, size_t len, char *letter)
{
	char found[CH__N] = {0}, c;
	for (size_t i = 0; i < len; i++) {
		if ((i > 0 && tx_alpha(s[i - 1])) ||
		    !(tx_alpha(s[i]) || s[i] == '\\' || s[i] == '('))
			continue;
		int kind = choice_at(s, len, i, &c);
		if (kind >= 0)
			found[kind] = c;
	}
	for (int k = CH__N - 1; k >= 0; k--)
		if (found[k]) {
			*letter = found[k];
			return 1;
		}
	return 0;
}

/* A cleaned line that is only a letter: "B", "(c)", "B.", "[D]", "E:",
 * "Option B". */
static int choice_bare(const char *t, size_t n, char *letter)
{
	if (tx_word_at(t, n, 0, "option") || tx_word_at(t, n, 0, "choice")) {
		size_t w = 6;
		while (w < n && t[w] == ' ')
			w++;
		if (w == 6)
			return 0;
		t += w;
		n -= w;
	}
	size_t k = n > 0 && (t[0] == '(' || t[0] == '[');
	if (k >= n || !is_choice(t[k]))
		return 0;
	size_t rest = n - k - 1;
	const char *r = t + k + 1;
	int ok = k ? rest == 1 && (*r == ')' || *r == ']')
		   : rest == 0 || (rest == 1 && *r && strchr(".):]", *r));
	if (ok)
		*letter = t[k];
	return ok;
}

/* A cleaned line that starts with a label and goes on: "B) Paris",
 * "(c) 42", "D. none of the above". */
static int choice_labelled(const char *t, size_t n, char *letter)
{
	size_t k = n > 0 && t[0] == '(';
	if (k + 2 >= n || !is_choice(t[k]) || t[k + 2] != ' ')
		return 0;
	char mark = t[k + 1];
	int upper = t[k] >= 'A' && t[k] <= 'E';
	if (!(mark == ')' || (!k && upper && (mark == '.' || mark == ':'))))
		return 0;
	*letter = t[k];
	return 1;
}

/* Lines, last first: the last line that is only a letter; failing that,
 * the one labelled line ("B) Paris") when there is exactly one, since a
 * model that lists every option names no answer by doing so. */
static int choice_lines(const char *s, size_t len, char *letter)
{
	struct buf t = BUF_INIT;
	char labelled = 0, c;
	size_t nlabelled = 0;
	int rc = 0;
	for (size_t e = len;;) {
		size_t b = e;
		while (b > 0 && s[b - 1] != '\n')
			b--;
		buf_reset(&t);
		if (tx_clean_line(s, b, e, &t)) {
			rc = -1;
			break;
		}
		if (choice_bare(buf_str(&t), t.len, &c)) {
			*letter = c;
			break;
		}
		if (choice_labelled(buf_str(&t), t.len, &c)) {
			labelled = c;
			nlabelled++;
		}
		if (b == 0) {
			if (nlabelled == 1)
				*letter = labelled;
			break;
		}
		e = b - 1;
	}
	buf_release(&t);
	return rc;
}

int extract_choice(const char *s, size_t len, struct buf *out)
{
	char letter = 0;
	if (!choice_explicit(s, len, &letter) && choice_lines(s, len, &letter))
		return -1;
	if (!letter)
		return 0;
	return buf_putc(out, letter) ? -1 : 1;
}
