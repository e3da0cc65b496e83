/*
 * quorum-bench-measure: runs a command and writes its wall time, exit
 * status, peak RSS and CPU time as one JSON line.
 *
 *     quorum-bench-measure OUTFILE TIMEOUT_S COMMAND [ARG...]
 *
 * Why not wait4 from the Python runner: Linux keeps a process's peak RSS
 * across exec, and Python's subprocess starts children with vfork, so the
 * child's peak RSS starts at the runner's own (tens of MB). This program is
 * small and forks a fresh process, whose peak is then the command's own.
 * It also kills the command (SIGKILL) after TIMEOUT_S seconds, so a hung
 * run cannot hang the suite.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct measure {
	double wall_s;
	int status;
	int timed_out;
	struct rusage ru;
};

static double measure_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double measure_tv(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Waits for SIGCHLD (blocked by the caller) up to timeout_s, then kills
 * the child if it is still running; returns 0 once the child is reaped. */
static int measure_wait(struct measure *m, pid_t pid, double timeout_s)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	double deadline = measure_now() + timeout_s;
	for (;;) {
		pid_t got = wait4(pid, &m->status, WNOHANG, &m->ru);
		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -1;
		double left = deadline - measure_now();
		if (left <= 0) {
			m->timed_out = 1;
			kill(pid, SIGKILL);
			return wait4(pid, &m->status, 0, &m->ru) == pid ? 0 : -1;
		}
		/* At most a second per wait: a lost SIGCHLD costs a second,
		 * never the whole timeout. */
		if (left > 1.0)
			left = 1.0;
		struct timespec ts = {(time_t)left,
				      (long)((left - (double)(time_t)left) * 1e9)};
		sigtimedwait(&chld, NULL, &ts);
	}
}

static int measure_run(struct measure *m, char **argv, double timeout_s)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	/* Blocked before the fork, so an early exit is not missed. */
	sigprocmask(SIG_BLOCK, &chld, &old);
	double t0 = measure_now();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "quorum-bench-measure: cannot run '%s': %s\n",
			argv[0], strerror(errno));
		_exit(127);
	}
	int rc = measure_wait(m, pid, timeout_s);
	m->wall_s = measure_now() - t0;
	return rc;
}

static int measure_write(const struct measure *m, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int code = WIFEXITED(m->status) ? WEXITSTATUS(m->status)
					: -WTERMSIG(m->status);
	fprintf(f, "{\"wall_s\": %.6f, \"rc\": %d, \"timed_out\": %s, "
		"\"rss_kb\": %ld, \"user_s\": %.6f, \"sys_s\": %.6f, "
		"\"minflt\": %ld, \"majflt\": %ld, \"nvcsw\": %ld, "
		"\"nivcsw\": %ld}\n",
		m->wall_s, code, m->timed_out ? "true" : "false",
		m->ru.ru_maxrss, measure_tv(m->ru.ru_utime),
		measure_tv(m->ru.ru_stime), m->ru.ru_minflt, m->ru.ru_majflt,
		m->ru.ru_nvcsw, m->ru.ru_nivcsw);
	return fclose(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct measure m;
	memset(&m, 0, sizeof(m));
	if (argc < 4) {
		fprintf(stderr, "usage: quorum-bench-measure OUTFILE TIMEOUT_S "
			"COMMAND [ARG...]\n");
		return 2;
	}
	double timeout_s = strtod(argv[2], NULL);
	if (measure_run(&m, argv + 3, timeout_s > 0 ? timeout_s : 600)) {
		fprintf(stderr, "quorum-bench-measure: %s\n", strerror(errno));
		return 2;
	}
	if (measure_write(&m, argv[1])) {
		fprintf(stderr, "quorum-bench-measure: cannot write '%s': %s\n",
			argv[1], strerror(errno));
		return 2;
	}
	return 0;
}
