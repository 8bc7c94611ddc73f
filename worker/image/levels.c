/*
 * levels: contrast. A threshold at INK_FRAC of the peak stroke contrast
 * separates ink from what is left of the background; the background's
 * median and MAD give the floor below which a pixel is noise. Intensities
 * are stretched so the 90th percentile of the ink is 1.0, as in MNIST (the
 * identity on an MNIST digit). Contract in stages.h and norm.h.
 */
#include "stages.h"
#include "norm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CONTRAST 20.0f /* gray levels between background and ink, else blank */
#define INK_FRAC 0.5f	   /* ink threshold: this far from background to peak */
#define STROKE_Q 0.9	   /* this quantile of the ink is full stroke (1.0) */

void img_hist_of(const float *v, size_t n, size_t hist[256])
{
	size_t i;
	memset(hist, 0, 256 * sizeof *hist);
	for (i = 0; i < n; i++) {
		float f = v[i];
		hist[f <= 0 ? 0 : f >= 255 ? 255 : (int)f]++;
	}
}

int img_hist_quantile_of(const size_t hist[256], size_t total, double q)
{
	size_t acc = 0;
	for (int b = 0; b < 256; b++) {
		acc += hist[b];
		if (acc > 0 && (double)acc >= q * (double)total)
			return b;
	}
	return 255;
}

int img_hist_quantile(const size_t hist[256], double q)
{
	size_t total = 0;
	for (int b = 0; b < 256; b++)
		total += hist[b];
	return img_hist_quantile_of(hist, total, q);
}

/* Noise floor from the background's median and MAD (the background is the
 * majority of pixels). The ink threshold is INK_FRAC of the way from the
 * background to the peak stroke contrast: Otsu would split paper texture
 * instead when the digit is a small part of a large page. The stroke level
 * is the median of the ink. */
struct img_levels img_find_levels(const float *v, size_t w, size_t h)
{
	size_t hist[256], ink[256] = {0}, dev[256] = {0};
	struct img_levels L = {0};
	int b, med, mad, lo, t, hi;
	float dark, peak;
	img_blur_extremes(v, w, h, &dark, &peak);
	img_hist_of(v, w * h, hist);
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

void img_stretch(float *v, size_t n, float lo, float hi)
{
	size_t i;
	for (i = 0; i < n; i++)
		v[i] = minf(1.0f, maxf(0.0f, (v[i] - lo) / (hi - lo)));
}
