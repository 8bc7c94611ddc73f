/*
 * cors: Cross-Origin Resource Sharing for the API routes, so that a page
 * served from another origin may call the service from a browser.
 *
 * Off by default. --cors-origins LIST (MNIST_CORS_ORIGINS) names the
 * allowed origins, separated by commas or spaces, each exactly as browsers
 * send the Origin header ("https://app.example.com", "http://localhost:3000";
 * no path, no trailing slash), or "*" for any origin. Then, on the API
 * routes (cors_api_path(): /predict, /health and /health/..., /v2 and
 * /v2/...; never /metrics, the page or the docs):
 *   - a response to a request whose Origin is allowed carries
 *     Access-Control-Allow-Origin (that origin), Access-Control-Expose-Headers
 *     (X-Request-Id, X-Model-Version, Retry-After) and Vary: Origin;
 *   - OPTIONS is answered 204 with Allow; when its Origin is allowed it also
 *     carries Access-Control-Allow-Methods, -Allow-Headers and -Max-Age.
 * An origin not in the list gets no CORS header at all (the browser then
 * refuses the page's access); the request itself is served as without CORS.
 * No credentials are allowed (no Access-Control-Allow-Credentials).
 *
 * Threads: cors_parse at start-up; the rest on the loop thread (the list
 * is read-only after parsing).
 */
#ifndef MNIST_CORS_H
#define MNIST_CORS_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>

#define CORS_MAX_ORIGINS 64
#define CORS_MAX_AGE "600"
#define CORS_ALLOW_METHODS "GET, HEAD, POST, OPTIONS"
#define CORS_ALLOW_HEADERS                                                                         \
	"Content-Type, X-Request-Id, traceparent, Inference-Header-Content-Length"
#define CORS_EXPOSE_HEADERS "X-Request-Id, X-Model-Version, Retry-After"

struct cors; /* opaque */

/* Parse LIST (NULL or "" = CORS off: *out = NULL). Returns 0, or
 * ERR_INVALID with a message naming the bad origin, or ERR_NOMEM. */
int cors_parse(const char *list, struct cors **out, char *err);

/* Whether the path (query ignored) is an API route that CORS applies to. */
bool cors_api_path(const char *path, size_t len);

/* Add the response headers above to req->res for an allowed Origin on an
 * API path; nothing otherwise. c may be NULL (off). */
void cors_add_headers(const struct cors *c, h2o_req_t *req);

/* An OPTIONS request on an API path with CORS on: answer it (204) and
 * return true; otherwise return false and let the router answer. */
bool cors_preflight(const struct cors *c, h2o_req_t *req);

void cors_free(struct cors *c);

#endif
