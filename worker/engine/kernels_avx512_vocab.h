/*
 * kernels_avx512_vocab.h: the AVX-512 float vector vocabulary of
 * kernels_simd.inc (see there), for the files compiled with -mavx512f that
 * include it or kernels_att_softmax.inc: kernels_avx512.c and
 * kernels_bf16_avx512.c.
 */
#ifndef MNIST_KERNELS_AVX512_VOCAB_H
#define MNIST_KERNELS_AVX512_VOCAB_H

#include <immintrin.h>

#define VW 16
typedef __m512 vf;
#define vload _mm512_loadu_ps
#define vstore _mm512_storeu_ps
#define vset1 _mm512_set1_ps
#define vzero _mm512_setzero_ps
#define vfma _mm512_fmadd_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vmax _mm512_max_ps
#define vhsum _mm512_reduce_add_ps
#define vhmax _mm512_reduce_max_ps
#define vround(x) _mm512_roundscale_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
/* 2^n for integral n in [-126, 127]: build the exponent bits. */
#define vexp2n(n)                                                                                  \
	_mm512_castsi512_ps(_mm512_slli_epi32(                                                     \
	    _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define vmask_keep(x, k) _mm512_maskz_mov_ps((__mmask16)((1u << (k)) - 1), (x))

#endif
