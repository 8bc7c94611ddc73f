/*
 * v2: the Open Inference Protocol (KServe v2) REST routes of the frontend,
 * for the one model "mnist" (docs/protocol.md, "Open Inference Protocol"):
 *
 *   GET  /v2                                  server metadata
 *   GET  /v2/health/live                      200 while the frontend runs
 *   GET  /v2/health/ready                     200 when a worker answers, else 400
 *   GET  /v2/models/mnist[/versions/V]        model metadata
 *   GET  /v2/models/mnist[/versions/V]/ready  200 or 400 (health: empty bodies)
 *   POST /v2/models/mnist[/versions/V]/infer  inference (v2_codec.h)
 *
 * Versions are those the workers serve right now (modelver.h); another
 * model name or version gets 404. Errors are {"error": "..."}. The images
 * of one infer request go to the workers as separate requests at once
 * (fanout.h), pixels as the model input itself (proto "input"), images
 * through the worker's intake (proto "image"). Successful infer answers
 * carry X-Model-Version like /predict.
 *
 * Threads: loop thread only. The server struct is owned by the caller
 * (http.c embeds it) and must outlive the requests in flight.
 */
#ifndef MNIST_V2_H
#define MNIST_V2_H

#include "admit.h"
#include "backend.h"

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define V2_SERVER_NAME "mnist-service"
#define V2_SERVER_VERSION "1.0.0"

struct v2_server {
	struct backend *backend;
	struct admit *admit;
	size_t max_upload; /* bytes of one image */
};

/* Whether path (normalised, no query) is under /v2 (inline: respond.c's
 * error shape needs it without the rest of v2.c). */
static inline bool v2_owns(const char *path, size_t len)
{
	return len >= 3 && memcmp(path, "/v2", 3) == 0 && (len == 3 || path[3] == '/');
}

/* Answer one request under /v2 (v2_owns()), now or when its workers reply. */
void v2_handle(struct v2_server *v, h2o_req_t *req);

#endif
