/* quorum serve: workflows behind an OpenAI-compatible HTTP API (the
 * server/ room does the serving; this reads the command line). Needs
 * libmicrohttpd, as the simulator does: a -Dsim=disabled build has
 * neither, and says so. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../common/duration.h"
#if QUORUM_SERVE
#include "../server/serve.h"
#endif
#include "cli.h"

static const char usage_serve[] =
	"usage: quorum serve FILE... [options]\n"
	"\n"
	"Serves the workflows over HTTP as an OpenAI-compatible API: POST\n"
	"/v1/chat/completions with \"model\" set to a workflow's name (its 'name:',\n"
	"else its file's name without .yaml) runs it, stream or not; so does POST\n"
	"/v1/messages (Anthropic's API). Also GET /v1/models, /v1/runs/ID (a run's\n"
	"report), /healthz and /metrics. SIGTERM or SIGINT stops it gracefully.\n"
	"\n"
	"  --listen HOST:PORT   where to listen (default 127.0.0.1:8080; port 0: a\n"
	"                       free one, named on standard error)\n"
	"  --tokens FILE        clients must send one of these bearer tokens (one a\n"
	"                       line); default: none needed\n"
	"  --max-runs N         runs in flight at once; past it 429 (default 256)\n"
	"  --max-body BYTES     the largest request body; past it 413 (default 1048576)\n"
	"  --deadline DURATION  a request's run is stopped after this (e.g. 2m;\n"
	"                       default: none)\n"
	"  --grace DURATION     after SIGTERM, how long runs in flight may take before\n"
	"                       they are interrupted (default 10s)\n"
	"  --keep-reports N     reports GET /v1/runs/ID can give: the last N (default 256)\n"
	"  --sim[=SCENARIO]     send every call to the bundled simulated provider: no\n"
	"                       API key, no network\n"
	"  --cache[=PATH]       answer from the response cache where it can\n"
	"  --limit NAME=VALUE   change a limit, as for quorum run\n"
	"  --shared URL         share rpm windows, breakers and cached answers with\n"
	"                       every instance on this Redis, as for quorum run;\n"
	"                       --shared-budget USD: one spending limit for all\n"
	"  --quiet              no line per request on standard error\n"
	"\n"
	"Exit status: 0 stopped by a signal, 1 it could not start, 2 the command\n"
	"line or a file is invalid.\n";

static const char *const serve_opts[] = {
	"--listen", "--tokens", "--max-runs", "--max-body", "--deadline", "--grace",
	"--keep-reports", "--sim", "--cache", "--limit", "--quiet", "--shared",
	"--shared-budget", "--help",
};

struct serve_args {
	const char *listen, *tokens, *sim_scenario, *cache;
	int sim, use_cache, quiet;
	long max_runs, keep;
	long long max_body;
	int64_t deadline_ms, grace_ms;
	const char **files;
	size_t nfiles;
	const char *shared;           /* --shared URL, or NULL */
	double shared_budget;         /* --shared-budget USD; 0: none */
};

static int parse_count(const char *opt, const char *v, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > max) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s wants a whole number from 1 to %lld, got '%%s'", opt,
			 max);
		return cli_fail_usage(usage_serve, msg, v);
	}
	*out = n;
	return 0;
}

static int parse_duration(const char *opt, const char *v, int64_t *ms)
{
	if (duration_parse(v, ms) == 0)
		return 0;
	char msg[128];
	snprintf(msg, sizeof(msg), "%s wants a duration (30s, 2m, 500ms), got '%%s'", opt);
	return cli_fail_usage(usage_serve, msg, v);
}

/* An amount of USD above 0. */
static int parse_usd(const char *opt, const char *v, double *out)
{
	char *end;
	errno = 0;
	double usd = strtod(v, &end);
	if (errno || end == v || *end || !(usd > 0) || usd > 1e12) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s wants an amount of USD above 0, got '%%s'", opt);
		return cli_fail_usage(usage_serve, msg, v);
	}
	*out = usd;
	return 0;
}

