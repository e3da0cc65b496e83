/* quorum run: one workflow, one query; the answer on stdout, what went
 * wrong on stderr. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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
	"  --cache[=PATH]       answer from the response cache where it can, and\n"
	"                       keep new answers there (default under\n"
	"                       $XDG_CACHE_HOME/quorum/)\n"
	"  --shared URL         share rpm windows, breakers, --shared-budget and\n"
	"                       cached answers with every quorum on this Redis\n"
	"                       (redis://[:PASSWORD@]HOST:PORT[/DB], unix:///PATH)\n"
	"  --shared-budget USD  a spending limit all of them count against\n"
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

static const char *const run_opts[] = {
	"--input", "--json", "--trace", "--quiet", "--sim", "--cache", "--limit", "--verbose",
	"--insecure", "--dry-run", "--color", "--shared", "--shared-budget", "--help",
};

/* A third word: most often a query with spaces, not quoted. */
static int fail_query(const char *query, const char *extra)
{
	fprintf(stderr, "quorum: unexpected argument '%s' (the query is '%.60s'; quote a "
		"query that has spaces)\n", extra, query);
	return cli_usage_tail(usage_run);
}

static int parse_trace(struct run_args *a, const char *path)
{
	if (!strcmp(path, "-"))
		return cli_fail_usage(usage_run, "--trace %s would mix the trace with the answer "
				      "on standard output; name a FILE", path);
	a->trace = path;
	return 0;
}

/* A word that is not an option: FILE, then QUERY. */
static int parse_word(void *ctx, const char *s)
{
	struct run_args *a = ctx;
	if (!a->file)
		a->file = s;
	else if (!a->query)
		a->query = s;
	else
		return fail_query(a->query, s);
	return 0;
}

/* run's own options, after the shared ones. */
static int parse_run_option(void *ctx, int argc, char **argv, int *i)
{
	struct run_args *a = ctx;
	int rc = run_args_option(a, argc, argv, i);
	if (rc != ARGS_NOT_MINE)
		return rc;
	const char *s = argv[*i];
	if (!strcmp(s, "--trace") && *i + 1 < argc)
		return parse_trace(a, argv[++*i]);
	if (!strncmp(s, "--trace=", 8))
		return parse_trace(a, s + 8);
	if (!strcmp(s, "--json"))
		a->json = 1;
	else if (!strcmp(s, "--dry-run"))
		a->dry_run = 1;
	else
		return cli_fail_option(usage_run, run_opts, NOPTS(run_opts), s);
	return 0;
}

static int parse_run_args(struct run_args *a, int argc, char **argv)
{
	int rc = cli_walk_args(argc, argv, a, parse_run_option, parse_word);
	if (rc)
		return rc;
	if (!a->file)
		return cli_fail_usage(usage_run, "run needs a workflow FILE%s", "");
	for (size_t i = 0; a->query && i < a->ninputs; i++) {
		if (!strcmp(a->inputs[i].name, "query"))
			return cli_fail_usage(usage_run, "the query is given twice, as QUERY and "
					      "with --input query=...%s (give it once)", "");
	}
	if (!strcmp(a->file, "-") && run_args_claim_stdin(a, "the workflow"))
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
	if (asked && run_args_claim_stdin(a, "the query"))
		return QUORUM_EXIT_INVALID;
	size_t n = 0;
	char *q = run_args_own(a, cli_read_all(stdin, &n));
	if (!q) {
		fprintf(stderr, "quorum: cannot read the query from standard input: %s\n",
			strerror(errno ? errno : ENOMEM));
		return QUORUM_EXIT_INVALID;
	}
	if (cli_check_text("the query on standard input", q, n))
		return QUORUM_EXIT_INVALID;
	while (n && (q[n - 1] == '\n' || q[n - 1] == '\r'))
		q[--n] = '\0';
	if (n || asked)
		a->query = q;
	return 0;
}

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
	return cli_check_stdout("the dry run");
}

static int execute(struct run_args *a, struct quorum_workflow *wf, const char *sim_url,
		   struct quorum_cache *cache)
{
	struct quorum_options o;
	run_args_options(a, sim_url, &o);
	o.cache = cache;
	if (a->dry_run)
		return dry_run(wf, &o);
	char *errors = NULL;
	struct quorum_engine *eng = NULL;
	if (a->shared || a->shared_budget > 0) {
		/* An engine of its own, as quorum_run makes, connected first. */
		int code;
		if (!(eng = run_args_engine(a, &code)))
			return code;
	}
	struct quorum_report *rep = eng ? quorum_engine_run_one(eng, wf, &o, &errors)
					: quorum_run(wf, &o, &errors);
	quorum_engine_free(eng);
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
	int wrote = cli_check_stdout(a->json ? "the report" : "the answer");
	tell_outcome(a, rep, o.color);
	int traced = check_trace(a, rep);
	quorum_report_free(rep);
	if (code == QUORUM_EXIT_OK && (wrote || traced))
		code = QUORUM_EXIT_FAILED;
	return code;
}

int cmd_run(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_run, stdout);
		return cli_check_stdout("the usage");
	}
	struct run_args a = {.usage = usage_run};
	struct quorum_workflow *wf = NULL;
	struct quorum_cache *cache = NULL;
	struct mock *sim = NULL;
	char sim_url[64] = "";
	int code = parse_run_args(&a, argc, argv);
	if (code || (code = read_query(&a)))
		goto out;
	code = QUORUM_EXIT_INVALID;
	if (!(wf = cli_load(a.file)))
		goto out;
	if (a.sim && !a.dry_run &&
	    !(sim = cli_sim_start(a.sim_scenario, sim_url, sizeof(sim_url))))
		goto out;
	if (a.sim && a.dry_run)
		snprintf(sim_url, sizeof(sim_url), "http://127.0.0.1:PORT/v1");
	if ((code = run_args_open_cache(&a, &cache)))
		goto out;
	cli_install_signals();
	code = execute(&a, wf, a.sim ? sim_url : NULL, cache);
out:
	quorum_cache_close(cache);
	cli_sim_stop(sim);
	quorum_workflow_free(wf);
	run_args_release(&a);
	return code;
}
