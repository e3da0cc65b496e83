#ifndef QUORUM_TESTS_TMPDIR_H
#define QUORUM_TESTS_TMPDIR_H
/* A fresh folder per test, removed with what it holds: cmocka setup and
 * teardown for the tests of the files quorum keeps (the response cache,
 * the bandit store). Include after cmocka.h. */
#include <stdio.h>
#include <stdlib.h>

struct dir {
	char path[256];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	const char *tmp = getenv("TMPDIR");
	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "%s/quorum-test-XXXXXX",
		 tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(d->path)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", d->path, d->path);
	int rc = system(cmd);
	free(d);
	return rc == 0 ? 0 : -1;
}

/* path/name in the test's folder; good until the call after next. */
static char *in_dir(void **state, const char *name)
{
	static char buf[2][512];
	static int which;
	struct dir *d = *state;
	char *p = buf[which ^= 1];
	snprintf(p, sizeof(buf[0]), "%s/%s", d->path, name);
	return p;
}

#endif
