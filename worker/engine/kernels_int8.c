/* Portable int8 kernels, packing, and the dispatch to the VNNI variants
 * (kernels_int8_avx512.c, kernels_int8_avxvnni.c: instances of
 * kernels_int8_simd.inc). The plain C loops here are the definition the
 * vectorised ones must equal bit for bit. */
#include "kernels_int8.h"
#include "kernels.h"
#include "kernels_impl.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static int cpu_avx512vnni(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#else
	return 0;
#endif
}

/* AVX-VNNI is CPUID leaf 7, sub-leaf 1, EAX bit 4 (clang 14 has no
 * __builtin_cpu_supports name for it); AVX2 support implies the OS saves
 * the ymm registers. */
static int cpu_avxvnni(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2") || !__get_cpuid_count(7, 1, &a, &b, &c, &d))
		return 0;
	return (a >> 4) & 1;
#else
	return 0;
#endif
}

static int cpu_avx512bf16(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
#else
	return 0;
#endif
}

int kern_q_cpu_supports(enum kern_q_isa isa)
{
	switch (isa) {
	case KERN_Q_AVX512VNNI: return cpu_avx512vnni();
	case KERN_Q_AVXVNNI: return cpu_avxvnni();
	default: return 1;
	}
}

int kern_q_cpu_has_vnni(void)
{
	return cpu_avx512vnni() || cpu_avxvnni();
}

enum kern_q_isa kern_q_isa(void)
{
	enum kern_isa f = kern_isa_now();
	if (f == KERN_AVX512 && cpu_avx512vnni())
		return KERN_Q_AVX512VNNI;
	if (f >= KERN_AVX2 && cpu_avxvnni())
		return KERN_Q_AVXVNNI;
	return KERN_Q_GENERIC;
}

const char *kern_q_isa_name(enum kern_q_isa isa)
{
	switch (isa) {
	case KERN_Q_AVX512VNNI: return "avx512-vnni";
	case KERN_Q_AVXVNNI: return "avx-vnni";
	default: return "generic";
	}
}

void kern_q_pack_linear(const int8_t *w, int n, int k, int8_t *wp)
{
	for (int c = 0; c < n; c += KERN_Q_PANEL) {
		int pw = n - c < KERN_Q_PANEL ? n - c : KERN_Q_PANEL;
		int8_t *panel = wp + (size_t)c * k;
		for (int e = 0; e < k; e++)
			for (int j = 0; j < pw; j++)
				panel[((size_t)(e / 4) * pw + j) * 4 + e % 4] =
				    w[(size_t)(c + j) * k + e];
	}
}

void kern_q_pack_conv3x3(const int8_t *w, int cout, int cin, int8_t *wp)
{
	for (int co = 0; co < cout; co++)
		for (int ci = 0; ci < cin; ci++)
			for (int t = 0; t < 9; t++)
				wp[(((size_t)t * (cin / 4) + ci / 4) * cout + co) * 4 + ci % 4] =
				    w[((size_t)co * cin + ci) * 9 + t];
}

static uint8_t to_code(float v)
{
	v = v > 0.0f ? v : 0.0f;
	v = v < 255.0f ? v : 255.0f;
	return (uint8_t)rintf(v);
}

static float epi_float(const struct kern_q_epi *e, int n, int32_t acc)
{
	float v = fmaf((float)acc, e->scale[n], e->off[n]);
	return e->relu && !(v > 0.0f) ? 0.0f : v;
}

static void generic_quantize(const float *x, size_t n, float inv_scale, int zp, uint8_t *q)
{
	for (size_t i = 0; i < n; i++) {
		float v = x[i] * inv_scale;
		v = v > -1000.0f ? v : -1000.0f; /* NaN becomes -1000, as with vmaxps */
		v = v < 1000.0f ? v : 1000.0f;
		int c = (int)rintf(v) + zp;
		q[i] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
	}
}

static void store_row(const struct kern_q_epi *e, const int32_t *acc, int c, int pw, float *y,
		      uint8_t *yq)
{
	for (int j = 0; j < pw; j++) {
		if (yq)
			yq[c + j] = to_code(fmaf((float)acc[j], e->scale[c + j], e->off[c + j]));
		else
			y[c + j] = epi_float(e, c + j, acc[j]);
	}
}

static void generic_linear(const uint8_t *x, int m, int k, const int8_t *wp, int n,
			   const struct kern_q_epi *e, float *y, uint8_t *yq)
{
	int32_t acc[KERN_Q_PANEL];
	for (int c = 0; c < n; c += KERN_Q_PANEL) {
		int pw = n - c < KERN_Q_PANEL ? n - c : KERN_Q_PANEL;
		const int8_t *panel = wp + (size_t)c * k;
		for (int i = 0; i < m; i++) {
			const uint8_t *xr = x + (size_t)i * k;
			for (int j = 0; j < pw; j++)
				acc[j] = e->acc0 ? e->acc0[c + j] : 0;
			for (int g = 0; g < k / 4; g++)
				for (int j = 0; j < pw; j++)
					for (int t = 0; t < 4; t++)
						acc[j] += (int32_t)xr[4 * g + t] *
							  panel[((size_t)g * pw + j) * 4 + t];
			store_row(e, acc, c, pw, y ? y + (size_t)i * n : NULL,
				  yq ? yq + (size_t)i * n : NULL);
		}
	}
}

