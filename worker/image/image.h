/*
 * image: turn uploaded PNG/JPEG bytes into a 28x28 MNIST-like input.
 *
 * img_detect() reads magic bytes only. img_to_mnist() is the whole worker
 * pipeline (decode -> composite alpha -> gray -> polarity -> crop -> scale
 * into 20x20 -> centre of mass in 28x28) that the worker, mnist-predict and
 * the tests all call. Limits are checked from the header before any pixel
 * buffer is allocated, and every call is bounded: the image is never held
 * at full size (rows are reduced to at most IMG_WORK_MAX on the long side
 * as they are decoded), ancillary PNG text and profile chunks are skipped
 * unread, progressive JPEGs are capped in scans and coefficient memory, and
 * a CPU-time budget (cpu_ms) ends whatever takes longer. Within the default
 * limits one call stays under 250 ms of CPU and 64 MB (docs/images.md). All
 * functions are reentrant and thread-safe; nothing is printed.
 */
#ifndef MNIST_IMAGE_H
#define MNIST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum img_format { IMG_UNKNOWN = 0, IMG_PNG, IMG_JPEG };

/* CPU time (of the calling thread) one img_to_mnist() or
 * img_gray_to_mnist() may take; beyond it the call ends with ERR_INVALID,
 * "decoding took longer than N ms of CPU". */
#define IMG_CPU_MS_DEFAULT 250

struct img_limits {
	size_t max_width;  /* default 20000 */
	size_t max_height; /* default 20000 */
	size_t max_pixels; /* default 40 000 000 (40 MP) */
	unsigned cpu_ms;   /* default IMG_CPU_MS_DEFAULT; 0 also means the default */
};

/* Documented defaults (see docs). */
void img_limits_default(struct img_limits *lim);

enum img_format img_detect(const uint8_t *buf, size_t len);

/* Decode + normalise. out receives 784 floats in [0, 1], bright ink on dark.
 * Returns 0, or ERR_UNSUPPORTED (not PNG/JPEG), ERR_INVALID (corrupt,
 * truncated, over the CPU budget), ERR_TOO_LARGE (limits) or ERR_NOMEM,
 * with a message in err. lim NULL means the defaults. */
int img_to_mnist(const uint8_t *buf, size_t len, const struct img_limits *lim, float *out,
		 char *err);

/* Normalise 8-bit grayscale pixels (w x h, row-major, no alpha) the same way;
 * used for msgpack "pixels" requests. */
int img_gray_to_mnist(const uint8_t *gray, size_t w, size_t h, const struct img_limits *lim,
		      float *out, char *err);

#endif
