/* include/quorum.h's pieces for `quorum eval`: a workflow's models, the
 * workflows derived from them (a model alone, a model grading), and
 * holding an answer against the expected one the way a vote compares. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../aggregators/extract.h"
#include "../common/alloc.h"
#include "quorum.h"
#include "run.h"

size_t quorum_workflow_model_count(const struct quorum_workflow *qw)
{
	return qw->wf->nmodels;
}

const char *quorum_workflow_model_id(const struct quorum_workflow *qw, size_t i)
{
	return i < qw->wf->nmodels ? qw->wf->models[i]->id : NULL;
}

static int same_str(const char *x, const char *y)
{
	return !strcmp(x ? x : "", y ? y : "");
}

int quorum_workflow_same_model(const struct quorum_workflow *a, size_t i,
			       const struct quorum_workflow *b, size_t k)
{
	if (i >= a->wf->nmodels || k >= b->wf->nmodels)
		return 0;
	const struct wf_model *x = a->wf->models[i], *y = b->wf->models[k];
	return same_str(x->provider, y->provider) && same_str(x->model, y->model) &&
	       same_str(x->base_url, y->base_url) && same_str(x->params_json, y->params_json);
}

int quorum_workflow_model_embeds_only(const struct quorum_workflow *qw, size_t i)
{
	return i < qw->wf->nmodels && workflow_embeds_only(qw->wf, qw->wf->models[i]);
}

struct quorum_workflow *quorum_workflow_derive(const struct quorum_workflow *qw, size_t i,
					       int grade)
{
	if (i >= qw->wf->nmodels)
		return NULL;
	struct quorum_workflow *d = q_calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	const struct wf_model *m = qw->wf->models[i];
	d->wf = grade ? workflow_grader(qw->wf, m) : workflow_single(qw->wf, m);
	if (!d->wf) {
		q_free(d);
		return NULL;
	}
	return d;
}

/* ---- comparing answers ---- */

struct quorum_compare {
	struct extract_spec spec;
	struct regex *owned;          /* a pattern compiled here */
	int exact;
	char name[64];
};

static struct quorum_compare *compare_make(const struct extract_spec *spec, const char *name)
{
	struct quorum_compare *c = q_calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (spec)
		c->spec = *spec;
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

static const char *const mode_names[] = {"whole", "last_line", "number", "choice"};

struct quorum_compare *quorum_compare_new(const char *mode, char **errors)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(mode, mode_names[i]))
			return compare_make(&(struct extract_spec){.mode = (enum extract_mode)i},
					    mode);
	if (!strcmp(mode, "exact")) {
		struct quorum_compare *c = compare_make(NULL, mode);
		if (c)
			c->exact = 1;
		return c;
	}
	if (!strncmp(mode, "json:", 5) && mode[5]) {
		/* The field is read from the name, which lives as long as c. */
		struct quorum_compare *c = compare_make(NULL, mode);
		if (c)
			c->spec = (struct extract_spec){.mode = EX_JSON, .field = c->name + 5};
		if (c && strlen(mode) >= sizeof(c->name)) {
			quorum_compare_free(c);
			run_set_error(errors, "quorum: the field name of '%.40s...' is too long",
				      mode, 0);
			return NULL;
		}
		return c;
	}
	if (!strncmp(mode, "regex:", 6) && mode[6]) {
		struct qerr e = {0};
		struct regex *re = regex_compile(mode + 6, NULL, &e);
		if (!re || regex_groups(re) != 1) {
			run_set_error(errors, re ? "quorum: the pattern '%s' must have exactly one "
						   "capture group"
						 : "quorum: the pattern '%s' is not valid",
				      mode + 6, 0);
			regex_free(re);
			return NULL;
		}
		struct quorum_compare *c = compare_make(&(struct extract_spec){.mode = EX_REGEX,
									.re = re},
							"regex");
		if (!c)
			regex_free(re);
		else
			c->owned = re;
		return c;
	}
	run_set_error(errors, "quorum: unknown comparison '%s' (use exact, whole, last_line, "
			      "number, choice, json:FIELD or regex:PATTERN)", mode, 0);
	return NULL;
}

struct quorum_compare *quorum_compare_of(const struct quorum_workflow *qw)
{
	for (size_t i = 0; i < qw->wf->nnodes; i++) {
		const struct wf_node *n = qw->wf->order[i];
		if (n->kind != NK_VOTE)
			continue;
		const struct extract_spec *s = &n->extract;
		char name[64];
		if (s->mode == EX_JSON)
			snprintf(name, sizeof(name), "json:%s", s->field);
		else
			snprintf(name, sizeof(name), "%s",
				 s->mode == EX_REGEX ? "regex" : mode_names[s->mode]);
		struct quorum_compare *c = compare_make(s, name);
		if (c && s->mode == EX_JSON)
			c->spec.field = s->field;
		return c;
	}
	return NULL;
}

const char *quorum_compare_name(const struct quorum_compare *c) { return c->name; }

void quorum_compare_free(struct quorum_compare *c)
{
	if (!c)
		return;
	regex_free(c->owned);
	q_free(c);
}

/* s without the white space around it: [*b, *e). */
static void trim(const char *s, size_t *b, size_t *e)
{
	*b = 0;
	*e = strlen(s);
	while (*b < *e && isspace((unsigned char)s[*b]))
		++*b;
	while (*e > *b && isspace((unsigned char)s[*e - 1]))
		--*e;
}

/* The comparable form of an answer already found (found = 1) or of the
 * answer text holds (found = 0). */
static char *comparable(const struct quorum_compare *c, const char *text, int found)
{
	struct buf raw, out;
	buf_init(&raw, 0);
	buf_init(&out, 0);
	char *s = NULL;
	int got = found ? buf_puts(&raw, text) ? -1 : 1 : extract_apply(&c->spec, text, &raw);
	if (got == 1 && !answer_normalize(buf_str(&raw), c->spec.mode, &out) && out.len)
		s = q_strdup(buf_str(&out));
	buf_release(&raw);
	buf_release(&out);
	return s;
}

char *quorum_compare_answer(const struct quorum_compare *c, const char *text)
{
	if (!text)
		return NULL;
	if (c->exact) {
		size_t b, e;
		trim(text, &b, &e);
		char *s = q_malloc(e - b + 1);
		if (s) {
			memcpy(s, text + b, e - b);
			s[e - b] = '\0';
		}
		return s;
	}
	return comparable(c, text, 0);
}

int quorum_compare_match(const struct quorum_compare *c, const char *expected,
			 const char *text)
{
	if (!expected || !text)
		return 0;
	char *got = quorum_compare_answer(c, text);
	int find = c->exact || c->spec.mode == EX_NUMBER || c->spec.mode == EX_CHOICE;
	char *want = find ? quorum_compare_answer(c, expected) : comparable(c, expected, 1);
	int match = got && want && !strcmp(got, want);
	q_free(got);
	q_free(want);
	return match;
}
