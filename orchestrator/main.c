/* The quorum command: a thin user of include/quorum.h (and, for --sim,
 * of the mock provider server, run in-process). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/suggest.h"
#include "../tests/mock/mock.h"
#include "quorum.h"

static const char usage_main[] =
	"usage: quorum <command> [options]\n"
	"\n"
	"Ask several LLMs, merge what they say. Commands:\n"
	"  run FILE [QUERY]     run a workflow and print its answer\n"
	"  validate FILE        check a workflow file; print its worst-case cost\n"
	"  graph FILE           print the workflow's graph (DOT or Mermaid)\n"
	"\n"
	"Run 'quorum <command> --help' for a command's options.\n";

static const char usage_run[] =
	"usage: quorum run FILE [QUERY] [options]\n"
	"\n"
	"Runs the workflow. The answer goes to standard output, progress to\n"
	"standard error (on a terminal). The query comes from QUERY, or from\n"
	"standard input when QUERY is not given and standard input is not a terminal.\n"
	"\n"
	"  --input NAME=VALUE   set an input (repeatable)\n"
	"  --input NAME=@FILE   set an input from a file's contents\n"
	"  --json               print the run report (JSON) instead of the answer\n"
	"  --trace FILE         write a JSON Lines trace of every call and node\n"
	"  --quiet              no progress on standard error\n"
	"  --sim[=SCENARIO]     run against the bundled simulated provider (a mock\n"
	"                       server on loopback): no API key, no network\n"
	"  --limit NAME=VALUE   change a limit: file_bytes, yaml_nodes, yaml_depth,\n"
	"                       nodes, fanout, prompt_bytes, json_depth, wall (e.g. 5m)\n"
	"  --verbose            log each HTTP request and response head on standard\n"
	"                       error (keys and cookies redacted)\n"
	"  --insecure           skip TLS certificate checks (warns at every run)\n"
	"\n"
	"Exit status: 0 the run produced its output, 1 it failed, 2 the command\n"
	"line or the file is invalid, 130 interrupted.\n";

static const char usage_validate[] =
	"usage: quorum validate FILE [--limit NAME=VALUE]\n"
	"\n"
	"Checks the workflow without running it: every problem is listed as\n"
	"FILE:LINE:COL: message. On success prints the nodes and the worst case\n"
	"of one run (calls and cost, with every retry and fallback).\n";

static const char usage_graph[] =
	"usage: quorum graph FILE [--format dot|mermaid] [--limit NAME=VALUE]\n"
	"\n"
	"Prints the workflow's DAG (moa and council nodes expanded) as Graphviz\n"
	"DOT (default) or a Mermaid flowchart.\n";

static volatile sig_atomic_t interrupt_flag;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	interrupt_flag = 1;
	int saved = errno;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "x", 1) < 0) {
		/* nothing to do: the loop also polls the flag */
	}
	errno = saved;
	/* A second signal ends the process the usual way. */
	signal(sig, SIG_DFL);
}

