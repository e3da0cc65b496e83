#ifndef QUORUM_BASE64_H
#define QUORUM_BASE64_H
/* Base64 (RFC 4648 section 4): the standard alphabet, '=' padding, no line
 * breaks. Self-contained: the encoder appends to a struct buf, the decoder
 * writes into memory the caller owns. The decoder is strict, so one byte
 * string has one encoding: it refuses a length that is not a multiple of
 * 4, a byte outside the alphabet, padding anywhere but at the end, and
 * non-zero bits in the last character before the padding. */
#include <stddef.h>

#include "buf.h"

/* The length of the encoding of n bytes (without a NUL), or 0 when it
 * would not fit a size_t. */
size_t base64_encoded_len(size_t n);

/* Appends the encoding of p[0..n) to out. Returns 0, or -1 when out
 * refuses the bytes (memory, its cap: out is then as buf_append leaves
 * it). */
int base64_encode(struct buf *out, const void *p, size_t n);

/* The most bytes the encoding s[0..len) can decode to (len / 4 * 3): the
 * room base64_decode needs. */
size_t base64_decoded_max(size_t len);

/* Decodes s[0..len) into out, which has room for base64_decoded_max(len)
 * bytes, and sets *n to how many it wrote. Returns 0, or -1 when s is not
 * a canonical encoding (then out holds garbage and *n is 0). */
int base64_decode(const char *s, size_t len, void *out, size_t *n);

#endif
