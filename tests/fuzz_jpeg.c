/*
 * libFuzzer harness for the JPEG path: arbitrary bytes through libjpeg-turbo with
 * our error handling, then the normaliser. Limits are small so the fuzzer
 * explores formats rather than allocating 40 MP buffers. Crashes, leaks, UB
 * and out-of-range outputs abort. The EXIF parser gets the raw bytes too.
 */
#include "err.h"
#include "image_decode.h"
#include "image_norm.h"

#include <math.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_limits lim = {2048, 2048, 1 << 20};
	struct img_raw raw;
	char err[ERR_MAX];
	float out[784];
	int o = img_exif_orientation(data, size);
	if (o < 1 || o > 8)
		abort();
	if (img_decode_jpeg(data, size, &lim, &raw, err) != 0) {
		if (raw.px)
			abort(); /* a failed decode must not hand out pixels */
		return 0;
	}
	if (img_normalise(raw.px, raw.w, raw.h, raw.ch, out, err) == 0)
		for (int i = 0; i < 784; i++)
			if (!(out[i] >= 0 && out[i] <= 1))
				abort();
	free(raw.px);
	return 0;
}
