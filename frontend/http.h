/*
 * http: the HTTP/1.1 server of the frontend on h2o's evloop: the listening
 * socket, accepting connections, routing requests, and stopping.
 *
 *   POST /predict        frontend/predict.h (validated here, computed by a
 *                        worker through backend_call()).
 *   GET  /health         200 {"status":"ok","workers":N} while a worker is
 *                        connected and answering, else 503.
 *   GET  /metrics        Prometheus text (frontend/metrics.h).
 *   GET  /openapi.json, /docs, /redoc (and their assets): frontend/static.h.
 *   /v2/...              the Open Inference Protocol routes: frontend/v2.h.
 *   OPTIONS on an API route, with --cors-origins: 204 (frontend/cors.h).
 *   anything else        JSON 404, or 405 with an Allow header.
 * Every response carries X-Request-Id (frontend/trace.h).
 * Answers, their JSON error shape and the access log: frontend/respond.h.
 *
 * Connections: at most max_connections are open at once; a connection
 * accepted above that is answered 503 {"detail":"Too many connections"}
 * with Retry-After and Connection: close, written at once without reading
 * its request, then closed. Each connection must deliver a whole request
 * within idle_timeout_ms of its accept or of its previous response (h2o's
 * http1 req_timeout), so idle keep-alive connections are closed after that.
 *
 * Threads: everything here runs on the loop thread.
 *
 * A client that goes away while its prediction is in flight is not noticed:
 * h2o 2.2 stops reading an HTTP/1 connection once a request is complete
 * (lib/http1.c: h2o_socket_read_stop before the handler runs) and arms no
 * timeout until the response is written, so the close is only seen when the
 * answer is written and fails. The request keeps its in-flight slot and its
 * image bytes until the worker answers or the backend timeout expires.
 */
#ifndef MNIST_HTTP_H
#define MNIST_HTTP_H

#include "admit.h"
#include "backend.h"
#include "cors.h"

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>

struct static_site;

struct http_opts {
	const char *listen; /* "HOST:PORT", e.g. "0.0.0.0:8000" or "[::1]:8000" */
	size_t max_upload;  /* bytes of the uploaded image */
	/* The budget of predictions in flight (requests and image bytes),
	 * shared with the broker; must outlive the server. */
	struct admit *admit;
	int retry_after_s; /* Retry-After on 503 */
	/* Open connections at most; one accepted above it gets a 503 written
	 * at once and is closed, without reading its request. */
	size_t max_connections;
	/* h2o's http1 req_timeout: a connection must deliver a whole request
	 * (headers and body) within this time from its accept or from its last
	 * response, else it is closed. Bounds idle keep-alive and slow uploads. */
	unsigned idle_timeout_ms;
	/* --cors-origins (cors.h), or NULL; must outlive the server. */
	const struct cors *cors;
};

struct http_server;

/* Bind and listen (blocking name resolution: call at start-up), register
 * the routes. site may be NULL (docs routes then answer 404). */
int http_start(const struct http_opts *opts, h2o_loop_t *loop, struct backend *b,
	       const struct static_site *site, struct http_server **out, char *err);

/* The port actually bound (useful with port 0). */
int http_port(const struct http_server *s);

/* Close the listening socket; requests on open connections get 503 for
 * /predict and Connection: close from now on. */
void http_stop_accepting(struct http_server *s);

/* Some client connection is still open (keep-alive or being written). */
bool http_busy(const struct http_server *s);

/* Free everything, unless connections are still open (see http.c): then
 * the server is left as it is for the process exit to reclaim. */
void http_free(struct http_server *s);

#endif
