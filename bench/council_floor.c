/*
 * quorum-bench-council-floor: the calls of bench/council.c with nothing of
 * quorum, only libcurl: the floor any libcurl client meets on the same
 * machine against the same server.
 *
 *     quorum-bench-council-floor URL CAFILE N [SINGLES [BATCHES]]
 *     quorum-bench-council-floor URL CAFILE N --width
 *
 * URL is the chat completions URL (https: HTTP/2 over TLS, trusting CAFILE;
 * http: HTTP/1.1, CAFILE ignored). A council is 3 POSTs at once and, when
 * all 3 have answered, a fourth (the chairman): the shape and the request
 * bodies of workflows/council.yaml as bench/run points it at a server, but
 * no workflow, no JSON built or parsed (the mock streams its answers, as
 * asked; nginx sends one body), no report. As bench/council.c does: one
 * council alone (a warm-up), then SINGLES councils one after another
 * (default 5), then BATCHES times (default 3) N at once (the first opens
 * the connections the others reuse); one JSON line with each wall in ms.
 * With --width: N single POSTs at once from a cold start (one batch, as a
 * fresh `quorum run` of a generate node N wide).
 *
 * What a plain libcurl program does: the multi socket interface on epoll
 * (as orchestrator/loop.c), a new easy handle per request with curl's
 * default buffers, PIPEWAIT and HTTP/2 over TLS with at most as many
 * connections as N councils' calls need at 256 streams each (nginx's
 * limit in bench/run), curl's own connection reuse over plain HTTP.
 * Exit status 0 when every request got a 200, 1 otherwise, 2 on usage.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#define SERVER_STREAMS 256

struct council {
	int members_left;
};

struct xfer {
	struct council *c;
	int chair;
};

static CURLM *multi;
static int epfd;
static double timer_at = -1;     /* curl's timeout, monotonic ms; -1: none */
static const char *url, *cafile;
static int tls, width;
static struct curl_slist *headers;
static int left;                 /* councils (or --width requests) not done */
static int failed;

/* The bytes quorum sends for the council's members and its chairman, as
 * bench/run writes the council (workflows/council.yaml: stream true,
 * temperature 0.7, max_tokens 1024), and for one call of the width rows
 * (stream false, max_tokens 16). */
static const char body_member[] =
	"{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"con"
	"tent\":\"What is the capital of Australia?\\n\\nAnswer carefully. End wi"
	"th one line of the form \\\"Answer: <short answer>\\\".\\n\"}],\"tempera"
	"ture\":0.7,\"max_tokens\":1024,\"stream\":true,\"stream_options\":{\"inc"
	"lude_usage\":true}}";
static const char body_chair[] =
	"{\"model\":\"anthropic/claude-3.5-haiku\",\"messages\":[{\"role\":\"syst"
	"em\",\"content\":\"You have been provided with a set of responses from v"
	"arious models to the latest user query. Your task is to synthesize these"
	" responses into a single, high-quality response. It is crucial to critic"
	"ally evaluate the information provided in these responses, recognizing t"
	"hat some of it may be biased or incorrect. Your response should not simp"
	"ly replicate the given answers but should offer a refined, accurate, and"
	" comprehensive reply to the instruction. Ensure your response is well-st"
	"ructured, coherent, and adheres to the highest standards of accuracy and"
	" reliability. Answer the query directly: do not mention that you were gi"
	"ven several responses, and do not refer to them by number.\\n\\nResponse"
	"s from models:\\n\\n1. Canberra is the capital of Australia.\\nAnswer: C"
	"anberra\\n\\n2. Canberra is the capital of Australia.\\nAnswer: Canberra"
	"\\n\\n3. Canberra is the capital of Australia.\\nAnswer: Canberra\"},{\""
	"role\":\"user\",\"content\":\"Question: What is the capital of Australia"
	"?\\n\\nThe members' short answers were voted on; the most common one was"
	"\\n\\\"Canberra\\\". Write the best final answer. Where the\\nmembers di"
	"sagree, say so and explain which view is better supported.\\n\"}],\"temp"
	"erature\":0.7,\"max_tokens\":1024,\"stream\":true,\"stream_options\":{\""
	"include_usage\":true}}";
static const char body_width[] =
	"{\"model\":\"lat1000\",\"messages\":[{\"role\":\"user\",\"content\":"
	"\"What is the capital of Australia?\"}],\"max_tokens\":16,\"stream\":false}";

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t sink(char *data, size_t size, size_t n, void *ud)
{
	(void)data, (void)ud;
	return size * n;
}

static int start(struct council *c, int chair)
{
	CURL *e = curl_easy_init();
	struct xfer *x = malloc(sizeof(*x));
	if (!e || !x) {
		curl_easy_cleanup(e);
		free(x);
		return -1;
	}
	x->c = c;
	x->chair = chair;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, width ? body_width : chair ? body_chair : body_member);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (tls) {
		curl_easy_setopt(e, CURLOPT_CAINFO, cafile);
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	}
	return curl_multi_add_handle(multi, e) == CURLM_OK ? 0 : -1;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp)
{
	(void)e, (void)ud;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	struct epoll_event ev = {0};
	ev.data.fd = s;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(epfd, sockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev))
		epoll_ctl(epfd, sockp ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev);
	if (!sockp)
		curl_multi_assign(multi, s, &epfd);
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
	(void)m, (void)ud;
	timer_at = timeout_ms < 0 ? -1 : now_ms() + (double)timeout_ms;
	return 0;
}

