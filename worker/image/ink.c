/*
 * ink: connected components of the ink mask drop specks, frame-touching
 * clutter, printed rules and far-away marks (select_ink); the kept ones
 * give the digit's box, grown to its faint anti-aliased edges. Contract in
 * stages.h.
 */
#include "stages.h"
#include "norm.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>

#define KEEP_FRAC 0.05 /* components smaller than this x the largest are specks */
#define INNER_FRAC 0.2 /* an inner component this big makes frame-touching ones clutter */
#define NEAR_FRAC 0.5  /* ink farther than this x the main stroke size is clutter */
#define RULE_ASPECT 25 /* a rule: straight, its length this x its thickness... */
#define RULE_SPAN 0.25 /* ...at least this x the image's long side... */
#define RULE_OVER 1.5  /* ...and this x the long side of other ink of INNER_FRAC its area */
#define RULE_PAST 0.1  /* it runs past that ink by this x its size at both ends */
#define RULE_MAX 8     /* rules examined at most */

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
	int edge;			/* touches the image frame */
	uint64_t sx, sy, sxx, syy, sxy; /* moments of its pixels (exact: planes <= 512^2) */
	double len;			/* > 0: a straight thin line this long (a rule) */
};

static size_t box_side(const struct img_box *b)
{
	return b->x1 - b->x0 > b->y1 - b->y0 ? b->x1 - b->x0 : b->y1 - b->y0;
}

/* The length of k if it is a straight thin line (a printed rule, the side
 * of a frame whose other sides are gone), else 0. From the second moments:
 * a band of length L and thickness d has variances L^2 / 12 along it and
 * d^2 / 12 across. A handwritten stroke is mostly curved or thick; a
 * straight one with a fine pen (a 1) is a rule by this measure, and
 * drop_rules() keeps it unless other ink lies along it. */
static double rule_length(const struct comp *k, size_t w, size_t h)
{
	double n = (double)k->area, mx = (double)k->sx / n, my = (double)k->sy / n;
	double cxx = (double)k->sxx / n - mx * mx, cyy = (double)k->syy / n - my * my;
	double cxy = (double)k->sxy / n - mx * my, half = 0.5 * (cxx - cyy);
	double root = sqrt(half * half + cxy * cxy), mid = 0.5 * (cxx + cyy);
	double len = sqrt(12.0 * (mid + root)), across = sqrt(12.0 * fmax(mid - root, 0.0));
	double thick = fmax(across, n / fmax(len, 1.0));
	if (len < RULE_SPAN * (double)(w > h ? w : h) || len < RULE_ASPECT * thick)
		return 0;
	return len;
}

static size_t box_gap(const struct img_box *a, const struct img_box *b)
{
	size_t dx = a->x0 > b->x1 ? a->x0 - b->x1 : b->x0 > a->x1 ? b->x0 - a->x1 : 0;
	size_t dy = a->y0 > b->y1 ? a->y0 - b->y1 : b->y0 > a->y1 ? b->y0 - a->y1 : 0;
	return dx > dy ? dx : dy;
}

/* Does rule r run past other ink o at both ends, by RULE_PAST of o's size?
 * Rules are printed level or upright, turned a few degrees at most. */
static int runs_past(const struct img_box *r, const struct img_box *o)
{
	size_t m = (size_t)(RULE_PAST * (double)box_side(o));
	if (r->x1 - r->x0 >= r->y1 - r->y0)
		return o->x0 >= r->x0 + m && o->x1 + m <= r->x1;
	return o->y0 >= r->y0 + m && o->y1 + m <= r->y1;
}

/* Rules among the kept components are not ink when other kept ink, of at
 * least INNER_FRAC of the rule's area and under 1 / RULE_OVER of its
 * length, lies along it with the rule running past it at both ends: a
 * line under or over the digit (ruled paper, a form's writing line), the
 * two sides that an open box cut by the photo's edge leaves. A 1 alone or
 * beside specks stays, as does the long stroke of a digit (its other
 * strokes reach one of its ends). At most RULE_MAX rules are examined,
 * each against every component: linear. */
static void drop_rules(const struct comp *c, size_t ncomp, uint8_t *keep)
{
	size_t i, j, seen = 0;
	for (i = 1; i <= ncomp && seen < RULE_MAX; i++) {
		if (!keep[i] || c[i].len == 0)
			continue;
		seen++;
		for (j = 1; j <= ncomp; j++)
			if (keep[j] && c[j].len == 0 &&
			    (double)c[j].area >= INNER_FRAC * (double)c[i].area &&
			    RULE_OVER * (double)box_side(&c[j].b) <= c[i].len &&
			    runs_past(&c[i].b, &c[j].b)) {
				keep[i] = 0;
				break;
			}
	}
}

/* Which components (1..ncomp) are ink. Specks (under KEEP_FRAC of the
 * reference area) are not. Components touching the frame are clutter (a
 * shadow edge, the edge of the sheet, the table) when a component of at
 * least INNER_FRAC of the largest one's area lies clear of the frame;
 * otherwise (a tight crop) they are the digit. Rules beside other ink are
 * not ink (drop_rules). Of the rest, only those within NEAR_FRAC of the
 * main component's size from it belong to the digit: a digit's strokes are
 * close together, clutter is not. */
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
	for (i = 1; i <= ncomp; i++)
		keep[i] =
		    (!drop_edge || !c[i].edge) && (double)c[i].area >= KEEP_FRAC * (double)ref;
	drop_rules(c, ncomp, keep);
	for (i = 1; i <= ncomp; i++)
		if (keep[i] && (!main || c[i].area > c[main].area))
			main = i;
	if (!main)
		return;
	reach = (size_t)(NEAR_FRAC * (double)box_side(&c[main].b));
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
			if (k != c)
				k->sx += x, k->sy += y, k->sxx += x * x, k->syy += y * y,
				    k->sxy += x * y;
		}
	for (i = 1; i <= ncomp; i++)
		c[i].len = rule_length(&c[i], w, h);
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
	size_t r = 1 + box_side(bb) / 20;
	size_t x0 = bb->x0 > r ? bb->x0 - r : 0, y0 = bb->y0 > r ? bb->y0 - r : 0;
	size_t x1 = bb->x1 + r < w ? bb->x1 + r : w, y1 = bb->y1 + r < h ? bb->y1 + r : h, x, y;
	for (y = y0; y < y1; y++)
		for (x = x0; x < x1; x++)
			if (v[y * w + x] > 0)
				box_add(bb, x, y);
}
