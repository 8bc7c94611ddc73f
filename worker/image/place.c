/*
 * place: the ink's bounding box is area-averaged into 20x20 (aspect kept)
 * and placed in 28x28 by its centre of mass, as MNIST was built. An MNIST
 * digit has a 20-pixel box already, so it passes through unchanged.
 * Contract in stages.h and norm.h.
 */
#include "stages.h"
#include "norm.h"

#include <math.h>
#include <string.h>

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
int img_box_and_place(const float *v, size_t w, const struct img_box *bb, float *out)
{
	size_t cw = bb->x1 - bb->x0, ch = bb->y1 - bb->y0, bw, bh, i;
	struct img_plane s = {.p = v, .stride = w, .x0 = bb->x0, .y0 = bb->y0, .w = cw};
	float box[IMG_BOX * IMG_BOX], mx = 0;
	int rc;
	if (cw >= ch)
		bw = IMG_BOX, bh = (size_t)lround((double)IMG_BOX * ch / cw);
	else
		bh = IMG_BOX, bw = (size_t)lround((double)IMG_BOX * cw / ch);
	bw = bw ? bw : 1, bh = bh ? bh : 1;
	rc = img_resize_plane(&s, ch, box, bw, bh);
	if (rc < 0)
		return rc;
	for (i = 0; i < bw * bh; i++)
		mx = fmaxf(mx, box[i]);
	for (i = 0; i < bw * bh; i++) /* clamp: averaging can round to 1 + ulp */
		box[i] = fminf(1.0f, mx > 0 && mx < 1 ? box[i] / mx : box[i]);
	img_place_com(box, bw, bh, out);
	return 0;
}
