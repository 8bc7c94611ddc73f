/*
 * The normaliser. Why each step:
 * - Transparent areas are composited onto the gray that contrasts with what
 *   is drawn (img_backdrop), so "ink = what the user drew" for dark and for
 *   light strokes alike; when the transparent pixels' own colour is far
 *   from the visible ones (a keyed-out paper colour), its side is kept.
 * - Large images are area-averaged down to IMG_WORK_MAX on the long side
 *   first; nothing after that needs more pixels, and time stays bounded.
 * - Polarity: two votes (fix_polarity): the border ring's median against
 *   the darkest and brightest 3x3 means, and the sign of the strongest
 *   local departure from the background; the ink is made the bright end.
 * - Uneven lighting and paper texture: a coarse background estimate (a low
 *   percentile per cell, median-filtered over the cell grid so cells under
 *   thick strokes do not count, interpolated bilinearly) is subtracted.
 * - A threshold at INK_FRAC of the peak stroke contrast separates ink from
 *   what is left of the background; connected components of the ink mask
 *   drop specks, frame-touching clutter and far-away marks (select_ink); the background's
 *   median and MAD give the floor below which a pixel is noise.
 *   Intensities are stretched so the 90th percentile of the ink is 1.0,
 *   as in MNIST (the identity on an MNIST digit).
 * - The ink's bounding box is area-averaged into 20x20 (aspect kept) and
 *   placed in 28x28 by its centre of mass, as MNIST was built. An MNIST
 *   digit has a 20-pixel box already, so it passes through unchanged.
 */
#include "norm.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CONTRAST 20.0f /* gray levels between background and ink, else blank */
#define INK_FRAC 0.5f	   /* ink threshold: this far from background to peak */
#define STROKE_Q 0.9	   /* this quantile of the ink is full stroke (1.0) */
#define KEEP_FRAC 0.05	   /* components smaller than this x the largest are specks */
#define KEY_CONTRAST 64.0  /* transparent colour this far from the visible mean is paper */
#define INNER_FRAC 0.2	   /* an inner component this big makes frame-touching ones clutter */
#define NEAR_FRAC 0.5	   /* ink farther than this x the main stroke size is clutter */
#define CELLS 8		   /* background grid: about CELLS cells on the long side */
#define CELL_Q 0.2	   /* background = this quantile of a cell */

typedef void (*row_fn)(const void *ctx, size_t y, float *row);

/* Plain comparisons: fminf/fmaxf are library calls (NaN rules) in hot loops,
 * and no NaN reaches here. */
static inline float minf(float a, float b)
{
	return a < b ? a : b;
}

static inline float maxf(float a, float b)
{
	return a > b ? a : b;
}

/* ---- resampling ---------------------------------------------------------- */

/* One row, area-averaged from sw to dw samples: whole source pixels inside
 * an output pixel's span count fully, the two partial ones by overlap. */
static void hresample(const float *src, size_t sw, float *dst, size_t dw)
{
	double sx = (double)sw / (double)dw;
	size_t j, x;
	for (j = 0; j < dw; j++) {
		double x0 = j * sx, x1 = fmin((j + 1) * sx, (double)sw), acc;
		size_t a = (size_t)x0, b = (size_t)ceil(x1);
		b = b > sw ? sw : b;
		if (b <= a + 1) {
			dst[j] = src[a < sw ? a : sw - 1];
			continue;
		}
		acc = src[a] * (a + 1 - x0) + src[b - 1] * (x1 - (double)(b - 1));
		for (x = a + 1; x + 1 < b; x++)
			acc += src[x];
		dst[j] = (float)(acc / (x1 - x0));
	}
}

/* Area averaging, rows fetched through get(); tmp holds sw + dw floats. */
static void resize_rows(row_fn get, const void *ctx, size_t sw, size_t sh, float *dst, size_t dw,
			size_t dh, float *tmp)
{
	double sy = (double)sh / (double)dh;
	float *src = tmp, *hr = tmp + sw;
	size_t i, j, y;
	for (i = 0; i < dh; i++) {
		double y0 = i * sy, y1 = (i + 1) * sy, wsum = 0;
		float *o = dst + i * dw;
		memset(o, 0, dw * sizeof *o);
		for (y = (size_t)y0; y < sh && y < y1; y++) {
			double w = fmin(y + 1.0, y1) - fmax((double)y, y0);
			if (w <= 0)
				continue;
			get(ctx, y, src);
			hresample(src, sw, hr, dw);
			for (j = 0; j < dw; j++)
				o[j] += (float)(w * hr[j]);
			wsum += w;
		}
		for (j = 0; wsum > 0 && j < dw; j++)
			o[j] = (float)(o[j] / wsum);
	}
}

