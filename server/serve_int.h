#ifndef QUORUM_SERVER_SERVE_INT_H
#define QUORUM_SERVER_SERVE_INT_H
/* Inside quorum serve: the state front.c (the HTTP side, MHD's threads)
 * and serve.c (the engine's thread, start and stop) share. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <microhttpd.h>

#include "hangup.h"
#include "metrics.h"
#include "runstore.h"
#include "serve.h"

struct sreq;

struct serve {
	const struct serve_config *cfg;
	struct quorum_engine *engine;
	struct MHD_Daemon *daemon;
	struct metrics *metrics;
	struct runstore *runs;
	struct hangup *hangup;
	const char **names;          /* the models: each workflow's name */
	long long created;           /* Unix seconds the server started */
	int kick;                    /* eventfd: a run was submitted */
	atomic_long in_flight;       /* runs admitted and not yet ended */
	atomic_long live;            /* requests MHD still holds */
	atomic_int draining;         /* SIGTERM came: 503 for new work */
	pthread_mutex_t lock;        /* guards active */
	struct sreq *active;         /* requests whose runs are in flight */
};

/* front.c */
/* MHD's callbacks (cls: the struct serve). */
enum MHD_Result front_access(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *data,
			     size_t *size, void **con_cls);
void front_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		     enum MHD_RequestTerminationCode toe);
/* The hangup watcher's callback: the client of ctx (a struct sreq) went. */
void front_hangup(void *ctx);
/* Interrupts every run in flight (the grace after SIGTERM is over). */
void front_cancel_all(struct serve *sv);

#endif
