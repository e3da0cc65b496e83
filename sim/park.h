#ifndef QUORUM_SIM_PARK_H
#define QUORUM_SIM_PARK_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "../common/qerr.h"
#include "../common/timer.h"

/* Parks suspended connections until a deadline, so latency and chunk
 * delays never hold a server thread. One thread waits in epoll_wait with
 * the nearest deadline (a common/timer.h heap) as its timeout; the same
 * epoll set watches each parked socket for the client hanging up, which
 * MHD cannot see while a connection is suspended, so a hung request whose
 * client gave up is ended at once, not never. */
struct mock_timer;

/* Lives inside the request it parks; zeroed by its owner. */
struct mock_park {
	struct MHD_Connection *conn;
	int fd;
	struct mock_timer *timer;  /* set while parked */
	struct timer_entry due;    /* in its heap while parked; when = INT64_MAX:
				    * until the client goes */
	int parked;
	atomic_int gone;  /* set when the client hung up or the server stops */
};

/* Returns new; free with mock_timer_free. NULL with e set. */
struct mock_timer *mock_timer_new(struct qerr *e);

/* Suspends p->conn and resumes it at due_ms (clock_ms) or when its client
 * hangs up (then p->gone is set). Call only from an MHD access handler or
 * content reader of that connection. Returns 0, or -1 when the timer is
 * stopping or out of memory (the connection is then not suspended). */
int mock_timer_park(struct mock_timer *t, struct mock_park *p, int64_t due_ms);

/* Resumes every parked connection with `gone` set and refuses new ones;
 * after it, MHD_stop_daemon is safe. Joins the thread. */
void mock_timer_stop(struct mock_timer *t);

/* Stops if needed and frees; mock_timer_free(NULL) is a no-op. */
void mock_timer_free(struct mock_timer *t);

/* Connections parked now (for tests and stats). */
size_t mock_timer_parked(struct mock_timer *t);

#endif
