/* quorum batch: one workflow over every line of a JSON Lines file, runs
 * in parallel on one engine (so per-model limits hold across them), one
 * report per line out, as each run ends. --resume continues a batch that
 * stopped; SIGINT lets the runs in flight end as interrupted, and a line
 * is never left half written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../common/clock.h"
#include "../common/fileio.h"
#include "../common/strset.h"
#include "cli.h"

static const char usage_batch[] =
	"usage: quorum batch FILE [--in QUERIES] [--out REPORTS] [options]\n"
	"\n"
	"Runs the workflow once per line of QUERIES (JSON Lines; default standard\n"
	"input): a line is {\"id\": ..., \"query\": \"...\", \"inputs\": {...}} or a bare\n"
	"JSON string (the query). Each run's report goes to REPORTS (default\n"
	"standard output) as one line, with the line's id (its line number when it\n"
	"has none), in the order the runs end.\n"
	"\n"
	"  --in FILE            the queries (- : standard input)\n"
	"  --out FILE           the reports (- : standard output)\n"
	"  --parallel N         runs in flight at once (default 16)\n"
	"  --shard I/N          only lines I, I+N, I+2N, ... (I from 0): one of N\n"
	"                       machines' share; ids stay the whole file's\n"
	"  --resume FILE        skip the ids FILE already has a report for (not\n"
	"                       interrupted ones); with --out FILE, appends to it\n"
	"  --input NAME=VALUE   an input every run gets (a line's own inputs win)\n"
	"  --sim[=SCENARIO]     run against the bundled simulated provider\n"
	"  --cache[=PATH]       answer from the response cache where it can\n"
	"  --shared URL         share limits, breakers and the cache with other\n"
	"                       quorum processes through Redis (see 'quorum run\n"
	"                       --help'); --shared-budget USD: one spending limit\n"
	"  --limit NAME=VALUE   change a limit (see 'quorum run --help')\n"
	"  --quiet              no progress bar on standard error\n"
	"  --color WHEN, --verbose, --insecure   as for run\n"
	"\n"
	"A malformed line is reported with its line number and skipped. SIGINT\n"
	"interrupts the runs in flight (their reports say interrupted, and\n"
	"--resume runs them again) and starts no more. Exit status: 0 every run produced its output, 1 a run failed or a\n"
	"line was malformed, 2 the command line or the file is invalid, 130\n"
	"interrupted.\n";

static const char *const batch_opts[] = {
	"--in", "--out", "--parallel", "--shard", "--resume", "--input", "--sim", "--cache", "--limit",
	"--quiet", "--color", "--verbose", "--insecure", "--shared", "--shared-budget", "--help",
};

#define PARALLEL_DEFAULT 16
#define PARALLEL_MAX 100000

struct batch;

/* One line's run. */
struct job {
	struct batch *b;
	struct data_line d;
	struct quorum_options opts;
};

struct batch {
	struct run_args a;
	const char *in_path, *out_path, *resume_path;
	long parallel;
	long shard, shards;           /* --shard I/N: lines I, I+N, ... (from 0) */
	struct quorum_workflow *wf;
	struct quorum_engine *engine;
	struct quorum_cache *cache;
	struct mock *sim;
	char sim_url[64];
	struct data_reader in;
	FILE *out;
	long total;                   /* lines in the input, when it is a file; -1 */
	struct strset done;           /* ids resume skips */
	struct strset seen;           /* the input's ids, with their lines */
	long in_flight, finished, failed, skipped, interrupted;
	long calls;
	double cost;
	int64_t t0, last_draw;
	int progress, write_error;
};

/* ---- the command line ---- */

static int parse_long(const char *opt, const char *v, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || *end || !*v || x < min || x > max) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s wants a whole number from %ld to %ld, got '%%s'",
			 opt, min, max);
		return cli_fail_usage(usage_batch, msg, v);
	}
	*out = x;
	return 0;
}

/* --shard I/N, I from 0 to N - 1 (Kubernetes' JOB_COMPLETION_INDEX). */
static int parse_shard(struct batch *b, const char *v)
{
	char *end;
	errno = 0;
	long i = strtol(v, &end, 10), n = 0;
	if (!errno && end != v && *end == '/' && end[1]) {
		const char *d = end + 1;
		n = strtol(d, &end, 10);
		if (errno || *end || end == d)
			n = 0;
	}
	if (n < 1 || n > PARALLEL_MAX || i < 0 || i >= n)
		return cli_fail_usage(usage_batch, "--shard wants I/N with 0 <= I < N (as in "
				      "--shard 0/4), got '%s'", v);
	b->shard = i;
	b->shards = n;
	return 0;
}

