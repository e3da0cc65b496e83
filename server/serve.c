/* quorum serve's start, its engine's thread, and its stop: libmicrohttpd
 * on its own threads, the engine on the caller's, the hangup watcher on
 * one more. SIGTERM (c->stop): stop accepting, let the runs in flight
 * finish for the grace, interrupt the rest, answer them all, return. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "serve_int.h"

/* MHD's threads: enough to accept and parse for 64+ clients; none ever
 * waits on a run. */
#define SERVE_THREADS 4
#define SERVE_CONN_LIMIT 4096
/* After the last run ends, how long answers may take to leave. */
#define FLUSH_MS 3000

static int names_unique(struct serve *sv, FILE *log)
{
	const struct serve_config *c = sv->cfg;
	for (size_t i = 0; i < c->nwfs; i++) {
		for (size_t k = 0; k < i; k++) {
			if (strcmp(sv->names[i], sv->names[k]))
				continue;
			fprintf(log, "quorum: two workflows are named '%s': a model name must pick "
				"one (give one a 'name:')\n", sv->names[i]);
			return -1;
		}
	}
	return 0;
}

/* How many client connections this process can hold. Its soft limit on
 * descriptors is raised to the hard one (at most NOFILE_WANT), as Go's
 * runtime does: Debian's default soft 1024 would let 4096 clients take
 * every descriptor the engine's provider connections and files need, and
 * accept() would fail in a loop. Half are the clients'. */
#define NOFILE_WANT 65536
static unsigned conn_limit(FILE *log)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 512;
	rlim_t want = rl.rlim_max < NOFILE_WANT ? rl.rlim_max : NOFILE_WANT;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0 || !getrlimit(RLIMIT_NOFILE, &rl)) {
			/* Either raised, or read back as it is. */
		}
	}
	unsigned n = rl.rlim_cur / 2 < SERVE_CONN_LIMIT ? (unsigned)(rl.rlim_cur / 2)
							: SERVE_CONN_LIMIT;
	if (n < SERVE_CONN_LIMIT)
		fprintf(log, "quorum: at most %u client connections (open files limited to %llu: "
			"ulimit -n)\n", n, (unsigned long long)rl.rlim_cur);
	return n ? n : 1;
}

/* Starts MHD on c->host:c->port. Returns 0, or -1 with a message. */
static int listen_on(struct serve *sv)
{
	const struct serve_config *c = sv->cfg;
	struct sockaddr_in in4 = {0};
	struct sockaddr_in6 in6 = {0};
	struct sockaddr *sa;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	if (inet_pton(AF_INET, c->host, &in4.sin_addr) == 1) {
		in4.sin_family = AF_INET;
		in4.sin_port = htons((uint16_t)c->port);
		sa = (struct sockaddr *)&in4;
	} else if (inet_pton(AF_INET6, c->host, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		in6.sin6_port = htons((uint16_t)c->port);
		sa = (struct sockaddr *)&in6;
		flags |= MHD_USE_IPv6;
	} else {
		fprintf(c->log, "quorum: cannot listen on '%s': not an IPv4 or IPv6 address\n",
			c->host);
		return -1;
	}
	errno = 0;
	sv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, front_access, sv,
				      MHD_OPTION_SOCK_ADDR, sa,
				      MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SERVE_THREADS,
				      MHD_OPTION_CONNECTION_LIMIT, conn_limit(c->log),
				      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
				      MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				      MHD_OPTION_NOTIFY_COMPLETED, front_completed, sv,
				      MHD_OPTION_END);
	if (!sv->daemon) {
		fprintf(c->log, "quorum: cannot listen on %s:%d: %s\n", c->host, c->port,
			errno ? strerror(errno) : "the address is taken, or not this machine's");
		return -1;
	}
	return 0;
}

static int bound_port(struct serve *sv)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(sv->daemon,
							     MHD_DAEMON_INFO_BIND_PORT);
	return di ? di->port : sv->cfg->port;
}

/* Sleeps until a run is submitted, a signal comes, or ms pass. */
static void idle_wait(struct serve *sv, int ms)
{
	struct pollfd p[2] = {{.fd = sv->kick, .events = POLLIN},
			      {.fd = sv->cfg->stop_fd, .events = POLLIN}};
	if (poll(p, sv->cfg->stop_fd >= 0 ? 2 : 1, ms) > 0 && (p[0].revents & POLLIN)) {
		uint64_t v;
		if (read(sv->kick, &v, sizeof(v)) < 0) {
			/* drained by the engine's loop already */
		}
	}
}

