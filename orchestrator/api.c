/* include/quorum.h: the library's set-up, loading a workflow, and the
 * checks a run makes before its first call. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "../common/suggest.h"
#include "envsubst.h"
#include "quorum.h"
#include "run.h"

void quorum_free(void *p) { q_free(p); }

/* A wide fan-out needs a socket per call: lift the soft open-files limit
 * to the hard one so 10,000 calls do not fail at 1,024. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int quorum_global_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void quorum_global_cleanup(void) { curl_global_cleanup(); }

static char *diags_text(struct qdiags *d)
{
	struct buf b;
	buf_init(&b, 0);
	qdiags_sort(d);
	for (size_t i = 0; i < d->n; i++) {
		char line[1024];
		qdiags_format(d, i, line, sizeof(line));
		/* A problem at a position reads FILE:LINE:COL, as compilers
		 * write it; one about the file as a whole (it cannot be read)
		 * or the command line starts with the program's name. */
		buf_printf(&b, "%s%s\n", d->items[i].line > 0 ? "" : "quorum: ", line);
	}
	char *s = q_strdup(buf_str(&b));
	buf_release(&b);
	return s;
}

struct quorum_workflow *quorum_workflow_load(const char *path, char **errors)
{
	return quorum_workflow_load_limited(path, NULL, errors);
}

/* Loads from a file (text NULL) or from memory. */
static struct quorum_workflow *load_any(const char *path, const char *text, size_t len,
					const struct quorum_limits *limits, int routers,
					char **errors)
{
	struct load_limits lim;
	load_limits_default(&lim);
	if (limits) {
		lim.max_file_bytes = limits->file_bytes;
		lim.max_yaml_nodes = limits->yaml_nodes;
		lim.max_depth = limits->yaml_depth;
		lim.max_nodes = limits->nodes;
		lim.max_yaml_bytes = limits->yaml_bytes;
	}
	struct qdiags d;
	qdiags_init(&d, path);
	struct workflow *wf = text ? workflow_load_string(path, text, len, &lim, &d)
				   : workflow_load_file(path, &lim, &d);
	if (wf && routers && routers_load(wf, &d)) {
		workflow_free(wf);
		wf = NULL;
	}
	struct quorum_workflow *qw = wf ? q_calloc(1, sizeof(*qw)) : NULL;
	if (qw) {
		qw->wf = wf;
	} else {
		workflow_free(wf);
		if (errors)
			*errors = d.n ? diags_text(&d)
				      : q_strdup("quorum: out of memory loading the workflow\n");
	}
	qdiags_release(&d);
	return qw;
}

struct quorum_workflow *quorum_workflow_load_limited(const char *path,
						     const struct quorum_limits *limits,
						     char **errors)
{
	return load_any(path, NULL, 0, limits, 1, errors);
}

struct quorum_workflow *quorum_workflow_load_untrained(const char *path, char **errors)
{
	return load_any(path, NULL, 0, NULL, 0, errors);
}

struct quorum_workflow *quorum_workflow_load_buffer(const char *name, const char *text,
						    size_t len,
						    const struct quorum_limits *limits,
						    char **errors)
{
	return load_any(name, text ? text : "", len, limits, 1, errors);
}

void quorum_workflow_free(struct quorum_workflow *qw)
{
	if (!qw)
		return;
	workflow_free(qw->wf);
	q_free(qw);
}

char *quorum_workflow_graph(const struct quorum_workflow *qw, const char *format)
{
	struct buf b;
	buf_init(&b, 0);
	char *s = NULL;
	if (workflow_graph(qw->wf, format, &b) == 0)
		s = q_strdup(buf_str(&b));
	buf_release(&b);
	return s;
}

static const char *sim_getenv(const char *name)
{
	(void)name;
	return "sim";
}

/* `--input NAME=...` for an input the file does not declare: the nearest
 * name, or the names there are. */
static void unknown_input(const struct workflow *wf, const char **known, const char *name,
			  struct qdiags *d)
{
	const char *near = known ? suggest_nearest(name, known, wf->ninputs) : NULL;
	if (near) {
		qdiags_add(d, 0, 0, "unknown input '%s' in --input (did you mean '%s'?)", name,
			   near);
		return;
	}
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < wf->ninputs; i++)
		buf_printf(&b, "%s'%s'", !i ? "" : i + 1 == wf->ninputs ? " and " : ", ",
			   wf->inputs[i].name);
	qdiags_add(d, 0, 0, "unknown input '%s' in --input (the workflow's inputs are %s)",
		   name, buf_str(&b));
	buf_release(&b);
}