struct plane_src {
	const float *p;
	size_t stride, x0, y0, w;
};

static void plane_row(const void *ctx, size_t y, float *row)
{
	const struct plane_src *s = ctx;
	memcpy(row, s->p + (s->y0 + y) * s->stride + s->x0, s->w * sizeof *row);
}

static int resize_plane(const struct plane_src *s, size_t sh, float *dst, size_t dw, size_t dh)
{
	float *tmp = malloc((s->w + dw) * sizeof *tmp);
	if (!tmp)
		return ERR_NOMEM;
	resize_rows(plane_row, s, s->w, sh, dst, dw, dh, tmp);
	free(tmp);
	return 0;
}

void img_area_resize(const float *src, size_t sw, size_t sh, float *dst, size_t dw, size_t dh)
{
	struct plane_src s = {.p = src, .stride = sw, .w = sw};
	if (resize_plane(&s, sh, dst, dw, dh) < 0)
		memset(dst, 0, dw * dh * sizeof *dst);
}

/* ---- compositing --------------------------------------------------------- */

int img_backdrop(const uint8_t *ga, size_t n)
{
	double sa = 0, sga = 0, sk = 0, nk = 0, v;
	size_t i;
	int opaque = 1;
	for (i = 0; i < n; i++) {
		unsigned g = ga[2 * i], a = ga[2 * i + 1];
		sa += a;
		sga += (double)a * g;
		opaque &= a == 255;
		if (a == 0)
			sk += g, nk++;
	}
	if (opaque)
		return -1;
	if (sa <= 0)
		return 0; /* nothing visible: a blank black image */
	v = sga / sa;
	/* A transparent colour far from what is visible is a keyed-out
	 * background (tRNS paper, a white canvas export): keep its side. */
	if (nk > 0 && fabs(sk / nk - v) >= KEY_CONTRAST) {
		int key = sk / nk < 128 ? 0 : 255;
		if (fabs(key - v) >= KEY_CONTRAST) /* and the drawing still shows */
			return key;
	}
	return v < 128 ? 255 : 0;
}

struct gray_src {
	const uint8_t *px;
	size_t w;
	int ch, backdrop;
};

static void gray_row(const void *ctx, size_t y, float *row)
{
	const struct gray_src *s = ctx;
	const uint8_t *p = s->px + y * s->w * s->ch;
	size_t x;
	if (s->ch == 1 || s->backdrop < 0) {
		for (x = 0; x < s->w; x++)
			row[x] = p[x * s->ch];
		return;
	}
	for (x = 0; x < s->w; x++) {
		float a = p[2 * x + 1] / 255.0f;
		row[x] = p[2 * x] * a + s->backdrop * (1.0f - a);
	}
}

/* ---- histograms ---------------------------------------------------------- */

static void hist_of(const float *v, size_t n, size_t hist[256])
{
	size_t i;
	memset(hist, 0, 256 * sizeof *hist);
	for (i = 0; i < n; i++) {
		float f = v[i];
		hist[f <= 0 ? 0 : f >= 255 ? 255 : (int)f]++;
	}
}

int img_hist_quantile(const size_t hist[256], double q)
{
	size_t total = 0, acc = 0;
	int b;
	for (b = 0; b < 256; b++)
		total += hist[b];
	for (b = 0; b < 256; b++) {
		acc += hist[b];
		if (acc > 0 && (double)acc >= q * (double)total)
			return b;
	}
	return 255;
}

/* ---- polarity and background --------------------------------------------- */

/* Darkest and brightest 3x3 means: the contrast of real strokes, which
 * isolated noise pixels do not reach, however few stroke pixels there are. */
static inline float col_sum(const float *v, size_t w, size_t x, size_t y0, size_t y1)
{
	float s = 0;
	for (; y0 <= y1; y0++)
		s += v[y0 * w + x];
	return s;
}

