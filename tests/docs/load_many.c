/* Asks the loader about many workflow texts at once, for the documentation
 * tests (check_keys.py): each text on standard input ends with a NUL byte;
 * for each, standard output gets "ok\n" when the loader accepts it, or the
 * loader's messages ("FILE:LINE:COL: message" lines), then a NUL byte.
 * Uses only the public header, as any user of the library would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"

static void answer(const char *text, size_t len)
{
	char *errors = NULL;
	struct quorum_workflow *wf =
		quorum_workflow_load_buffer("probe.yaml", text, len, NULL, &errors);
	if (wf)
		fputs("ok\n", stdout);
	else
		fputs(errors ? errors : "probe.yaml: not loaded, and no message\n", stdout);
	fputc('\0', stdout);
	quorum_workflow_free(wf);
	quorum_free(errors);
}

int main(void)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int ch;
	if (!buf)
		return 1;
	while ((ch = getchar()) != EOF) {
		if (n + 1 == cap) {
			char *p = realloc(buf, cap *= 2);
			if (!p) {
				free(buf);
				return 1;
			}
			buf = p;
		}
		if (ch) {
			buf[n++] = (char)ch;
			continue;
		}
		buf[n] = '\0';
		answer(buf, n);
		n = 0;
	}
	free(buf);
	return fflush(stdout) || ferror(stdout) ? 1 : 0;
}
