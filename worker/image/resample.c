/*
 * resample: area averaging (a box filter with exact overlap weights), the
 * one resampler of the normaliser: large uploads down to the working size,
 * the ink's box into IMG_BOX. Contract in stages.h.
 */
#include "stages.h"
#include "norm.h"

#include "err.h"

#include <math.h>
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

/* Area averaging, rows fetched through get(); tmp holds sw + dw floats. */
void img_resize_rows(img_row_fn get, const void *ctx, size_t sw, size_t sh, float *dst, size_t dw,
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

static void plane_row(const void *ctx, size_t y, float *row)
{
	const struct img_plane *s = ctx;
	memcpy(row, s->p + (s->y0 + y) * s->stride + s->x0, s->w * sizeof *row);
}

int img_resize_plane(const struct img_plane *s, size_t sh, float *dst, size_t dw, size_t dh)
{
	float *tmp = malloc((s->w + dw) * sizeof *tmp);
	if (!tmp)
		return ERR_NOMEM;
	img_resize_rows(plane_row, s, s->w, sh, dst, dw, dh, tmp);
	free(tmp);
	return 0;
}

void img_area_resize(const float *src, size_t sw, size_t sh, float *dst, size_t dw, size_t dh)
{
	struct img_plane s = {.p = src, .stride = sw, .w = sw};
	if (img_resize_plane(&s, sh, dst, dw, dh) < 0)
		memset(dst, 0, dw * dh * sizeof *dst);
}
