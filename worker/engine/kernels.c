/* Portable kernels, packing, and the dispatch to the vectorised variants
 * (kernels_avx512.c, kernels_avx2.c: instances of kernels_simd.inc). */
#include "kernels.h"
#include "kernels_impl.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* The variant in use: -1 until kern_init(). Written at start-up (or by a
 * test), read by every kernel: relaxed atomics make concurrent model loads
 * in several threads well-defined, and cost a plain load on x86. */
static int isa_state = -1;

enum kern_isa kern_isa_now(void)
{
	int v = __atomic_load_n(&isa_state, __ATOMIC_RELAXED);
	return v < 0 ? KERN_GENERIC : (enum kern_isa)v;
}

static enum kern_isa cpu_best(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
		return KERN_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return KERN_AVX2;
#endif
	return KERN_GENERIC;
}

enum kern_isa kern_init(void)
{
	int want = cpu_best(), unset = -1;
	/* The first caller decides; a kern_use() before kern_init() wins too. */
	__atomic_compare_exchange_n(&isa_state, &unset, want, 0, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
	return kern_isa_now();
}

enum kern_isa kern_use(enum kern_isa isa)
{
	enum kern_isa best = cpu_best();
	__atomic_store_n(&isa_state, (int)(isa > best ? best : isa), __ATOMIC_RELAXED);
	return kern_isa_now();
}

const char *kern_isa_name(enum kern_isa isa)
{
	switch (isa) {
	case KERN_AVX512: return "avx512";
	case KERN_AVX2: return "avx2";
	default: return "generic";
	}
}

void kern_pack_conv3x3(const float *w, int cout, int cin, float *wp)
{
	for (int co = 0; co < cout; co++)
		for (int ci = 0; ci < cin; ci++)
			for (int k = 0; k < 9; k++)
				wp[((size_t)k * cin + ci) * cout + co] =
				    w[((size_t)co * cin + ci) * 9 + k];
}

void kern_pack_linear(const float *w, int n, int k, float *wp)
{
	for (int c = 0; c < n; c += KERN_PANEL) {
		int pw = n - c < KERN_PANEL ? n - c : KERN_PANEL;
		float *panel = wp + (size_t)c * k;
		for (int e = 0; e < k; e++)
			for (int j = 0; j < pw; j++)
				panel[(size_t)e * pw + j] = w[(size_t)(c + j) * k + e];
	}
}

/* One output pixel, channels c0..c1: acc[co - c0] = bias + the valid 3x3 taps. */
static void conv_pixel(const float *in, int h, int w, int cin, const float *wp, const float *bias,
		       int cout, int c0, int c1, int y, int x, float *acc)
{
	for (int co = c0; co < c1; co++)
		acc[co - c0] = bias[co];
	for (int ky = 0; ky < 3; ky++) {
		int iy = y + ky - 1;
		if (iy < 0 || iy >= h)
			continue;
		for (int kx = 0; kx < 3; kx++) {
			int ix = x + kx - 1;
			if (ix < 0 || ix >= w)
				continue;
			const float *px = in + ((size_t)iy * w + ix) * cin;
			const float *wk = wp + (size_t)(ky * 3 + kx) * cin * cout;
			for (int ci = 0; ci < cin; ci++)
				for (int co = c0; co < c1; co++)
					acc[co - c0] += px[ci] * wk[(size_t)ci * cout + co];
		}
	}
}

static void generic_conv_pool(const float *in, int h, int w, int cin, const float *wp,
			      const float *bias, int cout, float *out, int out_pad)
{
	enum { CHUNK = 64 };
	float acc[CHUNK];
	int oh = h / 2, ow = w / 2, orow = ow + 2 * out_pad;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			float *o = out + ((size_t)(y + out_pad) * orow + x + out_pad) * cout;
			for (int c0 = 0; c0 < cout; c0 += CHUNK) {
				int c1 = c0 + CHUNK < cout ? c0 + CHUNK : cout;
				for (int q = 0; q < 4; q++) {
					/* padded pixel (2y+q/2+1, 2x+q%2+1) is output (2y+q/2,
					 * 2x+q%2) */
					conv_pixel(in, h + 2, w + 2, cin, wp, bias, cout, c0, c1,
						   2 * y + q / 2 + 1, 2 * x + q % 2 + 1, acc);
					for (int co = c0; co < c1; co++) {
						float v = acc[co - c0] > 0.0f ? acc[co - c0] : 0.0f;
						o[co] = (q == 0 || v > o[co]) ? v : o[co];
					}
				}
			}
		}
}

void kern_conv3x3_relu_pool(const float *in, int h, int w, int cin, const float *wp,
			    const float *bias, int cout, float *out, int out_pad)
{
	enum kern_isa active = kern_isa_now();
	int simd_ok = h % 2 == 0 && w % 2 == 0;
	if (active == KERN_AVX512 && simd_ok && cout % 32 == 0)
		kern_avx512_conv3x3_relu_pool_padded(in, h, w, cin, wp, bias, cout, out, out_pad);
	else if (active >= KERN_AVX2 && simd_ok && cout % 16 == 0)
		kern_avx2_conv3x3_relu_pool_padded(in, h, w, cin, wp, bias, cout, out, out_pad);
	else
		generic_conv_pool(in, h, w, cin, wp, bias, cout, out, out_pad);
}

