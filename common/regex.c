#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex.h"

#include <pcre2.h>

#include "alloc.h"

struct regex {
	pcre2_code *code;
	pcre2_match_context *mctx;
	int groups;
};

/* A user's pattern runs over a model's answer, which we do not control:
 * bound backtracking so a pathological pattern fails instead of hanging. */
#define REGEX_MATCH_LIMIT 1000000

struct regex *regex_compile(const char *pattern, size_t *offset, struct qerr *e)
{
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
					 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
					 &errcode, &erroff, NULL);
	if (!code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		if (offset)
			*offset = erroff;
		qerr_set(e, "invalid regular expression at offset %zu: %s",
			 (size_t)erroff, (const char *)msg);
		return NULL;
	}
	struct regex *re = q_calloc(1, sizeof(*re));
	pcre2_match_context *mctx = pcre2_match_context_create(NULL);
	if (!re || !mctx) {
		q_free(re);
		pcre2_match_context_free(mctx);
		pcre2_code_free(code);
		qerr_set(e, "out of memory");
		return NULL;
	}
	pcre2_set_match_limit(mctx, REGEX_MATCH_LIMIT);
	uint32_t n = 0;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
	re->code = code;
	re->mctx = mctx;
	re->groups = (int)n;
	return re;
}

void regex_free(struct regex *re)
{
	if (!re)
		return;
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	q_free(re);
}

int regex_groups(const struct regex *re) { return re->groups; }

int regex_search(const struct regex *re, const char *s, size_t len, int group,
		 size_t *start, size_t *end)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (!md)
		return -1;
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, re->mctx);
	int result;
	if (rc == PCRE2_ERROR_NOMATCH) {
		result = 0;
	} else if (rc < 0) {
		result = -1;
	} else {
		result = 1;
		if (group >= 0 && start && end) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			if (group < rc && ov[2 * group] != PCRE2_UNSET) {
				*start = ov[2 * group];
				*end = ov[2 * group + 1];
			} else {
				*start = *end = 0;
				result = group == 0 ? 1 : 0;
			}
		}
	}
	pcre2_match_data_free(md);
	return result;
}
