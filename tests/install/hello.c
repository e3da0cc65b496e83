/* A library user's program, built against the installed quorum through
 * pkg-config: loads a workflow, prints its summary, runs it. */
#include <quorum.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char *errors = NULL;
	if (argc != 3 || quorum_global_init())
		return 2;
	struct quorum_workflow *wf = quorum_workflow_load(argv[1], &errors);
	if (!wf) {
		fputs(errors ? errors : "hello: cannot load the workflow\n", stderr);
		quorum_free(errors);
		return 2;
	}
	char *summary = quorum_workflow_summary(wf);
	struct quorum_options o = {.query = argv[2], .wake_fd = -1};
	struct quorum_report *rep = quorum_run(wf, &o, &errors);
	int code = rep ? quorum_report_exit_code(rep) : 2;
	printf("%s%s\n", summary ? summary : "", rep ? quorum_report_output(rep) : "");
	fputs(errors ? errors : "", stderr);
	quorum_free(errors);
	quorum_free(summary);
	quorum_report_free(rep);
	quorum_workflow_free(wf);
	quorum_global_cleanup();
	return code;
}
