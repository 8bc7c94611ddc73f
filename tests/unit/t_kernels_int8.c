/* Unit tests for worker/engine/kernels_int8.c: every int8 kernel, in every
 * variant this CPU runs (plain C, AVX-VNNI, AVX-512 VNNI), against a plain
 * integer loop over the unpacked PyTorch-layout weights, for exact equality
 * of every output (floats compared bit for bit), odd sizes included. On a
 * CPU without VNNI the vector variants are reported as skipped. The int8
 * engine's attention (bf16 on AVX-512 BF16, else float32) against plain
 * loops of the same roundings, within float32 rounding. */
#include "kernels.h"
#include "kernels_int8.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;

static uint32_t urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static float frand(float lo, float hi)
{
	return lo + (hi - lo) * (float)(urand() >> 8) / (float)(1u << 24);
}

/* Random codes, s8 weights (the full range, -128 included), epilogue. */
struct layer {
	uint8_t *x;
	int8_t *w, *wp;
	int32_t *acc0;
	float *scale, *off;
};

static void layer_make(struct layer *l, int m, int k, int n, int u8_out)
{
	l->x = malloc((size_t)m * k);
	l->w = malloc((size_t)n * k);
	l->wp = malloc((size_t)n * k);
	l->acc0 = malloc((size_t)n * sizeof *l->acc0);
	l->scale = malloc((size_t)n * sizeof *l->scale);
	l->off = malloc((size_t)n * sizeof *l->off);
	for (size_t i = 0; i < (size_t)m * k; i++)
		l->x[i] = (uint8_t)urand();
	for (size_t i = 0; i < (size_t)n * k; i++)
		l->w[i] = (int8_t)(uint8_t)urand();
	/* Sums spread about 1e4 * sqrt(k): scale them to about +-60 around off,
	 * so that u8 outputs cover the whole range and some clamp. */
	for (int j = 0; j < n; j++) {
		l->acc0[j] = (int32_t)(urand() % 20001) - 10000;
		l->scale[j] = frand(0.5f, 1.5f) * 60.0f / (10800.0f * sqrtf((float)k));
		l->off[j] = u8_out ? frand(60.0f, 200.0f) : frand(-5.0f, 5.0f);
	}
}

static void layer_free(struct layer *l)
{
	free(l->x), free(l->w), free(l->wp), free(l->acc0), free(l->scale), free(l->off);
}

static uint8_t ref_code(float v)
{
	v = v > 0.0f ? v : 0.0f;
	v = v < 255.0f ? v : 255.0f;
	return (uint8_t)rintf(v);
}

static void test_linear(int m, int k, int n, int u8_out, int relu, const char *isa)
{
	struct layer l;
	layer_make(&l, m, k, n, u8_out);
	kern_q_pack_linear(l.w, n, k, l.wp);
	float *y = calloc((size_t)m * n, sizeof *y), *ry = calloc((size_t)m * n, sizeof *ry);
	uint8_t *yq = calloc((size_t)m * n, 1), *ryq = calloc((size_t)m * n, 1);
	int with_acc0 = (m + n) % 2;
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			int32_t acc = with_acc0 ? l.acc0[j] : 0;
			for (int e = 0; e < k; e++)
				acc += (int32_t)l.x[(size_t)i * k + e] * l.w[(size_t)j * k + e];
			float v = fmaf((float)acc, l.scale[j], l.off[j]);
			ryq[(size_t)i * n + j] = ref_code(v);
			ry[(size_t)i * n + j] = relu && v < 0.0f ? 0.0f : v;
		}
	struct kern_q_epi e = {with_acc0 ? l.acc0 : NULL, l.scale, l.off, relu};
	kern_q_linear(l.x, m, k, l.wp, n, &e, u8_out ? NULL : y, u8_out ? yq : NULL);
	size_t bytes = (size_t)m * n * (u8_out ? 1 : sizeof(float));
	int same = u8_out ? memcmp(yq, ryq, bytes) == 0 : memcmp(y, ry, bytes) == 0;
	int distinct = 0, seen[256] = {0};
	for (size_t i = 0; u8_out && i < (size_t)m * n; i++)
		distinct += !seen[ryq[i]]++;
	CHECK(same && (!u8_out || m * n < 256 || distinct > 100),
	      "%s linear m=%d k=%d n=%d %s%s%s: equal to the integer loop", isa, m, k, n,
	      u8_out ? "u8 out" : "float out", relu ? " relu" : "", with_acc0 ? " acc0" : "");
	free(y), free(ry), free(yq), free(ryq);
	layer_free(&l);
}

