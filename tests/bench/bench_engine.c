/*
 * bench_engine: in-process forward pass of the C engine on one thread, fp32
 * and int8 in the same run, and the best single-core OpenBLAS sgemm rate
 * as the practical peak, and the core's FMA and VNNI peaks (register-only
 * AVX-512 / AVX2 FMA and vpdpbusd loops). Run by tests/bench/bench.sh
 * (make bench), never by make test.
 *
 *   bench_engine [--weights PATH] [--isa generic|avx2|avx512] [--runs N]
 *                [--precision fp32|int8|both] [--no-sgemm]
 *
 * Prints one line per precision and batch size (fp32 and int8 alternate,
 * so that a change of load hits both alike): ms per batch, images/s,
 * GFLOP/s for fp32 (36.6 MFLOP per image) or int8 GOPS (33.7 M int8
 * operations per image: conv2 and the linear layers; the 2.9 MFLOP left in
 * float32 are not counted), the median of N runs of about 256 images each,
 * the fastest run and the median thread CPU time (both less sensitive to
 * other load on the machine than the wall-clock median). Then, with both,
 * the int8 / fp32 speedup per batch from the CPU-time and wall medians.
 * Rates are also given by thread CPU time (work / median CPU time), and the
 * peak loops by their own CPU time too: on a shared machine those two are
 * the comparable pair.
 */
#include "config.h"
#include "err.h"
#include "kernels.h"
#include "kernels_int8.h"
#include "model.h"

#include <cblas.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLOP_PER_IMAGE 36.6e6
/* 2 x the int8 multiply-adds: conv2 3,612,672, proj 401,408, per encoder
 * layer 6,422,528 (in_proj, out_proj, linear1, linear2), fc1 + fc2 8,832. */
#define INT8_OPS_PER_IMAGE (2.0 * 16867968.0)

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct timing {
	double wall, cpu; /* medians, seconds per batch */
};

static struct timing bench_batch(struct model *m, const float *pix, int batch, int runs)
{
	float logits[32 * MODEL_CLASSES];
	int iters = 256 / batch < 8 ? 8 : 256 / batch;
	double t[64], cpu[64];
	for (int i = 0; i < iters; i++) /* warm-up */
		model_forward(m, pix, batch, logits);
	for (int r = 0; r < runs; r++) {
		double t0 = now(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		for (int i = 0; i < iters; i++)
			model_forward(m, pix, batch, logits);
		t[r] = (now() - t0) / iters;
		cpu[r] = (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) / iters;
	}
	struct timing tm = {median(t, runs), median(cpu, runs)};
	double best = t[0]; /* sorted by median() */
	int q = model_precision(m) == MODEL_INT8;
	double work = batch * (q ? INT8_OPS_PER_IMAGE : FLOP_PER_IMAGE) * 1e-9;
	printf("engine %s batch %2d: %7.3f ms/batch %8.0f images/s %6.1f %s "
	       "(best run %.3f ms, median CPU time %.3f ms: %.1f by CPU time)\n",
	       q ? "int8" : "fp32", batch, tm.wall * 1e3, batch / tm.wall, work / tm.wall,
	       q ? "GOPS   " : "GFLOP/s", best * 1e3, tm.cpu * 1e3, work / tm.cpu);
	return tm;
}

/* Best sgemm GFLOP/s over a few square and model-like shapes. */
static void bench_sgemm(void)
{
	static const int shapes[][3] = {{512, 512, 512},  {1024, 1024, 1024}, {2048, 2048, 512},
					{1568, 384, 128}, {1568, 256, 128},   {1568, 128, 256}};
	double best = 0;
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
		float *a = calloc((size_t)m * k, 4), *b = calloc((size_t)k * n, 4);
		float *c = calloc((size_t)m * n, 4);
		if (!a || !b || !c) {
			free(a), free(b), free(c);
			continue;
		}
		for (size_t i = 0; i < (size_t)m * k; i++)
			a[i] = (float)(i % 7) * 0.1f;
		for (size_t i = 0; i < (size_t)k * n; i++)
			b[i] = (float)(i % 5) * 0.1f;
		double flop = 2.0 * m * n * k, t[7];
		int iters = (int)(2e9 / flop) + 1;
		for (int r = 0; r < 7; r++) {
			double t0 = now();
			for (int i = 0; i < iters; i++)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
					    1.0f, a, k, b, n, 0.0f, c, n);
			t[r] = (now() - t0) / iters;
		}
		double g = flop / median(t, 7) * 1e-9;
		printf("sgemm %4dx%4dx%4d: %6.1f GFLOP/s\n", m, n, k, g);
		best = g > best ? g : best;
		free(a), free(b), free(c);
	}
	printf("sgemm best: %.1f GFLOP/s (OpenBLAS, 1 thread, OPENBLAS_CORETYPE=%s)\n", best,
	       config_env("OPENBLAS_CORETYPE", "auto"));
}

