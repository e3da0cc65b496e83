/* The options run and batch share: inputs (NAME=VALUE, NAME=@FILE),
 * limits, the simulator, the cache, and how the run talks on stderr. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

char *run_args_own(struct run_args *a, char *s)
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

int run_args_claim_stdin(struct run_args *a, const char *what)
{
	if (!a->stdin_for[0]) {
		snprintf(a->stdin_for, sizeof(a->stdin_for), "%s", what);
		return 0;
	}
	fprintf(stderr, "quorum: standard input cannot give both %s and %s\n", a->stdin_for,
		what);
	return cli_usage_tail(a->usage);
}

/* NAME=@FILE: the file's text (@- : standard input). Returns 0 or an exit
 * status; *value gets the text. */
static int input_from_file(struct run_args *a, const char *name, const char *path,
			   const char **value)
{
	char what[160];
	snprintf(what, sizeof(what), "--input %.100s", name);
	if (!strcmp(path, "-") && run_args_claim_stdin(a, what))
		return QUORUM_EXIT_INVALID;
	size_t len = 0;
	char *v = cli_read_path(path, &len);
	if (!v) {
		fprintf(stderr, "quorum: cannot read '%s' for --input %s: %s\n", path, name,
			strerror(errno ? errno : EIO));
		return QUORUM_EXIT_INVALID;
	}
	if (cli_check_text(what, v, len)) {
		free(v);
		return QUORUM_EXIT_INVALID;
	}
	if (!(*value = run_args_own(a, v)))
		return cli_fail_usage(a->usage, "out of memory reading --input %s", name);
	return 0;
}

static int parse_input(struct run_args *a, const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec)
		return cli_fail_usage(a->usage, "--input wants NAME=VALUE or NAME=@FILE, got '%s'",
				      spec);
	char *name = run_args_own(a, strndup(spec, (size_t)(eq - spec)));
	if (!name)
		return cli_fail_usage(a->usage, "out of memory reading --input '%s'", spec);
	for (size_t i = 0; i < a->ninputs; i++) {
		if (!strcmp(a->inputs[i].name, name))
			return cli_fail_usage(a->usage, "input '%s' is given twice (give each "
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
			return cli_fail_usage(a->usage, "out of memory reading --input '%s'", spec);
		a->inputs = in;
		a->cap = cap;
	}
	a->inputs[a->ninputs++] = (struct quorum_input){name, value};
	return 0;
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
		return cli_fail_usage(a->usage, "--color wants auto, always or never, got '%s'",
				      when);
	return 0;
}

/* --sim, or --sim=SCENARIO (scenario not NULL). A build without the
 * simulator refuses both. */
static int want_sim(struct run_args *a, const char *scenario)
{
	if (!cli_have_sim()) {
		fputs("quorum: this build has no simulator (built with -Dsim=disabled)\n", stderr);
		return QUORUM_EXIT_INVALID;
	}
	if (scenario && !strcmp(scenario, "-"))
		return cli_fail_usage(a->usage, "--sim=- is not supported: give the scenario as "
				      "a FILE%s", "");
	a->sim = 1;
	if (scenario)
		a->sim_scenario = scenario;
	return 0;
}

/* --cache, or --cache=PATH: the default file, or that one (--cache= is
 * the default too). */
static int want_cache(struct run_args *a, const char *path)
{
	a->use_cache = 1;
	a->cache = path && *path ? path : NULL;
	return 0;
}

/* `--cache FILE.sqlite` is a cache file given the way the option does not
 * take it (its file comes after '='): the word would silently become the
 * query. Refused, saying how. */
static int cache_word(struct run_args *a, const char *next)
{
	static const char *const exts[] = {".sqlite", ".sqlite3", ".db"};
	size_t n = next ? strlen(next) : 0;
	for (size_t i = 0; n && !strchr(next, ' ') && i < NOPTS(exts); i++) {
		size_t e = strlen(exts[i]);
		if (n > e && !strcmp(next + n - e, exts[i]))
			return cli_fail_usage(a->usage, "--cache takes its file after '=': "
					      "--cache=%s", next);
	}
	return want_cache(a, NULL);
}

/* --shared-budget USD: a positive amount of dollars. */
static int parse_shared_budget(struct run_args *a, const char *v)
{
	char *end;
	errno = 0;
	double usd = strtod(v, &end);
	if (errno || end == v || *end || !(usd > 0) || usd > 1e12)
		return cli_fail_usage(a->usage, "--shared-budget wants an amount of USD above 0, "
				      "as in --shared-budget 25, got '%s'", v);
	a->shared_budget = usd;
	return 0;
}