static void test_conv(int h, int w, int cin, int cout, int out_pad, const char *isa)
{
	struct layer l;
	int oh = h / 2, ow = w / 2, orow = ow + 2 * out_pad;
	size_t outb = (size_t)(oh + 2 * out_pad) * orow * cout;
	layer_make(&l, (h + 2) * (w + 2), cin, cout * 9, 1); /* x, w big enough */
	for (int y = 0; y < h + 2; y++)			     /* zero border: padding */
		for (int x = 0; x < w + 2; x++)
			if (y == 0 || x == 0 || y == h + 1 || x == w + 1)
				memset(l.x + ((size_t)y * (w + 2) + x) * cin, 0, (size_t)cin);
	for (int j = 0; j < cout; j++)
		l.scale[j] = frand(0.5f, 1.5f) * 60.0f / (10800.0f * sqrtf(9.0f * cin));
	kern_q_pack_conv3x3(l.w, cout, cin, l.wp);
	uint8_t *out = malloc(outb), *ref = malloc(outb);
	memset(out, 0xA5, outb);
	memset(ref, 0xA5, outb); /* the border must stay untouched */
	for (int py = 0; py < oh; py++)
		for (int px = 0; px < ow; px++)
			for (int co = 0; co < cout; co++) {
				int best = 0;
				for (int q = 0; q < 4; q++) {
					int y = 2 * py + q / 2, x = 2 * px + q % 2;
					int32_t acc = l.acc0[co];
					for (int ci = 0; ci < cin; ci++)
						for (int t = 0; t < 9; t++)
							acc +=
							    (int32_t)
								l.x[((size_t)(y + t / 3) * (w + 2) +
								     x + t % 3) *
									cin +
								    ci] *
							    l.w[((size_t)co * cin + ci) * 9 + t];
					/* epilogue first, then the pool: the kernel pools first */
					int c = ref_code(fmaf((float)acc, l.scale[co], l.off[co]));
					best = c > best ? c : best;
				}
				ref[((size_t)(py + out_pad) * orow + px + out_pad) * cout + co] =
				    (uint8_t)best;
			}
	struct kern_q_epi e = {l.acc0, l.scale, l.off, 0};
	kern_q_conv3x3_pool(l.x, h, w, cin, l.wp, cout, &e, out, out_pad);
	CHECK(memcmp(out, ref, outb) == 0, "%s conv3x3+pool %dx%dx%d -> %d pad %d: equal", isa, h,
	      w, cin, cout, out_pad);
	free(out), free(ref);
	layer_free(&l);
}

static void test_quantize(size_t n, int zp, const char *isa)
{
	float *x = malloc(n * sizeof *x), inv = 1.0f / 0.0371f;
	uint8_t *q = malloc(n), *r = malloc(n);
	for (size_t i = 0; i < n; i++) {
		x[i] = frand(-6.0f, 6.0f);
		if (i % 7 == 3) /* ties: x * inv lands on k + 0.5 */
			x[i] = ((float)(int)(urand() % 200) - 100.0f + 0.5f) / inv;
	}
	if (n > 4) {
		x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = 3e38f;
	}
	for (size_t i = 0; i < n; i++) {
		float v = x[i] * inv;
		v = v > -1000.0f ? v : -1000.0f;
		v = v < 1000.0f ? v : 1000.0f;
		int c = (int)rintf(v) + zp;
		r[i] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
	}
	kern_q_quantize(x, n, inv, zp, q);
	CHECK(memcmp(q, r, n) == 0, "%s quantize n=%zu zp=%d: equal", isa, n, zp);
	free(x), free(q), free(r);
}

