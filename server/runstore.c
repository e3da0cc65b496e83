/* A ring of (id, report) under one lock. Lookups scan it: N is hundreds,
 * and a scan is cheaper than keeping a hash in step with the ring. */
#include "runstore.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../common/alloc.h"

struct slot {
	char id[40];
	char *json;
};

struct runstore {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t cap, next;
};

struct runstore *runstore_new(size_t cap)
{
	struct runstore *s = q_calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cap = cap ? cap : 1;
	if (!(s->slots = q_calloc(s->cap, sizeof(*s->slots))) ||
	    pthread_mutex_init(&s->lock, NULL)) {
		q_free(s->slots);
		q_free(s);
		return NULL;
	}
	return s;
}

void runstore_free(struct runstore *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		q_free(s->slots[i].json);
	q_free(s->slots);
	pthread_mutex_destroy(&s->lock);
	q_free(s);
}

int runstore_put(struct runstore *s, const char *id, const char *json)
{
	char *copy = q_strdup(json);
	if (!copy)
		return -1;
	pthread_mutex_lock(&s->lock);
	struct slot *sl = &s->slots[s->next];
	s->next = (s->next + 1) % s->cap;
	char *old = sl->json;
	snprintf(sl->id, sizeof(sl->id), "%s", id);
	sl->json = copy;
	pthread_mutex_unlock(&s->lock);
	q_free(old);
	return 0;
}

char *runstore_get(struct runstore *s, const char *id)
{
	char *copy = NULL;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->cap && !copy; i++)
		if (s->slots[i].json && !strcmp(s->slots[i].id, id))
			copy = q_strdup(s->slots[i].json);
	pthread_mutex_unlock(&s->lock);
	return copy;
}
