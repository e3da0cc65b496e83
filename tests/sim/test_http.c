#include "test_http.h"

#include <stdio.h>
#include <string.h>

#include "../../common/clock.h"

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

void resp_release(struct resp *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
}

CURL *easy_new(int port, const char *path, const char *body, long timeout_ms,
	       struct resp *r, struct curl_slist *hdrs)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	memset(r, 0, sizeof(*r));
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_PRIVATE, r);
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (timeout_ms)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	return c;
}

void easy_done(CURL *c, struct resp *r, CURLcode rc, int64_t t0)
{
	r->rc = rc;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->ms = clock_ms() - t0;
	curl_easy_cleanup(c);
}

void http(int port, const char *path, const char *body, long timeout_ms,
	  struct resp *r)
{
	int64_t t0 = clock_ms();
	CURL *c = easy_new(port, path, body, timeout_ms, r, NULL);
	easy_done(c, r, curl_easy_perform(c), t0);
}


void http_h(int port, const char *path, const char *const *hdr,
	    const char *body, long timeout_ms, struct resp *r)
{
	struct curl_slist *h = NULL;
	for (; hdr && *hdr; hdr++)
		h = curl_slist_append(h, *hdr);
	int64_t t0 = clock_ms();
	CURL *c = easy_new(port, path, body, timeout_ms, r, h);
	easy_done(c, r, curl_easy_perform(c), t0);
	curl_slist_free_all(h);
}
