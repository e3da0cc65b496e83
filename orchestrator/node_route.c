/* route: the first route whose condition holds picks the model; a prompt
 * with personal data goes only where the workflow allows it. The report
 * says which rule fired, never the text that matched. */
#include <string.h>

#include "../aggregators/route.h"
#include "node.h"

static const char *route_input(void *ctx, const char *name)
{
	struct run *r = ctx;
	for (size_t i = r->ninputs; i-- > 0;)
		if (!strcmp(r->inputs[i].name, name))
			return r->inputs[i].value;
	if (!strcmp(name, "query"))
		return r->input_query;
	const struct wf_input *in = workflow_input(r->wf, name);
	return in ? in->def : NULL;
}

/* The model a route node (or a plan's subtask run as one) sends prompt to;
 * *rule gets what fired. */
const struct wf_model *route_choose(struct run *r, const struct wf_node *n,
				    const char *prompt, const char **rule)
{
	int i = route_pick(n, prompt, route_input, r, r->arena, rule);
	return i >= 0 ? n->routes[i].to : n->route_default;
}

static void route_start(struct run *r, struct node_state *ns)
{
	const char *err = NULL;
	const char *prompt = node_question(r, ns, &err);
	const char *system = node_render(r, ns->node->system, &err);
	if (err) {
		node_fail(r, ns, "too_large", err);
		return;
	}
	const char *rule = NULL;
	const struct wf_model *m = route_choose(r, ns->node, prompt, &rule);
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "\"route\":{\"rule\":");
	buf_put_json_str(&b, rule);
	buf_puts(&b, ",\"model\":");
	buf_put_json_str(&b, m ? m->id : NULL);
	buf_putc(&b, '}');
	ns->report_json = node_keep(r, &b);
	buf_release(&b);
	trace_event(r, "route", "\"node\":\"%s\",\"rule\":\"%s\",\"model\":\"%s\"",
		    trace_str(r, ns->node->id), trace_str(r, rule),
		    trace_str(r, m ? m->id : ""));
	if (!m) {
		node_fail(r, ns, "internal", "no route matched and there is no default");
		return;
	}
	if (!node_call(r, ns, m, system, prompt, 0, NULL))
		node_fail(r, ns, "internal", "out of memory");
}

static void route_call_done(struct run *r, struct node_state *ns, struct call *c)
{
	const struct response *resp = &ns->resp[c->slot];
	if (resp->status == RESP_OK) {
		ns->output = resp->text;
		node_finish(r, ns, NS_OK, NULL);
	} else {
		node_finish(r, ns, NS_FAILED, "the routed call failed");
	}
}

const struct kind kind_route = {route_start, route_call_done};