static void blur_extremes(const float *v, size_t w, size_t h, float *lo, float *hi)
{
	size_t x, y;
	*lo = INFINITY, *hi = -INFINITY;
	for (y = 0; y < h; y++) {
		size_t y0 = y ? y - 1 : 0, y1 = y + 1 < h ? y + 1 : y;
		float rows = (float)(y1 - y0 + 1), prev = 0, cur = col_sum(v, w, 0, y0, y1);
		float inner = 1.0f / (rows * 3), edge = 1.0f / (rows * (w > 1 ? 2 : 1));
		for (x = 0; x < w; x++) { /* sliding window of column sums */
			float next = x + 1 < w ? col_sum(v, w, x + 1, y0, y1) : 0;
			float s = (prev + cur + next) * (x && x + 1 < w ? inner : edge);
			*lo = minf(*lo, s), *hi = maxf(*hi, s);
			prev = cur, cur = next;
		}
	}
}

static float cell_quantile(const float *v, size_t w, size_t x0, size_t y0, size_t x1, size_t y1,
			   double q)
{
	size_t hist[256] = {0}, x, y;
	for (y = y0; y < y1; y++)
		for (x = x0; x < x1; x++) {
			float f = v[y * w + x];
			hist[f <= 0 ? 0 : f >= 255 ? 255 : (int)f]++;
		}
	return (float)img_hist_quantile(hist, q);
}

/* g (gx x gy) through a 3x3 median into e: a cell covered by a thick
 * stroke is an outlier among its neighbours, while a lighting gradient is
 * kept without the downward bias a minimum would add. */
static void median3(const float *g, size_t gx, size_t gy, float *e)
{
	size_t i, j;
	for (j = 0; j < gy; j++)
		for (i = 0; i < gx; i++) {
			float n[9] = {0};
			size_t a, b, k = 0, p, q;
			for (b = j ? j - 1 : 0; b <= j + 1 && b < gy; b++)
				for (a = i ? i - 1 : 0; a <= i + 1 && a < gx; a++)
					n[k++] = g[b * gx + a];
			for (p = 1; p < k; p++) /* insertion sort of <= 9 values */
				for (q = p; q > 0 && n[q - 1] > n[q]; q--) {
					float t = n[q];
					n[q] = n[q - 1], n[q - 1] = t;
				}
			e[j * gx + i] = n[(k - 1) / 2];
		}
}

/* Where pixel p falls on a grid of n cells of size cell, between cell
 * centres: the lower cell and the fraction towards the next. */
static void grid_pos(size_t p, size_t cell, size_t n, size_t *i, float *t)
{
	double f = (p + 0.5) / (double)cell - 0.5;
	f = f < 0 ? 0 : f > n - 1.0 ? n - 1.0 : f;
	*i = (size_t)f;
	*t = (float)(f - (double)*i);
}

/* Cell values e (gx x gy) bilinearly onto bg (w x h), separably: each grid
 * row across the width into hz (gy x w), then down each column. */
static void upsample_grid(const float *e, size_t gx, size_t gy, size_t cell, float *bg, size_t w,
			  size_t h, float *hz)
{
	size_t i, j, x, y;
	float t;
	for (x = 0; x < w; x++) {
		grid_pos(x, cell, gx, &i, &t);
		for (j = 0; j < gy; j++)
			hz[j * w + x] =
			    e[j * gx + i] * (1 - t) + e[j * gx + (i + 1 < gx ? i + 1 : i)] * t;
	}
	for (y = 0; y < h; y++) {
		const float *r0, *r1;
		grid_pos(y, cell, gy, &j, &t);
		r0 = hz + j * w, r1 = hz + (j + 1 < gy ? j + 1 : j) * w;
		for (x = 0; x < w; x++)
			bg[y * w + x] = r0[x] * (1 - t) + r1[x] * t;
	}
}

/* The smooth background of v into bg (w x h): the q-quantile of each cell
 * (about CELLS on the long side, at least 8 pixels), median-filtered over
 * the cell grid, interpolated bilinearly. */
