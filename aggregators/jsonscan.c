#include "jsonscan.h"

#include <stdint.h>

#define JSCAN_DEPTH 32

void json_scan_init(struct json_scan *js, const char *s, size_t len)
{
	js->s = s;
	js->len = len;
	js->pos = 0;
	js->budget = 16 * len + 4096;
	js->bad_at = js->bad_err = SIZE_MAX;
	js->bad_open = 0;
}

/* Where the object that opens at s[b] closes (the index of its '}'), or
 * SIZE_MAX when it does not. Braces inside strings do not count. Adds the
 * bytes looked at to *scanned. */
static size_t object_end(const char *s, size_t b, size_t e, size_t *scanned)
{
	size_t depth = 0;
	for (size_t i = b; i < e; i++) {
		char c = s[i];
		if (c == '"') {
			i = json_skip_string(s, i, e);
		} else if (c == '{') {
			depth++;
		} else if (c == '}' && --depth == 0) {
			*scanned = i - b + 1;
			return i;
		}
	}
	*scanned = e - b;
	return SIZE_MAX;
}

/* Remembers the first span that looked like an object but was not one. */
static void note_bad(struct json_scan *js, size_t b, size_t end)
{
	if (js->bad_at != SIZE_MAX)
		return;
	js->bad_at = b;
	if (end == SIZE_MAX) {
		js->bad_open = 1;
		js->bad_err = js->len;
		return;
	}
	/* Only for the position of the error: json_parse says no more than
	 * NULL. cJSON's own compiled nesting bound still applies. */
	const char *stop = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(js->s + b, end - b + 1, &stop, 0);
	cJSON_Delete(j);
	js->bad_err = stop ? (size_t)(stop - js->s) : b;
}

cJSON *json_scan_next(struct json_scan *js, size_t *b, size_t *e)
{
	for (; js->pos < js->len; js->pos++) {
		size_t i = js->pos;
		if (js->s[i] != '{')
			continue;
		size_t scanned = 0, end = object_end(js->s, i, js->len, &scanned);
		if (scanned > js->budget) {
			js->pos = js->len;
			return NULL;
		}
		js->budget -= scanned;
		cJSON *j = end == SIZE_MAX ? NULL
					   : json_parse(js->s + i, end - i + 1, JSCAN_DEPTH);
		if (!cJSON_IsObject(j)) {
			cJSON_Delete(j);
			note_bad(js, i, end);
			continue;
		}
		js->pos = end + 1;
		if (b)
			*b = i;
		if (e)
			*e = end + 1;
		return j;
	}
	return NULL;
}

void json_scan_where(const char *s, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off && s[i]; i++) {
		if (s[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)s[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}
