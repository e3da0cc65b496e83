#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/buf.h"
#include "../common/duration.h"
#include "../common/suggest.h"
#include "yamljson.h"

/* The loader's context: errors name the path of the offending value
 * ("models.sim-strong.faults[1].rate"), since the cJSON tree keeps no
 * line numbers. */
struct sload {
	const char *name;
	struct qerr *e;
	struct arena *a;
};

__attribute__((format(printf, 3, 4)))
static int sl_fail(struct sload *L, const char *path, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return qerr_set_at(L->e, L->name, 0, 0, "%s%s%s", path, *path ? ": " : "",
			   msg);
}

static int sl_keys(struct sload *L, const char *path, const cJSON *obj,
		   const char *const *known, size_t n)
{
	if (!cJSON_IsObject(obj))
		return sl_fail(L, path, "expected a mapping");
	for (const cJSON *it = obj->child; it; it = it->next) {
		size_t i = 0;
		while (i < n && strcmp(it->string, known[i]))
			i++;
		if (i < n)
			continue;
		const char *near = suggest_nearest(it->string, known, n);
		if (near)
			return sl_fail(L, path, "unknown key '%s' (did you mean '%s'?)",
				       it->string, near);
		return sl_fail(L, path, "unknown key '%s'", it->string);
	}
	return 0;
}

/* A duration is a number of milliseconds or a string with a unit
 * ("200ms", "1.5s"); a string without a unit is milliseconds too. */
static int sl_duration(struct sload *L, const char *path, const cJSON *v,
		       int64_t *out)
{
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15) {
		*out = (int64_t)llround(v->valuedouble);
		return 0;
	}
	if (cJSON_IsString(v)) {
		char *end;
		double d = strtod(v->valuestring, &end);
		if (end != v->valuestring && !*end && d >= 0 && d < 9e15) {
			*out = (int64_t)llround(d);
			return 0;
		}
		if (!duration_parse(v->valuestring, out))
			return 0;
	}
	return sl_fail(L, path, "invalid duration (use e.g. 200ms, 1.5s or a number of ms)");
}

static int sl_num(struct sload *L, const char *path, const cJSON *v, double lo,
		  double hi, double *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
		return sl_fail(L, path, "expected a number from %g to %g", lo, hi);
	*out = v->valuedouble;
	return 0;
}

static int sl_long(struct sload *L, const char *path, const cJSON *v, long lo,
		   long hi, long *out)
{
	double d = 0;
	if (sl_num(L, path, v, (double)lo, (double)hi, &d))
		return -1;
	if (d != floor(d))
		return sl_fail(L, path, "expected a whole number");
	*out = (long)d;
	return 0;
}

static int sl_str(struct sload *L, const char *path, const cJSON *v,
		  const char **out)
{
	if (cJSON_IsNumber(v)) {
		/* `answer: 391` is a string to the user. */
		*out = arena_printf(L->a, "%.15g", v->valuedouble);
	} else if (cJSON_IsString(v)) {
		*out = arena_strdup(L->a, v->valuestring);
	} else {
		return sl_fail(L, path, "expected a string");
	}
	return *out ? 0 : sl_fail(L, path, "out of memory");
}

static int sl_strlist(struct sload *L, const char *path, const cJSON *v,
		      const char ***out, size_t *n)
{
	if (!cJSON_IsArray(v))
		return sl_fail(L, path, "expected a list of strings");
	size_t cnt = (size_t)cJSON_GetArraySize(v), i = 0;
	const char **list = arena_alloc(L->a, (cnt ? cnt : 1) * sizeof(*list));
	if (!list)
		return sl_fail(L, path, "out of memory");
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (sl_str(L, p, it, &list[i]))
			return -1;
	}
	*out = list;
	*n = cnt;
	return 0;
}

static const char *const fault_keys[] = {
	"type", "status", "retry_after", "first", "every", "after", "rate",
	"message", "error_type", "code", "latency", "chunk_delay", "after_chars",
	"block", "interval", "bytes", "value", "location", "where", "header",
	"drip",
};

const char *const scenario_fault_names[FAULT_NTYPES] = {
	[FAULT_STATUS] = "status", [FAULT_HANG] = "hang",
	[FAULT_MALFORMED] = "malformed", [FAULT_CUT] = "cut", [FAULT_SLOW] = "slow",
	[FAULT_SAFETY] = "safety", [FAULT_RESET] = "reset", [FAULT_DRIP] = "drip",
	[FAULT_HUGE] = "huge", [FAULT_CTYPE] = "content_type",
	[FAULT_ERROR_BODY] = "error_body", [FAULT_REDIRECT] = "redirect",
	[FAULT_REFLECT] = "reflect", [FAULT_DROP_REUSED] = "drop_reused",
};

