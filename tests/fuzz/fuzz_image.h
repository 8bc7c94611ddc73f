/*
 * What the PNG and JPEG fuzz harnesses check after a decode: a failed
 * decode hands out no pixels; a successful one normalises to 784 values in
 * [0, 1]. Anything else aborts, which libFuzzer reports as a crash. Frees
 * the pixels. Small limits keep the fuzzer exploring formats rather than
 * allocating 40 MP buffers.
 */
#ifndef MNIST_FUZZ_IMAGE_H
#define MNIST_FUZZ_IMAGE_H

#include "err.h"
#include "decode.h"
#include "norm.h"

#include <stdlib.h>

static const struct img_limits fuzz_limits = {2048, 2048, 1 << 20};

static inline int fuzz_check_decoded(int rc, struct img_raw *raw)
{
	char err[ERR_MAX];
	float out[784];

	if (rc != 0) {
		if (raw->px)
			abort();
		return 0;
	}
	if (img_normalise(raw->px, raw->w, raw->h, raw->ch, out, err) == 0)
		for (int i = 0; i < 784; i++)
			if (!(out[i] >= 0 && out[i] <= 1))
				abort();
	free(raw->px);
	return 0;
}

#endif