/* One sgemm per packed panel, bias preloaded into y (beta = 1). */
static void blas_linear(const float *x, int m, int k, const float *wp, const float *b, int n,
			int relu, float *y)
{
	float beta = 0.0f;
	if (b) {
		for (int i = 0; i < m; i++)
			memcpy(y + (size_t)i * n, b, (size_t)n * sizeof *b);
		beta = 1.0f;
	}
	for (int c = 0; c < n; c += KERN_PANEL) {
		int pw = n - c < KERN_PANEL ? n - c : KERN_PANEL;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, pw, k, 1.0f, x, k,
			    wp + (size_t)c * k, pw, beta, y + c, n);
	}
	if (relu)
		for (size_t i = 0; i < (size_t)m * n; i++)
			y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

void kern_linear(const float *x, int m, int k, const float *wt, const float *b, int n, int relu,
		 float *y)
{
	enum kern_isa active = kern_isa_now();
	if (active == KERN_AVX512 && n % 16 == 0)
		kern_avx512_linear(x, m, k, wt, b, n, relu, y);
	else if (active >= KERN_AVX2 && n % 8 == 0)
		kern_avx2_linear(x, m, k, wt, b, n, relu, y);
	else
		blas_linear(x, m, k, wt, b, n, relu, y);
}

static void generic_add_layernorm(float *x, const float *r, int m, int n, const float *g,
				  const float *b, float eps)
{
	for (int i = 0; i < m; i++) {
		float *row = x + (size_t)i * n;
		if (r)
			for (int j = 0; j < n; j++)
				row[j] += r[(size_t)i * n + j];
		float mean = 0.0f, var = 0.0f;
		for (int j = 0; j < n; j++)
			mean += row[j];
		mean /= (float)n;
		for (int j = 0; j < n; j++)
			var += (row[j] - mean) * (row[j] - mean);
		var /= (float)n;
		float inv = 1.0f / sqrtf(var + eps);
		for (int j = 0; j < n; j++)
			row[j] = (row[j] - mean) * inv * g[j] + b[j];
	}
}

void kern_add_layernorm(float *x, const float *r, int m, int n, const float *g, const float *b,
			float eps)
{
	enum kern_isa active = kern_isa_now();
	if (active == KERN_AVX512 && n % 16 == 0)
		kern_avx512_add_layernorm(x, r, m, n, g, b, eps);
	else if (active >= KERN_AVX2 && n % 8 == 0)
		kern_avx2_add_layernorm(x, r, m, n, g, b, eps);
	else
		generic_add_layernorm(x, r, m, n, g, b, eps);
}

void kern_softmax(float *x, int n)
{
	float mx = x[0], sum = 0.0f;
	for (int i = 1; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	for (int i = 0; i < n; i++) {
		x[i] = expf(x[i] - mx);
		sum += x[i];
	}
	float inv = 1.0f / sum;
	for (int i = 0; i < n; i++)
		x[i] *= inv;
}

static void generic_attention(const float *qkv, int t, int d, int heads, float *scores, float *out)
{
	int dh = d / heads, ld = 3 * d;
	float scale = 1.0f / sqrtf((float)dh);
	for (int hd = 0; hd < heads; hd++) {
		const float *q = qkv + hd * dh, *k = q + d, *v = q + 2 * d;
		for (int i = 0; i < t; i++) {
			float *s = scores + (size_t)i * t;
			for (int j = 0; j < t; j++) {
				float dot = 0.0f;
				for (int e = 0; e < dh; e++)
					dot += q[(size_t)i * ld + e] * k[(size_t)j * ld + e];
				s[j] = dot * scale;
			}
			kern_softmax(s, t);
			float *o = out + (size_t)i * d + hd * dh;
			for (int e = 0; e < dh; e++)
				o[e] = 0.0f;
			for (int j = 0; j < t; j++)
				for (int e = 0; e < dh; e++)
					o[e] += s[j] * v[(size_t)j * ld + e];
		}
	}
}

size_t kern_attention_scratch(int t, int d, int heads)
{
	size_t dh = (size_t)(d / heads);
	size_t simd = (dh + (size_t)t) * ATT_TMAX, generic = (size_t)t * t;
	return simd > generic ? simd : generic;
}

void kern_attention(const float *qkv, int t, int d, int heads, float *scratch, float *out)
{
	enum kern_isa active = kern_isa_now();
	int dh = d / heads;
	if (active == KERN_AVX512 && t <= ATT_TMAX && dh % 16 == 0 && dh <= 64)
		kern_avx512_attention(qkv, t, d, heads, scratch, out);
	else if (active >= KERN_AVX2 && t <= ATT_TMAX && dh % 8 == 0 && dh <= 32)
		kern_avx2_attention(qkv, t, d, heads, scratch, out);
	else
		generic_attention(qkv, t, d, heads, scratch, out);
}

/* restrict and the constant 16-wide inner loop let GCC vectorise at -O2
 * (its cheapest cost model wants no overlap check and no remainder loop). */
void kern_meanpool(const float *restrict x, int t, int d, float *restrict out)
{
	int e0 = d - d % 16;
	for (int e = 0; e < d; e++)
		out[e] = 0.0f;
	for (int i = 0; i < t; i++) {
		const float *restrict row = x + (size_t)i * d;
		for (int e = 0; e < e0; e += 16)
			for (int u = 0; u < 16; u++)
				out[e + u] += row[e + u];
		for (int e = e0; e < d; e++)
			out[e] += row[e];
	}
	for (int e = 0; e < d; e++)
		out[e] /= (float)t;
}
