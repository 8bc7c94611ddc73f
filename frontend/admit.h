/*
 * admit: the frontend's budget for predictions in flight, shared by HTTP
 * (POST /predict, on the loop thread) and api.sock (the broker, on nng's
 * threads): at most max_requests at once (--max-inflight) and at most
 * max_bytes of request bytes held (--max-inflight-bytes; one request is
 * always let in when nothing is held, so a single upload at the limit still
 * passes). The drain on shutdown waits until admit_requests() is 0.
 *
 * Ownership: the caller owns struct admit (main embeds it) and keeps it
 * alive as long as HTTP and the broker run. Threads: every call is
 * lock-free (C11 atomics) and safe from any thread.
 */
#ifndef MNIST_ADMIT_H
#define MNIST_ADMIT_H

#include <stdatomic.h>
#include <stddef.h>

struct admit {
	atomic_size_t requests, bytes;
	size_t max_requests, max_bytes;
};

enum admit_result { ADMIT_OK, ADMIT_TOO_MANY_REQUESTS, ADMIT_TOO_MANY_BYTES };

void admit_init(struct admit *a, size_t max_requests, size_t max_bytes);

/* Take one request of len bytes, or refuse it (nothing is then taken). */
enum admit_result admit_take(struct admit *a, size_t len);

/* Give back what one admit_take(a, len) == ADMIT_OK took. */
void admit_give(struct admit *a, size_t len);

size_t admit_requests(struct admit *a); /* admitted and not given back */

#endif