static int sl_fault_type(struct sload *L, const char *path, const cJSON *v,
			 enum fault_type *out)
{
	size_t n = FAULT_NTYPES;
	if (!cJSON_IsString(v))
		return sl_fail(L, path, "fault needs a 'type' (status, hang, malformed, "
				   "cut, slow, safety, reset, drip, huge, "
				   "content_type, error_body, redirect, reflect "
				   "or drop_reused)");
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v->valuestring, scenario_fault_names[i])) {
			*out = (enum fault_type)i;
			return 0;
		}
	}
	const char *near = suggest_nearest(v->valuestring, scenario_fault_names, n);
	if (near)
		return sl_fail(L, path, "unknown fault type '%s' (did you mean '%s'?)",
			       v->valuestring, near);
	return sl_fail(L, path, "unknown fault type '%s'", v->valuestring);
}

static int sl_where(struct sload *L, const char *path, const cJSON *v,
		    enum reflect_where *out)
{
	static const char *const names[] = {
		[REFLECT_ERROR] = "error", [REFLECT_ANSWER] = "answer",
		[REFLECT_HEADER] = "header",
	};
	for (size_t i = 0; cJSON_IsString(v) && i < sizeof(names) / sizeof(*names); i++) {
		if (!strcmp(v->valuestring, names[i])) {
			*out = (enum reflect_where)i;
			return 0;
		}
	}
	return sl_fail(L, path, "expected error, answer or header");
}

/* A header name: a token, so MHD sends it as written. */
static int sl_header(struct sload *L, const char *path, const cJSON *v,
		     const char **out)
{
	if (sl_str(L, path, v, out))
		return -1;
	const char *p = *out;
	while (*p && (isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p)))
		p++;
	if (**out && !*p)
		return 0;
	return sl_fail(L, path, "expected a header name (letters, digits, '-')");
}

/* The keys of the network faults, and after_chars. */
static int sl_fault_net_key(struct sload *L, const char *path, const cJSON *it,
			    struct fault *f)
{
	const char *k = it->string;
	if (!strcmp(k, "interval")) {
		if (sl_duration(L, path, it, &f->interval_ms))
			return -1;
		return f->interval_ms > 0 ? 0 : sl_fail(L, path, "expected a duration above 0");
	}
	if (!strcmp(k, "bytes")) {
		long n = 0;
		if (sl_long(L, path, it, 1, 1L << 40, &n))
			return -1;
		f->bytes = n;
		return 0;
	}
	if (!strcmp(k, "value"))
		return sl_str(L, path, it, &f->value);
	if (!strcmp(k, "location"))
		return sl_str(L, path, it, &f->location);
	if (!strcmp(k, "header"))
		return sl_header(L, path, it, &f->header);
	if (!strcmp(k, "where"))
		return sl_where(L, path, it, &f->where);
	return sl_long(L, path, it, 0, 1000000000L, &f->after_chars);
}

/* One key of a fault; the type is already known. */
static int sl_fault_key(struct sload *L, const char *path, const cJSON *it,
			struct fault *f)
{
	const char *k = it->string;
	if (!strcmp(k, "type"))
		return 0;
	if (!strcmp(k, "status")) {
		long st = 0;
		if (sl_long(L, path, it, 100, 599, &st))
			return -1;
		f->status = (int)st;
		return 0;
	}
	if (!strcmp(k, "retry_after"))
		return sl_long(L, path, it, 0, 86400, &f->retry_after);
	if (!strcmp(k, "first"))
		return sl_long(L, path, it, 1, 1000000000L, &f->first);
	if (!strcmp(k, "every"))
		return sl_long(L, path, it, 1, 1000000000L, &f->every);
	if (!strcmp(k, "after"))
		return sl_long(L, path, it, 1, 1000000000L, &f->after);
	if (!strcmp(k, "rate"))
		return sl_num(L, path, it, 0, 1, &f->rate);
	if (!strcmp(k, "message"))
		return sl_str(L, path, it, &f->message);
	if (!strcmp(k, "error_type"))
		return sl_str(L, path, it, &f->etype);
	if (!strcmp(k, "code"))
		return sl_str(L, path, it, &f->code);
	if (!strcmp(k, "latency"))
		return sl_duration(L, path, it, &f->latency_ms);
	if (!strcmp(k, "chunk_delay"))
		return sl_duration(L, path, it, &f->chunk_delay_ms);
	if (!strcmp(k, "drip")) {
		if (sl_duration(L, path, it, &f->drip_ms))
			return -1;
		return f->drip_ms > 0 ? 0 : sl_fail(L, path, "expected a duration above 0");
	}
	if (!strcmp(k, "block")) {
		if (!cJSON_IsString(it) || (strcmp(it->valuestring, "prompt") &&
					    strcmp(it->valuestring, "answer")))
			return sl_fail(L, path, "expected 'prompt' or 'answer'");
		f->block_prompt = !strcmp(it->valuestring, "prompt");
		return 0;
	}
	return sl_fault_net_key(L, path, it, f);
}

