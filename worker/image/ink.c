/*
 * ink: connected components of the ink mask drop specks, frame-touching
 * clutter and far-away marks (select_ink); the kept ones give the digit's
 * box, grown to its faint anti-aliased edges. Contract in stages.h.
 */
#include "stages.h"
#include "norm.h"

#include "err.h"

#include <stdlib.h>

#define KEEP_FRAC 0.05 /* components smaller than this x the largest are specks */
#define INNER_FRAC 0.2 /* an inner component this big makes frame-touching ones clutter */
#define NEAR_FRAC 0.5  /* ink farther than this x the main stroke size is clutter */

/* The fill's stack holds (y << 16 | x): no division per pixel. */
_Static_assert(IMG_WORK_MAX <= 0xffff, "a working plane's coordinates fit in 16 bits");

size_t img_label_components(const float *v, size_t w, size_t h, float t, uint32_t *label,
			    uint32_t *stack)
{
	size_t ncomp = 0, top;
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++) {
			size_t i = y * w + x;
			if (v[i] <= t || label[i])
				continue;
			label[i] = (uint32_t)++ncomp;
			stack[0] = (uint32_t)(y << 16 | x), top = 1;
			while (top) {
				size_t px = stack[--top] & 0xffff, py = stack[top] >> 16;
				size_t ya = py ? py - 1 : 0, xa = px ? px - 1 : 0, yy, xx;
				for (yy = ya; yy <= py + 1 && yy < h; yy++)
					for (xx = xa; xx <= px + 1 && xx < w; xx++) {
						size_t q = yy * w + xx;
						if (v[q] > t && !label[q]) {
							label[q] = (uint32_t)ncomp;
							stack[top++] = (uint32_t)(yy << 16 | xx);
						}
					}
			}
		}
	return ncomp;
}

struct comp {
	size_t area;
	struct img_box b;
	int edge; /* touches the image frame */
};

static size_t box_gap(const struct img_box *a, const struct img_box *b)
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

static void box_add(struct img_box *b, size_t x, size_t y)
{
	b->x0 = x < b->x0 ? x : b->x0, b->x1 = x + 1 > b->x1 ? x + 1 : b->x1;
	b->y0 = y < b->y0 ? y : b->y0, b->y1 = y + 1 > b->y1 ? y + 1 : b->y1;
}

/* Find the ink components of v > t. Returns their union box (empty if
 * none) and zeroes v at the pixels of dropped components. */
int img_keep_ink(float *v, size_t w, size_t h, float t, struct img_box *bb)
{
	size_t n = w * h, i, ncomp;
	uint32_t *label = calloc(n, sizeof *label), *stack = malloc(n * sizeof *stack);
	struct comp *c = NULL;
	uint8_t *keep = NULL;
	int rc = ERR_NOMEM;

	bb->x0 = w, bb->y0 = h, bb->x1 = 0, bb->y1 = 0;
	if (!label || !stack)
		goto out;
	ncomp = img_label_components(v, w, h, t, label, stack);
	c = calloc(ncomp + 1, sizeof *c);
	keep = malloc(ncomp + 1);
	if (!c || !keep)
		goto out;
	for (i = 0; i <= ncomp; i++)
		c[i].b = *bb;
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++) {
			struct comp *k = &c[label[y * w + x]];
			k->area++;
			box_add(&k->b, x, y);
			k->edge |= x == 0 || y == 0 || x == w - 1 || y == h - 1;
		}
	select_ink(c, ncomp, keep);
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++) {
			i = y * w + x;
			if (keep[label[i]])
				box_add(bb, x, y);
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
void img_grow_to_faint(const float *v, size_t w, size_t h, struct img_box *bb)
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
