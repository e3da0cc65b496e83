#ifndef QUORUM_SIM_EMBED_H
#define QUORUM_SIM_EMBED_H
#include <stddef.h>

#include "scenario.h"

/* The simulated embedding vectors, built so that routing research has
 * something to find (README.md, "Embeddings"). A text's vector is
 *
 *     normalize(topic_weight * u_topic
 *               + difficulty_weight * (d + noise * g) * u_diff
 *               + words_weight * h)
 *
 * u_topic: a fixed pseudo-random unit vector per topic name (seeded by the
 * name and the scenario's seed); u_diff: a fixed unit vector (seeded by
 * the seed alone) to which every u_topic and h are made orthogonal, so
 * that the projection on u_diff is the difficulty term alone; g: a
 * standard normal seeded by the text's hash; h: the hashed, signed bag of
 * the text's lower-cased words, normalized. A text holding a bank
 * question has its topic (else the keyword topic) and difficulty; any
 * other text the topic whose keywords it holds most, and no difficulty
 * term. Pure and deterministic: the same scenario and text give the same
 * vector in any process. */

/* What the simulator read in one text. */
struct embed_meta {
	long bank;          /* the bank question it holds, or -1 */
	const char *topic;  /* its topic (borrowed from the scenario), or NULL */
	double difficulty;  /* the bank question's; 0 for any other text */
	long words;         /* how many words: the tokens it costs */
};

/* Fills v[0..sc->embed.dim) with text's unit vector and, when meta is not
 * NULL, *meta. Returns 0, or -1 when memory ran out. */
int embed_text(const struct scenario *sc, const char *text, float *v,
	       struct embed_meta *meta);

/* The number of words in text (runs of letters and digits, any byte of a
 * UTF-8 sequence counting as a letter). */
long embed_words(const char *text);

#endif
