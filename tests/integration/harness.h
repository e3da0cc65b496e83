#ifndef QUORUM_TEST_HARNESS_H
#define QUORUM_TEST_HARNESS_H
/* Integration tests: a mock provider server on a free loopback port, a
 * workflow written to a temporary file that points at it, a real run over
 * real HTTP, and the report parsed back. */
#include <cjson/cJSON.h>

#include "../../sim/sim.h"
#include "quorum.h"

struct harness {
	struct mock *mock;
	char dir[256];      /* a temporary directory for files */
	char url[128];      /* the mock's OpenAI base URL */
	char wf_path[320];
	cJSON *report;      /* the last run's report */
	char *report_text;
	int exit_code;
};

/* Starts the mock with a YAML scenario; fails the test if it cannot. */
void h_start(struct harness *h, const char *scenario);
/* Writes a workflow; every "BASE_URL" in it becomes the mock's URL. */
const char *h_workflow(struct harness *h, const char *yaml);
/* Runs the last workflow written with a query (and optional trace file
 * name inside the temp dir); fills h->report. Returns the report status. */
const char *h_run(struct harness *h, const char *query, const char *trace_name);
/* h_run with more options: o's query and trace are set from the
 * arguments, the rest is the caller's. */
const char *h_run_with(struct harness *h, const char *query, const char *trace_name,
		       struct quorum_options *o);
/* Runs `quorum ARGS` (ARGS as a shell command line; standard input is
 * /dev/null unless ARGS redirects it) in the temp dir, stdout and stderr
 * into files there. Returns the exit status; *out and *err get what was
 * written (free). QUORUM_BIN names the binary. */
int h_cli(struct harness *h, const char *args, char **out, char **err);
/* Writes a file in the temp dir. */
void h_write(struct harness *h, const char *name, const char *text);
/* The node object of the last report. */
const cJSON *h_node(struct harness *h, const char *id);
/* Reads a file into new memory (free). */
char *h_read(const char *path);
/* Runs a shell command; returns its exit status. */
int h_sh(const char *cmd);
void h_stop(struct harness *h);
/* cmocka group setup/teardown: a harness in *state with the scenario. */
int h_group_setup(void **state, const char *scenario);
int h_group_teardown(void **state);

#endif
