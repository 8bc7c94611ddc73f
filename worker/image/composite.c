/*
 * composite: transparent areas onto the gray that contrasts with what is
 * drawn (img_backdrop), so "ink = what the user drew" for dark and for
 * light strokes alike; when the transparent pixels' own colour is far from
 * the visible ones (a keyed-out paper colour), its side is kept.
 * Compositing is linear, so it is done after the reduction to the working
 * size: the intake averages gray x alpha and alpha, and here
 * mean(g a + b (1 - a)) = mean(g a) + b (1 - mean(a)). Contract in stages.h
 * and norm.h.
 */
#include "stages.h"
#include "norm.h"

#include <math.h>

#define KEY_CONTRAST 64.0 /* transparent colour this far from the visible mean is paper */

void img_backdrop_add(struct img_backdrop_acc *b, const uint8_t *ga, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned g = ga[2 * i], a = ga[2 * i + 1];
		b->sa += a;
		b->sga += (double)a * g;
		b->translucent |= a != 255;
		if (a == 0)
			b->sk += g, b->nk++;
	}
}

int img_backdrop_pick(const struct img_backdrop_acc *b)
{
	double v;
	if (!b->translucent)
		return -1;
	if (b->sa <= 0)
		return 0; /* nothing visible: a blank black image */
	v = b->sga / b->sa;
	/* A transparent colour far from what is visible is a keyed-out
	 * background (tRNS paper, a white canvas export): keep its side. */
	if (b->nk > 0 && fabs(b->sk / b->nk - v) >= KEY_CONTRAST) {
		int key = b->sk / b->nk < 128 ? 0 : 255;
		if (fabs(key - v) >= KEY_CONTRAST) /* and the drawing still shows */
			return key;
	}
	return v < 128 ? 255 : 0;
}

int img_backdrop(const uint8_t *ga, size_t n)
{
	struct img_backdrop_acc b = {0};
	img_backdrop_add(&b, ga, n);
	return img_backdrop_pick(&b);
}

void img_composite(float *v, const float *alpha, size_t n, int backdrop)
{
	size_t i;
	for (i = 0; backdrop >= 0 && i < n; i++)
		v[i] += (float)backdrop * (1.0f - alpha[i]);
}
