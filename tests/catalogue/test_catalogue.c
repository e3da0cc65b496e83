/* The bad-input catalogue: each case in cases/ is a broken workflow file
 * or command line and the exact words quorum must answer with. Every case
 * runs through the real binary, from the cases folder (so the file names
 * in messages are short and stable), with a clean environment (no API
 * keys unless the case sets one) and standard input empty. The exit
 * status and standard error must match to the byte; standard output must
 * be empty.
 *
 * A case is NAME.expect (line 1: the arguments, FILE standing for
 * NAME.yaml and leading VAR=VALUE words setting environment variables;
 * line 2: the exit status; the rest: standard error) and, when it needs
 * one, NAME.yaml. QUORUM_CATALOGUE_UPDATE=1 rewrites each .expect with
 * what quorum says now: for adding a case, and reviewing the diff. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"

#define MAX_ARGS 32
#define CASE_TIMEOUT_MS 30000

struct cat_case {
	char *name;          /* NNN-short-name, the file stem */
	char *args;          /* line 1, as written */
	int code;            /* line 2 */
	char *err;           /* the rest: standard error */
	int has_yaml;
	int bad;             /* the .expect file is not a case */
};

struct catalogue {
	char dir[1024];
	struct cat_case *v;
	size_t n, cap;
	char **yamls;        /* stems of the .yaml files, for the orphan check */
	size_t nyamls, yamls_cap;
};

static struct catalogue cat;

/* ---- files ---- */

/* Returns new (q_free), or NULL when the file cannot be read. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t got;
	buf_append(&b, "", 0);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, got);
	fclose(f);
	char *s = q_strdup(buf_str(&b));
	buf_release(&b);
	return s;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && !strcmp(s + n - k, suffix);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct cat_case *)a)->name, ((const struct cat_case *)b)->name);
}

/* Line 1 the arguments, line 2 the exit status, the rest standard error. */
static int parse_expect(struct cat_case *c, const char *text)
{
	const char *nl1 = strchr(text, '\n');
	const char *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
	if (!nl1 || !nl2)
		return -1;
	c->args = q_malloc((size_t)(nl1 - text) + 1);
	if (!c->args)
		return -1;
	memcpy(c->args, text, (size_t)(nl1 - text));
	c->args[nl1 - text] = '\0';
	char *end;
	c->code = (int)strtol(nl1 + 1, &end, 10);
	if (end == nl1 + 1 || end != nl2)
		return -1;
	c->err = q_strdup(nl2 + 1);
	return c->err ? 0 : -1;
}

static void add_case(const char *file)
{
	if (cat.n == cat.cap) {
		cat.cap = cat.cap ? cat.cap * 2 : 64;
		cat.v = q_realloc(cat.v, cat.cap * sizeof(*cat.v));
		assert_non_null(cat.v);
	}
	struct cat_case *c = &cat.v[cat.n++];
	memset(c, 0, sizeof(*c));
	size_t stem = strlen(file) - strlen(".expect");
	c->name = q_malloc(stem + 1);
	assert_non_null(c->name);
	memcpy(c->name, file, stem);
	c->name[stem] = '\0';
	char path[1400];
	snprintf(path, sizeof(path), "%s/%s", cat.dir, file);
	char *text = read_text(path);
	c->bad = !text || parse_expect(c, text);
	q_free(text);
	snprintf(path, sizeof(path), "%s/%s.yaml", cat.dir, c->name);
	c->has_yaml = access(path, R_OK) == 0;
}

static void add_yaml(const char *file)
{
	if (cat.nyamls == cat.yamls_cap) {
		cat.yamls_cap = cat.yamls_cap ? cat.yamls_cap * 2 : 64;
		cat.yamls = q_realloc(cat.yamls, cat.yamls_cap * sizeof(*cat.yamls));
		assert_non_null(cat.yamls);
	}
	char *s = q_strdup(file);
	assert_non_null(s);
	s[strlen(s) - strlen(".yaml")] = '\0';
	cat.yamls[cat.nyamls++] = s;
}

static void load_catalogue(void)
{
	const char *src = getenv("QUORUM_SRCDIR");
	snprintf(cat.dir, sizeof(cat.dir), "%s/tests/catalogue/cases", src ? src : ".");
	DIR *d = opendir(cat.dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (has_suffix(e->d_name, ".expect"))
			add_case(e->d_name);
		else if (has_suffix(e->d_name, ".yaml"))
			add_yaml(e->d_name);
	}
	closedir(d);
	if (cat.n)
		qsort(cat.v, cat.n, sizeof(*cat.v), by_name);
}

static void free_catalogue(void)
{
	for (size_t i = 0; i < cat.n; i++) {
		q_free(cat.v[i].name);
		q_free(cat.v[i].args);
		q_free(cat.v[i].err);
	}
	for (size_t i = 0; i < cat.nyamls; i++)
		q_free(cat.yamls[i]);
	q_free(cat.v);
	q_free(cat.yamls);
	memset(&cat, 0, sizeof(cat));
}