/* --shared URL: checked when the engine connects (an unreachable Redis
 * is refused before any run). */
static int want_shared(struct run_args *a, const char *url)
{
	if (!*url)
		return cli_fail_usage(a->usage, "--shared wants a URL, as in --shared "
				      "redis://127.0.0.1:6379%s", "");
	a->shared = url;
	return 0;
}

/* The options with a value in the next word. */
static int option_with_value(struct run_args *a, const char *s, const char *v)
{
	if (!strcmp(s, "--shared"))
		return want_shared(a, v);
	if (!strcmp(s, "--shared-budget"))
		return parse_shared_budget(a, v);
	if (!strcmp(s, "--limit"))
		return cli_parse_limit(a->usage, v);
	if (!strcmp(s, "--input"))
		return parse_input(a, v);
	return parse_color(a, v);
}

int run_args_option(struct run_args *a, int argc, char **argv, int *i)
{
	const char *s = argv[*i];
	const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
	if ((!strcmp(s, "--limit") || !strcmp(s, "--input") || !strcmp(s, "--color") ||
	     !strcmp(s, "--shared") || !strcmp(s, "--shared-budget")) && next) {
		++*i;
		return option_with_value(a, s, next);
	}
	if (!strcmp(s, "--quiet") || !strcmp(s, "-q"))
		a->quiet = 1;
	else if (!strcmp(s, "--sim"))
		return want_sim(a, NULL);
	else if (!strncmp(s, "--sim=", 6))
		return want_sim(a, s + 6);
	else if (!strcmp(s, "--cache"))
		return cache_word(a, next);
	else if (!strncmp(s, "--cache=", 8))
		return want_cache(a, s + 8);
	else if (!strcmp(s, "--verbose") || !strcmp(s, "-v"))
		a->verbose = 1;
	else if (!strcmp(s, "--insecure"))
		a->insecure = 1;
	else if (!strncmp(s, "--limit=", 8))
		return cli_parse_limit(a->usage, s + 8);
	else if (!strncmp(s, "--input=", 8))
		return parse_input(a, s + 8);
	else if (!strncmp(s, "--color=", 8))
		return parse_color(a, s + 8);
	else if (!strncmp(s, "--shared=", 9))
		return want_shared(a, s + 9);
	else if (!strncmp(s, "--shared-budget=", 16))
		return parse_shared_budget(a, s + 16);
	else
		return ARGS_NOT_MINE;
	return 0;
}

void run_args_options(const struct run_args *a, const char *sim_url,
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
		.interrupt = &cli_interrupt,
		.wake_fd = cli_wake_fd(),
		.limits = &cli_limits,
		.verbose = a->verbose ? stderr : NULL,
		.insecure = a->insecure,
		.color = cli_use_color(a->color, STDERR_FILENO),
		.plain = term && !strcmp(term, "dumb"),
	};
}

int run_args_open_cache(struct run_args *a, struct quorum_cache **cache)
{
	*cache = NULL;
	if (!a->use_cache)
		return 0;
	char *errors = NULL;
	if (!(*cache = quorum_cache_open(a->cache, &errors))) {
		fputs(errors ? errors : "quorum: cannot open the cache\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_INVALID;
	}
	return 0;
}

static int run_args_share(const struct run_args *a, struct quorum_engine *e)
{
	if (!a->shared) {
		if (a->shared_budget > 0)
			return cli_fail_usage(a->usage, "--shared-budget needs --shared (the Redis "
					      "that keeps the spend)%s", "");
		return 0;
	}
	char *errors = NULL;
	if (quorum_engine_set_shared(e, a->shared, &errors)) {
		fputs(errors ? errors : "quorum: --shared: cannot connect\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_INVALID;
	}
	quorum_engine_set_shared_budget(e, a->shared_budget);
	return 0;
}

struct quorum_engine *run_args_engine(const struct run_args *a, int *code)
{
	struct quorum_engine *e = quorum_engine_new(cli_wake_fd());
	if (!e) {
		fputs("quorum: cannot start the engine\n", stderr);
		*code = QUORUM_EXIT_FAILED;
		return NULL;
	}
	if ((*code = run_args_share(a, e))) {
		quorum_engine_free(e);
		return NULL;
	}
	return e;
}

void run_args_release(struct run_args *a)
{
	for (size_t i = 0; i < a->nowned; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->inputs);
}
