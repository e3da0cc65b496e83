#include "decide.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/rng.h"
#include "generic.h"
#include "prompt.h"
#include "verdict.h"

/* More distinct model names than any workflow uses; past it, requests are
 * still answered but not counted per name. */
#define MODEL_TABLE_MAX 4096

enum {
	SALT_JITTER = 1,
	SALT_FAULT = 2,
	SALT_CORRECT = 3,
	SALT_WRONG = 4,
	SALT_PHRASE = 5,
	SALT_SHARE = 6,         /* does the group share this question's draw? */
	SALT_GROUP_CORRECT = 7, /* the group's shared draws: salted apart */
	SALT_GROUP_WRONG = 8,   /* from a model that has the group's name */
	SALT_DECLINE = 9,       /* the noise on a decliner's threshold */
	SALT_CHAOS = 16,        /* the scenario's chaos: whether, and which */
};

/* Chaos faults draw their own `rate` with indexes past any model's. */
#define CHAOS_FAULT_INDEX ((size_t)1 << 20)

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

double sim_uniform(uint64_t seed, const char *model, uint64_t a, uint64_t b,
		   uint64_t salt)
{
	uint64_t h = splitmix64_mix(seed);
	h = splitmix64_mix(h ^ fnv1a(model));
	h = splitmix64_mix(h ^ a);
	h = splitmix64_mix(h ^ b);
	h = splitmix64_mix(h ^ salt);
	return (double)(h >> 11) * 0x1.0p-53;
}

uint64_t sim_hash(uint64_t seed, const char *s)
{
	return splitmix64_mix(splitmix64_mix(seed) ^ fnv1a(s));
}

double sim_normal(uint64_t seed, const char *model, uint64_t a, uint64_t b,
		  uint64_t salt)
{
	/* 1 - u is in (0, 1], so the log is finite. */
	double u1 = 1 - sim_uniform(seed, model, a, b, salt);
	double u2 = sim_uniform(seed, model, a, b, salt + 0x100);
	return box_muller(u1, u2);
}

void model_table_init(struct model_table *t, const struct scenario *sc)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->sc = sc;
}

void model_table_release(struct model_table *t)
{
	for (size_t b = 0; b < MODEL_TABLE_BUCKETS; b++) {
		struct model_state *ms = t->buckets[b], *next;
		for (; ms; ms = next) {
			next = ms->next;
			q_free(ms->name);
			q_free(ms->asked);
			q_free(ms->turns);
			q_free(ms);
		}
	}
	pthread_mutex_destroy(&t->lock);
}

static struct model_state *model_state_new(const struct scenario *sc,
					   const char *name)
{
	struct model_state *ms = q_calloc(1, sizeof(*ms));
	if (!ms)
		return NULL;
	ms->name = q_strdup(name);
	ms->cfg = scenario_model(sc, name);
	ms->n_asked = sc->n_bank;
	ms->asked = q_calloc(sc->n_bank ? sc->n_bank : 1, sizeof(*ms->asked));
	ms->n_turns = ms->cfg ? ms->cfg->n_rules : 0;
	ms->turns = q_calloc(ms->n_turns ? ms->n_turns : 1, sizeof(*ms->turns));
	if (!ms->name || !ms->asked || !ms->turns) {
		q_free(ms->name);
		q_free(ms->asked);
		q_free(ms->turns);
		q_free(ms);
		return NULL;
	}
	atomic_init(&ms->requests, 0);
	atomic_init(&ms->answered, 0);
	for (size_t i = 0; i < ms->n_asked; i++)
		atomic_init(&ms->asked[i], 0);
	for (size_t i = 0; i < ms->n_turns; i++)
		atomic_init(&ms->turns[i], 0);
	for (size_t i = 0; i < SIM_SEEN_BUCKETS; i++) {
		atomic_init(&ms->seen[i], 0);
		atomic_init(&ms->generic[i], 0);
	}
	return ms;
}

static struct model_state *model_table_find(struct model_table *t,
					    const char *name, size_t b)
{
	for (struct model_state *ms = t->buckets[b]; ms; ms = ms->next)
		if (!strcmp(ms->name, name))
			return ms;
	return NULL;
}

