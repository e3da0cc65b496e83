/* ${VAR} and ${VAR:-default} in a model's base_url, as docker-compose
 * reads them, so one workflow file serves a laptop and a staging proxy.
 * Expanded once per run; never applied to text from a model. */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "envsubst.h"

#define VAR_MAX 256

static int append_var(struct buf *b, const char *p, size_t n)
{
	char name[VAR_MAX];
	const char *sep = NULL;
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == ':' && p[i + 1] == '-') {
			sep = p + i;
			break;
		}
	size_t nlen = sep ? (size_t)(sep - p) : n;
	if (nlen >= sizeof(name))
		return buf_append(b, p - 2, n + 3); /* not a variable: keep as written */
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	const char *v = getenv(name);
	if (v && *v)
		return buf_puts(b, v);
	if (sep)
		return buf_append(b, sep + 2, n - nlen - 2);
	return 0;
}

const char *env_expand(struct arena *a, const char *s)
{
	if (!s || !strstr(s, "${"))
		return s;
	struct buf b;
	buf_init(&b, 0);
	int rc = 0;
	while (*s && !rc) {
		const char *open = strstr(s, "${");
		const char *close = open ? strchr(open, '}') : NULL;
		if (!open || !close) {
			rc = buf_puts(&b, s);
			break;
		}
		rc = buf_append(&b, s, (size_t)(open - s));
		if (!rc)
			rc = append_var(&b, open + 2, (size_t)(close - open - 2));
		s = close + 1;
	}
	const char *out = rc ? NULL : arena_strndup(a, buf_str(&b), b.len);
	buf_release(&b);
	return out;
}
