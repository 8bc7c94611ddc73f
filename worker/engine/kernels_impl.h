/*
 * kernels_impl: private to the kernels module. Declares the per-ISA
 * variants that kernels.c dispatches to (kernels_avx512.c, kernels_avx2.c,
 * both instances of kernels_simd.inc); callers use kernels.h only.
 */
#ifndef MNIST_KERNELS_IMPL_H
#define MNIST_KERNELS_IMPL_H

#include "kernels.h"

#include <stdint.h>

struct kern_q_epi;

/* The fp32 variant in use (KERN_GENERIC before kern_init()); the int8
 * dispatch in kernels_int8.c follows it. */
enum kern_isa kern_isa_now(void);

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

/* The int8 variants (kernels_int8_avx512.c, kernels_int8_avxvnni.c, both
 * instances of kernels_int8_simd.inc). */
#define KERN_Q_SIMD_DECLS(isa)                                                                     \
	void kern_q_##isa##_quantize(const float *x, size_t n, float inv_scale, int zp,            \
				     uint8_t *q);                                                  \
	void kern_q_##isa##_linear(const uint8_t *x, int m, int k, const int8_t *wp, int n,        \
				   const struct kern_q_epi *e, float *y, uint8_t *yq);             \
	void kern_q_##isa##_conv3x3_pool(const uint8_t *in, int h, int w, int cin,                 \
					 const int8_t *wp, int cout, const struct kern_q_epi *e,   \
					 uint8_t *out, int out_pad);

KERN_Q_SIMD_DECLS(avx512)
KERN_Q_SIMD_DECLS(avxvnni)

/* kern_q_attention on AVX-512 BF16 (kernels_bf16_avx512.c): t <= ATT_TMAX,
 * d / heads 32 or 64; scratch holds KERN_BF16_ATT_WORDS 32-bit words. */
#define KERN_BF16_ATT_WORDS (5 * ATT_TMAX * 32 + ATT_TMAX * ATT_TMAX)
void kern_bf16_avx512_attention(const float *qkv, int t, int d, int heads, void *scratch,
				float *out);

#endif