static int estimate_background(const float *v, size_t w, size_t h, double q, float *bg)
{
	size_t big = w > h ? w : h, cell = (big + CELLS - 1) / CELLS, gx, gy, i, j;
	float *g, *e;
	if (cell < 8) /* a small image's cells must be larger than a stroke */
		cell = 8;
	gx = (w + cell - 1) / cell, gy = (h + cell - 1) / cell;
	g = malloc((2 * gx * gy + gy * w) * sizeof *g);
	if (!g)
		return ERR_NOMEM;
	e = g + gx * gy;
	for (j = 0; j < gy; j++)
		for (i = 0; i < gx; i++)
			g[j * gx + i] = cell_quantile(v, w, i * cell, j * cell,
						      (i + 1) * cell < w ? (i + 1) * cell : w,
						      (j + 1) * cell < h ? (j + 1) * cell : h, q);
	median3(g, gx, gy, e);
	upsample_grid(e, gx, gy, cell, bg, w, h, e + gx * gy);
	free(g);
	return 0;
}

/* v -= its background (a low quantile, below bright ink), clamped at 0. */
static int subtract_background(float *v, size_t w, size_t h, float *tmp)
{
	size_t i;
	int rc = estimate_background(v, w, h, CELL_Q, tmp);
	for (i = 0; rc == 0 && i < w * h; i++)
		v[i] = maxf(0.0f, v[i] - tmp[i]);
	return rc;
}

/* Median of the outer ring (about 1/16 of the short side wide). */
static int border_median(const float *v, size_t w, size_t h)
{
	size_t hist[256] = {0}, r = (w < h ? w : h) / 16, x, y;
	if (r < 1)
		r = 1;
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			float f = v[y * w + x];
			if (y < r || y >= h - r || x < r || x >= w - r)
				hist[f <= 0 ? 0 : f >= 255 ? 255 : (int)f]++;
		}
	return img_hist_quantile(hist, 0.5);
}

/* Where a lies between -b and c, as -1..1 (0 when both are 0). */
static float balance(float b, float c)
{
	return b + c > 0 ? (b - c) / (b + c) : 0.0f;
}

/* Make the ink bright. Two votes, each from -1 (ink is bright) to 1 (ink
 * is dark), are added:
 * - the border ring is background in almost every upload, so its median
 *   is compared with the darkest and brightest 3x3 means (not percentiles:
 *   a small digit is too few pixels); this holds for tight crops and bold
 *   strokes;
 * - ink is the strongest local departure from the background (the median
 *   per cell, favouring neither side): a shadow edge or a lighting
 *   gradient leaves residuals on both sides, a stroke on one; this holds
 *   when a shadow or dark corner covers the border. */
static int fix_polarity(float *v, size_t w, size_t h, float *tmp)
{
	size_t i, n = w * h;
	float lo, hi, rlo, rhi, bg = (float)border_median(v, w, h), vote;
	int rc = estimate_background(v, w, h, 0.5, tmp);
	if (rc < 0)
		return rc;
	blur_extremes(v, w, h, &lo, &hi);
	for (i = 0; i < n; i++)
		tmp[i] = v[i] - tmp[i];
	blur_extremes(tmp, w, h, &rlo, &rhi);
	vote = balance(bg - lo, hi - bg) + balance(-rlo, rhi);
	if (vote > 0)
		for (i = 0; i < n; i++)
			v[i] = 255.0f - v[i];
	return 0;
}

/* ---- ink components ------------------------------------------------------ */

struct box {
	size_t x0, y0, x1, y1; /* inclusive-exclusive */
};

/* 8-connected components of v > t into label (0 = none, else 1..count);
 * stack holds w * h entries. Returns the count. */
static size_t label_components(const float *v, size_t w, size_t h, float t, uint32_t *label,
			       uint32_t *stack)
{
	size_t n = w * h, i, ncomp = 0, top;
	for (i = 0; i < n; i++) {
		if (v[i] <= t || label[i])
			continue;
		label[i] = (uint32_t)++ncomp;
		stack[0] = (uint32_t)i, top = 1;
		while (top) {
			size_t p = stack[--top], px = p % w, py = p / w;
			size_t ya = py ? py - 1 : 0, xa = px ? px - 1 : 0, yy, xx;
			for (yy = ya; yy <= py + 1 && yy < h; yy++)
				for (xx = xa; xx <= px + 1 && xx < w; xx++) {
					size_t q = yy * w + xx;
					if (v[q] > t && !label[q]) {
						label[q] = (uint32_t)ncomp;
						stack[top++] = (uint32_t)q;
					}
				}
		}
	}
	return ncomp;
}

