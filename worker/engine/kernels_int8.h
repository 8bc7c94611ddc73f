/*
 * kernels_int8: the int8 building blocks of the int8 model (weights/quantize.py
 * describes the scheme), pure functions like kernels.h: no allocation, no
 * model knowledge, every buffer the caller's, images channels-last.
 *
 * Activations are u8 codes (a zero point, 0 or 128, is the caller's: it
 * goes into acc0 below); weights are s8, packed once at load. A dot
 * product accumulates u8 x s8 in int32, exactly, starting from acc0[n]
 * (the caller puts -zero_point * sum_k w[n][k] there); then the epilogue
 * is one fused multiply-add per output in float32,
 *     v = fmaf((float)acc, scale[n], off[n]),
 * and the output is either float (v, or max(v, 0) with relu) or u8 codes
 * rint(min(max(v, 0), 255)) (the next layer's input: fold its 1 / scale
 * and zero point into scale and off). The int32 sums must stay below 2^24
 * in magnitude so that (float)acc is exact: k * 255 * 127 < 2^24, k <= 512.
 *
 * Variants: AVX-512 VNNI (vpdpbusd on 512 bits), AVX-VNNI (the VEX 256-bit
 * vpdpbusd) and plain C. They give bit-identical results (integer sums are
 * exact, the epilogue is one correctly rounded fmaf, rounding is to nearest
 * even): tests/unit/t_kernels_int8.c checks each against a plain integer
 * loop for equality. The variant follows kern_use()/kern_init() of
 * kernels.h: KERN_AVX512 runs AVX-512 VNNI if the CPU has it, else
 * AVX-VNNI if it has that; KERN_AVX2 runs AVX-VNNI if the CPU has it;
 * anything else runs plain C. Thread-safe.
 */
#ifndef MNIST_KERNELS_INT8_H
#define MNIST_KERNELS_INT8_H

#include <stddef.h>
#include <stdint.h>

enum kern_q_isa { KERN_Q_GENERIC = 0, KERN_Q_AVXVNNI = 1, KERN_Q_AVX512VNNI = 2 };

/* The variant the int8 kernels run now (see above). */
enum kern_q_isa kern_q_isa(void);
const char *kern_q_isa_name(enum kern_q_isa isa);
/* 1 if this CPU has a VNNI variant (so int8 beats fp32), else 0. */
int kern_q_cpu_has_vnni(void);
/* 1 if this CPU can run variant isa (KERN_Q_GENERIC: always). */
int kern_q_cpu_supports(enum kern_q_isa isa);

/* The epilogue of a layer: per output channel n, acc starts at acc0[n]
 * (NULL: 0), v = fmaf(acc, scale[n], off[n]). relu applies to float
 * outputs only. */
struct kern_q_epi {
	const int32_t *acc0;
	const float *scale, *off;
	int relu;
};

/* q[i] = clamp(rint(min(max(x[i] * inv_scale, -1000), 1000)) + zp, 0, 255). */
void kern_q_quantize(const float *x, size_t n, float inv_scale, int zp, uint8_t *q);

/* Packing, once at load; k and cin multiples of 4. A linear weight,
 * PyTorch's n x k s8, goes into column panels of KERN_Q_PANEL (the last one
 * narrower), each k/4 groups of [width][4] bytes: the four k-consecutive
 * weights of one column side by side, as vpdpbusd wants them. wp holds
 * n * k bytes. */
#define KERN_Q_PANEL 64
void kern_q_pack_linear(const int8_t *w, int n, int k, int8_t *wp);
/* A conv weight, PyTorch's [cout][cin][3][3] -> [3][3][cin/4][cout][4]. */
void kern_q_pack_conv3x3(const int8_t *w, int cout, int cin, int8_t *wp);

/* y = x (m x k u8) times W^T (n x k, as packed) through the epilogue e;
 * exactly one of y (m x n floats) and yq (m x n u8 codes) is non-NULL. */
void kern_q_linear(const uint8_t *x, int m, int k, const int8_t *wp, int n,
		   const struct kern_q_epi *e, float *y, uint8_t *yq);

/* Fused int8 conv3x3 (padding 1) + epilogue to u8 + 2x2 max-pool, like
 * kern_conv3x3_relu_pool: in is (h + 2) x (w + 2) x cin u8 codes with a
 * border of zero codes, h and w even; the (h/2) x (w/2) x cout codes go into
 * the interior of out (a border of out_pad pixels left untouched). Every
 * e->scale[n] must be > 0, so that pooling the int32 sums before the
 * epilogue equals pooling after it. */
void kern_q_conv3x3_pool(const uint8_t *in, int h, int w, int cin, const int8_t *wp, int cout,
			 const struct kern_q_epi *e, uint8_t *out, int out_pad);

/* The int8 engine's self-attention, the contract of kern_attention
 * (kernels.h) but in bf16 where the CPU has AVX-512 BF16 and the AVX-512
 * kernels are in use (kern_q_attention_bf16() says which): q * (1 / sqrt(dh)),
 * k, v and the softmax probabilities are rounded to bf16 (nearest even),
 * products are exact and the sums and the softmax float32. Elsewhere it is
 * kern_attention itself, float32 throughout. scratch holds
 * kern_q_attention_scratch() bytes, 64-byte aligned. Thread-safe. */
int kern_q_attention_bf16(void);
size_t kern_q_attention_scratch(int t, int d, int heads);
void kern_q_attention(const float *qkv, int t, int d, int heads, void *scratch, float *out);

#endif
