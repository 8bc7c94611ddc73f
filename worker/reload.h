/*
 * reload: load a worker's weights, check them, and swap them in while the
 * worker serves (SIGHUP).
 *
 * reload_open() is model_open() (worker/engine/model.h: every tensor by
 * name, dtype and shape, the int8 sibling as --precision says) followed by
 * a forward pass over a blank and a full-ink image whose logits must all
 * be finite, so a file with NaN or infinite weights is refused too. The
 * worker uses it at start and on every reload, so a reload accepts exactly
 * what a start accepts.
 *
 * reload_weights() loads the configured file(s) anew; when they pass, the
 * compute thread switches to them between two batches (serve_swap_model())
 * and the old model is freed; when they fail, the worker keeps serving the
 * old model and logs why. Either way it logs one line naming the file that
 * was read, its size and its SHA-256. Main thread only.
 */
#ifndef MNIST_RELOAD_H
#define MNIST_RELOAD_H

#include "model.h"
#include "serve.h"

/* Load and check (above). Returns 0 or ERR_*, with a message in err. */
int reload_open(const char *path, const struct model_opts *o, struct model **out, char *err);

/* The file model_open() read for path when it loaded m: path itself, or
 * its int8 sibling. Into buf (len bytes). */
void reload_loaded_path(const char *path, const struct model *m, char *buf, size_t len);

/* "N bytes, sha256 HEX" of the file at path, or why it could not be read,
 * into out (len bytes; 120 hold it). */
void reload_describe(const char *path, char *out, size_t len);

/* SIGHUP: reload path into the running server; *m is the model in use and
 * is replaced on success. Returns 0 (swapped) or ERR_* (old model kept). */
int reload_weights(const char *path, const struct model_opts *o, struct server *srv,
		   struct model **m);

#endif
