/*
 * image: format detection, limits and the img_to_mnist() pipeline, which
 * only wires the decoders (png.c, jpeg.c) to the normaliser's intake and
 * driver (intake.c, norm.c).
 */
#include "image.h"

#include "err.h"
#include "decode.h"
#include "norm.h"

#include <stdlib.h>
#include <string.h>

void img_limits_default(struct img_limits *lim)
{
	lim->max_width = 20000;
	lim->max_height = 20000;
	lim->max_pixels = 40000000;
	lim->cpu_ms = IMG_CPU_MS_DEFAULT;
}

int img_check_limits(size_t w, size_t h, const struct img_limits *lim, char *err)
{
	struct img_limits def;
	if (!lim) {
		img_limits_default(&def);
		lim = &def;
	}
	if (w == 0 || h == 0)
		return err_set(err, ERR_INVALID, "image has zero width or height");
	if (w > lim->max_width || h > lim->max_height || w > lim->max_pixels / h)
		return err_set(err, ERR_TOO_LARGE,
			       "image is %zux%zu; the limit is %zux%zu and %zu pixels", w, h,
			       lim->max_width, lim->max_height, lim->max_pixels);
	return 0;
}

enum img_format img_detect(const uint8_t *buf, size_t len)
{
	static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	if (len >= 8 && memcmp(buf, png, 8) == 0)
		return IMG_PNG;
	if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		return IMG_JPEG;
	return IMG_UNKNOWN;
}

/* A name for the formats people actually send by mistake. */
static const char *other_format(const uint8_t *b, size_t len)
{
	if (len >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
		return "GIF";
	if (len >= 2 && b[0] == 'B' && b[1] == 'M')
		return "BMP";
	if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return "WebP";
	if (len >= 4 && (memcmp(b, "II*", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
		return "TIFF";
	return NULL;
}

int img_to_mnist(const uint8_t *buf, size_t len, const struct img_limits *lim, float *out,
		 char *err)
{
	struct img_intake in;
	const char *other;
	int rc;

	memset(out, 0, IMG_SIDE * IMG_SIDE * sizeof *out);
	if (!buf || len == 0)
		return err_set(err, ERR_INVALID, "empty image");
	img_intake_init(&in, lim);
	switch (img_detect(buf, len)) {
	case IMG_PNG: rc = img_decode_png(buf, len, &in, err); break;
	case IMG_JPEG: rc = img_decode_jpeg(buf, len, &in, err); break;
	default:
		other = other_format(buf, len);
		if (other)
			return err_set(err, ERR_UNSUPPORTED,
				       "%s images are not supported; send PNG or JPEG", other);
		return err_set(err, ERR_UNSUPPORTED, "not a PNG or JPEG image");
	}
	if (rc == 0)
		rc = img_normalise_intake(&in, out, err);
	img_intake_free(&in);
	return rc;
}

int img_gray_to_mnist(const uint8_t *gray, size_t w, size_t h, const struct img_limits *lim,
		      float *out, char *err)
{
	struct img_intake in;
	size_t y;
	int rc;

	memset(out, 0, IMG_SIDE * IMG_SIDE * sizeof *out);
	img_intake_init(&in, lim);
	rc = img_intake_begin(&in, w, h, 1, err); /* checks the limits */
	if (rc == 0 && !gray)
		rc = err_set(err, ERR_INVALID, "no pixels");
	for (y = 0; rc == 0 && y < h; y++)
		rc = img_intake_row(&in, y, gray + y * w, 0, 1, w, err);
	if (rc == 0)
		rc = img_normalise_intake(&in, out, err);
	img_intake_free(&in);
	return rc;
}
