#ifndef QUORUM_LOOP_H
#define QUORUM_LOOP_H
/* The event loop: sockets, timers and finished transfers, nothing of
 * calls, nodes or runs (redis's ae.c is the model). One thread drives it;
 * every callback runs on that thread.
 *
 * A transfer is a curl easy handle handed over with loop_add and a
 * struct loop_xfer the caller owns: when curl is done with it, the loop
 * calls xfer->done(xfer->ctx, handle, code), and the caller removes the
 * handle.
 * Timers are common/timer.h entries the caller owns, armed here. */
#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/timer.h"

struct loop;

typedef void loop_done_fn(void *ctx, CURL *e, CURLcode code);

struct loop_xfer {
	loop_done_fn *done;
	void *ctx;
	void *lane;                   /* the loop's, while the handle is in it */
};

/* Returns new (free with loop_free), or NULL when an epoll set or a curl
 * multi handle cannot be made. */
struct loop *loop_new(void);
/* Watches fd, whose readability only ends a wait early (a signal
 * handler's pipe, an eventfd another thread writes); what it holds is
 * drained. Watching one twice is harmless. Returns 0 or -1. */
int loop_watch(struct loop *l, int fd);
/* Frees the loop, its pool of easy handles and the multi handle. Every
 * transfer must have been removed. loop_free(NULL) is a no-op. */
void loop_free(struct loop *l);

/* Starts a transfer; x is borrowed until done is called or the handle is
 * removed. max_connections > 0 caps the connections to each host that
 * the transfers of that same cap share (0: no cap). Returns 0, or -1 when
 * curl refuses it. */
int loop_add(struct loop *l, CURL *e, struct loop_xfer *x, long max_connections);
/* Takes the handle out of the loop (done, cancelled or failed to start). */
void loop_remove(struct loop *l, CURL *e, struct loop_xfer *x);
/* Transfers in flight. */
size_t loop_transfers(const struct loop *l);

/* A reset easy handle (curl_easy_init is a good part of a call's cost, so
 * handles are reused), or NULL. */
CURL *loop_easy_get(struct loop *l);
/* Gives a handle back for reuse (or frees it when the pool is full). */
void loop_easy_put(struct loop *l, CURL *e);

/* Kept-alive connections, an estimate: put when a transfer left its
 * connection in curl's cache, take (1 when there was one) before a new
 * transfer that may reuse one. */
void loop_idle_put(struct loop *l);
int loop_idle_take(struct loop *l);

/* Arms (or re-arms) t at `when` (ms, monotonic). Returns 0, or -1 when
 * memory ran out. */
int loop_timer_arm(struct loop *l, struct timer_entry *t, int64_t when);
void loop_timer_disarm(struct loop *l, struct timer_entry *t);
/* The nearest timer, or -1 when none is armed. */
int64_t loop_timer_next(const struct loop *l);
/* Fires the timers due at now. */
void loop_timers_run(struct loop *l, int64_t now);

/* Hands finished transfers to their done callbacks. */
void loop_reap(struct loop *l);
/* Waits up to timeout_ms for socket events (0: a poll), lets curl act on
 * them, then reaps. */
void loop_wait(struct loop *l, int timeout_ms);

#endif