/* x rounded to bf16 (nearest even), as a float: the plain definition. */
static float bf16r(float x)
{
	uint32_t b;
	memcpy(&b, &x, sizeof b);
	b = (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
	memcpy(&x, &b, sizeof x);
	return x;
}

/* kern_q_attention's arithmetic as plain loops, in double after the bf16
 * roundings; with bf == 0 the float32 attention's. */
static void ref_attention(const float *qkv, int t, int d, int heads, int bf, float *out)
{
	int dh = d / heads, ld = 3 * d;
	float scale = 1.0f / sqrtf((float)dh);
	for (int hd = 0; hd < heads; hd++)
		for (int i = 0; i < t; i++) {
			double s[64], mx = -1e300, sum = 0;
			for (int j = 0; j < t; j++) {
				s[j] = 0;
				for (int e = 0; e < dh; e++) {
					float q = qkv[(size_t)i * ld + hd * dh + e] * scale;
					float k = qkv[(size_t)j * ld + d + hd * dh + e];
					s[j] += bf ? (double)bf16r(q) * bf16r(k) : (double)q * k;
				}
				mx = s[j] > mx ? s[j] : mx;
			}
			for (int j = 0; j < t; j++)
				sum += s[j] = exp(s[j] - mx);
			for (int e = 0; e < dh; e++) {
				double o = 0;
				for (int j = 0; j < t; j++) {
					float p = (float)(s[j] / sum);
					float v = qkv[(size_t)j * ld + 2 * d + hd * dh + e];
					o += bf ? (double)bf16r(p) * bf16r(v) : (double)p * v;
				}
				out[(size_t)i * d + hd * dh + e] = (float)o;
			}
		}
}

/* The kernel against the loops: a probability within 1e-7 of a bf16
 * rounding boundary may round the other way in the kernel (float32 exp and
 * sums), which moves an output by at most 2^-8 p |v|; every other output
 * agrees to float32 rounding. So: all within 2^-8 max|v|, 99 % within 1e-5. */
static void test_attention(int t, int d, int heads, const char *isa)
{
	size_t n = (size_t)t * 3 * d;
	float *qkv = malloc(n * sizeof *qkv), *out = malloc((size_t)t * d * sizeof *out);
	float *ref = malloc((size_t)t * d * sizeof *ref),
	      *f32 = malloc((size_t)t * d * sizeof *f32);
	void *scratch =
	    aligned_alloc(64, (kern_q_attention_scratch(t, d, heads) + 63) & ~(size_t)63);
	float vmax = 0;
	for (size_t i = 0; i < n; i++) {
		qkv[i] = frand(-2.5f, 2.5f);
		vmax =
		    (i % (3 * d)) >= (size_t)2 * d && fabsf(qkv[i]) > vmax ? fabsf(qkv[i]) : vmax;
	}
	int bf = kern_q_attention_bf16();
	ref_attention(qkv, t, d, heads, bf, ref);
	kern_q_attention(qkv, t, d, heads, scratch, out);
	kern_attention(qkv, t, d, heads, scratch, f32);
	size_t close = 0, cnt = (size_t)t * d;
	float worst = 0, moved = 0;
	for (size_t i = 0; i < cnt; i++) {
		float diff = fabsf(out[i] - ref[i]);
		worst = diff > worst ? diff : worst;
		close += diff <= 1e-5f * (1.0f + fabsf(ref[i]));
		moved = fabsf(out[i] - f32[i]) > moved ? fabsf(out[i] - f32[i]) : moved;
	}
	/* bf16 must change the result (it is not the float32 kernel); float32
	 * must be the float32 kernel bit for bit. */
	int path_ok = bf ? moved > 1e-4f : memcmp(out, f32, cnt * sizeof *out) == 0;
	CHECK(worst <= vmax / 256.0f && close * 100 >= cnt * 99 && path_ok,
	      "%s attention (%s) t=%d d=%d heads=%d: max |diff| %.2e, %.1f%% within 1e-5", isa,
	      bf ? "bf16" : "fp32", t, d, heads, (double)worst,
	      100.0 * (double)close / (double)cnt);
	free(qkv), free(out), free(ref), free(f32), free(scratch);
}

static void run_all(const char *isa)
{
	static const int ms[] = {1, 2, 5, 6, 7, 13, 49};
	for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
		test_linear(ms[i], 128, 384, 0, 0, isa);
		test_linear(ms[i], 256, 128, 1, 0, isa);
	}
	test_linear(98, 64, 128, 0, 0, isa);
	test_linear(50, 128, 256, 1, 1, isa);
	test_linear(9, 128, 64, 0, 1, isa);
	test_linear(11, 64, 10, 0, 0, isa);
	test_linear(7, 36, 80, 1, 0, isa);
	test_linear(5, 4, 16, 0, 0, isa);
	test_linear(3, 512, 48, 1, 0, isa);
	test_conv(14, 14, 32, 64, 0, isa);
	test_conv(14, 14, 32, 64, 1, isa);
	test_conv(6, 10, 4, 32, 0, isa);
	test_conv(4, 4, 8, 16, 2, isa);
	test_quantize(1000, 128, isa);
	test_quantize(77, 0, isa);
	test_quantize(3, 128, isa);
	test_attention(49, 128, 4, isa);
	test_attention(17, 256, 4, isa);
	test_attention(1, 64, 2, isa);
	test_attention(64, 128, 2, isa);
}

int main(void)
{
	static const struct {
		enum kern_isa fp;
		enum kern_q_isa q;
	} variants[] = {{KERN_GENERIC, KERN_Q_GENERIC},
			{KERN_AVX2, KERN_Q_AVXVNNI},
			{KERN_AVX512, KERN_Q_AVX512VNNI}};
	kern_init();
	for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
		kern_use(variants[v].fp);
		const char *name = kern_q_isa_name(variants[v].q);
		if (kern_q_isa() != variants[v].q) {
			printf("ok - %s # SKIP this CPU has no %s\n", name, name);
			continue;
		}
		run_all(name);
	}
	return tap_done();
}