/* Sets *errors (when errors is not NULL) to the message fmt with arg,
 * ": strerror(err)" when err is not 0, and a newline. */
void run_set_error(char **errors, const char *fmt, const char *arg, int err)
{
	if (!errors)
		return;
	char msg[640];
	int n = snprintf(msg, sizeof(msg), fmt, arg);
	if (err && n > 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));
	size_t len = strlen(msg);
	if (len + 1 < sizeof(msg)) {
		msg[len] = '\n';
		msg[len + 1] = '\0';
	}
	/* libc's strdup, not q_strdup: a message about memory running out
	 * must not need the allocator that failed (and q_free frees it). */
	*errors = strdup(msg);
}

/* A node that would start more calls at once than the fan-out limit is
 * refused before any call, not cut short halfway. */
static void check_fanout(const struct workflow *wf, const struct quorum_limits *lim,
			 struct qdiags *d)
{
	struct quorum_limits def;
	if (!lim) {
		quorum_limits_default(&def);
		lim = &def;
	}
	for (size_t i = 0; i < wf->nnodes; i++) {
		const struct wf_node *n = wf->nodes[i];
		size_t width = n->nmodels * (size_t)(n->samples > 0 ? n->samples : 1);
		if (n->kind == NK_GENERATE && width > lim->fanout)
			qdiags_add(d, n->line, n->col,
				   "node '%s' makes %zu calls at once, more than the fan-out limit "
				   "of %zu (raise it with --limit fanout=%zu)",
				   n->id, width, lim->fanout, width);
	}
}

/* A base_url whose ${VAR} expands, at run time, into something other
 * than an http(s) URL is refused before any call, at the model. */
static void check_urls(const struct workflow *wf, const struct quorum_options *o,
		       struct qdiags *d)
{
	if (o->sim_base_url)
		return;
	struct arena *a = arena_new();
	for (size_t i = 0; a && i < wf->nmodels; i++) {
		const struct wf_model *m = wf->models[i];
		size_t n = m->nendpoints ? m->nendpoints : 1;
		for (size_t e = 0; e < n; e++) {
			const char *raw = m->nendpoints ? m->endpoints[e].base_url : m->base_url;
			if (!strchr(raw, '$'))
				continue;
			const char *url = env_expand(a, raw);
			char why[256];
			if (url && workflow_url_check(url, why, sizeof(why)))
				qdiags_add(d, m->nendpoints ? m->endpoints[e].line : m->line,
					   m->nendpoints ? m->endpoints[e].col : m->col,
					   "base_url of model '%s' expands to '%s': %s", m->id, url,
					   why);
		}
	}
	if (!a)
		d->lost++;
	arena_free(a);
}

int run_precheck(const struct workflow *wf, const struct quorum_options *o, char **errors)
{
	struct qdiags d;
	qdiags_init(&d, wf->file);
	const char **names = q_calloc(o->ninputs + 1, sizeof(*names));
	if (!names) {
		run_set_error(errors, "quorum: out of memory checking the run%s", "", 0);
		return -1;
	}
	const char **known = q_calloc(wf->ninputs + 1, sizeof(*known));
	for (size_t i = 0; known && i < wf->ninputs; i++)
		known[i] = wf->inputs[i].name;
	for (size_t i = 0; i < o->ninputs; i++) {
		names[i] = o->inputs[i].name;
		if (workflow_input(wf, names[i]))
			continue;
		unknown_input(wf, known, names[i], &d);
	}
	check_fanout(wf, o->limits, &d);
	check_urls(wf, o, &d);
	workflow_check_run(wf, names, o->ninputs, o->query != NULL,
			   o->sim_base_url ? sim_getenv : (const char *(*)(const char *))getenv,
			   &d);
	q_free(names);
	q_free(known);
	int bad = d.n > 0 || d.lost;
	if (bad && errors)
		*errors = d.n && !d.lost ? diags_text(&d) : NULL;
	if (bad && errors && !*errors)
		run_set_error(errors, "quorum: out of memory checking the run%s", "", 0);
	qdiags_release(&d);
	return bad ? -1 : 0;
}

void run_inputs(const struct workflow *wf, const struct quorum_options *o,
		struct nodeset *set)
{
	set->query = o->query;
	set->inputs = o->inputs;
	set->ninputs = o->ninputs;
	for (size_t i = 0; !set->query && i < o->ninputs; i++)
		if (!strcmp(o->inputs[i].name, "query"))
			set->query = o->inputs[i].value;
	if (!set->query) {
		const struct wf_input *q = workflow_input(wf, "query");
		set->query = q && q->def ? q->def : "";
	}
}
