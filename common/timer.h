#ifndef QUORUM_TIMER_H
#define QUORUM_TIMER_H
#include <stddef.h>
#include <stdint.h>

/* A min-heap of timers, so the loop sleeps exactly until the nearest one
 * and a 10,000-call fan-out costs O(log n) per timer, not a scan. Entries
 * are owned by the heap's user (allocated from the run arena); an entry
 * is in at most one heap at a time. */
struct timer_entry {
	int64_t when;           /* ms, monotonic */
	uint64_t seq;           /* arming order: breaks ties, bounds timer_run */
	size_t pos;             /* index in the heap; (size_t)-1 when not armed */
	void (*fire)(void *ctx);
	void *ctx;
};

struct timer_heap {
	struct timer_entry **items;
	size_t n, cap;
	uint64_t seq;
};

void timer_heap_init(struct timer_heap *h);
void timer_heap_release(struct timer_heap *h);
/* Arms (or re-arms) e at `when`. Returns 0 or -1 when memory ran out. */
int timer_arm(struct timer_heap *h, struct timer_entry *e, int64_t when);
void timer_disarm(struct timer_heap *h, struct timer_entry *e);
/* The nearest deadline, or -1 when the heap is empty. */
int64_t timer_next(const struct timer_heap *h);
/* Fires every entry due at `now` that was armed before this call (each
 * is disarmed before its callback, which may re-arm it). An entry re-armed
 * for "now" from a callback waits for the next call, so a timer that keeps
 * asking for 0 ms (curl does, while it has work) cannot starve the
 * sockets. Returns how many fired. */
size_t timer_run(struct timer_heap *h, int64_t now);

#endif
