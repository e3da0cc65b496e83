/* quorum bandit stats: what a bandit's state file has learnt, for a
 * person to read. */
#include <string.h>

#include "cli.h"

static const char usage_bandit[] =
	"usage: quorum bandit stats --state FILE\n"
	"\n"
	"stats: what the bandit state FILE (a bandit node's 'state') has learnt:\n"
	"each node's queries and mean cost, and each arm's pulls, rewards, mean\n"
	"reward and mean cost. Opening a state file drops the choices made more\n"
	"than 30 days ago (a reward for one comes too late); what was learnt stays.\n"
	"\n"
	"  --state FILE         the state file, as a bandit node's 'state' names it\n";

static const char *const bandit_opts[] = {"--state", "--help"};

/* --state FILE or --state=FILE; returns 0 or an exit status. */
static int bandit_option(int argc, char **argv, int *i, const char **state)
{
	const char *s = argv[*i];
	if (!strcmp(s, "--state") && *i + 1 < argc)
		*state = argv[++*i];
	else if (!strncmp(s, "--state=", 8))
		*state = s + 8;
	else if (!strcmp(s, "--state"))
		*state = "";
	else
		return cli_fail_option(usage_bandit, bandit_opts, NOPTS(bandit_opts), s);
	/* An empty name is a mistake on the command line, not a missing file. */
	if (!**state)
		return cli_fail_usage(usage_bandit, "--state needs a FILE%s", "");
	return 0;
}

static int stats(const char *state)
{
	char *errors = NULL;
	char *text = quorum_bandit_stats(state, &errors);
	if (!text) {
		fputs(errors ? errors : "quorum: cannot read the bandit state\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_FAILED;
	}
	fputs(text, stdout);
	quorum_free(text);
	return cli_check_stdout("the statistics");
}

int cmd_bandit(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_bandit, stdout);
		return cli_check_stdout("the usage");
	}
	static const char *const actions[] = {"stats"};
	if (argc < 1)
		return cli_fail_usage(usage_bandit, "bandit needs stats%s", "");
	if (strcmp(argv[0], "stats"))
		return cli_fail_unknown(usage_bandit, "bandit action", actions, NOPTS(actions),
					argv[0]);
	const char *state = NULL;
	int code = 0;
	for (int i = 1; i < argc && !code; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			code = bandit_option(argc, argv, &i, &state);
		else
			code = cli_fail_usage(usage_bandit, "unexpected argument '%s'", argv[i]);
	}
	if (!code && !state)
		code = cli_fail_usage(usage_bandit, "bandit stats needs --state FILE (a bandit "
				      "node's state file)%s", "");
	return code ? code : stats(state);
}
