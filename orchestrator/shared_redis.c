/* The shared state in Redis (shared.h), over hiredis.
 *
 * One connection, one round trip per operation, each answered within a
 * deadline however the server sends its bytes (exchange): starting calls costs one EVALSHA (the breaker and the rpm
 * window in one Lua script) for as many starts as a model's queue can
 * use at once, a failure one more, a success one more only when the
 * breaker had counted failures. On loopback that is tens of
 * microseconds, small beside an HTTP call; an async adapter on the loop
 * would make every start wait for a reply, for little gain.
 *
 * Redis's clock (TIME inside the scripts) times the rpm window and the
 * breaker, so processes on machines whose clocks differ agree. */
#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "shared.h"

#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 500
/* Once lost, Redis is tried again after 250 ms, then twice as long each
 * time up to 30 s; each try may hold the loop for RECONNECT_TIMEOUT_MS
 * (a refused connection costs microseconds, a silent host that long). */
#define RECONNECT_FIRST_MS 250
#define RECONNECT_MAX_MS 30000
#define RECONNECT_TIMEOUT_MS 100
#define BUDGET_KEY "quorum:budget"
/* The most one reply may bring (a cache entry is an answer, far less):
 * a server that sends more is given up, not given our memory. */
#define REPLY_MAX_BYTES (64L << 20)
/* The most elements an array reply may announce: ours have three. */
#define REPLY_MAX_ELEMENTS 1024

/* Redis's time in ms, as every script reads it. */
#define LUA_NOW                                                                     \
	"local t = redis.call('TIME')\n"                                            \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* KEYS: rpm log (sorted set), breaker (hash). ARGV: rpm, window ms, a
 * unique member prefix, threshold, cooldown ms, slots wanted. The window
 * first: a call the window holds back must not take the breaker's probe.
 * Returns {0, fails, granted} go (granted slots logged, at least 1),
 * {1, ms} wait, {2, ms} broken. */
static const char lua_admit[] = LUA_NOW
	"local rpm, window = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"local want = tonumber(ARGV[6])\n"
	"if rpm > 0 then\n"
	"  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)\n"
	"  local free = rpm - redis.call('ZCARD', KEYS[1])\n"
	"  if free <= 0 then\n"
	"    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
	"    local wait = tonumber(first[2]) + window - now\n"
	"    if wait < 1 then wait = 1 end\n"
	"    return {1, wait}\n"
	"  end\n"
	"  if want > free then want = free end\n"
	"end\n"
	"local fails = tonumber(redis.call('HGET', KEYS[2], 'fails') or '0')\n"
	"if fails >= tonumber(ARGV[4]) then\n"
	"  local open_until = tonumber(redis.call('HGET', KEYS[2], 'until') or '0')\n"
	"  if now < open_until then return {2, open_until - now} end\n"
	"  redis.call('HSET', KEYS[2], 'until', now + tonumber(ARGV[5]))\n"
	"  want = 1\n"
	"end\n"
	"if rpm > 0 then\n"
	"  for i = 1, want do\n"
	"    redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. i)\n"
	"  end\n"
	"  redis.call('PEXPIRE', KEYS[1], window)\n"
	"end\n"
	"return {0, fails, want}\n";

/* KEYS: breaker. ARGV: ok, threshold, cooldown ms, ttl ms, why. The
 * streak's first failure is kept: what a call it skips, anywhere, says. */
static const char lua_breaker[] = LUA_NOW
	"if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) return 0 end\n"
	"local f = redis.call('HINCRBY', KEYS[1], 'fails', 1)\n"
	"if f == 1 then redis.call('HSET', KEYS[1], 'why', ARGV[5]) end\n"
	"if f >= tonumber(ARGV[2]) then\n"
	"  redis.call('HSET', KEYS[1], 'until', now + tonumber(ARGV[3]))\n"
	"end\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
	"return f\n";

