/*
 * composite: transparent areas onto the gray that contrasts with what is
 * drawn (img_backdrop), so "ink = what the user drew" for dark and for
 * light strokes alike; when the transparent pixels' own colour is far from
 * the visible ones (a keyed-out paper colour), its side is kept. Contract
 * in stages.h and norm.h.
 */
#include "stages.h"
#include "norm.h"

#include <math.h>

#define KEY_CONTRAST 64.0 /* transparent colour this far from the visible mean is paper */

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

void img_gray_row(const void *ctx, size_t y, float *row)
{
	const struct img_gray_src *s = ctx;
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
