#ifndef QUORUM_BUF_H
#define QUORUM_BUF_H
#include <stdarg.h>
#include <stddef.h>

/* A growable byte string, always NUL-terminated after a successful append.
 * Every buffer fed from the network has a hard cap (curl's dynbuf): an
 * append past `max` fails, frees the data and leaves the buffer unusable
 * until buf_reset. */
struct buf {
	char *data;     /* NULL until the first append */
	size_t len, cap;
	size_t max;     /* 0 means no cap */
	int overflow;   /* set when an append hit the cap */
};

#define BUF_INIT {0}

void buf_init(struct buf *b, size_t max);
/* Returns 0, or -1 when memory is exhausted or the cap was hit. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included. */
int buf_put_json_str(struct buf *b, const char *s);
int buf_put_json_strn(struct buf *b, const char *s, size_t n);
/* Keeps the memory, forgets the content. */
void buf_reset(struct buf *b);
/* Frees the memory; the buffer can be appended to again. */
void buf_release(struct buf *b);
/* Hands the text over to the caller (free with q_free) and leaves b empty;
 * NULL when b holds nothing. No copy, so it cannot fail. */
char *buf_take(struct buf *b);
/* Returns the content ("" when empty), borrowed until the next append. */
const char *buf_str(const struct buf *b);

#endif
