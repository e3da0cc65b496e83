/* What every subcommand of the quorum command shares: messages and
 * usage, limits, reading files and standard input, checking what was
 * written, loading a workflow, signals, the simulator, colours. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/suggest.h"
#if QUORUM_SIM
#include "../sim/sim.h"
#endif
#include "cli.h"

struct quorum_limits cli_limits;
volatile sig_atomic_t cli_interrupt;
static int wake_pipe[2] = {-1, -1};

int cli_wake_fd(void) { return wake_pipe[0]; }

static void on_signal(int sig)
{
	cli_interrupt = 1;
	int saved = errno;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "x", 1) < 0) {
		/* nothing to do: the loop also polls the flag */
	}
	errno = saved;
	/* A second signal ends the process the usual way. */
	signal(sig, SIG_DFL);
}

/* SIGHUP (the terminal went away) ends a run like SIGTERM: calls are
 * cancelled and the report and trace are still written. */
void cli_install_signals(void)
{
	if (wake_pipe[0] < 0 && pipe(wake_pipe) == 0) {
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

int cli_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

/* The whole usage would push the message itself off the screen: its
 * first line and where the rest is. */
int cli_usage_tail(const char *usage)
{
	static const char head[] = "usage: quorum ";
	if (!usage)
		return QUORUM_EXIT_INVALID;
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

int cli_fail_usage(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "quorum: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return cli_usage_tail(usage);
}

/* The nearest known one is looked for with an option's value after '='
 * left out of the comparison. */
int cli_fail_unknown(const char *usage, const char *what, const char *const *known,
		     size_t n, const char *arg)
{
	char name[64], msg[160];
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	const char *near = suggest_nearest(name, known, n);
	if (near)
		snprintf(msg, sizeof(msg), "unknown %s '%%s' (did you mean '%s'?)", what, near);
	else
		snprintf(msg, sizeof(msg), "unknown %s '%%s'", what);
	return cli_fail_usage(usage, msg, arg);
}

int cli_fail_option(const char *usage, const char *const *known, size_t n,
		    const char *arg)
{
	static const char *const wants[][2] = {
		{"--input", "option '%s' needs a value (NAME=VALUE or NAME=@FILE)"},
		{"--trace", "option '%s' needs a value (the FILE to write)"},
		{"--limit", "option '%s' needs a value (NAME=VALUE)"},
		{"--format", "option '%s' needs a value (dot or mermaid)"},
		{"--color", "option '%s' needs a value (auto, always or never)"},
		{"--in", "option '%s' needs a value (a JSON Lines FILE, or -)"},
		{"--out", "option '%s' needs a value (a FILE, or -)"},
		{"--parallel", "option '%s' needs a value (how many runs at once)"},
		{"--resume", "option '%s' needs a value (the reports FILE to continue)"},
		{"--data", "option '%s' needs a value (a JSON Lines FILE)"},
		{"--plot", "option '%s' needs a value (the SVG FILE to write)"},
	};
	for (size_t i = 0; i < NOPTS(wants); i++) {
		if (!strcmp(arg, wants[i][0]))
			return cli_fail_usage(usage, wants[i][1], arg);
	}
	return cli_fail_unknown(usage, "option", known, n, arg);
}

int cli_parse_limit(const char *usage, const char *spec)
{
	char err[256];
	if (quorum_limits_set(&cli_limits, spec, err, sizeof(err)))
		return cli_fail_usage(usage, "%s", err);
	return 0;
}

#define INPUT_FILE_MAX (64 * 1024 * 1024)

char *cli_read_all(FILE *f, size_t *len)
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

char *cli_read_path(const char *path, size_t *len)
{
	if (!strcmp(path, "-"))
		return cli_read_all(stdin, len);
	errno = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *s = cli_read_all(f, len);
	int err = errno;
	fclose(f);
	errno = err;
	return s;
}

/* quorum reads text: a NUL byte would cut it short without a word. */
int cli_check_text(const char *what, const char *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);
	if (!nul)
		return 0;
	fprintf(stderr, "quorum: %s holds a NUL byte at offset %zu: quorum reads text, "
		"not binary data\n", what, (size_t)(nul - s));
	return QUORUM_EXIT_INVALID;
}

int cli_check_stdout(const char *what)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	fprintf(stderr, "quorum: cannot write %s to standard output: %s\n", what,
		strerror(errno ? errno : EIO));
	return QUORUM_EXIT_FAILED;
}

int cli_walk_args(int argc, char **argv, void *ctx, cli_option_fn option,
		  cli_operand_fn operand)
{
	int opts = 1;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		int rc = 0;
		if (opts && !strcmp(s, "--"))
			opts = 0;
		else if (opts && s[0] == '-' && s[1])
			rc = option(ctx, argc, argv, &i);
		else
			rc = operand(ctx, s);
		if (rc)
			return rc;
	}
	return 0;
}

int cli_same_file(const char *a, const char *b)
{
	struct stat x, y;
	if (stat(a, &x) || stat(b, &y))
		return !strcmp(a, b);
	return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

struct quorum_workflow *cli_load(const char *path)
{
	char *errors = NULL;
	struct quorum_workflow *wf;
	if (!strcmp(path, "-")) {
		size_t len = 0;
		char *text = cli_read_all(stdin, &len);
		if (!text) {
			fprintf(stderr, "quorum: cannot read the workflow from standard input: %s\n",
				strerror(errno));
			return NULL;
		}
		wf = quorum_workflow_load_buffer("<stdin>", text, len, &cli_limits, &errors);
		free(text);
	} else {
		wf = quorum_workflow_load_limited(path, &cli_limits, &errors);
	}
	if (!wf) {
		fputs(errors ? errors : "quorum: cannot load the workflow\n", stderr);
		quorum_free(errors);
	}
	return wf;
}

#if QUORUM_SIM
int cli_have_sim(void) { return 1; }

struct mock *cli_sim_start(const char *scenario, char *url, size_t n)
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

void cli_sim_stop(struct mock *m) { mock_stop(m); }
#else
int cli_have_sim(void) { return 0; }

/* Never called: --sim is refused as it is parsed. */
struct mock *cli_sim_start(const char *scenario, char *url, size_t n)
{
	(void)scenario, (void)url, (void)n;
	return NULL;
}

void cli_sim_stop(struct mock *m) { (void)m; }
#endif

int cli_use_color(enum color_when when, int fd)
{
	if (when != COLOR_AUTO)
		return when == COLOR_ALWAYS;
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
	return isatty(fd) && !(no && *no) && !(term && !strcmp(term, "dumb"));
}
