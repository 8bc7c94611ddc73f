/*
 * predict: POST /predict. The body is multipart/form-data with a field
 * "file", or a raw image/png or image/jpeg body; ?probs=true (also 1, yes,
 * on) asks for the ten probabilities. The declared type is checked here (the
 * worker checks the bytes), the image is packed into a msgpack request
 * (common/proto.h) and handed to backend_call(); the worker's reply becomes
 * JSON {"digit", "confidence", "probabilities"?} or {"detail"} with 400,
 * 500, 503 (no worker, overload, draining) or 504 (no answer in time).
 * Several "file" parts (at most PREDICT_MAX_FILES) are answered by
 * predict_multi.c: {"predictions": [...]}. Every answer a worker computed
 * carries X-Model-Version.
 *
 * Admission: a request is refused with 503 while the server drains, while
 * no worker is available, or when the shared budget (admit.h: requests and
 * image bytes in flight, HTTP and api.sock together) or backend_call()
 * refuses it. The image bytes stay counted until the worker answers or the
 * backend times out, even if the client has gone (see http.h).
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

#include "admit.h"
#include "backend.h"
#include "multipart.h"

#include <h2o.h>
#include <stddef.h>

/* Fields are private to predict.c. */
struct predictor {
	struct backend *backend;
	struct admit *admit;
	struct mp_limits mp;
	size_t max_upload;
};

/* admit is shared with the broker and must outlive the predictor. */
void predict_init(struct predictor *p, struct backend *b, struct admit *admit, size_t max_upload);

/* Answer one POST /predict, now or when its worker replies. */
void predict_handle(struct predictor *p, h2o_req_t *req);

#endif
