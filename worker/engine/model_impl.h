/*
 * model_impl: private to the model module (model.c, the fp32 load and
 * forward; model_int8.c, the int8 ones): the dimensions of the network, the
 * struct model they share and the helpers both use. Callers use model.h.
 */
#ifndef MNIST_MODEL_IMPL_H
#define MNIST_MODEL_IMPL_H

#include "kernels_int8.h"
#include "model.h"
#include "sft.h"

#include <stddef.h>
#include <stdint.h>

#define IMG 28
#define C1 32
#define C2 64
#define TOK 49 /* 7 x 7 after two pools */
#define D 128
#define HEADS 4
#define FF 256
#define HID 64
#define LAYERS 2
#define LN_EPS 1e-5f
#define MAX_BATCH 4096
#define PIX_MEAN 0.1307f
#define PIX_STD 0.3081f

struct linear {
	float *wp; /* PyTorch's n x k weight, packed by kern_pack_linear */
	float *b;
	int k, n;
};

/* An int8 layer (model_int8.c): weights packed by kern_q_pack_*, the
 * epilogue of kernels_int8.h, and how to quantise its float input. */
struct qlinear {
	int8_t *wp;
	int32_t *acc0; /* -in_zp * sum_k w[n][k] */
	float *scale, *off;
	float in_scale, in_inv; /* the input's scale and 1 / scale */
	int in_zp;		/* the input's zero point: 0 after a ReLU, else 128 */
	int k, n;
};

struct layer {
	struct linear in, out, ff1, ff2;      /* fp32 */
	struct qlinear qin, qout, qff1, qff2; /* int8 */
	float *n1g, *n1b, *n2g, *n2b;
};

struct model {
	int max_batch;
	enum model_precision precision;	     /* MODEL_FP32 or MODEL_INT8 */
	char version[MODEL_VERSION_LEN + 1]; /* model_version() */
	unsigned char *mem; /* every parameter and scratch buffer, 64-byte aligned slices */
	size_t mem_len, mem_used;
	float *conv1_w, *conv1_b, *conv2_w, *conv2_b, *pos;
	struct linear proj, fc1, fc2;
	struct qlinear qconv2, qproj, qfc1, qfc2;
	struct layer layers[LAYERS];
	/* scratch */
	float *img;   /* 30 x 30 normalised image, zero border (conv1's padding) */
	float *pool1; /* 16 x 16 x C1, zero border (conv2's padding) */
	float *tok, *x, *qkv, *att, *tmp, *hid, *scores, *pooled, *h1;
	/* int8 scratch: u8 codes */
	uint8_t *pool1q, *tokq, *xq, *hq, *h1q;
	void *qscores; /* kern_q_attention's scratch */
};

/* Slice n bytes off m->mem, rounded up to 64. Running out is a bug in the
 * size computation: model_open() then fails, and until it does the slices
 * alias the start of the block instead of overflowing it. */
void *model_take(struct model *m, size_t bytes);

/* Read a float32 vector of n into a new slice. */
int model_load_vec(struct model *m, const struct sft *f, const char *name, int n, float **out,
		   char *err);
/* Read conv NAME.weight / NAME.bias (float32) into new slices, packed. */
int model_load_conv(struct model *m, const struct sft *f, const char *name, int cin, int cout,
		    float **w, float **b, float *tmp, char *err);

/* x += pos over one image's TOK x D tokens (pos_embed). */
void model_add_pos(float *x, const float *pos);

/* Normalise one image of pixels and run conv1 + ReLU + pool into m->pool1. */
void model_conv1(struct model *m, const float *pixels);

/* model_int8.c: bytes the int8 parameters and scratch need for batch b; load
 * them from an int8 file (weights/quantize.py); forward nb <= max_batch
 * images. */
size_t model_int8_bytes(size_t b);
int model_int8_load(struct model *m, const struct sft *f, void *tmp, char *err);
void model_int8_forward(struct model *m, const float *pixels, int nb, float *logits);

#endif
