#include "park.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "../common/timer.h"

/* Heap entries and epoll registrations change only under `lock`; a parked
 * request cannot be freed (MHD never completes a suspended connection), so
 * the pointers in the heap and in epoll events stay valid while parked. */
struct mock_timer {
	pthread_mutex_t lock;
	pthread_t thread;
	int started;
	int stopping;
	int ep;       /* epoll: the wake eventfd and every parked socket */
	int wake;     /* eventfd: a new earliest deadline, or stop */
	struct timer_heap heap; /* of mock_park.due */
};

/* Takes p out of the heap and epoll, then lets MHD run it again. Called
 * with the lock held. */
static void timer_release(struct mock_timer *t, struct mock_park *p, int gone)
{
	timer_disarm(&t->heap, &p->due);
	epoll_ctl(t->ep, EPOLL_CTL_DEL, p->fd, NULL);
	p->parked = 0;
	if (gone)
		atomic_store(&p->gone, 1);
	MHD_resume_connection(p->conn);
}

/* A deadline came (timer_run, lock held), or the timer is stopping and
 * ends every parked connection: then the client is taken for gone. */
static void park_due(void *ctx)
{
	struct mock_park *p = ctx;
	timer_release(p->timer, p, p->timer->stopping);
}

static int timer_wait_ms(struct mock_timer *t)
{
	int64_t next = timer_next(&t->heap);
	if (next < 0 || next == INT64_MAX)
		return -1;
	int64_t d = next - clock_ms();
	if (d <= 0)
		return 0;
	return d > 60000 ? 60000 : (int)d;
}

static void timer_events(struct mock_timer *t, struct epoll_event *evs, int n)
{
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL) {
			uint64_t v;
			if (read(t->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
				continue;
			continue;
		}
		struct mock_park *p = evs[i].data.ptr;
		if (p->parked)
			timer_release(t, p, 1);
	}
}

static void *timer_main(void *arg)
{
	struct mock_timer *t = arg;
	struct epoll_event evs[256];
	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		timer_run(&t->heap, clock_ms());
		int wait = timer_wait_ms(t);
		pthread_mutex_unlock(&t->lock);
		int n = epoll_wait(t->ep, evs, 256, wait);
		pthread_mutex_lock(&t->lock);
		if (n > 0 && !t->stopping)
			timer_events(t, evs, n);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

struct mock_timer *mock_timer_new(struct qerr *e)
{
	struct mock_timer *t = q_calloc(1, sizeof(*t));
	if (!t) {
		qerr_set(e, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	timer_heap_init(&t->heap);
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (t->ep < 0 || t->wake < 0 || epoll_ctl(t->ep, EPOLL_CTL_ADD, t->wake, &ev))
		goto fail;
	if (pthread_create(&t->thread, NULL, timer_main, t))
		goto fail;
	t->started = 1;
	return t;
fail:
	qerr_set(e, "cannot start the mock timer: %s", strerror(errno));
	mock_timer_free(t);
	return NULL;
}

static void timer_poke(struct mock_timer *t)
{
	uint64_t one = 1;
	if (write(t->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

int mock_timer_park(struct mock_timer *t, struct mock_park *p, int64_t due_ms)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(p->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_mutex_lock(&t->lock);
	if (t->stopping || !ci)
		goto fail;
	/* The timer thread handles events only under the lock, so watching
	 * the socket before suspending cannot lose a hang-up. */
	p->fd = ci->connect_fd;
	struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = p};
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, p->fd, &ev))
		goto fail;
	p->timer = t;
	p->due.fire = park_due;
	p->due.ctx = p;
	if (timer_arm(&t->heap, &p->due, due_ms)) {
		epoll_ctl(t->ep, EPOLL_CTL_DEL, p->fd, NULL);
		goto fail;
	}
	MHD_suspend_connection(p->conn);
	p->parked = 1;
	if (p->due.pos == 0)
		timer_poke(t);
	pthread_mutex_unlock(&t->lock);
	return 0;
fail:
	pthread_mutex_unlock(&t->lock);
	return -1;
}

void mock_timer_stop(struct mock_timer *t)
{
	if (!t || !t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = 1;
	timer_run(&t->heap, INT64_MAX); /* every one, as gone (park_due) */
	timer_poke(t);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	t->started = 0;
}

void mock_timer_free(struct mock_timer *t)
{
	if (!t)
		return;
	mock_timer_stop(t);
	if (t->ep >= 0)
		close(t->ep);
	if (t->wake >= 0)
		close(t->wake);
	timer_heap_release(&t->heap);
	pthread_mutex_destroy(&t->lock);
	q_free(t);
}

size_t mock_timer_parked(struct mock_timer *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->heap.n;
	pthread_mutex_unlock(&t->lock);
	return n;
}
