/* The event loop's I/O side: libcurl's socket interface over one epoll
 * set. curl_multi_poll would hand the kernel every socket on every wait
 * and curl_multi_perform would visit every transfer on every wake, which
 * is O(calls) per event: at 10,000 calls in flight that, not the network,
 * becomes the cost. Here curl tells us which sockets to watch and we tell
 * it which one is ready, so each event costs O(1). */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../common/clock.h"
#include "run.h"

#define EVENTS_PER_WAIT 512
#define IDLE_CONNECTIONS 100000

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct run *r = userp;
	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	struct epoll_event ev = {0};
	ev.data.fd = s;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(r->epfd, op, s, &ev) && errno == EEXIST)
		epoll_ctl(r->epfd, EPOLL_CTL_MOD, s, &ev);
	else if (op == EPOLL_CTL_MOD && errno == ENOENT)
		epoll_ctl(r->epfd, EPOLL_CTL_ADD, s, &ev);
	if (!socketp)
		curl_multi_assign(r->multi, s, r);
	return 0;
}

static void curl_timer_fire(void *ctx)
{
	struct run *r = ctx;
	int running;
	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct run *r = userp;
	(void)m;
	if (timeout_ms < 0)
		timer_disarm(&r->timers, &r->curl_timer);
	else
		timer_arm(&r->timers, &r->curl_timer, clock_ms() + timeout_ms);
	return 0;
}

int loop_init(struct run *r)
{
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->multi = curl_multi_init();
	if (r->epfd < 0 || !r->multi)
		return -1;
	r->curl_timer.fire = curl_timer_fire;
	r->curl_timer.ctx = r;
	r->curl_timer.pos = (size_t)-1;
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
	/* curl sizes its idle-connection cache at 4 x the handles it has;
	 * as a wide fan-out drains, that bound shrinks below the cache and
	 * every finished call scans the whole cache for the oldest one to
	 * close. A fixed, modest cache keeps that scan short. */
	curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)IDLE_CONNECTIONS);
	if (r->opts->wake_fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = r->opts->wake_fd};
		epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->opts->wake_fd, &ev);
	}
	return 0;
}

void loop_release(struct run *r)
{
	if (r->multi)
		curl_multi_cleanup(r->multi);
	r->multi = NULL;
	if (r->epfd >= 0)
		close(r->epfd);
	r->epfd = -1;
}

/* Hands finished transfers to their calls. Copies what it needs before
 * the handle leaves the multi: the message dies with it. */
void loop_reap(struct run *r)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(r->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *e = msg->easy_handle;
		CURLcode code = msg->data.result;
		struct call *c = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
		if (c && c->easy == e)
			call_transfer_done(c, code);
	}
}

static void drain(int fd)
{
	char b[64];
	while (read(fd, b, sizeof(b)) > 0)
		;
}

void loop_wait(struct run *r, int timeout_ms)
{
	struct epoll_event ev[EVENTS_PER_WAIT];
	int n = epoll_wait(r->epfd, ev, EVENTS_PER_WAIT, timeout_ms);
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;
		if (fd == r->opts->wake_fd) {
			drain(fd);
			continue;
		}
		int flags = 0;
		if (ev[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		int running;
		curl_multi_socket_action(r->multi, fd, flags, &running);
	}
	loop_reap(r);
}
