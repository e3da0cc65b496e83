/* The simulated embedding vectors (embed.h): a topic direction, a
 * difficulty direction and hashed words, mixed by the scenario's weights. */
#include "embed.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/rng.h"
#include "decide.h"
#include "prompt.h"

enum {
	KEY_DIFF = 0x64696666,   /* the difficulty direction */
	KEY_TOPIC = 0x746f7063,  /* a topic's direction */
	KEY_NOISE = 0x6e6f6973,  /* a text's difficulty noise */
	KEY_EMPTY = 0x656d7074,  /* a text with nothing to go by */
};

/* A standard normal from splitmix64, a generator whose whole state is
 * its seed. */
static double rng_normal(uint64_t *s)
{
	double u1 = splitmix64_unit(s, 1.0); /* (0, 1] */
	double u2 = splitmix64_unit(s, 0.0);
	return box_muller(u1, u2);
}

static double dot(const double *a, const double *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* Scales v to length 1; returns 0, or -1 (v unchanged) when it is 0. */
static int normalize(double *v, size_t n)
{
	double len = sqrt(dot(v, v, n));
	if (len < 1e-12)
		return -1;
	for (size_t i = 0; i < n; i++)
		v[i] /= len;
	return 0;
}

/* Takes out of v its component along the unit vector u. */
static void orthogonal(double *v, const double *u, size_t n)
{
	double p = dot(v, u, n);
	for (size_t i = 0; i < n; i++)
		v[i] -= p * u[i];
}

/* A pseudo-random unit vector, the same for the same key; orthogonal to
 * u unless u is NULL. */
static void random_unit(uint64_t key, const double *u, double *v, size_t n)
{
	uint64_t s = key;
	do {
		for (size_t i = 0; i < n; i++)
			v[i] = rng_normal(&s);
		if (u)
			orthogonal(v, u, n);
	} while (normalize(v, n));
}

static int word_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c >= 0x80;
}

long embed_words(const char *text)
{
	long n = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		n += word_byte(*p) && (p == (const unsigned char *)text || !word_byte(p[-1]));
	return n;
}

/* Feature hashing: each lower-cased word adds +1 or -1 to one of n
 * buckets, both picked by its hash. Returns the number of words. */
static long hash_words(const char *text, double *h, size_t n)
{
	long words = 0;
	memset(h, 0, n * sizeof(*h));
	for (const unsigned char *p = (const unsigned char *)text; *p;) {
		if (!word_byte(*p)) {
			p++;
			continue;
		}
		uint64_t x = 0xcbf29ce484222325ULL;
		for (; *p && word_byte(*p); p++) {
			unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
			x = (x ^ c) * 0x100000001b3ULL;
		}
		x = splitmix64_next(&x);
		h[x % n] += x >> 63 ? -1.0 : 1.0;
		words++;
	}
	return words;
}

/* The topic whose keywords text holds most (any case; the first listed
 * on a tie), or NULL when it holds none. */
static const char *keyword_topic(const struct embed_cfg *c, const char *text)
{
	const char *best = NULL;
	size_t best_hits = 0, len = strlen(text);
	for (size_t i = 0; i < c->n_topics; i++) {
		size_t hits = 0;
		for (size_t k = 0; k < c->topics[i].n_keywords; k++)
			hits += prompt_find(text, len, c->topics[i].keywords[k]) != NULL;
		if (hits > best_hits) {
			best_hits = hits;
			best = c->topics[i].name;
		}
	}
	return best;
}

static void read_meta(const struct scenario *sc, const char *text,
		      struct embed_meta *m)
{
	m->bank = sim_bank_find(sc, text);
	m->topic = m->bank >= 0 ? sc->bank[m->bank].topic : NULL;
	if (!m->topic)
		m->topic = keyword_topic(&sc->embed, text);
	m->difficulty = m->bank >= 0 ? sc->bank[m->bank].difficulty : 0;
}

int embed_text(const struct scenario *sc, const char *text, float *v,
	       struct embed_meta *meta)
{
	const struct embed_cfg *c = &sc->embed;
	size_t n = c->dim;
	double *w = q_malloc(3 * n * sizeof(*w));
	if (!w)
		return -1;
	double *u_diff = w, *t = w + n, *out = w + 2 * n;
	struct embed_meta m;
	read_meta(sc, text, &m);
	random_unit(sim_hash(sc->seed ^ KEY_DIFF, ""), NULL, u_diff, n);
	memset(out, 0, n * sizeof(*out));
	if (m.topic && c->topic_weight > 0) {
		random_unit(sim_hash(sc->seed ^ KEY_TOPIC, m.topic), u_diff, t, n);
		for (size_t i = 0; i < n; i++)
			out[i] += c->topic_weight * t[i];
	}
	if (m.bank >= 0) {
		uint64_t s = sim_hash(sc->seed ^ KEY_NOISE, text);
		double d = c->difficulty_weight * (m.difficulty + c->noise * rng_normal(&s));
		for (size_t i = 0; i < n; i++)
			out[i] += d * u_diff[i];
	}
	m.words = hash_words(text, t, n);
	orthogonal(t, u_diff, n);
	if (c->words_weight > 0 && !normalize(t, n))
		for (size_t i = 0; i < n; i++)
			out[i] += c->words_weight * t[i];
	/* Nothing to go by (no words, no topic, or every weight 0): a
	 * direction of the text's own. */
	if (normalize(out, n))
		random_unit(sim_hash(sc->seed ^ KEY_EMPTY, text), u_diff, out, n);
	for (size_t i = 0; i < n; i++)
		v[i] = (float)out[i];
	q_free(w);
	if (meta)
		*meta = m;
	return 0;
}
