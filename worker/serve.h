/*
 * serve: the worker's request loop. One nng REP socket that dials the
 * frontend (or any REQ listener) and reconnects by itself; several REP
 * contexts receive requests concurrently.
 *
 * On nng's threads each request is parsed, pings are answered at once, and
 * an image is admitted by the cost its header claims (cost.h): it waits in
 * a light or a heavy decode lane for the decode pool (decode_threads
 * threads; a light upload never queues behind a heavy decode), then in the
 * ready queue for the one compute thread, which runs the model on up to
 * max_batch decoded images at once (opportunistic batching: no timer, a
 * lone request runs at once) and replies to each. A bad request gets its
 * own error reply and never disturbs the others. When a large image would
 * raise the pixels waiting to be decoded above decode_backlog, it is
 * answered `unavailable` at once instead of queueing; light images are
 * always admitted. When all contexts hold requests, further requests wait
 * in the connection (backpressure); with large decodes bounded, held
 * requests are mostly light ones that finish within milliseconds, so a
 * context frees up quickly for the next message, pings included.
 *
 * Liveness: a ping gets its pong without waiting for any batch, as long as
 * the compute thread and every decode thread make progress (beat.h: idle
 * and ticking, or inside a job that is young or still burning CPU). A
 * worker with a thread stuck for about a second stops answering pings, so
 * the frontend drops its connection and resends its requests elsewhere;
 * serve_alive() gives the same verdict for the systemd watchdog.
 *
 * The server borrows the model (the compute thread is its only user while
 * the server runs) and frees nothing it did not allocate; after
 * serve_swap_model() it borrows the new one. serve_start and
 * serve_stop are called from one thread (main); serve_alive from any
 * thread while the server exists; the rest runs on nng's threads and the
 * worker's own threads.
 */
#ifndef MNIST_SERVE_H
#define MNIST_SERVE_H

#include "image.h"
#include "model.h"

#include <nng/nng.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct serve_config {
	const char *url;	 /* the (first) frontend URL, for logs and serve_stranded */
	int max_batch;		 /* largest batch one forward runs */
	int contexts;		 /* REP contexts: requests held at once */
	int decode_threads;	 /* decode pool size, at least 1 */
	uint64_t decode_backlog; /* pixels admitted and not yet decoded, at most */
	size_t max_message;	 /* larger requests get a too_large reply */
	struct img_limits limits;
};

struct serve_stats {
	uint64_t requests; /* replies sent, errors included */
	uint64_t batches;  /* forwards run */
	uint64_t max_batch_seen;
	uint64_t decodes;  /* images decoded */
	uint64_t rejected; /* answered `unavailable` by admission */
	uint64_t dropped;  /* requests whose connection closed before the reply */
	/* libnng did not close the socket in time (nngclose.h): its memory is
	 * left to the process exit; do not call nng_fini(). */
	bool socket_stuck;
};

struct server; /* opaque */

/* Open the socket, start the decode pool and the compute thread, and start
 * receiving. The caller then dials the frontends on serve_socket() (links.h;
 * a missing listener is retried every 20-300 ms). */
int serve_start(const struct serve_config *cfg, struct model *m, struct server **out, char *err);

/* Reload: hand the compute thread a new model m (loaded and checked by the
 * caller with the same max batch). The compute thread takes it between two
 * batches: every batch runs wholly on one model, and no request waits or
 * fails for the swap. Returns 0 with the replaced model in *old (the caller
 * frees it; the server never touches it again), or ERR_TIMEOUT /
 * ERR_UNAVAILABLE when the compute thread did not take m within timeout_ms
 * or is stopping: then the old model stays and the caller still owns m.
 * Call from one thread at a time (main). */
int serve_swap_model(struct server *s, struct model *m, struct model **old, int timeout_ms);

/* The REP socket, for dialing (valid until serve_stop). */
nng_socket serve_socket(const struct server *s);

/* Whether every worker thread is making progress (see Liveness above). */
bool serve_alive(struct server *s);

/* Whether libnng stopped redialing: the connection has been down for
 * stranded_ms although the frontend's ipc socket accepts connections (a
 * libnng 1.5.2 bug can leave a socket that lost its connection in the
 * middle of a reply unable to remove the pipe, and so to redial, for
 * good). Only a new process recovers; tcp:// is never judged stranded. */
bool serve_stranded(struct server *s, int stranded_ms);

/* Milliseconds since anything arrived on the open connections of nng
 * dialer `dialer` (the most recent of them), UINT64_MAX when it has none. A frontend
 * pings every connection at least every ~1.2 s, so a long quiet means a dead
 * connection that nng has not noticed. Any thread. */
uint64_t serve_dialer_quiet_ms(struct server *s, uint32_t dialer);

/* Stop receiving, answer every request already received, wait up to
 * timeout_ms for that, then close the socket and free the server. Returns 0,
 * or ERR_TIMEOUT when some requests were still unanswered at the deadline. */
int serve_stop(struct server *s, int timeout_ms, struct serve_stats *stats);

#endif
