/*
 * backend: the frontend's one cooked REQ socket to the workers.
 *
 * The socket LISTENS on the workers' endpoint (ipc://<rundir>/workers.sock
 * by default); workers dial in and out as they like. nng_pipe_notify keeps
 * an atomic count of connected worker pipes, and the pongs (proto.h: pid
 * and instance) one of the distinct worker processes behind them. Each
 * call gets a slot (one nng_ctx plus one nng_aio) with its own deadline;
 * the request is resent by nng to another worker when the pipe of the one
 * holding it closes.
 *
 * Threads: backend_open/backend_call/backend_close and the done callbacks
 * run on the h2o loop thread only. nng completes on its own threads and
 * hands the slot back through an h2o multithread queue, so a done callback
 * never runs on an nng thread. backend_workers(), backend_connections(),
 * backend_healthy() and backend_socket() are safe from any thread.
 *
 * Liveness (liveness.c): each connection gets a ping ({v:1,ping:true})
 * about every 200 ms, on nng threads; one silent for silent_ms is closed.
 * The backend is healthy while at least one worker is connected and some
 * reply (ping or call) arrived in the last 3 x silent_ms.
 */
#ifndef MNIST_BACKEND_H
#define MNIST_BACKEND_H

#include <h2o.h>
#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backend;

struct backend_opts {
	const char *url; /* where workers dial in: ipc://, tcp:// or tls+tcp:// */
	const char *tls_cert, *tls_key, *tls_ca; /* for tls+tcp:// (tls.h) */
	bool trusted_network;			 /* allow plain tcp:// off loopback */
	int timeout_ms;				 /* per call, from submission to reply */
	int resend_ms;	     /* NNG_OPT_REQ_RESENDTIME, above the longest batch */
	size_t max_inflight; /* calls at once; more is ERR_UNAVAILABLE */
	int silent_ms;	     /* a worker pipe with no reply for this long is closed;
			      * no reply from any worker for 3 x this: calls fail fast */
};

/* rc is 0 (reply/len hold the worker's message, valid during the call
 * only), ERR_TIMEOUT or ERR_UNAVAILABLE (socket closed, no answer). */
typedef void (*backend_done_cb)(void *arg, int rc, const uint8_t *reply, size_t len);

/* Open the socket, listen on opts->url and start pinging. */
int backend_open(const struct backend_opts *opts, h2o_loop_t *loop, struct backend **out,
		 char *err);

/* Whether a call can go out now: a worker is connected and, once any worker
 * has answered, some answer came in the last 3 s. A connected worker that
 * stopped answering (stuck, stopped, or a pipe whose removal libnng never
 * reported) makes callers fail fast instead of waiting out timeout_ms. */
enum backend_state { BACKEND_READY, BACKEND_NO_WORKER, BACKEND_SILENT };
enum backend_state backend_available(const struct backend *b);

/* Send msg (copied) to a worker. Returns 0 (cb will run exactly once, on
 * the loop thread, later), or ERR_UNAVAILABLE at once when the backend is
 * not available (above) or max_inflight calls are pending, or ERR_NOMEM. */
int backend_call(struct backend *b, const uint8_t *msg, size_t len, backend_done_cb cb, void *arg);
/* The same with a message the caller built (e.g. packed straight into it):
 * on 0 the backend owns msg, else the caller still does. */
int backend_send(struct backend *b, nng_msg *msg, backend_done_cb cb, void *arg);

size_t backend_inflight(const struct backend *b); /* calls not yet completed */
/* Worker processes connected: the distinct (pid, instance) their pongs
 * name; a connection whose worker has not said yet (no pong so far, or an
 * older worker without "instance") counts as one. */
long backend_workers(const struct backend *b);
long backend_connections(const struct backend *b); /* connected worker pipes */
int backend_healthy(const struct backend *b);	   /* see above */
void backend_mark_ok(struct backend *b);	   /* a worker just answered */
nng_socket backend_socket(const struct backend *b);
int backend_timeout_ms(const struct backend *b);

/* Close the socket (pending calls complete with ERR_UNAVAILABLE, on the loop
 * thread, before this returns), stop the ping, free everything. Returns 0, or
 * ERR_TIMEOUT when libnng did not close the socket within 2 s (see
 * nngclose.h): then b is left allocated for the process exit, and the
 * caller must not call nng_fini(). */
int backend_close(struct backend *b);

#endif
