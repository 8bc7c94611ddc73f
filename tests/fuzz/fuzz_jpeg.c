/*
 * libFuzzer harness for the JPEG path: arbitrary bytes through libjpeg-turbo
 * with our error handling, then the normaliser (checks in fuzz_image.h).
 * Crashes, leaks, UB and out-of-range outputs abort. The EXIF parser gets
 * the raw bytes too.
 */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int o = img_exif_orientation(data, size);
	if (o < 1 || o > 8)
		abort();
	return fuzz_check_decode(img_decode_jpeg, data, size);
}