struct comp {
	size_t area;
	struct box b;
	int edge; /* touches the image frame */
};

static size_t box_gap(const struct box *a, const struct box *b)
{
	size_t dx = a->x0 > b->x1 ? a->x0 - b->x1 : b->x0 > a->x1 ? b->x0 - a->x1 : 0;
	size_t dy = a->y0 > b->y1 ? a->y0 - b->y1 : b->y0 > a->y1 ? b->y0 - a->y1 : 0;
	return dx > dy ? dx : dy;
}

/* Which components (1..ncomp) are ink. Specks (under KEEP_FRAC of the
 * reference area) are not. Components touching the frame are clutter (a
 * shadow edge, the edge of the sheet, the table) when a component of at
 * least INNER_FRAC of the largest one's area lies clear of the frame;
 * otherwise (a tight crop) they are the digit. Of the rest, only those
 * within NEAR_FRAC of the main component's size from it belong to the
 * digit: a digit's strokes are close together, clutter is not. */
static void select_ink(const struct comp *c, size_t ncomp, uint8_t *keep)
{
	size_t i, largest = 0, inner = 0, ref, main = 0, reach;
	int drop_edge;
	for (i = 1; i <= ncomp; i++) {
		largest = c[i].area > largest ? c[i].area : largest;
		if (!c[i].edge)
			inner = c[i].area > inner ? c[i].area : inner;
	}
	drop_edge = inner > 0 && (double)inner >= INNER_FRAC * (double)largest;
	ref = drop_edge ? inner : largest;
	keep[0] = 0;
	for (i = 1; i <= ncomp; i++) {
		keep[i] =
		    (!drop_edge || !c[i].edge) && (double)c[i].area >= KEEP_FRAC * (double)ref;
		if (keep[i] && (!main || c[i].area > c[main].area))
			main = i;
	}
	if (!main)
		return;
	reach = c[main].b.x1 - c[main].b.x0 > c[main].b.y1 - c[main].b.y0
		    ? c[main].b.x1 - c[main].b.x0
		    : c[main].b.y1 - c[main].b.y0;
	reach = (size_t)(NEAR_FRAC * (double)reach);
	for (i = 1; i <= ncomp; i++)
		keep[i] = keep[i] && box_gap(&c[i].b, &c[main].b) <= reach;
}

static void box_add(struct box *b, size_t x, size_t y)
{
	b->x0 = x < b->x0 ? x : b->x0, b->x1 = x + 1 > b->x1 ? x + 1 : b->x1;
	b->y0 = y < b->y0 ? y : b->y0, b->y1 = y + 1 > b->y1 ? y + 1 : b->y1;
}

/* Find the ink components of v > t. Returns their union box (empty if
 * none) and zeroes v at the pixels of dropped components. */
static int keep_ink(float *v, size_t w, size_t h, float t, struct box *bb)
{
	size_t n = w * h, i, ncomp;
	uint32_t *label = calloc(n, sizeof *label), *stack = malloc(n * sizeof *stack);
	struct comp *c = NULL;
	uint8_t *keep = NULL;
	int rc = ERR_NOMEM;

	bb->x0 = w, bb->y0 = h, bb->x1 = 0, bb->y1 = 0;
	if (!label || !stack)
		goto out;
	ncomp = label_components(v, w, h, t, label, stack);
	c = calloc(ncomp + 1, sizeof *c);
	keep = malloc(ncomp + 1);
	if (!c || !keep)
		goto out;
	for (i = 0; i <= ncomp; i++)
		c[i].b = *bb;
	for (i = 0; i < n; i++) {
		size_t x = i % w, y = i / w;
		struct comp *k = &c[label[i]];
		k->area++;
		box_add(&k->b, x, y);
		k->edge |= x == 0 || y == 0 || x == w - 1 || y == h - 1;
	}
	select_ink(c, ncomp, keep);
	for (i = 0; i < n; i++) {
		if (keep[label[i]])
			box_add(bb, i % w, i / w);
		else if (label[i])
			v[i] = 0;
	}
	rc = 0;
out:
	free(keep);
	free(c);
	free(stack);
	free(label);
	return rc;
}

