#include "vec.h"

#include <math.h>

double vec_cosine(const float *a, const float *b, size_t dim)
{
	double ab = 0, aa = 0, bb = 0;
	for (size_t i = 0; i < dim; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	if (!(aa > 0 && bb > 0))
		return 0;
	double c = ab / sqrt(aa * bb);
	return c > 1 ? 1 : c < -1 ? -1 : c;
}

void vec_normalize(float *v, size_t dim)
{
	double sum = 0;
	for (size_t i = 0; i < dim; i++)
		sum += (double)v[i] * v[i];
	if (sum == 0)
		return;
	double norm = sqrt(sum);
	for (size_t i = 0; i < dim; i++)
		v[i] = (float)(v[i] / norm);
}
