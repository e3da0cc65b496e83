/* route: the first route whose condition holds picks the model; a prompt
 * with personal data goes only where the workflow allows it. The report
 * says which rule fired, never the text that matched. */
#include <string.h>

#include "../aggregators/route.h"
#include "node.h"

static const char *route_input(void *ctx, const char *name)
{
	struct nodeset *g = ctx;
	for (size_t i = g->ninputs; i-- > 0;)
		if (!strcmp(g->inputs[i].name, name))
			return g->inputs[i].value;
	if (!strcmp(name, "query"))
		return g->query;
	const struct wf_input *in = workflow_input(g->wf, name);
	return in ? in->def : NULL;
}

/* The model a route node (or a plan's subtask run as one) sends prompt to;
 * *rule gets what fired. */
const struct wf_model *route_choose(struct nodeset *g, const struct wf_node *n,
				    const char *prompt, const char **rule)
{
	int i = route_pick(n, prompt, route_input, g, g->arena, rule);
	return i >= 0 ? n->routes[i].to : n->route_default;
}

static void route_start(struct nodeset *g, struct node_state *ns)
{
	const char *err = NULL;
	const char *prompt = node_question(g, ns, &err);
	const char *system = node_render(g, ns->node->system, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	const char *rule = NULL;
	const struct wf_model *m = route_choose(g, ns->node, prompt, &rule);
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "\"route\":{\"rule\":");
	buf_put_json_str(&b, rule);
	buf_puts(&b, ",\"model\":");
	buf_put_json_str(&b, m ? m->id : NULL);
	buf_putc(&b, '}');
	ns->report_json = node_keep(g, &b);
	buf_release(&b);
	trace_event(g->trace, "route", "\"node\":\"%s\",\"rule\":\"%s\",\"model\":\"%s\"",
		    trace_str(g->arena, ns->node->id), trace_str(g->arena, rule),
		    trace_str(g->arena, m ? m->id : ""));
	if (!m) {
		node_fail(g, ns, "internal", "no route matched and there is no default");
		return;
	}
	if (!node_call(g, ns, m, system, prompt, 0, NULL))
		node_fail(g, ns, "internal", "out of memory");
}

static void route_call_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	const struct response *resp = &c->resp;
	if (resp->status == RESP_OK) {
		ns->output = resp->text;
		node_finish(g, ns, NS_OK, NULL);
	} else {
		node_finish(g, ns, NS_FAILED, "the routed call failed");
	}
}

const struct kind kind_route = {route_start, route_call_done};
