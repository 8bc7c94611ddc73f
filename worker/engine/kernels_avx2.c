/* AVX2+FMA instances of kernels_simd.inc. Only this file is compiled with
 * -mavx2 -mfma; kernels.c calls it only when the CPU has both. */
#include "kernels.h"
#include "kernels_impl.h"

#include <immintrin.h>
#include <math.h>
#include <stddef.h>

#define VW 8
typedef __m256 vf;
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vset1 _mm256_set1_ps
#define vzero _mm256_setzero_ps
#define vfma _mm256_fmadd_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vmax _mm256_max_ps
#define vround(x) _mm256_round_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vexp2n(n)                                                                                  \
	_mm256_castsi256_ps(_mm256_slli_epi32(                                                     \
	    _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define FN(name) kern_avx2_##name
#define CONV_NC 2
#define GEMM_MR 4
#define GEMM_NV 2
#define ATT_R 1

static inline float vhsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline float vhmax(__m256 v)
{
	__m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_max_ps(s, _mm_movehl_ps(s, s));
	s = _mm_max_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Keep the first k lanes of x (0 <= k < 8). */
static inline __m256 vmask_keep(__m256 x, int k)
{
	__m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	__m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(k), idx);
	return _mm256_and_ps(x, _mm256_castsi256_ps(m));
}

#include "kernels_simd.inc"
