#ifndef QUORUM_ROUTE_H
#define QUORUM_ROUTE_H
#include <stddef.h>

#include "../common/arena.h"
#include "../dag/workflow.h"

/* The route node's choice: the first route whose `when` holds. Pure. */

/* Returns the index of the first of node->routes whose condition holds
 * for the rendered prompt (every key written must hold: regex matches,
 * min_chars/max_chars in UTF-8 code points, contains_pii as pii_scan
 * says, each `input` equal to input(ctx, NAME)), or -1 for the default.
 * A `when` with no key holds always. A regex that fails to run (its
 * backtracking limit) counts as not matching, as does an input that
 * input() returns NULL for. *rule_out (when rule_out is not NULL) gets a
 * short description of what fired, allocated in a (borrowed until
 * arena_free), that names keys, kinds and limits but never the matched
 * text or an input's value: "routes[1]: contains_pii (email, card)",
 * "routes[0]: regex, max_chars 200", "routes[2]: input lang", "default";
 * it is a static string when a is NULL or memory ran out. */
int route_pick(const struct wf_node *node, const char *prompt,
	       const char *(*input)(void *ctx, const char *name), void *ctx,
	       struct arena *a, const char **rule_out);

/* Number of UTF-8 code points in s (bytes that do not continue one). */
size_t route_utf8_len(const char *s);

#endif
