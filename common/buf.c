#include "buf.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

static int buf_fail(struct buf *b)
{
	q_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->overflow = 1;
	return -1;
}

static int buf_grow(struct buf *b, size_t extra)
{
	if (b->overflow)
		return -1;
	if (b->max && (extra > b->max || b->len > b->max - extra))
		return buf_fail(b);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	char *p = q_realloc(b->data, cap);
	if (!p)
		return buf_fail(b);
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n))
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_putc(struct buf *b, char c) { return buf_append(b, &c, 1); }

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	/* Most prints fit in the room already there: one pass, not a
	 * measuring pass and then the real one. */
	size_t room = b->data ? b->cap - b->len : 0;
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, cp);
	va_end(cp);
	if (n >= 0 && (size_t)n < room) {
		if (b->max && ((size_t)n > b->max || b->len > b->max - (size_t)n))
			return buf_fail(b);
		b->len += (size_t)n;
		return 0;
	}
	if (room)
		b->data[b->len] = '\0';
	if (n < 0 || buf_grow(b, (size_t)n))
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Text from the network may hold any bytes; the JSON we write must stay
 * valid, so control characters are escaped and invalid UTF-8 becomes
 * U+FFFD. */
int buf_put_json_strn(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	if (buf_putc(b, '"'))
		return -1;
	size_t run = 0, i = 0;
	while (i < n) {
		unsigned char c = u[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		size_t len = c >= 0x80 ? utf8_seq(u + i, n - i) : 0;
		if (len) {
			i += len;
			continue;
		}
		if (buf_append(b, s + run, i - run))
			return -1;
		char esc[7] = {'\\', 0};
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			if (c >= 0x80) {
				memcpy(esc + 1, "ufffd", 5);
			} else {
				memcpy(esc + 1, "u00", 3);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
			}
		}
		if (buf_puts(b, esc))
			return -1;
		run = ++i;
	}
	if (buf_append(b, s + run, n - run))
		return -1;
	return buf_putc(b, '"');
}

int buf_put_json_str(struct buf *b, const char *s)
{
	if (!s)
		return buf_puts(b, "null");
	return buf_put_json_strn(b, s, strlen(s));
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->overflow = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_release(struct buf *b)
{
	q_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->overflow = 0;
}

char *buf_take(struct buf *b)
{
	char *s = b->len ? b->data : NULL;
	if (s)
		b->data = NULL;
	buf_release(b);
	return s;
}

const char *buf_str(const struct buf *b) { return b->data ? b->data : ""; }
