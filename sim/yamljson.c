#include "yamljson.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "../common/alloc.h"
#include "../common/json.h"

#define YJ_MAX_DEPTH 64

/* One open mapping or sequence; `key` is the mapping key waiting for its
 * value (NULL when the next scalar is a key). */
struct yj_frame {
	cJSON *node;
	char *key;
};

struct yj {
	const char *name;
	struct qerr *e;
	cJSON *root;
	struct yj_frame stack[YJ_MAX_DEPTH];
	int depth;
	int docs;
};

__attribute__((format(printf, 3, 4)))
static int yj_fail(struct yj *y, const yaml_mark_t *mk, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return qerr_set_at(y->e, y->name, (int)mk->line + 1, (int)mk->column + 1,
			   "%s", msg);
}

/* A plain scalar is a number only when strtod takes all of it and it
 * starts like a number: "inf", "nan" and "0x1p3" stay strings. */
static int yj_number(const char *s, double *out)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')))
		return 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return 0;
	char *end;
	double v = strtod(s, &end);
	if (*end || !isfinite(v))
		return 0;
	*out = v;
	return 1;
}

static cJSON *yj_scalar(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || ev->data.scalar.tag)
		return cJSON_CreateString(s);
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return cJSON_CreateNull();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return cJSON_CreateTrue();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return cJSON_CreateFalse();
	double v;
	if (yj_number(s, &v))
		return cJSON_CreateNumber(v);
	return cJSON_CreateString(s);
}

/* Attaches a new node where the parser is: as the root, as the next item
 * of a sequence, or as the value of the pending key. Takes ownership of
 * `node` even on failure. */
static int yj_attach(struct yj *y, cJSON *node, const yaml_mark_t *mk)
{
	if (!node)
		return yj_fail(y, mk, "out of memory");
	if (y->depth == 0) {
		if (y->root) {
			cJSON_Delete(node);
			return yj_fail(y, mk, "unexpected content");
		}
		y->root = node;
		return 0;
	}
	struct yj_frame *f = &y->stack[y->depth - 1];
	if (cJSON_IsArray(f->node)) {
		cJSON_AddItemToArray(f->node, node);
		return 0;
	}
	if (!f->key) {
		cJSON_Delete(node);
		return yj_fail(y, mk, "a mapping key must be a scalar");
	}
	cJSON_AddItemToObject(f->node, f->key, node);
	q_free(f->key);
	f->key = NULL;
	return 0;
}

static int yj_on_scalar(struct yj *y, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	struct yj_frame *f = y->depth ? &y->stack[y->depth - 1] : NULL;
	if (f && cJSON_IsObject(f->node) && !f->key) {
		if (cJSON_GetObjectItemCaseSensitive(f->node, s))
			return yj_fail(y, &ev->start_mark, "duplicate key '%s'", s);
		f->key = q_strdup(s);
		return f->key ? 0 : yj_fail(y, &ev->start_mark, "out of memory");
	}
	return yj_attach(y, yj_scalar(ev), &ev->start_mark);
}

static int yj_open(struct yj *y, const yaml_event_t *ev, int is_map)
{
	if (y->depth >= YJ_MAX_DEPTH)
		return yj_fail(y, &ev->start_mark, "nesting deeper than 64");
	cJSON *node = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
	if (yj_attach(y, node, &ev->start_mark))
		return -1;
	y->stack[y->depth].node = node;
	y->stack[y->depth].key = NULL;
	y->depth++;
	return 0;
}

/* Returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int yj_event(struct yj *y, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++y->docs > 1)
			return yj_fail(y, &ev->start_mark,
				       "only one document is allowed");
		return 0;
	case YAML_MAPPING_START_EVENT:
		return yj_open(y, ev, 1);
	case YAML_SEQUENCE_START_EVENT:
		return yj_open(y, ev, 0);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		y->depth--;
		return 0;
	case YAML_SCALAR_EVENT:
		return yj_on_scalar(y, ev);
	case YAML_ALIAS_EVENT:
		return yj_fail(y, &ev->start_mark, "aliases are not supported");
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
}

static cJSON *yj_json(const char *name, const char *text, size_t len,
		      struct qerr *e)
{
	cJSON *j = json_parse(text, len, YJ_MAX_DEPTH);
	if (!j)
		qerr_set_at(e, name, 0, 0, "invalid JSON");
	return j;
}

cJSON *yamljson_parse(const char *name, const char *text, size_t len,
		      struct qerr *e)
{
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
			   text[i] == '\r'))
		i++;
	if (i < len && text[i] == '{')
		return yj_json(name, text, len, e);

	struct yj y = {.name = name, .e = e};
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		qerr_set(e, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	int rc = 0;
	while (rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = yj_fail(&y, &p.problem_mark, "%s",
				     p.problem ? p.problem : "invalid YAML");
			break;
		}
		rc = yj_event(&y, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (int d = 0; d < y.depth; d++)
		q_free(y.stack[d].key);
	if (rc < 0) {
		cJSON_Delete(y.root);
		return NULL;
	}
	if (!y.root)
		qerr_set_at(e, name, 1, 1, "empty scenario");
	return y.root;
}
