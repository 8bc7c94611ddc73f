/* png_encode: the PNGs it writes decode back, pixel for pixel, with libpng
 * (which checks every chunk's crc32 and zlib's adler32), including images
 * whose data spans several stored deflate blocks. */
#include "err.h"
#include "png_encode.h"
#include "tap.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

/* Encode w x h pseudo-random gray, decode with libpng, compare. */
static int round_trip(uint32_t w, uint32_t h, size_t *len_out)
{
	size_t n = (size_t)w * h, len = 0;
	uint8_t *px = malloc(n), *back = malloc(n), *png = NULL;
	png_image img;
	uint32_t x = 2463534242u;
	int ok = 0;

	if (!px || !back)
		goto done;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		px[i] = (uint8_t)x;
	}
	if (png_encode_gray(px, w, h, &png, &len) != 0)
		goto done;
	memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, png, len))
		goto done;
	ok = img.width == w && img.height == h && img.format == PNG_FORMAT_GRAY;
	img.format = PNG_FORMAT_GRAY;
	ok = ok && png_image_finish_read(&img, NULL, back, 0, NULL) && memcmp(px, back, n) == 0 &&
	     !(img.warning_or_error & 3);
	png_image_free(&img);
	*len_out = len;
done:
	free(px);
	free(back);
	free(png);
	return ok;
}

int main(void)
{
	uint8_t one = 255, *png = (uint8_t *)"x";
	size_t len = 0;

	CHECK(round_trip(28, 28, &len), "28x28 decodes back exactly");
	CHECK(len == 880, "28x28 is 880 bytes (stored blocks), got %zu", len);
	CHECK(round_trip(1, 1, &len), "1x1 decodes back exactly");
	CHECK(round_trip(300, 300, &len) && len > 300 * 301,
	      "300x300 (two stored blocks) decodes back exactly");
	CHECK(round_trip(4096, 17, &len), "4096x17 (two blocks, a row across the boundary)");
	CHECK(png_encode_gray(&one, 0, 1, &png, &len) == ERR_INVALID && !png && len == 0,
	      "width 0 refused");
	CHECK(png_encode_gray(&one, 1, PNG_ENCODE_MAX_SIDE + 1, &png, &len) == ERR_INVALID,
	      "height above the limit refused");
	return tap_done();
}
