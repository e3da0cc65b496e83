#ifndef QUORUM_CLI_H
#define QUORUM_CLI_H
/* The quorum command's own pieces, shared by its subcommands. The command
 * is a thin user of include/quorum.h (and, for --sim, of sim/sim.h, which
 * a build with -Dsim=disabled leaves out: QUORUM_SIM is then 0). Nothing
 * of the library includes this. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "quorum.h"

#define NOPTS(v) (sizeof(v) / sizeof(v[0]))

/* ---- cli_common.c ---- */

/* The limits every command takes with --limit. */
extern struct quorum_limits cli_limits;
/* Set by SIGINT, SIGTERM and SIGHUP; the read end of the pipe they write
 * to, which wakes the engine (-1 before cli_install_signals). */
extern volatile sig_atomic_t cli_interrupt;
int cli_wake_fd(void);
/* SIGINT, SIGTERM and SIGHUP end a run like an interrupt; a second one
 * ends the process the usual way. */
void cli_install_signals(void);

/* Whether --help or -h comes before "--". */
int cli_wants_help(int argc, char **argv);
/* After a message: the command's usage line and where the rest is.
 * Returns QUORUM_EXIT_INVALID. */
int cli_usage_tail(const char *usage);
/* "quorum: " fmt (with arg), then the usage tail. Returns 2. */
int cli_fail_usage(const char *usage, const char *fmt, const char *arg);
/* `unknown WHAT 'ARG'`, with the nearest of known. Returns 2. */
int cli_fail_unknown(const char *usage, const char *what, const char *const *known,
		     size_t n, const char *arg);
/* An option the command does not know (or one that lacks its value).
 * Returns 2. */
int cli_fail_option(const char *usage, const char *const *known, size_t n,
		    const char *arg);
/* --limit NAME=VALUE. Returns 0 or an exit status. */
int cli_parse_limit(const char *usage, const char *spec);

/* A whole stream, up to 64 MiB. Returns new (free) with *len, or NULL
 * with errno set (EFBIG past the limit, EISDIR for a directory). */
char *cli_read_all(FILE *f, size_t *len);
/* A file, or standard input for "-". As cli_read_all. */
char *cli_read_path(const char *path, size_t *len);
/* Refuses text that holds a NUL byte, naming what and where. Returns 0 or
 * an exit status. */
int cli_check_text(const char *what, const char *s, size_t n);
/* After writing to stdout: a full disk, a closed stdout or a broken pipe
 * is an error with the reason. Returns 0 or QUORUM_EXIT_FAILED. */
int cli_check_stdout(const char *what);
/* Walks a command's arguments: each option (a word starting with '-'
 * that is not "-" itself, until "--") to option, which may take the next
 * word by moving *i; every other word to operand. Returns the first
 * non-zero either gives, else 0. */
typedef int (*cli_option_fn)(void *ctx, int argc, char **argv, int *i);
typedef int (*cli_operand_fn)(void *ctx, const char *word);
int cli_walk_args(int argc, char **argv, void *ctx, cli_option_fn option,
		  cli_operand_fn operand);
/* Whether two paths name one file (./r and r); as text when either is
 * not there yet. */
int cli_same_file(const char *a, const char *b);
/* Loads a workflow file ("-": standard input), printing every problem.
 * Returns the workflow or NULL. */
struct quorum_workflow *cli_load(const char *path);

/* The simulated provider on a free loopback port: its OpenAI base URL
 * goes to url. Returns the server (cli_sim_stop), or NULL with a message
 * printed. scenario NULL: the built-in one. */
struct mock *cli_sim_start(const char *scenario, char *url, size_t n);
void cli_sim_stop(struct mock *m);
/* Whether this build has the simulator. */
int cli_have_sim(void);

