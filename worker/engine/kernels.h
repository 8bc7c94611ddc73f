/*
 * kernels: the numeric building blocks of the model, as pure functions over
 * plain float arrays. No allocation, no model knowledge; every buffer is
 * the caller's. Images are channels-last (HWC: pixel (y, x)
 * channel c at [(y * w + x) * c_count + c]), so the 7x7x64 map after the
 * second pool is already the 49 x 64 token matrix of the PyTorch forward.
 * Matrices are row-major. Weights arrive pre-packed (kern_pack_* below, done
 * once at load).
 *
 * kern_init() picks the fastest variant this CPU supports (AVX-512, AVX2+FMA
 * or plain C, chosen at run time: the binaries run on any x86-64) and
 * should run before the other calls (model_load does; before it, the plain
 * C variant runs). kern_use() forces one, process-wide, for tests and
 * benchmarks. Every function is thread-safe; outputs never alias inputs
 * unless stated. Each variant matches a naive double loop to ~1e-6
 * relative (tests/unit/t_kernels.c); they differ from each other only in
 * rounding.
 */
#ifndef MNIST_KERNELS_H
#define MNIST_KERNELS_H

#include <stddef.h>

enum kern_isa { KERN_GENERIC = 0, KERN_AVX2 = 1, KERN_AVX512 = 2 };

/* Select the best variant for this CPU; returns it. Idempotent. */
enum kern_isa kern_init(void);
/* Force a variant (clamped to what the CPU supports); returns the one in use. */
enum kern_isa kern_use(enum kern_isa isa);
const char *kern_isa_name(enum kern_isa isa);

/* Packing, done once at load. w is PyTorch's [cout][cin][3][3] -> wp is
 * [3][3][cin][cout]. */
void kern_pack_conv3x3(const float *w, int cout, int cin, float *wp);

/* A linear layer's weight, PyTorch's n x k, packed for kern_linear: column
 * panels of KERN_PANEL (the last one narrower), each a contiguous k x width
 * row-major block, so the panel the GEMM works on stays in L1 instead of
 * being read with an n-float stride. wp holds n * k floats. */
#define KERN_PANEL 64
void kern_pack_linear(const float *w, int n, int k, float *wp);

/* Fused conv3x3 + bias + ReLU + 2x2 max-pool, the model's hot path, on a
 * zero-padded input: in is (h + 2) x (w + 2) x cin with a zero border, h and
 * w even. The (h/2) x (w/2) x cout result goes into the interior of out,
 * which has a border of out_pad pixels on every side (left untouched, so a
 * zeroed out is the next conv's padded input). Equal to
 * a 3x3 convolution (padding 1) + bias + ReLU, then a 2x2 max-pool of
 * stride 2 over the interior. */
void kern_conv3x3_relu_pool(const float *in, int h, int w, int cin, const float *wp,
			    const float *bias, int cout, float *out, int out_pad);

/* y (m x n) = x (m x k) * W^T + b (n, or NULL), then ReLU if relu; W is
 * the n x k PyTorch weight as kern_pack_linear packed it into wp. */
void kern_linear(const float *x, int m, int k, const float *wp, const float *b, int n, int relu,
		 float *y);

/* Row-wise layer norm of x + r (r may be NULL), in place in x:
 * x = (v - mean) / sqrt(var + eps) * g + b, v = x + r, biased variance. */
void kern_add_layernorm(float *x, const float *r, int m, int n, const float *g, const float *b,
			float eps);

/* Multi-head self-attention core for one sequence. qkv is t x 3d with each
 * row [q | k | v] (the in_proj output); head h uses columns h*dh..(h+1)*dh
 * of each part, dh = d / heads. out (t x d) = concat over heads of
 * softmax(q k^T / sqrt(dh)) v. scratch holds kern_attention_scratch()
 * floats. */
void kern_attention(const float *qkv, int t, int d, int heads, float *scratch, float *out);
size_t kern_attention_scratch(int t, int d, int heads);

/* In-place softmax of n values (max-subtracted). */
void kern_softmax(float *x, int n);

/* out (d) = mean over the t rows of x (t x d). */
void kern_meanpool(const float *x, int t, int d, float *out);

#endif
