/*
 * frame: a printed frame around the digit (a form's box, a circle, a box
 * with a side left open, broken or cut by the photo's edge, turned a few
 * degrees) is found and removed before the digit's ink is chosen; left in,
 * it would decide the crop and shrink the digit to a few pixels of the
 * 28x28 input.
 *
 * A frame is a connected component of the ink mask (at a threshold below
 * the ink's, so a faint frame is whole) that is big, drawn with a thin line
 * (its median outer run at most THIN_FRAC of its short side: printed lines
 * are 1-4 % of the frame, a handwritten digit's strokes 10 % or more of its
 * size), hollow (in at least SEP_FRAC of its rows or columns the first and
 * the last pixel belong to different runs far apart), and whose outermost
 * pixels follow a rectangle or an ellipse on at least three of their four
 * sides: seen from the left, each row's first pixel lies on the box's left
 * edge or on the ellipse inscribed in the box (within a tolerance for the
 * turn and the line width). Removing the frame removes only those outermost
 * runs, each cut to the line width, so a digit that touches its frame keeps
 * its strokes. A digit alone is never hollow, thin and box- or ellipse-like
 * at once, except a 0 drawn with a pen under a fifteenth of its width: that
 * reads as an empty circle. When what is left has under FAINT_FRAC of the
 * contrast the frame had, it is paper texture or noise, not a digit: the
 * image is blank (an empty box or circle). Linear in pixels: labelling once, then at most
 * FRAME_MAX candidates each scanned over its bounding box.
 * Contract in stages.h.
 */
#include "stages.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>

#define FRAME_MAX 8	   /* candidates examined, largest bounding boxes first */
#define MIN_SIDE 12	   /* px: a frame's short side at least this... */
#define MIN_SIDE_FRAC 0.08 /* ...and this x the image's short side */
#define THIN_FRAC 0.07	   /* line width at most this x the frame's short side */
#define SEP_FRAC 0.5	   /* rows (or columns) crossing the hollow, of all */
#define SEP_GAP 0.3	   /* a hollow: first and last run this x the side apart */
#define SIDE_FIT 0.7	   /* a side follows the shape in this share of its lines */
#define RECT_TOL 0.1	   /* of the side's length: a turn of up to ~5 degrees */
#define ELL_TOL 0.06	   /* of the short side */
#define ELL_SPAN 0.8	   /* ellipse sides judged within this x the half-axis */
#define RESIDUE_FRAC 0.15  /* less of a frame left after peeling is its residue */
#define FAINT_FRAC 0.35f   /* what is left under this x the peak contrast is no digit */

/* The outermost run of a component seen from one side along one line:
 * pos of its outer pixel (from the line's start), len pixels inward; len
 * 0 when the line has none of the component. */
struct run {
	int pos, len;
};

enum { LEFT, RIGHT, TOP, BOTTOM };

struct cand {
	uint32_t id;
	size_t x0, y0, bw, bh, area;
	struct run *r[4]; /* LEFT, RIGHT: bh rows; TOP, BOTTOM: bw columns */
	int lw;		  /* line width: the median outer run */
};

/* First and last runs of label c along n labels stride apart. */
static void outer_runs(const uint32_t *l, size_t stride, size_t n, uint32_t c, struct run *first,
		       struct run *last)
{
	size_t i, j;
	first->len = last->len = 0;
	for (i = 0; i < n && l[i * stride] != c; i++)
		;
	if (i == n)
		return;
	for (j = i; j < n && l[j * stride] == c; j++)
		;
	first->pos = (int)i, first->len = (int)(j - i);
	for (i = n; l[(i - 1) * stride] != c; i--)
		;
	for (j = i; j > 0 && l[(j - 1) * stride] == c; j--)
		;
	last->pos = (int)i - 1, last->len = (int)(i - j);
}

/* Scan c's box from the four sides; returns whether it is hollow. */
static int scan(const uint32_t *label, size_t w, struct cand *c)
{
	size_t i, hollow_r = 0, hollow_c = 0, nr = 0, nc = 0;
	for (i = 0; i < c->bh; i++) {
		struct run *a = &c->r[LEFT][i], *b = &c->r[RIGHT][i];
		outer_runs(label + (c->y0 + i) * w + c->x0, 1, c->bw, c->id, a, b);
		nr += a->len > 0;
		hollow_r +=
		    a->len > 0 && b->pos - b->len - a->pos - a->len >= SEP_GAP * (double)c->bw;
	}
	for (i = 0; i < c->bw; i++) {
		struct run *a = &c->r[TOP][i], *b = &c->r[BOTTOM][i];
		outer_runs(label + c->y0 * w + c->x0 + i, w, c->bh, c->id, a, b);
		nc += a->len > 0;
		hollow_c +=
		    a->len > 0 && b->pos - b->len - a->pos - a->len >= SEP_GAP * (double)c->bh;
	}
	return (double)hollow_r >= SEP_FRAC * (double)nr ||
	       (double)hollow_c >= SEP_FRAC * (double)nc;
}