/* The status each type means when none is written, and what a type
 * cannot do with the one written. */
static int sl_fault_defaults(struct sload *L, const char *path, struct fault *f)
{
	if (f->type == FAULT_REDIRECT) {
		if (!f->status)
			f->status = 302;
		if (f->status < 300 || f->status > 399)
			return sl_fail(L, path, "a redirect needs a 3xx status, not %d",
				       f->status);
	}
	if (!f->status)
		f->status = f->type == FAULT_CTYPE    ? 200
			    : f->type == FAULT_REFLECT ? 401
						       : 500;
	if (f->type == FAULT_REFLECT && !f->header)
		f->header = "X-Echo-Key";
	if (f->type == FAULT_CTYPE && !f->value)
		f->value = "text/html; charset=utf-8";
	return 0;
}

static int sl_fault(struct sload *L, const char *path, const cJSON *v,
		    struct fault *f)
{
	if (sl_keys(L, path, v, fault_keys, sizeof(fault_keys) / sizeof(*fault_keys)))
		return -1;
	*f = (struct fault){.rate = -1, .retry_after = -1, .latency_ms = -1,
			    .chunk_delay_ms = -1, .after_chars = -1,
			    .interval_ms = 1000, .bytes = 50000000};
	if (sl_fault_type(L, path, cJSON_GetObjectItemCaseSensitive(v, "type"),
			  &f->type))
		return -1;
	for (const cJSON *it = v->child; it; it = it->next) {
		char p[320];
		snprintf(p, sizeof(p), "%s.%s", path, it->string);
		if (sl_fault_key(L, p, it, f))
			return -1;
	}
	return sl_fault_defaults(L, path, f);
}

static int sl_fault_list(struct sload *L, const char *path, const cJSON *v,
			 struct fault **out, size_t *n)
{
	if (!cJSON_IsArray(v))
		return sl_fail(L, path, "expected a list of faults");
	*n = (size_t)cJSON_GetArraySize(v);
	*out = arena_alloc(L->a, (*n ? *n : 1) * sizeof(**out));
	if (!*out)
		return sl_fail(L, path, "out of memory");
	size_t i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		char p[288];
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (sl_fault(L, p, it, &(*out)[i]))
			return -1;
	}
	return 0;
}

static int sl_faults(struct sload *L, const char *path, const cJSON *v,
		     struct model_cfg *m)
{
	return sl_fault_list(L, path, v, &m->faults, &m->n_faults);
}

static const char *const chaos_keys[] = {"seed", "rate", "faults", "except"};

/* chaos: {seed, rate, faults, except}: faults mixed at random across
 * every model but those in except. */
static int sl_chaos(struct sload *L, struct scenario *s, const cJSON *v)
{
	if (sl_keys(L, "chaos", v, chaos_keys, sizeof(chaos_keys) / sizeof(*chaos_keys)))
		return -1;
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(v, "seed");
	const cJSON *rate = cJSON_GetObjectItemCaseSensitive(v, "rate");
	const cJSON *faults = cJSON_GetObjectItemCaseSensitive(v, "faults");
	const cJSON *except = cJSON_GetObjectItemCaseSensitive(v, "except");
	if (except && sl_strlist(L, "chaos.except", except, &s->chaos.except,
				 &s->chaos.n_except))
		return -1;
	double d = (double)s->seed;
	if (seed && sl_num(L, "chaos.seed", seed, 0, 9007199254740992.0, &d))
		return -1;
	s->chaos.seed = (uint64_t)d;
	if (!rate || !faults)
		return sl_fail(L, "chaos", "needs a 'rate' and a list of 'faults'");
	if (sl_num(L, "chaos.rate", rate, 0, 1, &s->chaos.rate) ||
	    sl_fault_list(L, "chaos.faults", faults, &s->chaos.faults,
			  &s->chaos.n_faults))
		return -1;
	return s->chaos.n_faults ? 0 : sl_fail(L, "chaos.faults", "expected at least one fault");
}

/* ---- rules ---- */

