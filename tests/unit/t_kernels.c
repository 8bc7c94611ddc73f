/* Unit tests for worker/engine/kernels.c: every kernel, in every variant this CPU
 * runs, against a naive double-precision loop, odd sizes included. */
#include "kernels.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 88172645463325252ULL;

static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / (double)(1ULL << 53) * 2.0 - 1.0);
}

static float *rand_buf(size_t n)
{
	float *p = malloc((n ? n : 1) * sizeof *p);
	for (size_t i = 0; p && i < n; i++)
		p[i] = frand();
	return p;
}

/* Largest |got - want| relative to max(1, |want|). */
static double max_err(const float *got, const double *want, size_t n)
{
	double e = 0.0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i]));
		if (!(d <= e)) /* NaN counts as a failure */
			e = isnan(d) ? INFINITY : d;
	}
	return e;
}

#define TOL 1e-5

/* Naive conv in HWC with PyTorch's [cout][cin][3][3] weights, ReLU. */
static void ref_conv(const float *in, int h, int w, int cin, const float *wt, const float *b,
		     int cout, double *out)
{
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int co = 0; co < cout; co++) {
				double s = b[co];
				for (int ci = 0; ci < cin; ci++)
					for (int ky = 0; ky < 3; ky++)
						for (int kx = 0; kx < 3; kx++) {
							int iy = y + ky - 1, ix = x + kx - 1;
							if (iy < 0 || iy >= h || ix < 0 || ix >= w)
								continue;
							s +=
							    (double)in[(iy * w + ix) * cin + ci] *
							    wt[((co * cin + ci) * 3 + ky) * 3 + kx];
						}
				out[(y * w + x) * cout + co] = s > 0 ? s : 0;
			}
}

static void ref_pool(const double *in, int h, int w, int c, double *out)
{
	for (int y = 0; y < h / 2; y++)
		for (int x = 0; x < w / 2; x++)
			for (int k = 0; k < c; k++) {
				double m = -INFINITY;
				for (int q = 0; q < 4; q++) {
					double v =
					    in[((2 * y + q / 2) * w + 2 * x + q % 2) * c + k];
					m = v > m ? v : m;
				}
				out[(y * (w / 2) + x) * c + k] = m;
			}
}

/* The fused conv+pool reads a zero-padded input and writes the interior of
 * an output with a border (out_pad 1) that must stay untouched. */
static void test_fused(const float *in, int h, int w, int cin, const float *wp, const float *b,
		       int cout, const double *refp, float *fused, const char *isa)
{
	int oh = h / 2 + 2, ow = w / 2 + 2;
	size_t np = (size_t)(h / 2) * (w / 2) * cout;
	float *pad = calloc((size_t)(h + 2) * (w + 2) * cin, sizeof *pad);
	float *po = calloc((size_t)oh * ow * cout, sizeof *po);
	for (int y = 0; y < h; y++)
		memcpy(pad + ((size_t)(y + 1) * (w + 2) + 1) * cin, in + (size_t)y * w * cin,
		       (size_t)w * cin * sizeof *in);
	for (size_t i = 0; i < (size_t)oh * ow * cout; i++)
		po[i] = 7.0f;
	kern_conv3x3_relu_pool(pad, h, w, cin, wp, b, cout, po, 1);
	int border = 1;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			float *px = po + ((size_t)y * ow + x) * cout;
			if (y == 0 || x == 0 || y == oh - 1 || x == ow - 1)
				for (int c = 0; c < cout; c++)
					border &= px[c] == 7.0f;
			else
				memcpy(fused + ((size_t)(y - 1) * (w / 2) + x - 1) * cout, px,
				       (size_t)cout * sizeof *px);
		}
	CHECK(max_err(fused, refp, np) < TOL && border, "%s conv3x3_relu_pool %dx%dx%d -> %d", isa,
	      h, w, cin, cout);
	kern_conv3x3_relu_pool(pad, h, w, cin, wp, b, cout, fused, 0);
	CHECK(max_err(fused, refp, np) < TOL, "%s conv3x3_relu_pool out_pad 0 %dx%dx%d -> %d", isa,
	      h, w, cin, cout);
	free(pad), free(po);
}

