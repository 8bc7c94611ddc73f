/* The int8 engine's attention in bf16 on AVX-512 BF16 (vdpbf16ps: 32 bf16
 * multiply-adds into 16 float32 sums per instruction, twice the work of an
 * FMA). Only this file is compiled with -mavx512bf16; kernels_int8.c calls
 * it only when the CPU has AVX-512 BF16 and the AVX-512 kernels are in use.
 * The arithmetic is kernels_int8.h's kern_q_attention: scale * q, k, v and
 * the probabilities rounded to bf16 (to nearest even), every product exact,
 * every sum and the softmax in float32. */
#include "kernels_impl.h"
#include "kernels_int8.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels_avx512_vocab.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#include "kernels_att_softmax.inc"

#define DWMAX 32 /* 32-bit bf16 pairs per row of one head: dh <= 64 */
#define TP2 (ATT_TMAX / 2)
#define SC_R 4 /* query rows per register block: scores */
#define PV_R 8 /* and values (dh = 32; 6 for dh = 64) */

/* vdpbf16ps through asm, as vpdpbusd in kernels_int8_avx512.c: GCC 12
 * copies the intrinsic's accumulator around every instruction. */
ALWAYS_INLINE __m512 dpbf16(__m512 acc, __m512i a, __m512i b)
{
	__asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
	return acc;
}

/* 32 floats (lo: 0..15, hi: 16..31) -> 32 bf16 in order, as 16 pairs. */
ALWAYS_INLINE __m512i bf16_pairs(__m512 lo, __m512 hi)
{
	return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* 16 floats -> 16 bf16, one in the low half of each 32-bit lane. */
ALWAYS_INLINE __m512i bf16_low(__m512 x)
{
	return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x));
}

/* Rows 0..R of one head: the scores sum over the dw pairs of qb[r] . kt[.][j],
 * then their softmax over keys 0..t, in registers; the probabilities go
 * into pb[r] as bf16 pairs (keys t.. get 0). */
ALWAYS_INLINE void bf_scores(const uint32_t *qb, int dw, const uint32_t *kt, int t, uint32_t *pb,
			     const int R)
{
	__m512 acc[SC_R][ATT_NT];
	for (int r = 0; r < R; r++)
		for (int v = 0; v < ATT_NT; v++)
			acc[r][v] = vzero();
	for (int e = 0; e < dw; e++) {
		__m512i kv[ATT_NT];
		for (int v = 0; v < ATT_NT; v++)
			kv[v] =
			    _mm512_loadu_si512((const void *)(kt + (size_t)e * ATT_TMAX + v * 16));
		for (int r = 0; r < R; r++) {
			__m512i a = _mm512_set1_epi32((int)qb[(size_t)r * dw + e]);
			for (int v = 0; v < ATT_NT; v++)
				acc[r][v] = dpbf16(acc[r][v], a, kv[v]);
		}
	}
	__mmask16 live[ATT_NT];
	for (int v = 0; v < ATT_NT; v++) {
		int n = t - v * 16;
		live[v] = (__mmask16)(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1);
	}
	for (int r = 0; r < R; r++) {
		__m512 m = vset1(-INFINITY), sum = vzero();
		for (int v = 0; v < ATT_NT; v++)
			m = _mm512_mask_max_ps(m, live[v], m, acc[r][v]);
		m = vset1(_mm512_reduce_max_ps(m));
		for (int v = 0; v < ATT_NT; v++) {
			acc[r][v] = _mm512_maskz_mov_ps(live[v], vexp_neg(vsub(acc[r][v], m)));
			sum = vadd(sum, acc[r][v]);
		}
		__m512 inv = vset1(1.0f / _mm512_reduce_add_ps(sum));
		for (int v = 0; v < ATT_NT; v += 2)
			_mm512_storeu_si512(
			    (void *)(pb + (size_t)r * TP2 + v * 8),
			    bf16_pairs(vmul(acc[r][v], inv), vmul(acc[r][v + 1], inv)));
	}
}

/* o[r] (DHV vectors) = sum over np pairs of pb[r][j2] . vt[j2], rows 0..R. */
ALWAYS_INLINE void bf_values(const uint32_t *pb, const uint32_t *vt, int np, int dh, float *o,
			     int ldo, const int R, const int DHV)
{
	__m512 acc[PV_R][4];
	for (int r = 0; r < R; r++)
		for (int u = 0; u < DHV; u++)
			acc[r][u] = vzero();
	for (int j = 0; j < np; j++) {
		__m512i vv[4];
		for (int u = 0; u < DHV; u++)
			vv[u] = _mm512_loadu_si512((const void *)(vt + (size_t)j * dh + u * 16));
		for (int r = 0; r < R; r++) {
			__m512i a = _mm512_set1_epi32((int)pb[(size_t)r * TP2 + j]);
			for (int u = 0; u < DHV; u++)
				acc[r][u] = dpbf16(acc[r][u], a, vv[u]);
		}
	}
	for (int r = 0; r < R; r++)
		for (int u = 0; u < DHV; u++)
			vstore(o + (size_t)r * ldo + u * 16, acc[r][u]);
}

