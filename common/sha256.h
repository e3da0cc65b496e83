#ifndef QUORUM_SHA256_H
#define QUORUM_SHA256_H
/* SHA-256 (FIPS 180-4), self-contained: no library, no allocation. For
 * content keys (the response cache), not for secrets: nothing here is
 * constant-time or wiped after use. */
#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32

/* A hash in progress; caller-owned, no resources to release. */
struct sha256 {
	uint32_t h[8];
	uint64_t bits;            /* message length so far */
	unsigned char block[64];  /* the block being filled */
	size_t fill;              /* bytes in block */
};

void sha256_init(struct sha256 *s);
/* Hashes n more bytes of the message (any slicing gives the same digest). */
void sha256_update(struct sha256 *s, const void *p, size_t n);
/* Writes the digest of everything updated so far into out; s must be
 * initialised again before reuse. */
void sha256_final(struct sha256 *s, unsigned char out[SHA256_DIGEST_LEN]);
/* One shot: the digest of n bytes at p. */
void sha256_digest(const void *p, size_t n, unsigned char out[SHA256_DIGEST_LEN]);

#endif