enum color_when { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
/* Colours when asked, or on a terminal that takes them and no NO_COLOR. */
int cli_use_color(enum color_when when, int fd);

/* ---- cli_args.c: what run and batch share ---- */

struct run_args {
	const char *usage;            /* the command's, for messages */
	const char *file, *query, *trace, *sim_scenario, *cache;
	int json, quiet, sim, verbose, insecure, dry_run, use_cache;
	const char *shared;           /* --shared URL, or NULL */
	double shared_budget;         /* --shared-budget USD; 0: none */
	enum color_when color;
	struct quorum_input *inputs;
	size_t ninputs, cap;
	char **owned;         /* input names and values read from files */
	size_t nowned;
	char stdin_for[160];  /* what standard input was read for, or "" */
};

/* Not an option of run_args_option's (the command's own, or unknown). */
#define ARGS_NOT_MINE (-1)

/* One option at argv[*i] that run and batch share (--input, --limit,
 * --sim, --cache, --quiet, --color, --verbose, --insecure), taking its
 * value from the next word when it has one. Returns 0, an exit status,
 * or ARGS_NOT_MINE. */
int run_args_option(struct run_args *a, int argc, char **argv, int *i);
/* Standard input can be read once. Returns 0, or an exit status when it
 * was taken already (for the workflow, the query, an input). */
int run_args_claim_stdin(struct run_args *a, const char *what);
/* Keeps s (malloc'd) to free with the args. Returns s, or NULL when s is
 * NULL or memory ran out (s is then freed). */
char *run_args_own(struct run_args *a, char *s);
/* The options of one run from the args (interrupts and the wake pipe
 * wired; sim_url NULL without --sim). */
void run_args_options(const struct run_args *a, const char *sim_url,
		      struct quorum_options *o);
/* Opens --cache when given. Returns 0, or an exit status with a message. */
int run_args_open_cache(struct run_args *a, struct quorum_cache **cache);
/* A new engine woken by the CLI's signals, connected to --shared (with
 * --shared-budget) when given. NULL with *code an exit status when it
 * cannot be (the message is out: 2 for a Redis that cannot be reached,
 * or --shared-budget without --shared). */
struct quorum_engine *run_args_engine(const struct run_args *a, int *code);
void run_args_release(struct run_args *a);

/* ---- cli_data.c: the JSON Lines batch and eval read ---- */

struct data_reader {
	FILE *f;
	const char *name;     /* for messages: the path, or "<stdin>" */
	long line;            /* lines read */
	long malformed;
	int progress;         /* a progress line is on stderr: clear it first */
	long shard, shards;   /* only lines shard, shard + shards, ... (from 0);
			       * shards 0: every line */
	char *buf;
	size_t cap;
};

/* Opens path for reading ("-" or NULL: stdin) and names it for messages.
 * A folder is refused (fopen takes one and getline then finds nothing):
 * "quorum: cannot read 'P': why" on stderr and QUORUM_EXIT_INVALID. */
int data_open(struct data_reader *r, const char *path);
/* The next line that is not blank, without its newline; NULL at the end.
 * A line with a NUL byte is reported (data_malformed) and skipped.
 * Borrowed until the next call. */
const char *data_next(struct data_reader *r);
/* "quorum: NAME:LINE: why" on stderr; counts the line as malformed. */
void data_malformed(struct data_reader *r, const char *why);
void data_reader_release(struct data_reader *r);

struct data_line {
	cJSON *doc;           /* the parsed line: the strings point into it */
	char *id;             /* JSON text: the line's "id", else its number */
	long line;
	const char *query, *expected, *rubric, *compare;   /* NULL: not given */
	struct quorum_input *inputs;   /* the line's, then base ones it lacks */
	size_t ninputs;
};

/* Parses one line. Returns 0, or -1 with *why saying what is wrong
 * (nothing is then held). */
int data_line_parse(struct data_line *d, const char *text, long line,
		    const struct quorum_input *base, size_t nbase, const char **why);
void data_line_release(struct data_line *d);
/* A run's refusal (quorum_engine_submit's errors, first line) as a line's
 * problem: without "quorum: " or the workflow's path, and without "in
 * --input" (the inputs came from the line). Edits why; returns the text. */
const char *data_run_error(char *why, const char *wf_path);

/* ---- the commands ---- */
int cmd_run(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_router(int argc, char **argv);
int cmd_feedback(int argc, char **argv);
int cmd_bandit(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
