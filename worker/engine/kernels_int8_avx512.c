/* AVX-512 VNNI instances of kernels_int8_simd.inc. Only this file is
 * compiled with -mavx512vnni; kernels_int8.c calls it only when the CPU has
 * AVX-512 VNNI and BW. */
#include "kernels_impl.h"
#include "kernels_int8.h"

#include <immintrin.h>
#include <math.h>

#define QW 16
typedef __m512i vi;
typedef __m512 vf;
#define qload(p) _mm512_loadu_si512((const void *)(p))
/* vpdpbusd through asm: with the intrinsic GCC 12 copies every accumulator
 * around each instruction and spills them (measured 2.5x slower). */
static inline __attribute__((always_inline)) __m512i qdp(__m512i acc, __m512i a, __m512i w)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
	return acc;
}
#define qzero _mm512_setzero_si512
#define qload_i32(p) _mm512_loadu_si512((const void *)(p))
#define qmax_i32 _mm512_max_epi32
#define qmin_i32 _mm512_min_epi32
#define qadd_i32 _mm512_add_epi32
#define qset1_i32 _mm512_set1_epi32
#define vfload _mm512_loadu_ps
#define vfstore _mm512_storeu_ps
#define vfset1 _mm512_set1_ps
#define vfzero _mm512_setzero_ps
#define vffma _mm512_fmadd_ps
#define vfmax _mm512_max_ps
#define vfmin _mm512_min_ps
#define vfmul _mm512_mul_ps
#define qcvt_f _mm512_cvtepi32_ps
#define qcvt_i _mm512_cvtps_epi32
#define qstore_u8(p, v) _mm_storeu_si128((__m128i *)(void *)(p), _mm512_cvtepi32_epi8(v))
#define FN(name) kern_q_avx512_##name
#define QGEMM_MR 6
#define QGEMM_NV 4
#define QCONV_NC 6
#define QCONV_NV 2

#include "kernels_int8_simd.inc"