static const char *const rule_keys[] = {
	"contains", "regex", "kind", "answer", "answers", "pick", "rank", "rating",
	"latency",
};

static const char *const kind_names[] = {
	[PK_JUDGE] = "judge", [PK_RANK] = "rank", [PK_SELF_CHECK] = "self_check",
	[PK_RATING] = "rating", [PK_PLAN] = "plan",
};

static int sl_kind(struct sload *L, const char *path, const cJSON *v,
		   enum prompt_kind *out)
{
	size_t n = sizeof(kind_names) / sizeof(*kind_names);
	if (cJSON_IsString(v)) {
		for (size_t i = PK_JUDGE; i < n; i++) {
			if (!strcmp(v->valuestring, kind_names[i])) {
				*out = (enum prompt_kind)i;
				return 0;
			}
		}
		const char *near = suggest_nearest(v->valuestring, kind_names + 1, n - 1);
		if (near)
			return sl_fail(L, path, "unknown kind '%s' (did you mean '%s'?)",
				       v->valuestring, near);
	}
	return sl_fail(L, path, "expected judge, rank, self_check, rating or plan");
}

static int sl_regex(struct sload *L, struct scenario *s, const char *path,
		    const cJSON *v, struct regex **out)
{
	if (!cJSON_IsString(v))
		return sl_fail(L, path, "expected a string");
	struct scenario_regex *node = arena_alloc(L->a, sizeof(*node));
	if (!node)
		return sl_fail(L, path, "out of memory");
	struct qerr e = {0};
	node->re = regex_compile(v->valuestring, NULL, &e);
	if (!node->re)
		return sl_fail(L, path, "%s", e.msg);
	node->next = s->regexes;
	s->regexes = node;
	*out = node->re;
	return 0;
}

/* `contains` is a string or a list of strings, all of which must appear. */
static int sl_contains(struct sload *L, const char *path, const cJSON *v,
		       struct rule *r)
{
	if (cJSON_IsArray(v)) {
		if (sl_strlist(L, path, v, &r->contains, &r->n_contains))
			return -1;
	} else {
		r->contains = arena_alloc(L->a, sizeof(*r->contains));
		if (!r->contains)
			return sl_fail(L, path, "out of memory");
		r->n_contains = 1;
		if (sl_str(L, path, v, &r->contains[0]))
			return -1;
	}
	for (size_t i = 0; i < r->n_contains; i++)
		if (!*r->contains[i])
			return sl_fail(L, path, "expected a non-empty string");
	return 0;
}

/* The one action key of a rule; *seen counts them. */
static int sl_rule_action(struct sload *L, const char *path, const cJSON *it,
			  struct rule *r, int *seen)
{
	const char *k = it->string;
	(*seen)++;
	if (!strcmp(k, "rating")) {
		r->action = RULE_RATING;
		if (cJSON_IsString(it) && !strcmp(it->valuestring, "auto")) {
			r->action = RULE_RATING_AUTO;
			return 0;
		}
		if (!cJSON_IsNumber(it))
			return sl_fail(L, path, "expected a number from 0 to 10 or 'auto'");
		return sl_num(L, path, it, 0, 10, &r->rating);
	}
	if (!strcmp(k, "answers") || !strcmp(k, "rank")) {
		r->action = k[0] == 'a' ? RULE_ANSWERS : RULE_RANK;
		if (sl_strlist(L, path, it, &r->texts, &r->n_texts))
			return -1;
		return r->n_texts ? 0 : sl_fail(L, path, "expected a non-empty list");
	}
	r->action = !strcmp(k, "pick") ? RULE_PICK : RULE_ANSWER;
	r->texts = arena_alloc(L->a, sizeof(*r->texts));
	if (!r->texts)
		return sl_fail(L, path, "out of memory");
	r->n_texts = 1;
	if (sl_str(L, path, it, &r->texts[0]))
		return -1;
	if (r->action == RULE_PICK && !*r->texts[0])
		return sl_fail(L, path, "expected a non-empty fragment");
	return 0;
}

static int sl_rule(struct sload *L, struct scenario *s, const char *path,
		   const cJSON *v, struct rule *r)
{
	if (sl_keys(L, path, v, rule_keys, sizeof(rule_keys) / sizeof(*rule_keys)))
		return -1;
	*r = (struct rule){.latency_ms = -1};
	int actions = 0;
	for (const cJSON *it = v->child; it; it = it->next) {
		char p[320];
		const char *k = it->string;
		snprintf(p, sizeof(p), "%s.%s", path, k);
		int rc = !strcmp(k, "contains") ? sl_contains(L, p, it, r)
			 : !strcmp(k, "regex")  ? sl_regex(L, s, p, it, &r->re)
			 : !strcmp(k, "kind")   ? sl_kind(L, p, it, &r->kind)
			 : !strcmp(k, "latency") ? sl_duration(L, p, it, &r->latency_ms)
						 : sl_rule_action(L, p, it, r, &actions);
		if (rc)
			return -1;
	}
	if (actions != 1)
		return sl_fail(L, path, "a rule needs exactly one of answer, answers, "
				   "pick, rank or rating");
	return 0;
}

