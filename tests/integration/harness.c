#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

void h_start(struct harness *h, const char *scenario)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/quorum-it-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	struct qerr e = {0};
	h->mock = mock_start("scenario", scenario, strlen(scenario), 0, &e);
	if (!h->mock)
		fail_msg("mock did not start: %s", e.msg);
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%d/v1", mock_port(h->mock));
}

const char *h_workflow(struct harness *h, const char *yaml)
{
	snprintf(h->wf_path, sizeof(h->wf_path), "%s/wf.yaml", h->dir);
	FILE *f = fopen(h->wf_path, "w");
	assert_non_null(f);
	for (const char *p = yaml; *p;) {
		const char *hit = strstr(p, "BASE_URL");
		if (!hit) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(hit - p), f);
		fputs(h->url, f);
		p = hit + strlen("BASE_URL");
	}
	fclose(f);
	return h->wf_path;
}

const char *h_run(struct harness *h, const char *query, const char *trace_name)
{
	struct quorum_options o = {.wake_fd = -1};
	return h_run_with(h, query, trace_name, &o);
}

int h_cli(struct harness *h, const char *args, char **out, char **err)
{
	const char *bin = getenv("QUORUM_BIN");
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s %s </dev/null >out.txt 2>err.txt", h->dir,
		 bin ? bin : "quorum", args);
	int rc = h_sh(cmd);
	char path[400];
	snprintf(path, sizeof(path), "%s/out.txt", h->dir);
	*out = h_read(path);
	snprintf(path, sizeof(path), "%s/err.txt", h->dir);
	*err = h_read(path);
	return rc;
}

void h_write(struct harness *h, const char *name, const char *text)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

const char *h_run_with(struct harness *h, const char *query, const char *trace_name,
		       struct quorum_options *o)
{
	char *errors = NULL;
	struct quorum_workflow *wf = quorum_workflow_load(h->wf_path, &errors);
	if (!wf)
		fail_msg("workflow did not load:\n%s", errors);
	char trace[400];
	if (trace_name)
		snprintf(trace, sizeof(trace), "%s/%s", h->dir, trace_name);
	o->query = query;
	o->trace_path = trace_name ? trace : NULL;
	struct quorum_report *rep = quorum_run(wf, o, &errors);
	if (!rep)
		fail_msg("run did not start:\n%s", errors);
	cJSON_Delete(h->report);
	free(h->report_text);
	h->report_text = strdup(quorum_report_json(rep));
	h->report = cJSON_Parse(h->report_text);
	h->exit_code = quorum_report_exit_code(rep);
	assert_non_null(h->report);
	quorum_report_free(rep);
	quorum_workflow_free(wf);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(h->report, "status");
	assert_true(cJSON_IsString(st));
	return st->valuestring;
}

const cJSON *h_node(struct harness *h, const char *id)
{
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(h->report, "nodes");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(nodes, id);
	if (!n)
		fail_msg("no node '%s' in the report", id);
	return n;
}

char *h_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = '\0';
	fclose(f);
	return s;
}

int h_sh(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void h_stop(struct harness *h)
{
	mock_stop(h->mock);
	cJSON_Delete(h->report);
	free(h->report_text);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	h_sh(cmd);
	memset(h, 0, sizeof(*h));
}

int h_group_setup(void **state, const char *scenario)
{
	struct harness *h = calloc(1, sizeof(*h));
	if (!h)
		return -1;
	h_start(h, scenario);
	*state = h;
	return 0;
}

int h_group_teardown(void **state)
{
	h_stop(*state);
	free(*state);
	return 0;
}
