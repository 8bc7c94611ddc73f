/*
 * The test shape shared by the image unit tests (t_image, t_image_exif): a
 * "7"-like W x H binary shape, the largest difference of two 28x28
 * outputs, and a growable memory buffer for in-memory encoders.
 */
#ifndef MNIST_T_IMAGE_SHAPE_H
#define MNIST_T_IMAGE_SHAPE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define W 40
#define H 48

/* A "7"-like binary shape: 1 = ink. */
static inline int ink(int x, int y)
{
	if (y >= 8 && y < 14 && x >= 8 && x < 32)
		return 1;	   /* bar */
	int cx = 31 - (y - 8) / 2; /* diagonal stroke */
	return y >= 8 && y < 42 && x >= cx - 3 && x < cx + 2;
}

static inline double max_diff(const float *a, const float *b)
{
	double m = 0;
	for (int i = 0; i < 784; i++)
		m = fmax(m, fabs(a[i] - b[i]));
	return m;
}

struct mem {
	uint8_t *p;
	size_t n, cap;
};

#endif