/* KEYS: budget (hash of spent, held). ARGV: limit, worst. 1 fits. */
static const char lua_reserve[] =
	"local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')\n"
	"local held = tonumber(redis.call('HGET', KEYS[1], 'held') or '0')\n"
	"if spent + held + tonumber(ARGV[2]) > tonumber(ARGV[1]) * (1 + 1e-9) then\n"
	"  return 0\n"
	"end\n"
	"redis.call('HINCRBYFLOAT', KEYS[1], 'held', ARGV[2])\n"
	"return 1\n";

/* KEYS: budget. ARGV: minus what was held, what it cost. */
static const char lua_settle[] =
	"local held = tonumber(redis.call('HINCRBYFLOAT', KEYS[1], 'held', ARGV[1]))\n"
	"if held < 1e-12 then redis.call('HSET', KEYS[1], 'held', '0') end\n"
	"if tonumber(ARGV[2]) > 0 then\n"
	"  redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[2])\n"
	"end\n"
	"return 1\n";

enum { S_ADMIT, S_BREAKER, S_RESERVE, S_SETTLE, NSCRIPTS };
static const char *const scripts[NSCRIPTS] = {lua_admit, lua_breaker, lua_reserve,
					      lua_settle};

struct shared {
	redisContext *c;              /* NULL while lost */
	struct shared_url url;
	char lost[256];               /* "" while Redis answers */
	int64_t retry_at;             /* while lost: when to try Redis again */
	int64_t retry_gap;            /* and the wait after that try fails */
	char sha[NSCRIPTS][48];       /* SCRIPT LOAD's digests */
	char member[48];              /* this process's part of rpm log members */
	unsigned long long seq;
	int64_t back_at;              /* when Redis last came back (0: never lost) */
};

int shared_available(void) { return 1; }

const char *shared_shown(const struct shared *s) { return s->url.shown; }

const char *shared_lost(const struct shared *s) { return s->lost[0] ? s->lost : NULL; }

/* hiredis's (or the server's) words, as quorum writes messages: lower
 * case, a timeout called one, and no byte that would move the cursor
 * or start a line of its own on a terminal. */