/* Stops accepting: the listening socket closes, and requests on open
 * connections get 503. */
static void begin_drain(struct serve *sv)
{
	atomic_store(&sv->draining, 1);
	MHD_socket fd = MHD_quiesce_daemon(sv->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	long n = atomic_load(&sv->in_flight);
	if (sv->cfg->log)
		fprintf(sv->cfg->log, "quorum: stopping: %ld run%s in flight, %lld ms to finish\n",
			n, n == 1 ? "" : "s", sv->cfg->grace_ms);
}

/* The engine's thread: every run of every request, until stopped. */
static void engine_loop(struct serve *sv)
{
	const struct serve_config *c = sv->cfg;
	int64_t grace_end = -1;
	int cancelled = 0;
	for (;;) {
		if (*c->stop && grace_end < 0) {
			begin_drain(sv);
			grace_end = clock_ms() + c->grace_ms;
		}
		long n = atomic_load(&sv->in_flight);
		if (grace_end >= 0 && n == 0)
			break;
		if (grace_end >= 0 && !cancelled && clock_ms() >= grace_end) {
			if (c->log)
				fprintf(c->log, "quorum: the grace is over: interrupting %ld run%s\n",
					n, n == 1 ? "" : "s");
			front_cancel_all(sv);
			cancelled = 1;
		}
		if (n > 0)
			quorum_engine_run(sv->engine, 100);
		else
			idle_wait(sv, 500);
	}
}

/* The answers of the last runs leave before MHD stops. */
static void flush(struct serve *sv)
{
	int64_t until = clock_ms() + FLUSH_MS;
	while (atomic_load(&sv->live) > 0 && clock_ms() < until) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int serve_setup(struct serve *sv)
{
	const struct serve_config *c = sv->cfg;
	sv->created = (long long)time(NULL);
	sv->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sv->names = q_calloc(c->nwfs + 1, sizeof(*sv->names));
	if (sv->kick < 0 || !sv->names || pthread_mutex_init(&sv->lock, NULL)) {
		fprintf(c->log, "quorum: cannot start the server: %s\n", strerror(errno ? errno : ENOMEM));
		return -1;
	}
	for (size_t i = 0; i < c->nwfs; i++)
		sv->names[i] = quorum_workflow_name(c->wfs[i]);
	if (names_unique(sv, c->log))
		return -1;
	if (!(sv->metrics = metrics_new()) || !(sv->runs = runstore_new(c->keep_reports)) ||
	    !(sv->hangup = hangup_new(front_hangup)) || !(sv->engine = quorum_engine_new(-1))) {
		fprintf(c->log, "quorum: cannot start the server: out of memory or descriptors\n");
		return -1;
	}
	if (c->shared) {
		/* Before listening: an instance that cannot share its limits must
		 * not serve with limits of its own. */
		char *errors = NULL;
		if (quorum_engine_set_shared(sv->engine, c->shared, &errors)) {
			fputs(errors ? errors : "quorum: --shared: cannot connect\n", c->log);
			quorum_free(errors);
			return -2;
		}
		quorum_engine_set_shared_budget(sv->engine, c->shared_budget);
	}
	return listen_on(sv);
}

int serve_run(const struct serve_config *c)
{
	struct serve sv = {.cfg = c, .kick = -1};
	atomic_init(&sv.in_flight, 0);
	atomic_init(&sv.live, 0);
	atomic_init(&sv.draining, 0);
	int code = 1;
	int setup = serve_setup(&sv);
	if (setup) {
		code = setup == -2 ? QUORUM_EXIT_INVALID : 1;
		goto out;
	}
	fprintf(c->log, "quorum: serving %zu workflow%s on http://%s%s%s:%d\n", c->nwfs,
		c->nwfs == 1 ? "" : "s", strchr(c->host, ':') ? "[" : "", c->host,
		strchr(c->host, ':') ? "]" : "", bound_port(&sv));
	fflush(c->log);
	engine_loop(&sv);
	flush(&sv);
	if (c->log)
		fprintf(c->log, "quorum: stopped\n");
	code = 0;
out:
	if (sv.daemon)
		MHD_stop_daemon(sv.daemon);
	quorum_engine_free(sv.engine);
	hangup_free(sv.hangup);
	runstore_free(sv.runs);
	metrics_free(sv.metrics);
	q_free(sv.names);
	if (sv.kick >= 0)
		close(sv.kick);
	pthread_mutex_destroy(&sv.lock);
	return code;
}