/* ---- running one case ---- */

struct argv_env {
	char *argv[MAX_ARGS + 2];
	char *envp[MAX_ARGS + 8];
	size_t argc, envc;
	char *store;         /* the words, NUL-separated */
};

/* Splits line 1 into words ('...' and "..." quote, without escapes).
 * Leading VAR=VALUE words go to the environment; FILE becomes the case's
 * workflow. Returns 0, or -1 when the line cannot be used. */
static int split_args(const struct cat_case *c, const char *yaml, struct argv_env *ae)
{
	const char *s = c->args;
	char *w = ae->store = q_malloc(strlen(s) + strlen(yaml) * MAX_ARGS + MAX_ARGS + 1);
	if (!w)
		return -1;
	int env_ok = 1;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		char *word = w;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'' || *s == '"') {
				char q = *s++;
				while (*s && *s != q)
					*w++ = *s++;
				if (*s++ != q)
					return -1;
			} else {
				*w++ = *s++;
			}
		}
		*w++ = '\0';
		if (env_ok && strchr(word, '=') && word[0] >= 'A' && word[0] <= 'Z' &&
		    ae->envc < MAX_ARGS) {
			ae->envp[ae->envc++] = word;
			continue;
		}
		env_ok = 0;
		if (!strcmp(word, "FILE")) {
			if (!c->has_yaml)
				return -1;
			strcpy(word, yaml);
			w = word + strlen(yaml) + 1;
		}
		if (ae->argc == MAX_ARGS)
			return -1;
		ae->argv[++ae->argc] = word;
	}
	return 0;
}

/* The clean environment: a PATH, the C locale (stable strerror texts)
 * and the sanitizers' settings, nothing else. */
static void base_env(struct argv_env *ae)
{
	static char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	static char lang[] = "LC_ALL=C";
	static const char *const pass[] = {
		"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS",
	};
	ae->envp[ae->envc++] = path;
	ae->envp[ae->envc++] = lang;
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		const char *v = getenv(pass[i]);
		static char kept[4][512];
		if (v) {
			snprintf(kept[i], sizeof(kept[i]), "%s=%s", pass[i], v);
			ae->envp[ae->envc++] = kept[i];
		}
	}
}

struct outcome {
	int code;            /* exit status; -1 killed or not run */
	char *out, *err;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid up to CASE_TIMEOUT_MS; a hang is killed and reported. */
static int wait_child(pid_t pid)
{
	int64_t deadline = now_ms() + CASE_TIMEOUT_MS;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -2;
		}
		struct timespec nap = {0, 2 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int temp_file(char *path, size_t n, const char *what)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(path, n, "%s/quorum-cat-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
	return mkstemp(path);
}

static void run_binary(const struct argv_env *ae, struct outcome *o)
{
	char out_path[512], err_path[512];
	int out = temp_file(out_path, sizeof(out_path), "out");
	int err = temp_file(err_path, sizeof(err_path), "err");
	assert_true(out >= 0 && err >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		if (in < 0 || chdir(cat.dir) || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(126);
		execve(ae->argv[0], ae->argv, ae->envp);
		_exit(127);
	}
	close(out);
	close(err);
	o->code = wait_child(pid);
	o->out = read_text(out_path);
	o->err = read_text(err_path);
	unlink(out_path);
	unlink(err_path);
	assert_true(o->out && o->err);
}

/* ---- reporting ---- */

struct lines {
	const char **v;
	size_t *len;
	size_t n;
};

static void split_lines(const char *s, struct lines *l)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == '\n';
	l->v = q_calloc(n, sizeof(*l->v));
	l->len = q_calloc(n, sizeof(*l->len));
	l->n = 0;
	if (!l->v || !l->len)
		return;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		l->v[l->n] = s;
		l->len[l->n++] = len;
		s += len + (nl != NULL);
	}
}

static int line_eq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->v[i], b->v[j], a->len[i]);
}

/* A whole-text unified diff (the texts are a few lines): ' ' same, '-'
 * expected only, '+' quorum only; from the longest common subsequence. */
