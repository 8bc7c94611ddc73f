/*
 * norm: decoded pixels -> the 28x28 MNIST-like input.
 *
 * Internal to the image module. Decoders feed rows to the intake, which
 * reduces them to the working size as they arrive under a CPU budget;
 * img_normalise_intake() then runs the steps in the order MNIST was made
 * (composite alpha, polarity, background removal, crop to the ink,
 * area-average into 20x20, centre of mass at (14, 14)); stages.h has the
 * stages. The pure steps below are exposed for the unit tests.
 * Thread-safe: no shared state.
 */
#ifndef MNIST_IMAGE_NORM_H
#define MNIST_IMAGE_NORM_H

#include "image.h"
#include "stages.h"

#include <stddef.h>
#include <stdint.h>

#define IMG_SIDE 28		    /* output is IMG_SIDE x IMG_SIDE */
#define IMG_BOX 20		    /* the ink is scaled into IMG_BOX x IMG_BOX */
#define IMG_WORK_MAX 512	    /* long side of the working copy of large images */
#define IMG_CHECK_PIXELS (1u << 16) /* pixels between two reads of the CPU clock */

/* The intake: decoded rows into the normaliser. A decoder calls
 * img_intake_begin() once it knows the size (the limits are checked there,
 * before anything is allocated), then img_intake_row() for every row or
 * part of a row, in any order (Adam7 passes), each pixel once; then
 * img_normalise_intake() runs the normaliser. The rows are averaged into a
 * working plane of at most IMG_WORK_MAX on the long side as they arrive, so
 * memory is bounded whatever the image size. The CPU-time budget
 * (lim->cpu_ms of this thread) starts at the first img_intake_check(), which
 * img_intake_row() calls every IMG_CHECK_PIXELS pixels and the normaliser
 * between its stages on planes of that many pixels or more (decoders every
 * so many reads); both return ERR_INVALID once it is spent. orient (EXIF,
 * 1-8) is applied to the working plane. img_intake_free() always. */
struct img_intake {
	struct img_limits lim;
	double deadline_ns; /* thread CPU clock */
	size_t w, h, ww, wh, since;
	int ch, orient;
	float *plane; /* ww x wh: gray, or gray x alpha then alpha (ch 2) */
	float *row;   /* w x ch floats */
	float *hr;    /* ww floats */
	struct img_reduce r[2];
	struct img_backdrop_acc bd;
};

void img_intake_init(struct img_intake *in, const struct img_limits *lim);
/* ch = 1 (gray) or 2 (gray, alpha). ERR_TOO_LARGE, ERR_INVALID, ERR_NOMEM. */
int img_intake_begin(struct img_intake *in, size_t w, size_t h, int ch, char *err);
/* n pixels (ch bytes each) of row y at x0, x0 + dx, ... */
int img_intake_row(struct img_intake *in, size_t y, const uint8_t *px, size_t x0, size_t dx,
		   size_t n, char *err);
int img_intake_check(struct img_intake *in, char *err);
void img_intake_free(struct img_intake *in);

/* The normaliser over what the intake holds. out: 784 floats in [0, 1],
 * bright ink on black. An image with no ink gives all zeros. */
int img_normalise_intake(struct img_intake *in, float *out, char *err);

/* px: w x h pixels with ch = 1 (gray) or 2 (gray, alpha) through the
 * intake (default limits) and the normaliser. */
int img_normalise(const uint8_t *px, size_t w, size_t h, int ch, float *out, char *err);

/* The gray (0 or 255) that transparent areas are composited onto: the one
 * that contrasts with the alpha-weighted mean of the visible pixels, so dark
 * strokes land on white and light strokes on black, unless the fully
 * transparent pixels' stored gray is at least 64 levels from that mean (a
 * keyed-out paper colour, as with tRNS): then the side of that gray, if
 * it is also 64 levels from the visible mean. -1
 * when the image is fully opaque (no compositing needed). ga: n gray+alpha
 * pairs. */
int img_backdrop(const uint8_t *ga, size_t n);

/* Value v such that at least q (0..1) of the histogram's mass is <= v. */
int img_hist_quantile(const size_t hist[256], double q);
/* The same when the caller knows the mass (total = the sum of hist): one
 * scan instead of two. */
int img_hist_quantile_of(const size_t hist[256], size_t total, double q);

/* Area-averaging resize of a float plane (sw x sh) into dst (dw x dh). */
void img_area_resize(const float *src, size_t sw, size_t sh, float *dst, size_t dw, size_t dh);

/* Place a bw x bh box (bw, bh <= IMG_SIDE) into the 28x28 out with its centre
 * of mass at (14, 14), shifted by whole pixels and kept inside the frame. */
void img_place_com(const float *box, size_t bw, size_t bh, float *out);

#endif
