/* AVX-512 instances of kernels_simd.inc. Only this file is compiled with
 * -mavx512f; kernels.c calls it only when the CPU has AVX-512F. */
#include "kernels.h"
#include "kernels_impl.h"

#include <immintrin.h>
#include <math.h>
#include <stddef.h>

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
#define FN(name) kern_avx512_##name
#define CONV_NC 6
#define GEMM_MR 6
#define GEMM_NV 4
#define ATT_R 6

#include "kernels_simd.inc"
