/*
 * model: the CNN-Transformer of weights/model.py (table in
 * weights/MODEL_CARD.md), run in C: the same layers, wired in the order of
 * the PyTorch forward(), loaded by state-dict name.
 *
 * model_load() reads the float32 safetensors written by weights/train.py,
 * checks every tensor by name, dtype and shape, and packs the weights into
 * the layout the kernels want; it also allocates all scratch memory for up
 * to max_batch images, so model_forward() never allocates.
 *
 * Input pixels are MNIST-like: B x 784 floats in [0, 1], bright ink on a dark
 * background (worker/image/image.h makes them); the (x - 0.1307) / 0.3081
 * normalisation happens inside. Output is B x 10 logits.
 *
 * Threads: a model owns its scratch memory, so one model must not run two
 * forwards at once. Load one per thread, or serialise the calls.
 */
#ifndef MNIST_MODEL_H
#define MNIST_MODEL_H

#include <stddef.h>

#define MODEL_PIXELS 784
#define MODEL_CLASSES 10

struct model; /* opaque */

/* Load weights from path. On failure returns ERR_* and fills err (ERR_MAX
 * bytes) naming the file, the tensor and the problem. The caller owns *out. */
int model_load(const char *path, int max_batch, struct model **out, char *err);

/* Forward any batch >= 1 (batches above max_batch run in chunks). */
void model_forward(struct model *m, const float *pixels, int batch, float *logits);

/* Softmax of one row of logits into probs, and the argmax. */
int model_softmax(const float *logits, float *probs);

void model_free(struct model *m);

#endif
