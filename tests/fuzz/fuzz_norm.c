/*
 * libFuzzer harness for the normaliser: the first three bytes choose width
 * (1-128), height (1-128) and channels (gray or gray+alpha); the rest are
 * pixels (zero-padded). The output must be 784 finite values in [0, 1] and
 * the same image given twice must give the same output (pure function).
 */
#include "err.h"
#include "norm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_MAX];
	float a[784], b[784];
	size_t w, h, n, i;
	int ch;
	uint8_t *px;
	if (size < 3)
		return 0;
	w = (size_t)(data[0] & 127) + 1, h = (size_t)(data[1] & 127) + 1, ch = 1 + (data[2] & 1);
	n = w * h * (size_t)ch;
	px = calloc(n, 1);
	if (!px)
		return 0;
	memcpy(px, data + 3, size - 3 < n ? size - 3 : n);
	if (img_normalise(px, w, h, ch, a, err) != 0 || img_normalise(px, w, h, ch, b, err) != 0)
		abort();
	for (i = 0; i < 784; i++)
		if (!(a[i] >= 0 && a[i] <= 1) || a[i] != b[i])
			abort();
	free(px);
	return 0;
}