struct model_state *model_table_get(struct model_table *t, const char *name)
{
	size_t b = fnv1a(name) % MODEL_TABLE_BUCKETS;
	pthread_mutex_lock(&t->lock);
	struct model_state *ms = model_table_find(t, name, b);
	if (!ms && t->n < MODEL_TABLE_MAX) {
		ms = model_state_new(t->sc, name);
		if (ms) {
			ms->next = t->buckets[b];
			t->buckets[b] = ms;
			t->n++;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return ms;
}

long model_table_requests(struct model_table *t, const char *name)
{
	size_t b = fnv1a(name) % MODEL_TABLE_BUCKETS;
	pthread_mutex_lock(&t->lock);
	struct model_state *ms = model_table_find(t, name, b);
	long n = ms ? atomic_load(&ms->requests) : 0;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void model_table_reset(struct model_table *t)
{
	pthread_mutex_lock(&t->lock);
	for (size_t b = 0; b < MODEL_TABLE_BUCKETS; b++) {
		for (struct model_state *ms = t->buckets[b]; ms; ms = ms->next) {
			atomic_store(&ms->requests, 0);
			atomic_store(&ms->answered, 0);
			for (size_t i = 0; i < ms->n_asked; i++)
				atomic_store(&ms->asked[i], 0);
			for (size_t i = 0; i < ms->n_turns; i++)
				atomic_store(&ms->turns[i], 0);
			for (size_t i = 0; i < SIM_SEEN_BUCKETS; i++) {
				atomic_store(&ms->seen[i], 0);
				atomic_store(&ms->generic[i], 0);
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int model_table_json(struct model_table *t, struct buf *out)
{
	int rc = buf_putc(out, '{');
	const char *sep = "";
	pthread_mutex_lock(&t->lock);
	for (size_t b = 0; b < MODEL_TABLE_BUCKETS; b++) {
		for (struct model_state *ms = t->buckets[b]; ms; ms = ms->next) {
			long n = atomic_load(&ms->requests);
			if (n == 0)
				continue;
			rc |= buf_puts(out, sep);
			rc |= buf_put_json_str(out, ms->name);
			rc |= buf_printf(out, ":%ld", n);
			sep = ",";
		}
	}
	pthread_mutex_unlock(&t->lock);
	rc |= buf_putc(out, '}');
	return rc ? -1 : 0;
}

/* ---- which fault, how long ---- */

static int fault_applies(const struct scenario *sc, const char *model,
			 const struct fault *f, size_t fi, long idx, int reused)
{
	if (f->type == FAULT_DROP_REUSED && !reused)
		return 0;
	if (f->first && idx > f->first)
		return 0;
	if (f->after && idx <= f->after)
		return 0;
	if (f->every && idx % f->every != 0)
		return 0;
	if (f->rate >= 0 &&
	    sim_uniform(sc->seed, model, (uint64_t)idx, fi, SALT_FAULT) >= f->rate)
		return 0;
	return 1;
}

/* Chaos: with probability `rate`, one of the scenario's chaos faults at
 * random, when its own conditions hold too. The draws are salted apart
 * from the model's own faults. */
static const struct fault *chaos_fault(const struct scenario *sc,
				       const char *model, long idx, int reused)
{
	const struct chaos *c = &sc->chaos;
	if (!c->n_faults || c->rate <= 0)
		return NULL;
	for (size_t i = 0; i < c->n_except; i++)
		if (!strcmp(c->except[i], model))
			return NULL;
	if (sim_uniform(c->seed, model, (uint64_t)idx, 0, SALT_CHAOS) >= c->rate)
		return NULL;
	double u = sim_uniform(c->seed, model, (uint64_t)idx, 1, SALT_CHAOS);
	size_t k = (size_t)(u * (double)c->n_faults);
	const struct fault *f = &c->faults[k < c->n_faults ? k : c->n_faults - 1];
	return fault_applies(sc, model, f, CHAOS_FAULT_INDEX + k, idx, reused) ? f
										 : NULL;
}

static int64_t model_latency(const struct scenario *sc, const char *model,
			     const struct model_cfg *cfg, const struct rule *rule,
			     long idx)
{
	int64_t ms = rule && rule->latency_ms >= 0 ? rule->latency_ms : cfg->latency_ms;
	if (cfg->jitter_ms > 0) {
		double u = sim_uniform(sc->seed, model, (uint64_t)idx, 0, SALT_JITTER);
		ms += (int64_t)((2 * u - 1) * (double)cfg->jitter_ms);
	}
	return ms < 0 ? 0 : ms;
}

static void plan_timing(const struct scenario *sc, const struct model_state *ms,
			const struct rule *rule, struct plan *p)
{
	const struct fault *f = p->fault;
	p->latency_ms = model_latency(sc, ms->name, ms->cfg, rule, p->index);
	p->chunk_delay_ms = ms->cfg->chunk_delay_ms;
	if (!f)
		return;
	/* Errors, resets at once, dead connections and the answers of a
	 * box in between come at once; the rest keep the model's latency. */
	if (f->type == FAULT_STATUS || f->type == FAULT_REDIRECT ||
	    f->type == FAULT_CTYPE || f->type == FAULT_ERROR_BODY ||
	    f->type == FAULT_DROP_REUSED ||
	    (f->type == FAULT_REFLECT && f->where == REFLECT_ERROR) ||
	    (f->type == FAULT_RESET && f->after_chars < 0))
		p->latency_ms = f->latency_ms >= 0 ? f->latency_ms : 0;
	else if (f->latency_ms >= 0)
		p->latency_ms = f->latency_ms;
	if (f->chunk_delay_ms >= 0)
		p->chunk_delay_ms = f->chunk_delay_ms;
	if (f->type == FAULT_HANG)
		p->latency_ms = -1;
}

/* ---- what it says ---- */

/* The bank question asked last in text: a prompt that quotes several
 * (a plan's step after the whole task) asks the one nearest its end. */
long sim_bank_find(const struct scenario *sc, const char *text)
{
	long best = -1;
	size_t len = text ? strlen(text) : 0, at = 0;
	for (size_t i = 0; text && i < sc->n_bank; i++) {
		for (const char *p = text; (p = prompt_find(p, len - (size_t)(p - text),
							    sc->bank[i].q)); p++) {
			if (best < 0 || (size_t)(p - text) > at) {
				best = (long)i;
				at = (size_t)(p - text);
			}
		}
	}
	return best;
}

/* The last user message is where the question is; aggregator prompts may
 * quote it elsewhere, so every message is searched after it. */
static long bank_match(const struct scenario *sc, const struct sim_msg *msgs,
		       size_t n, const char **user)
{
	*user = NULL;
	for (size_t i = n; i-- > 0;) {
		if (msgs[i].role && !strcmp(msgs[i].role, "user")) {
			*user = msgs[i].content;
			break;
		}
	}
	long k = sim_bank_find(sc, *user);
	for (size_t i = n; k < 0 && i-- > 0;)
		k = sim_bank_find(sc, msgs[i].content);
	return k;
}

static const char *const wrong_phrases[] = {
	"I believe the answer is %s.",
	"After thinking it through, it is %s.",
	"%s, if I remember correctly.",
	"The answer should be %s.",
};

static int word_count(const char *s)
{
	int n = 0, in = 0;
	for (; *s; s++) {
		int sp = *s == ' ' || *s == '\t' || *s == '\n';
		n += !sp && !in;
		in = !sp;
	}
	return n;
}

/* The draws that decide whether the model answers bank question qh
 * right (*u < accuracy) and, if not, which wrong answer (*w). With an
 * error group, a draw keyed by (group, question) decides for all members
 * at once whether they take the group's shared draws (so they are right
 * or wrong together, and wrong alike) or their own: the members'
 * correctness then correlates by `correlation`. */
static void bank_draws(const struct scenario *sc, const struct model_state *ms,
		       uint64_t qh, long nth, double *u, double *w)
{
	const struct model_cfg *cfg = ms->cfg;
	const char *g = cfg->error_group;
	uint64_t n = (uint64_t)nth;
	if (g && cfg->correlation > 0 &&
	    sim_uniform(sc->seed, g, qh, n, SALT_SHARE) < cfg->correlation) {
		*u = sim_uniform(sc->seed, g, qh, n, SALT_GROUP_CORRECT);
		*w = sim_uniform(sc->seed, g, qh, n, SALT_GROUP_WRONG);
		return;
	}
	*u = sim_uniform(sc->seed, ms->name, qh, n, SALT_CORRECT);
	*w = sim_uniform(sc->seed, ms->name, qh, n, SALT_WRONG);
}

static int bank_answer(const struct scenario *sc, struct model_state *ms,
		       long k, struct buf *out)
{
	const struct bank_item *b = &sc->bank[k];
	long nth = atomic_fetch_add(&ms->asked[k], 1) + 1;
	uint64_t qh = fnv1a(b->q);
	double u, w;
	bank_draws(sc, ms, qh, nth, &u, &w);
	if (u < scenario_accuracy(ms->cfg, b) || b->n_wrong == 0) {
		if (strstr(b->a, "Answer:"))
			return buf_puts(out, b->a);
		if (strcmp(b->a, b->short_a))
			return buf_printf(out, "%s\n\nAnswer: %s", b->a, b->short_a);
		return buf_printf(out, "The answer is %s.\n\nAnswer: %s", b->a, b->a);
	}
	double ph = sim_uniform(sc->seed, ms->name, qh, (uint64_t)nth, SALT_PHRASE);
	const char *ans = b->wrong[(size_t)(w * (double)b->n_wrong)];
	int rc;
	if (word_count(ans) >= 4) {
		/* A wrong explanation reads as a sentence of its own. */
		rc = buf_putc(out, (char)toupper((unsigned char)ans[0]));
		rc |= buf_printf(out, "%s.", ans + 1);
	} else {
		size_t np = sizeof(wrong_phrases) / sizeof(*wrong_phrases);
		rc = buf_printf(out, wrong_phrases[(size_t)(ph * (double)np)], ans);
	}
	return rc | buf_printf(out, "\n\nAnswer: %s", ans);
}

/* ---- rules and aggregator prompts ---- */

/* One request's prompt, read as far as needed. */
struct ask {
	const struct sim_msg *msgs;
	size_t n;
	char *joined;          /* every message; NULL until needed */
	int kind;              /* enum prompt_kind; -1 until read */
	long index;            /* the model's request number */
};

static int ask_join(struct ask *a)
{
	if (!a->joined)
		a->joined = prompt_join(a->msgs, a->n);
	return a->joined ? 0 : -1;
}

static enum prompt_kind ask_kind(struct ask *a)
{
	if (a->kind < 0)
		a->kind = (int)prompt_kind_of(a->joined);
	return (enum prompt_kind)a->kind;
}

static int rule_holds(const struct rule *r, struct ask *a)
{
	size_t len = strlen(a->joined);
	for (size_t i = 0; i < r->n_contains; i++)
		if (!prompt_find(a->joined, len, r->contains[i]))
			return 0;
	if (r->re && regex_search(r->re, a->joined, len, -1, NULL, NULL) != 1)
		return 0;
	return r->kind == PK_NONE || ask_kind(a) == r->kind;
}

/* The first rule that holds, or -1; a->joined must be read. */
static long rule_find(const struct model_cfg *cfg, struct ask *a)
{
	for (size_t i = 0; i < cfg->n_rules; i++)
		if (rule_holds(&cfg->rules[i], a))
			return (long)i;
	return -1;
}

/* Whether the answer under review in a rating request gives the right
 * answer to the question the prompt quotes: 1, 0 when it gives a wrong
 * one (an "Answer:" line that is not right, or one of the bank's wrong
 * answers), -1 when that cannot be told. */
static int rated_ok(const struct scenario *sc, struct ask *a)
{
	const char *user, *t;
	size_t len;
	long k = bank_match(sc, a->msgs, a->n, &user);
	prompt_answer(a->joined, PK_RATING, &t, &len);
	if (k < 0)
		return generic_says(t, len);
	const struct bank_item *b = &sc->bank[k];
	if (prompt_says(t, len, b->short_a))
		return 1;
	for (size_t i = 0; i < b->n_wrong; i++)
		if (prompt_says(t, len, b->wrong[i]))
			return 0;
	for (size_t i = 0; i + 7 <= len; i++)
		if (!memcmp(t + i, "Answer:", 7))
			return 0;
	return -1;
}

static int rule_text(const struct scenario *sc, struct model_state *ms, long ri,
		     struct ask *a, struct buf *out)
{
	const struct rule *r = &ms->cfg->rules[ri];
	struct section sec[PROMPT_SECTIONS_MAX];
	size_t nsec = r->action == RULE_PICK || r->action == RULE_RANK
			      ? prompt_sections(a->joined, sec)
			      : 0;
	switch (r->action) {
	case RULE_ANSWER:
		return buf_puts(out, r->texts[0]);
	case RULE_ANSWERS: {
		long i = atomic_fetch_add(&ms->turns[ri], 1);
		return buf_puts(out, r->texts[(size_t)i % r->n_texts]);
	}
	case RULE_PICK:
		return verdict_pick(out, sec, nsec, r->texts[0]);
	case RULE_RANK:
		return verdict_rank(out, sec, nsec, r->texts, r->n_texts);
	case RULE_RATING:
		return verdict_rating(out, r->rating);
	case RULE_RATING_AUTO:
		return verdict_rating_auto(out, rated_ok(sc, a));
	}
	return -1;
}

/* A question the bank does not hold (generic.c): its right short answer
 * is made from its key words, so every model that gets it right agrees;
 * whether this model does, and which wrong variant it gives if not, is
 * drawn as for a bank question, keyed by the question's words. */
static int generic_text(const struct scenario *sc, struct model_state *ms,
			struct ask *a, const char *user, struct buf *out)
{
	struct generic g = {.model = ms->name};
	generic_question(user ? user : "", &g.q, &g.q_len);
	uint64_t qh = generic_key(g.q, g.q_len);
	long nth = atomic_fetch_add(&ms->generic[qh % SIM_SEEN_BUCKETS], 1) + 1;
	double u, w;
	bank_draws(sc, ms, qh, nth, &u, &w);
	if (u >= scenario_accuracy(ms->cfg, NULL))
		g.variant = 2 + (int)(w * GENERIC_VARIANTS);
	g.phrase = sim_uniform(sc->seed, ms->name, qh, (uint64_t)nth, SALT_PHRASE);
	g.line = generic_wants_line(a->joined);
	return generic_answer(out, &g);
}

/* Without a bank question, which texts give the generic right answer:
 * per section 1 or 0 (a wrong variant, or no generic answer at all).
 * Returns whether any section holds a generic answer. */
static int generic_sections(const struct section *sec, size_t n,
			    signed char *correct)
{
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		int says = generic_says(sec[i].text, sec[i].len);
		any |= says >= 0;
		correct[i] = (signed char)(says == 1);
	}
	return any;
}

/* A simulated answer in the format an aggregator asked for, right as
 * often as the model is accurate about the bank question the prompt
 * quotes. Returns 0, 1 when it has nothing to say, or -1. */
static int format_text(const struct scenario *sc, struct model_state *ms,
		       struct ask *a, long k, struct buf *out)
{
	uint64_t h = fnv1a(a->joined);
	long nth = atomic_fetch_add(&ms->seen[h % SIM_SEEN_BUCKETS], 1) + 1;
	struct section sec[PROMPT_SECTIONS_MAX];
	signed char correct[PROMPT_SECTIONS_MAX];
	struct verdict_sim v = {
		.kind = ask_kind(a), .answer_ok = -1,
		.accuracy = scenario_accuracy(ms->cfg, k >= 0 ? &sc->bank[k] : NULL),
		.d = {sc->seed, ms->name, h, (uint64_t)nth},
	};
	const char *sh = k >= 0 ? sc->bank[k].short_a : NULL;
	if (v.kind == PK_JUDGE || v.kind == PK_RANK) {
		v.nsec = prompt_sections(a->joined, sec);
		v.sec = sec;
		for (size_t i = 0; sh && i < v.nsec; i++)
			correct[i] = (signed char)prompt_says(sec[i].text, sec[i].len, sh);
		int known = sh || generic_sections(sec, v.nsec, correct);
		v.correct = known ? correct : NULL;
	} else if (v.kind == PK_PLAN) {
		prompt_task(a->msgs, a->n, &v.task, &v.task_len);
		v.max_subtasks = prompt_max_subtasks(a->joined);
	} else {
		const char *t;
		size_t len;
		prompt_answer(a->joined, v.kind, &t, &len);
		v.answer_ok = sh ? prompt_says(t, len, sh) : generic_says(t, len);
	}
	return verdict_simulate(out, &v);
}

/* A decliner asked, with its marker in the prompt, a bank question
 * harder than its threshold (the comparison blurred, per request, by a
 * seeded normal draw times decline_noise) declines. */
static int declines(const struct scenario *sc, const struct model_state *ms,
		    struct ask *a, const struct bank_item *b)
{
	const struct model_cfg *cfg = ms->cfg;
	if (!prompt_find(a->joined, strlen(a->joined), cfg->decline_marker))
		return 0;
	double d = b->difficulty;
	if (cfg->decline_noise > 0)
		d += cfg->decline_noise * sim_normal(sc->seed, ms->name, fnv1a(b->q),
						     (uint64_t)a->index, SALT_DECLINE);
	return d > cfg->decline_above;
}

static int plan_text(const struct scenario *sc, struct model_state *ms,
		     struct ask *a, long rule, struct buf *out)
{
	const struct model_cfg *cfg = ms->cfg;
	if (rule >= 0)
		return rule_text(sc, ms, rule, a, out);
	if (cfg->answer)
		return buf_puts(out, cfg->answer);
	if (cfg->n_answers) {
		long i = atomic_fetch_add(&ms->answered, 1);
		return buf_puts(out, cfg->answers[(size_t)i % cfg->n_answers]);
	}
	const char *user;
	long k = bank_match(sc, a->msgs, a->n, &user);
	if (k >= 0 && cfg->decline_above >= 0) {
		if (ask_join(a))
			return -1;
		if (declines(sc, ms, a, &sc->bank[k]))
			return buf_puts(out, cfg->decline_marker);
	}
	if (cfg->formats) {
		if (ask_join(a))
			return -1;
		if (ask_kind(a) != PK_NONE) {
			int rc = format_text(sc, ms, a, k, out);
			if (rc <= 0)
				return rc;
		}
	}
	if (k >= 0)
		return bank_answer(sc, ms, k, out);
	return ask_join(a) ? -1 : generic_text(sc, ms, a, user, out);
}

/* What a fault makes of the answer: a drip sends it, slowly; a reset
 * midway is a cut (chat.c ends it with RST). */
static enum plan_kind plan_kind_of(const struct fault *f)
{
	static const enum plan_kind kinds[FAULT_NTYPES] = {
		[FAULT_STATUS] = PLAN_ERROR, [FAULT_HANG] = PLAN_HANG,
		[FAULT_MALFORMED] = PLAN_MALFORMED, [FAULT_CUT] = PLAN_CUT,
		[FAULT_SLOW] = PLAN_ANSWER, [FAULT_SAFETY] = PLAN_SAFETY,
		[FAULT_RESET] = PLAN_RESET, [FAULT_DRIP] = PLAN_ANSWER,
		[FAULT_HUGE] = PLAN_RAW, [FAULT_CTYPE] = PLAN_RAW,
		[FAULT_ERROR_BODY] = PLAN_RAW, [FAULT_REDIRECT] = PLAN_RAW,
		[FAULT_REFLECT] = PLAN_ANSWER, [FAULT_DROP_REUSED] = PLAN_DROP,
	};
	if (!f)
		return PLAN_ANSWER;
	/* An echo in an error body has no answer; in an answer or a
	 * header it rides on a normal one (chat.c adds it). */
	if (f->type == FAULT_REFLECT && f->where == REFLECT_ERROR)
		return PLAN_RAW;
	if (f->type == FAULT_RESET && f->after_chars >= 0)
		return PLAN_CUT;
	return kinds[f->type];
}

/* Counts the request and finds the fault that applies to it, if any. */
static void plan_fault(const struct scenario *sc, struct model_state *ms,
		       int reused, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	p->index = atomic_fetch_add(&ms->requests, 1) + 1;
	const struct model_cfg *cfg = ms->cfg;
	for (size_t i = 0; i < cfg->n_faults && !p->fault; i++)
		if (fault_applies(sc, ms->name, &cfg->faults[i], i, p->index, reused))
			p->fault = &cfg->faults[i];
	if (!p->fault)
		p->fault = chaos_fault(sc, ms->name, p->index, reused);
}

void sim_plan_embed(const struct scenario *sc, struct model_state *ms,
		    int reused, struct plan *p)
{
	plan_fault(sc, ms, reused, p);
	plan_timing(sc, ms, NULL, p);
	p->kind = plan_kind_of(p->fault);
}

int sim_plan(const struct scenario *sc, struct model_state *ms,
	     const struct sim_msg *msgs, size_t n, int reused, struct plan *p)
{
	plan_fault(sc, ms, reused, p);
	const struct model_cfg *cfg = ms->cfg;
	struct ask a = {msgs, n, NULL, -1, p->index};
	long rule = -1;
	if (cfg->n_rules) {
		if (ask_join(&a))
			return -1;
		rule = rule_find(cfg, &a);
	}
	plan_timing(sc, ms, rule >= 0 ? &cfg->rules[rule] : NULL, p);
	p->kind = plan_kind_of(p->fault);
	/* A status fault with after_chars fails a stream midway: it needs
	 * the text it would have sent. */
	if (p->kind == PLAN_HANG || p->kind == PLAN_SAFETY ||
	    p->kind == PLAN_RESET || p->kind == PLAN_RAW || p->kind == PLAN_DROP ||
	    (p->kind == PLAN_ERROR && p->fault->after_chars < 0)) {
		q_free(a.joined);
		return 0;
	}
	struct buf out = BUF_INIT;
	int rc = plan_text(sc, ms, &a, rule, &out);
	q_free(a.joined);
	if (rc || !out.data) {
		buf_release(&out);
		return -1;
	}
	p->text = out.data;
	return 0;
}
