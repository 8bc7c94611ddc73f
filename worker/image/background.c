/*
 * background: polarity and background.
 * - Polarity: two votes (img_fix_polarity): the border ring's median
 *   against the darkest and brightest 3x3 means, and the sign of the
 *   strongest local departure from the background; the ink is made the
 *   bright end.
 * - Uneven lighting and paper texture: a coarse background estimate (a low
 *   percentile per cell, median-filtered over the cell grid so cells under
 *   thick strokes do not count, interpolated bilinearly) is subtracted.
 * Contract in stages.h.
 */
#include "stages.h"
#include "norm.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>

#define CELLS 8	   /* background grid: about CELLS cells on the long side */
#define CELL_Q 0.2 /* background = this quantile of a cell */

/* Darkest and brightest 3x3 means: the contrast of real strokes, which
 * isolated noise pixels do not reach, however few stroke pixels there are.
 * A window's sum is its three column sums added left to right, each column
 * summed top to bottom (one to three rows at the image's edges). */
static inline float col_sum(const float *a, const float *b, const float *c, size_t x)
{
	return c ? (a[x] + b[x]) + c[x] : b ? a[x] + b[x] : a[x];
}

void img_blur_extremes(const float *v, size_t w, size_t h, float *lo, float *hi)
{
	float l = INFINITY, u = -INFINITY;

	for (size_t y = 0; y < h; y++) {
		size_t y0 = y ? y - 1 : 0, y1 = y + 1 < h ? y + 1 : y, rows = y1 - y0 + 1;
		const float *a = v + y0 * w, *b = rows > 1 ? a + w : NULL,
			    *c = rows > 2 ? a + 2 * w : NULL;
		float prev = 0, cur = col_sum(a, b, c, 0);
		float inner = 1.0f / ((float)rows * 3),
		      edge = 1.0f / ((float)rows * (w > 1 ? 2 : 1));
		for (size_t x = 0; x < w; x++) { /* sliding window of column sums */
			float next = x + 1 < w ? col_sum(a, b, c, x + 1) : 0;
			float s = (prev + cur + next) * (x && x + 1 < w ? inner : edge);
			l = s < l ? s : l;
			u = s > u ? s : u;
			prev = cur, cur = next;
		}
	}
	*lo = l, *hi = u;
}

/* The q-quantile of the cell's pixels, whose count is known. */
static float cell_quantile(const float *v, size_t w, size_t x0, size_t y0, size_t x1, size_t y1,
			   double q)
{
	size_t hist[256] = {0}, x, y;
	for (y = y0; y < y1; y++)
		for (x = x0; x < x1; x++) {
			float f = v[y * w + x];
			hist[f <= 0 ? 0 : f >= 255 ? 255 : (int)f]++;
		}
	return (float)img_hist_quantile_of(hist, (x1 - x0) * (y1 - y0), q);
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
int img_subtract_background(float *v, size_t w, size_t h, float *tmp)
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
int img_fix_polarity(float *v, size_t w, size_t h, float *tmp)
{
	size_t i, n = w * h;
	float lo, hi, rlo, rhi, bg = (float)border_median(v, w, h), vote;
	int rc = estimate_background(v, w, h, 0.5, tmp);
	if (rc < 0)
		return rc;
	img_blur_extremes(v, w, h, &lo, &hi);
	for (i = 0; i < n; i++)
		tmp[i] = v[i] - tmp[i];
	img_blur_extremes(tmp, w, h, &rlo, &rhi);
	vote = balance(bg - lo, hi - bg) + balance(-rlo, rhi);
	if (vote > 0)
		for (i = 0; i < n; i++)
			v[i] = 255.0f - v[i];
	return 0;
}