/* The median outer run length over the four sides. */
static int median_run(const struct cand *c)
{
	size_t hist[64] = {0}, total = 0, acc = 0, i;
	int s, b;
	for (s = 0; s < 4; s++)
		for (i = 0; i < (s < TOP ? c->bh : c->bw); i++)
			if (c->r[s][i].len) {
				hist[c->r[s][i].len < 63 ? c->r[s][i].len : 63]++;
				total++;
			}
	for (b = 0; b < 64; b++) {
		acc += hist[b];
		if (2 * acc >= total)
			return b;
	}
	return 63;
}

/* Where the outer pixel of side s, line i, should be if the frame is the
 * box (ellipse 0) or the ellipse inscribed in it (1); -1: not judged. */
static double expected(const struct cand *c, int s, size_t i, int ellipse)
{
	double n = s < TOP ? (double)c->bh : (double)c->bw; /* lines on this side */
	double across = s < TOP ? (double)c->bw : (double)c->bh;
	double t = ((double)i + 0.5 - n / 2) / (n / 2), d;
	if (!ellipse)
		return s == LEFT || s == TOP ? 0 : across - 1;
	if (fabs(t) > ELL_SPAN)
		return -1;
	d = across / 2 * sqrt(1 - t * t);
	return s == LEFT || s == TOP ? across / 2 - d : across / 2 + d - 1;
}

/* Whether line i of side s has an outer run where the shape puts it
 * (-1: the line is not judged). */
static int on_shape(const struct cand *c, int s, size_t i, int ellipse)
{
	size_t n = s < TOP ? c->bh : c->bw, short_side = c->bw < c->bh ? c->bw : c->bh;
	double e = expected(c, s, i, ellipse);
	double tol = (ellipse ? ELL_TOL * (double)short_side : RECT_TOL * (double)n) + c->lw + 1;
	if (!c->r[s][i].len || e < 0)
		return -1;
	return fabs(c->r[s][i].pos - e) <= tol;
}

/* Which sides (bit s) follow the shape in SIDE_FIT of their lines. */
static int fitting_sides(const struct cand *c, int ellipse)
{
	int s, sides = 0;
	size_t i;
	for (s = 0; s < 4; s++) {
		size_t n = s < TOP ? c->bh : c->bw, judged = 0, fit = 0;
		for (i = 0; i < n; i++) {
			int o = on_shape(c, s, i, ellipse);
			judged += o >= 0;
			fit += o > 0;
		}
		if (judged && (double)fit >= SIDE_FIT * (double)judged)
			sides |= 1 << s;
	}
	return sides;
}

/* Sides (bit s) where c's box reaches the image's edge (w x h), within
 * the line width: its side there may be beyond the photo. */
static int cut_sides(const struct cand *c, size_t w, size_t h)
{
	size_t e = (size_t)c->lw + 2;
	return (c->x0 <= e) << LEFT | (c->x0 + c->bw + e >= w) << RIGHT | (c->y0 <= e) << TOP |
	       (c->y0 + c->bh + e >= h) << BOTTOM;
}

static int popcount4(int m)
{
	return (m & 1) + (m >> 1 & 1) + (m >> 2 & 1) + (m >> 3 & 1);
}

/* How many sides of c make a frame of the shape: those that follow it,
 * and those cut by the image's edge whose opposite side follows it (the
 * frame goes on beyond the photo). Without a hollow (an L of two sides
 * left by the photo's edges), only with a cut side. */
static int frame_sides(const struct cand *c, int ellipse, int hollow, size_t w, size_t h)
{
	int fit = fitting_sides(c, ellipse), opp = (fit >> 1 & 5) | (fit << 1 & 10);
	int cut = cut_sides(c, w, h) & ~fit & opp;
	if (popcount4(fit) < 2 || (!hollow && !cut))
		return 0;
	return popcount4(fit | cut);
}

/* Zero v (w x h) along the outer runs that lie on the shape: each run cut
 * to about the line width, with a margin for the line's soft edges. A
 * side with a gap peels where it has its line. */
static void peel(float *v, size_t w, size_t h, const struct cand *c, int ellipse)
{
	long cap = c->lw * 3 / 2 + 2, m = 1 + c->lw / 2;
	int s;
	size_t i;
	for (s = 0; s < 4; s++) {
		size_t n = s < TOP ? c->bh : c->bw;
		long lim = s < TOP ? (long)w : (long)h, org = s < TOP ? (long)c->x0 : (long)c->y0;
		for (i = 0; i < n; i++) {
			const struct run *r = &c->r[s][i];
			long len = r->len < cap ? r->len : cap, a, b, k;
			if (on_shape(c, s, i, ellipse) <= 0)
				continue;
			a = org + (s == LEFT || s == TOP ? r->pos : r->pos - len + 1) - m;
			b = a + len + 2 * m;
			a = a < 0 ? 0 : a, b = b > lim ? lim : b;
			for (k = a; k < b; k++) {
				if (s < TOP)
					v[(c->y0 + i) * w + (size_t)k] = 0;
				else
					v[(size_t)k * w + c->x0 + i] = 0;
			}
		}
	}
}