static int sl_rules(struct sload *L, struct scenario *s, const char *path,
		    const cJSON *v, struct model_cfg *m)
{
	if (!cJSON_IsArray(v))
		return sl_fail(L, path, "expected a list of rules");
	m->n_rules = (size_t)cJSON_GetArraySize(v);
	m->rules = arena_alloc(L->a, (m->n_rules ? m->n_rules : 1) * sizeof(*m->rules));
	if (!m->rules)
		return sl_fail(L, path, "out of memory");
	size_t i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		char p[288];
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (sl_rule(L, s, p, it, &m->rules[i]))
			return -1;
	}
	return 0;
}

/* ---- models ---- */

static const char *const model_keys[] = {
	"latency", "jitter", "accuracy", "answer", "answers", "chunk_chars",
	"chunk_delay", "usage", "faults", "rules", "formats", "error_group",
	"correlation", "ignore_stream", "pretty", "content_type",
	"topic_accuracy", "decline_above", "decline_noise", "decline_marker",
};

static const char *const accuracy_keys[] = {"easy", "hard"};

/* A number (the same at every difficulty) or {easy: A0, hard: A1}. */
static int sl_accuracy(struct sload *L, const char *path, const cJSON *v,
		       struct accuracy *out)
{
	if (cJSON_IsNumber(v)) {
		if (sl_num(L, path, v, 0, 1, &out->easy))
			return -1;
		out->hard = out->easy;
		return 0;
	}
	if (!cJSON_IsObject(v))
		return sl_fail(L, path, "expected a number from 0 to 1 or {easy: A0, hard: A1}");
	if (sl_keys(L, path, v, accuracy_keys, 2))
		return -1;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "easy");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "hard");
	if (!e || !h)
		return sl_fail(L, path, "needs both 'easy' (at difficulty 0) and 'hard' "
			       "(at difficulty 1)");
	char p[420];
	snprintf(p, sizeof(p), "%s.easy", path);
	if (sl_num(L, p, e, 0, 1, &out->easy))
		return -1;
	snprintf(p, sizeof(p), "%s.hard", path);
	return sl_num(L, p, h, 0, 1, &out->hard);
}

/* topic_accuracy: {topic: accuracy, ...} */
static int sl_topic_accuracy(struct sload *L, const char *path, const cJSON *v,
			     struct model_cfg *m)
{
	if (!cJSON_IsObject(v))
		return sl_fail(L, path, "expected a mapping from topic to accuracy");
	m->n_topic_acc = (size_t)cJSON_GetArraySize(v);
	m->topic_acc = arena_alloc(L->a, (m->n_topic_acc ? m->n_topic_acc : 1) *
					       sizeof(*m->topic_acc));
	if (!m->topic_acc)
		return sl_fail(L, path, "out of memory");
	size_t i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		char p[400];
		snprintf(p, sizeof(p), "%s.%.100s", path, it->string);
		m->topic_acc[i].topic = arena_strdup(L->a, it->string);
		if (!m->topic_acc[i].topic)
			return sl_fail(L, p, "out of memory");
		if (sl_accuracy(L, p, it, &m->topic_acc[i].acc))
			return -1;
	}
	return 0;
}

/* decline_above, decline_noise, decline_marker */
static int sl_decline(struct sload *L, const char *path, const cJSON *it,
		      struct model_cfg *m)
{
	const char *k = it->string;
	if (!strcmp(k, "decline_above"))
		return sl_num(L, path, it, 0, 1, &m->decline_above);
	if (!strcmp(k, "decline_noise"))
		return sl_num(L, path, it, 0, 10, &m->decline_noise);
	if (sl_str(L, path, it, &m->decline_marker))
		return -1;
	return *m->decline_marker ? 0 : sl_fail(L, path, "expected a non-empty marker");
}

