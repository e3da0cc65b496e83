/* One epoll set of the sockets whose requests wait, one thread on it.
 * An event carries the descriptor and the generation of its watch, not a
 * pointer: epoll_wait returns outside the lock, so by the time an event
 * is handled its watch may be gone (the request freed) or the descriptor
 * reused by another request. Events are handled under the lock that
 * unwatch takes, and only when the watch they name is still the one
 * registered, so the callback never runs for a request its owner has
 * let go, nor for another request on a reused descriptor. */
#include "hangup.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/alloc.h"

/* What is watched on one descriptor, indexed by the descriptor. */
struct watch {
	void *ctx;          /* NULL: nothing */
	uint32_t gen;       /* bumped by every watch of this descriptor */
};

struct hangup {
	pthread_mutex_t lock;
	pthread_t thread;
	int started, stopping;
	int ep, wake;
	void (*gone)(void *ctx);
	struct watch *watches; /* by descriptor, under lock */
	size_t nwatches;
};

#define WAKE_EVENT UINT64_MAX

static uint64_t event_of(int fd, uint32_t gen) { return (uint64_t)(uint32_t)fd << 32 | gen; }

/* One event, under the lock. */
static void handle(struct hangup *h, uint64_t data)
{
	if (data == WAKE_EVENT)
		return;
	size_t fd = (size_t)(data >> 32);
	uint32_t gen = (uint32_t)data;
	if (fd >= h->nwatches || !h->watches[fd].ctx || h->watches[fd].gen != gen)
		return; /* unwatched since epoll_wait returned it */
	void *ctx = h->watches[fd].ctx;
	h->watches[fd].ctx = NULL; /* one-shot */
	h->gone(ctx);
}

static void *hangup_main(void *arg)
{
	struct hangup *h = arg;
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(h->ep, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&h->lock);
		int stop = h->stopping;
		for (int i = 0; i < n && !stop; i++)
			handle(h, evs[i].data.u64);
		pthread_mutex_unlock(&h->lock);
		if (stop)
			break;
	}
	return NULL;
}

struct hangup *hangup_new(void (*gone)(void *ctx))
{
	struct hangup *h = q_calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->gone = gone;
	if (pthread_mutex_init(&h->lock, NULL)) {
		q_free(h);
		return NULL;
	}
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	h->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_EVENT};
	if (h->ep < 0 || h->wake < 0 || epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake, &ev) ||
	    pthread_create(&h->thread, NULL, hangup_main, h)) {
		hangup_free(h);
		return NULL;
	}
	h->started = 1;
	return h;
}

/* Room for descriptor fd in the table (lock held). Returns 0 or -1. */
static int reserve(struct hangup *h, size_t fd)
{
	if (fd < h->nwatches)
		return 0;
	size_t n = h->nwatches ? h->nwatches : 256;
	while (n <= fd)
		n *= 2;
	struct watch *w = q_realloc(h->watches, n * sizeof(*w));
	if (!w)
		return -1;
	for (size_t i = h->nwatches; i < n; i++)
		w[i] = (struct watch){NULL, 0};
	h->watches = w;
	h->nwatches = n;
	return 0;
}

int hangup_watch(struct hangup *h, int fd, void *ctx)
{
	if (fd < 0 || !ctx)
		return -1;
	pthread_mutex_lock(&h->lock);
	int rc = -1;
	if (!reserve(h, (size_t)fd)) {
		struct watch *w = &h->watches[fd];
		w->gen++;
		/* One-shot: a socket that hung up stays readable for ever. */
		struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT,
					 .data.u64 = event_of(fd, w->gen)};
		rc = epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev);
		if (rc && errno == EEXIST)
			rc = epoll_ctl(h->ep, EPOLL_CTL_MOD, fd, &ev);
		w->ctx = rc ? NULL : ctx;
	}
	pthread_mutex_unlock(&h->lock);
	return rc ? -1 : 0;
}

void hangup_unwatch(struct hangup *h, int fd, void *ctx)
{
	pthread_mutex_lock(&h->lock);
	/* A watch that fired, or a descriptor another request now watches,
	 * is left alone: the next watch of it replaces the registration. */
	if (fd >= 0 && (size_t)fd < h->nwatches && h->watches[fd].ctx == ctx) {
		h->watches[fd].ctx = NULL;
		h->watches[fd].gen++;
		epoll_ctl(h->ep, EPOLL_CTL_DEL, fd, NULL);
	}
	pthread_mutex_unlock(&h->lock);
}

void hangup_free(struct hangup *h)
{
	if (!h)
		return;
	if (h->started) {
		pthread_mutex_lock(&h->lock);
		h->stopping = 1;
		pthread_mutex_unlock(&h->lock);
		uint64_t one = 1;
		if (write(h->wake, &one, sizeof(one)) < 0) {
			/* the counter is full: the thread is already due to wake */
		}
		pthread_join(h->thread, NULL);
	}
	if (h->ep >= 0)
		close(h->ep);
	if (h->wake >= 0)
		close(h->wake);
	q_free(h->watches);
	pthread_mutex_destroy(&h->lock);
	q_free(h);
}
