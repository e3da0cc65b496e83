/* The quorum command: a thin user of include/quorum.h (and, for --sim,
 * of sim/sim.h, the simulated provider run in-process, which a build with
 * -Dsim=disabled leaves out: QUORUM_SIM is then 0). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/suggest.h"
#if QUORUM_SIM
#include "../sim/sim.h"
#endif
#include "quorum.h"

static const char usage_main[] =
	"usage: quorum <command> [options]\n"
	"\n"
	"Ask several LLMs, merge what they say. Commands:\n"
	"  run FILE [QUERY]     run a workflow and print its answer\n"
	"  validate FILE        check a workflow file; print its worst-case cost\n"
	"  graph FILE           print the workflow's graph (DOT or Mermaid)\n"
	"\n"
	"FILE may be - (standard input). Run 'quorum <command> --help' for a\n"
	"command's options.\n";

static const char usage_run[] =
	"usage: quorum run FILE [QUERY] [options]\n"
	"\n"
	"Runs the workflow. The answer goes to standard output, progress to\n"
	"standard error (on a terminal). The query comes from QUERY, or from\n"
	"standard input when QUERY is - or not given and standard input is not a\n"
	"terminal. FILE - reads the workflow from standard input.\n"
	"\n"
	"  --input NAME=VALUE   set an input (repeatable)\n"
	"  --input NAME=@FILE   set an input from a file's contents (@- : standard input)\n"
	"  --json               print the run report (JSON) instead of the answer\n"
	"  --trace FILE         write a JSON Lines trace of every call and node\n"
	"  --dry-run            check inputs and keys, print the first calls that\n"
	"                       would go out and the worst case; send nothing\n"
	"  --quiet              no progress on standard error (errors still show)\n"
	"  --color WHEN         auto (default), always or never; NO_COLOR and\n"
	"                       TERM=dumb are honoured\n"
	"  --sim[=SCENARIO]     run against the bundled simulated provider (a mock\n"
	"                       server on loopback): no API key, no network\n"
	"  --limit NAME=VALUE   change a limit: file_bytes, yaml_nodes, yaml_bytes,\n"
	"                       yaml_depth, nodes, fanout, prompt_bytes, json_depth,\n"
	"                       wall (e.g. 5m)\n"
	"  --verbose            log each HTTP request and response head on standard\n"
	"                       error (keys and cookies redacted)\n"
	"  --insecure           skip TLS certificate checks (warns at every run)\n"
	"  --                   end of options: a QUERY may then start with -\n"
	"\n"
	"Exit status: 0 the run produced its output, 1 it failed or its output\n"
	"could not be written, 2 the command line or the file is invalid, 130\n"
	"interrupted.\n";

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

/* SIGHUP (the terminal went away) ends the run like SIGTERM: calls are
 * cancelled and the report and trace are still written. */
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
	sigaction(SIGHUP, &sa, NULL);
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
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
		{"--color", "option '%s' needs a value (auto, always or never)"},
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
	"--insecure", "--dry-run", "--color", "--help",
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

#define INPUT_FILE_MAX (64 * 1024 * 1024)

/* Reads a whole stream, up to INPUT_FILE_MAX. Returns new (free) with its
 * length in *len, or NULL with errno set (EFBIG past the limit, EISDIR
 * for a directory, ENOMEM). */
static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *s = malloc(cap);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		size_t got = fread(s + n, 1, cap - n - 1, f);
		n += got;
		if (ferror(f)) {
			int err = errno ? errno : EIO;
			free(s);
			errno = err;
			return NULL;
		}
		if (got == 0 || feof(f))
			break;
		if (n + 1 < cap)
			continue;
		char *p = cap < INPUT_FILE_MAX ? realloc(s, cap * 2) : NULL;
		if (!p) {
			free(s);
			errno = cap < INPUT_FILE_MAX ? ENOMEM : EFBIG;
			return NULL;
		}
		s = p;
		cap *= 2;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

/* Reads a file, or standard input for "-". */
static char *read_path(const char *path, size_t *len)
{
	if (!strcmp(path, "-"))
		return read_all(stdin, len);
	errno = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *s = read_all(f, len);
	int err = errno;
	fclose(f);
	errno = err;
	return s;
}

/* quorum reads text: a NUL byte would cut it short without a word, so it
 * is refused. Returns 0 or an exit status. */
