/* quorum router train|calibrate: a learned router (RouteLLM) from an
 * eval's details, and its threshold for a share of strong-model calls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "cli.h"

static const char usage_router[] =
	"usage: quorum router train FILE --node NODE --details D --weak W --strong S\n"
	"                           --out ROUTER [options]\n"
	"       quorum router calibrate ROUTER --share X\n"
	"\n"
	"train: learns when the strong model is needed from D, the --details of a\n"
	"'quorum eval' that ran the weak system W and the strong system S (their\n"
	"names in D, e.g. \"small alone\"): embeds each question with the 'embed'\n"
	"model of route node NODE in FILE, fits a scorer on 75% of them, judges it\n"
	"on the rest (APGR, CPT(50%), CPT(80%)) and writes ROUTER, the file a\n"
	"route's 'score' condition names.\n"
	"\n"
	"  --kind logreg|mf     logistic regression (default) or RouteLLM's matrix\n"
	"                       factorisation\n"
	"  --l2 X               the penalty (default 0.01)\n"
	"  --test-share X       held out to judge the router (default 0.25)\n"
	"  --share X            calibrate now: X of the queries go to the strong model\n"
	"  --seed N             which questions are held out (default 1)\n"
	"  --parallel N         embedding runs at once (default 16)\n"
	"  --sim[=SCENARIO], --cache[=PATH], --limit NAME=VALUE, --quiet   as for run\n"
	"\n"
	"calibrate: sets ROUTER's threshold so that about X (0 to 1) of the queries\n"
	"go to the strong model, from the scores of the questions it was trained on.\n";

static const char *const router_opts[] = {
	"--node", "--details", "--weak", "--strong", "--out", "--kind", "--l2", "--test-share",
	"--share", "--seed", "--parallel", "--sim", "--cache", "--limit", "--quiet", "--help",
};

struct router_args {
	struct run_args a;
	struct quorum_router_train t;
	double share;
	const char *share_text;
	const char *train_opt;  /* the last option only train takes, for calibrate */
};

static int number(const char *opt, const char *v, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || *end || !*v || !(x >= min && x <= max)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s wants a number from %g to %g, got '%%s'", opt, min,
			 max);
		return cli_fail_usage(usage_router, msg, v);
	}
	*out = x;
	return 0;
}

static int router_value(struct router_args *r, const char *opt, const char *v)
{
	struct quorum_router_train *t = &r->t;
	double x = 0;
	int rc = 0;
	if (strcmp(opt, "--share"))
		r->train_opt = opt;
	if (!strcmp(opt, "--node"))
		t->node = v;
	else if (!strcmp(opt, "--details"))
		t->details = v;
	else if (!strcmp(opt, "--weak"))
		t->weak = v;
	else if (!strcmp(opt, "--strong"))
		t->strong = v;
	else if (!strcmp(opt, "--out"))
		t->out = v;
	else if (!strcmp(opt, "--kind") && strcmp(v, "logreg") && strcmp(v, "mf"))
		rc = cli_fail_usage(usage_router, "--kind wants logreg or mf, got '%s'", v);
	else if (!strcmp(opt, "--kind"))
		t->kind = v;
	else if (!strcmp(opt, "--l2"))
		rc = number(opt, v, 0, 1e6, &t->l2);
	else if (!strcmp(opt, "--test-share"))
		rc = number(opt, v, 0, 0.9, &t->test_share);
	else if (!strcmp(opt, "--share"))
		rc = number(opt, v, 0, 1, &r->share), r->share_text = v;
	else if (!strcmp(opt, "--seed") && !(rc = number(opt, v, 0, 1e15, &x)))
		t->seed = (unsigned long long)x;
	else if (!strcmp(opt, "--parallel") && !(rc = number(opt, v, 1, 10000, &x)))
		t->parallel = (long)x;
	return rc;
}

static int router_option(struct router_args *r, int argc, char **argv, int *i)
{
	int rc = run_args_option(&r->a, argc, argv, i);
	if (rc != ARGS_NOT_MINE)
		return rc;
	static const char *const with_value[] = {
		"--node", "--details", "--weak", "--strong", "--out", "--kind", "--l2",
		"--test-share", "--share", "--seed", "--parallel",
	};
	const char *s = argv[*i];
	for (size_t k = 0; k < NOPTS(with_value); k++) {
		const char *o = with_value[k];
		size_t n = strlen(o);
		if (!strcmp(s, o) && *i + 1 < argc)
			return router_value(r, o, argv[++*i]);
		if (!strncmp(s, o, n) && s[n] == '=')
			return router_value(r, o, s + n + 1);
		/* Last on the line: not an unknown option, one without its value. */
		if (!strcmp(s, o))
			return cli_fail_usage(usage_router, "option '%s' needs a value", s);
	}
	return cli_fail_option(usage_router, router_opts, NOPTS(router_opts), s);
}

static int missing(const struct router_args *r)
{
	static const char *const names[] = {"--node", "--details", "--weak", "--strong",
					    "--out"};
	const char *vals[] = {r->t.node, r->t.details, r->t.weak, r->t.strong, r->t.out};
	for (size_t i = 0; i < NOPTS(names); i++)
		if (!vals[i])
			return cli_fail_usage(usage_router, "router train needs %s", names[i]);
	/* One system as both: every question would lack the other's answer. */
	if (!strcmp(r->t.weak, r->t.strong))
		return cli_fail_usage(usage_router, "--weak and --strong name one system '%s'",
				      r->t.weak);
	return 0;
}

