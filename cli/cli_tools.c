/* quorum validate and quorum graph: a workflow file checked, its worst
 * case priced, its graph drawn; nothing is sent. */
#include <string.h>

#include "cli.h"

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

static const char *const validate_opts[] = {"--limit", "--help"};
static const char *const graph_opts[] = {"--format", "--limit", "--help"};

/* The one FILE of validate and graph: "--" ends options. */
static int take_file(const char *usage, const char **file, const char *arg)
{
	if (!*file) {
		*file = arg;
		return 0;
	}
	if (usage == usage_validate)
		return cli_fail_usage(usage, "validate takes one FILE, got '%s' too", arg);
	return cli_fail_usage(usage, "unexpected argument '%s'", arg);
}

int cmd_validate(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_validate, stdout);
		return cli_check_stdout("the usage");
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
			rc = cli_parse_limit(usage_validate, argv[++i]);
		else if (!strncmp(argv[i], "--limit=", 8))
			rc = cli_parse_limit(usage_validate, argv[i] + 8);
		else
			return cli_fail_option(usage_validate, validate_opts, NOPTS(validate_opts),
					   argv[i]);
		if (rc)
			return rc;
	}
	if (!file)
		return cli_fail_usage(usage_validate, "validate needs a FILE%s", "");
	struct quorum_workflow *wf = cli_load(file);
	if (!wf)
		return QUORUM_EXIT_INVALID;
	char *s = quorum_workflow_summary(wf);
	fputs(s ? s : "", stdout);
	quorum_free(s);
	quorum_workflow_free(wf);
	return cli_check_stdout("the summary");
}

int cmd_graph(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_graph, stdout);
		return cli_check_stdout("the usage");
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
			rc = cli_parse_limit(usage_graph, argv[++i]);
		else if (!strncmp(argv[i], "--limit=", 8))
			rc = cli_parse_limit(usage_graph, argv[i] + 8);
		else
			return cli_fail_option(usage_graph, graph_opts, NOPTS(graph_opts), argv[i]);
		if (rc)
			return rc;
	}
	if (!file)
		return cli_fail_usage(usage_graph, "graph needs a FILE%s", "");
	if (strcmp(format, "dot") && strcmp(format, "mermaid"))
		return cli_fail_usage(usage_graph, "unknown format '%s' (use dot or mermaid)", format);
	struct quorum_workflow *wf = cli_load(file);
	if (!wf)
		return QUORUM_EXIT_INVALID;
	char *s = quorum_workflow_graph(wf, format);
	fputs(s ? s : "", stdout);
	quorum_free(s);
	quorum_workflow_free(wf);
	return cli_check_stdout("the graph");
}