/* Grow the box by a small margin to take in faint anti-aliased edges, but
 * only as far as pixels that survived the noise floor (v > 0). */
static void grow_to_faint(const float *v, size_t w, size_t h, struct box *bb)
{
	size_t r =
	    1 + ((bb->x1 - bb->x0) > (bb->y1 - bb->y0) ? bb->x1 - bb->x0 : bb->y1 - bb->y0) / 20;
	size_t x0 = bb->x0 > r ? bb->x0 - r : 0, y0 = bb->y0 > r ? bb->y0 - r : 0;
	size_t x1 = bb->x1 + r < w ? bb->x1 + r : w, y1 = bb->y1 + r < h ? bb->y1 + r : h, x, y;
	for (y = y0; y < y1; y++)
		for (x = x0; x < x1; x++)
			if (v[y * w + x] > 0) {
				bb->x0 = x < bb->x0 ? x : bb->x0,
				bb->x1 = x + 1 > bb->x1 ? x + 1 : bb->x1;
				bb->y0 = y < bb->y0 ? y : bb->y0,
				bb->y1 = y + 1 > bb->y1 ? y + 1 : bb->y1;
			}
}

/* ---- contrast ------------------------------------------------------------ */

struct levels {
	float t, lo, hi;
	int blank;
};

/* Noise floor from the background's median and MAD (the background is the
 * majority of pixels). The ink threshold is INK_FRAC of the way from the
 * background to the peak stroke contrast: Otsu would split paper texture
 * instead when the digit is a small part of a large page. The stroke level
 * is the median of the ink. */
static struct levels find_levels(const float *v, size_t w, size_t h)
{
	size_t hist[256], ink[256] = {0}, dev[256] = {0};
	struct levels L = {0};
	int b, med, mad, lo, t, hi;
	float dark, peak;
	blur_extremes(v, w, h, &dark, &peak);
	hist_of(v, w * h, hist);
	med = img_hist_quantile(hist, 0.5);
	for (b = 0; b < 256; b++)
		dev[abs(b - med)] += hist[b];
	mad = img_hist_quantile(dev, 0.5);
	lo = med + (int)lround(3.0 * 1.4826 * mad);
	t = med + (int)lroundf(INK_FRAC * (peak - (float)med));
	t = t > lo ? t : lo;
	if (peak - (float)med < MIN_CONTRAST || t >= 255) {
		L.blank = 1;
		return L;
	}
	for (b = t + 1; b < 256; b++)
		ink[b] = hist[b];
	hi = img_hist_quantile(ink, STROKE_Q);
	L.t = (float)t + 0.5f;
	L.lo = (float)lo;
	L.hi = (float)(hi > t ? hi : t + 1); /* bin 255 -> 255: clean input unchanged */
	L.blank = L.hi <= L.lo;
	return L;
}

static void stretch(float *v, size_t n, float lo, float hi)
{
	size_t i;
	for (i = 0; i < n; i++)
		v[i] = minf(1.0f, maxf(0.0f, (v[i] - lo) / (hi - lo)));
}

/* ---- 20x20 box and 28x28 placement --------------------------------------- */

void img_place_com(const float *box, size_t bw, size_t bh, float *out)
{
	double m = 0, mx = 0, my = 0;
	long ox = (long)(IMG_SIDE - bw) / 2, oy = (long)(IMG_SIDE - bh) / 2;
	size_t x, y;
	for (y = 0; y < bh; y++)
		for (x = 0; x < bw; x++) {
			double f = box[y * bw + x];
			m += f, mx += f * (double)(ox + (long)x), my += f * (double)(oy + (long)y);
		}
	if (m > 0) {
		ox += lround(IMG_SIDE / 2 - mx / m);
		oy += lround(IMG_SIDE / 2 - my / m);
	}
	ox = ox < 0 ? 0 : ox > (long)(IMG_SIDE - bw) ? (long)(IMG_SIDE - bw) : ox;
	oy = oy < 0 ? 0 : oy > (long)(IMG_SIDE - bh) ? (long)(IMG_SIDE - bh) : oy;
	memset(out, 0, IMG_SIDE * IMG_SIDE * sizeof *out);
	for (y = 0; y < bh; y++)
		for (x = 0; x < bw; x++)
			out[(size_t)(oy + (long)y) * IMG_SIDE + (size_t)ox + x] = box[y * bw + x];
}

