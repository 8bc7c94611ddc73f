/*
 * respond: how the frontend answers an HTTP request on h2o.
 *
 * Every answer goes through respond(), which sets the status, the reason,
 * the content type and length, writes one access-log line (common/log.h) and
 * records the request in metrics.h; during a drain it also turns keep-alive
 * off. Errors are JSON {"detail": ...} built with jansson, so client input
 * echoed into a detail is always escaped (respond_client_string()).
 *
 * The answers depend on a little server state, kept next to the loop's
 * h2o_context_t in struct respond_ctx: the owner (http.c) embeds it and
 * registers respond_ctx.h2o as the context; respond_ctx_of() finds it back
 * from any request.
 *
 * respond_json_errors() installs an output filter that rewrites h2o's own
 * error answers (400 for a broken request or chunked body, 413 from the
 * Content-Length alone) from text/plain into the same JSON shape, and logs
 * and counts them like ours.
 *
 * Threads: loop thread only. Bodies must outlive the response: static data
 * or memory in req->pool.
 */
#ifndef MNIST_RESPOND_H
#define MNIST_RESPOND_H

#include "static.h"

#include <h2o.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct respond_ctx {
	h2o_context_t h2o;
	size_t max_upload; /* named in the 413 text */
	int retry_after_s; /* Retry-After on 503 */
	bool draining;	   /* answers carry Connection: close */
};

static inline struct respond_ctx *respond_ctx_of(h2o_req_t *req)
{
	return H2O_STRUCT_FROM_MEMBER(struct respond_ctx, h2o, req->conn->ctx);
}

/* Send body with this status and content type. worker (0 = none) is the pid
 * of the worker that computed the answer, for the access log. */
void respond(h2o_req_t *req, int status, const char *ctype, h2o_iovec_t body, uint32_t worker);

/* Serialise root into req->pool and send it; root is consumed. NULL (out of
 * memory while building it) becomes a 500. */
void respond_json(h2o_req_t *req, int status, json_t *root, uint32_t worker);

void respond_detail(h2o_req_t *req, int status, const char *detail);
void respond_503(h2o_req_t *req, const char *detail); /* with Retry-After */
void respond_405(h2o_req_t *req, const char *allow);  /* with Allow */
void respond_too_large(h2o_req_t *req);		      /* 413, counted as too_large */

/* X-Model-Version: v (a worker reply's "model"), unless v is empty. */
void respond_model_version(h2o_req_t *req, const char *v);

/* A JSON string from client bytes: invalid UTF-8 becomes '?'. */
json_t *respond_client_string(const char *s, size_t n);

/* Rewrite h2o's own 400 and 413 answers under path into JSON (above). */
void respond_json_errors(h2o_pathconf_t *path);

/* 200 with a file of the site, and its Content-Security-Policy when it has
 * one (static.h). */
void respond_static(h2o_req_t *req, const struct static_file *f);

#endif
