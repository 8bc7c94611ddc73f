/*
 * stages: the normaliser's stages, one file each, as img_normalise() (norm.c)
 * runs them:
 *
 *   intake.c      decoded rows -> a working plane of at most IMG_WORK_MAX
 *                 on the long side, reduced as they arrive (resample.c),
 *                 under a CPU-time budget
 *   composite.c   gray x alpha and alpha planes -> gray on a backdrop
 *   resample.c    area averaging, a row at a time
 *   background.c  polarity (ink made bright) and background subtraction
 *   levels.c      histograms, ink threshold, noise floor, contrast stretch
 *   frame.c       printed frames around the digit (boxes, circles, open
 *                 or cut by the photo's edge) removed
 *   ink.c         connected ink components: drop specks and clutter, box
 *   place.c       crop, scale into IMG_BOX, centre of mass in IMG_SIDE
 *
 * Internal to the image module; norm.h holds what the tests call. Every
 * stage works on caller-owned planes of floats (gray levels 0..255 until
 * img_stretch(), 0..1 after), allocates only scratch it frees itself,
 * returns 0 or ERR_NOMEM where it allocates, and keeps no state.
 */
#ifndef MNIST_IMAGE_STAGES_H
#define MNIST_IMAGE_STAGES_H

#include <stddef.h>
#include <stdint.h>

/* Plain comparisons: fminf/fmaxf are library calls (NaN rules) in hot loops,
 * and no NaN reaches here. */
static inline float minf(float a, float b)
{
	return a < b ? a : b;
}

static inline float maxf(float a, float b)
{
	return a > b ? a : b;
}

/* ---- resample.c --------------------------------------------------------- */

/* Area averaging a row at a time: each output pixel is the overlap-weighted
 * mean of the source pixels under it (reducing or enlarging). Start with
 * dst (dw x dh, zeroed here) and hr (dw floats of scratch); add source rows
 * (sw floats each) in any order, every source pixel once in all (rows may
 * come in parts that are zero elsewhere, as Adam7 passes do: averaging is
 * linear); finish divides by the weights. Rows added in source order
 * give the sums in the same order as a whole-image resampler would. */
struct img_reduce {
	size_t sw, sh, dw, dh;
	double sy;
	float *dst, *hr;
};

void img_reduce_start(struct img_reduce *r, size_t sw, size_t sh, float *dst, size_t dw, size_t dh,
		      float *hr);
void img_reduce_row(const struct img_reduce *r, size_t y, const float *row);
void img_reduce_finish(const struct img_reduce *r);

/* A w-wide window at (x0, y0) of a plane whose rows are stride apart. */
struct img_plane {
	const float *p;
	size_t stride, x0, y0, w;
};

/* Area-average a window of sh rows into dst (dw x dh); 0 or ERR_NOMEM. */
int img_resize_plane(const struct img_plane *s, size_t sh, float *dst, size_t dw, size_t dh);

/* ---- composite.c -------------------------------------------------------- */

/* img_backdrop() over pixels that arrive a row at a time: zero-initialise,
 * add gray+alpha pairs, then pick (-1: every pixel was opaque). */
struct img_backdrop_acc {
	double sa, sga, sk, nk;
	int translucent;
};

void img_backdrop_add(struct img_backdrop_acc *b, const uint8_t *ga, size_t n);
int img_backdrop_pick(const struct img_backdrop_acc *b);

/* v (n values, the mean of gray x alpha) += backdrop x (1 - alpha), alpha
 * being the mean of alpha (0..1) over the same area; nothing when backdrop
 * is -1. */
void img_composite(float *v, const float *alpha, size_t n, int backdrop);

/* ---- background.c ------------------------------------------------------- */

/* Darkest and brightest 3x3 mean of v (w x h). */
void img_blur_extremes(const float *v, size_t w, size_t h, float *lo, float *hi);

/* Make the ink the bright end of v (w x h, 0..255), inverting if the two
 * polarity votes say the ink is dark. tmp: w * h floats of scratch. */
int img_fix_polarity(float *v, size_t w, size_t h, float *tmp);

/* Subtract the smooth background estimate from v, clamped at 0. tmp: w * h
 * floats of scratch. */
int img_subtract_background(float *v, size_t w, size_t h, float *tmp);

/* ---- levels.c ----------------------------------------------------------- */

/* Histogram of v (n values 0..255, clamped) into 256 bins. */
void img_hist_of(const float *v, size_t n, size_t hist[256]);

/* What separates ink from background in a background-subtracted plane: t
 * the ink threshold, lo the noise floor (maps to 0), hi the full stroke
 * (maps to 1); blank when there is no ink with enough contrast. */
struct img_levels {
	float t, lo, hi;
	int blank;
};

struct img_levels img_find_levels(const float *v, size_t w, size_t h);

/* v = clamp((v - lo) / (hi - lo), 0, 1) over n values; hi > lo. */
void img_stretch(float *v, size_t n, float lo, float hi);

/* ---- ink.c -------------------------------------------------------------- */

struct img_box {
	size_t x0, y0, x1, y1; /* inclusive-exclusive */
};

/* 8-connected components of v > t into label (w x h, zeroed by the caller;
 * 0 = none, else 1..count); stack holds w * h entries. w and h are at most
 * IMG_WORK_MAX (a working plane). Returns the count. */
size_t img_label_components(const float *v, size_t w, size_t h, float t, uint32_t *label,
			    uint32_t *stack);

/* The ink of v (w x h): the components of v > t that are the digit.
 * Zeroes v at the pixels of the others; bb gets the union box of the kept
 * ones (empty, x1 <= x0, when none). 0 or ERR_NOMEM. */
int img_keep_ink(float *v, size_t w, size_t h, float t, struct img_box *bb);

/* Grow bb by a margin, but only to pixels of v still above 0. */
void img_grow_to_faint(const float *v, size_t w, size_t h, struct img_box *bb);

/* ---- frame.c ------------------------------------------------------------ */

/* Find the printed frames among the components of v > t (w x h, gray
 * levels) and zero their lines in v, leaving what they enclose or what
 * touches them. *faint: what is left is too faint beside the frames to be
 * a digit (an empty frame). Returns how many were removed, or ERR_NOMEM. */
int img_remove_frames(float *v, size_t w, size_t h, float t, int *faint);

/* ---- place.c ------------------------------------------------------------ */

/* Crop bb out of v (rows w apart, values 0..1), area-average it into
 * IMG_BOX on its long side keeping the aspect, scale so its brightest pixel
 * is 1, and place it in out (IMG_SIDE x IMG_SIDE) by centre of mass. 0 or
 * ERR_NOMEM. */
int img_box_and_place(const float *v, size_t w, const struct img_box *bb, float *out);

#endif
