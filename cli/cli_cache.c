/* quorum cache stats|clear: what the response cache holds, and emptying
 * it. The cache itself is used by run, batch and eval with --cache. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage_cache[] =
	"usage: quorum cache stats|clear [--cache=PATH]\n"
	"\n"
	"  stats            the file, its answers (by model), lookups, hits and\n"
	"                   the cost the hits saved\n"
	"  clear            forget every answer (the file stays)\n"
	"  --cache=PATH     that cache file (default: $XDG_CACHE_HOME/quorum/\n"
	"                   cache.sqlite, else ~/.cache/quorum/cache.sqlite)\n";

static const char *const cache_opts[] = {"--cache", "--help"};
static const char *const cache_actions[] = {"stats", "clear"};

int cmd_cache(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_cache, stdout);
		return cli_check_stdout("the usage");
	}
	const char *action = NULL, *path = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "--cache=", 8))
			path = argv[i] + 8;
		else if (!strcmp(argv[i], "--cache") && i + 1 < argc)
			path = argv[++i];
		else if (argv[i][0] == '-')
			return cli_fail_option(usage_cache, cache_opts, NOPTS(cache_opts), argv[i]);
		else if (!action)
			action = argv[i];
		else
			return cli_fail_usage(usage_cache, "unexpected argument '%s'", argv[i]);
	}
	if (!action)
		return cli_fail_usage(usage_cache, "cache needs stats or clear%s", "");
	int clear = !strcmp(action, "clear");
	if (!clear && strcmp(action, "stats"))
		return cli_fail_unknown(usage_cache, "cache action", cache_actions,
					NOPTS(cache_actions), action);
	/* Looking must not make a cache: a file that is not there is empty. */
	char *file = path && *path ? strdup(path) : quorum_cache_default_path();
	struct stat st;
	if (file && stat(file, &st) && errno == ENOENT) {
		printf("cache:   %s\nnothing cached yet (runs with --cache make it)\n", file);
		free(file);
		return cli_check_stdout("the cache's numbers");
	}
	char *errors = NULL;
	struct quorum_cache *c = quorum_cache_open(file, &errors);
	free(file);
	if (!c) {
		fputs(errors ? errors : "quorum: cannot open the cache\n", stderr);
		quorum_free(errors);
		return QUORUM_EXIT_INVALID;
	}
	int code = QUORUM_EXIT_OK;
	if (clear) {
		if (quorum_cache_clear(c, &errors)) {
			fputs(errors ? errors : "quorum: cannot clear the cache\n", stderr);
			quorum_free(errors);
			code = QUORUM_EXIT_FAILED;
		}
	} else {
		char *s = quorum_cache_stats(c);
		if (!s) {
			fputs("quorum: cannot read the cache's numbers\n", stderr);
			code = QUORUM_EXIT_FAILED;
		} else {
			fputs(s, stdout);
			quorum_free(s);
			code = cli_check_stdout("the cache's numbers");
		}
	}
	quorum_cache_close(c);
	return code;
}
