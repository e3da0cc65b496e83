#include "base64.h"

#include <stdint.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t n)
{
	size_t groups = n / 3 + (n % 3 != 0);
	return groups > SIZE_MAX / 4 ? 0 : groups * 4;
}

int base64_encode(struct buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	char quad[4];
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		size_t left = n - i;
		if (left > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (left > 2)
			v |= s[i + 2];
		quad[0] = b64_alphabet[v >> 18 & 63];
		quad[1] = b64_alphabet[v >> 12 & 63];
		quad[2] = left > 1 ? b64_alphabet[v >> 6 & 63] : '=';
		quad[3] = left > 2 ? b64_alphabet[v & 63] : '=';
		if (buf_append(out, quad, sizeof(quad)))
			return -1;
	}
	return 0;
}

size_t base64_decoded_max(size_t len) { return len / 4 * 3; }

/* The 6 bits c stands for, or -1 when c is not in the alphabet. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *s, size_t len, void *out, size_t *n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char *o = out;
	*n = 0;
	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		/* "xx==" and "xxx=" only in the last group. */
		int pad = last && u[i + 3] == '=' ? (u[i + 2] == '=' ? 2 : 1) : 0;
		uint32_t v = 0;
		for (int k = 0; k < 4 - pad; k++) {
			int d = b64_value(u[i + (size_t)k]);
			if (d < 0)
				goto fail;
			v = v << 6 | (uint32_t)d;
		}
		v <<= 6 * pad;
		/* The bits the padding drops must be zero: one encoding each. */
		if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
			goto fail;
		o[(*n)++] = (unsigned char)(v >> 16);
		if (pad < 2)
			o[(*n)++] = (unsigned char)(v >> 8);
		if (pad < 1)
			o[(*n)++] = (unsigned char)v;
	}
	return 0;
fail:
	*n = 0;
	return -1;
}
