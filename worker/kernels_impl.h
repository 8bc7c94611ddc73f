/*
 * kernels_impl: private to the kernels module. Declares the per-ISA
 * variants that kernels.c dispatches to; callers use kernels.h only.
 */
#ifndef MNIST_KERNELS_IMPL_H
#define MNIST_KERNELS_IMPL_H

void kern_generic_conv3x3_relu(const float *in, int h, int w, int cin, const float *wp,
			       const float *bias, int cout, float *out);
void kern_generic_conv3x3_relu_pool(const float *in, int h, int w, int cin, const float *wp,
				    const float *bias, int cout, float *out);

#endif
