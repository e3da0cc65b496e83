/* The cost/accuracy chart of `quorum eval --plot`: see svgplot.h. */
#include "svgplot.h"

#include <math.h>
#include <string.h>

#include "../common/alloc.h"
#include "evalstats.h"

/* The canvas and the plot area inside it, in pixels. */
#define W 720
#define H 480
#define PL 78.0
#define PR 696.0
#define PT 70.0
#define PB 404.0
#define INSET 14.0      /* the data keep clear of the y axis and the right edge */
#define CHAR_W 6.5      /* a 12 px sans-serif's mean advance, for label boxes */

#define C_WORKFLOW "#1d4ed8"
#define C_MODEL "#c2410c"
#define C_FRONT "#16a34a"
#define C_GRID "#e5e7eb"
#define C_AXIS "#4b5563"
#define C_TEXT "#111827"
#define C_MUTED "#6b7280"

struct box {
	double x0, y0, x1, y1;
};

struct scale {
	double lo, hi;    /* x: the scaled cost, its log10 on a log scale; y: percent */
	double step;      /* linear ticks */
	int log;
	double unit;      /* x: the cost is shown per this many queries */
};

struct label {
	double dx, dy;    /* the text's anchor, from the point */
	int end;          /* text-anchor: end (the text goes left) */
	double away;      /* what sitting this far from the point costs */
};

struct plot {
	const struct svgplot *p;
	struct scale x, y;
	double *cost, *acc;      /* per point; NaN when the point is not drawn */
	double *px, *py;
	struct label *lab;
	size_t *front, nfront;
	struct box legend;
	int has_wf, has_model, has_whisker;
	size_t ndrawn;
};

/* ---- text ---- */

/* The length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* s as XML character data or attribute text: the five specials escaped,
 * control characters as spaces and invalid UTF-8 as U+FFFD, so whatever a
 * label holds the document stays well-formed. */
static void put_text(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	while (*u) {
		size_t n = utf8_len(u);
		if (!n) {
			buf_puts(b, "\xEF\xBF\xBD");
			u++;
			continue;
		}
		if (n > 1)
			buf_append(b, u, n);
		else if (*u == '&')
			buf_puts(b, "&amp;");
		else if (*u == '<')
			buf_puts(b, "&lt;");
		else if (*u == '>')
			buf_puts(b, "&gt;");
		else if (*u == '"')
			buf_puts(b, "&quot;");
		else if (*u == '\'')
			buf_puts(b, "&apos;");
		else
			buf_putc(b, *u < 0x20 ? ' ' : (char)*u);
		u += n;
	}
}

/* The width a label takes on screen, roughly: characters, not bytes. */
static double text_width(const char *s)
{
	size_t chars = 0;
	for (const unsigned char *u = (const unsigned char *)(s ? s : ""); *u; u++)
		chars += (*u & 0xC0) != 0x80;
	return (double)chars * CHAR_W;
}

/* ---- scales ---- */

static int drawn(const struct plot *P, size_t i)
{
	return !isnan(P->cost[i]);
}

/* 1, 2 or 5 times a power of ten, at least raw. */
static double nice_step(double raw)
{
	double e = pow(10.0, floor(log10(raw)));
	double f = raw / e;
	return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * e;
}

static void scale_x(struct plot *P)
{
	double mn = INFINITY, mx = 0.0;
	for (size_t i = 0; i < P->p->n; i++)
		if (drawn(P, i)) {
			mn = fmin(mn, P->cost[i]);
			mx = fmax(mx, P->cost[i]);
		}
	struct scale *s = &P->x;
	s->unit = 1.0;
	while (mx > 0.0 && mx * s->unit < 0.1 && s->unit < 1e6)
		s->unit *= 1000.0;
	s->log = mn > 0.0 && mn < INFINITY && mx > 10.0 * mn;
	if (s->log) {
		/* Whole decades, with a little room around the extremes. */
		s->lo = floor(log10(mn * s->unit) - 0.05);
		s->hi = ceil(log10(mx * s->unit) + 0.05);
		return;
	}
	double top = mx * s->unit * 1.06;
	s->step = top > 0.0 ? nice_step(top / 5.0) : 0.2;
	s->lo = 0.0;
	s->hi = top > 0.0 ? ceil(top / s->step) * s->step : 1.0;
}

