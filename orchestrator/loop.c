/* The event loop's I/O side: libcurl's socket interface over one epoll
 * set. curl_multi_poll would hand the kernel every socket on every wait
 * and curl_multi_perform would visit every transfer on every wake, which
 * is O(calls) per event: at 10,000 calls in flight that, not the network,
 * becomes the cost. Here curl tells us which sockets to watch and we tell
 * it which one is ready, so each event costs O(1). */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "loop.h"

#define EVENTS_PER_WAIT 512
#define IDLE_CONNECTIONS 100000
#define EASY_POOL_MAX 1024

struct loop {
	CURLM *multi;
	int epfd;
	int wake_fd;
	struct timer_heap timers;
	struct timer_entry curl_timer; /* curl's own timeout, in our heap */
	size_t transfers;
	size_t idle_conns;
	CURL **pool;
	size_t npool, pool_cap;
};

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct loop *l = userp;
	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	struct epoll_event ev = {0};
	ev.data.fd = s;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(l->epfd, op, s, &ev) && errno == EEXIST)
		epoll_ctl(l->epfd, EPOLL_CTL_MOD, s, &ev);
	else if (op == EPOLL_CTL_MOD && errno == ENOENT)
		epoll_ctl(l->epfd, EPOLL_CTL_ADD, s, &ev);
	if (!socketp)
		curl_multi_assign(l->multi, s, l);
	return 0;
}

static void curl_timer_fire(void *ctx)
{
	struct loop *l = ctx;
	int running;
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct loop *l = userp;
	(void)m;
	if (timeout_ms < 0)
		timer_disarm(&l->timers, &l->curl_timer);
	else
		timer_arm(&l->timers, &l->curl_timer, clock_ms() + timeout_ms);
	return 0;
}

struct loop *loop_new(int wake_fd)
{
	struct loop *l = q_calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	timer_heap_init(&l->timers);
	l->wake_fd = wake_fd;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->multi = curl_multi_init();
	if (l->epfd < 0 || !l->multi) {
		loop_free(l);
		return NULL;
	}
	l->curl_timer.fire = curl_timer_fire;
	l->curl_timer.ctx = l;
	l->curl_timer.pos = (size_t)-1;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	/* curl sizes its idle-connection cache at 4 x the handles it has;
	 * as a wide fan-out drains, that bound shrinks below the cache and
	 * every finished call scans the whole cache for the oldest one to
	 * close. A fixed, modest cache keeps that scan short. */
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)IDLE_CONNECTIONS);
	if (wake_fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = wake_fd};
		epoll_ctl(l->epfd, EPOLL_CTL_ADD, wake_fd, &ev);
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->npool)
		curl_easy_cleanup(l->pool[--l->npool]);
	q_free(l->pool);
	if (l->multi)
		curl_multi_cleanup(l->multi);
	if (l->epfd >= 0)
		close(l->epfd);
	timer_heap_release(&l->timers);
	q_free(l);
}

int loop_add(struct loop *l, CURL *e, struct loop_xfer *x)
{
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(l->multi, e) != CURLM_OK)
		return -1;
	l->transfers++;
	return 0;
}

void loop_remove(struct loop *l, CURL *e)
{
	if (curl_multi_remove_handle(l->multi, e) == CURLM_OK && l->transfers)
		l->transfers--;
}

size_t loop_transfers(const struct loop *l) { return l->transfers; }

CURL *loop_easy_get(struct loop *l)
{
	if (!l->npool)
		return curl_easy_init();
	CURL *e = l->pool[--l->npool];
	curl_easy_reset(e);
	return e;
}

void loop_easy_put(struct loop *l, CURL *e)
{
	if (l->npool == l->pool_cap && l->pool_cap < EASY_POOL_MAX) {
		size_t cap = l->pool_cap ? l->pool_cap * 2 : 64;
		CURL **p = q_realloc(l->pool, cap * sizeof(*p));
		if (p) {
			l->pool = p;
			l->pool_cap = cap;
		}
	}
	if (l->npool < l->pool_cap)
		l->pool[l->npool++] = e;
	else
		curl_easy_cleanup(e);
}

void loop_idle_put(struct loop *l) { l->idle_conns++; }

int loop_idle_take(struct loop *l)
{
	if (!l->idle_conns)
		return 0;
	l->idle_conns--;
	return 1;
}

int loop_timer_arm(struct loop *l, struct timer_entry *t, int64_t when)
{
	return timer_arm(&l->timers, t, when);
}

void loop_timer_disarm(struct loop *l, struct timer_entry *t)
{
	timer_disarm(&l->timers, t);
}

int64_t loop_timer_next(const struct loop *l) { return timer_next(&l->timers); }

void loop_timers_run(struct loop *l, int64_t now) { timer_run(&l->timers, now); }

/* Copies what it needs before the handle leaves the multi: the message
 * dies with it. */
void loop_reap(struct loop *l)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(l->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURLcode code = msg->data.result;
		struct loop_xfer *x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x && x->done)
			x->done(x->ctx, msg->easy_handle, code);
	}
}

static void drain(int fd)
{
	char b[64];
	while (read(fd, b, sizeof(b)) > 0)
		;
}

void loop_wait(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[EVENTS_PER_WAIT];
	int n = epoll_wait(l->epfd, ev, EVENTS_PER_WAIT, timeout_ms);
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;
		if (fd == l->wake_fd) {
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
		curl_multi_socket_action(l->multi, fd, flags, &running);
	}
	loop_reap(l);
}
