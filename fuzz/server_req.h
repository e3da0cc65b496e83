#ifndef QUORUM_FUZZ_SERVER_REQ_H
#define QUORUM_FUZZ_SERVER_REQ_H
/* What the oai_req and anth_req targets share: a request body through one
 * of quorum serve's readers, and the promises both make. */
#include "../server/oai.h"
#include "fuzz.h"

typedef int fuzz_req_parse_fn(struct oai_req *r, const char *body, size_t len,
			      struct oai_err *e);

/* NULL, or a string that is not empty: "none" is never "". */
static inline int fuzz_none_or_text(const char *s) { return !s || *s; }

static inline int fuzz_server_req(fuzz_req_parse_fn *parse, double max_temperature,
				  const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned steer = fuzz_byte(&in);
	if (steer & 0x80)
		q_alloc_fail_after((long)(steer & 0x7f) + 1);
	struct oai_req r;
	struct oai_err e = {{0}, NULL, NULL};
	int rc = parse(&r, (const char *)in.p, in.n, &e);
	q_alloc_fail_after(0);
	fuzz_check(rc == 0 || rc == -1, "rc %d", rc);
	if (rc) {
		static const struct oai_req zero;
		fuzz_check(!memcmp(&r, &zero, sizeof(r)), "a failed parse holds something");
		fuzz_check(e.message[0] && memchr(e.message, '\0', sizeof(e.message)),
			   "a failed parse without a message");
		return 0;
	}
	fuzz_check(cJSON_IsObject(r.doc), "no document");
	fuzz_check(r.model && *r.model, "no model");
	fuzz_check(r.query != NULL, "no query");
	fuzz_check(fuzz_none_or_text(r.history) && fuzz_none_or_text(r.system),
		   "an empty history or system text instead of none");
	fuzz_check(r.stream == 0 || r.stream == 1, "stream %d", r.stream);
	fuzz_check(r.include_usage == 0 || r.include_usage == 1, "include_usage %d",
		   r.include_usage);
	fuzz_check(r.want_report == 0 || r.want_report == 1, "want_report %d", r.want_report);
	fuzz_check(r.has_temperature || r.temperature == 0, "a temperature not given");
	fuzz_check(r.temperature >= 0 && r.temperature <= max_temperature, "temperature %g",
		   r.temperature);
	fuzz_check(r.max_tokens >= 0 && r.max_tokens <= 1000000000, "max_tokens %d",
		   r.max_tokens);
	/* What the run reads: every text a C string the engine can copy. */
	size_t total = strlen(r.query) + (r.history ? strlen(r.history) : 0) +
		       (r.system ? strlen(r.system) : 0);
	fuzz_check(total <= in.n * 2 + 64, "%zu bytes of text from a %zu-byte body", total,
		   in.n);
	oai_req_release(&r);
	oai_req_release(&r);
	return 0;
}

#endif