static void scale_y(struct plot *P)
{
	double mn = INFINITY, mx = -INFINITY;
	for (size_t i = 0; i < P->p->n; i++) {
		if (!drawn(P, i))
			continue;
		const struct svgplot_point *pt = &P->p->points[i];
		mn = fmin(mn, 100.0 * (isnan(pt->lo) ? pt->acc : fmin(pt->lo, pt->acc)));
		mx = fmax(mx, 100.0 * (isnan(pt->hi) ? pt->acc : fmax(pt->hi, pt->acc)));
	}
	struct scale *s = &P->y;
	s->step = 10.0;
	s->lo = mn < INFINITY ? fmax(0.0, floor((mn - 1.0) / 10.0) * 10.0) : 0.0;
	s->hi = mx > -INFINITY ? fmin(100.0, ceil((mx + 1.0) / 10.0) * 10.0) : 100.0;
	while (s->hi - s->lo < 20.0) {
		if (s->lo > 0.0)
			s->lo -= 10.0;
		else
			s->hi += 10.0;
	}
}

/* Pixels of a cost in USD per query, and of an accuracy (0..1). */
static double xpix(const struct plot *P, double cost)
{
	const struct scale *s = &P->x;
	double v = cost * s->unit;
	double t = s->log ? (log10(v) - s->lo) / (s->hi - s->lo) : (v - s->lo) / (s->hi - s->lo);
	return PL + INSET + t * (PR - PL - 2.0 * INSET);
}

static double ypix(const struct plot *P, double acc)
{
	return PB - (100.0 * acc - P->y.lo) / (P->y.hi - P->y.lo) * (PB - PT);
}

/* ---- placement ---- */

static double overlap(struct box a, struct box b)
{
	double w = fmin(a.x1, b.x1) - fmax(a.x0, b.x0);
	double h = fmin(a.y1, b.y1) - fmax(a.y0, b.y0);
	return w > 0.0 && h > 0.0 ? w * h : 0.0;
}

/* The area of a that lies outside the plot area. */
static double outside(struct box a)
{
	struct box area = {PL, PT, PR, PB};
	return (a.x1 - a.x0) * (a.y1 - a.y0) - overlap(a, area);
}

/* Around a marker, r pixels each way. */
static struct box marker_box(const struct plot *P, size_t i, double r)
{
	return (struct box){P->px[i] - r, P->py[i] - r, P->px[i] + r, P->py[i] + r};
}

static struct box whisker_box(const struct plot *P, size_t i)
{
	const struct svgplot_point *pt = &P->p->points[i];
	if (isnan(pt->lo) || isnan(pt->hi))
		return (struct box){0, 0, 0, 0};
	return (struct box){P->px[i] - 4.0, ypix(P, pt->hi), P->px[i] + 4.0, ypix(P, pt->lo)};
}

static struct box label_box(const struct plot *P, size_t i, struct label l)
{
	double w = text_width(P->p->points[i].label);
	double x = P->px[i] + l.dx, y = P->py[i] + l.dy;
	return (struct box){l.end ? x - w : x, y - 10.0, l.end ? x : x + w, y + 3.0};
}

/* How much of the frontier's line runs through b (sampled every 4 px). */
static double frontier_cover(const struct plot *P, struct box b)
{
	double c = 0.0;
	for (size_t k = 1; k < P->nfront; k++) {
		double x0 = P->px[P->front[k - 1]], y0 = P->py[P->front[k - 1]];
		double x1 = P->px[P->front[k]], y1 = P->py[P->front[k]];
		int steps = (int)(hypot(x1 - x0, y1 - y0) / 4.0) + 1;
		for (int i = 0; i <= steps; i++) {
			double t = (double)i / steps, x = x0 + t * (x1 - x0), y = y0 + t * (y1 - y0);
			c += overlap(b, (struct box){x - 2.0, y - 2.0, x + 2.0, y + 2.0});
		}
	}
	return c;
}

