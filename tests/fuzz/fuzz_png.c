/*
 * libFuzzer harness for the PNG path: arbitrary bytes through libpng with
 * our error handling, then the normaliser (checks in fuzz_image.h).
 * Crashes, leaks, UB and out-of-range outputs abort.
 */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_check_decode(img_decode_png, data, size);
}
