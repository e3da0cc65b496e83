#ifndef QUORUM_SIM_H
#define QUORUM_SIM_H
#include <stddef.h>

#include "../common/qerr.h"

/* The simulated provider, sim/'s whole public surface: a mock provider
 * server that speaks the OpenAI, Anthropic, Gemini and Ollama chat APIs
 * (stream and not) and the OpenAI, Ollama and Gemini embeddings APIs on
 * one loopback port, scripted per model by a scenario (YAML or JSON):
 * fixed answers or a question bank (hidden topics and difficulty) with an
 * accuracy, latency, and faults. Counts requests and the peak number in flight.
 * Runs its own threads; the functions below may be called from any
 * thread. `quorum run --sim`, the quorum-mock program and the tests use
 * it; a build with -Dsim=disabled has none of it. See README.md for the
 * wire details. */
struct mock;

struct mock_stats {
	long requests;        /* requests received */
	long completed;       /* responses fully sent */
	long aborted;         /* connections closed by the client before the end */
	long in_flight;
	long peak_in_flight;
	long connections;     /* TCP connections accepted */
};

/* Starts a server on 127.0.0.1:port (0: a free port) with the scenario in
 * text[0..len) (`name` for error messages). Returns new; stop with
 * mock_stop. NULL with e set on a bad scenario or when it cannot listen. */
struct mock *mock_start(const char *name, const char *text, size_t len, int port,
			struct qerr *e);
/* The same with a scenario file. */
struct mock *mock_start_file(const char *path, int port, struct qerr *e);
int mock_port(const struct mock *m);
void mock_get_stats(struct mock *m, struct mock_stats *out);
/* Requests that got a fault of this type ("reset", "huge", ...: the
 * scenario's names), or of any type when type is NULL. */
long mock_fault_count(struct mock *m, const char *type);
/* Requests received for one model name. */
long mock_model_requests(struct mock *m, const char *model);
void mock_reset_stats(struct mock *m);
/* Stops the server, ending connections in flight; mock_stop(NULL) is a no-op. */
void mock_stop(struct mock *m);

/* The scenario `quorum run --sim` uses: a question bank and simulated
 * models of different accuracy (sim-strong, sim-medium, sim-weak, ...). */
extern const char mock_sim_scenario[];

#endif