/* The options that take a value (in the next word or after '='). */
static int option_value(struct serve_args *a, const char *opt, const char *v)
{
	long long n = 0;
	int rc = 0;
	if (!strcmp(opt, "--listen"))
		a->listen = v;
	else if (!strcmp(opt, "--tokens"))
		a->tokens = v;
	else if (!strcmp(opt, "--max-runs"))
		rc = parse_count(opt, v, 1000000, &n), a->max_runs = (long)n;
	else if (!strcmp(opt, "--max-body"))
		rc = parse_count(opt, v, 1LL << 30, &a->max_body);
	else if (!strcmp(opt, "--keep-reports"))
		rc = parse_count(opt, v, 1000000, &n), a->keep = (long)n;
	else if (!strcmp(opt, "--deadline"))
		rc = parse_duration(opt, v, &a->deadline_ms);
	else if (!strcmp(opt, "--grace"))
		rc = parse_duration(opt, v, &a->grace_ms);
	else if (!strcmp(opt, "--limit"))
		rc = cli_parse_limit(usage_serve, v);
	else if (!strcmp(opt, "--shared"))
		a->shared = v;
	else if (!strcmp(opt, "--shared-budget"))
		rc = parse_usd(opt, v, &a->shared_budget);
	else
		return -1;
	return rc;
}

static int flag(struct serve_args *a, const char *s)
{
	if (!strcmp(s, "--quiet") || !strcmp(s, "-q"))
		a->quiet = 1;
	else if (!strcmp(s, "--sim") || !strncmp(s, "--sim=", 6)) {
		if (!cli_have_sim()) {
			fputs("quorum: this build has no simulator (built with -Dsim=disabled)\n",
			      stderr);
			return QUORUM_EXIT_INVALID;
		}
		a->sim = 1;
		a->sim_scenario = s[5] == '=' ? s + 6 : NULL;
	} else if (!strcmp(s, "--cache") || !strncmp(s, "--cache=", 8)) {
		a->use_cache = 1;
		a->cache = s[7] == '=' && s[8] ? s + 8 : NULL;
	} else {
		return -1;
	}
	return 0;
}

static int parse_option(void *ctx, int argc, char **argv, int *i)
{
	struct serve_args *a = ctx;
	const char *s = argv[*i];
	const char *eq = strchr(s, '=');
	size_t len = eq ? (size_t)(eq - s) : strlen(s);
	char name[32] = "";
	/* No option is as long: a longer name stays "" and is unknown. */
	if (len < sizeof(name)) {
		memcpy(name, s, len);
		name[len] = '\0';
	}
	if (eq) {
		int rc = option_value(a, name, eq + 1);
		if (rc >= 0)
			return rc;
	} else if (*i + 1 < argc && strcmp(name, "--sim") && strcmp(name, "--cache") &&
		   strcmp(name, "--quiet")) {
		int rc = option_value(a, name, argv[*i + 1]);
		if (rc >= 0) {
			++*i;
			return rc;
		}
	}
	int rc = flag(a, s);
	if (rc >= 0)
		return rc;
	return cli_fail_option(usage_serve, serve_opts, NOPTS(serve_opts), s);
}

static int add_file(void *ctx, const char *s)
{
	struct serve_args *a = ctx;
	a->files[a->nfiles++] = s;
	return 0;
}

static int parse_args(struct serve_args *a, int argc, char **argv)
{
	int rc = cli_walk_args(argc, argv, a, parse_option, add_file);
	if (rc)
		return rc;
	if (!a->nfiles)
		return cli_fail_usage(usage_serve, "serve needs at least one workflow FILE%s", "");
	for (size_t i = 0; i < a->nfiles; i++)
		if (!strcmp(a->files[i], "-"))
			return cli_fail_usage(usage_serve, "serve reads its workflows from files, "
					      "not standard input ('%s')", "-");
	return 0;
}

#if QUORUM_SERVE
/* HOST:PORT, [V6]:PORT, :PORT or PORT into host (a buffer of n) and
 * *port. Returns 0 or an exit status. */
static int parse_listen(const char *spec, char *host, size_t n, int *port)
{
	const char *colon = strrchr(spec, ':');
	const char *p = colon ? colon + 1 : spec;
	char *end;
	long v = strtol(p, &end, 10);
	if (!*p || *end || v < 0 || v > 65535)
		return cli_fail_usage(usage_serve, "--listen wants HOST:PORT (e.g. "
				      "127.0.0.1:8080), got '%s'", spec);
	*port = (int)v;
	size_t hl = colon ? (size_t)(colon - spec) : 0;
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']')
		snprintf(host, n, "%.*s", (int)(hl - 2), spec + 1);
	else if (hl)
		snprintf(host, n, "%.*s", (int)hl, spec);
	else
		snprintf(host, n, "0.0.0.0");
	if (!strcmp(host, "localhost"))
		snprintf(host, n, "127.0.0.1");
	return 0;
}

