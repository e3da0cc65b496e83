#include "route.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/vec.h"
#include "pii.h"

size_t route_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

void route_facts_init(struct route_facts *f, const char *prompt)
{
	memset(f, 0, sizeof(*f));
	f->prompt = prompt ? prompt : "";
	f->len = strlen(f->prompt);
	f->chars = route_utf8_len(f->prompt);
	f->difficulty = -1;
	f->tokens = -1;
}

/* Appends one key to the rule text, comma-separated; cut, never
 * overflowed. */
static void note(char *rule, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(char *rule, size_t n, const char *fmt, ...)
{
	size_t used = strlen(rule);
	if (used && used + 2 < n) {
		memcpy(rule + used, ", ", 3);
		used += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rule + used, n - used, fmt, ap);
	va_end(ap);
}

/* The keys about the prompt's text: regex, length, personal data. */
static int text_holds(const struct wf_cond *c, struct route_facts *f, char *rule, size_t n)
{
	if (c->re) {
		size_t b, e;
		if (regex_search(c->re, f->prompt, f->len, -1, &b, &e) != 1)
			return 0;
		note(rule, n, "regex");
	}
	if (c->min_chars >= 0) {
		if (f->chars < (size_t)c->min_chars)
			return 0;
		note(rule, n, "min_chars %ld", c->min_chars);
	}
	if (c->max_chars >= 0) {
		if (f->chars > (size_t)c->max_chars)
			return 0;
		note(rule, n, "max_chars %ld", c->max_chars);
	}
	if (c->contains_pii >= 0) {
		if (!f->pii_done) {
			f->pii = pii_scan(f->prompt, f->len);
			f->pii_done = 1;
		}
		if ((f->pii != 0) != (c->contains_pii != 0))
			return 0;
		char kinds[64];
		if (c->contains_pii)
			note(rule, n, "contains_pii (%s)", pii_kinds(f->pii, kinds, sizeof(kinds)));
		else
			note(rule, n, "contains_pii false");
	}
	return 1;
}

/* The keys about the run and the subtask: inputs, difficulty, tokens. */
static int context_holds(const struct wf_cond *c, struct route_facts *f, char *rule,
			 size_t n)
{
	for (size_t k = 0; k < c->ninputs; k++) {
		const char *v = f->input ? f->input(f->ctx, c->inputs[k].name) : NULL;
		if (!v || strcmp(v, c->inputs[k].value) != 0)
			return 0;
		note(rule, n, "input %.64s", c->inputs[k].name);
	}
	if (c->min_difficulty >= 0 || c->max_difficulty >= 0) {
		if (f->difficulty < 0 || (c->min_difficulty >= 0 && f->difficulty < c->min_difficulty) ||
		    (c->max_difficulty >= 0 && f->difficulty > c->max_difficulty))
			return 0;
		note(rule, n, "difficulty %.2g", f->difficulty);
	}
	if (c->min_tokens >= 0 || c->max_tokens >= 0) {
		if (f->tokens < 0 || (c->min_tokens >= 0 && f->tokens < c->min_tokens) ||
		    (c->max_tokens >= 0 && f->tokens > c->max_tokens))
			return 0;
		note(rule, n, "tokens %ld", f->tokens);
	}
	return 1;
}

/* The keys about the prompt's embedding: semantic, score. */
static enum route_test vector_holds(const struct wf_cond *c, size_t i,
				    const struct route_facts *f, char *rule, size_t n)
{
	if (!c->semantic && !c->score)
		return ROUTE_YES;
	if (f->vec_failed)
		return ROUTE_NO;
	if (!f->vec)
		return ROUTE_NEEDS_VECTOR;
	if (c->semantic) {
		const float *ex = f->examples ? f->examples[i] : NULL;
		double best = -2;
		for (size_t k = 0; ex && k < c->semantic->nexamples; k++) {
			double cos = vec_cosine(f->vec, ex + k * f->dim, f->dim);
			best = cos > best ? cos : best;
		}
		if (best < c->semantic->threshold)
			return ROUTE_NO;
		note(rule, n, "semantic %.2f", best);
	}
	if (c->score) {
		double x = f->scores ? f->scores[i] : NAN;
		if (!(x >= c->score->threshold))
			return ROUTE_NO;
		note(rule, n, "score %.2f", x);
	}
	return ROUTE_YES;
}

enum route_test route_test(const struct wf_node *node, size_t i, struct route_facts *f,
			   char *rule, size_t n)
{
	const struct wf_cond *c = &node->routes[i].when;
	rule[0] = '\0';
	if (node->routes[i].ask || !text_holds(c, f, rule, n) || !context_holds(c, f, rule, n))
		return ROUTE_NO;
	return vector_holds(c, i, f, rule, n);
}

int route_pick_facts(const struct wf_node *node, struct route_facts *f, struct arena *a,
		     const char **rule_out)
{
	for (size_t i = 0; i < node->nroutes; i++) {
		char rule[256];
		if (route_test(node, i, f, rule, sizeof(rule)) != ROUTE_YES)
			continue;
		if (rule_out) {
			char *t = a ? arena_printf(a, "routes[%zu]: %s", i,
						   rule[0] ? rule : "always") : NULL;
			*rule_out = t ? t : "route";
		}
		return (int)i;
	}
	if (rule_out)
		*rule_out = "default";
	return -1;
}

int route_pick(const struct wf_node *node, const char *prompt,
	       const char *(*input)(void *ctx, const char *name), void *ctx,
	       struct arena *a, const char **rule_out)
{
	struct route_facts f;
	route_facts_init(&f, prompt);
	f.input = input;
	f.ctx = ctx;
	return route_pick_facts(node, &f, a, rule_out);
}

int route_uses_estimates(const struct wf_node *node)
{
	for (size_t i = 0; node && node->kind == NK_ROUTE && i < node->nroutes; i++) {
		const struct wf_cond *c = &node->routes[i].when;
		if (c->min_difficulty >= 0 || c->max_difficulty >= 0 || c->min_tokens >= 0 ||
		    c->max_tokens >= 0)
			return 1;
	}
	return 0;
}