static void install_signals(void)
{
	if (pipe(wake_pipe) == 0) {
		for (int i = 0; i < 2; i++) {
			fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
			fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

/* After a message: the command's usage line and where the rest is (the
 * whole usage would push the message itself off the screen). */
static int usage_tail(const char *usage)
{
	static const char head[] = "usage: quorum ";
	fprintf(stderr, "%.*s\n", (int)strcspn(usage, "\n"), usage);
	if (!strncmp(usage, head, sizeof(head) - 1)) {
		const char *cmd = usage + sizeof(head) - 1;
		if (*cmd == '<')
			fputs("see 'quorum --help'\n", stderr);
		else
			fprintf(stderr, "see 'quorum %.*s --help'\n", (int)strcspn(cmd, " \n"), cmd);
	}
	return QUORUM_EXIT_INVALID;
}

static int fail_usage(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "quorum: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return usage_tail(usage);
}

/* `unknown WHAT 'ARG'`, with the nearest known one (an option's value
 * after '=' left out of the comparison). */
static int fail_unknown(const char *usage, const char *what, const char *const *known,
			size_t n, const char *arg)
{
	char name[64], msg[160];
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	const char *near = suggest_nearest(name, known, n);
	if (near)
		snprintf(msg, sizeof(msg), "unknown %s '%%s' (did you mean '%s'?)", what, near);
	else
		snprintf(msg, sizeof(msg), "unknown %s '%%s'", what);
	return fail_usage(usage, msg, arg);
}

/* An option the command does not know: the nearest one it does, or what
 * the option lacks when it wants a value and has none. */
static int fail_option(const char *usage, const char *const *known, size_t n,
		       const char *arg)
{
	static const char *const wants[][2] = {
		{"--input", "option '%s' needs a value (NAME=VALUE or NAME=@FILE)"},
		{"--trace", "option '%s' needs a value (the FILE to write)"},
		{"--limit", "option '%s' needs a value (NAME=VALUE)"},
		{"--format", "option '%s' needs a value (dot or mermaid)"},
	};
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		if (!strcmp(arg, wants[i][0]))
			return fail_usage(usage, wants[i][1], arg);
	}
	return fail_unknown(usage, "option", known, n, arg);
}

/* What each command takes, for "did you mean". */
static const char *const run_opts[] = {
	"--input", "--json", "--trace", "--quiet", "--sim", "--limit", "--verbose",
	"--insecure", "--help",
};
static const char *const validate_opts[] = {"--limit", "--help"};
static const char *const graph_opts[] = {"--format", "--limit", "--help"};
static const char *const commands[] = {"run", "validate", "graph", "help"};
#define NOPTS(v) (sizeof(v) / sizeof(v[0]))

static struct quorum_limits limits;

/* --limit NAME=VALUE, for every command. Returns 0 or an exit status. */
static int parse_limit(const char *usage, const char *spec)
{
	char err[256];
	if (quorum_limits_set(&limits, spec, err, sizeof(err)))
		return fail_usage(usage, "%s", err);
	return 0;
}

static struct quorum_workflow *load_or_report(const char *path)
{
	char *errors = NULL;
	struct quorum_workflow *wf = quorum_workflow_load_limited(path, &limits, &errors);
	if (!wf) {
		fputs(errors ? errors : "quorum: cannot load the workflow\n", stderr);
		quorum_free(errors);
	}
	return wf;
}

static int cmd_validate(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(usage_validate, stdout);
		return 0;
	}
	const char *file = NULL;
	for (int i = 0; i < argc; i++) {
		int rc = 0;
		if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			rc = parse_limit(usage_validate, argv[++i]);
		else if (!strncmp(argv[i], "--limit=", 8))
			rc = parse_limit(usage_validate, argv[i] + 8);
		else if (argv[i][0] == '-')
			return fail_option(usage_validate, validate_opts, NOPTS(validate_opts),
					   argv[i]);
		else if (!file)
			file = argv[i];
		else
			return fail_usage(usage_validate, "validate takes one FILE, got '%s' too",
					  argv[i]);
		if (rc)
			return rc;
	}
	if (!file)
		return fail_usage(usage_validate, "validate needs a FILE%s", "");
	struct quorum_workflow *wf = load_or_report(file);
	if (!wf)
		return QUORUM_EXIT_INVALID;
	char *s = quorum_workflow_summary(wf);
	fputs(s ? s : "", stdout);
	quorum_free(s);
	quorum_workflow_free(wf);
	return 0;
}

static int cmd_graph(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(usage_graph, stdout);
		return 0;
	}
	const char *file = NULL, *format = "dot";
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			format = argv[i] + 9;
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
			if (parse_limit(usage_graph, argv[++i]))
				return QUORUM_EXIT_INVALID;
		} else if (!strncmp(argv[i], "--limit=", 8)) {
			if (parse_limit(usage_graph, argv[i] + 8))
				return QUORUM_EXIT_INVALID;
		}
		else if (argv[i][0] == '-')
			return fail_option(usage_graph, graph_opts, NOPTS(graph_opts), argv[i]);
		else if (!file)
			file = argv[i];
		else
			return fail_usage(usage_graph, "unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return fail_usage(usage_graph, "graph needs a FILE%s", "");
	if (strcmp(format, "dot") && strcmp(format, "mermaid"))
		return fail_usage(usage_graph, "unknown format '%s' (use dot or mermaid)", format);
	struct quorum_workflow *wf = load_or_report(file);
	if (!wf)
		return QUORUM_EXIT_INVALID;
	char *s = quorum_workflow_graph(wf, format);
	fputs(s ? s : "", stdout);
	quorum_free(s);
	quorum_workflow_free(wf);
	return 0;
}