static int check_text(const char *what, const char *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);
	if (!nul)
		return 0;
	fprintf(stderr, "quorum: %s holds a NUL byte at offset %zu: quorum reads text, "
		"not binary data\n", what, (size_t)(nul - s));
	return QUORUM_EXIT_INVALID;
}

/* Standard output carries the answer: a full disk, a closed stdout or a
 * broken pipe is an error, never a silent success. */
static int check_stdout(const char *what)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	fprintf(stderr, "quorum: cannot write %s to standard output: %s\n", what,
		strerror(errno ? errno : EIO));
	return QUORUM_EXIT_FAILED;
}

static struct quorum_workflow *load_or_report(const char *path)
{
	char *errors = NULL;
	struct quorum_workflow *wf;
	if (!strcmp(path, "-")) {
		size_t len = 0;
		char *text = read_all(stdin, &len);
		if (!text) {
			fprintf(stderr, "quorum: cannot read the workflow from standard input: %s\n",
				strerror(errno));
			return NULL;
		}
		wf = quorum_workflow_load_buffer("<stdin>", text, len, &limits, &errors);
		free(text);
	} else {
		wf = quorum_workflow_load_limited(path, &limits, &errors);
	}
	if (!wf) {
		fputs(errors ? errors : "quorum: cannot load the workflow\n", stderr);
		quorum_free(errors);
	}
	return wf;
}

/* The one FILE of validate and graph: "--" ends options. */
static int take_file(const char *usage, const char **file, const char *arg)
{
	if (!*file) {
		*file = arg;
		return 0;
	}
	if (usage == usage_validate)
		return fail_usage(usage, "validate takes one FILE, got '%s' too", arg);
	return fail_usage(usage, "unexpected argument '%s'", arg);
}

