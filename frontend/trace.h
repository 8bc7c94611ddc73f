/*
 * trace: the request id and trace context of an HTTP request, and the
 * response filter that tags every answer with them.
 *
 * X-Request-Id: a client's id is kept when reqid_valid() (common/reqid.h:
 * 1..128 characters of A-Z a-z 0-9 - _ . : / + = @); a missing or invalid
 * one is replaced by a generated id (32 hex digits), never refused, so a
 * bad id cannot fail a request. The id chosen is stored back into the
 * request's headers, so every later call returns the same one. It is sent
 * to the worker (proto "id"), written in the access log and the worker's
 * lines, and echoed as X-Request-Id on every response of the server,
 * errors, 503s and h2o's own 400/413 included (not on the fixed 503 of a
 * connection refused above --max-connections, whose request is never
 * read).
 *
 * traceparent: a valid W3C traceparent (reqid.h) is passed to the worker
 * (proto "traceparent") and written in the access log; an invalid one is
 * ignored, as the W3C recommendation says.
 *
 * trace_install() registers the filter on a path: it adds X-Request-Id and
 * the CORS headers (cors.h; cors may be NULL) to every response there.
 *
 * Threads: loop thread only.
 */
#ifndef MNIST_TRACE_H
#define MNIST_TRACE_H

#include "cors.h"
#include "proto.h"

#include <h2o.h>

/* The request's id (valid, in req->pool or the request's own headers). */
h2o_iovec_t trace_request_id(h2o_req_t *req);

/* The request's valid traceparent, or {NULL, 0}. */
h2o_iovec_t trace_parent(h2o_req_t *req);

/* Carry both to a worker: p's id and traceparent point into req. */
void trace_to_worker(h2o_req_t *req, struct proto_request *p);

/* Tag every response under path; cors must outlive the configuration. */
void trace_install(h2o_pathconf_t *path, const struct cors *cors);

#endif
