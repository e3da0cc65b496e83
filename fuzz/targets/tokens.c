/* quorum serve's bearer-token file reader (server/tokens.c) and the
 * check every request's Authorization header goes through. The file has
 * as many tokens as lines that hold something other than blanks and do
 * not start with '#'; each is accepted as "Bearer TOKEN" (any case, any
 * spaces after), nothing else is, and an empty token never is.
 *
 * Input: byte 0 steers out-of-memory: with its high bit set, the Nth
 * allocation of the parse fails (N its low 7 bits, plus one); the rest is
 * the file, as is (not NUL-terminated). */
#include "../../server/tokens.h"
#include "../fuzz.h"

struct span {
	const uint8_t *p;
	size_t n;
};

/* The tokens as the file format says, found here by another way: each
 * line cut at '\n', its blanks trimmed. Returns how many; the first max
 * into out. */
static size_t expect_tokens(const uint8_t *s, size_t n, struct span *out, size_t max)
{
	size_t count = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		size_t a = start, b = i;
		start = i + 1;
		while (a < b && (s[a] == ' ' || s[a] == '\t'))
			a++;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
			b--;
		if (a == b || s[a] == '#')
			continue;
		if (count < max)
			out[count] = (struct span){s + a, b - a};
		count++;
	}
	return count;
}

/* Whether "Bearer " and tok (tok_n bytes) and, when extra, one more byte
 * is accepted; the header is built NUL-terminated, as MHD hands it. */
static int check(const struct tokens *t, const char *prefix, const uint8_t *tok, size_t tok_n,
		 int extra)
{
	size_t pn = strlen(prefix);
	char *h = q_malloc(pn + tok_n + 2);
	if (!h)
		return -1;
	memcpy(h, prefix, pn);
	if (tok_n)
		memcpy(h + pn, tok, tok_n);
	if (extra)
		h[pn + tok_n++] = 'x';
	h[pn + tok_n] = '\0';
	int ok = tokens_check(t, h);
	q_free(h);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned steer = fuzz_byte(&in);
	if (steer & 0x80)
		q_alloc_fail_after((long)(steer & 0x7f) + 1);
	const char *why = NULL;
	struct tokens *t = tokens_parse((const char *)in.p, in.n, &why);
	q_alloc_fail_after(0);
	struct span want[16];
	size_t n = expect_tokens(in.p, in.n, want, 16);
	int has_nul = in.n && memchr(in.p, '\0', in.n) != NULL;
	if (!t) {
		fuzz_check(why && *why, "no token list and no reason");
		fuzz_check(!n || has_nul || (steer & 0x80), "%zu tokens refused: %s", n, why);
		return 0;
	}
	fuzz_check(!has_nul, "a file with a NUL byte read as tokens");
	fuzz_check(tokens_count(t) == n, "%zu tokens, the file has %zu", tokens_count(t), n);
	fuzz_check(!tokens_check(t, NULL) && !tokens_check(t, "") &&
		   !tokens_check(t, "Bearer ") && !tokens_check(t, "Bearer    ") &&
		   !tokens_check(t, "bearer"), "an empty token accepted");
	for (size_t i = 0; i < n && i < 16; i++) {
		/* A token starting with a blank cannot be: the line was trimmed. */
		int ok = check(t, "Bearer ", want[i].p, want[i].n, 0);
		fuzz_check(ok != 0, "token %zu refused", i);
		ok = check(t, "bEARER   ", want[i].p, want[i].n, 0);
		fuzz_check(ok != 0, "token %zu refused after 'bEARER   '", i);
		ok = check(t, "Basic ", want[i].p, want[i].n, 0);
		fuzz_check(ok <= 0, "token %zu accepted as Basic", i);
		/* The token and one byte more is some other token, or refused. */
		int other = 0;
		for (size_t j = 0; j < n && j < 16; j++)
			other |= want[j].n == want[i].n + 1 &&
				 !memcmp(want[j].p, want[i].p, want[i].n) &&
				 want[j].p[want[i].n] == 'x';
		ok = check(t, "Bearer ", want[i].p, want[i].n, 1);
		fuzz_check(ok < 0 || ok == other || n > 16, "token %zu and 'x': %d", i, ok);
	}
	tokens_free(t);
	return 0;
}