/* The legend in whichever corner of the plot covers the fewest points
 * (bottom right first: dear and poor is where systems seldom are). */
static void place_legend(struct plot *P, int rows, double width)
{
	double w = width, h = 10.0 + 18.0 * rows;
	const struct box corner[] = {
		{PR - 8 - w, PB - 8 - h, PR - 8, PB - 8},
		{PL + 8, PT + 8, PL + 8 + w, PT + 8 + h},
		{PR - 8 - w, PT + 8, PR - 8, PT + 8 + h},
		{PL + 8, PB - 8 - h, PL + 8 + w, PB - 8},
	};
	double best = INFINITY;
	for (size_t c = 0; c < sizeof(corner) / sizeof(*corner); c++) {
		double cover = frontier_cover(P, corner[c]);
		for (size_t i = 0; i < P->p->n; i++)
			if (drawn(P, i))
				cover += overlap(corner[c], marker_box(P, i, 7.0)) +
					 overlap(corner[c], whisker_box(P, i)) +
					 overlap(corner[c], label_box(P, i, (struct label){9, 4, 0, 0}));
		if (cover < best) {
			best = cover;
			P->legend = corner[c];
		}
	}
}

/* How badly label l of point i would sit: the area it shares with the
 * legend, the markers (kept at a distance, so a label is not read as
 * another point's), the whiskers, the frontier and the labels placed
 * before it, the area it sticks out of the plot, and its distance from
 * its point. */
static double label_cost(const struct plot *P, size_t i, struct label l, const char *placed)
{
	struct box b = label_box(P, i, l);
	double c = l.away + 4.0 * outside(b) + 2.0 * overlap(b, P->legend) + frontier_cover(P, b);
	for (size_t j = 0; j < P->p->n; j++) {
		if (!drawn(P, j))
			continue;
		c += 3.0 * overlap(b, marker_box(P, j, j == i ? 7.0 : 9.0)) +
		     overlap(b, whisker_box(P, j));
		if (placed[j])
			c += 3.0 * overlap(b, label_box(P, j, P->lab[j]));
	}
	return c;
}

/* Each label beside its point where it covers nothing, or else where it
 * costs least: to the right, left, above, below, then a line or two
 * further out. Workflows choose first. */
static void place_labels(struct plot *P, char *placed)
{
	static const struct label cand[] = {
		{9, 4, 0, 0},     {-9, 4, 1, 0},    {6, -9, 0, 0},    {6, 17, 0, 0},
		{-6, -9, 1, 0},   {-6, 17, 1, 0},   {9, 18, 0, 60},   {9, -10, 0, 60},
		{-9, 18, 1, 60},  {-9, -10, 1, 60}, {9, 31, 0, 150},  {9, -23, 0, 150},
		{-9, 31, 1, 150}, {-9, -23, 1, 150},
	};
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < P->p->n; i++) {
			int wf = P->p->points[i].kind == SVGPLOT_WORKFLOW;
			if (!drawn(P, i) || wf != (pass == 0))
				continue;
			double best = INFINITY;
			for (size_t c = 0; c < sizeof(cand) / sizeof(*cand) && best > cand[c].away; c++) {
				double k = label_cost(P, i, cand[c], placed);
				if (k < best) {
					best = k;
					P->lab[i] = cand[c];
				}
			}
			placed[i] = 1;
		}
}

/* ---- drawing ---- */

/* A tick's text: "$0.05", "$1", "$200" (decimals as the step needs). */
static void put_money(struct buf *b, double v, double step)
{
	int dec = step < 1.0 ? (int)ceil(-log10(step) - 1e-9) : 0;
	buf_printf(b, "$%.*f", dec, v);
}

