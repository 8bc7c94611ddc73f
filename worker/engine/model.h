/*
 * model: the CNN-Transformer of weights/model.py (table in
 * weights/MODEL_CARD.md), run in C: the same layers, wired in the order of
 * the PyTorch forward(), loaded by state-dict name. Two precisions:
 *   fp32  the float32 safetensors written by weights/train.py
 *         (weights/model.safetensors); logits within 1e-4 of PyTorch.
 *   int8  conv2 and every linear layer in int8 with int32 sums, the rest in
 *         float32, from the self-contained file weights/quantize.py makes
 *         (weights/model-int8.safetensors); weights/quantize.py also holds
 *         the numpy reference of its arithmetic. About 2x as fast as fp32
 *         (1.9-2.7x measured, docs/BENCHMARKS.md) on CPUs with AVX-512
 *         VNNI or AVX-VNNI; runs (slowly, plain C) on any x86-64.
 *
 * model_open() reads the weights, checks every tensor by name, dtype and
 * shape, and packs them into the layout the kernels want; it also
 * allocates all scratch memory for up to max_batch images, so
 * model_forward() never allocates. Which file it reads:
 *   MODEL_FP32  path, which must be a float32 file.
 *   MODEL_INT8  path if it is an int8 file, else its sibling
 *               model_int8_path(path) ("x.safetensors" -> "x-int8.safetensors").
 *   MODEL_AUTO  as MODEL_INT8 when this CPU has VNNI and that file exists
 *               (path itself being int8 counts), otherwise as MODEL_FP32.
 * model_precision() says which one was loaded, model_version() which file:
 * the first MODEL_VERSION_LEN hex digits of the SHA-256 of the bytes read
 * (those validated and loaded, so a model reopened from a changed file
 * carries the new version).
 *
 * Input pixels are MNIST-like: B x 784 floats in [0, 1], bright ink on a dark
 * background (worker/image/image.h makes them); the (x - 0.1307) / 0.3081
 * normalisation happens inside. Output is B x 10 logits. A forward's result
 * for an image never depends on the other images of the batch, nor (for a
 * given precision) on the kernel variant beyond float rounding (int8: the
 * integer parts are bit-identical across variants).
 *
 * Threads: a model owns its scratch memory, so one model must not run two
 * forwards at once. Load one per thread, or serialise the calls.
 */
#ifndef MNIST_MODEL_H
#define MNIST_MODEL_H

#include <stddef.h>

#define MODEL_PIXELS 784
#define MODEL_CLASSES 10
#define MODEL_VERSION_LEN 12

struct model; /* opaque */

enum model_precision { MODEL_FP32 = 0, MODEL_INT8 = 1, MODEL_AUTO = 2 };

struct model_opts {
	int max_batch;			/* 1..4096 */
	enum model_precision precision; /* see above */
};

/* Load weights from path (rules above). On failure returns ERR_* and fills
 * err (ERR_MAX bytes) naming the file, the tensor and the problem. The
 * caller owns *out. */
int model_open(const char *path, const struct model_opts *o, struct model **out, char *err);

/* model_open() with MODEL_FP32. */
int model_load(const char *path, int max_batch, struct model **out, char *err);

/* MODEL_FP32 or MODEL_INT8: what model_open() loaded. */
enum model_precision model_precision(const struct model *m);

/* MODEL_VERSION_LEN lowercase hex digits (above); lives as long as m. */
const char *model_version(const struct model *m);

/* "fp32", "int8", "auto"; parse returns 0, or -1 for any other string. */
const char *model_precision_name(enum model_precision p);
int model_precision_parse(const char *s, enum model_precision *p);

/* The int8 sibling of a weights path into buf; -1 if it does not fit. */
int model_int8_path(const char *path, char *buf, size_t len);

/* Forward any batch >= 1 (batches above max_batch run in chunks). */
void model_forward(struct model *m, const float *pixels, int batch, float *logits);

/* Softmax of one row of logits into probs, and the argmax. */
int model_softmax(const float *logits, float *probs);

void model_free(struct model *m);

#endif
