#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/alloc.h"

char *fixture_read(const char *name, size_t *len)
{
	return fixture_read_in("openai", name, len);
}

char *fixture_read_in(const char *sub, const char *name, size_t *len)
{
	const char *dir = getenv("QUORUM_FIXTURES");
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s/%s", dir ? dir : "tests/fixtures",
		 sub, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture '%s'", path);
	char *data = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			data = q_realloc(data, cap);
			assert_non_null(data);
		}
		size_t got = fread(data + n, 1, cap - n - 1, f);
		n += got;
		if (!got)
			break;
	}
	fclose(f);
	data[n] = '\0';
	*len = n;
	return data;
}

uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

const struct provider *prov_get(const char *name)
{
	const struct provider *p = provider_find(name);
	assert_non_null(p);
	return p;
}

int build_req(const struct provider *prov, const struct chat_request *req,
	      const char *base, const char *key, struct http_req *out, cJSON **body,
	      struct qerr *e)
{
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	int rc = prov->build(req, base, key, out, e);
	if (!rc && body) {
		*body = cJSON_ParseWithLength(out->body.data, out->body.len);
		assert_non_null(*body);
	}
	return rc;
}

const char *req_header(const struct http_req *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strncmp(r->headers[i], name, n) && r->headers[i][n] == ':')
			return r->headers[i] + n + 2;
	return NULL;
}

const cJSON *jget(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}
