#include "json.h"

#include <string.h>

/* Depth is checked on the raw text before cJSON sees it, so a hostile
 * "[[[[..." never reaches the recursive parser. Brackets inside strings
 * are skipped. */
static int json_depth_ok(const char *s, size_t len, int max_depth)
{
	int depth = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '"')
			i = json_skip_string(s, i, len);
		else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return 0;
		} else if (c == ']' || c == '}')
			depth--;
	}
	return 1;
}

size_t json_skip_string(const char *s, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i;
	}
	return len;
}

/* One value and trailing whitespace only: cJSON stops at the value's end. */
static int json_only_space_after(const char *s, size_t len, const char *end)
{
	for (; end && (size_t)(end - s) < len; end++)
		if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t' && *end != '\0')
			return 0;
	return 1;
}

cJSON *json_parse_why(const char *s, size_t len, int max_depth, enum json_fail *why)
{
	enum json_fail dummy;
	if (!why)
		why = &dummy;
	*why = JSON_FAIL_SYNTAX;
	if (!s)
		return NULL;
	if (!json_depth_ok(s, len, max_depth > 0 ? max_depth : 64)) {
		*why = JSON_FAIL_DEPTH;
		return NULL;
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j)
		return NULL;
	if (!json_only_space_after(s, len, end)) {
		cJSON_Delete(j);
		return NULL;
	}
	*why = JSON_FAIL_NONE;
	return j;
}

int json_has_nul(const char *s, size_t len)
{
	/* A backslash is only ever inside a string: no need to track which. */
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 6 <= len && !memcmp(s + i + 2, "0000", 4))
			return 1;
		i++; /* the escaped character: \\u0000 is a backslash and "u0000" */
	}
	return 0;
}

cJSON *json_parse(const char *s, size_t len, int max_depth)
{
	return json_parse_why(s, len, max_depth, NULL);
}

const char *json_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *json_get_obj(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *json_get_arr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsArray(v) ? v : NULL;
}

double json_get_num(const cJSON *obj, const char *key, double fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "missing";
}
