#ifndef QUORUM_AGG_LABEL_H
#define QUORUM_AGG_LABEL_H
#include <stddef.h>

#include "../common/buf.h"

/* The labels judges and rankers see instead of model names: "Response A",
 * "Response B", ..., "Response Z", then "AA", "AB", ... as spreadsheets
 * name columns. Internal to aggregators/. Positions are 0-based SHOWN
 * positions; mapping them back to candidates is the caller's business. */

/* Appends the letters of position i. Returns 0 or -1 (out full). */
int label_put(struct buf *out, size_t i);

/* How many letters the label of the last of n positions has (1 up to 26). */
size_t label_width(size_t n);

/* What counts as a reference without a prefix word in front. */
enum {
	LREF_DIGITS = 1,      /* a 1-based number ("2") */
	LREF_LOWER = 2,       /* lower-case letters ("b") */
	LREF_NEED_PREFIX = 4, /* nothing: "Response B" only */
};

/* Reads a reference to a shown position at s[i]: an optional prefix word
 * (Response, Assistant, Candidate, Answer, Option; any case; then spaces or
 * '#'), then either letters (at most label_width(n) of them) or a 1-based
 * number, not glued to a following letter, digit or decimal point. After a
 * prefix word numbers and lower case always count; without one, flags say
 * which do. Returns the index just past the reference and sets *pos
 * (0-based; >= n when the label names no position, "Response E" of three)
 * and *prefixed; returns 0 when s[i] starts no reference. */
size_t label_ref_at(const char *s, size_t len, size_t i, size_t n, unsigned flags,
		    size_t *pos, int *prefixed);

#endif
