/*
 * libFuzzer harness for the PNG path: arbitrary bytes through libpng with
 * our error handling, then the normaliser (checks in fuzz_image.h).
 * Crashes, leaks, UB and out-of-range outputs abort.
 */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_raw raw;
	char err[ERR_MAX];
	return fuzz_check_decoded(img_decode_png(data, size, &fuzz_limits, &raw, err), &raw);
}
