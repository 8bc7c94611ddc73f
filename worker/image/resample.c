/*
 * resample: area averaging (a box filter with exact overlap weights), the
 * one resampler of the normaliser: large uploads down to the working size
 * as their rows arrive from the decoder (the full-size image is never held),
 * the ink's box into IMG_BOX. Contract in stages.h.
 */
#include "stages.h"
#include "norm.h"

#include "err.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

void img_reduce_start(struct img_reduce *r, size_t sw, size_t sh, float *dst, size_t dw, size_t dh,
		      float *hr)
{
	r->sw = sw, r->sh = sh, r->dw = dw, r->dh = dh;
	r->sy = (double)sh / (double)dh;
	r->dst = dst, r->hr = hr;
	memset(dst, 0, dw * dh * sizeof *dst);
}

/* Output row i covers source rows [i * sy, (i + 1) * sy): row y counts in
 * it when (size_t)y0 <= y < y1, weighted by the overlap. */
static double row_weight(const struct img_reduce *r, size_t i, size_t y)
{
	double y0 = i * r->sy, y1 = (i + 1) * r->sy;
	if (y < (size_t)y0 || !((double)y < y1))
		return 0;
	return fmin(y + 1.0, y1) - fmax((double)y, y0);
}

/* Same size (the common small upload): each row adds into its own row with
 * weight 1, and the sums are divided by 1 in img_reduce_finish, so adding
 * is all there is, bit for bit. Adding, not copying: an interlaced PNG
 * hands the same row over once per pass, zero outside the pass's pixels. */
static bool same_size(const struct img_reduce *r)
{
	return r->sw == r->dw && r->sh == r->dh;
}

void img_reduce_row(const struct img_reduce *r, size_t y, const float *row)
{
	size_t i = (size_t)((double)y / r->sy), j;
	if (same_size(r)) {
		float *o = r->dst + y * r->dw;
		for (j = 0; y < r->dh && j < r->dw; j++)
			o[j] += row[j];
		return;
	}
	hresample(row, r->sw, r->hr, r->dw);
	i = i > 0 ? i - 1 : 0; /* the division may round up past the first */
	for (; i < r->dh && (size_t)(i * r->sy) <= y; i++) {
		double w = row_weight(r, i, y);
		float *o = r->dst + i * r->dw;
		if (w <= 0)
			continue;
		for (j = 0; j < r->dw; j++)
			o[j] += (float)(w * r->hr[j]);
	}
}

void img_reduce_finish(const struct img_reduce *r)
{
	size_t i, j, y;
	if (same_size(r))
		return;
	for (i = 0; i < r->dh; i++) {
		double wsum = 0, w;
		float *o = r->dst + i * r->dw;
		for (y = (size_t)(i * r->sy); y < r->sh && (double)y < (i + 1) * r->sy; y++)
			if ((w = row_weight(r, i, y)) > 0)
				wsum += w;
		for (j = 0; wsum > 0 && j < r->dw; j++)
			o[j] = (float)(o[j] / wsum);
	}
}

int img_resize_plane(const struct img_plane *s, size_t sh, float *dst, size_t dw, size_t dh)
{
	struct img_reduce r;
	float *hr = malloc(dw * sizeof *hr);
	size_t y;
	if (!hr)
		return ERR_NOMEM;
	img_reduce_start(&r, s->w, sh, dst, dw, dh, hr);
	for (y = 0; y < sh; y++)
		img_reduce_row(&r, y, s->p + (s->y0 + y) * s->stride + s->x0);
	img_reduce_finish(&r);
	free(hr);
	return 0;
}

void img_area_resize(const float *src, size_t sw, size_t sh, float *dst, size_t dw, size_t dh)
{
	struct img_plane s = {.p = src, .stride = sw, .w = sw};
	if (img_resize_plane(&s, sh, dst, dw, dh) < 0)
		memset(dst, 0, dw * dh * sizeof *dst);
}
