/* The response cache as include/quorum.h shows it: open, stats, clear.
 * The store is cache.c; the calls room looks answers up and keeps them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "cache.h"
#include "quorum.h"
#include "run.h"

struct quorum_cache *quorum_cache_open(const char *path, char **errors)
{
	char err[512];
	char *def = NULL;
	if (!path && !(def = cache_default_path())) {
		run_set_error(errors, "quorum: no place for the cache: set XDG_CACHE_HOME or "
				      "HOME, or give --cache=PATH%s", "", 0);
		return NULL;
	}
	struct quorum_cache *qc = q_calloc(1, sizeof(*qc));
	if (!qc) {
		q_free(def);
		run_set_error(errors, "quorum: out of memory opening the cache%s", "", 0);
		return NULL;
	}
	qc->store = cache_open(path ? path : def, err, sizeof(err));
	q_free(def);
	if (!qc->store) {
		q_free(qc);
		run_set_error(errors, "quorum: %s", err, 0);
		return NULL;
	}
	return qc;
}

char *quorum_cache_default_path(void)
{
	return cache_default_path();
}

void quorum_cache_close(struct quorum_cache *qc)
{
	if (!qc)
		return;
	cache_close(qc->store);
	q_free(qc);
}

static int put_model(void *ctx, const char *model, long entries, long long bytes,
		     double cost_usd)
{
	buf_printf(ctx, "  %-36s %8ld answers %12lld bytes  $%.4f\n", model, entries, bytes,
		   cost_usd);
	return 0;
}

char *quorum_cache_stats(struct quorum_cache *qc)
{
	struct cache_stats st;
	if (!qc || cache_stats(qc->store, &st))
		return NULL;
	struct buf b;
	buf_init(&b, 0);
	long asked = st.hits + st.misses;
	buf_printf(&b, "cache:   %s\nanswers: %ld (%lld bytes of text)\n"
		       "lookups: %ld: %ld hits, %ld misses (%.1f%% hits)\nsaved:   $%.4f\n",
		   st.path, st.entries, st.bytes, asked, st.hits, st.misses,
		   asked ? 100.0 * (double)st.hits / (double)asked : 0.0, st.saved_usd);
	if (st.entries) {
		buf_puts(&b, "by model:\n");
		if (cache_stats_models(qc->store, put_model, &b) < 0)
			buf_printf(&b, "  (cannot list: %s)\n", cache_error(qc->store));
	}
	char *s = b.overflow || !b.data ? NULL : q_strdup(buf_str(&b));
	buf_release(&b);
	return s;
}

int quorum_cache_clear(struct quorum_cache *qc, char **errors)
{
	if (cache_clear(qc->store)) {
		run_set_error(errors, "quorum: cannot clear the cache: %s",
			      cache_error(qc->store), 0);
		return -1;
	}
	return 0;
}
