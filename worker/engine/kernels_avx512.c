/* AVX-512 instances of kernels_simd.inc. Only this file is compiled with
 * -mavx512f; kernels.c calls it only when the CPU has AVX-512F. */
#include "kernels.h"
#include "kernels_impl.h"

#include <immintrin.h>
#include <math.h>
#include <stddef.h>

#include "kernels_avx512_vocab.h"

#define FN(name) kern_avx512_##name
#define CONV_NC 6
#define GEMM_MR 6
#define GEMM_NV 4
#define ATT_R 6

#include "kernels_simd.inc"
