#include "extract_modes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"
#include "text.h"

/* json:FIELD: a field of the first JSON object in a model's answer, which
 * may sit in a ```json fence, after prose, or in the middle of both. */

static int same_fold(const char *a, const char *b, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (tx_lower(a[k]) != tx_lower(b[k]))
			return 0;
	return 1;
}

/* The member named k[0..n): exact first, then ignoring ASCII case, since
 * models write "Answer" for "answer". */
static const cJSON *child_named(const cJSON *obj, const char *k, size_t n)
{
	const cJSON *c, *fold = NULL;
	cJSON_ArrayForEach(c, obj) {
		if (!c->string || strlen(c->string) != n)
			continue;
		if (memcmp(c->string, k, n) == 0)
			return c;
		if (!fold && same_fold(c->string, k, n))
			fold = c;
	}
	return fold;
}

/* Follows "a.b.c" through objects (and "items.0" through arrays). A key
 * that itself holds dots is found when the rest of the path names it. */
static const cJSON *json_walk(const cJSON *v, const char *path)
{
	while (v && *path) {
		const cJSON *whole = cJSON_IsObject(v) ? child_named(v, path, strlen(path)) : NULL;
		if (whole)
			return whole;
		size_t n = strcspn(path, ".");
		if (cJSON_IsObject(v)) {
			v = child_named(v, path, n);
		} else if (cJSON_IsArray(v) && n > 0 && n < 9 &&
			   strspn(path, "0123456789") >= n) {
			v = cJSON_GetArrayItem(v, atoi(path));
		} else {
			v = NULL;
		}
		path += n;
		if (*path == '.')
			path++;
	}
	return v;
}

/* The shortest of %.15g..%.17g that reads back as d: 0.1 not
 * 0.10000000000000001. Infinity (1e400 in the text) is no answer. */
static int put_double(double d, struct buf *out)
{
	if (!isfinite(d))
		return 0;
	char tmp[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	return buf_puts(out, tmp) ? -1 : 1;
}

/* Strings as text (trimmed), numbers and booleans as written in JSON,
 * arrays and objects as compact JSON; null is no answer. */
static int put_value(const cJSON *v, struct buf *out)
{
	if (cJSON_IsString(v)) {
		size_t b = 0, e = strlen(v->valuestring);
		tx_trim(v->valuestring, &b, &e);
		if (b == e)
			return 0;
		return buf_append(out, v->valuestring + b, e - b) ? -1 : 1;
	}
	if (cJSON_IsNumber(v))
		return put_double(v->valuedouble, out);
	if (cJSON_IsBool(v))
		return buf_puts(out, cJSON_IsTrue(v) ? "true" : "false") ? -1 : 1;
	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		return 0;
	char *p = cJSON_PrintUnformatted(v);
	if (!p)
		return -1;
	int rc = buf_puts(out, p) ? -1 : 1;
	cJSON_free(p);
	return rc;
}

/* The first object in s[b..e) that has path; an object without it is
 * skipped whole. *budget is the brace-matching budget of json_scan, shared
 * by the fences and the whole text, so all the scans of one answer
 * together stay linear. */
static int json_in_range(const char *s, size_t b, size_t e, const char *path,
			 size_t *budget, struct buf *out)
{
	struct json_scan js;
	json_scan_init(&js, s + b, e - b);
	js.budget = *budget;
	cJSON *j;
	int rc = 0;
	while (!rc && (j = json_scan_next(&js, NULL, NULL))) {
		rc = put_value(json_walk(j, path), out);
		cJSON_Delete(j);
	}
	*budget = js.budget;
	return rc;
}

/* Objects in ```json fences come first: that is where a model puts what
 * it means as its answer, after prose that may quote other JSON. */
static int json_fenced(const char *s, size_t len, const char *path, size_t *budget,
		       struct buf *out)
{
	for (size_t open = 0; (open = tx_find(s, open, len, "```")) < len;) {
		size_t tag = open + 3, body = tag;
		while (body < len && s[body] != '\n')
			body++;
		size_t end = tx_find(s, body, len, "```");
		if (body - tag >= 4 && same_fold(s + tag, "json", 4)) {
			int rc = json_in_range(s, body, end, path, budget, out);
			if (rc)
				return rc;
		}
		open = end + 3;
	}
	return 0;
}

int extract_json(const char *s, size_t len, const char *field, struct buf *out)
{
	size_t budget = 16 * len + 4096;
	int rc = json_fenced(s, len, field, &budget, out);
	if (rc)
		return rc;
	return json_in_range(s, 0, len, field, &budget, out);
}
