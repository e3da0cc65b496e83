/* The event loop's I/O side: libcurl's socket interface over one epoll
 * set. curl_multi_poll would hand the kernel every socket on every wait
 * and curl_multi_perform would visit every transfer on every wake, which
 * is O(calls) per event: at 10,000 calls in flight that, not the network,
 * becomes the cost. Here curl tells us which sockets to watch and we tell
 * it which one is ready, so each event costs O(1). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
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
/* The most new connections one HTTPS origin opens at once (see gates). */
#define OPENING_MAX 16
/* The most connections of one origin whose sockets a gate corks (see
 * gate_cork); past that, a connection's requests go out one by one. */
#define GATE_FDS_MAX 64

/* curl caps connections per host only for a whole multi handle, and a
 * model's max_connections must not cap the others: each distinct cap gets
 * a multi handle of its own (a lane), all on one epoll set and one timer
 * heap. Lane 0 has no cap. */
struct gate;

struct lane {
	struct loop *loop;
	CURLM *multi;
	long max_connections;         /* per host; 0: none */
	unsigned index;
	struct timer_entry timer;     /* curl's own timeout, in our heap */
	struct gate *gates;           /* one per HTTPS origin seen */
};

/* The gate in front of curl for one HTTPS origin (scheme, host, port) of
 * one lane.
 *
 * curl 7.88 cannot see a connection that is still being set up when it
 * looks for one to reuse (its keep-alive bit is set only once TLS is
 * done), and PIPEWAIT waits only while the host's first connection is
 * unknown. So once the first HTTP/2 connection is full (the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS), every transfer curl starts before the
 * next connection is ready opens a connection of its own: 1,000 calls at
 * once made 745 TLS handshakes against a server allowing 256 streams.
 *
 * The gate keeps the transfers curl has no room for. The first goes alone
 * and opens the origin's first connection; the others wait until it is
 * ready (the opener's pretransfer time is set), then go one at a time
 * until one needs a new connection (CURLOPT_SOCKOPTFUNCTION says so):
 * what the ready connection carried then is the server's stream limit.
 * From then on the gate knows the room left (ready connections x streams
 * - streams in use) and hands curl that many at once, and opens as many
 * connections at once as the waiting transfers need (at most
 * OPENING_MAX). A transfer that wants a connection beyond those is
 * refused its socket, taken back and queued again, never failed: the room
 * was smaller than counted (a connection closed), and the count is mended.
 * A server that took one stream per connection (HTTP/1.1 over TLS) gets
 * no gate from then on; an opener that fails lets everything waiting
 * through, to fail or connect on its own. */
enum gstate { G_QUEUED, G_ADMITTED, G_OPENING, G_OUT };

struct gnode {
	struct gnode *prev, *next;    /* the gate's queue, or its openers */
	struct gate *g;
	CURL *e;
	struct loop_xfer *x;
	enum gstate state;
	int bounced;                  /* refused a socket: back to the queue */
};

struct gate {
	struct gate *next;
	struct lane *lane;
	struct gnode *head, *tail;    /* waiting, oldest first */
	struct gnode *openers;        /* admitted, opening a connection */
	size_t nqueued, nadmitted, nopening, nbounced;
	size_t nready;                /* connections ready, as far as we know */
	size_t streams;               /* a connection's streams; 0: not seen yet */
	int bypass;                   /* one stream per connection: no gate */
	int flush;                    /* an opener failed: let the queue through */
	int fds[GATE_FDS_MAX];        /* the sockets of its connections */
	size_t nfds;
	size_t origin_len;
	char origin[];
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
	struct timer_entry gate_timer; /* pumps the gates on the next turn */
	int gates_dirty;
};

static void gates_fire(void *ctx);

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
	l->gate_timer = (struct timer_entry){.fire = gates_fire, .ctx = l, .pos = (size_t)-1};
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
	for (size_t i = 0; i < l->nlanes; i++) {
		curl_multi_cleanup(l->lanes[i].multi);
		for (struct gate *g = l->lanes[i].gates, *next; g; g = next) {
			next = g->next;
			q_free(g);
		}
	}
	if (l->share)
		curl_share_cleanup(l->share);
	if (l->epfd >= 0)
		close(l->epfd);
	timer_heap_release(&l->timers);
	q_free(l);
}

static int is_lane(const struct loop *l, const void *p)
{
	return p >= (const void *)l->lanes && p < (const void *)(l->lanes + LANES_MAX);
}

/* The gate for the handle's URL when it is https (NULL otherwise, or when
 * the origin needs none, or memory ran out). curl keeps the URL as set. */
