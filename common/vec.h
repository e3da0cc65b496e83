#ifndef QUORUM_VEC_H
#define QUORUM_VEC_H
/* The little vector math embeddings need, over float vectors (what the
 * providers' embeddings are), summed in double so a long or huge vector
 * neither overflows nor loses its small terms. */
#include <stddef.h>

/* The cosine similarity of a[0..dim) and b[0..dim), in [-1, 1] (rounding
 * never steps past either end); 0 when either is the zero vector or dim
 * is 0. */
double vec_cosine(const float *a, const float *b, size_t dim);

/* Scales v[0..dim) to length 1, so a dot product is the cosine; the zero
 * vector is left as it is. */
void vec_normalize(float *v, size_t dim);

#endif
