#ifndef QUORUM_MOCK_TEST_HTTP_H
#define QUORUM_MOCK_TEST_HTTP_H
#include <stdint.h>

#include <curl/curl.h>

#include "../../common/buf.h"

/* HTTP helpers the mock's tests share (test_mock.c, test_wire.c). */

struct resp {
	CURLcode rc;
	long status;
	struct buf body, headers;
	int64_t ms;
};

void resp_release(struct resp *r);
/* Returns a new easy handle for POST body (GET when NULL) to
 * 127.0.0.1:port/path that fills r; hdrs is borrowed until it is done. */
CURL *easy_new(int port, const char *path, const char *body, long timeout_ms,
	       struct resp *r, struct curl_slist *hdrs);
/* Records rc, the status and the time since t0, and frees c. */
void easy_done(CURL *c, struct resp *r, CURLcode rc, int64_t t0);
/* One blocking request; hdr is NULL or a NULL-terminated list of header
 * lines. */
void http(int port, const char *path, const char *body, long timeout_ms,
	  struct resp *r);
void http_h(int port, const char *path, const char *const *hdr,
	    const char *body, long timeout_ms, struct resp *r);

/* The tests of the Anthropic, Gemini and Ollama formats (test_wire.c);
 * returns the number of failures. */
int test_wire_run(void);
/* The tests of rules, scripted verdicts and the simulated answers to
 * aggregator requests (test_rules.c); returns the number of failures. */
int test_rules_run(void);
/* The tests of error groups and correlated mistakes (test_corr.c);
 * returns the number of failures. */
int test_corr_run(void);
/* The tests of network faults and chaos (test_faults.c); returns the
 * number of failures. */
int test_faults_run(void);
/* The tests of echoed credentials, connections that die on reuse and
 * whole bodies for stream requests (test_edges.c); returns the number of
 * failures. */
int test_edges_run(void);
/* The tests of answers to questions the bank does not hold
 * (test_generic.c); returns the number of failures. */
int test_generic_run(void);
/* The tests of what routing research needs: the embeddings endpoints,
 * hidden topics and difficulty, declines and auto ratings (test_route.c);
 * returns the number of failures. */
int test_route_run(void);

#endif
