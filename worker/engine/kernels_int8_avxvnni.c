/* AVX-VNNI (VEX, 256-bit) instances of kernels_int8_simd.inc. Only this file
 * is compiled with -mavxvnni; kernels_int8.c calls it only when the CPU has
 * AVX-VNNI and AVX2. */
#include "kernels_impl.h"
#include "kernels_int8.h"

#include <immintrin.h>
#include <math.h>

#define QW 8
typedef __m256i vi;
typedef __m256 vf;
#define qload(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
/* vpdpbusd through asm, as in kernels_int8_avx512.c; {vex}: the AVX-VNNI
 * encoding, not AVX-512 VNNI's EVEX one. */
static inline __attribute__((always_inline)) __m256i qdp(__m256i acc, __m256i a, __m256i w)
{
	__asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(w));
	return acc;
}
#define qzero _mm256_setzero_si256
#define qload_i32(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define qmax_i32 _mm256_max_epi32
#define qmin_i32 _mm256_min_epi32
#define qadd_i32 _mm256_add_epi32
#define qset1_i32 _mm256_set1_epi32
#define vfload _mm256_loadu_ps
#define vfstore _mm256_storeu_ps
#define vfset1 _mm256_set1_ps
#define vfzero _mm256_setzero_ps
#define vffma _mm256_fmadd_ps
#define vfmax _mm256_max_ps
#define vfmin _mm256_min_ps
#define vfmul _mm256_mul_ps
#define qcvt_f _mm256_cvtepi32_ps
#define qcvt_i _mm256_cvtps_epi32
#define FN(name) kern_q_avxvnni_##name
#define QGEMM_MR 4
#define QGEMM_NV 2
#define QCONV_NC 2
#define QCONV_NV 2

/* Eight int32 lanes, each 0..255, as eight bytes. */
static inline void qstore_u8(uint8_t *p, __m256i v)
{
	__m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	_mm_storel_epi64((__m128i *)(void *)p, _mm_packus_epi16(w, w));
}

#include "kernels_int8_simd.inc"
