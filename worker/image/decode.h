/*
 * image_decode: PNG and JPEG bytes -> 8-bit gray (+ alpha) pixels.
 *
 * Internal to the image module (worker/image/image.h is the public contract).
 * Each decoder checks the header against the limits before it allocates
 * anything for pixels, contains the library's longjmp errors, prints
 * nothing, and hands its rows one at a time to the normaliser's intake
 * (norm.h), never holding the whole image: ch == 1 is gray, ch == 2 is gray
 * then alpha. JPEGs may arrive smaller than the file says (DCT scaling
 * towards IMG_JPEG_TARGET on the short side) and set the intake's EXIF
 * orientation. Thread-safe: no shared state.
 */
#ifndef MNIST_IMAGE_DECODE_H
#define MNIST_IMAGE_DECODE_H

#include "image.h"

#include <stddef.h>
#include <stdint.h>

/* The smallest short side a scaled JPEG decode keeps (the normaliser works
 * at most at IMG_WORK_MAX anyway, so more pixels only cost time). */
#define IMG_JPEG_TARGET 192

/* A progressive (or multi-scan) JPEG holds all its DCT coefficients until
 * the last scan: 128 bytes per 8x8 block per component, whatever the DCT
 * scaling. Above this the file is refused as too large (a 4:2:0 colour photo
 * of 16 MP, a gray one of 25 MP fit). */
#define IMG_JPEG_COEF_MAX (48u << 20)

/* Real encoders write at most 10-12 scans; more is refused. */
#define IMG_JPEG_MAX_SCANS 32

struct img_intake;

/* Decode into in (norm.h), which img_intake_init() has prepared: the
 * decoder calls img_intake_begin() with the size and img_intake_row() for
 * the rows, and passes on their errors (limits, CPU budget). */
int img_decode_png(const uint8_t *buf, size_t len, struct img_intake *in, char *err);
int img_decode_jpeg(const uint8_t *buf, size_t len, struct img_intake *in, char *err);

/* Checks w x h against lim; ERR_TOO_LARGE with a message when above. */
int img_check_limits(size_t w, size_t h, const struct img_limits *lim, char *err);

/* EXIF orientation (1-8) from an APP1 payload ("Exif\0\0" + TIFF), or 1 when
 * absent or malformed. Every offset is bounds-checked against len. */
int img_exif_orientation(const uint8_t *app1, size_t len);

/* Turn a plane upright for EXIF orientation o; writes into dst (w * h
 * values) and swaps *w and *h for orientations 5-8. */
void img_orient(const float *src, float *dst, size_t *w, size_t *h, int o);

#endif
