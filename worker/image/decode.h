/*
 * image_decode: PNG and JPEG bytes -> 8-bit gray (+ alpha) pixels.
 *
 * Internal to the image module (worker/image/image.h is the public contract).
 * Each decoder checks the header against the limits before it allocates a
 * pixel buffer, contains the library's longjmp errors, prints nothing, and
 * on success hands the caller a buffer it must free with free(). Pixels are
 * row-major, ch bytes per pixel: ch == 1 is gray, ch == 2 is gray then alpha.
 * JPEGs may come back smaller than the file says (DCT scaling towards
 * IMG_JPEG_TARGET on the short side) and already turned upright by their
 * EXIF orientation. Thread-safe: no shared state.
 */
#ifndef MNIST_IMAGE_DECODE_H
#define MNIST_IMAGE_DECODE_H

#include "image.h"

#include <stddef.h>
#include <stdint.h>

/* The smallest short side a scaled JPEG decode keeps (the normaliser works
 * at most at IMG_WORK_MAX anyway, so more pixels only cost time). */
#define IMG_JPEG_TARGET 192

struct img_raw {
	uint8_t *px;
	size_t w, h;
	int ch;
};

int img_decode_png(const uint8_t *buf, size_t len, const struct img_limits *lim,
		   struct img_raw *out, char *err);
int img_decode_jpeg(const uint8_t *buf, size_t len, const struct img_limits *lim,
		    struct img_raw *out, char *err);

/* Checks w x h against lim; ERR_TOO_LARGE with a message when above. */
int img_check_limits(size_t w, size_t h, const struct img_limits *lim, char *err);

/* EXIF orientation (1-8) from an APP1 payload ("Exif\0\0" + TIFF), or 1 when
 * absent or malformed. Every offset is bounds-checked against len. */
int img_exif_orientation(const uint8_t *app1, size_t len);

/* Turn a 1-channel image upright for EXIF orientation o; writes into dst
 * (w * h bytes) and swaps *w and *h for orientations 5-8. */
void img_orient(const uint8_t *src, uint8_t *dst, size_t *w, size_t *h, int o);

#endif