/* Crop bb out of v, scale into IMG_BOX keeping the aspect, stretch so the
 * brightest pixel is 1, and place by centre of mass. */
static int box_and_place(const float *v, size_t w, const struct box *bb, float *out)
{
	size_t cw = bb->x1 - bb->x0, ch = bb->y1 - bb->y0, bw, bh, i;
	struct plane_src s = {.p = v, .stride = w, .x0 = bb->x0, .y0 = bb->y0, .w = cw};
	float box[IMG_BOX * IMG_BOX], mx = 0;
	int rc;
	if (cw >= ch)
		bw = IMG_BOX, bh = (size_t)lround((double)IMG_BOX * ch / cw);
	else
		bh = IMG_BOX, bw = (size_t)lround((double)IMG_BOX * cw / ch);
	bw = bw ? bw : 1, bh = bh ? bh : 1;
	rc = resize_plane(&s, ch, box, bw, bh);
	if (rc < 0)
		return rc;
	for (i = 0; i < bw * bh; i++)
		mx = fmaxf(mx, box[i]);
	for (i = 0; i < bw * bh; i++) /* clamp: averaging can round to 1 + ulp */
		box[i] = fminf(1.0f, mx > 0 && mx < 1 ? box[i] / mx : box[i]);
	img_place_com(box, bw, bh, out);
	return 0;
}

/* ---- the pipeline -------------------------------------------------------- */

static void work_size(size_t w, size_t h, size_t *ww, size_t *wh)
{
	size_t big = w > h ? w : h;
	*ww = w, *wh = h;
	if (big <= IMG_WORK_MAX)
		return;
	*ww = (size_t)lround((double)w * IMG_WORK_MAX / big);
	*wh = (size_t)lround((double)h * IMG_WORK_MAX / big);
	*ww = *ww ? *ww : 1, *wh = *wh ? *wh : 1;
}

static int normalise_plane(float *v, size_t w, size_t h, float *out)
{
	struct levels L;
	struct box bb;
	float *tmp = malloc(w * h * sizeof *tmp);
	int rc = ERR_NOMEM;

	if (!tmp)
		return rc;
	rc = fix_polarity(v, w, h, tmp);
	if (rc == 0)
		rc = subtract_background(v, w, h, tmp);
	free(tmp);
	if (rc < 0)
		return rc;
	L = find_levels(v, w, h);
	if (L.blank)
		return 0;
	rc = keep_ink(v, w, h, L.t, &bb);
	if (rc < 0)
		return rc;
	if (bb.x1 <= bb.x0 || bb.y1 <= bb.y0)
		return 0;
	stretch(v, w * h, L.lo, L.hi);
	grow_to_faint(v, w, h, &bb);
	return box_and_place(v, w, &bb, out);
}

int img_normalise(const uint8_t *px, size_t w, size_t h, int ch, float *out, char *err)
{
	struct gray_src src = {.px = px, .w = w, .ch = ch, .backdrop = -1};
	size_t ww, wh;
	float *work = NULL, *tmp = NULL;
	int rc = ERR_NOMEM;

	memset(out, 0, IMG_SIDE * IMG_SIDE * sizeof *out);
	if (w == 0 || h == 0 || (ch != 1 && ch != 2))
		return err_set(err, ERR_INVALID, "image has no pixels");
	if (ch == 2)
		src.backdrop = img_backdrop(px, w * h);
	work_size(w, h, &ww, &wh);
	work = malloc(ww * wh * sizeof *work);
	tmp = malloc((w + ww) * sizeof *tmp);
	if (!work || !tmp)
		goto fail;
	resize_rows(gray_row, &src, w, h, work, ww, wh, tmp);
	rc = normalise_plane(work, ww, wh, out);
fail:
	free(tmp);
	free(work);
	if (rc < 0)
		return err_set(err, rc, "out of memory normalising a %zux%zu image", w, h);
	return 0;
}
