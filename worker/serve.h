/*
 * serve: the worker's request loop. One nng REP socket that dials the
 * frontend (or any REQ listener) and reconnects by itself; several REP
 * contexts receive requests concurrently; one compute thread takes whatever
 * is queued, up to max_batch, decodes and normalises each image, runs the
 * model once on the valid ones and replies to each context (opportunistic
 * batching: no timer, a lone request runs at once). A bad request gets its
 * own error reply and never disturbs the others of its batch. Pings go
 * through the compute thread too, so a pong means the compute loop is alive.
 *
 * The server borrows the model (the compute thread is its only user while
 * the server runs) and frees nothing it did not allocate. serve_start and
 * serve_stop are called from one thread (main); the rest runs on nng's
 * threads and the compute thread.
 */
#ifndef MNIST_SERVE_H
#define MNIST_SERVE_H

#include "image.h"
#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct serve_config {
	const char *url;    /* ipc://... or tcp://... to dial */
	int max_batch;	    /* largest batch one forward runs */
	int contexts;	    /* REP contexts, i.e. requests held at once */
	size_t max_message; /* larger requests get a too_large reply */
	struct img_limits limits;
	/* Called from the compute thread's loop at least every heartbeat_us
	 * while it is healthy (sd_notify WATCHDOG=1); NULL for none. A compute
	 * loop stuck in a batch stops calling it. */
	void (*heartbeat)(void *arg);
	void *heartbeat_arg;
	uint64_t heartbeat_us;
};

struct serve_stats {
	uint64_t requests; /* replies sent, errors included */
	uint64_t batches;  /* forwards run */
	uint64_t max_batch_seen;
	/* libnng did not close the socket in time (nngclose.h): its memory is
	 * left to the process exit; do not call nng_fini(). */
	bool socket_stuck;
};

struct server; /* opaque */

/* Open the socket, start dialing (non-blocking: a missing listener is retried
 * every 20-300 ms) and start the compute thread. */
int serve_start(const struct serve_config *cfg, struct model *m, struct server **out, char *err);

/* Stop receiving, answer every request already received, wait up to
 * timeout_ms for that, then close the socket and free the server. Returns 0,
 * or ERR_TIMEOUT when some requests were still unanswered at the deadline. */
int serve_stop(struct server *s, int timeout_ms, struct serve_stats *stats);

#endif