static int sl_model_key(struct sload *L, struct scenario *s, const char *path,
			const cJSON *it, struct model_cfg *m)
{
	const char *k = it->string;
	if (!strcmp(k, "rules"))
		return sl_rules(L, s, path, it, m);
	if (!strcmp(k, "latency"))
		return sl_duration(L, path, it, &m->latency_ms);
	if (!strcmp(k, "jitter"))
		return sl_duration(L, path, it, &m->jitter_ms);
	if (!strcmp(k, "chunk_delay"))
		return sl_duration(L, path, it, &m->chunk_delay_ms);
	if (!strcmp(k, "accuracy"))
		return sl_accuracy(L, path, it, &m->accuracy);
	if (!strcmp(k, "topic_accuracy"))
		return sl_topic_accuracy(L, path, it, m);
	if (!strncmp(k, "decline_", 8))
		return sl_decline(L, path, it, m);
	if (!strcmp(k, "correlation"))
		return sl_num(L, path, it, 0, 1, &m->correlation);
	if (!strcmp(k, "error_group")) {
		if (sl_str(L, path, it, &m->error_group))
			return -1;
		return *m->error_group ? 0 : sl_fail(L, path, "expected a group name");
	}
	if (!strcmp(k, "answer"))
		return sl_str(L, path, it, &m->answer);
	if (!strcmp(k, "answers"))
		return sl_strlist(L, path, it, &m->answers, &m->n_answers);
	if (!strcmp(k, "chunk_chars")) {
		long n = 0;
		if (sl_long(L, path, it, 1, 1 << 20, &n))
			return -1;
		m->chunk_chars = (size_t)n;
		return 0;
	}
	if (!strcmp(k, "content_type")) {
		if (sl_str(L, path, it, &m->content_type))
			return -1;
		if (!*m->content_type || strpbrk(m->content_type, "\r\n"))
			return sl_fail(L, path, "expected a media type");
		return 0;
	}
	int *flag = !strcmp(k, "usage")		? &m->usage
		    : !strcmp(k, "formats")	? &m->formats
		    : !strcmp(k, "ignore_stream") ? &m->ignore_stream
		    : !strcmp(k, "pretty")	? &m->pretty
						: NULL;
	if (flag) {
		if (!cJSON_IsBool(it))
			return sl_fail(L, path, "expected true or false");
		*flag = cJSON_IsTrue(it);
		return 0;
	}
	return sl_faults(L, path, it, m);
}

/* Fills m from v over the settings already in m (the defaults). */
static int sl_model(struct sload *L, struct scenario *s, const char *path,
		    const cJSON *v, struct model_cfg *m)
{
	if (sl_keys(L, path, v, model_keys, sizeof(model_keys) / sizeof(*model_keys)))
		return -1;
	for (const cJSON *it = v->child; it; it = it->next) {
		char p[256];
		snprintf(p, sizeof(p), "%s.%s", path, it->string);
		if (sl_model_key(L, s, p, it, m))
			return -1;
	}
	if (m->n_answers == 0 && m->answers)
		return sl_fail(L, path, "'answers' is empty");
	return 0;
}

static int sl_models(struct sload *L, struct scenario *s, const cJSON *v,
		     const struct model_cfg *base)
{
	if (!cJSON_IsObject(v))
		return sl_fail(L, "models", "expected a mapping from model name to settings");
	s->n_models = (size_t)cJSON_GetArraySize(v);
	s->models = arena_alloc(L->a, (s->n_models ? s->n_models : 1) *
					      sizeof(*s->models));
	if (!s->models)
		return sl_fail(L, "models", "out of memory");
	size_t i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		char p[200];
		snprintf(p, sizeof(p), "models.%.150s", it->string);
		struct model_cfg *m = &s->models[i];
		*m = *base;
		m->name = arena_strdup(L->a, it->string);
		if (!m->name)
			return sl_fail(L, p, "out of memory");
		if (!strcmp(m->name, "default"))
			s->fallback = m;
		if (!cJSON_IsNull(it) && sl_model(L, s, p, it, m))
			return -1;
		/* Checked here, not in sl_model: `defaults` may set the
		 * correlation and each model its own group. */
		if (m->correlation > 0 && !m->error_group)
			return sl_fail(L, p, "'correlation' needs an 'error_group' "
				       "whose members share the draws");
	}
	return 0;
}

static const char *const bank_keys[] = {"q", "a", "short", "wrong", "topic",
					"difficulty"};

/* The hidden topic and difficulty of a bank question. */
static int sl_bank_hidden(struct sload *L, const char *path, const cJSON *v,
			  struct bank_item *b)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "topic");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(v, "difficulty");
	char p[300];
	b->difficulty = 0.5;
	snprintf(p, sizeof(p), "%s.topic", path);
	if (t && (sl_str(L, p, t, &b->topic) || !*b->topic))
		return sl_fail(L, p, "expected a topic name");
	snprintf(p, sizeof(p), "%s.difficulty", path);
	return d ? sl_num(L, p, d, 0, 1, &b->difficulty) : 0;
}

