/* quorum run --dry-run: the checks a run makes, then what its first layer
 * would send (model, URL, the rendered messages) and the worst case of
 * the whole run. Nothing goes on the wire; no key is read into a request. */
#include <string.h>

#include "../aggregators/plan.h"
#include "../aggregators/route.h"
#include "../common/alloc.h"
#include "../providers/embed.h"
#include "envsubst.h"
#include "run.h"

struct dry {
	struct nodeset g;             /* what rendering needs; no calls */
	const struct quorum_options *o;
	struct buf out;
};

/* Text under a heading, every line indented the same. */
static void put_block(struct buf *b, const char *label, const char *text)
{
	buf_printf(b, "    %s: ", label);
	size_t pad = strlen(label) + 6;
	for (const char *p = text ? text : ""; *p; p++) {
		buf_putc(b, *p);
		if (*p == '\n' && p[1])
			buf_printf(b, "%*s", (int)pad, "");
	}
	buf_putc(b, '\n');
}

static const char *const strategies[] = {"shuffle", "least_busy", "latency"};

/* The request line of a call to m, one per endpoint when m has several:
 * each attempt may go to any of them. embed: an embeddings request. */
static void dry_request(struct dry *d, const struct wf_model *m,
			const struct chat_request *req, int embed)
{
	const struct provider *prov = embed ? provider_embedder(m->provider)
					    : provider_find(m->provider);
	const char *sim = d->o->sim_base_url;
	size_t n = m->nendpoints && !sim ? m->nendpoints : 1;
	for (size_t i = 0; i < n; i++) {
		const char *url = m->nendpoints ? m->endpoints[i].base_url : m->base_url;
		const char *base = sim ? sim : env_expand(d->g.arena, url);
		struct http_req hr;
		memset(&hr, 0, sizeof(hr));
		buf_init(&hr.url, 0);
		buf_init(&hr.body, 0);
		struct qerr e = {0};
		if (!prov || !base || prov->build(req, base, NULL, &hr, &e))
			buf_printf(&d->out, "  %s: cannot build the request: %s\n", m->id,
				   prov ? e.msg : "unknown provider");
		else if (i == 0)
			buf_printf(&d->out, "  %s: POST %s (%s, model %s%s)\n", m->id,
				   buf_str(&hr.url), m->provider, m->model,
				   embed ? ", embeddings" : "");
		else
			buf_printf(&d->out, "    or POST %s (endpoint %zu of %zu, strategy %s)\n",
				   buf_str(&hr.url), i + 1, n, strategies[m->strategy]);
		http_req_release(&hr);
	}
}

static void dry_line(struct dry *d, const struct wf_node *n, const struct wf_model *m,
		     const char *system, const char *prompt)
{
	struct call_settings cs;
	workflow_call_settings(d->g.wf, n, m, &cs);
	struct chat_request req = {.model = m->model, .system = system,
				   .prompt = prompt ? prompt : "", .stream = cs.stream,
				   .max_tokens = cs.max_tokens};
	dry_request(d, m, &req, 0);
}

static void dry_call(struct dry *d, const struct wf_node *n, const struct wf_model *m,
		     const char *system, const char *prompt)
{
	dry_line(d, n, m, system, prompt);
	if (system)
		put_block(&d->out, "system", system);
	put_block(&d->out, "user", prompt);
}

/* The prompt's embedding, by the node's embed model. */
static void dry_embed(struct dry *d, const struct wf_model *m, const char *prompt)
{
	const char *texts[] = {prompt ? prompt : ""};
	struct chat_request req = {.model = m->model, .prompt = "", .texts = texts,
				   .ntexts = 1, .params_json = m->params_json};
	dry_request(d, m, &req, 1);
	put_block(&d->out, "text", texts[0]);
}

/* A route as node_route.c walks it, up to what only a run can know:
 * each ask route's call (its model may decline), then the chosen
 * route's, or the embedding that decides it. */
static void dry_route(struct dry *d, const struct wf_node *n, const char *system,
		      const char *prompt)
{
	struct route_facts f;
	route_facts_of_run(&d->g, &f, prompt);
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct wf_route *r = &n->routes[i];
		char rule[256];
		if (r->ask) {
			buf_printf(&d->out, "  routes[%zu]: ask '%s' (its answer is the output "
				   "unless it declines)\n", i, r->ask->id);
			dry_call(d, n, r->ask, route_ask_system(d->g.arena, system, r->decline),
				 prompt);
			continue;
		}
		enum route_test t = route_test(n, i, &f, rule, sizeof(rule));
		if (t == ROUTE_NEEDS_VECTOR && n->embed) {
			buf_printf(&d->out, "  route: routes[%zu] needs the prompt's embedding; "
				   "the route is chosen when it comes\n", i);
			dry_embed(d, n->embed, prompt);
			return;
		}
		if (t == ROUTE_YES) {
			buf_printf(&d->out, "  route: routes[%zu]: %s\n", i,
				   rule[0] ? rule : "always");
			dry_call(d, n, r->to, system, prompt);
			return;
		}
	}
	buf_puts(&d->out, "  route: default\n");
	if (n->route_default)
		dry_call(d, n, n->route_default, system, prompt);
}

/* A bandit asks one arm, chosen from its state when the run starts:
 * every arm's request, the messages once, then its judge's. */