static int read_tokens(const char *path, struct tokens **out)
{
	size_t len = 0;
	char *text = cli_read_path(path, &len);
	if (!text) {
		fprintf(stderr, "quorum: cannot read --tokens '%s': %s\n", path,
			strerror(errno ? errno : EIO));
		return QUORUM_EXIT_INVALID;
	}
	const char *why = NULL;
	*out = tokens_parse(text, len, &why);
	memset(text, 0, len);
	free(text);
	if (!*out) {
		fprintf(stderr, "quorum: --tokens '%s': %s\n", path, why);
		return QUORUM_EXIT_INVALID;
	}
	return 0;
}

static int serve(struct serve_args *a, struct quorum_workflow **wfs)
{
	struct serve_config c = {
		.wfs = wfs, .nwfs = a->nfiles, .limits = &cli_limits,
		.max_runs = a->max_runs, .max_body = (size_t)a->max_body,
		.deadline_ms = a->deadline_ms, .grace_ms = a->grace_ms,
		.keep_reports = (size_t)a->keep, .quiet = a->quiet, .log = stderr,
	};
	char host[256], sim_url[64] = "";
	struct tokens *tokens = NULL;
	struct quorum_cache *cache = NULL;
	struct mock *sim = NULL;
	int code = parse_listen(a->listen, host, sizeof(host), &c.port);
	if (!code && a->shared_budget > 0 && !a->shared)
		code = cli_fail_usage(usage_serve, "--shared-budget needs --shared (the Redis "
				      "that keeps the spend)%s", "");
	if (code || (a->tokens && (code = read_tokens(a->tokens, &tokens))))
		goto out;
	c.shared = a->shared;
	c.shared_budget = a->shared_budget;
	struct run_args ra = {.usage = usage_serve, .use_cache = a->use_cache, .cache = a->cache};
	if ((code = run_args_open_cache(&ra, &cache)))
		goto out;
	code = QUORUM_EXIT_FAILED;
	if (a->sim && !(sim = cli_sim_start(a->sim_scenario, sim_url, sizeof(sim_url))))
		goto out;
	c.host = host;
	c.tokens = tokens;
	c.cache = cache;
	c.sim_base_url = a->sim ? sim_url : NULL;
	cli_install_signals();
	c.stop = &cli_interrupt;
	c.stop_fd = cli_wake_fd();
	/* A client that goes mid-answer must not end the server. */
	signal(SIGPIPE, SIG_IGN);
	code = serve_run(&c);
out:
	cli_sim_stop(sim);
	quorum_cache_close(cache);
	tokens_free(tokens);
	return code;
}
#endif

int cmd_serve(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_serve, stdout);
		return cli_check_stdout("the usage");
	}
	struct serve_args a = {.listen = "127.0.0.1:8080", .max_runs = 256,
			       .max_body = 1 << 20, .grace_ms = 10000, .keep = 256};
	a.files = calloc((size_t)argc + 1, sizeof(*a.files));
	if (!a.files)
		return QUORUM_EXIT_FAILED;
	int code = parse_args(&a, argc, argv);
#if QUORUM_SERVE
	struct quorum_workflow **wfs = code ? NULL : calloc(a.nfiles + 1, sizeof(*wfs));
	if (!code && !wfs)
		code = QUORUM_EXIT_FAILED;
	for (size_t i = 0; !code && i < a.nfiles; i++)
		if (!(wfs[i] = cli_load(a.files[i])))
			code = QUORUM_EXIT_INVALID;
	if (!code)
		code = serve(&a, wfs);
	for (size_t i = 0; wfs && i < a.nfiles; i++)
		quorum_workflow_free(wfs[i]);
	free(wfs);
#else
	if (!code) {
		fputs("quorum: this build has no server (built with -Dsim=disabled, without "
		      "libmicrohttpd)\n", stderr);
		code = QUORUM_EXIT_INVALID;
	}
#endif
	free(a.files);
	return code;
}