/*
 * The core's FMA throughput: 12 independent accumulator chains (enough to
 * cover FMA latency x ports) of register-only fused multiply-adds. This is
 * the ceiling no kernel can pass; GFLOP/s = 2 x lanes x FMAs / second.
 */
#define FMA_CHAINS(T, FMA, SET1)                                                                   \
	/* Distinct starting values, or the compiler merges identical chains. */                   \
	T a0 = SET1(1.00f), a1 = SET1(1.01f), a2 = SET1(1.02f), a3 = SET1(1.03f),                  \
	  a4 = SET1(1.04f), a5 = SET1(1.05f), a6 = SET1(1.06f), a7 = SET1(1.07f),                  \
	  a8 = SET1(1.08f), a9 = SET1(1.09f), a10 = SET1(1.10f), a11 = SET1(1.11f);                \
	const T x = SET1(0.999999f), y = SET1(1e-7f);                                              \
	for (long i = 0; i < iters; i++) {                                                         \
		a0 = FMA(a0, x, y);                                                                \
		a1 = FMA(a1, x, y);                                                                \
		a2 = FMA(a2, x, y);                                                                \
		a3 = FMA(a3, x, y);                                                                \
		a4 = FMA(a4, x, y);                                                                \
		a5 = FMA(a5, x, y);                                                                \
		a6 = FMA(a6, x, y);                                                                \
		a7 = FMA(a7, x, y);                                                                \
		a8 = FMA(a8, x, y);                                                                \
		a9 = FMA(a9, x, y);                                                                \
		a10 = FMA(a10, x, y);                                                              \
		a11 = FMA(a11, x, y);                                                              \
	}                                                                                          \
	T s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;                         \
	float out[sizeof(T) / sizeof(float)];                                                      \
	memcpy(out, &s, sizeof out);                                                               \
	return out[0];

__attribute__((target("avx512f"))) static float fma_avx512(long iters)
{
	FMA_CHAINS(__m512, _mm512_fmadd_ps, _mm512_set1_ps)
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iters)
{
	FMA_CHAINS(__m256, _mm256_fmadd_ps, _mm256_set1_ps)
}

/* The same for vpdpbusd: 64 (AVX-512) or 32 (AVX-VNNI) u8 x s8 multiply-adds
 * per instruction, 2 operations each. */
#define DP_CHAINS(T, DP, SET1, REDUCE)                                                             \
	T a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5),      \
	  a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11);  \
	const T x = SET1(0x01020304), y = SET1(0x01FF01FF);                                        \
	for (long i = 0; i < iters; i++) {                                                         \
		a0 = DP(a0, x, y);                                                                 \
		a1 = DP(a1, x, y);                                                                 \
		a2 = DP(a2, x, y);                                                                 \
		a3 = DP(a3, x, y);                                                                 \
		a4 = DP(a4, x, y);                                                                 \
		a5 = DP(a5, x, y);                                                                 \
		a6 = DP(a6, x, y);                                                                 \
		a7 = DP(a7, x, y);                                                                 \
		a8 = DP(a8, x, y);                                                                 \
		a9 = DP(a9, x, y);                                                                 \
		a10 = DP(a10, x, y);                                                               \
		a11 = DP(a11, x, y);                                                               \
	}                                                                                          \
	return REDUCE(a0) + REDUCE(a1) + REDUCE(a2) + REDUCE(a3) + REDUCE(a4) + REDUCE(a5) +       \
	       REDUCE(a6) + REDUCE(a7) + REDUCE(a8) + REDUCE(a9) + REDUCE(a10) + REDUCE(a11);

/* asm, as in the kernels: GCC 12 copies the intrinsic's accumulator. */
__attribute__((target("avx512f,avx512vnni"))) static inline __m512i dp512(__m512i acc, __m512i a,
									  __m512i w)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
	return acc;
}

__attribute__((target("avx2,avxvnni"))) static inline __m256i dp256(__m256i acc, __m256i a,
								    __m256i w)
{
	__asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(w));
	return acc;
}

__attribute__((target("avx512f,avx512vnni"))) static int dp_avx512(long iters)
{
	DP_CHAINS(__m512i, dp512, _mm512_set1_epi32, _mm512_reduce_add_epi32)
}

__attribute__((target("avx2"))) static int sum8(__m256i v)
{
	int out[8], s = 0;
	memcpy(out, &v, sizeof out);
	for (int i = 0; i < 8; i++)
		s += out[i];
	return s;
}

__attribute__((target("avx2,avxvnni"))) static int dp_avxvnni(long iters)
{
	DP_CHAINS(__m256i, dp256, _mm256_set1_epi32, sum8)
}