#define INPUT_FILE_MAX (64 * 1024 * 1024)

/* Reads a whole stream, up to INPUT_FILE_MAX. Returns new (free), or NULL. */
static char *read_all(FILE *f)
{
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	while (s) {
		size_t n = fread(s + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
		if (len + 1 == cap) {
			if (cap >= INPUT_FILE_MAX) {
				free(s);
				return NULL;
			}
			char *p = realloc(s, cap *= 2);
			if (!p)
				free(s);
			s = p;
		}
	}
	if (s)
		s[len] = '\0';
	return s;
}

static char *read_path(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *s = read_all(f);
	fclose(f);
	return s;
}

struct run_args {
	const char *file, *query, *trace, *sim_scenario;
	int json, quiet, sim, verbose, insecure;
	struct quorum_input inputs[64];
	char *owned[64];      /* input values read from files */
	size_t ninputs, nowned;
};

static int parse_input(struct run_args *a, const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec)
		return fail_usage(usage_run, "--input wants NAME=VALUE or NAME=@FILE, got '%s'", spec);
	if (a->ninputs == sizeof(a->inputs) / sizeof(a->inputs[0]))
		return fail_usage(usage_run, "too many --input options (at most 64)%s", "");
	char *name = strndup(spec, (size_t)(eq - spec));
	const char *value = eq + 1;
	a->owned[a->nowned++] = name;
	for (size_t i = 0; name && i < a->ninputs; i++) {
		if (!strcmp(a->inputs[i].name, name))
			return fail_usage(usage_run, "input '%s' is given twice (give each "
					  "--input once)", name);
	}
	if (*value == '@') {
		errno = 0;
		char *v = read_path(value + 1);
		if (!v) {
			fprintf(stderr, "quorum: cannot read '%s' for --input %s: %s\n", value + 1,
				name, strerror(errno ? errno : EFBIG));
			return QUORUM_EXIT_INVALID;
		}
		a->owned[a->nowned++] = v;
		value = v;
	}
	a->inputs[a->ninputs++] = (struct quorum_input){name, value};
	return 0;
}

/* A third word: most often a query with spaces, not quoted. */
static int fail_query(const char *query, const char *extra)
{
	fprintf(stderr, "quorum: unexpected argument '%s' (the query is '%.60s'; quote a "
		"query that has spaces)\n", extra, query);
	return usage_tail(usage_run);
}

static int parse_run_args(struct run_args *a, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		int rc = 0;
		if (!strcmp(s, "--json"))
			a->json = 1;
		else if (!strcmp(s, "--quiet") || !strcmp(s, "-q"))
			a->quiet = 1;
		else if (!strcmp(s, "--sim"))
			a->sim = 1;
		else if (!strcmp(s, "--verbose") || !strcmp(s, "-v"))
			a->verbose = 1;
		else if (!strcmp(s, "--insecure"))
			a->insecure = 1;
		else if (!strcmp(s, "--limit") && i + 1 < argc)
			rc = parse_limit(usage_run, argv[++i]);
		else if (!strncmp(s, "--limit=", 8))
			rc = parse_limit(usage_run, s + 8);
		else if (!strncmp(s, "--sim=", 6))
			a->sim = 1, a->sim_scenario = s + 6;
		else if (!strcmp(s, "--trace") && i + 1 < argc)
			a->trace = argv[++i];
		else if (!strncmp(s, "--trace=", 8))
			a->trace = s + 8;
		else if (!strcmp(s, "--input") && i + 1 < argc)
			rc = parse_input(a, argv[++i]);
		else if (!strncmp(s, "--input=", 8))
			rc = parse_input(a, s + 8);
		else if (s[0] == '-' && s[1])
			return fail_option(usage_run, run_opts, NOPTS(run_opts), s);
		else if (!a->file)
			a->file = s;
		else if (!a->query)
			a->query = s;
		else
			return fail_query(a->query, s);
		if (rc)
			return rc;
	}
	if (!a->file)
		return fail_usage(usage_run, "run needs a workflow FILE%s", "");
	for (size_t i = 0; a->query && i < a->ninputs; i++) {
		if (!strcmp(a->inputs[i].name, "query"))
			return fail_usage(usage_run, "the query is given twice, as QUERY and with "
					  "--input query=...%s (give it once)", "");
	}
	return 0;
}

