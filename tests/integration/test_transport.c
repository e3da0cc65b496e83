/* The transport as users meet it on real networks: HTTPS checked against
 * a certificate the workflow names (ca_cert) or SSL_CERT_FILE, never by
 * turning checks off; a CONNECT proxy from HTTPS_PROXY, bypassed for
 * NO_PROXY hosts; connections reused across nodes; max_connections. The
 * simulated provider serves HTTPS with the test certificate in
 * tests/fixtures/tls. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char cert[512];

static int setup(void **state)
{
	const char *fx = getenv("QUORUM_FIXTURES");
	if (!fx)
		return -1;
	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", fx);
	char scenario[2048];
	snprintf(scenario, sizeof(scenario),
		 "tls: {cert: '%s', key: '%s/tls/key.pem'}\n"
		 "models:\n"
		 "  m: {latency: 20ms, answer: \"over https\"}\n", cert, fx);
	return h_group_setup(state, scenario);
}

static int teardown(void **state) { return h_group_teardown(state); }

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A workflow of one node with n calls to the HTTPS mock; extra goes on
 * the model. */
static void write_wf(struct harness *h, const char *extra, int n)
{
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "models:\n"
		 "  m: {provider: openai, base_url: \"https://127.0.0.1:%d/v1\","
		 " api_key_env: \"\", model: m, retries: 0%s}\n"
		 "nodes:\n"
		 "  ask: {kind: generate, models: [m], samples: %d, prompt: \"{{ query }}\"}\n"
		 "  again: {kind: generate, models: [m], prompt: \"{{ nodes.ask.output }}\"}\n",
		 mock_port(h->mock), extra, n);
	h_workflow(h, yaml);
}

/* The certificate is checked: unknown, the call fails; named by ca_cert
 * or by SSL_CERT_FILE, it goes through. */
static void test_certificates(void **state)
{
	struct harness *h = *state;
	write_wf(h, "", 1);
	assert_string_equal(h_run(h, "q", NULL), "failed");
	const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(h_node(h, "ask"), "responses"), 0);
	const cJSON *e = cJSON_GetObjectItem(r0, "error");
	assert_string_equal(str_of(e, "class"), "connection");
	assert_non_null(strstr(str_of(e, "message"), "certificate"));

	char extra[700];
	snprintf(extra, sizeof(extra), ", ca_cert: '%s'", cert);
	write_wf(h, extra, 1);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_string_equal(str_of(h->report, "output"), "over https");

	write_wf(h, "", 1);
	setenv("SSL_CERT_FILE", cert, 1);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	unsetenv("SSL_CERT_FILE");
}

/* Two nodes, one after the other, on one connection; max_connections: 1
 * keeps five calls to one connection, one request at a time. */
static void test_connections(void **state)
{
	struct harness *h = *state;
	char extra[700];
	snprintf(extra, sizeof(extra), ", ca_cert: '%s'", cert);
	write_wf(h, extra, 1);
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	struct mock_stats st;
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.connections, 1);

	snprintf(extra, sizeof(extra), ", ca_cert: '%s', max_connections: 1", cert);
	write_wf(h, extra, 5);
	mock_reset_stats(h->mock);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	mock_get_stats(h->mock, &st);
	assert_int_equal(st.requests, 6);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.peak_in_flight, 1);
}

/* ---- a CONNECT proxy ---- */

struct proxy {
	int fd, port;
	atomic_long connects;
	pthread_t thread;
};

/* Copies bytes both ways until either side closes. */
static void relay(int a, int b)
{
	struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
	char buf[16384];
	for (;;) {
		if (poll(p, 2, 10000) <= 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = recv(p[i].fd, buf, sizeof(buf), 0);
			if (n <= 0 || send(p[1 - i].fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
				return;
		}
	}
}

/* One client: "CONNECT host:port HTTP/1.1", then a tunnel. */
static void *proxy_client(void *arg)
{
	struct proxy *px = ((void **)arg)[0];
	int c = (int)(intptr_t)((void **)arg)[1];
	free(arg);
	char head[4096];
	size_t n = 0;
	while (n < sizeof(head) - 1 && !strstr(head, "\r\n\r\n")) {
		ssize_t got = recv(c, head + n, sizeof(head) - 1 - n, 0);
		if (got <= 0)
			break;
		n += (size_t)got;
		head[n] = '\0';
	}
	int port = 0;
	char host[256] = "";
	if (sscanf(head, "CONNECT %255[^:]:%d ", host, &port) == 2) {
		atomic_fetch_add(&px->connects, 1);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a.sin_addr);
		int up = socket(AF_INET, SOCK_STREAM, 0);
		if (up >= 0 && !connect(up, (struct sockaddr *)&a, sizeof(a))) {
			static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
			if (send(c, ok, sizeof(ok) - 1, MSG_NOSIGNAL) > 0)
				relay(c, up);
		}
		if (up >= 0)
			close(up);
	}
	close(c);
	return NULL;
}

static void *proxy_serve(void *arg)
{
	struct proxy *px = arg;
	for (;;) {
		int c = accept(px->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		void **args = malloc(2 * sizeof(*args));
		args[0] = px;
		args[1] = (void *)(intptr_t)c;
		pthread_t t;
		if (pthread_create(&t, NULL, proxy_client, args) == 0)
			pthread_detach(t);
	}
}

static void proxy_start(struct proxy *px)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	px->fd = socket(AF_INET, SOCK_STREAM, 0);
	atomic_init(&px->connects, 0);
	assert_int_equal(bind(px->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(px->fd, 64), 0);
	getsockname(px->fd, (struct sockaddr *)&a, &len);
	px->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&px->thread, NULL, proxy_serve, px), 0);
}

static void proxy_stop(struct proxy *px)
{
	shutdown(px->fd, SHUT_RDWR);
	close(px->fd);
	pthread_join(px->thread, NULL);
}

/* HTTPS_PROXY sends the calls through the proxy with CONNECT; NO_PROXY
 * names hosts reached directly. */
static void test_proxy(void **state)
{
	struct harness *h = *state;
	struct proxy px;
	proxy_start(&px);
	char url[64], extra[700];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", px.port);
	snprintf(extra, sizeof(extra), ", ca_cert: '%s'", cert);
	write_wf(h, extra, 3);
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	setenv("HTTPS_PROXY", url, 1);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_true(atomic_load(&px.connects) >= 1);
	long through = atomic_load(&px.connects);
	setenv("NO_PROXY", "127.0.0.1", 1);
	assert_string_equal(h_run(h, "q", NULL), "ok");
	assert_int_equal(atomic_load(&px.connects), through);
	unsetenv("NO_PROXY");
	unsetenv("HTTPS_PROXY");
	proxy_stop(&px);
}

int main(void)
{
	quorum_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_connections),
		cmocka_unit_test(test_proxy),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	quorum_global_cleanup();
	return rc;
}
