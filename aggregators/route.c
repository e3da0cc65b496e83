#include "route.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pii.h"

size_t route_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* What a prompt is, computed once for all routes. */
struct facts {
	const char *prompt;
	size_t len, chars;
	unsigned pii;
	int pii_done;
};

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

/* Whether every key of c holds; rule gets the keys that were checked. */
static int cond_holds(const struct wf_cond *c, struct facts *f,
		      const char *(*input)(void *ctx, const char *name), void *ctx,
		      char *rule, size_t n)
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
	for (size_t k = 0; k < c->ninputs; k++) {
		const char *v = input ? input(ctx, c->inputs[k].name) : NULL;
		if (!v || strcmp(v, c->inputs[k].value) != 0)
			return 0;
		note(rule, n, "input %.64s", c->inputs[k].name);
	}
	return 1;
}

int route_pick(const struct wf_node *node, const char *prompt,
	       const char *(*input)(void *ctx, const char *name), void *ctx,
	       struct arena *a, const char **rule_out)
{
	struct facts f = {prompt ? prompt : "", 0, 0, 0, 0};
	f.len = strlen(f.prompt);
	f.chars = route_utf8_len(f.prompt);
	for (size_t i = 0; i < node->nroutes; i++) {
		char rule[256] = "";
		if (!cond_holds(&node->routes[i].when, &f, input, ctx, rule, sizeof(rule)))
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