static void say_why(char *out, size_t n, const char *why)
{
	if (why && !strncmp(why, "ERR ", 4))
		why += 4;
	if (why && (strstr(why, "temporarily unavailable") || strstr(why, "timed out")))
		snprintf(out, n, "no answer within %d ms", COMMAND_TIMEOUT_MS);
	else
		snprintf(out, n, "%s", why && *why ? why : "connection lost");
	if (*out && isupper((unsigned char)*out) && !isupper((unsigned char)out[1]))
		*out = (char)tolower((unsigned char)*out);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* Whether q[0..n) may give the password away: it holds it, or it is its
 * start (a server quoting AUTH's arguments back cuts them). */
static int shows_password(const char *q, size_t n, const char *pw)
{
	size_t pn = strlen(pw);
	if (!n || !pn)
		return 0;
	if (n <= pn)
		return !strncmp(q, pw, n);
	for (size_t i = 0; i + pn <= n; i++)
		if (!memcmp(q + i, pw, pn))
			return 1;
	return 0;
}

/* A server's message (msg, n bytes) with every quoted part that may
 * give the password away, and the password wherever it appears, written
 * as "***". */
static void redact(char *msg, size_t n, const char *pw)
{
	if (!*pw)
		return;
	char out[512];
	size_t o = 0;
	for (const char *p = msg; *p && o < sizeof(out) - 8;) {
		const char *close = (*p == '\'' || *p == '`') ? strchr(p + 1, *p) : NULL;
		size_t plain = strlen(pw);
		if (close && shows_password(p + 1, (size_t)(close - p - 1), pw)) {
			out[o++] = *p;
			memcpy(out + o, "***", 3);
			o += 3;
			p = close;
		} else if (!strncmp(p, pw, plain)) {
			memcpy(out + o, "***", 3);
			o += 3;
			p += plain;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
	/* A quote left open runs to the end: its rest may be the password's
	 * start. */
	for (char *q = out; *q; q++) {
		char *close = (*q == '\'' || *q == '`') ? strchr(q + 1, *q) : NULL;
		if (close) {
			q = close;
			continue;
		}
		if ((*q == '\'' || *q == '`') && shows_password(q + 1, strlen(q + 1), pw))
			snprintf(q + 1, sizeof(out) - (size_t)(q + 1 - out), "***");
	}
	size_t k = strnlen(out, n - 1);
	memcpy(msg, out, k);
	msg[k] = '\0';
}

/* Gives Redis up until a later try finds it again (shared_up): every
 * operation until then answers "lost", and the callers keep their state
 * in-process. Said once on standard error. Lost again soon after it came
 * back (a server that answers the handshake and fails every script), it
 * is tried less and less often, not every 250 ms for ever. */
static void give_up(struct shared *s, const char *why)
{
	/* why may be the context's own errstr: read before the free. */
	if (!s->lost[0]) {
		int64_t now = clock_ms();
		say_why(s->lost, sizeof(s->lost), why);
		if (s->back_at && now - s->back_at < RECONNECT_MAX_MS)
			s->retry_gap = s->retry_gap * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS
									  : s->retry_gap * 2;
		else
			s->retry_gap = RECONNECT_FIRST_MS;
		s->retry_at = now + s->retry_gap;
		fprintf(stderr, "quorum: --shared %s: lost (%s); rpm, breaker, budget and cache "
			"are this process's own until it answers again\n", s->url.shown, s->lost);
	}
	if (s->c)
		redisFree(s->c);
	s->c = NULL;
}

/* Waits until c's socket is ready for ev, at most until deadline. */
static int wait_fd(redisContext *c, short ev, int64_t deadline, char *why, size_t n)
{
	for (;;) {
		int64_t left = deadline - clock_ms();
		struct pollfd p = {c->fd, ev, 0};
		int k = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (k > 0)
			return 0;
		if (k < 0 && errno == EINTR)
			continue;
		snprintf(why, n, k < 0 ? "connection lost" : "timed out");
		return -1;
	}
}

/* Sends what was appended to c and reads nout replies into out, all by
 * deadline (clock_ms), at most REPLY_MAX_BYTES: a server that answers a
 * byte at a time holds the loop no longer than that. A reply followed
 * by bytes not asked for puts the connection out of step: refused, as
 * the next command would read them as its answer. Returns 0, or -1 with
 * why (n bytes) and nothing in out. */
static int exchange(redisContext *c, redisReply **out, int nout, int64_t deadline, char *why,
		    size_t n)
{
	int got = 0, done = 0;
	long bytes = 0;
	while (!done) {
		if (wait_fd(c, POLLOUT, deadline, why, n))
			goto fail;
		if (redisBufferWrite(c, &done) == REDIS_ERR)
			goto fail_c;
	}
	while (got < nout) {
		void *r = NULL;
		if (redisGetReplyFromReader(c, &r) == REDIS_ERR)
			goto fail_c;
		if (r) {
			out[got++] = r;
			continue;
		}
		if (wait_fd(c, POLLIN, deadline, why, n))
			goto fail;
		size_t before = c->reader->len;
		if (redisBufferRead(c) == REDIS_ERR)
			goto fail_c;
		bytes += (long)(c->reader->len - before);
		if (bytes > REPLY_MAX_BYTES) {
			snprintf(why, n, "a reply of more than %ld MiB", REPLY_MAX_BYTES >> 20);
			goto fail;
		}
	}
	if (c->reader->pos < c->reader->len) {
		snprintf(why, n, "more was answered than was asked");
		goto fail;
	}
	return 0;
fail_c:
	snprintf(why, n, "%s", c->errstr);
fail:
	while (got)
		freeReplyObject(out[--got]);
	return -1;
}

/* hiredis makes an array as long as the server says before any of its
 * elements come: a server that announces two billion gets an error, not
 * 16 GB of our memory. */
static redisReplyObjectFunctions reply_fns;
static void *(*default_create_array)(const redisReadTask *, int);

static void *create_array(const redisReadTask *task, int elements)
{
	if (elements > REPLY_MAX_ELEMENTS)
		return NULL;
	return default_create_array(task, elements);
}

/* Makes c's socket non-blocking (a write to a server that reads nothing
 * waits in exchange, by its deadline) and bounds its arrays. */
static void tune(redisContext *c)
{
	int fl = fcntl(c->fd, F_GETFL);
	if (fl >= 0)
		fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	if (!default_create_array) {
		reply_fns = *c->reader->fn;
		default_create_array = reply_fns.createArray;
		reply_fns.createArray = create_array;
	}
	c->reader->fn = &reply_fns;
}

static int connect_to(struct shared *s, int timeout_ms, char *err, size_t n);

/* One command, answered within COMMAND_TIMEOUT_MS. Returns the reply
 * (freeReplyObject), or NULL when Redis is lost; an error reply is
 * returned to the caller to judge. */
static redisReply *command(struct shared *s, int argc, const char **argv, const size_t *lens)
{
	if (!shared_up(s))
		return NULL;
	redisReply *r = NULL;
	char why[160];
	if (redisAppendCommandArgv(s->c, argc, argv, lens) != REDIS_OK) {
		give_up(s, s->c->errstr);
		return NULL;
	}
	if (exchange(s->c, &r, 1, clock_ms() + COMMAND_TIMEOUT_MS, why, sizeof(why))) {
		give_up(s, why);
		return NULL;
	}
	return r;
}

/* A reply that is none of the shapes asked for: Redis is given up (the
 * server is not Redis, or another program wrote our keys), said once. */
static void unexpected(struct shared *s, const char *what)
{
	char why[96];
	snprintf(why, sizeof(why), "%s answered something unexpected", what);
	give_up(s, why);
}

/* Runs script `which` with args[0..n) (keys first). After a Redis
 * restart or SCRIPT FLUSH its digest is unknown: sent whole, once. Any
 * other error gives Redis up. Returns the reply, or NULL when lost. */
static redisReply *script(struct shared *s, int which, const char *nkeys, int n,
			  const char *const *args)
{
	const char *argv[12];
	size_t lens[12];
	argv[0] = "EVALSHA";
	argv[1] = s->sha[which];
	argv[2] = nkeys;
	for (int i = 0; i < n; i++)
		argv[3 + i] = args[i];
	for (int i = 0; i < n + 3; i++)
		lens[i] = strlen(argv[i]);
	redisReply *r = command(s, n + 3, argv, lens);
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
		freeReplyObject(r);
		argv[0] = "EVAL";
		argv[1] = scripts[which];
		lens[0] = 4;
		lens[1] = strlen(argv[1]);
		r = command(s, n + 3, argv, lens);
	}
	if (r && r->type == REDIS_REPLY_ERROR) {
		give_up(s, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* The connection, AUTH, SELECT, PING and the scripts' SCRIPT LOAD, sent
 * at once (one round trip), all within timeout_ms. Returns 0, or -1
 * with why in err (never the password, even where the server quotes
 * AUTH's arguments back) and no connection. */
static int connect_to(struct shared *s, int timeout_ms, char *err, size_t n)
{
	int64_t deadline = clock_ms() + timeout_ms;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	const struct shared_url *u = &s->url;
	s->c = u->path[0] ? redisConnectUnixWithTimeout(u->path, tv)
			  : redisConnectWithTimeout(u->host, u->port, tv);
	char why[320];
	redisReply *r[3 + NSCRIPTS] = {NULL};
	int nr = 0;
	if (!s->c || s->c->err) {
		say_why(why, sizeof(why), s->c ? s->c->errstr : "out of memory");
		goto fail;
	}
	tune(s->c);
	char db[16];
	snprintf(db, sizeof(db), "%d", u->db);
	const char *auth[] = {"AUTH", u->user, u->password};
	const char *auth1[] = {"AUTH", u->password};
	const char *sel[] = {"SELECT", db};
	const char *ping[] = {"PING"};
	int ok = 1;
	if (u->password[0]) {
		ok &= u->user[0] ? redisAppendCommandArgv(s->c, 3, auth, NULL) == REDIS_OK
				 : redisAppendCommandArgv(s->c, 2, auth1, NULL) == REDIS_OK;
		nr++;
	}
	if (u->db) {
		ok &= redisAppendCommandArgv(s->c, 2, sel, NULL) == REDIS_OK;
		nr++;
	}
	ok &= redisAppendCommandArgv(s->c, 1, ping, NULL) == REDIS_OK;
	nr++;
	int first_script = nr;
	for (int i = 0; i < NSCRIPTS; i++) {
		const char *load[] = {"SCRIPT", "LOAD", scripts[i]};
		ok &= redisAppendCommandArgv(s->c, 3, load, NULL) == REDIS_OK;
		nr++;
	}
	if (!ok) {
		say_why(why, sizeof(why), s->c->errstr);
		goto fail;
	}
	/* The handshake has COMMAND_TIMEOUT_MS, and a try no more than
	 * its timeout_ms in all. */
	int64_t by = clock_ms() + COMMAND_TIMEOUT_MS;
	char io[160];
	if (exchange(s->c, r, nr, by < deadline ? by : deadline, io, sizeof(io))) {
		say_why(why, sizeof(why), io);
		nr = 0;
		goto fail;
	}
	/* The first refusal says why: after a failed AUTH the rest answer
	 * NOAUTH, which says less. */
	for (int i = 0; i < nr; i++) {
		if (r[i]->type == REDIS_REPLY_ERROR) {
			say_why(why, sizeof(why), r[i]->str);
			goto fail;
		}
		if (i >= first_script &&
		    (r[i]->type != REDIS_REPLY_STRING || !r[i]->len ||
		     r[i]->len >= sizeof(s->sha[0]))) {
			say_why(why, sizeof(why), "SCRIPT LOAD gave no digest");
			goto fail;
		}
	}
	for (int i = 0; i < NSCRIPTS; i++) {
		memcpy(s->sha[i], r[first_script + i]->str, r[first_script + i]->len);
		s->sha[i][r[first_script + i]->len] = '\0';
	}
	for (int i = 0; i < nr; i++)
		freeReplyObject(r[i]);
	return 0;
fail:
	for (int i = 0; i < nr; i++)
		freeReplyObject(r[i]);
	redact(why, sizeof(why), u->password);
	snprintf(err, n, "%s: %s", u->shown, why);
	if (s->c)
		redisFree(s->c);
	s->c = NULL;
	return -1;
}

struct shared *shared_open(const char *url, char *err, size_t n)
{
	struct shared *s = q_malloc(sizeof(*s));
	if (!s) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	if (shared_url_parse(&s->url, url, err, n) || connect_to(s, CONNECT_TIMEOUT_MS, err, n)) {
		shared_free(s);
		return NULL;
	}
	struct timeval now;
	gettimeofday(&now, NULL);
	snprintf(s->member, sizeof(s->member), "%ld-%lx", (long)getpid(),
		 (unsigned long)(now.tv_sec * 1000000L + now.tv_usec));
	return s;
}

int shared_up(struct shared *s)
{
	if (s->c)
		return 1;
	int64_t now = clock_ms();
	if (now < s->retry_at)
		return 0;
	char err[320];
	if (connect_to(s, RECONNECT_TIMEOUT_MS, err, sizeof(err))) {
		s->retry_gap = s->retry_gap * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS
								 : s->retry_gap * 2;
		s->retry_at = now + s->retry_gap;
		return 0;
	}
	fprintf(stderr, "quorum: --shared %s: back; rpm, breaker, budget and cache are shared "
		"again\n", s->url.shown);
	s->lost[0] = '\0';
	s->back_at = clock_ms();
	return 1;
}

void shared_free(struct shared *s)
{
	if (!s)
		return;
	if (s->c)
		redisFree(s->c);
	/* The password goes with the memory, not left for a core dump. */
	memset(&s->url, 0, sizeof(s->url));
	q_free(s);
}

enum shared_admit shared_admit(struct shared *s, const char *key, long rpm,
			       int64_t window_ms, int threshold, int64_t cooldown_ms,
			       long want, int64_t *ms, long *fails, long *granted)
{
	char brk[96], srpm[24], swin[24], member[96], sthr[16], scool[24], swant[24];
	snprintf(brk, sizeof(brk), "%s:brk", key);
	snprintf(srpm, sizeof(srpm), "%ld", rpm);
	snprintf(swin, sizeof(swin), "%lld", (long long)window_ms);
	snprintf(member, sizeof(member), "%s-%llu", s->member, ++s->seq);
	snprintf(sthr, sizeof(sthr), "%d", threshold);
	snprintf(scool, sizeof(scool), "%lld", (long long)cooldown_ms);
	snprintf(swant, sizeof(swant), "%ld", want > 0 ? want : 1);
	const char *args[] = {key, brk, srpm, swin, member, sthr, scool, swant};
	redisReply *r = script(s, S_ADMIT, "2", 8, args);
	if (!r)
		return SHARED_DOWN;
	/* {0, fails, granted} (or {0, fails} from an older script), {1, ms}
	 * or {2, ms}; anything else, or numbers out of their range, is not
	 * taken for a limit: a wait is within one window, a breaker's within
	 * one cooldown, a grant within what was asked. */
	enum shared_admit out = SHARED_DOWN;
	redisReply *const *e = r->element;
	size_t ne = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
	int ints = ne >= 2 && ne <= 3;
	for (size_t i = 0; i < ne && ints; i++)
		ints = e[i]->type == REDIS_REPLY_INTEGER;
	long long what = ints ? e[0]->integer : -1, v = ints ? e[1]->integer : 0;
	if (what == 0) {
		out = SHARED_GO;
		*ms = 0;
		*fails = v < 0 ? 0 : v > LONG_MAX ? LONG_MAX : (long)v;
		long long g = ne == 3 ? e[2]->integer : 1;
		long most = want > 0 ? want : 1;
		*granted = g < 1 ? 1 : g > most ? most : (long)g;
	} else if ((what == 1 || what == 2) && ne == 2) {
		long long most = what == 1 ? window_ms : cooldown_ms;
		out = what == 1 ? SHARED_WAIT : SHARED_BROKEN;
		*ms = v < 1 ? 1 : v > most ? (most > 0 ? most : 1) : v;
		*fails = 0;
		*granted = 0;
	} else {
		unexpected(s, "the admit script");
	}
	freeReplyObject(r);
	return out;
}

long shared_breaker_report(struct shared *s, const char *key, int ok, int threshold,
			   int64_t cooldown_ms, const char *why)
{
	char brk[96], sthr[16], scool[24], sttl[24];
	snprintf(brk, sizeof(brk), "%s:brk", key);
	snprintf(sthr, sizeof(sthr), "%d", threshold);
	snprintf(scool, sizeof(scool), "%lld", (long long)cooldown_ms);
	snprintf(sttl, sizeof(sttl), "%d", SHARED_BREAKER_TTL_MS);
	const char *args[] = {brk, ok ? "1" : "0", sthr, scool, sttl, why ? why : ""};
	redisReply *r = script(s, S_BREAKER, "1", 6, args);
	if (!r)
		return -1;
	long f = r->type == REDIS_REPLY_INTEGER && r->integer >= 0
			 ? (r->integer > LONG_MAX ? LONG_MAX : (long)r->integer) : -1;
	freeReplyObject(r);
	if (f < 0)
		unexpected(s, "the breaker script");
	return f;
}

int shared_breaker_why(struct shared *s, const char *key, char *out, size_t n)
{
	char brk[96];
	snprintf(brk, sizeof(brk), "%s:brk", key);
	const char *argv[] = {"HGET", brk, "why"};
	redisReply *r = command(s, 3, argv, NULL);
	int got = r && r->type == REDIS_REPLY_STRING && r->len;
	if (got)
		snprintf(out, n, "%.*s", (int)r->len, r->str);
	freeReplyObject(r);
	return got ? 0 : -1;
}

int shared_budget_reserve(struct shared *s, double limit_usd, double worst_usd)
{
	char lim[40], worst[40];
	snprintf(lim, sizeof(lim), "%.17g", limit_usd);
	snprintf(worst, sizeof(worst), "%.17g", worst_usd);
	const char *args[] = {BUDGET_KEY, lim, worst};
	redisReply *r = script(s, S_RESERVE, "1", 3, args);
	if (!r)
		return -1;
	int fits = r->type == REDIS_REPLY_INTEGER && (r->integer == 0 || r->integer == 1)
			   ? (int)r->integer : -1;
	freeReplyObject(r);
	if (fits < 0)
		unexpected(s, "the budget script");
	return fits;
}

void shared_budget_settle(struct shared *s, double held_usd, double actual_usd)
{
	char held[40], cost[40];
	snprintf(held, sizeof(held), "%.17g", -held_usd);
	snprintf(cost, sizeof(cost), "%.17g", actual_usd);
	const char *args[] = {BUDGET_KEY, held, cost};
	freeReplyObject(script(s, S_SETTLE, "1", 3, args));
}

double shared_budget_spent(struct shared *s)
{
	const char *argv[] = {"HGET", BUDGET_KEY, "spent"};
	redisReply *r = command(s, 3, argv, NULL);
	if (!r)
		return -1;
	double spent = r->type == REDIS_REPLY_NIL ? 0 : -1;
	if (r->type == REDIS_REPLY_STRING && r->len && !isspace((unsigned char)r->str[0])) {
		char *end;
		double v = strtod(r->str, &end);
		if (end == r->str + r->len && isfinite(v) && v >= 0)
			spent = v;
	}
	freeReplyObject(r);
	if (spent < 0)
		unexpected(s, "the budget");
	return spent;
}

int shared_cache_get(struct shared *s, const struct cache_key *k, struct cache_entry *e)
{
	char key[96];
	shared_cache_key(key, sizeof(key), k);
	const char *argv[] = {"GET", key};
	redisReply *r = command(s, 2, argv, NULL);
	if (!r)
		return -1;
	/* An entry it cannot read is a miss: the call goes to the model,
	 * and its answer replaces the entry. */
	int got = r->type == REDIS_REPLY_STRING && !shared_entry_unpack(r->str, r->len, e);
	freeReplyObject(r);
	return got;
}

int shared_cache_put(struct shared *s, const struct cache_key *k, const char *text,
		     size_t len, const char *finish_reason, int64_t input_tokens,
		     int64_t output_tokens, double cost_usd)
{
	char key[96], ttl[24];
	size_t n;
	char *v = shared_entry_pack(text, len, finish_reason, input_tokens, output_tokens,
				    cost_usd, &n);
	if (!v)
		return -1;
	shared_cache_key(key, sizeof(key), k);
	snprintf(ttl, sizeof(ttl), "%d", SHARED_CACHE_TTL_S);
	const char *argv[] = {"SET", key, v, "EX", ttl};
	size_t lens[] = {3, strlen(key), n, 2, strlen(ttl)};
	redisReply *r = command(s, 5, argv, lens);
	q_free(v);
	int rc = r && r->type == REDIS_REPLY_STATUS ? 0 : -1;
	freeReplyObject(r);
	return rc;
}