static int sl_bank_item(struct sload *L, const char *path, const cJSON *v,
			struct bank_item *b)
{
	if (sl_keys(L, path, v, bank_keys, sizeof(bank_keys) / sizeof(*bank_keys)))
		return -1;
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(v, "q");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "a");
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(v, "short");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(v, "wrong");
	char p[300];
	snprintf(p, sizeof(p), "%s.q", path);
	if (!q || sl_str(L, p, q, &b->q) || !*b->q)
		return sl_fail(L, p, "a bank item needs a non-empty question");
	snprintf(p, sizeof(p), "%s.a", path);
	if (!a)
		return sl_fail(L, p, "a bank item needs an answer");
	if (sl_str(L, p, a, &b->a))
		return -1;
	snprintf(p, sizeof(p), "%s.short", path);
	if (sh && sl_str(L, p, sh, &b->short_a))
		return -1;
	if (!sh)
		b->short_a = b->a;
	snprintf(p, sizeof(p), "%s.wrong", path);
	if (w && sl_strlist(L, p, w, &b->wrong, &b->n_wrong))
		return -1;
	return sl_bank_hidden(L, path, v, b);
}

static int sl_bank(struct sload *L, struct scenario *s, const cJSON *v)
{
	if (!cJSON_IsArray(v))
		return sl_fail(L, "bank", "expected a list of {q, a, short, wrong}");
	s->n_bank = (size_t)cJSON_GetArraySize(v);
	s->bank = arena_alloc(L->a, (s->n_bank ? s->n_bank : 1) * sizeof(*s->bank));
	if (!s->bank)
		return sl_fail(L, "bank", "out of memory");
	size_t i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		char p[64];
		snprintf(p, sizeof(p), "bank[%zu]", i);
		if (sl_bank_item(L, p, it, &s->bank[i]))
			return -1;
	}
	return 0;
}

static const char *const top_keys[] = {
	"seed", "models", "defaults", "bank", "name", "description", "chaos", "tls",
	"embeddings",
};

static const char *const embed_keys[] = {
	"dim", "topic_weight", "difficulty_weight", "noise", "words_weight", "topics",
};

/* embeddings.topics: {name: [keyword, ...], ...} */
static int sl_embed_topics(struct sload *L, struct embed_cfg *c, const cJSON *v)
{
	if (!cJSON_IsObject(v))
		return sl_fail(L, "embeddings.topics",
			       "expected a mapping from topic to a list of keywords");
	c->n_topics = (size_t)cJSON_GetArraySize(v);
	c->topics = arena_alloc(L->a, (c->n_topics ? c->n_topics : 1) * sizeof(*c->topics));
	if (!c->topics)
		return sl_fail(L, "embeddings.topics", "out of memory");
	size_t i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		struct embed_topic *t = &c->topics[i];
		char p[200];
		snprintf(p, sizeof(p), "embeddings.topics.%.100s", it->string);
		t->name = arena_strdup(L->a, it->string);
		if (!t->name || !*t->name)
			return sl_fail(L, p, "expected a topic name");
		if (sl_strlist(L, p, it, &t->keywords, &t->n_keywords))
			return -1;
		for (size_t k = 0; k < t->n_keywords; k++)
			if (!*t->keywords[k])
				return sl_fail(L, p, "expected non-empty keywords");
	}
	return 0;
}

/* embeddings: {dim, topic_weight, difficulty_weight, noise, words_weight,
 * topics}, each optional. */