static struct gate *gate_find(struct lane *ln, CURL *e)
{
	char *url = NULL;
	if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &url) || !url ||
	    strncasecmp(url, "https://", 8))
		return NULL;
	size_t n = 8 + strcspn(url + 8, "/?#");
	for (struct gate *g = ln->gates; g; g = g->next)
		if (g->origin_len == n && !strncasecmp(g->origin, url, n))
			return g->bypass ? NULL : g;
	struct gate *g = q_calloc(1, sizeof(*g) + n + 1);
	if (!g)
		return NULL;
	memcpy(g->origin, url, n);
	g->origin_len = n;
	g->lane = ln;
	g->next = ln->gates;
	ln->gates = g;
	return g;
}

static void gnode_unlink(struct gnode **head, struct gnode **tail, struct gnode *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		*head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else if (tail)
		*tail = n->prev;
	n->prev = n->next = NULL;
}

static size_t gate_openers_allowed(const struct gate *g)
{
	if (!g->streams)
		return 1;
	size_t k = 1 + (g->nqueued + g->nbounced) / g->streams;
	return k < OPENING_MAX ? k : OPENING_MAX;
}

/* Streams in use on ready connections (admitted, not opening). */
static size_t gate_used(const struct gate *g)
{
	return g->nadmitted - g->nopening;
}

/* A socket of the origin's connections, to cork (when there is room). */
static void gate_fd_add(struct gate *g, curl_socket_t fd)
{
	if (g->nfds < GATE_FDS_MAX)
		g->fds[g->nfds++] = fd;
}

/* curl closes a socket the gate's transfers opened; the gate outlives
 * every connection (the multi handle is cleaned up first). */
static int gate_closesocket(void *ud, curl_socket_t fd)
{
	struct gate *g = ud;
	for (size_t i = 0; i < g->nfds; i++) {
		if (g->fds[i] == fd) {
			g->fds[i] = g->fds[--g->nfds];
			break;
		}
	}
	return close(fd);
}

/* Corks (on) or uncorks the sockets of the origin's connections. While
 * the gate hands curl many transfers at once, each request curl writes
 * (HEADERS, then DATA: two TLS records) waits in the kernel, and
 * uncorking sends them together, a few segments for hundreds of
 * requests. Written one by one, each wakes the server, which on a
 * machine it shares preempts us: 600 requests took 3 x longer to leave. */
static void gate_cork(const struct gate *g, int on)
{
	for (size_t i = 0; i < g->nfds; i++)
		setsockopt(g->fds[i], IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

/* curl made a socket for a new connection of this transfer: the ready
 * connections are full (or closed). */
static int gate_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	struct gnode *n = ud;
	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKOPT_OK;
	struct gate *g = n->g;
	if (n->state != G_ADMITTED || g->bypass || g->flush) {
		gate_fd_add(g, fd);
		return CURL_SOCKOPT_OK;
	}
	size_t used = gate_used(g) - 1; /* this one's not counted */
	if (!g->streams && used) {
		size_t per = used / (g->nready ? g->nready : 1);
		if (per <= 1) {
			g->bypass = 1;
			gate_fd_add(g, fd);
			return CURL_SOCKOPT_OK;
		}
		g->streams = per;
	}
	if (g->streams)
		g->nready = (used + g->streams - 1) / g->streams;
	if (g->nopening >= gate_openers_allowed(g)) {
		n->bounced = 1;
		g->nbounced++;
		return CURL_SOCKOPT_ERROR;
	}
	n->state = G_OPENING;
	g->nopening++;
	n->prev = NULL;
	n->next = g->openers;
	if (g->openers)
		g->openers->prev = n;
	g->openers = n;
	gate_fd_add(g, fd);
	return CURL_SOCKOPT_OK;
}

/* Hands curl the queue's first n transfers; with sync, lets curl act on
 * them at once. */
static void gate_admit(struct gate *g, size_t n, int sync)
{
	CURLM *m = g->lane->multi;
	while (n-- && g->head) {
		struct gnode *gn = g->head;
		gnode_unlink(&g->head, &g->tail, gn);
		g->nqueued--;
		if (curl_multi_add_handle(m, gn->e) != CURLM_OK) {
			gn->state = G_OUT;
			gn->x->done(gn->x->ctx, gn->e, CURLE_OUT_OF_MEMORY);
			continue;
		}
		gn->state = G_ADMITTED;
		g->nadmitted++;
	}
	if (sync) {
		int running;
		curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

/* Hands curl the gate's waiting transfers, as many as there is room for. */
static void gate_pump_queue(struct gate *g)
{
	while (g->head) {
		if (g->bypass || g->flush) {
			gate_admit(g, g->nqueued, 0);
			g->flush = 0;
			return;
		}
		size_t used = gate_used(g);
		if (g->streams && g->nready * g->streams > used) {
			/* Room on the ready connections: that many at once. */
			gate_admit(g, g->nready * g->streams - used, 1);
			if (g->nbounced)
				return; /* the room was smaller: wait for the reap */
			continue;
		}
		/* One at a time: onto the ready connection while its limit is
		 * unknown, or to open one when there is none or no room. */
		if (g->nready && !g->streams) {
			gate_admit(g, 1, 1);
			continue;
		}
		if (g->nopening < gate_openers_allowed(g) && !g->nbounced) {
			/* It opens a connection, or finds room after all (a
			 * stream ended): either way the next one may go. */
			gate_admit(g, 1, 1);
			continue;
		}
		return;
	}
}

/* gate_pump_queue, its requests sent together when there are several. */
static void gate_pump(struct gate *g)
{
	int cork = g->nqueued > 1 && g->nfds && !g->bypass && !g->flush;
	if (cork)
		gate_cork(g, 1);
	gate_pump_queue(g);
	if (cork)
		gate_cork(g, 0);
}

/* Openers whose connection is ready let the waiting ones go. */
static void gates_poll(struct loop *l)
{
	for (size_t i = 0; i < l->nlanes; i++) {
		for (struct gate *g = l->lanes[i].gates; g; g = g->next) {
			for (struct gnode *n = g->openers, *next; n; n = next) {
				next = n->next;
				curl_off_t t = 0;
				if (curl_easy_getinfo(n->e, CURLINFO_PRETRANSFER_TIME_T, &t) || t <= 0)
					continue;
				gnode_unlink(&g->openers, NULL, n);
				n->state = G_ADMITTED;
				g->nopening--;
				g->nready++;
			}
			if (g->head && !g->nbounced)
				gate_pump(g);
		}
	}
}

static void gates_fire(void *ctx)
{
	struct loop *l = ctx;
	l->gates_dirty = 0;
	gates_poll(l);
}

static void gates_kick(struct loop *l)
{
	if (!l->gates_dirty) {
		l->gates_dirty = 1;
		timer_arm(&l->timers, &l->gate_timer, clock_ms());
	}
}

int loop_add(struct loop *l, CURL *e, struct loop_xfer *x, long max_connections)
{
	struct lane *ln = lane_get(l, max_connections > 0 ? max_connections : 0);
	if (!ln)
		return -1;
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	struct gate *g = gate_find(ln, e);
	struct gnode *n = g ? q_calloc(1, sizeof(*n)) : NULL;
	if (!n) {
		if (curl_multi_add_handle(ln->multi, e) != CURLM_OK)
			return -1;
		x->lane = ln;
		l->transfers++;
		return 0;
	}
	n->g = g;
	n->e = e;
	n->x = x;
	n->state = G_QUEUED;
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, gate_sockopt);
	curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, n);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, gate_closesocket);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, g);
	n->prev = g->tail;
	if (g->tail)
		g->tail->next = n;
	else
		g->head = n;
	g->tail = n;
	g->nqueued++;
	x->lane = n;
	l->transfers++;
	gates_kick(l);
	return 0;
}

