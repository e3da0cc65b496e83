#ifndef QUORUM_ENVSUBST_H
#define QUORUM_ENVSUBST_H
#include "../common/arena.h"

/* Returns s with ${VAR} and ${VAR:-default} replaced from the environment
 * (docker-compose style), in the arena; NULL when memory ran out. */
const char *env_expand(struct arena *a, const char *s);

#endif
