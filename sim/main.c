/* quorum-mock: the mock provider server as a program, for benchmarks and
 * for trying workflows by hand.
 *
 *   quorum-mock [--scenario FILE] [--port N]
 *
 * Prints "listening on 127.0.0.1:PORT" once ready and serves until SIGINT
 * or SIGTERM. Without --scenario it serves the `quorum run --sim` one. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const char usage[] =
	"usage: quorum-mock [--scenario FILE] [--port N]\n"
	"\n"
	"    --scenario FILE  the scenario (YAML or JSON); default: the --sim one\n"
	"    --port N         port on 127.0.0.1 (default 0: any free port)\n"
	"\n"
	"environment: QUORUM_MOCK_THREADS  server threads (default: CPUs, max 16)\n";

static void print_err(const struct qerr *e)
{
	if (e->file && e->line)
		fprintf(stderr, "quorum-mock: %s:%d:%d: %s\n", e->file, e->line,
			e->col, e->msg);
	else if (e->file)
		fprintf(stderr, "quorum-mock: %s: %s\n", e->file, e->msg);
	else
		fprintf(stderr, "quorum-mock: %s\n", e->msg);
}

/* Takes "--name VALUE" or "--name=VALUE"; returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int parse_args(int argc, char **argv, const char **scenario, int *port)
{
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			exit(0);
		} else if ((v = opt_value(argc, argv, &i, "--scenario"))) {
			*scenario = v;
		} else if ((v = opt_value(argc, argv, &i, "--port"))) {
			char *end;
			long p = strtol(v, &end, 10);
			if (*end || end == v || p < 0 || p > 65535) {
				fprintf(stderr, "quorum-mock: invalid port '%s'\n", v);
				return -1;
			}
			*port = (int)p;
		} else {
			fprintf(stderr, "quorum-mock: unknown option '%s'\n%s", argv[i],
				usage);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *scenario = NULL;
	int port = 0;
	if (parse_args(argc, argv, &scenario, &port))
		return 2;

	/* Block the stop signals before the server's threads exist, so they
	 * inherit the mask and only sigwait below sees them. A shell starts
	 * background jobs with SIGINT ignored, and an ignored signal never
	 * reaches sigwait: take the default back first. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct qerr e = {0};
	struct mock *m = scenario
		? mock_start_file(scenario, port, &e)
		: mock_start("sim", mock_sim_scenario, strlen(mock_sim_scenario), port, &e);
	if (!m) {
		print_err(&e);
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", mock_port(m));
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);
	struct mock_stats st;
	mock_get_stats(m, &st);
	fprintf(stderr, "quorum-mock: %ld requests, %ld completed, %ld aborted, "
			"peak %ld in flight\n",
		st.requests, st.completed, st.aborted, st.peak_in_flight);
	mock_stop(m);
	return 0;
}