static int sl_embed(struct sload *L, struct embed_cfg *c, const cJSON *v)
{
	if (sl_keys(L, "embeddings", v, embed_keys, sizeof(embed_keys) / sizeof(*embed_keys)))
		return -1;
	for (const cJSON *it = v->child; it; it = it->next) {
		char p[64];
		const char *k = it->string;
		snprintf(p, sizeof(p), "embeddings.%s", k);
		int rc = 0;
		if (!strcmp(k, "dim")) {
			long n = 0;
			rc = sl_long(L, p, it, 2, 4096, &n);
			c->dim = (size_t)n;
		} else if (!strcmp(k, "topics")) {
			rc = sl_embed_topics(L, c, it);
		} else {
			double *w = !strcmp(k, "topic_weight")	     ? &c->topic_weight
				    : !strcmp(k, "difficulty_weight") ? &c->difficulty_weight
				    : !strcmp(k, "noise")	      ? &c->noise
								      : &c->words_weight;
			rc = sl_num(L, p, it, 0, 100, w);
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* A PEM file's text, into the arena. */
static int sl_pem(struct sload *L, const char *path, const cJSON *v, const char **out)
{
	const char *file = NULL;
	if (sl_str(L, path, v, &file))
		return -1;
	FILE *f = fopen(file, "rb");
	if (!f)
		return sl_fail(L, path, "cannot open '%s': %s", file, strerror(errno));
	struct buf b;
	buf_init(&b, 1 << 20);
	char chunk[4096];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_append(&b, chunk, n);
	fclose(f);
	*out = rc || !b.len ? NULL : arena_strndup(L->a, b.data, b.len);
	buf_release(&b);
	return *out ? 0 : sl_fail(L, path, "cannot read '%s'", file);
}

static const char *const tls_keys[] = {"cert", "key"};

static int sl_tls(struct sload *L, struct scenario *s, const cJSON *v)
{
	if (sl_keys(L, "tls", v, tls_keys, sizeof(tls_keys) / sizeof(*tls_keys)))
		return -1;
	const cJSON *cert = cJSON_GetObjectItemCaseSensitive(v, "cert");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(v, "key");
	if (!cert || !key)
		return sl_fail(L, "tls", "needs both 'cert' and 'key' (PEM files)");
	return sl_pem(L, "tls.cert", cert, &s->tls_cert) ||
	       sl_pem(L, "tls.key", key, &s->tls_key) ? -1 : 0;
}

static int sl_top(struct sload *L, struct scenario *s, const cJSON *root)
{
	if (sl_keys(L, "", root, top_keys, sizeof(top_keys) / sizeof(*top_keys)))
		return -1;
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
	if (seed) {
		double d = 0;
		if (sl_num(L, "seed", seed, 0, 9007199254740992.0, &d))
			return -1;
		s->seed = (uint64_t)d;
	}
	struct model_cfg base = {.accuracy = {1.0, 1.0}, .chunk_chars = 8, .usage = 1,
				 .formats = 1, .decline_above = -1,
				 .decline_marker = "[[DECLINE]]"};
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(root, "defaults");
	if (defs && sl_model(L, s, "defaults", defs, &base))
		return -1;
	const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
	if (models && sl_models(L, s, models, &base))
		return -1;
	const cJSON *bank = cJSON_GetObjectItemCaseSensitive(root, "bank");
	if (bank && sl_bank(L, s, bank))
		return -1;
	const cJSON *chaos = cJSON_GetObjectItemCaseSensitive(root, "chaos");
	if (chaos && sl_chaos(L, s, chaos))
		return -1;
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(root, "tls");
	if (tls && sl_tls(L, s, tls))
		return -1;
	s->embed = (struct embed_cfg){.dim = 64, .topic_weight = 1.0,
				      .difficulty_weight = 0.6, .noise = 0.15,
				      .words_weight = 0.5};
	const cJSON *emb = cJSON_GetObjectItemCaseSensitive(root, "embeddings");
	if (emb && sl_embed(L, &s->embed, emb))
		return -1;
	return 0;
}

int scenario_load(struct scenario *s, const char *name, const char *text,
		  size_t len, struct qerr *e)
{
	memset(s, 0, sizeof(*s));
	cJSON *root = yamljson_parse(name, text, len, e);
	if (!root)
		return -1;
	s->arena = arena_new();
	struct sload L = {.name = name, .e = e, .a = s->arena};
	int rc = s->arena ? sl_top(&L, s, root)
			  : qerr_set(e, "out of memory");
	cJSON_Delete(root);
	if (rc) {
		scenario_release(s);
		return -1;
	}
	return 0;
}

void scenario_release(struct scenario *s)
{
	for (struct scenario_regex *r = s->regexes; r; r = r->next)
		regex_free(r->re);
	arena_free(s->arena);
	memset(s, 0, sizeof(*s));
}

const struct model_cfg *scenario_model(const struct scenario *s,
				       const char *name)
{
	for (size_t i = 0; i < s->n_models; i++)
		if (!strcmp(s->models[i].name, name))
			return &s->models[i];
	return s->fallback;
}

double scenario_accuracy(const struct model_cfg *m, const struct bank_item *b)
{
	const struct accuracy *a = &m->accuracy;
	for (size_t i = 0; b && b->topic && i < m->n_topic_acc; i++)
		if (!strcmp(m->topic_acc[i].topic, b->topic))
			a = &m->topic_acc[i].acc;
	if (a->easy == a->hard)
		return a->easy;
	double d = b ? b->difficulty : 0.5;
	return a->easy + (a->hard - a->easy) * d;
}