static void draw_x_tick(struct plot *P, struct buf *b, double v, double step, int label)
{
	double x = P->x.log ? xpix(P, pow(10.0, v) / P->x.unit) : xpix(P, v / P->x.unit);
	double shown = P->x.log ? pow(10.0, v) : v;
	if (label) {
		buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			   x, PT, x, PB, C_GRID);
		buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			   x, PB, x, PB + 5.0, C_AXIS);
		buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">", x,
			   PB + 19.0, C_TEXT);
		put_money(b, shown, step);
		buf_puts(b, "</text>\n");
	} else {
		buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			   x, PB, x, PB + 3.0, C_AXIS);
	}
}

static void draw_x_axis(struct plot *P, struct buf *b)
{
	const struct scale *s = &P->x;
	if (s->log) {
		int few = s->hi - s->lo <= 2.0;
		for (double e = s->lo; e <= s->hi + 1e-9; e += 1.0)
			for (int k = 1; k < 10 && (k == 1 || e < s->hi - 1e-9); k++) {
				int major = k == 1 || (few && (k == 2 || k == 5));
				double v = e + log10((double)k);
				draw_x_tick(P, b, v, pow(10.0, e), major);
			}
	} else {
		long n = lround(s->hi / s->step);
		for (long i = 0; i <= n; i++)
			draw_x_tick(P, b, (double)i * s->step, s->step, 1);
	}
	static const char *const per[] = {"per query", "per 1,000 queries",
					  "per million queries"};
	int u = s->unit >= 1e6 ? 2 : s->unit >= 1e3 ? 1 : 0;
	buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">"
		   "cost in USD %s%s</text>\n", (PL + PR) / 2.0, PB + 42.0, C_TEXT, per[u],
		   s->log ? " (log scale)" : "");
}

static void draw_y_axis(struct plot *P, struct buf *b)
{
	for (double v = P->y.lo; v <= P->y.hi + 1e-9; v += P->y.step) {
		double y = ypix(P, v / 100.0);
		buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			   PL, y, PR, y, C_GRID);
		buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			   PL - 5.0, y, PL, y, C_AXIS);
		buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"%s\">%.0f%%</text>\n",
			   PL - 9.0, y + 4.0, C_TEXT, v);
	}
	buf_printf(b, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" "
		   "fill=\"%s\">accuracy, with its 95%% interval</text>\n", 22.0, (PT + PB) / 2.0,
		   C_TEXT);
	buf_printf(b, "<path d=\"M%.1f,%.1fV%.1fH%.1f\" fill=\"none\" stroke=\"%s\"/>\n", PL, PT, PB,
		   PR, C_AXIS);
}

static void draw_frontier(struct plot *P, struct buf *b)
{
	if (!P->nfront)
		return;
	buf_printf(b, "<polyline class=\"frontier\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
		   "stroke-linejoin=\"round\" stroke-opacity=\"0.85\" points=\"", C_FRONT);
	for (size_t k = 0; k < P->nfront; k++)
		buf_printf(b, "%s%.1f,%.1f", k ? " " : "", P->px[P->front[k]], P->py[P->front[k]]);
	buf_puts(b, "\"/>\n");
}

/* The marker of a kind at the origin. */
static void put_marker(struct buf *b, int workflow)
{
	if (workflow)
		buf_printf(b, "<circle r=\"5.5\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"1\"/>",
			   C_WORKFLOW);
	else
		buf_printf(b, "<rect x=\"-4.5\" y=\"-4.5\" width=\"9\" height=\"9\" fill=\"#fff\" "
			   "stroke=\"%s\" stroke-width=\"2\"/>", C_MODEL);
}