/* The int32 sums of output pixel (y, x) of the padded input, all channels. */
static void conv_at(const uint8_t *in, int wp2, int cin, const int8_t *wp, int cout,
		    const struct kern_q_epi *e, int y, int x, int32_t *acc)
{
	for (int co = 0; co < cout; co++)
		acc[co] = e->acc0 ? e->acc0[co] : 0;
	for (int t = 0; t < 9; t++) {
		const uint8_t *px = in + ((size_t)(y + t / 3) * wp2 + x + t % 3) * cin;
		for (int g = 0; g < cin / 4; g++) {
			const int8_t *w = wp + ((size_t)t * (cin / 4) + g) * cout * 4;
			for (int co = 0; co < cout; co++)
				for (int u = 0; u < 4; u++)
					acc[co] += (int32_t)px[4 * g + u] * w[co * 4 + u];
		}
	}
}

static void generic_conv3x3_pool(const uint8_t *in, int h, int w, int cin, const int8_t *wp,
				 int cout, const struct kern_q_epi *e, uint8_t *out, int out_pad)
{
	enum { CMAX = 256 };
	int32_t best[CMAX], acc[CMAX];
	int oh = h / 2, ow = w / 2, orow = ow + 2 * out_pad;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			for (int q = 0; q < 4; q++) {
				conv_at(in, w + 2, cin, wp, cout, e, 2 * y + q / 2, 2 * x + q % 2,
					acc);
				for (int co = 0; co < cout; co++)
					best[co] =
					    q == 0 || acc[co] > best[co] ? acc[co] : best[co];
			}
			uint8_t *o = out + ((size_t)(y + out_pad) * orow + x + out_pad) * cout;
			for (int co = 0; co < cout; co++)
				o[co] = to_code(fmaf((float)best[co], e->scale[co], e->off[co]));
		}
}

void kern_q_quantize(const float *x, size_t n, float inv_scale, int zp, uint8_t *q)
{
	switch (kern_q_isa()) {
	case KERN_Q_AVX512VNNI: kern_q_avx512_quantize(x, n, inv_scale, zp, q); break;
	case KERN_Q_AVXVNNI: kern_q_avxvnni_quantize(x, n, inv_scale, zp, q); break;
	default: generic_quantize(x, n, inv_scale, zp, q); break;
	}
}

void kern_q_linear(const uint8_t *x, int m, int k, const int8_t *wp, int n,
		   const struct kern_q_epi *e, float *y, uint8_t *yq)
{
	enum kern_q_isa isa = kern_q_isa();
	if (isa == KERN_Q_AVX512VNNI && n % 16 == 0 && k % 4 == 0)
		kern_q_avx512_linear(x, m, k, wp, n, e, y, yq);
	else if (isa == KERN_Q_AVXVNNI && n % 8 == 0 && k % 4 == 0)
		kern_q_avxvnni_linear(x, m, k, wp, n, e, y, yq);
	else
		generic_linear(x, m, k, wp, n, e, y, yq);
}

void kern_q_conv3x3_pool(const uint8_t *in, int h, int w, int cin, const int8_t *wp, int cout,
			 const struct kern_q_epi *e, uint8_t *out, int out_pad)
{
	enum kern_q_isa isa = kern_q_isa();
	int ok = h % 2 == 0 && w % 2 == 0 && cin % 4 == 0;
	if (isa == KERN_Q_AVX512VNNI && ok && cout % 32 == 0)
		kern_q_avx512_conv3x3_pool(in, h, w, cin, wp, cout, e, out, out_pad);
	else if (isa == KERN_Q_AVXVNNI && ok && cout % 16 == 0)
		kern_q_avxvnni_conv3x3_pool(in, h, w, cin, wp, cout, e, out, out_pad);
	else
		generic_conv3x3_pool(in, h, w, cin, wp, cout, e, out, out_pad);
}

int kern_q_attention_bf16(void)
{
	return kern_isa_now() == KERN_AVX512 && cpu_avx512bf16();
}

size_t kern_q_attention_scratch(int t, int d, int heads)
{
	size_t f32 = kern_attention_scratch(t, d, heads) * sizeof(float);
	size_t bf16 = (size_t)KERN_BF16_ATT_WORDS * 4;
	return f32 > bf16 ? f32 : bf16;
}

void kern_q_attention(const float *qkv, int t, int d, int heads, void *scratch, float *out)
{
	int dh = d / heads;
	if (kern_q_attention_bf16() && t <= ATT_TMAX && (dh == 32 || dh == 64))
		kern_bf16_avx512_attention(qkv, t, d, heads, scratch, out);
	else
		kern_attention(qkv, t, d, heads, scratch, out);
}
