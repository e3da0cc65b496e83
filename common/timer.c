#include "timer.h"

#include "alloc.h"

#define NOT_ARMED ((size_t)-1)

void timer_heap_init(struct timer_heap *h)
{
	h->items = NULL;
	h->n = h->cap = 0;
	h->seq = 0;
}

void timer_heap_release(struct timer_heap *h)
{
	q_free(h->items);
	timer_heap_init(h);
}

static void heap_set(struct timer_heap *h, size_t i, struct timer_entry *e)
{
	h->items[i] = e;
	e->pos = i;
}

/* Earlier deadline first; equal deadlines in arming order. */
static int before(const struct timer_entry *a, const struct timer_entry *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void sift_up(struct timer_heap *h, size_t i)
{
	struct timer_entry *e = h->items[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(e, h->items[parent]))
			break;
		heap_set(h, i, h->items[parent]);
		i = parent;
	}
	heap_set(h, i, e);
}

static void sift_down(struct timer_heap *h, size_t i)
{
	struct timer_entry *e = h->items[i];
	for (;;) {
		size_t l = 2 * i + 1, best = i;
		const struct timer_entry *b = e;
		if (l < h->n && before(h->items[l], b)) {
			best = l;
			b = h->items[l];
		}
		if (l + 1 < h->n && before(h->items[l + 1], b))
			best = l + 1;
		if (best == i)
			break;
		heap_set(h, i, h->items[best]);
		i = best;
	}
	heap_set(h, i, e);
}

void timer_disarm(struct timer_heap *h, struct timer_entry *e)
{
	size_t i = e->pos;
	if (i == NOT_ARMED || i >= h->n || h->items[i] != e)
		return;
	e->pos = NOT_ARMED;
	struct timer_entry *last = h->items[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	sift_down(h, i);
	sift_up(h, last->pos);
}

int timer_arm(struct timer_heap *h, struct timer_entry *e, int64_t when)
{
	if (e->pos != NOT_ARMED && e->pos < h->n && h->items[e->pos] == e) {
		e->when = when;
		e->seq = h->seq++;
		sift_up(h, e->pos);
		sift_down(h, e->pos);
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct timer_entry **p = q_realloc(h->items, cap * sizeof(*p));
		if (!p)
			return -1;
		h->items = p;
		h->cap = cap;
	}
	e->when = when;
	e->seq = h->seq++;
	heap_set(h, h->n, e);
	h->n++;
	sift_up(h, e->pos);
	return 0;
}

int64_t timer_next(const struct timer_heap *h)
{
	return h->n ? h->items[0]->when : -1;
}

size_t timer_run(struct timer_heap *h, int64_t now)
{
	size_t fired = 0;
	uint64_t start = h->seq;
	while (h->n && h->items[0]->when <= now && h->items[0]->seq < start) {
		struct timer_entry *e = h->items[0];
		timer_disarm(h, e);
		e->fire(e->ctx);
		fired++;
	}
	return fired;
}
