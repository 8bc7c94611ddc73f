/*
 * What the PNG and JPEG fuzz harnesses check: a decode into the intake
 * (norm.h) either fails as invalid, too large or out of memory (the CPU
 * budget ends a slow one as invalid) or normalises to 784 values in
 * [0, 1]. Anything else aborts, which libFuzzer reports as a crash. Small
 * limits keep the fuzzer exploring formats rather than 40 MP images.
 */
#ifndef MNIST_FUZZ_IMAGE_H
#define MNIST_FUZZ_IMAGE_H

#include "err.h"
#include "decode.h"
#include "norm.h"

#include <stdlib.h>

static const struct img_limits fuzz_limits = {2048, 2048, 1 << 20, 0};

typedef int (*fuzz_decoder)(const uint8_t *buf, size_t len, struct img_intake *in, char *err);

static inline int fuzz_check_decode(fuzz_decoder decode, const uint8_t *data, size_t size)
{
	struct img_intake in;
	char err[ERR_MAX];
	float out[784];
	int rc;

	img_intake_init(&in, &fuzz_limits);
	rc = decode(data, size, &in, err);
	if (rc == 0)
		rc = img_normalise_intake(&in, out, err);
	if (rc != 0 && rc != ERR_INVALID && rc != ERR_TOO_LARGE && rc != ERR_NOMEM)
		abort(); /* ERR_INTERNAL and the rest are bugs */
	if (rc == 0)
		for (int i = 0; i < 784; i++)
			if (!(out[i] >= 0 && out[i] <= 1))
				abort();
	img_intake_free(&in);
	return 0;
}

#endif
