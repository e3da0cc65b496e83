#ifndef QUORUM_SERVER_SERVE_H
#define QUORUM_SERVER_SERVE_H
/* quorum serve: workflows behind an OpenAI-compatible HTTP API. The
 * room's one entry point; cli/cli_serve.c reads the command line into a
 * serve_config and calls serve_run. libmicrohttpd's threads accept and
 * parse; one engine (include/quorum.h) runs every request's workflow on
 * the calling thread. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "quorum.h"
#include "tokens.h"

struct serve_config {
	const char *host;              /* an IPv4 or IPv6 address to listen on */
	int port;                      /* 0: a free one (the log line names it) */
	struct quorum_workflow *const *wfs; /* served under quorum_workflow_name */
	size_t nwfs;
	const char *sim_base_url;      /* every call to the simulator, or NULL */
	struct quorum_cache *cache;    /* or NULL */
	const struct quorum_limits *limits;
	const struct tokens *tokens;   /* NULL: no bearer token needed */
	long max_runs;                 /* runs in flight; past it 429 */
	size_t max_body;               /* request body bytes; past it 413 */
	long long deadline_ms;         /* one request's run; 0: none */
	long long grace_ms;            /* after SIGTERM, for runs in flight */
	size_t keep_reports;           /* reports GET /v1/runs/ID can give */
	int quiet;                     /* no line per request on log */
	volatile sig_atomic_t *stop;   /* set (by a signal) to stop */
	int stop_fd;                   /* readable once stop is set, or -1 */
	FILE *log;                     /* where the server talks (stderr) */
	/* --shared: the Redis whose rpm windows, breakers, budget and cached
	 * answers every instance shares (quorum_engine_set_shared); NULL:
	 * this process's own. shared_budget: --shared-budget USD; 0: none. */
	const char *shared;
	double shared_budget;
};

/* Listens, says where on c->log ("quorum: serving N workflows on
 * http://HOST:PORT"), and serves until *c->stop: then it stops
 * accepting, lets the runs in flight finish for c->grace_ms, interrupts
 * the rest, answers them, and returns 0. Returns 1 with a message on
 * c->log when it cannot start (the address is taken, two workflows share
 * a name). Called on one thread; that thread runs the engine. */
int serve_run(const struct serve_config *c);

#endif
