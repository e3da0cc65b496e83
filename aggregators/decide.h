#ifndef QUORUM_DECIDE_H
#define QUORUM_DECIDE_H
#include <stddef.h>

#include "../dag/workflow.h"
#include "vote.h"

/* Early decision for a vote with `stop_when: decided`: whether the calls
 * still running for its generate node can change the winner. Pure. */

/* Returns 1 when the answers in done[0..ndone) (failed calls with text
 * NULL included) already decide vote_node's vote whatever the calls still
 * running answer. pending_models[0..npending) names the model of each
 * such call (a model with three samples out appears three times), each
 * weighing what
 * vote_node->weights gives its model (1 when not written, 0 when the
 * weight removes it): the leader's weight exceeds the runner-up's (0 when
 * there is none) plus every pending weight. A tie is never decided, since
 * where ties go depends on the order of answers not yet seen. Returns 0
 * otherwise, and when memory ran out (not deciding is always safe). With
 * nothing pending the vote is decided. */
int vote_decided(const struct wf_node *vote_node, const struct vote_candidate *done,
		 size_t ndone, const char *const *pending_models, size_t npending);

#endif
