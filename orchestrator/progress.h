#ifndef QUORUM_PROGRESS_H
#define QUORUM_PROGRESS_H
/* Live progress on a terminal (stderr): one line per node, redrawn in
 * place at most ten times a second; on a terminal without cursor control
 * (TERM=dumb) a line per node as it ends. stdout is left to the answer. */
#include <stdio.h>

#include "node.h"

struct progress;

/* Returns a display of set's nodes on out (in set's arena), or NULL when
 * memory ran out. color: ANSI colours; plain: no cursor movement. */
struct progress *progress_new(const struct nodeset *set, FILE *out, int color, int plain);
/* Redraws, at most every 100 ms unless force. NULL is a no-op. */
void progress_update(struct progress *p, int force);
/* A node ended: redraws, or (plain) prints its line. NULL is a no-op. */
void progress_node_done(struct progress *p, const struct node_state *ns);

#endif
