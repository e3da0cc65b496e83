#ifndef QUORUM_AGG_JSONSCAN_H
#define QUORUM_AGG_JSONSCAN_H
#include <stddef.h>

#include "../common/json.h"

/* The JSON objects inside a model's reply, which may sit in a ```json
 * fence, after prose or between paragraphs. Internal to aggregators/. */
struct json_scan {
	const char *s;
	size_t len;
	size_t pos;       /* where the search goes on */
	size_t budget;    /* bytes brace matching may still look at */
	/* The first object-like span that is not valid JSON, for messages:
	 * bad_at is where it starts, bad_err where the parser gave up (both
	 * offsets into s); bad_open when it never closes. SIZE_MAX when none. */
	size_t bad_at, bad_err;
	int bad_open;
};

void json_scan_init(struct json_scan *js, const char *s, size_t len);

/* Returns the next object in text order (new; free with cJSON_Delete) and
 * its span [*b, *e) when b and e are not NULL, or NULL when there are no
 * more. A parsed object is skipped whole, so objects nested in it are not
 * returned on their own; a span that does not parse is stepped into, so a
 * valid object inside a broken one still is. The total work is linear in
 * the text: a reply of a million unclosed '{' ends the scan early. */
cJSON *json_scan_next(struct json_scan *js, size_t *b, size_t *e);

/* 1-based line and column of offset off in s. */
void json_scan_where(const char *s, size_t off, int *line, int *col);

#endif
