#ifndef QUORUM_SERVER_HANGUP_H
#define QUORUM_SERVER_HANGUP_H
/* Tells when a client hangs up while its request waits for its run.
 * libmicrohttpd does not look at a suspended connection's socket, so a
 * client that gave up would hold its run (and its calls, and a slot of
 * --max-runs) to the end; one thread watches those sockets instead
 * (EPOLLRDHUP) and calls back. */

struct hangup;

/* gone(ctx) runs on the watcher's thread, at most once per watch, and
 * never after hangup_unwatch of that watch returned. Returns new
 * (hangup_free), or NULL when a thread or descriptor cannot be had. */
struct hangup *hangup_new(void (*gone)(void *ctx));
/* Watches fd for ctx. Returns 0, or -1 (then nothing is watched). */
int hangup_watch(struct hangup *h, int fd, void *ctx);
/* Stops watching fd for ctx (nothing when the watch fired, or fd is
 * another request's now); after it, gone(ctx) is not called. */
void hangup_unwatch(struct hangup *h, int fd, void *ctx);
/* Joins the thread and frees; NULL is a no-op. */
void hangup_free(struct hangup *h);

#endif
