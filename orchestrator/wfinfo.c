/* What a caller may ask of a loaded workflow without running it: its
 * name, description and inputs (quorum serve lists workflows as models
 * and passes a request's history only to a workflow that declares it);
 * and of a report, why the answer's model stopped (serve's
 * finish_reason). */
#include "run.h"

const char *quorum_report_finish_reason(const struct quorum_report *rep)
{
	const struct run *r = &rep->run;
	if (!r->set.nodes || !rep->output)
		return NULL;
	const struct node_state *ns = &r->set.nodes[r->wf->output->idx];
	if (ns->ncalls != 1 || NODE_RESP(ns, 0)->status != RESP_OK)
		return NULL;
	return NODE_RESP(ns, 0)->finish_reason;
}

const char *quorum_workflow_name(const struct quorum_workflow *qw)
{
	return qw->wf->name;
}

const char *quorum_workflow_description(const struct quorum_workflow *qw)
{
	return qw->wf->description;
}

int quorum_workflow_has_input(const struct quorum_workflow *qw, const char *name)
{
	return name && workflow_input(qw->wf, name) != NULL;
}
