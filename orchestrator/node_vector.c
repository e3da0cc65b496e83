/* embed: a node that only embeds its prompt (made by workflow_embedder,
 * never written in a file): `quorum router` gets the vectors a route
 * node's learned condition will see, with the engine's limits, retries
 * and cache. Its output is the packed vector. */
#include "node.h"

static void vector_start(struct nodeset *g, struct node_state *ns)
{
	const char *err = NULL;
	const char **text = arena_alloc(g->arena, sizeof(*text));
	if (!text) {
		node_fail(g, ns, "internal", "out of memory");
		return;
	}
	*text = node_question(g, ns, &err);
	if (err) {
		node_fail(g, ns, "too_large", err);
		return;
	}
	if (!node_embed(g, ns, ns->node->models[0], text, 1, 0))
		node_fail(g, ns, "internal", "out of memory");
}

static void vector_done(struct nodeset *g, struct node_state *ns, struct call *c)
{
	if (c->resp.status != RESP_OK) {
		node_finish(g, ns, NS_FAILED, "the embedding failed");
		return;
	}
	ns->output = c->resp.text;
	node_finish(g, ns, NS_OK, NULL);
}

const struct kind kind_embed = {vector_start, vector_done};
