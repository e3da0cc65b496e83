#include "timer.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../common/alloc.h"
#include "../../common/clock.h"

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
	struct mock_park **heap;
	size_t n, cap;
};

static int park_before(const struct mock_park *a, const struct mock_park *b)
{
	return a->due_ms < b->due_ms;
}

static void heap_set(struct mock_timer *t, size_t i, struct mock_park *p)
{
	t->heap[i] = p;
	p->pos = i;
}

static void heap_up(struct mock_timer *t, size_t i)
{
	struct mock_park *p = t->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!park_before(p, t->heap[parent]))
			break;
		heap_set(t, i, t->heap[parent]);
		i = parent;
	}
	heap_set(t, i, p);
}

static void heap_down(struct mock_timer *t, size_t i)
{
	struct mock_park *p = t->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= t->n)
			break;
		if (c + 1 < t->n && park_before(t->heap[c + 1], t->heap[c]))
			c++;
		if (!park_before(t->heap[c], p))
			break;
		heap_set(t, i, t->heap[c]);
		i = c;
	}
	heap_set(t, i, p);
}

static void heap_remove(struct mock_timer *t, struct mock_park *p)
{
	size_t i = p->pos;
	struct mock_park *last = t->heap[--t->n];
	if (i < t->n) {
		heap_set(t, i, last);
		heap_down(t, i);
		heap_up(t, last->pos);
	}
}

/* Takes p out of the heap and epoll, then lets MHD run it again. Called
 * with the lock held. */
static void timer_release(struct mock_timer *t, struct mock_park *p, int gone)
{
	heap_remove(t, p);
	epoll_ctl(t->ep, EPOLL_CTL_DEL, p->fd, NULL);
	p->parked = 0;
	if (gone)
		atomic_store(&p->gone, 1);
	MHD_resume_connection(p->conn);
}

static int timer_wait_ms(struct mock_timer *t)
{
	if (t->n == 0 || t->heap[0]->due_ms == INT64_MAX)
		return -1;
	int64_t d = t->heap[0]->due_ms - clock_ms();
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
		int64_t now = clock_ms();
		while (t->n && t->heap[0]->due_ms <= now)
			timer_release(t, t->heap[0], 0);
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

static int heap_reserve(struct mock_timer *t)
{
	if (t->n < t->cap)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 256;
	struct mock_park **h = q_realloc(t->heap, cap * sizeof(*h));
	if (!h)
		return -1;
	t->heap = h;
	t->cap = cap;
	return 0;
}

int mock_timer_park(struct mock_timer *t, struct mock_park *p, int64_t due_ms)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(p->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_mutex_lock(&t->lock);
	if (t->stopping || !ci || heap_reserve(t)) {
		pthread_mutex_unlock(&t->lock);
		return -1;
	}
	/* The timer thread handles events only under the lock, so watching
	 * the socket before suspending cannot lose a hang-up. */
	p->fd = ci->connect_fd;
	struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = p};
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, p->fd, &ev)) {
		pthread_mutex_unlock(&t->lock);
		return -1;
	}
	MHD_suspend_connection(p->conn);
	p->due_ms = due_ms;
	p->parked = 1;
	heap_set(t, t->n++, p);
	heap_up(t, p->pos);
	if (p->pos == 0)
		timer_poke(t);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void mock_timer_stop(struct mock_timer *t)
{
	if (!t || !t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = 1;
	while (t->n)
		timer_release(t, t->heap[t->n - 1], 1);
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
	q_free(t->heap);
	pthread_mutex_destroy(&t->lock);
	q_free(t);
}

size_t mock_timer_parked(struct mock_timer *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}
