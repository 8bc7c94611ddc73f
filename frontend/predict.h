/*
 * predict: POST /predict. The body is multipart/form-data with a field
 * "file", or a raw image/png or image/jpeg body; ?probs=true (also 1, yes,
 * on) asks for the ten probabilities. The declared type is checked here (the
 * worker checks the bytes), the image is packed into a msgpack request
 * (common/proto.h) and handed to backend_call(); the worker's reply becomes
 * JSON {"digit", "confidence", "probabilities"?} or {"detail"} with 400,
 * 500, 503 (no worker, overload, draining) or 504 (no answer in time).
 *
 * Admission: a request is refused with 503 while the server drains, while
 * no worker is available, when backend_call() refuses it (max_inflight) or
 * when its image bytes would take the bytes held in flight above
 * max_inflight_bytes (one request is always let through when nothing else
 * is in flight).
 *
 * Ownership: the caller owns struct predictor (usually embedded in its
 * server) and keeps it alive while requests are in flight; the request's
 * image is copied into the msgpack message, so h2o may free the body once
 * predict_handle() returns.
 *
 * Threads: loop thread only (backend.h calls back on the loop thread).
 */
#ifndef MNIST_PREDICT_H
#define MNIST_PREDICT_H

#include "backend.h"
#include "multipart.h"

#include <h2o.h>
#include <stddef.h>

/* Fields are private to predict.c. */
struct predictor {
	struct backend *backend;
	struct mp_limits mp;
	size_t max_upload;
	size_t max_inflight_bytes;
	size_t inflight_bytes;
};

void predict_init(struct predictor *p, struct backend *b, size_t max_upload,
		  size_t max_inflight_bytes);

/* Answer one POST /predict, now or when its worker replies. */
void predict_handle(struct predictor *p, h2o_req_t *req);

#endif