static int batch_value(struct batch *b, const char *opt, const char *v)
{
	if (!strcmp(opt, "--in"))
		b->in_path = v;
	else if (!strcmp(opt, "--out"))
		b->out_path = v;
	else if (!strcmp(opt, "--resume"))
		b->resume_path = v;
	else if (!strcmp(opt, "--shard"))
		return parse_shard(b, v);
	else
		return parse_long("--parallel", v, 1, PARALLEL_MAX, &b->parallel);
	return 0;
}

static int batch_option(void *ctx, int argc, char **argv, int *i)
{
	struct batch *b = ctx;
	int rc = run_args_option(&b->a, argc, argv, i);
	if (rc != ARGS_NOT_MINE)
		return rc;
	static const char *const with_value[] = {"--in", "--out", "--resume", "--parallel",
						 "--shard"};
	const char *s = argv[*i];
	for (size_t k = 0; k < NOPTS(with_value); k++) {
		size_t n = strlen(with_value[k]);
		if (!strcmp(s, with_value[k]) && *i + 1 < argc)
			return batch_value(b, with_value[k], argv[++*i]);
		if (!strncmp(s, with_value[k], n) && s[n] == '=')
			return batch_value(b, with_value[k], s + n + 1);
	}
	return cli_fail_option(usage_batch, batch_opts, NOPTS(batch_opts), s);
}

static int batch_operand(void *ctx, const char *s)
{
	struct batch *b = ctx;
	if (b->a.file)
		return cli_fail_usage(usage_batch, "unexpected argument '%s' (one FILE; the "
				      "queries come with --in)", s);
	b->a.file = s;
	return 0;
}

static int batch_args(struct batch *b, int argc, char **argv)
{
	int rc = cli_walk_args(argc, argv, b, batch_option, batch_operand);
	if (rc)
		return rc;
	if (!b->a.file)
		return cli_fail_usage(usage_batch, "batch needs a workflow FILE%s", "");
	if (!strcmp(b->a.file, "-"))
		return cli_fail_usage(usage_batch, "the workflow cannot come from standard input "
				      "in a batch (the queries may); name a FILE%s", "");
	return 0;
}

/* ---- resume: the ids already done ---- */

/* The id of a report line, as JSON text, when the run it records ended
 * (not interrupted); NULL otherwise. */
static char *done_id(const char *line)
{
	cJSON *rep = cJSON_Parse(line);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rep, "id");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(rep, "status");
	char *text = NULL;
	if (id && cJSON_IsString(st) && strcmp(st->valuestring, "interrupted"))
		text = cJSON_PrintUnformatted(id);
	cJSON_Delete(rep);
	return text;
}

/* partial_goes: the file is --out too, whose last line, when it lacks its
 * newline, is cut off before appending (trim_partial_line): that line's
 * run then never happened, even if what is left of it parses. */
static int read_resume(struct batch *b, int partial_goes)
{
	FILE *f = file_open_read(b->resume_path, "r");
	if (!f && errno == ENOENT)
		return 0; /* nothing done yet */
	if (!f) {
		fprintf(stderr, "quorum: cannot read '%s' for --resume: %s\n", b->resume_path,
			strerror(errno));
		return QUORUM_EXIT_INVALID;
	}
	char *line = NULL;
	size_t lcap = 0;
	ssize_t n;
	int oom = 0;
	while ((n = getline(&line, &lcap, f)) > 0) {
		if (partial_goes && line[n - 1] != '\n')
			break;
		char *id = done_id(line);
		oom |= id && strset_add(&b->done, id, 0, NULL) < 0;
		cJSON_free(id);
	}
	int failed = ferror(f) ? errno : oom ? ENOMEM : 0;
	free(line);
	fclose(f);
	if (failed) {
		/* A folder, or a disk error: skipping nothing would run (and pay
		 * for) what may be done already. */
		fprintf(stderr, "quorum: cannot read '%s' for --resume: %s\n", b->resume_path,
			strerror(failed));
		return QUORUM_EXIT_INVALID;
	}
	return 0;
}

/* A report file an earlier batch was killed writing may end in half a
 * line: that part goes, so the next line starts clean. */
static int trim_partial_line(const char *path)
{
	FILE *f = fopen(path, "r+");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	long keep = 0, pos = 0;
	int c;
	while ((c = fgetc(f)) != EOF) {
		pos++;
		if (c == '\n')
			keep = pos;
	}
	int rc = keep < pos ? ftruncate(fileno(f), keep) : 0;
	fclose(f);
	return rc;
}

/* ---- the files ---- */

/* The lines of this shard that are not blank: what the progress bar
 * counts to. */
