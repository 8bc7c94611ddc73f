/*
 * framing: refuse an HTTP/1 request whose body length is ambiguous
 * (RFC 9112 section 6.3), so that a proxy in front and this server can never
 * disagree on where a request ends (request smuggling).
 *
 * Refused: two Content-Length headers with different values; Content-Length
 * together with Transfer-Encoding; more than one Transfer-Encoding header.
 * (h2o already answers 400 to a Transfer-Encoding other than "chunked" and to
 * a Content-Length that is not a number.)
 *
 * Why here and not in h2o: h2o 2.2 (lib/http1.c, init_headers) keeps the
 * first Content-Length, lets a Transfer-Encoding win over it, and leaves
 * neither in req->headers, so a handler cannot see the conflict there.
 * framing_check() therefore reads the raw header block, which is still at
 * the start of the connection's input buffer when the handler runs (h2o
 * consumes it only after the response), and splits lines the way h2o's
 * picohttpparser does.
 *
 * Pure function over bytes: thread-safe, no allocation.
 */
#ifndef MNIST_FRAMING_H
#define MNIST_FRAMING_H

#include <stddef.h>

/* head: the request as received (request line, headers, maybe more), len
 * bytes of it. Returns NULL when the framing is unambiguous, else a static
 * message for the 400 detail. */
const char *framing_check(const char *head, size_t len);

#endif