static int cmd_validate(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(usage_validate, stdout);
		return check_stdout("the usage");
	}
	const char *file = NULL;
	int opts = 1;
	for (int i = 0; i < argc; i++) {
		int rc = 0;
		if (!opts || !strcmp(argv[i], "-") || argv[i][0] != '-')
			rc = take_file(usage_validate, &file, argv[i]);
		else if (!strcmp(argv[i], "--"))
			opts = 0;
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			rc = parse_limit(usage_validate, argv[++i]);
		else if (!strncmp(argv[i], "--limit=", 8))
			rc = parse_limit(usage_validate, argv[i] + 8);
		else
			return fail_option(usage_validate, validate_opts, NOPTS(validate_opts),
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
	return check_stdout("the summary");
}

static int cmd_graph(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(usage_graph, stdout);
		return check_stdout("the usage");
	}
	const char *file = NULL, *format = "dot";
	int opts = 1;
	for (int i = 0; i < argc; i++) {
		int rc = 0;
		if (!opts || !strcmp(argv[i], "-") || argv[i][0] != '-')
			rc = take_file(usage_graph, &file, argv[i]);
		else if (!strcmp(argv[i], "--"))
			opts = 0;
		else if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			format = argv[i] + 9;
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			rc = parse_limit(usage_graph, argv[++i]);
		else if (!strncmp(argv[i], "--limit=", 8))
			rc = parse_limit(usage_graph, argv[i] + 8);
		else
			return fail_option(usage_graph, graph_opts, NOPTS(graph_opts), argv[i]);
		if (rc)
			return rc;
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
	return check_stdout("the graph");
}

enum color_when { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct run_args {
	const char *file, *query, *trace, *sim_scenario;
	int json, quiet, sim, verbose, insecure, dry_run;
	enum color_when color;
	struct quorum_input *inputs;
	size_t ninputs, cap;
	char **owned;         /* input names and values read from files */
	size_t nowned;
	char stdin_for[160];  /* what standard input was read for, or "" */
};

/* Keeps s (malloc'd) to be freed at the end. Returns s, or NULL when s is
 * NULL or memory ran out (s is then freed). */
static char *own(struct run_args *a, char *s)
{
	if (!s)
		return NULL;
	char **o = realloc(a->owned, (a->nowned + 1) * sizeof(*o));
	if (!o) {
		free(s);
		return NULL;
	}
	a->owned = o;
	a->owned[a->nowned++] = s;
	return s;
}

/* Standard input can be read once: for the workflow, the query or one
 * input. Returns 0, or an exit status when it was taken already. */
static int claim_stdin(struct run_args *a, const char *what)
{
	if (!a->stdin_for[0]) {
		snprintf(a->stdin_for, sizeof(a->stdin_for), "%s", what);
		return 0;
	}
	fprintf(stderr, "quorum: standard input cannot give both %s and %s\n", a->stdin_for,
		what);
	return usage_tail(usage_run);
}

/* NAME=@FILE: the file's text (@- : standard input). Returns 0 or an exit
 * status; *value gets the text. */
static int input_from_file(struct run_args *a, const char *name, const char *path,
			   const char **value)
{
	char what[160];
	snprintf(what, sizeof(what), "--input %.100s", name);
	if (!strcmp(path, "-") && claim_stdin(a, what))
		return QUORUM_EXIT_INVALID;
	size_t len = 0;
	char *v = read_path(path, &len);
	if (!v) {
		fprintf(stderr, "quorum: cannot read '%s' for --input %s: %s\n", path, name,
			strerror(errno ? errno : EIO));
		return QUORUM_EXIT_INVALID;
	}
	if (check_text(what, v, len)) {
		free(v);
		return QUORUM_EXIT_INVALID;
	}
	if (!(*value = own(a, v)))
		return fail_usage(usage_run, "out of memory reading --input %s", name);
	return 0;
}

static int parse_input(struct run_args *a, const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec)
		return fail_usage(usage_run, "--input wants NAME=VALUE or NAME=@FILE, got '%s'", spec);
	char *name = own(a, strndup(spec, (size_t)(eq - spec)));
	if (!name)
		return fail_usage(usage_run, "out of memory reading --input '%s'", spec);
	for (size_t i = 0; i < a->ninputs; i++) {
		if (!strcmp(a->inputs[i].name, name))
			return fail_usage(usage_run, "input '%s' is given twice (give each "
					  "--input once)", name);
	}
	const char *value = eq + 1;
	if (*value == '@') {
		int rc = input_from_file(a, name, value + 1, &value);
		if (rc)
			return rc;
	}
	if (a->ninputs == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct quorum_input *in = realloc(a->inputs, cap * sizeof(*in));
		if (!in)
			return fail_usage(usage_run, "out of memory reading --input '%s'", spec);
		a->inputs = in;
		a->cap = cap;
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

static int parse_color(struct run_args *a, const char *when)
{
	if (!strcmp(when, "auto"))
		a->color = COLOR_AUTO;
	else if (!strcmp(when, "always"))
		a->color = COLOR_ALWAYS;
	else if (!strcmp(when, "never"))
		a->color = COLOR_NEVER;
	else
		return fail_usage(usage_run, "--color wants auto, always or never, got '%s'", when);
	return 0;
}

static int parse_trace(struct run_args *a, const char *path)
{
	if (!strcmp(path, "-"))
		return fail_usage(usage_run, "--trace %s would mix the trace with the answer on "
				  "standard output; name a FILE", path);
	a->trace = path;
	return 0;
}

/* A word that is not an option: FILE, then QUERY. */
static int parse_word(struct run_args *a, const char *s)
{
	if (!a->file)
		a->file = s;
	else if (!a->query)
		a->query = s;
	else
		return fail_query(a->query, s);
	return 0;
}

/* --sim, or --sim=SCENARIO (scenario not NULL). A build without the
 * simulator refuses both. Returns 0 or an exit status. */
static int want_sim(struct run_args *a, const char *scenario)
{
	if (!QUORUM_SIM) {
		fputs("quorum: this build has no simulator (built with -Dsim=disabled)\n", stderr);
		return QUORUM_EXIT_INVALID;
	}
	a->sim = 1;
	if (scenario)
		a->sim_scenario = scenario;
	return 0;
}

/* One option at argv[*i]; takes its value from the next word when it has
 * one. Returns 0 or an exit status. */
static int parse_run_option(struct run_args *a, int argc, char **argv, int *i)
{
	const char *s = argv[*i];
	const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
	static const char *const with_value[] = {"--limit", "--trace", "--input", "--color"};
	for (size_t k = 0; k < NOPTS(with_value); k++)
		if (!strcmp(s, with_value[k]) && next) {
			++*i;
			return !strcmp(s, "--limit")   ? parse_limit(usage_run, next)
			       : !strcmp(s, "--trace") ? parse_trace(a, next)
			       : !strcmp(s, "--input") ? parse_input(a, next)
						       : parse_color(a, next);
		}
	if (!strcmp(s, "--json"))
		a->json = 1;
	else if (!strcmp(s, "--quiet") || !strcmp(s, "-q"))
		a->quiet = 1;
	else if (!strcmp(s, "--sim"))
		return want_sim(a, NULL);
	else if (!strcmp(s, "--verbose") || !strcmp(s, "-v"))
		a->verbose = 1;
	else if (!strcmp(s, "--insecure"))
		a->insecure = 1;
	else if (!strcmp(s, "--dry-run"))
		a->dry_run = 1;
	else if (!strncmp(s, "--limit=", 8))
		return parse_limit(usage_run, s + 8);
	else if (!strncmp(s, "--sim=", 6) && strcmp(s + 6, "-"))
		return want_sim(a, s + 6);
	else if (!strncmp(s, "--sim=", 6))
		return fail_usage(usage_run, "--sim=- is not supported: give the scenario as a "
				  "FILE%s", "");
	else if (!strncmp(s, "--trace=", 8))
		return parse_trace(a, s + 8);
	else if (!strncmp(s, "--input=", 8))
		return parse_input(a, s + 8);
	else if (!strncmp(s, "--color=", 8))
		return parse_color(a, s + 8);
	else
		return fail_option(usage_run, run_opts, NOPTS(run_opts), s);
	return 0;
}

static int parse_run_args(struct run_args *a, int argc, char **argv)
{
	int opts = 1;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		int rc;
		if (opts && !strcmp(s, "--"))
			opts = 0, rc = 0;
		else if (opts && s[0] == '-' && s[1])
			rc = parse_run_option(a, argc, argv, &i);
		else
			rc = parse_word(a, s);
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
	if (!strcmp(a->file, "-") && claim_stdin(a, "the workflow"))
		return QUORUM_EXIT_INVALID;
	return 0;
}

/* The query from standard input: asked for with "-", or when none is
 * given and standard input is not a terminal (and not read already).
 * Returns 0 or an exit status. */
static int read_query(struct run_args *a)
{
	int asked = a->query && !strcmp(a->query, "-");
	if (asked)
		a->query = NULL;
	else if (a->query || isatty(STDIN_FILENO) || a->stdin_for[0])
		return 0;
	if (asked && claim_stdin(a, "the query"))
		return QUORUM_EXIT_INVALID;
	size_t n = 0;
	char *q = own(a, read_all(stdin, &n));
	if (!q) {
		fprintf(stderr, "quorum: cannot read the query from standard input: %s\n",
			strerror(errno ? errno : ENOMEM));
		return QUORUM_EXIT_INVALID;
	}
	if (check_text("the query on standard input", q, n))
		return QUORUM_EXIT_INVALID;
	while (n && (q[n - 1] == '\n' || q[n - 1] == '\r'))
		q[--n] = '\0';
	if (n || asked)
		a->query = q;
	return 0;
}

#if QUORUM_SIM
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
#else
/* Never called: want_sim refused --sim. */
struct mock;
static struct mock *start_sim(const char *scenario, char *url, size_t n)
{
	(void)scenario, (void)url, (void)n;
	return NULL;
}
static void mock_stop(struct mock *m)
{
	(void)m;
}
#endif

static void print_answer(const char *s)
{
	size_t n = strlen(s);
	fwrite(s, 1, n, stdout);
	if (!n || s[n - 1] != '\n')
		fputc('\n', stdout);
}

/* The answer; every answer of a generate output, each under its model. */
static void print_answers(const struct quorum_report *rep)
{
	const char *label;
	const char *text = quorum_report_answer(rep, 0, &label);
	if (!label) {
		if (text)
			print_answer(text);
		return;
	}
	for (size_t i = 0; text; text = quorum_report_answer(rep, ++i, &label)) {
		printf("%s=== %s ===\n", i ? "\n" : "", label);
		print_answer(text);
	}
}

/* Colours when asked, or on a terminal that takes them and no NO_COLOR. */
static int use_color(enum color_when when, int fd)
{
	if (when != COLOR_AUTO)
		return when == COLOR_ALWAYS;
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
	return isatty(fd) && !(no && *no) && !(term && !strcmp(term, "dumb"));
}

/* What stderr says after the run: what went wrong, then (on a terminal)
 * the totals line. */
static void tell_outcome(const struct run_args *a, const struct quorum_report *rep,
			 int color)
{
	char *why = quorum_report_explain(rep, color);
	if (why)
		fputs(why, stderr);
	quorum_free(why);
	if (a->quiet || !isatty(STDERR_FILENO))
		return;
	char *totals = quorum_report_totals(rep);
	if (totals)
		fprintf(stderr, "quorum: %s\n", totals);
	quorum_free(totals);
}

/* After the report: output the trace could not get is an error too. */
static int check_trace(const struct run_args *a, const struct quorum_report *rep)
{
	int err = quorum_report_trace_error(rep);
	if (!err)
		return 0;
	fprintf(stderr, "quorum: cannot write the trace file '%s': %s\n", a->trace,
		strerror(err));
	return QUORUM_EXIT_FAILED;
}

static void fill_options(const struct run_args *a, const char *sim_url,
			 struct quorum_options *o)
{
	const char *term = getenv("TERM");
	int progress = !a->quiet && isatty(STDERR_FILENO);
	*o = (struct quorum_options){
		.query = a->query,
		.inputs = a->inputs,
		.ninputs = a->ninputs,
		.trace_path = a->trace,
		.progress = progress ? stderr : NULL,
		.sim_base_url = sim_url,
		.interrupt = &interrupt_flag,
		.wake_fd = wake_pipe[0],
		.limits = &limits,
		.verbose = a->verbose ? stderr : NULL,
		.insecure = a->insecure,
		.color = use_color(a->color, STDERR_FILENO),
		.plain = term && !strcmp(term, "dumb"),
	};
}

static int dry_run(struct quorum_workflow *wf, const struct quorum_options *o)
{
	char *errors = NULL;
	char *text = quorum_dry_run(wf, o, &errors);
	if (!text) {
		fputs(errors ? errors : "quorum: cannot prepare the dry run\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_INVALID;
	}
	fputs(text, stdout);
	quorum_free(text);
	return check_stdout("the dry run");
}

static int execute(struct run_args *a, struct quorum_workflow *wf, const char *sim_url)
{
	struct quorum_options o;
	fill_options(a, sim_url, &o);
	if (a->dry_run)
		return dry_run(wf, &o);
	char *errors = NULL;
	struct quorum_report *rep = quorum_run(wf, &o, &errors);
	if (!rep) {
		fputs(errors ? errors : "quorum: cannot start the run\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_INVALID;
	}
	if (a->json)
		printf("%s\n", quorum_report_json(rep));
	else
		print_answers(rep);
	int code = quorum_report_exit_code(rep);
	int wrote = check_stdout(a->json ? "the report" : "the answer");
	tell_outcome(a, rep, o.color);
	int traced = check_trace(a, rep);
	quorum_report_free(rep);
	if (code == QUORUM_EXIT_OK && (wrote || traced))
		code = QUORUM_EXIT_FAILED;
	return code;
}

static void run_args_release(struct run_args *a)
{
	for (size_t i = 0; i < a->nowned; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->inputs);
}

static int cmd_run(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(usage_run, stdout);
		return check_stdout("the usage");
	}
	struct run_args a;
	memset(&a, 0, sizeof(a));
	struct quorum_workflow *wf = NULL;
	struct mock *sim = NULL;
	char sim_url[64] = "";
	int code = parse_run_args(&a, argc, argv);
	if (code || (code = read_query(&a)))
		goto out;
	code = QUORUM_EXIT_INVALID;
	if (!(wf = load_or_report(a.file)))
		goto out;
	if (a.sim && !a.dry_run && !(sim = start_sim(a.sim_scenario, sim_url, sizeof(sim_url))))
		goto out;
	if (a.sim && a.dry_run)
		snprintf(sim_url, sizeof(sim_url), "http://127.0.0.1:PORT/v1");
	install_signals();
	code = execute(&a, wf, a.sim ? sim_url : NULL);
out:
	mock_stop(sim);
	quorum_workflow_free(wf);
	run_args_release(&a);
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
		return check_stdout("the usage");
	}
	if (!strcmp(cmd, "--version")) {
		puts("quorum " QUORUM_VERSION);
		return check_stdout("the version");
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
