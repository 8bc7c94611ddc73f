/*
 * kernels_impl: private to the kernels module. Declares the per-ISA
 * variants that kernels.c dispatches to (kernels_avx512.c, kernels_avx2.c,
 * both instances of kernels_simd.inc); callers use kernels.h only.
 */
#ifndef MNIST_KERNELS_IMPL_H
#define MNIST_KERNELS_IMPL_H

/* Longest sequence the vectorised attention handles. */
#define ATT_TMAX 64

#define KERN_SIMD_DECLS(isa)                                                                       \
	void kern_##isa##_conv3x3_relu_pool_padded(const float *in, int h, int w, int cin,         \
						   const float *wt, const float *bias, int cout,   \
						   float *out, int out_pad);                       \
	void kern_##isa##_linear(const float *x, int m, int k, const float *wt, const float *b,    \
				 int n, int relu, float *y);                                       \
	void kern_##isa##_add_layernorm(float *x, const float *r, int m, int n, const float *g,    \
					const float *b, float eps);                                \
	void kern_##isa##_attention(const float *qkv, int t, int d, int heads, float *scratch,     \
				    float *out);

KERN_SIMD_DECLS(avx512)
KERN_SIMD_DECLS(avx2)

#endif