void loop_remove(struct loop *l, CURL *e, struct loop_xfer *x)
{
	if (!x->lane)
		return;
	if (is_lane(l, x->lane)) {
		struct lane *ln = x->lane;
		if (curl_multi_remove_handle(ln->multi, e) == CURLM_OK && l->transfers)
			l->transfers--;
		x->lane = NULL;
		return;
	}
	struct gnode *n = x->lane;
	struct gate *g = n->g;
	switch (n->state) {
	case G_QUEUED:
		gnode_unlink(&g->head, &g->tail, n);
		g->nqueued--;
		break;
	case G_OPENING:
		gnode_unlink(&g->openers, NULL, n);
		g->nopening--;
		/* fallthrough */
	case G_ADMITTED:
		curl_multi_remove_handle(g->lane->multi, e);
		g->nadmitted--;
		if (n->bounced)
			g->nbounced--;
		break;
	case G_OUT:
		break;
	}
	if (l->transfers)
		l->transfers--;
	x->lane = NULL;
	q_free(n);
	if (g->head)
		gates_kick(l);
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
		if (x && x->lane && !is_lane(ln->loop, x->lane)) {
			struct gnode *n = x->lane;
			struct gate *g = n->g;
			if (n->bounced) {
				/* Refused a socket by the gate: queued again,
				 * first in line, as if it had never gone. */
				curl_multi_remove_handle(ln->multi, n->e);
				n->bounced = 0;
				g->nbounced--;
				g->nadmitted--;
				n->state = G_QUEUED;
				n->prev = NULL;
				n->next = g->head;
				if (g->head)
					g->head->prev = n;
				else
					g->tail = n;
				g->head = n;
				g->nqueued++;
				gates_kick(ln->loop);
				continue;
			}
			if (code != CURLE_OK && n->state == G_OPENING && g->head) {
				/* A connection that never became ready: whatever
				 * waited for it goes its own way. */
				g->flush = 1;
				gates_kick(ln->loop);
			}
		}
		if (x && x->done)
			x->done(x->ctx, msg->easy_handle, code);
	}
}

void loop_reap(struct loop *l)
{
	for (size_t i = 0; i < l->nlanes; i++)
		lane_reap(&l->lanes[i]);
	gates_poll(l);
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