/* What peeling left of frame c above t: a digit that touches it, or when
 * under RESIDUE_FRAC of its pixels, bits of the line (corners, blots),
 * which go with their neighbours. */
static void clear_residue(float *v, const uint32_t *label, size_t w, size_t h, const struct cand *c,
			  float t)
{
	size_t x, y, left = 0;
	for (y = c->y0; y < c->y0 + c->bh; y++)
		for (x = c->x0; x < c->x0 + c->bw; x++)
			left += label[y * w + x] == c->id && v[y * w + x] > t;
	if ((double)left >= RESIDUE_FRAC * (double)c->area)
		return;
	for (y = c->y0; y < c->y0 + c->bh; y++)
		for (x = c->x0; x < c->x0 + c->bw; x++) {
			size_t yy, xx;
			if (label[y * w + x] != c->id || v[y * w + x] <= 0)
				continue;
			for (yy = y ? y - 1 : 0; yy <= y + 1 && yy < h; yy++)
				for (xx = x ? x - 1 : 0; xx <= x + 1 && xx < w; xx++)
					v[yy * w + xx] = 0;
		}
}

/* Up to FRAME_MAX components big enough to be frames, largest boxes first. */
static size_t candidates(const uint32_t *label, size_t w, size_t h, size_t ncomp, struct cand *out)
{
	struct img_box *b = malloc((ncomp + 1) * sizeof *b);
	size_t *area = calloc(ncomp + 1, sizeof *area);
	size_t i, k, n = 0, min_side = (size_t)(MIN_SIDE_FRAC * (double)(w < h ? w : h));
	if (!b || !area) {
		free(area);
		free(b);
		return (size_t)-1;
	}
	min_side = min_side > MIN_SIDE ? min_side : MIN_SIDE;
	for (i = 0; i <= ncomp; i++)
		b[i].x0 = w, b[i].y0 = h, b[i].x1 = 0, b[i].y1 = 0;
	for (i = 0; i < w * h; i++) {
		struct img_box *p = &b[label[i]];
		size_t x = i % w, y = i / w;
		area[label[i]]++;
		p->x0 = x < p->x0 ? x : p->x0, p->x1 = x + 1 > p->x1 ? x + 1 : p->x1;
		p->y0 = y < p->y0 ? y : p->y0, p->y1 = y + 1 > p->y1 ? y + 1 : p->y1;
	}
	for (i = 1; i <= ncomp; i++) {
		struct cand c = {.id = (uint32_t)i, .x0 = b[i].x0, .y0 = b[i].y0, .area = area[i]};
		c.bw = b[i].x1 - b[i].x0, c.bh = b[i].y1 - b[i].y0;
		if (c.bw < min_side || c.bh < min_side)
			continue;
		for (k = n; k > 0 && out[k - 1].bw * out[k - 1].bh < c.bw * c.bh; k--)
			if (k < FRAME_MAX)
				out[k] = out[k - 1];
		if (k < FRAME_MAX)
			out[k] = c;
		n += n < FRAME_MAX;
	}
	free(area);
	free(b);
	return n;
}

int img_remove_frames(float *v, size_t w, size_t h, float t, int *faint)
{
	float dark, before, after;
	size_t n = w * h, ncand, i;
	uint32_t *label = calloc(n, sizeof *label), *stack = malloc(n * sizeof *stack);
	struct run *runs = malloc(2 * (w + h) * sizeof *runs);
	struct cand c[FRAME_MAX];
	int removed = ERR_NOMEM;

	*faint = 0;
	if (!label || !stack || !runs)
		goto out;
	img_blur_extremes(v, w, h, &dark, &before);
	ncand = candidates(label, w, h, img_label_components(v, w, h, t, label, stack), c);
	if (ncand == (size_t)-1)
		goto out;
	removed = 0;
	for (i = 0; i < ncand; i++) {
		int rect, ell, hollow;
		c[i].r[LEFT] = runs, c[i].r[RIGHT] = runs + h;
		c[i].r[TOP] = runs + 2 * h, c[i].r[BOTTOM] = runs + 2 * h + w;
		hollow = scan(label, w, &c[i]);
		c[i].lw = median_run(&c[i]);
		if (c[i].lw > THIN_FRAC * (double)(c[i].bw < c[i].bh ? c[i].bw : c[i].bh))
			continue;
		rect = frame_sides(&c[i], 0, hollow, w, h),
		ell = frame_sides(&c[i], 1, hollow, w, h);
		if (rect < 3 && ell < 3)
			continue;
		peel(v, w, h, &c[i], ell > rect);
		clear_residue(v, label, w, h, &c[i], t);
		removed++;
	}
	if (removed) {
		img_blur_extremes(v, w, h, &dark, &after);
		*faint = after < FAINT_FRAC * before;
	}
out:
	free(runs);
	free(stack);
	free(label);
	return removed;
}