/* Rows i..i+rows (rows <= SC_R) of one head: scores, softmax, bf16 probabilities. */
static void head_scores(const uint32_t *qb, int dw, const uint32_t *kt, int t, uint32_t *pb,
			int rows)
{
	switch (rows) {
#define SC_CASE(R)                                                                                 \
	case R: bf_scores(qb, dw, kt, t, pb, (R) <= SC_R ? (R) : SC_R); break;
		SC_CASE(1)
		SC_CASE(2)
		SC_CASE(3)
		SC_CASE(4)
		SC_CASE(5)
		SC_CASE(6)
#undef SC_CASE
	default: break;
	}
}

ALWAYS_INLINE void head_values(const uint32_t *pb, const uint32_t *vt, int np, int dh, float *o,
			       int ldo, int rows, const int DHV)
{
	switch (rows) {
#define PV_CASE(R)                                                                                 \
	case R: bf_values(pb, vt, np, dh, o, ldo, (R) <= PV_R ? (R) : PV_R, DHV); break;
		PV_CASE(1)
		PV_CASE(2)
		PV_CASE(3)
		PV_CASE(4)
		PV_CASE(5)
		PV_CASE(6)
		PV_CASE(7)
		PV_CASE(8)
#undef PV_CASE
	default: break;
	}
}

/* r[i][j] = r[j][i], 16 x 16 32-bit lanes: unpack 32- and 64-bit pairs,
 * then exchange 128-bit quarters twice. */
static void transpose16(__m512i r[16])
{
	__m512i t[16];
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) {
		r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
		r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
		r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
		r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	for (int h = 0; h < 16; h += 8)
		for (int i = 0; i < 4; i++) {
			t[h + i] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0x88);
			t[h + i + 4] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0xdd);
		}
	for (int i = 0; i < 8; i++) {
		r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
		r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
	}
}

/* q * scale and k of every row into bf16 pairs: qb row-major, kt transposed
 * (pair e of key j at kt[e][j], keys t.. of the last block zero); v's rows
 * 2j2 and 2j2 + 1 interleaved into vt[j2] (an odd t's last pair has zeros
 * above). */
static void pack_head(const float *q, int ld, int t, int dh, float scale, uint32_t *qb,
		      uint32_t *kt, uint32_t *vt)
{
	const float *k = q + ld / 3, *v = q + 2 * (ld / 3);
	int dw = dh / 2;
	__m512 sc = vset1(scale);
	for (int i = 0; i < t; i++)
		for (int c = 0; c < dh; c += 32) {
			const float *qi = q + (size_t)i * ld + c;
			_mm512_storeu_si512(
			    (void *)(qb + (size_t)i * dw + c / 2),
			    bf16_pairs(vmul(vload(qi), sc), vmul(vload(qi + 16), sc)));
		}
	for (int j0 = 0; j0 < t; j0 += 16)
		for (int c = 0; c < dh; c += 32) {
			__m512i r[16];
			for (int j = 0; j < 16; j++) {
				const float *kj = k + (size_t)(j0 + j) * ld + c;
				r[j] = j0 + j < t ? bf16_pairs(vload(kj), vload(kj + 16))
						  : _mm512_setzero_si512();
			}
			transpose16(r);
			for (int e = 0; e < 16; e++)
				_mm512_storeu_si512(
				    (void *)(kt + (size_t)(c / 2 + e) * ATT_TMAX + j0), r[e]);
		}
	for (int j = 0; j < t; j += 2) {
		const float *r0 = v + (size_t)j * ld, *r1 = r0 + ld;
		for (int c = 0; c < dh; c += 16) {
			__m512i lo = bf16_low(vload(r0 + c));
			__m512i hi = j + 1 < t ? _mm512_slli_epi32(bf16_low(vload(r1 + c)), 16)
					       : _mm512_setzero_si512();
			_mm512_storeu_si512((void *)(vt + (size_t)(j / 2) * dh + c),
					    _mm512_or_si512(lo, hi));
		}
	}
}

void kern_bf16_avx512_attention(const float *qkv, int t, int d, int heads, void *scratch,
				float *out)
{
	int dh = d / heads, ld = 3 * d, dw = dh / 2, np = (t + 1) / 2;
	float scale = 1.0f / sqrtf((float)dh);
	uint32_t *qb = scratch, *kt = qb + (size_t)ATT_TMAX * DWMAX;
	uint32_t *vt = kt + (size_t)DWMAX * ATT_TMAX, *pb = vt + (size_t)TP2 * 2 * DWMAX;
	/* Key blocks past t stay zero for every head: pack_head never writes them. */
	for (int e = 0; e < dw; e++)
		for (int v = (t + 15) / 16; v < ATT_NT; v++)
			_mm512_storeu_si512((void *)(kt + (size_t)e * ATT_TMAX + v * 16),
					    _mm512_setzero_si512());
	for (int hd = 0; hd < heads; hd++) {
		pack_head(qkv + hd * dh, ld, t, dh, scale, qb, kt, vt);
		for (int i = 0; i < t; i += SC_R) {
			int rows = t - i < SC_R ? t - i : SC_R;
			head_scores(qb + (size_t)i * dw, dw, kt, t, pb + (size_t)i * TP2, rows);
		}
		int step = dh == 32 ? PV_R : 6; /* 4 vectors a row for dh = 64 */
		for (int i = 0; i < t; i += step) {
			int rows = t - i < step ? t - i : step;
			float *o = out + (size_t)i * d + hd * dh;
			const uint32_t *pi = pb + (size_t)i * TP2;
			if (dh == 32)
				head_values(pi, vt, np, dh, o, d, rows, 2);
			else
				head_values(pi, vt, np, dh, o, d, rows, 4);
		}
	}
}
