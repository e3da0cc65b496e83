/* --verbose: each request's and response's head as curl sees it, on
 * standard error, with every header that can carry a credential redacted.
 * Bodies are summarised by size: prompts and answers are the user's data,
 * and the report already has them. */
#include <string.h>
#include <strings.h>

#include "../common/alloc.h"
#include "verbose.h"

static const char *const secret_headers[] = {
	"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key",
	"api-key", "cookie", "set-cookie",
};

static int is_secret(const char *line, size_t len)
{
	for (size_t i = 0; i < sizeof(secret_headers) / sizeof(secret_headers[0]); i++) {
		size_t n = strlen(secret_headers[i]);
		if (len > n && line[n] == ':' && !strncasecmp(line, secret_headers[i], n))
			return (int)n;
	}
	return 0;
}

struct verbose {
	FILE *out;
	const struct redact *redact;
};

struct verbose *verbose_new(struct arena *a, FILE *out, const struct redact *redact)
{
	struct verbose *v = arena_alloc(a, sizeof(*v));
	if (v) {
		v->out = out;
		v->redact = redact;
	}
	return v;
}

/* One line of text, any key value in it masked (a proxy may echo the key
 * in a header of its own). */
static void put_line(struct verbose *v, const char *prefix, const char *s, size_t n)
{
	char small[1024];
	char *line = n <= sizeof(small) ? small : q_malloc(n);
	if (!line) {
		fprintf(v->out, "%s[a header line of %zu bytes]\n", prefix, n);
		return;
	}
	memcpy(line, s, n);
	redact_mask(v->redact, line, n);
	fprintf(v->out, "%s%.*s\n", prefix, (int)n, line);
	if (line != small)
		q_free(line);
}

/* Writes a block of header lines, each with its prefix, secrets redacted. */
static void put_head(struct verbose *v, const char *prefix, const char *data, size_t size)
{
	FILE *out = v->out;
	while (size) {
		const char *nl = memchr(data, '\n', size);
		size_t len = nl ? (size_t)(nl - data) + 1 : size;
		size_t text = len;
		while (text && (data[text - 1] == '\n' || data[text - 1] == '\r'))
			text--;
		int name = is_secret(data, text);
		if (name)
			fprintf(out, "%s%.*s: [redacted]\n", prefix, name, data);
		else if (text)
			put_line(v, prefix, data, text);
		data += len;
		size -= len;
	}
}

static int on_debug(CURL *e, curl_infotype type, char *data, size_t size, void *ud)
{
	struct verbose *v = ud;
	FILE *out = v->out;
	(void)e;
	switch (type) {
	case CURLINFO_TEXT:
		put_head(v, "* ", data, size);
		break;
	case CURLINFO_HEADER_OUT:
		put_head(v, "> ", data, size);
		break;
	case CURLINFO_HEADER_IN:
		put_head(v, "< ", data, size);
		break;
	case CURLINFO_DATA_OUT:
		fprintf(out, "> [%zu bytes of request body]\n", size);
		break;
	case CURLINFO_DATA_IN:
		fprintf(out, "< [%zu bytes of response body]\n", size);
		break;
	default:
		break;
	}
	return 0;
}

void verbose_attach(CURL *e, struct verbose *v)
{
	curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(e, CURLOPT_DEBUGDATA, v);
	curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
}
