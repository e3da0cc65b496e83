#ifndef QUORUM_SVGPLOT_H
#define QUORUM_SVGPLOT_H
/* `quorum eval --plot`: cost against accuracy as a small standalone SVG
 * (720 x 480, no scripts, no external fonts or files). One labelled point
 * per system (workflows as filled circles, single models as open
 * squares), its 95 % interval as a vertical whisker, the Pareto frontier
 * (evalstats_pareto) as a line through its points, axis ticks, a title and
 * a legend.
 *
 * x is the mean cost per query in USD, shown per query, per 1,000 or per
 * million queries, whichever first brings the dearest system to $0.10 or
 * more (the axis title says which); on a log scale when every drawn cost
 * is above zero and the dearest is more than 10 times the cheapest, else
 * linear from 0. y is accuracy in percent, from the multiple of 10 below
 * the lowest whisker to the one above the highest (at least 20 points
 * apart, within 0..100), so systems a few points apart stay apart. */
#include <stddef.h>

#include "../common/buf.h"

enum svgplot_kind {
	SVGPLOT_WORKFLOW,    /* a filled circle */
	SVGPLOT_MODEL,       /* a single model alone: an open square */
};

struct svgplot_point {
	const char *label;   /* shown beside the point (any UTF-8; escaped) */
	enum svgplot_kind kind;
	double cost;         /* mean USD per query; NaN or negative: unknown,
			      * the point is not drawn but named in a note */
	double acc;          /* 0..1; NaN: not drawn */
	double lo, hi;       /* its 95 % interval, 0..1; NaN: no whisker */
};

struct svgplot {
	const char *title;      /* NULL: "Cost and accuracy" */
	const char *subtitle;   /* a second, smaller line; NULL: none */
	const struct svgplot_point *points;   /* n of them, borrowed for the call */
	size_t n;
};

/* Appends the SVG document of p to out (as text, NUL-terminated).
 * Returns 0, or -1 when memory ran out or out's cap was hit; out is then
 * left as buf_* leaves a failed buffer (emptied, unusable until
 * buf_reset). */
int svgplot_write(const struct svgplot *p, struct buf *out);

#endif