static long count_lines(const char *path, long shard, long shards)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long n = 0, line = 0;
	int c, blank = 1;
	while ((c = fgetc(f)) != EOF) {
		if (c == '\n') {
			n += !blank && line % shards == shard;
			line++;
			blank = 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			blank = 0;
		}
	}
	n += !blank && line % shards == shard;
	fclose(f);
	return n;
}

static int open_files(struct batch *b)
{
	if (data_open(&b->in, b->in_path))
		return QUORUM_EXIT_INVALID;
	b->total = b->in.f == stdin ? -1 : count_lines(b->in_path, b->shard, b->shards);
	if (!b->out_path || !strcmp(b->out_path, "-")) {
		b->out = stdout;
		return 0;
	}
	/* "w" would empty the queries before the first is read. */
	if (b->in.f != stdin && cli_same_file(b->in_path, b->out_path)) {
		fprintf(stderr, "quorum: --out '%s' is the --in file: the reports would "
			"overwrite the queries\n", b->out_path);
		return QUORUM_EXIT_INVALID;
	}
	int append = b->resume_path && cli_same_file(b->resume_path, b->out_path);
	if ((append && trim_partial_line(b->out_path)) ||
	    !(b->out = fopen(b->out_path, append ? "a" : "w"))) {
		fprintf(stderr, "quorum: cannot write '%s': %s\n", b->out_path, strerror(errno));
		return QUORUM_EXIT_INVALID;
	}
	return 0;
}

/* ---- progress ---- */

static void draw(struct batch *b, int force)
{
	if (!b->progress)
		return;
	int64_t now = clock_ms();
	if (!force && now - b->last_draw < 100)
		return;
	b->last_draw = now;
	long done = b->finished + b->skipped + b->in.malformed;
	fprintf(stderr, "\r\033[Kquorum: batch %ld", done);
	if (b->total >= 0)
		fprintf(stderr, "/%ld", b->total);
	fprintf(stderr, " done, %ld failed, %ld running, %ld calls, $%.4f", b->failed,
		b->in_flight, b->calls, b->cost);
	if (b->total > 0 && b->finished > 0 && done < b->total) {
		double per = (double)(now - b->t0) / (double)b->finished;
		double eta = per * (double)(b->total - done) / 1000.0;
		fprintf(stderr, ", ETA %.0fs", eta);
	}
	fflush(stderr);
}

/* ---- the runs ---- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	data_line_release(&j->d);
	free(j);
}

/* write(2) until all n bytes are out. SIGINT comes without SA_RESTART,
 * so a write blocked on a full pipe returns short or fails with EINTR;
 * stdio would give up there, half a line out and the rest lost. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? errno : EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One line out: {"id": ID, ...the report...}, written at once. After a
 * failed write nothing more goes out: it would follow half a line. */
static void write_report(struct batch *b, const struct job *j, const char *json)
{
	if (b->write_error)
		return;
	size_t idlen = strlen(j->d.id), n = strlen(json);
	size_t len = 7 + idlen + 1 + (n ? n - 1 : 0) + 1;
	char *line = malloc(len + 1);
	if (!line) {
		b->write_error = ENOMEM;
		return;
	}
	int k = snprintf(line, len + 1, "{\"id\":%s,", j->d.id);
	memcpy(line + k, json + 1, n - 1);
	line[k + n - 1] = '\n';
	b->write_error = write_all(fileno(b->out), line, (size_t)k + n);
	free(line);
}

static void submit_more(struct batch *b);

static void job_done(struct quorum_report *rep, const char *error, void *ctx)
{
	struct job *j = ctx;
	struct batch *b = j->b;
	b->in_flight--;
	b->finished++;
	if (!rep) {
		fprintf(stderr, "%squorum: %s:%ld: %s", b->progress ? "\r\033[K" : "", b->in.name,
			j->d.line, error ? error : "the run could not start\n");
		b->failed++;
	} else {
		struct quorum_usage u;
		quorum_report_usage(rep, &u);
		b->calls += u.calls;
		b->cost += u.cost_usd;
		const char *st = quorum_report_status(rep);
		b->interrupted += !strcmp(st, "interrupted");
		b->failed += quorum_report_exit_code(rep) == QUORUM_EXIT_FAILED;
		write_report(b, j, quorum_report_json(rep));
		quorum_report_free(rep);
	}
	job_free(j);
	draw(b, 0);
	submit_more(b);
}

/* Reads a line into a job. Returns NULL with *why set when it is not one. */
static struct job *job_parse(struct batch *b, const char *text, const char **why)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		*why = "out of memory";
		return NULL;
	}
	if (data_line_parse(&j->d, text, b->in.line, b->a.inputs, b->a.ninputs, why)) {
		free(j);
		return NULL;
	}
	j->b = b;
	run_args_options(&b->a, b->a.sim ? b->sim_url : NULL, &j->opts);
	j->opts.query = j->d.query;
	j->opts.inputs = j->d.inputs;
	j->opts.ninputs = j->d.ninputs;
	j->opts.progress = NULL;
	j->opts.cache = b->cache;
	return j;
}