static void reap(void)
{
	CURLMsg *msg;
	int n;
	while ((msg = curl_multi_info_read(multi, &n))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *e = msg->easy_handle;
		struct xfer *x = NULL;
		long code = 0;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result != CURLE_OK || code != 200) {
			if (!failed++)
				fprintf(stderr, "quorum-bench-council-floor: %s (HTTP %ld)\n",
					curl_easy_strerror(msg->data.result), code);
		}
		curl_multi_remove_handle(multi, e);
		curl_easy_cleanup(e);
		if (x->chair) {
			free(x->c);
			left--;
		} else if (--x->c->members_left == 0 && start(x->c, 1)) {
			failed++;
			free(x->c);
			left--;
		}
		free(x);
	}
}

/* n councils (or, with --width, n requests) at once until the last ends;
 * returns the wall in ms. */
static double batch(int n)
{
	double t0 = now_ms();
	int running;
	left = n;
	for (int i = 0; i < n; i++) {
		struct council *c = malloc(sizeof(*c));
		if (!c) {
			failed++;
			left--;
			continue;
		}
		c->members_left = 3;
		int bad = 0;
		if (width)
			bad = start(c, 1);
		else
			for (int k = 0; k < 3 && !bad; k++)
				bad = start(c, 0);
		if (bad) {
			failed++;
			left--;
		}
	}
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	while (left > 0) {
		struct epoll_event ev[512];
		double wait = timer_at < 0 ? 100 : timer_at - now_ms();
		int k = epoll_wait(epfd, ev, 512, wait < 0 ? 0 : (int)wait + 1);
		for (int i = 0; i < k; i++) {
			int flags = 0;
			if (ev[i].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (ev[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (ev[i].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			curl_multi_socket_action(multi, ev[i].data.fd, flags, &running);
		}
		if (timer_at >= 0 && now_ms() >= timer_at) {
			timer_at = -1;
			curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		reap();
	}
	return now_ms() - t0;
}

static void print_list(const char *name, const double *v, int n)
{
	printf("\"%s\": [", name);
	for (int i = 0; i < n; i++)
		printf("%s%.3f", i ? ", " : "", v[i]);
	printf("]");
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: quorum-bench-council-floor URL CAFILE N [SINGLES [BATCHES]]\n"
				"       quorum-bench-council-floor URL CAFILE N --width\n");
		return 2;
	}
	url = argv[1];
	cafile = argv[2];
	int n = atoi(argv[3]);
	width = argc > 4 && !strcmp(argv[4], "--width");
	int singles = argc > 4 && !width ? atoi(argv[4]) : 5;
	int batches = argc > 5 ? atoi(argv[5]) : 3;
	if (n <= 0 || singles < 0 || singles > 1000 || batches < 0 || batches > 100) {
		fprintf(stderr, "quorum-bench-council-floor: bad N, SINGLES or BATCHES\n");
		return 2;
	}
	tls = !strncmp(url, "https:", 6);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(multi = curl_multi_init()) ||
	    (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "quorum-bench-council-floor: cannot set up\n");
		return 2;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, 1000L);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 100000L);
	if (tls) {
		/* Without a cap, every request curl starts while the next
		 * connection is still in its handshake opens one of its own
		 * (see the gate in orchestrator/loop.c). */
		long calls = width ? n : 3L * n;
		curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				  (calls + SERVER_STREAMS - 1) / SERVER_STREAMS);
	}
	/* quorum's headers but its User-Agent (curl sends none by default). */
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!width)
		headers = curl_slist_append(headers, "Accept: text/event-stream");
	headers = curl_slist_append(headers, "Expect:");

	double *single_ms = calloc((size_t)singles + 1, sizeof(double));
	double *batch_ms = calloc((size_t)batches + 1, sizeof(double));
	if (!single_ms || !batch_ms)
		return 2;
	if (width) {
		double w = batch(n);
		printf("{\"width\": %d, \"wall_ms\": %.3f, \"failed\": %d}\n", n, w, failed);
	} else {
		double cold = batch(1);
		for (int i = 0; i < singles; i++)
			single_ms[i] = batch(1);
		for (int i = 0; i < batches; i++)
			batch_ms[i] = batch(n);
		printf("{\"n\": %d, \"cold_ms\": %.3f, ", n, cold);
		print_list("single_ms", single_ms, singles);
		printf(", ");
		print_list("batch_ms", batch_ms, batches);
		printf(", \"failed\": %d}\n", failed);
	}
	free(single_ms);
	free(batch_ms);
	curl_slist_free_all(headers);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