static void draw_point(struct plot *P, struct buf *b, size_t i)
{
	const struct svgplot_point *pt = &P->p->points[i];
	int wf = pt->kind == SVGPLOT_WORKFLOW;
	const char *color = wf ? C_WORKFLOW : C_MODEL;
	buf_printf(b, "<g class=\"system %s\" transform=\"translate(%.1f,%.1f)\">\n<title>",
		   wf ? "workflow" : "model", P->px[i], P->py[i]);
	put_text(b, pt->label);
	buf_printf(b, ": %.1f%%", 100.0 * pt->acc);
	if (!isnan(pt->lo) && !isnan(pt->hi))
		buf_printf(b, " (95%% interval %.1f-%.1f%%)", 100.0 * pt->lo, 100.0 * pt->hi);
	buf_printf(b, ", $%.3g per %s</title>\n", pt->cost * P->x.unit,
		   P->x.unit >= 1e6 ? "million queries" : P->x.unit >= 1e3 ? "1,000 queries" : "query");
	if (!isnan(pt->lo) && !isnan(pt->hi)) {
		double y0 = ypix(P, pt->hi) - P->py[i], y1 = ypix(P, pt->lo) - P->py[i];
		buf_printf(b, "<path class=\"whisker\" d=\"M-4,%.1fH4M0,%.1fV%.1fM-4,%.1fH4\" "
			   "fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\" stroke-opacity=\"0.7\"/>\n",
			   y0, y0, y1, y1, color);
	}
	put_marker(b, wf);
	const struct label *l = &P->lab[i];
	buf_printf(b, "\n<text x=\"%.0f\" y=\"%.0f\"%s fill=\"%s\" stroke=\"#fff\" "
		   "stroke-width=\"3\" paint-order=\"stroke\">", l->dx, l->dy,
		   l->end ? " text-anchor=\"end\"" : "", C_TEXT);
	put_text(b, pt->label);
	buf_puts(b, "</text>\n</g>\n");
}

static const char *const legend_text[] = {
	"workflow", "single model", "95% interval", "Pareto frontier",
};

static void draw_legend(struct plot *P, struct buf *b)
{
	int show[4] = {P->has_wf, P->has_model, P->has_whisker, P->nfront > 1};
	buf_printf(b, "<g class=\"legend\" transform=\"translate(%.1f,%.1f)\">\n", P->legend.x0,
		   P->legend.y0);
	buf_printf(b, "<rect width=\"%.1f\" height=\"%.1f\" rx=\"4\" fill=\"#fff\" "
		   "fill-opacity=\"0.9\" stroke=\"%s\"/>\n", P->legend.x1 - P->legend.x0,
		   P->legend.y1 - P->legend.y0, C_GRID);
	double y = 18.0;
	for (int k = 0; k < 4; k++) {
		if (!show[k])
			continue;
		buf_printf(b, "<g transform=\"translate(18,%.1f)\">", y - 4.0);
		if (k < 2)
			put_marker(b, k == 0);
		else if (k == 2)
			buf_printf(b, "<path d=\"M-4,-7H4M0,-7V7M-4,7H4\" fill=\"none\" stroke=\"%s\" "
				   "stroke-width=\"1.3\"/>", C_AXIS);
		else
			buf_printf(b, "<path d=\"M-9,4L9,-4\" stroke=\"%s\" stroke-width=\"2\"/>", C_FRONT);
		buf_printf(b, "</g><text x=\"34\" y=\"%.1f\" fill=\"%s\">%s</text>\n", y, C_TEXT,
			   legend_text[k]);
		y += 18.0;
	}
	buf_puts(b, "</g>\n");
}

/* The systems that could not be drawn, named under the chart. */
static void draw_note(struct plot *P, struct buf *b)
{
	if (P->ndrawn == P->p->n)
		return;
	buf_printf(b, "<text x=\"16\" y=\"%d\" font-size=\"11\" fill=\"%s\">not shown (cost or "
		   "accuracy unknown): ", H - 8, C_MUTED);
	int first = 1;
	for (size_t i = 0; i < P->p->n; i++)
		if (!drawn(P, i)) {
			buf_puts(b, first ? "" : ", ");
			put_text(b, P->p->points[i].label);
			first = 0;
		}
	buf_puts(b, "</text>\n");
}

