/* The quorum command: its subcommands, each in a cli_*.c file of its own,
 * all thin users of include/quorum.h. */
#include <string.h>

#include "cli.h"

static const char usage_main[] =
	"usage: quorum <command> [options]\n"
	"\n"
	"Ask several LLMs, merge what they say. Commands:\n"
	"  run FILE [QUERY]        run a workflow and print its answer\n"
	"  batch FILE              run a workflow on each line of a JSON Lines file\n"
	"  eval FILE... --data D   score workflows, and their models alone, on data\n"
	"  validate FILE           check a workflow file; print its worst-case cost\n"
	"  graph FILE              print the workflow's graph (DOT or Mermaid)\n"
	"  cache stats|clear       the response cache that --cache keeps\n"
	"  router train|calibrate  a learned router from an eval's details\n"
	"  feedback FILE RUN SCORE reward a run's bandit choices\n"
	"  bandit stats --state F  what a bandit's state file has learnt\n"
	"  serve FILE...           serve workflows over an OpenAI-compatible HTTP API\n"
	"\n"
	"FILE may be - (standard input). Run 'quorum <command> --help' for a\n"
	"command's options.\n";

static const char *const commands[] = {"run", "batch", "eval", "validate", "graph",
				      "cache", "router", "feedback", "bandit", "serve",
				      "help"};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stderr);
		return QUORUM_EXIT_INVALID;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_main, stdout);
		return cli_check_stdout("the usage");
	}
	if (!strcmp(cmd, "--version")) {
		puts("quorum " QUORUM_VERSION);
		return cli_check_stdout("the version");
	}
	quorum_limits_default(&cli_limits);
	if (quorum_global_init()) {
		fputs("quorum: cannot initialise libcurl\n", stderr);
		return QUORUM_EXIT_FAILED;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} table[] = {
		{"run", cmd_run}, {"batch", cmd_batch}, {"eval", cmd_eval},
		{"validate", cmd_validate}, {"graph", cmd_graph}, {"cache", cmd_cache},
		{"router", cmd_router}, {"feedback", cmd_feedback}, {"serve", cmd_serve},
		{"bandit", cmd_bandit},
	};
	int code = -1;
	for (size_t i = 0; i < NOPTS(table) && code < 0; i++)
		if (!strcmp(cmd, table[i].name))
			code = table[i].fn(argc - 2, argv + 2);
	if (code < 0)
		code = cli_fail_unknown(usage_main, "command", commands, NOPTS(commands), cmd);
	quorum_global_cleanup();
	return code;
}
