#ifndef QUORUM_SYNTHESIZE_H
#define QUORUM_SYNTHESIZE_H
#include <stddef.h>

#include "../common/buf.h"

/* The Mixture-of-Agents aggregate-and-synthesize prompt: the candidates go
 * in the system message after an instruction to critically evaluate and
 * merge them; the user message is the node's prompt (or the query). */

/* The default instruction, used when the node has no `system`. */
extern const char synth_default_system[];

/* Appends the system message: `system` (NULL: the default) followed by
 * the numbered candidates. Returns 0 or -1 (out full). */
int synth_build_system(struct buf *out, const char *system,
		       const char *const *texts, size_t n);

#endif