static void test_conv(int h, int w, int cin, int cout, const char *isa)
{
	size_t ni = (size_t)h * w * cin, no = (size_t)h * w * cout, nw = (size_t)cout * cin * 9;
	float *in = rand_buf(ni), *wt = rand_buf(nw), *b = rand_buf(cout), *wp = rand_buf(nw);
	float *fused = rand_buf(no / 4 + 1);
	double *ref = calloc(no, sizeof *ref), *refp = calloc(no / 4 + 1, sizeof *refp);
	kern_pack_conv3x3(wt, cout, cin, wp);
	ref_conv(in, h, w, cin, wt, b, cout, ref);
	ref_pool(ref, h, w, cout, refp);
	test_fused(in, h, w, cin, wp, b, cout, refp, fused, isa);
	free(in), free(wt), free(b), free(wp), free(fused);
	free(ref), free(refp);
}

static void test_linear(int m, int k, int n, int relu, int bias, const char *isa)
{
	float *x = rand_buf((size_t)m * k), *w = rand_buf((size_t)n * k), *b = rand_buf(n);
	float *wt = rand_buf((size_t)n * k), *y = rand_buf((size_t)m * n);
	double *ref = calloc((size_t)m * n, sizeof *ref);
	kern_pack_linear(w, n, k, wt);
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			double s = bias ? b[j] : 0.0;
			for (int e = 0; e < k; e++)
				s += (double)x[(size_t)i * k + e] * w[(size_t)j * k + e];
			ref[(size_t)i * n + j] = relu && s < 0 ? 0 : s;
		}
	kern_linear(x, m, k, wt, bias ? b : NULL, n, relu, y);
	CHECK(max_err(y, ref, (size_t)m * n) < TOL, "%s linear %dx%d * %dx%d relu %d bias %d", isa,
	      m, k, k, n, relu, bias);
	free(x), free(w), free(b), free(wt), free(y), free(ref);
}

static void test_layernorm(int m, int n, int resid, const char *isa)
{
	float *x = rand_buf((size_t)m * n), *r = rand_buf((size_t)m * n);
	float *g = rand_buf(n), *b = rand_buf(n);
	double *ref = calloc((size_t)m * n, sizeof *ref);
	for (int i = 0; i < m; i++) {
		double mean = 0, var = 0, *row = ref + (size_t)i * n;
		for (int j = 0; j < n; j++) {
			row[j] =
			    (double)x[(size_t)i * n + j] + (resid ? r[(size_t)i * n + j] : 0.0);
			mean += row[j];
		}
		mean /= n;
		for (int j = 0; j < n; j++)
			var += (row[j] - mean) * (row[j] - mean);
		var /= n;
		for (int j = 0; j < n; j++)
			row[j] = (row[j] - mean) / sqrt(var + 1e-5) * g[j] + b[j];
	}
	kern_add_layernorm(x, resid ? r : NULL, m, n, g, b, 1e-5f);
	CHECK(max_err(x, ref, (size_t)m * n) < TOL, "%s add_layernorm %dx%d resid %d", isa, m, n,
	      resid);
	free(x), free(r), free(g), free(b), free(ref);
}

static void ref_softmax(double *s, int n)
{
	double mx = -INFINITY, sum = 0;
	for (int j = 0; j < n; j++)
		mx = s[j] > mx ? s[j] : mx;
	for (int j = 0; j < n; j++)
		sum += (s[j] = exp(s[j] - mx));
	for (int j = 0; j < n; j++)
		s[j] /= sum;
}

static void test_attention(int t, int d, int heads, float amp, const char *isa)
{
	size_t n = (size_t)t * 3 * d;
	float *qkv = rand_buf(n), *scores = rand_buf(kern_attention_scratch(t, d, heads));
	float *out = rand_buf((size_t)t * d);
	double *ref = calloc((size_t)t * d, sizeof *ref), *s = calloc(t, sizeof *s);
	int dh = d / heads;
	for (size_t i = 0; i < n; i++)
		qkv[i] *= amp;
	for (int h = 0; h < heads; h++)
		for (int i = 0; i < t; i++) {
			for (int j = 0; j < t; j++) {
				double dot = 0;
				for (int e = 0; e < dh; e++)
					dot += (double)qkv[(size_t)i * 3 * d + h * dh + e] *
					       qkv[(size_t)j * 3 * d + d + h * dh + e];
				s[j] = dot / sqrt((double)dh);
			}
			ref_softmax(s, t);
			for (int e = 0; e < dh; e++) {
				double o = 0;
				for (int j = 0; j < t; j++)
					o += s[j] * qkv[(size_t)j * 3 * d + 2 * d + h * dh + e];
				ref[(size_t)i * d + h * dh + e] = o;
			}
		}
	kern_attention(qkv, t, d, heads, scores, out);
	/* Scores grow with amp^2, and so does float rounding in them. */
	double e = max_err(out, ref, (size_t)t * d);
	CHECK(e < TOL * amp * amp, "%s attention t=%d d=%d heads=%d amp=%g (err %.2g)", isa, t, d,
	      heads, amp, e);
	free(qkv), free(scores), free(out), free(ref), free(s);
}