/* ---- the whole ---- */

static int plot_init(struct plot *P, const struct svgplot *p)
{
	size_t n = p->n ? p->n : 1;
	memset(P, 0, sizeof(*P));
	P->p = p;
	P->cost = q_malloc(4 * n * sizeof(double));
	P->lab = q_calloc(n, sizeof(*P->lab));
	P->front = q_malloc(n * sizeof(*P->front));
	if (!P->cost || !P->lab || !P->front)
		return -1;
	P->acc = P->cost + n;
	P->px = P->acc + n;
	P->py = P->px + n;
	for (size_t i = 0; i < p->n; i++) {
		const struct svgplot_point *pt = &p->points[i];
		int ok = !isnan(pt->cost) && pt->cost >= 0.0 && !isnan(pt->acc);
		P->cost[i] = ok ? pt->cost : NAN;
		P->acc[i] = ok ? pt->acc : NAN;
		if (!ok)
			continue;
		P->ndrawn++;
		P->has_wf |= pt->kind == SVGPLOT_WORKFLOW;
		P->has_model |= pt->kind != SVGPLOT_WORKFLOW;
		P->has_whisker |= !isnan(pt->lo) && !isnan(pt->hi);
	}
	P->nfront = evalstats_pareto(P->cost, P->acc, p->n, P->front);
	scale_x(P);
	scale_y(P);
	for (size_t i = 0; i < p->n; i++) {
		P->px[i] = drawn(P, i) ? xpix(P, P->cost[i]) : NAN;
		P->py[i] = drawn(P, i) ? ypix(P, P->acc[i]) : NAN;
	}
	return 0;
}

static void plot_release(struct plot *P)
{
	q_free(P->cost);
	q_free(P->lab);
	q_free(P->front);
}

static void draw(struct plot *P, struct buf *b)
{
	const char *title = P->p->title ? P->p->title : "Cost and accuracy";
	buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" "
		   "font-size=\"12\">\n<title>", W, H, W, H);
	put_text(b, title);
	buf_printf(b, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
		   "<text x=\"16\" y=\"28\" font-size=\"16\" font-weight=\"bold\" fill=\"%s\">",
		   W, H, C_TEXT);
	put_text(b, title);
	buf_puts(b, "</text>\n");
	if (P->p->subtitle) {
		buf_printf(b, "<text x=\"16\" y=\"48\" fill=\"%s\">", C_MUTED);
		put_text(b, P->p->subtitle);
		buf_puts(b, "</text>\n");
	}
	draw_y_axis(P, b);
	draw_x_axis(P, b);
	draw_frontier(P, b);
	/* Models first, so workflows are drawn over them. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < P->p->n; i++)
			if (drawn(P, i) && (P->p->points[i].kind == SVGPLOT_WORKFLOW) == (pass == 1))
				draw_point(P, b, i);
	if (P->ndrawn)
		draw_legend(P, b);
	draw_note(P, b);
	buf_puts(b, "</svg>\n");
}

int svgplot_write(const struct svgplot *p, struct buf *out)
{
	struct plot P;
	char *placed = NULL;
	if (plot_init(&P, p))
		goto fail;
	placed = q_calloc(p->n ? p->n : 1, 1);
	if (!placed)
		goto fail;
	int rows = P.has_wf + P.has_model + P.has_whisker + (P.nfront > 1);
	place_legend(&P, rows, 34.0 + 10.0 + text_width("Pareto frontier"));
	place_labels(&P, placed);
	draw(&P, out);
	q_free(placed);
	plot_release(&P);
	return out->overflow ? -1 : 0;
fail:
	q_free(placed);
	plot_release(&P);
	buf_release(out);
	out->overflow = 1;
	return -1;
}
