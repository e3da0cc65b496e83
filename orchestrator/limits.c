/* The limits a user can set (--limit NAME=VALUE): one table, so the CLI,
 * the error messages and the defaults cannot drift apart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/duration.h"
#include "../common/suggest.h"
#include "quorum.h"

void quorum_limits_default(struct quorum_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->file_bytes = 4u << 20;
	l->yaml_nodes = 100000;
	l->yaml_depth = 64;
	l->nodes = 10000;
	l->fanout = 100000;
	l->prompt_bytes = 8u << 20;
	l->json_depth = 64;
	l->yaml_bytes = 64u << 20;
}

static const char *const names[] = {"file_bytes", "yaml_nodes", "yaml_depth", "nodes",
				    "fanout", "prompt_bytes", "json_depth", "wall",
				    "yaml_bytes"};
#define WALL 7

static int set_number(struct quorum_limits *l, size_t i, unsigned long long v)
{
	switch (i) {
	case 0: l->file_bytes = (size_t)v; break;
	case 1: l->yaml_nodes = (size_t)v; break;
	case 2: l->yaml_depth = (int)v; break;
	case 3: l->nodes = (size_t)v; break;
	case 4: l->fanout = (size_t)v; break;
	case 5: l->prompt_bytes = (size_t)v; break;
	case 8: l->yaml_bytes = (size_t)v; break;
	default: l->json_depth = (int)v; break;
	}
	return 0;
}

int quorum_limits_set(struct quorum_limits *l, const char *spec, char *err, size_t n)
{
	const char *eq = strchr(spec, '=');
	size_t nlen = eq ? (size_t)(eq - spec) : strlen(spec);
	size_t count = sizeof(names) / sizeof(names[0]), i = 0;
	while (i < count && (strlen(names[i]) != nlen || strncmp(names[i], spec, nlen)))
		i++;
	if (i == count) {
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(nlen < 63 ? nlen : 63), spec);
		const char *near = suggest_nearest(name, names, count);
		snprintf(err, n, "unknown limit '%s'%s%s%s; the limits are file_bytes, yaml_nodes, "
			 "yaml_bytes, yaml_depth, nodes, fanout, prompt_bytes, json_depth and wall",
			 name, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		return -1;
	}
	if (!eq || !eq[1]) {
		snprintf(err, n, "--limit %s needs a value, as in %s=%s", names[i], names[i],
			 i == WALL ? "30s" : "1000");
		return -1;
	}
	if (i == WALL) {
		int64_t ms;
		if (duration_parse(eq + 1, &ms)) {
			snprintf(err, n, "invalid duration '%s' for --limit wall (use 500ms, 30s, "
				 "2m or a number of seconds)", eq + 1);
			return -1;
		}
		l->wall_ms = ms;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(eq + 1, &end, 10);
	int depth = i == 2 || i == 6;
	if (errno || *end || eq[1] == '-' || v == 0 || (depth && v > 100000)) {
		snprintf(err, n, "--limit %s wants a positive whole number%s, got '%s'", names[i],
			 depth ? " up to 100000" : "", eq + 1);
		return -1;
	}
	return set_number(l, i, v);
}
