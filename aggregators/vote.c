#include "vote.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "extract.h"

/* Buckets by normalised answer, found through an open-addressing table so
 * a thousand distinct whole-text answers do not cost a million compares. */
struct tally {
	struct vote_bucket *b;
	size_t n;
	size_t *slot;     /* bucket index + 1; 0 = empty */
	size_t nslot;     /* a power of two, at least twice the candidates */
	double total;     /* weight of every voter, with or without an answer */
	size_t nvalid;
};

double vote_weight(const struct wf_node *node, const char *model)
{
	for (size_t i = 0; model && i < node->nweights; i++) {
		const struct wf_weight *w = &node->weights[i];
		if (w->model && strcmp(w->model, model) == 0)
			return isfinite(w->weight) && w->weight > 0 ? w->weight : 0;
	}
	return 1.0;
}

static uint64_t key_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

static int tally_init(struct tally *t, size_t n, struct arena *a)
{
	memset(t, 0, sizeof(*t));
	t->nslot = 16;
	while (t->nslot < 2 * n)
		t->nslot *= 2;
	t->b = arena_alloc(a, (n ? n : 1) * sizeof(*t->b));
	t->slot = arena_alloc(a, t->nslot * sizeof(*t->slot));
	return t->b && t->slot ? 0 : -1;
}

/* Counts candidate idx's vote of weight w for key, answer. */
static int tally_add(struct tally *t, struct arena *a, const struct buf *key,
		     const struct buf *answer, double w, size_t idx)
{
	size_t i = (size_t)key_hash(key->data, key->len) & (t->nslot - 1);
	for (; t->slot[i]; i = (i + 1) & (t->nslot - 1)) {
		struct vote_bucket *b = &t->b[t->slot[i] - 1];
		if (strcmp(b->key, key->data) == 0) {
			b->weight += w;
			b->count++;
			return 0;
		}
	}
	struct vote_bucket *b = &t->b[t->n];
	b->key = arena_strndup(a, key->data, key->len);
	b->answer = arena_strndup(a, answer->data, answer->len);
	if (!b->key || !b->answer)
		return -1;
	b->weight = w;
	b->count = 1;
	b->first = idx;
	t->slot[i] = ++t->n;
	return 0;
}

/* Extracts, normalises and counts one candidate. A candidate without an
 * answer (failed, NULL text, nothing extractable) still weighs in the
 * total: it is a voter that did not agree. */
static int tally_candidate(struct tally *t, const struct wf_node *node,
			   const struct vote_candidate *c, size_t idx, struct arena *a,
			   struct buf *ans, struct buf *key)
{
	double w = vote_weight(node, c->model);
	if (w <= 0)
		return 0;
	t->total += w;
	buf_reset(ans);
	buf_reset(key);
	int rc = extract_apply(&node->extract, c->text, ans);
	if (rc <= 0)
		return rc;
	if (answer_normalize(buf_str(ans), node->extract.mode, key))
		return -1;
	if (key->len == 0)
		return 0;
	t->nvalid++;
	return tally_add(t, a, key, ans, w, idx);
}

/* Stable merge sort, heaviest first. Weights closer than eps are equal,
 * so 0.1 + 0.2 ties with 0.3 and the earlier answer stays first. */
static void sort_buckets(struct vote_bucket *b, struct vote_bucket *tmp, size_t n, double eps)
{
	if (n < 2)
		return;
	size_t h = n / 2, i = 0, j = h, k = 0;
	sort_buckets(b, tmp, h, eps);
	sort_buckets(b + h, tmp, n - h, eps);
	while (i < h && j < n)
		tmp[k++] = b[j].weight > b[i].weight + eps ? b[j++] : b[i++];
	while (i < h)
		tmp[k++] = b[i++];
	while (j < n)
		tmp[k++] = b[j++];
	memcpy(b, tmp, n * sizeof(*b));
}

static int tally_run(struct tally *t, const struct wf_node *node,
		     const struct vote_candidate *c, size_t n, struct arena *a)
{
	struct buf ans = BUF_INIT, key = BUF_INIT;
	int rc = tally_init(t, n, a);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = tally_candidate(t, node, &c[i], i, a, &ans, &key);
	buf_release(&ans);
	buf_release(&key);
	return rc;
}

int vote_run(const struct wf_node *node, const struct vote_candidate *c, size_t n,
	     struct arena *a, struct vote_result *out)
{
	struct tally t;
	memset(out, 0, sizeof(*out));
	if (tally_run(&t, node, c, n, a))
		return -1;
	out->nvalid = t.nvalid;
	if (t.nvalid == 0)
		return 1;
	double eps = 1e-9 * t.total;
	struct vote_bucket *tmp = arena_alloc(a, t.n * sizeof(*tmp));
	if (!tmp)
		return -1;
	sort_buckets(t.b, tmp, t.n, eps);
	const struct vote_bucket *top = &t.b[0];
	out->buckets = t.b;
	out->nbuckets = t.n;
	out->winner = top->first;
	out->agreement = top->weight / t.total;
	int tie = t.n > 1 && t.b[1].weight >= top->weight - eps;
	out->confident = !tie && out->agreement + 1e-9 >= node->min_agreement;
	out->output = node->extract.mode == EX_WHOLE ? arena_strdup(a, c[top->first].text)
						     : top->answer;
	return out->output ? 0 : -1;
}
