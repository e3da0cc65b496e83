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
#define WATCH_MAX 8
/* HTTP/2 streams per connection: curl's default of 100 would open a new
 * TLS connection for every hundred calls; the server's own limit (nginx:
 * 128, the providers' front ends: 100 to 1000) still applies. */
#define STREAMS_PER_CONNECTION 1000L
/* One lane per distinct max_connections a workflow sets; few ever do. */
#define LANES_MAX 8
/* The lane number an epoll event carries for a watched descriptor. */
#define LANE_WATCH 0xffffu

/* curl caps connections per host only for a whole multi handle, and a
 * model's max_connections must not cap the others: each distinct cap gets
 * a multi handle of its own (a lane), all on one epoll set and one timer
 * heap. Lane 0 has no cap. */
struct lane {
	struct loop *loop;
	CURLM *multi;
	long max_connections;         /* per host; 0: none */
	unsigned index;
	struct timer_entry timer;     /* curl's own timeout, in our heap */
};

struct loop {
	struct lane lanes[LANES_MAX];
	size_t nlanes;
	CURLSH *share;                /* TLS sessions and DNS, for every handle */
	int epfd;
	int watched[WATCH_MAX];       /* descriptors that only wake a wait */
	size_t nwatched;
	struct timer_heap timers;
	size_t transfers;
	size_t idle_conns;
	CURL **pool;
	size_t npool, pool_cap;
};

static uint64_t event_data(unsigned lane, int fd)
{
	return (uint64_t)lane << 32 | (uint32_t)fd;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct lane *ln = userp;
	int epfd = ln->loop->epfd;
	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	struct epoll_event ev = {0};
	ev.data.u64 = event_data(ln->index, s);
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(epfd, op, s, &ev) && errno == EEXIST)
		epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev);
	else if (op == EPOLL_CTL_MOD && errno == ENOENT)
		epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
	if (!socketp)
		curl_multi_assign(ln->multi, s, ln);
	return 0;
}

static void curl_timer_fire(void *ctx)
{
	struct lane *ln = ctx;
	int running;
	curl_multi_socket_action(ln->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct lane *ln = userp;
	(void)m;
	if (timeout_ms < 0)
		timer_disarm(&ln->loop->timers, &ln->timer);
	else
		timer_arm(&ln->loop->timers, &ln->timer, clock_ms() + timeout_ms);
	return 0;
}

/* The lane whose per-host cap is max_connections, made on first use.
 * NULL when no lane is left or curl cannot make a multi handle. */
static struct lane *lane_get(struct loop *l, long max_connections)
{
	for (size_t i = 0; i < l->nlanes; i++)
		if (l->lanes[i].max_connections == max_connections)
			return &l->lanes[i];
	if (l->nlanes == LANES_MAX)
		return NULL;
	struct lane *ln = &l->lanes[l->nlanes];
	if (!(ln->multi = curl_multi_init()))
		return NULL;
	ln->loop = l;
	ln->index = (unsigned)l->nlanes++;
	ln->max_connections = max_connections;
	ln->timer = (struct timer_entry){.fire = curl_timer_fire, .ctx = ln, .pos = (size_t)-1};
	CURLM *m = ln->multi;
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m, CURLMOPT_SOCKETDATA, ln);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m, CURLMOPT_TIMERDATA, ln);
	/* curl sizes its idle-connection cache at 4 x the handles it has;
	 * as a wide fan-out drains, that bound shrinks below the cache and
	 * every finished call scans the whole cache for the oldest one to
	 * close. A fixed, modest cache keeps that scan short. */
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)IDLE_CONNECTIONS);
	curl_multi_setopt(m, CURLMOPT_MAX_CONCURRENT_STREAMS, STREAMS_PER_CONNECTION);
	if (max_connections > 0)
		curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections);
	return ln;
}

struct loop *loop_new(void)
{
	struct loop *l = q_calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	timer_heap_init(&l->timers);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0 || !lane_get(l, 0)) {
		loop_free(l);
		return NULL;
	}
	/* A new connection to a host seen before resumes its TLS session
	 * (one round trip and the key exchange saved) and skips the DNS
	 * lookup. One thread uses the handles, so the share needs no lock. */
	if ((l->share = curl_share_init())) {
		curl_share_setopt(l->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
		curl_share_setopt(l->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	}
	return l;
}

static int is_watched(const struct loop *l, int fd)
{
	for (size_t i = 0; i < l->nwatched; i++)
		if (l->watched[i] == fd)
			return 1;
	return 0;
}

int loop_watch(struct loop *l, int fd)
{
	if (fd < 0 || is_watched(l, fd))
		return 0;
	if (l->nwatched == WATCH_MAX)
		return -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = event_data(LANE_WATCH, fd)};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	l->watched[l->nwatched++] = fd;
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->npool)
		curl_easy_cleanup(l->pool[--l->npool]);
	q_free(l->pool);
	for (size_t i = 0; i < l->nlanes; i++)
		curl_multi_cleanup(l->lanes[i].multi);
	if (l->share)
		curl_share_cleanup(l->share);
	if (l->epfd >= 0)
		close(l->epfd);
	timer_heap_release(&l->timers);
	q_free(l);
}

int loop_add(struct loop *l, CURL *e, struct loop_xfer *x, long max_connections)
{
	struct lane *ln = lane_get(l, max_connections > 0 ? max_connections : 0);
	if (!ln)
		return -1;
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(ln->multi, e) != CURLM_OK)
		return -1;
	x->lane = ln;
	l->transfers++;
	return 0;
}

void loop_remove(struct loop *l, CURL *e, struct loop_xfer *x)
{
	struct lane *ln = x->lane;
	if (ln && curl_multi_remove_handle(ln->multi, e) == CURLM_OK && l->transfers)
		l->transfers--;
	x->lane = NULL;
}

size_t loop_transfers(const struct loop *l) { return l->transfers; }

CURL *loop_easy_get(struct loop *l)
{
	CURL *e;
	if (!l->npool) {
		e = curl_easy_init();
	} else {
		e = l->pool[--l->npool];
		curl_easy_reset(e);
	}
	if (e && l->share)
		curl_easy_setopt(e, CURLOPT_SHARE, l->share);
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
static void lane_reap(struct lane *ln)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(ln->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURLcode code = msg->data.result;
		struct loop_xfer *x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x && x->done)
			x->done(x->ctx, msg->easy_handle, code);
	}
}

void loop_reap(struct loop *l)
{
	for (size_t i = 0; i < l->nlanes; i++)
		lane_reap(&l->lanes[i]);
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
		unsigned lane = (unsigned)(ev[i].data.u64 >> 32);
		int fd = (int)(uint32_t)ev[i].data.u64;
		if (lane == LANE_WATCH) {
			drain(fd);
			continue;
		}
		if (lane >= l->nlanes)
			continue;
		int flags = 0;
		if (ev[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		int running;
		curl_multi_socket_action(l->lanes[lane].multi, fd, flags, &running);
	}
	loop_reap(l);
}
