/* The learned routers a workflow's `score` conditions name: each file is
 * read and checked when the workflow loads (a broken one is refused before
 * any call, at the condition), and kept with the workflow. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../aggregators/learn.h"
#include "../common/alloc.h"
#include "../common/fileio.h"
#include "../common/json.h"
#include "run.h"

char *router_file_read(const char *path, size_t *len)
{
	FILE *f = file_open_read(path, "rb");
	if (!f)
		return NULL;
	errno = 0;
	char *text = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			size_t c = cap ? cap * 2 : 65536 * 2;
			char *t = c > SCORER_JSON_MAX + 2 ? NULL : q_realloc(text, c);
			if (!t) {
				q_free(text);
				fclose(f);
				errno = c > SCORER_JSON_MAX + 2 ? EFBIG : ENOMEM;
				return NULL;
			}
			text = t;
			cap = c;
		}
		size_t got = fread(text + n, 1, 65536, f);
		n += got;
		if (got < 65536)
			break;
	}
	int bad = ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	if (bad) {
		q_free(text);
		errno = bad;
		return NULL;
	}
	text[n] = '\0';
	*len = n;
	return text;
}

/* The size of m's vectors when its params fix it (OpenAI's `dimensions`,
 * Gemini's `outputDimensionality`); 0 when only a call can tell. */
static size_t params_dim(const struct wf_model *m)
{
	if (!m->params_json)
		return 0;
	cJSON *p = json_parse(m->params_json, strlen(m->params_json), 8);
	double x = json_get_num(p, "dimensions", json_get_num(p, "outputDimensionality", 0));
	cJSON_Delete(p);
	return x >= 1 && x <= 1e9 ? (size_t)x : 0;
}

static void load_one(struct workflow *wf, const struct wf_node *n, struct wf_score *s,
		     struct qdiags *d)
{
	size_t len = 0;
	char *text = router_file_read(s->path, &len);
	if (!text) {
		qdiags_add(d, s->line, s->col, "router file '%s' cannot be read: %s", s->file,
			   strerror(errno));
		return;
	}
	struct qerr e = {0};
	struct scorer *sc = scorer_from_json(text, len, wf->arena, &e);
	q_free(text);
	if (!sc) {
		qdiags_add(d, s->line, s->col, "router file '%s': %s", s->file, e.msg);
		return;
	}
	if (isnan(s->threshold) && !sc->has_threshold) {
		qdiags_add(d, s->line, s->col, "router file '%s' has no threshold: write "
			   "'threshold' here, or pick one with 'quorum router calibrate'", s->file);
		return;
	}
	/* Scores of one embedding model's vectors mean nothing for another's. */
	if (n->embed && sc->model[0] && strcmp(sc->model, n->embed->model)) {
		qdiags_add(d, s->line, s->col, "router file '%s' was trained on embeddings of "
			   "'%s', but node '%s' embeds with '%s'", s->file, sc->model, n->id,
			   n->embed->model);
		return;
	}
	/* A score of vectors of another size cannot be taken: the route
	 * would never hold. */
	size_t dim = n->embed ? params_dim(n->embed) : 0;
	if (dim && dim != sc->dim) {
		qdiags_add(d, s->line, s->col, "router file '%s' was trained on embeddings of "
			   "%zu numbers, but node '%s' asks '%s' for %zu", s->file, sc->dim,
			   n->id, n->embed->id, dim);
		return;
	}
	if (isnan(s->threshold))
		s->threshold = sc->threshold;
	s->scorer = sc;
}

static void load_node(struct workflow *wf, const struct wf_node *n, struct qdiags *d)
{
	for (size_t i = 0; i < n->nroutes; i++)
		if (n->routes[i].when.score)
			load_one(wf, n, n->routes[i].when.score, d);
	if (n->run)
		load_node(wf, n->run, d);
}

int routers_load(struct workflow *wf, struct qdiags *d)
{
	size_t before = d->n;
	for (size_t i = 0; i < wf->nnodes; i++)
		load_node(wf, wf->nodes[i], d);
	return d->n > before ? -1 : 0;
}