static void dry_bandit(struct dry *d, const struct wf_node *n, const char *system,
		       const char *prompt)
{
	static const char *const policies[] = {"thompson", "ucb", "linear"};
	buf_printf(&d->out, "  bandit: one of %zu arms, chosen by policy %s from %s\n",
		   n->nmodels, policies[n->policy], n->state_as_written);
	if (n->policy == WF_BANDIT_LINEAR && n->embed)
		dry_embed(d, n->embed, prompt);
	for (size_t i = 0; i < n->nmodels; i++)
		dry_line(d, n, n->models[i], system, prompt);
	if (system)
		put_block(&d->out, "system", system);
	put_block(&d->out, "user", prompt);
	if (!n->reward_judge)
		return;
	buf_puts(&d->out, "  then its reward judge rates the answer:\n");
	dry_line(d, n, n->reward_judge, NULL, prompt);
}

static void dry_plan(struct dry *d, struct node_state *ns, const char *question)
{
	size_t max = ns->node->max_subtasks > 0 ? (size_t)ns->node->max_subtasks : 8;
	struct buf sys, user;
	buf_init(&sys, d->g.prompt_bytes);
	buf_init(&user, d->g.prompt_bytes);
	plan_build_prompt(&sys, &user, question, max, route_uses_estimates(ns->node->run));
	dry_call(d, ns->node, ns->node->models[0], buf_str(&sys), buf_str(&user));
	buf_release(&sys);
	buf_release(&user);
}

/* The calls one node of the first layer makes first. */
static void dry_node(struct dry *d, struct node_state *ns)
{
	const struct wf_node *n = ns->node;
	const char *err = NULL;
	const char *prompt = node_question(&d->g, ns, &err);
	const char *system = node_render(&d->g, n->system, &err);
	buf_printf(&d->out, "%s (%s)\n", n->id, node_kind_name(n->kind));
	if (err) {
		buf_printf(&d->out, "  cannot render its prompt: %s\n", err);
		return;
	}
	int samples = n->samples > 0 ? n->samples : 1;
	switch (n->kind) {
	case NK_GENERATE:
		for (size_t i = 0; i < n->nmodels; i++)
			for (int s = 0; s < samples; s++)
				dry_call(d, n, n->models[i], system, prompt);
		break;
	case NK_CASCADE:
		dry_call(d, n, n->models[0], system, prompt);
		break;
	case NK_ROUTE:
		dry_route(d, n, system, prompt);
		break;
	case NK_BANDIT:
		dry_bandit(d, n, system, prompt);
		break;
	case NK_PLAN:
		dry_plan(d, ns, prompt);
		break;
	default:
		buf_puts(&d->out, "  no model call\n");
		break;
	}
}

/* The worst-case lines of what `quorum validate` prints. */
static void dry_worst(struct dry *d, const struct quorum_workflow *qw)
{
	char *s = quorum_workflow_summary(qw);
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (strstr(line, "worst case") == line + 2 || !strncmp(line, "  budget", 8) ||
		    strstr(line, "warning:"))
			buf_printf(&d->out, "%.*s", (int)len, line);
		line += len;
	}
	q_free(s);
}

static void dry_layers(struct dry *d)
{
	const struct workflow *wf = d->g.wf;
	size_t later = 0;
	for (size_t i = 0; i < wf->nnodes; i++) {
		struct node_state *ns = &d->g.nodes[wf->order[i]->idx];
		ns->node = wf->order[i];
		if (ns->node->ndeps)
			later++;
		else
			dry_node(d, ns);
	}
	if (!later)
		return;
	buf_puts(&d->out, "then, once the answers they need exist:");
	for (size_t i = 0; i < wf->nnodes; i++)
		if (wf->order[i]->ndeps)
			buf_printf(&d->out, " %s (%s)", wf->order[i]->id,
				   node_kind_name(wf->order[i]->kind));
	buf_putc(&d->out, '\n');
}

char *quorum_dry_run(const struct quorum_workflow *qw, const struct quorum_options *o,
		     char **errors)
{
	const struct workflow *wf = qw->wf;
	if (run_precheck(wf, o, errors))
		return NULL;
	struct dry d = {.o = o, .out = BUF_INIT};
	struct quorum_limits lim;
	char *text = NULL;
	if (!(d.g.arena = arena_new()))
		goto out;
	if (o->limits)
		lim = *o->limits;
	else
		quorum_limits_default(&lim);
	d.g.wf = wf;
	d.g.prompt_bytes = lim.prompt_bytes;
	run_inputs(wf, o, &d.g);
	d.g.nodes = arena_alloc(d.g.arena, wf->nnodes * sizeof(*d.g.nodes));
	if (!d.g.nodes)
		goto out;
	buf_printf(&d.out, "dry run of %s (%s): nothing is sent\n\n", wf->name, wf->file);
	dry_layers(&d);
	buf_putc(&d.out, '\n');
	dry_worst(&d, qw);
	if (!d.out.overflow && d.out.data)
		text = q_strdup(d.out.data);
out:
	buf_release(&d.out);
	arena_free(d.g.arena);
	if (!text && errors)
		*errors = q_strdup("quorum: out of memory preparing the dry run\n");
	return text;
}