static void test_small(const char *isa)
{
	for (int n = 1; n <= 37; n += 12) {
		float *x = rand_buf(n);
		double *ref = calloc(n, sizeof *ref);
		for (int i = 0; i < n; i++)
			ref[i] = x[i] * 30.0f; /* large logits: max subtraction matters */
		for (int i = 0; i < n; i++)
			x[i] *= 30.0f;
		ref_softmax(ref, n);
		kern_softmax(x, n);
		CHECK(max_err(x, ref, n) < TOL, "%s softmax n=%d", isa, n);
		free(x), free(ref);
	}
	int t = 49, d = 131;
	float *x = rand_buf((size_t)t * d), *o = rand_buf(d);
	double *ref = calloc(d, sizeof *ref);
	for (int i = 0; i < t; i++)
		for (int e = 0; e < d; e++)
			ref[e] += x[(size_t)i * d + e] / (double)t;
	kern_meanpool(x, t, d, o);
	CHECK(max_err(o, ref, d) < TOL, "%s meanpool %dx%d", isa, t, d);
	free(x), free(o), free(ref);
}

static void run_all(const char *isa)
{
	static const int convs[][4] = {
	    {6, 8, 3, 5},   {28, 28, 1, 32}, {14, 14, 32, 64}, {6, 4, 17, 33},	{4, 6, 5, 70},
	    {2, 2, 1, 1},   {8, 10, 32, 64}, {2, 2, 2, 16},    {4, 16, 3, 32},	{10, 26, 2, 96},
	    {2, 4, 1, 16},  {2, 2, 3, 5},    {6, 6, 7, 9},     {4, 4, 64, 32},	{12, 8, 1, 32},
	    {2, 6, 32, 48}, {8, 8, 16, 16},  {6, 2, 3, 64},    {10, 10, 1, 33}, {4, 2, 9, 17}};
	for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++)
		test_conv(convs[i][0], convs[i][1], convs[i][2], convs[i][3], isa);
	static const int lins[][3] = {{1, 1, 1},       {3, 5, 7},      {49, 64, 128},
				      {13, 129, 37},   {98, 128, 384}, {1, 128, 10},
				      {147, 256, 128}, {7, 64, 10},    {50, 17, 300}};
	for (size_t i = 0; i < sizeof lins / sizeof lins[0]; i++)
		test_linear(lins[i][0], lins[i][1], lins[i][2], (int)i % 2, i != 2, isa);
	test_layernorm(49, 128, 1, isa);
	test_layernorm(3, 17, 0, isa);
	test_layernorm(1, 1, 1, isa);
	test_attention(49, 128, 4, 1.0f, isa);
	test_attention(49, 128, 4, 6.0f, isa);
	test_attention(5, 12, 3, 1.0f, isa);
	test_attention(1, 8, 2, 1.0f, isa);
	test_attention(17, 24, 1, 2.0f, isa);
	test_attention(64, 96, 2, 1.0f, isa);
	test_attention(65, 64, 2, 1.0f, isa);
	test_attention(16, 64, 1, 1.0f, isa);
	test_attention(33, 256, 4, 1.0f, isa);
	test_attention(8, 128, 8, 1.0f, isa);
	test_attention(65, 64, 2, 1.0f, isa);
	test_attention(16, 64, 1, 1.0f, isa);
	test_attention(33, 256, 4, 1.0f, isa);
	test_attention(8, 128, 8, 1.0f, isa);
	test_small(isa);
}

int main(void)
{
	enum kern_isa best = kern_init();
	for (int isa = KERN_GENERIC; isa <= (int)best; isa++) {
		enum kern_isa got = kern_use((enum kern_isa)isa);
		CHECK(got == (enum kern_isa)isa, "use %s", kern_isa_name(got));
		run_all(kern_isa_name(got));
	}
	return tap_done();
}
