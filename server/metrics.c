/* Counters behind one lock: a scrape or a run's end takes it for a few
 * microseconds, nothing waits on the network under it. */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/alloc.h"
#include "../common/json.h"

/* Seconds; the last bucket is +Inf. */
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct histo {
	unsigned long long counts[NBOUNDS + 1];
	double sum;
	unsigned long long n;
};

#define NPATHS 8
#define NCODES 12
#define NLABELS 24

static const char *const paths[NPATHS] = {
	"/v1/chat/completions", "/v1/messages", "/v1/models", "/v1/runs", "/healthz",
	"/metrics", "other", NULL,
};
static const int codes[NCODES] = {200, 400, 401, 404, 405, 413, 429, 499, 500, 502, 503, 504};

/* A small open set of label values (run statuses, error classes): the
 * engine's words, a bounded number. */
struct labelset {
	char names[NLABELS][32];
	unsigned long long counts[NLABELS];
	size_t n;
};

struct metrics {
	pthread_mutex_t lock;
	unsigned long long requests[NPATHS][NCODES + 1]; /* last: any other code */
	struct histo request_s, call_s;
	struct labelset runs, errors;
	unsigned long long calls, input_tokens, output_tokens;
	double cost_usd;
	long in_flight;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = q_calloc(1, sizeof(*m));
	if (m && pthread_mutex_init(&m->lock, NULL)) {
		q_free(m);
		return NULL;
	}
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	q_free(m);
}

static void histo_add(struct histo *h, double v)
{
	size_t i = 0;
	while (i < NBOUNDS && v > bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->n++;
}

static void label_add(struct labelset *s, const char *name, unsigned long long k)
{
	size_t i = 0;
	while (i < s->n && strcmp(s->names[i], name))
		i++;
	if (i == s->n) {
		if (s->n == NLABELS)
			name = "other", i = NLABELS - 1;
		else
			s->n++;
		snprintf(s->names[i], sizeof(s->names[i]), "%s", name);
	}
	s->counts[i] += k;
}

void metrics_request(struct metrics *m, const char *path, int status, double seconds)
{
	size_t p = 0;
	while (paths[p] && strcmp(paths[p], path) && strcmp(paths[p], "other"))
		p++;
	size_t c = 0;
	while (c < NCODES && codes[c] != status)
		c++;
	pthread_mutex_lock(&m->lock);
	m->requests[p][c]++;
	if (p == 0 || p == 1)
		histo_add(&m->request_s, seconds);
	pthread_mutex_unlock(&m->lock);
}

void metrics_in_flight(struct metrics *m, long n)
{
	pthread_mutex_lock(&m->lock);
	m->in_flight = n;
	pthread_mutex_unlock(&m->lock);
}

/* Every response of every node: its latency, its error class. */
static void run_calls(struct metrics *m, const cJSON *nodes)
{
	const cJSON *node, *resp;
	cJSON_ArrayForEach(node, nodes)
	{
		cJSON_ArrayForEach(resp, json_get_arr(node, "responses"))
		{
			double lat = json_get_num(resp, "latency_ms", -1);
			if (lat >= 0)
				histo_add(&m->call_s, lat / 1000.0);
			const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
			const char *cls = cJSON_IsString(err) ? err->valuestring
							      : json_get_str(err, "class");
			if (cls)
				label_add(&m->errors, cls, 1);
		}
	}
}

void metrics_run(struct metrics *m, const char *status, const char *report_json)
{
	cJSON *rep = report_json ? cJSON_Parse(report_json) : NULL;
	const cJSON *usage = json_get_obj(rep, "usage");
	pthread_mutex_lock(&m->lock);
	label_add(&m->runs, status, 1);
	if (rep) {
		m->calls += (unsigned long long)json_get_num(usage, "calls", 0);
		m->input_tokens += (unsigned long long)json_get_num(usage, "input_tokens", 0);
		m->output_tokens += (unsigned long long)json_get_num(usage, "output_tokens", 0);
		m->cost_usd += json_get_num(rep, "cost_usd", 0);
		run_calls(m, json_get_obj(rep, "nodes"));
	}
	pthread_mutex_unlock(&m->lock);
	cJSON_Delete(rep);
}

static int histo_render(struct buf *b, const char *name, const char *help,
			const struct histo *h)
{
	int rc = buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	unsigned long long cum = 0;
	for (size_t i = 0; i < NBOUNDS; i++) {
		cum += h->counts[i];
		rc |= buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], cum);
	}
	rc |= buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
			 h->n, name, h->sum, name, h->n);
	return rc;
}

static int labels_render(struct buf *b, const char *name, const char *help,
			 const char *label, const struct labelset *s)
{
	int rc = buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < s->n; i++)
		rc |= buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, s->names[i], s->counts[i]);
	return rc;
}

static int requests_render(struct buf *b, const struct metrics *m)
{
	int rc = buf_puts(b, "# HELP quorum_requests_total HTTP requests, by path and status "
			  "(499: the client left before its answer's end).\n"
			  "# TYPE quorum_requests_total counter\n");
	for (size_t p = 0; paths[p]; p++)
		for (size_t c = 0; c <= NCODES; c++)
			if (m->requests[p][c])
				rc |= c < NCODES
					? buf_printf(b, "quorum_requests_total{path=\"%s\",code=\"%d\"} "
						     "%llu\n", paths[p], codes[c], m->requests[p][c])
					: buf_printf(b, "quorum_requests_total{path=\"%s\",code=\"other\"}"
						     " %llu\n", paths[p], m->requests[p][c]);
	return rc;
}

int metrics_render(struct metrics *m, struct buf *b)
{
	pthread_mutex_lock(&m->lock);
	int rc = requests_render(b, m);
	rc |= labels_render(b, "quorum_runs_total", "Workflow runs ended, by status.", "status",
			    &m->runs);
	rc |= buf_printf(b, "# HELP quorum_runs_in_flight Workflow runs in flight.\n"
			 "# TYPE quorum_runs_in_flight gauge\nquorum_runs_in_flight %ld\n",
			 m->in_flight);
	rc |= buf_printf(b, "# HELP quorum_calls_total Model requests sent, retries included.\n"
			 "# TYPE quorum_calls_total counter\nquorum_calls_total %llu\n", m->calls);
	rc |= labels_render(b, "quorum_call_errors_total", "Model calls that failed, by error "
			    "class.", "class", &m->errors);
	rc |= buf_printf(b, "# HELP quorum_tokens_total Tokens the providers reported.\n"
			 "# TYPE quorum_tokens_total counter\n"
			 "quorum_tokens_total{kind=\"input\"} %llu\n"
			 "quorum_tokens_total{kind=\"output\"} %llu\n",
			 m->input_tokens, m->output_tokens);
	rc |= buf_printf(b, "# HELP quorum_cost_usd_total What the runs cost, in US dollars.\n"
			 "# TYPE quorum_cost_usd_total counter\nquorum_cost_usd_total %.8f\n",
			 m->cost_usd);
	rc |= histo_render(b, "quorum_request_duration_seconds", "Chat requests, from the "
			   "headers read to the answer queued (a stream: its end).", &m->request_s);
	rc |= histo_render(b, "quorum_call_duration_seconds", "Model calls, each attempt's "
			   "latency as the report gives it.", &m->call_s);
	pthread_mutex_unlock(&m->lock);
	return rc ? -1 : 0;
}