static struct mock *start_sim(const char *scenario, char *url, size_t n)
{
	struct qerr e = {0};
	struct mock *m = scenario ? mock_start_file(scenario, 0, &e)
				  : mock_start("sim", mock_sim_scenario,
					       strlen(mock_sim_scenario), 0, &e);
	if (!m) {
		fprintf(stderr, "quorum: cannot start the simulated provider: %s\n", e.msg);
		return NULL;
	}
	snprintf(url, n, "http://127.0.0.1:%d/v1", mock_port(m));
	return m;
}

static void print_answer(const char *s)
{
	size_t n = strlen(s);
	fwrite(s, 1, n, stdout);
	if (!n || s[n - 1] != '\n')
		fputc('\n', stdout);
}

static int execute(struct run_args *a, struct quorum_workflow *wf, const char *sim_url)
{
	struct quorum_options o = {
		.query = a->query,
		.inputs = a->inputs,
		.ninputs = a->ninputs,
		.trace_path = a->trace,
		.progress = (!a->quiet && isatty(STDERR_FILENO)) ? stderr : NULL,
		.sim_base_url = sim_url,
		.interrupt = &interrupt_flag,
		.wake_fd = wake_pipe[0],
		.limits = &limits,
		.verbose = a->verbose ? stderr : NULL,
		.insecure = a->insecure,
	};
	char *errors = NULL;
	struct quorum_report *rep = quorum_run(wf, &o, &errors);
	if (!rep) {
		fputs(errors ? errors : "quorum: cannot start the run\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_INVALID;
	}
	const char *out = quorum_report_output(rep);
	if (a->json)
		printf("%s\n", quorum_report_json(rep));
	else if (out)
		print_answer(out);
	const char *status = quorum_report_status(rep);
	if (!a->quiet && strcmp(status, "ok"))
		fprintf(stderr, "quorum: run %s%s\n", status,
			a->json ? "" : " (use --json for the full report)");
	int code = quorum_report_exit_code(rep);
	quorum_report_free(rep);
	return code;
}

static int cmd_run(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(usage_run, stdout);
		return 0;
	}
	struct run_args a;
	memset(&a, 0, sizeof(a));
	int code = parse_run_args(&a, argc, argv);
	char *stdin_query = NULL;
	struct quorum_workflow *wf = NULL;
	struct mock *sim = NULL;
	char sim_url[64] = "";
	if (code)
		goto out;
	if (!a.query && !isatty(STDIN_FILENO)) {
		stdin_query = read_all(stdin);
		size_t n = stdin_query ? strlen(stdin_query) : 0;
		while (n && (stdin_query[n - 1] == '\n' || stdin_query[n - 1] == '\r'))
			stdin_query[--n] = '\0';
		if (n)
			a.query = stdin_query;
	}
	code = QUORUM_EXIT_INVALID;
	if (!(wf = load_or_report(a.file)))
		goto out;
	if (a.sim && !(sim = start_sim(a.sim_scenario, sim_url, sizeof(sim_url))))
		goto out;
	install_signals();
	code = execute(&a, wf, a.sim ? sim_url : NULL);
out:
	mock_stop(sim);
	quorum_workflow_free(wf);
	free(stdin_query);
	for (size_t i = 0; i < a.nowned; i++)
		free(a.owned[i]);
	return code;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stderr);
		return QUORUM_EXIT_INVALID;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		puts("quorum " QUORUM_VERSION);
		return 0;
	}
	quorum_limits_default(&limits);
	if (quorum_global_init()) {
		fputs("quorum: cannot initialise libcurl\n", stderr);
		return QUORUM_EXIT_FAILED;
	}
	int code;
	if (!strcmp(cmd, "run"))
		code = cmd_run(argc - 2, argv + 2);
	else if (!strcmp(cmd, "validate"))
		code = cmd_validate(argc - 2, argv + 2);
	else if (!strcmp(cmd, "graph"))
		code = cmd_graph(argc - 2, argv + 2);
	else
		code = fail_unknown(usage_main, "command", commands, NOPTS(commands), cmd);
	quorum_global_cleanup();
	return code;
}