/* Why j's id cannot be its own, or NULL: a second line with an id would
 * give two reports no one could tell apart (and --resume would take the
 * first one's report for the second's). */
static const char *repeated_id(struct batch *b, const struct job *j)
{
	static char msg[96];
	long was = 0;
	int rc = strset_add(&b->seen, j->d.id, b->in.line, &was);
	if (rc < 0)
		return "out of memory";
	if (rc)
		return NULL;
	snprintf(msg, sizeof(msg), "the id of line %ld again (each line needs its own id)", was);
	return msg;
}

/* The next line that is a run to start, or NULL at the end. */
static struct job *next_job(struct batch *b)
{
	const char *text;
	while ((text = data_next(&b->in))) {
		const char *why = NULL;
		struct job *j = job_parse(b, text, &why);
		if (!j || (why = repeated_id(b, j))) {
			data_malformed(&b->in, why);
			job_free(j);
			continue;
		}
		if (!strset_has(&b->done, j->d.id))
			return j;
		b->skipped++;
		job_free(j);
	}
	return NULL;
}

static void submit_more(struct batch *b)
{
	while (!cli_interrupt && !b->write_error && b->in_flight < b->parallel) {
		struct job *j = next_job(b);
		if (!j)
			return;
		char *errors = NULL;
		if (quorum_engine_submit(b->engine, b->wf, &j->opts, job_done, j, &errors)) {
			char why[512];
			snprintf(why, sizeof(why), "%s", errors ? errors : "the run cannot start\n");
			data_malformed(&b->in, data_run_error(why, b->a.file));
			quorum_free(errors);
			job_free(j);
			continue;
		}
		b->in_flight++;
	}
}

static int batch_run(struct batch *b)
{
	int code;
	if (!(b->engine = run_args_engine(&b->a, &code)))
		return code;
	/* The files last: a batch refused before this leaves --out as it was. */
	if ((code = open_files(b))) {
		quorum_engine_free(b->engine);
		b->engine = NULL;
		return code;
	}
	b->t0 = clock_ms();
	b->progress = !b->a.quiet && isatty(STDERR_FILENO);
	b->in.progress = b->progress;
	b->in.shard = b->shard;
	b->in.shards = b->shards;
	submit_more(b);
	quorum_engine_run(b->engine, -1);
	quorum_engine_free(b->engine);
	b->engine = NULL;
	draw(b, 1);
	if (b->progress)
		fputc('\n', stderr);
	if (b->write_error) {
		fprintf(stderr, "quorum: cannot write the reports to %s: %s\n",
			b->out == stdout ? "standard output" : b->out_path, strerror(b->write_error));
		return QUORUM_EXIT_FAILED;
	}
	if (!b->a.quiet && (b->in.malformed || b->failed || b->skipped))
		fprintf(stderr, "quorum: batch: %ld runs, %ld failed, %ld lines malformed, %ld "
			"skipped (already in the reports)\n", b->finished, b->failed,
			b->in.malformed, b->skipped);
	if (cli_interrupt || b->interrupted)
		return QUORUM_EXIT_INTERRUPTED;
	return b->failed || b->in.malformed ? QUORUM_EXIT_FAILED : QUORUM_EXIT_OK;
}

static void batch_release(struct batch *b)
{
	data_reader_release(&b->in);
	if (b->out && b->out != stdout)
		fclose(b->out);
	strset_release(&b->done);
	strset_release(&b->seen);
	quorum_cache_close(b->cache);
	cli_sim_stop(b->sim);
	quorum_workflow_free(b->wf);
	run_args_release(&b->a);
}

int cmd_batch(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_batch, stdout);
		return cli_check_stdout("the usage");
	}
	struct batch b = {.a = {.usage = usage_batch}, .parallel = PARALLEL_DEFAULT,
			  .shards = 1};
	int code = batch_args(&b, argc, argv);
	if (code)
		goto out;
	code = QUORUM_EXIT_INVALID;
	int resume_is_out = b.resume_path && b.out_path && cli_same_file(b.resume_path, b.out_path);
	if (!(b.wf = cli_load(b.a.file)) || (b.resume_path && read_resume(&b, resume_is_out)) ||
	    run_args_open_cache(&b.a, &b.cache))
		goto out;
	if (b.a.sim && !(b.sim = cli_sim_start(b.a.sim_scenario, b.sim_url, sizeof(b.sim_url))))
		goto out;
	cli_install_signals();
	code = batch_run(&b);
out:
	batch_release(&b);
	return code;
}