static void bench_vnni_peak(void)
{
	const long iters = 20000000;
	volatile int sink = 0;
	for (int isa = 0; isa < 2; isa++) {
		int lanes = isa ? 16 : 8;
		if (!kern_q_cpu_supports(isa ? KERN_Q_AVX512VNNI : KERN_Q_AVXVNNI))
			continue;
		double best = 0, best_cpu = 0;
		for (int r = 0; r < 5; r++) {
			double t = now(), c = clock_s(CLOCK_THREAD_CPUTIME_ID);
			sink += isa ? dp_avx512(iters) : dp_avxvnni(iters);
			double ops = 2.0 * 4 * lanes * 12 * (double)iters / 1e9;
			double g = ops / (now() - t),
			       gc = ops / (clock_s(CLOCK_THREAD_CPUTIME_ID) - c);
			best = g > best ? g : best;
			best_cpu = gc > best_cpu ? gc : best_cpu;
		}
		printf("VNNI peak, 1 core, %s: %.1f GOPS int8 (best of 5; %.1f by CPU time)\n",
		       isa ? "AVX-512 VNNI" : "AVX-VNNI", best, best_cpu);
	}
	(void)sink;
}

static void bench_fma_peak(void)
{
	const long iters = 20000000;
	volatile float sink = 0;
	for (int isa = 0; isa < 2; isa++) {
		int lanes = isa ? 16 : 8;
		if (isa ? !__builtin_cpu_supports("avx512f") : !__builtin_cpu_supports("fma"))
			continue;
		double best = 0, best_cpu = 0;
		for (int r = 0; r < 5; r++) {
			double t = now(), c = clock_s(CLOCK_THREAD_CPUTIME_ID);
			sink += isa ? fma_avx512(iters) : fma_avx2(iters);
			double flop = 2.0 * lanes * 12 * (double)iters / 1e9;
			double g = flop / (now() - t),
			       gc = flop / (clock_s(CLOCK_THREAD_CPUTIME_ID) - c);
			best = g > best ? g : best;
			best_cpu = gc > best_cpu ? gc : best_cpu;
		}
		printf("FMA peak, 1 core, %s: %.1f GFLOP/s (best of 5; %.1f by CPU time)\n",
		       isa ? "AVX-512" : "AVX2", best, best_cpu);
	}
	(void)sink;
}

int main(int argc, char **argv)
{
	const char *weights = CONFIG_DEFAULT_WEIGHTS, *isa = NULL, *prec = "both";
	unsigned long runs = 15;
	int sgemm = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc)
			weights = argv[++i];
		else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
			isa = argv[++i];
		else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc)
			prec = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc &&
			 config_parse_ulong(argv[i + 1], 1, 64, &runs) == 0)
			i++;
		else if (strcmp(argv[i], "--no-sgemm") == 0)
			sgemm = 0;
		else {
			fprintf(stderr, "usage: bench_engine [--weights PATH] [--isa "
					"generic|avx2|avx512] [--runs N] [--precision "
					"fp32|int8|both] [--no-sgemm]\n");
			return 2;
		}
	}
	struct model *m[2] = {NULL, NULL};
	char err[ERR_MAX];
	for (int p = 0; p < 2; p++) {
		struct model_opts o = {.max_batch = 32, .precision = p ? MODEL_INT8 : MODEL_FP32};
		if (strcmp(prec, "both") != 0 && strcmp(prec, p ? "int8" : "fp32") != 0)
			continue;
		if (model_open(weights, &o, &m[p], err) < 0) {
			fprintf(stderr, "bench_engine: %s\n", err);
			model_free(m[0]);
			return 1;
		}
	}
	if (isa)
		kern_use(strcmp(isa, "avx512") == 0 ? KERN_AVX512
			 : strcmp(isa, "avx2") == 0 ? KERN_AVX2
						    : KERN_GENERIC);
	printf("engine: fp32 %s kernels, int8 %s kernels, weights %s, median of %lu runs\n",
	       kern_isa_name(kern_init()), kern_q_isa_name(kern_q_isa()), weights, runs);
	static float pix[32 * MODEL_PIXELS];
	for (size_t i = 0; i < sizeof pix / sizeof pix[0]; i++)
		pix[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
	int batches[3] = {1, 8, 32};
	struct timing t[2][3];
	for (int b = 0; b < 3; b++)
		for (int p = 0; p < 2; p++)
			if (m[p])
				t[p][b] = bench_batch(m[p], pix, batches[b], (int)runs);
	for (int b = 0; b < 3 && m[0] && m[1]; b++)
		printf("int8 / fp32 speedup, batch %2d: %.2fx (CPU time), %.2fx (wall)\n",
		       batches[b], t[0][b].cpu / t[1][b].cpu, t[0][b].wall / t[1][b].wall);
	model_free(m[0]);
	model_free(m[1]);
	if (sgemm) {
		bench_sgemm();
		bench_fma_peak();
		bench_vnni_peak();
	}
	return 0;
}