/* A file the command reads, refused before any work as eval refuses its
 * --data: missing, unreadable, or a folder (which fopen takes and then
 * reads as empty). Returns 0 or QUORUM_EXIT_INVALID with the reason. */
static int readable(const char *path)
{
	FILE *f = file_open_read(path, "r");
	if (f) {
		fclose(f);
		return 0;
	}
	fprintf(stderr, "quorum: cannot read '%s': %s\n", path, strerror(errno));
	return QUORUM_EXIT_INVALID;
}

/* The router is written over --out: never over what train reads. */
static int out_clobbers(const struct router_args *r)
{
	const char *what = cli_same_file(r->t.out, r->t.details) ? "the --details file"
			   : strcmp(r->a.file, "-") && cli_same_file(r->t.out, r->a.file)
			   ? "the workflow file" : NULL;
	if (!what)
		return 0;
	fprintf(stderr, "quorum: --out '%s' is %s: the router would overwrite it\n", r->t.out,
		what);
	return QUORUM_EXIT_INVALID;
}

/* --node names a node of FILE with an embed model: a usage error when
 * not, before anything is embedded. */
static int check_node(const struct router_args *r, const struct quorum_workflow *wf)
{
	int embeds = quorum_workflow_node_embeds(wf, r->t.node);
	if (embeds < 0)
		return cli_fail_usage(usage_router, "--node: the workflow has no node '%s'",
				      r->t.node);
	if (!embeds)
		return cli_fail_usage(usage_router, "--node: node '%s' has no 'embed' model (the "
				      "router learns from the embeddings that node makes)",
				      r->t.node);
	return 0;
}

static int train(struct router_args *r)
{
	int code = missing(r);
	if (code)
		return code;
	char *errors = NULL;
	/* Its router file may not exist yet: this command writes it. */
	struct quorum_workflow *wf = quorum_workflow_load_untrained(r->a.file, &errors);
	if (!wf) {
		fputs(errors ? errors : "quorum: cannot load the workflow\n", stderr);
		quorum_free(errors);
		errors = NULL;
	}
	struct quorum_cache *cache = NULL;
	struct mock *sim = NULL;
	char sim_url[64];
	struct quorum_options o;
	code = QUORUM_EXIT_INVALID;
	if (!wf || (code = check_node(r, wf)) || (code = readable(r->t.details)) ||
	    (code = out_clobbers(r)) || run_args_open_cache(&r->a, &cache)) {
		code = code ? code : QUORUM_EXIT_INVALID;
		goto out;
	}
	if (r->a.sim && !(sim = cli_sim_start(r->a.sim_scenario, sim_url, sizeof(sim_url))))
		goto out;
	cli_install_signals();
	run_args_options(&r->a, r->a.sim ? sim_url : NULL, &o);
	o.cache = cache;
	r->t.wf = wf;
	r->t.opts = &o;
	r->t.strong_share = r->share_text ? r->share : -1;
	if (!r->t.seed)
		r->t.seed = 1;
	char *report = quorum_router_train(&r->t, &errors);
	if (!report) {
		fputs(errors ? errors : "quorum: the router could not be trained\n", stderr);
		quorum_free(errors);
		code = cli_interrupt ? QUORUM_EXIT_INTERRUPTED : QUORUM_EXIT_FAILED;
		goto out;
	}
	fputs(report, stdout);
	quorum_free(report);
	code = cli_check_stdout("the router's report");
out:
	cli_sim_stop(sim);
	quorum_cache_close(cache);
	quorum_workflow_free(wf);
	return code;
}

static int calibrate(struct router_args *r)
{
	if (!r->share_text)
		return cli_fail_usage(usage_router, "router calibrate needs --share X (the share "
				      "of queries for the strong model)%s", "");
	if (r->train_opt)
		return cli_fail_usage(usage_router, "router calibrate takes --share only, not "
				      "'%s'", r->train_opt);
	int code = readable(r->a.file);
	if (code)
		return code;
	char *errors = NULL;
	char *report = quorum_router_calibrate(r->a.file, r->share, &errors);
	if (!report) {
		fputs(errors ? errors : "quorum: the router could not be calibrated\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_FAILED;
	}
	fputs(report, stdout);
	quorum_free(report);
	return cli_check_stdout("the router's threshold");
}

int cmd_router(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_router, stdout);
		return cli_check_stdout("the usage");
	}
	static const char *const actions[] = {"train", "calibrate"};
	if (argc < 1)
		return cli_fail_usage(usage_router, "router needs train or calibrate%s", "");
	int is_train = !strcmp(argv[0], "train");
	if (!is_train && strcmp(argv[0], "calibrate"))
		return cli_fail_unknown(usage_router, "router action", actions, NOPTS(actions),
					argv[0]);
	struct router_args r = {.a = {.usage = usage_router}, .t = {.test_share = -1}};
	int code = 0;
	for (int i = 1; i < argc && !code; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			code = router_option(&r, argc, argv, &i);
		else if (!r.a.file)
			r.a.file = argv[i];
		else
			code = cli_fail_usage(usage_router, "unexpected argument '%s'", argv[i]);
	}
	if (!code && !r.a.file)
		code = cli_fail_usage(usage_router, is_train ? "router train needs the workflow "
				      "FILE%s" : "router calibrate needs the ROUTER file%s", "");
	if (!code)
		code = is_train ? train(&r) : calibrate(&r);
	run_args_release(&r.a);
	return code;
}
