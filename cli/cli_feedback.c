/* quorum feedback: a reward for a run's bandit choices, after the fact. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_feedback[] =
	"usage: quorum feedback FILE RUN_ID SCORE\n"
	"\n"
	"Rewards the choices the bandit nodes of workflow FILE made in run RUN_ID\n"
	"(the \"run_id\" of its report) with SCORE, from 0 (bad) to 1 (good). Each\n"
	"choice takes one reward, within 30 days of its run: a second is refused\n"
	"(exit status 1) and the first one kept.\n";

int cmd_feedback(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_feedback, stdout);
		return cli_check_stdout("the usage");
	}
	if (argc != 3)
		return cli_fail_usage(usage_feedback, "feedback takes FILE, RUN_ID and SCORE%s",
				      "");
	char *end;
	errno = 0;
	double score = strtod(argv[2], &end);
	if (errno || *end || end == argv[2] || !(score >= 0 && score <= 1))
		return cli_fail_usage(usage_feedback, "SCORE is a number from 0 to 1, got '%s'",
				      argv[2]);
	if (!argv[1][0])
		return cli_fail_usage(usage_feedback, "RUN_ID is empty: give the \"run_id\" of "
				      "the run's report%s", "");
	score += 0.0; /* -0 reads as 0, and prints so */
	struct quorum_workflow *wf = cli_load(argv[0]);
	if (!wf)
		return QUORUM_EXIT_INVALID;
	char *errors = NULL;
	long n = quorum_feedback(wf, argv[1], score, &errors);
	quorum_workflow_free(wf);
	if (n < 0) {
		fputs(errors ? errors : "quorum: the reward could not be recorded\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_FAILED;
	}
	if (!n) {
		fprintf(stderr, "quorum: run %s has no bandit choice waiting for a reward "
			"(unknown, or rewarded already)\n", argv[1]);
		return QUORUM_EXIT_FAILED;
	}
	printf("rewarded %ld choice%s of run %s with %g\n", n, n == 1 ? "" : "s", argv[1], score);
	return cli_check_stdout("the result");
}