static void print_diff(const char *want, const char *got)
{
	struct lines a, b;
	split_lines(want, &a);
	split_lines(got, &b);
	size_t w = b.n + 1;
	size_t *lcs = a.v && b.v ? q_calloc((a.n + 1) * w, sizeof(size_t)) : NULL;
	if (!lcs) {
		print_message("--- expected\n%s+++ quorum said\n%s", want, got);
	} else {
		for (size_t i = a.n; i-- > 0;)
			for (size_t j = b.n; j-- > 0;)
				lcs[i * w + j] = line_eq(&a, i, &b, j)
					? lcs[(i + 1) * w + j + 1] + 1
					: lcs[(i + 1) * w + j] > lcs[i * w + j + 1]
						? lcs[(i + 1) * w + j] : lcs[i * w + j + 1];
		print_message("--- expected\n+++ quorum said\n");
		size_t i = 0, j = 0;
		while (i < a.n || j < b.n) {
			if (i < a.n && j < b.n && line_eq(&a, i, &b, j)) {
				print_message(" %.*s\n", (int)a.len[i], a.v[i]);
				i++, j++;
			} else if (i < a.n && (j == b.n || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
				print_message("-%.*s\n", (int)a.len[i], a.v[i]);
				i++;
			} else {
				print_message("+%.*s\n", (int)b.len[j], b.v[j]);
				j++;
			}
		}
	}
	q_free(lcs);
	q_free(a.v);
	q_free(a.len);
	q_free(b.v);
	q_free(b.len);
}

/* QUORUM_CATALOGUE_UPDATE=1: the case takes what quorum says now. */
static void update_case(const struct cat_case *c, const struct outcome *o)
{
	char path[1400];
	snprintf(path, sizeof(path), "%s/%s.expect", cat.dir, c->name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n%d\n%s", c->args, o->code, o->err);
	fclose(f);
	print_message("updated %s.expect\n", c->name);
}

static void run_case(void **state)
{
	const struct cat_case *c = *state;
	if (c->bad)
		fail_msg("%s.expect is not a case (line 1 the arguments, line 2 the exit "
			 "status, then standard error)", c->name);
	char yaml[300];
	snprintf(yaml, sizeof(yaml), "%s.yaml", c->name);
	struct argv_env ae;
	memset(&ae, 0, sizeof(ae));
	const char *bin = getenv("QUORUM_BIN");
	ae.argv[0] = (char *)(bin ? bin : "quorum");
	base_env(&ae);
	if (split_args(c, yaml, &ae)) {
		q_free(ae.store);
		fail_msg("%s: cannot read line 1 ('%s'): unclosed quote, too many words, or "
			 "FILE without %s", c->name, c->args, yaml);
	}
	struct outcome o = {0};
	run_binary(&ae, &o);
	q_free(ae.store);
	int ok = o.code == c->code && !strcmp(o.err, c->err) && !*o.out;
	if (!ok && getenv("QUORUM_CATALOGUE_UPDATE") && !*o.out) {
		update_case(c, &o);
		ok = 1;
	} else if (!ok) {
		print_message("case %s: quorum %s\n", c->name, c->args);
		if (o.code != c->code)
			print_message("exit status %d, expected %d%s\n", o.code, c->code,
				      o.code == -2 ? " (killed: it ran past 30 s)" : "");
		if (strcmp(o.err, c->err))
			print_diff(c->err, o.err);
		if (*o.out)
			print_message("standard output should be empty, got:\n%s\n", o.out);
	}
	q_free(o.out);
	q_free(o.err);
	if (!ok)
		fail_msg("case %s does not match", c->name);
}

/* ---- the catalogue as a whole ---- */

static int yaml_has_case(const char *stem)
{
	for (size_t i = 0; i < cat.n; i++) {
		if (!strcmp(cat.v[i].name, stem))
			return 1;
	}
	return 0;
}

/* Every workflow has its expectation, the catalogue has its size and
 * every node kind of the contract is in it. */
static void test_catalogue_complete(void **state)
{
	(void)state;
	if (!cat.n)
		fail_msg("no case in %s (is QUORUM_SRCDIR set?)", cat.dir);
	static const char *const kinds[] = {
		"generate", "vote", "judge", "synthesize", "rank", "moa", "council",
		"cascade", "route", "plan", "template",
	};
	for (size_t i = 0; i < cat.nyamls; i++) {
		if (!yaml_has_case(cat.yamls[i]))
			fail_msg("%s.yaml has no %s.expect", cat.yamls[i], cat.yamls[i]);
	}
	if (cat.n < 60)
		fail_msg("the catalogue has %zu cases; it promises at least 60", cat.n);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char want[64];
		snprintf(want, sizeof(want), "kind: %s", kinds[k]);
		int found = 0;
		for (size_t i = 0; i < cat.n && !found; i++) {
			char path[1400];
			snprintf(path, sizeof(path), "%s/%s.yaml", cat.dir, cat.v[i].name);
			char *text = cat.v[i].has_yaml ? read_text(path) : NULL;
			found = text && strstr(text, want);
			q_free(text);
		}
		if (!found)
			fail_msg("no case has a node of kind %s", kinds[k]);
	}
}

int main(void)
{
	load_catalogue();
	struct CMUnitTest *tests = q_calloc(cat.n + 1, sizeof(*tests));
	if (!tests)
		return 1;
	tests[0] = (struct CMUnitTest)cmocka_unit_test(test_catalogue_complete);
	for (size_t i = 0; i < cat.n; i++)
		tests[i + 1] = (struct CMUnitTest){cat.v[i].name, run_case, NULL, NULL, &cat.v[i]};
	int rc = _cmocka_run_group_tests("catalogue", tests, cat.n + 1, NULL, NULL);
	q_free(tests);
	free_catalogue();
	return rc;
}
