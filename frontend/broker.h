/*
 * broker: local callers speak the msgpack protocol to ipc://<rundir>/api.sock
 * (a REP socket) and get the same replies as HTTP callers.
 *
 * Each of n REP contexts receives one request, forwards the message as-is
 * through a context of the backend's REQ socket (so nng resends it when a
 * worker dies, exactly as for HTTP requests), and sends the worker's reply
 * back. Instead of silence the caller gets a protocol error reply at once:
 *   too_large    the message is above max_msg bytes (up to the hard cap,
 *                broker_hard_cap(): above that nng drops the message and
 *                closes the caller's connection without a reply, so the
 *                caller's own timeout applies);
 *   unavailable  the frontend is draining (broker_drain()), no worker is
 *                connected or all are silent for 3 s, or the shared budget
 *                (admit.h: --max-inflight, --max-inflight-bytes, counted with
 *                HTTP) is full;
 *   timeout      no worker answered within the backend's timeout.
 * An admitted request holds its place in the budget until its reply has been
 * sent back, so the shutdown drain (admit_requests() == 0) waits for it.
 *
 * Access: an ipc:// api.sock is created mode BROKER_IPC_MODE (0660): only
 * the owner and the socket's group (the frontend's group, or the run
 * directory's group when that directory is setgid; group mnist under the
 * systemd units) may connect. The run directory must let that group in.
 *
 * Threads: runs entirely in nng's aio callbacks, never on the h2o loop.
 * broker_open/broker_close are called from main at start and stop;
 * broker_drain from any thread; broker_close waits for every callback to
 * finish.
 */
#ifndef MNIST_BROKER_H
#define MNIST_BROKER_H

#include "admit.h"
#include "backend.h"

#include <stddef.h>

#define BROKER_IPC_MODE 0660

struct broker;

struct broker_opts {
	const char *url; /* ipc://<rundir>/api.sock, or tcp://... */
	size_t contexts; /* requests received at once */
	size_t max_msg;	 /* larger requests get too_large */
};

/* Listen on o->url. b and admit must outlive the broker. */
int broker_open(const struct broker_opts *o, struct backend *b, struct admit *admit,
		struct broker **out, char *err);

/* The largest message nng accepts for max_msg (4 x max_msg). */
size_t broker_hard_cap(size_t max_msg);

/* From now on, answer every new request "unavailable"; the requests already
 * admitted go on. */
void broker_drain(struct broker *br);

/* Close the socket and free the broker. Returns 0, or ERR_TIMEOUT when
 * libnng did not close the socket within 2 s (see nngclose.h): then br is
 * left allocated for the process exit. */
int broker_close(struct broker *br);

#endif
