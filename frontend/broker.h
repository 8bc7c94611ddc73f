/*
 * broker: local callers speak the msgpack protocol to ipc://<rundir>/api.sock
 * (a REP socket) and get the same replies as HTTP callers.
 *
 * Each of n REP contexts receives one request, forwards the message as-is
 * through a context of the backend's REQ socket (so nng resends it when a
 * worker dies, exactly as for HTTP requests), and sends the worker's reply
 * back. With no worker connected, or when no answer comes within the
 * timeout, the caller gets a protocol error reply ("unavailable" or
 * "timeout") at once instead of silence.
 *
 * Threads: runs entirely in nng's aio callbacks, never on the h2o loop.
 * broker_open/broker_close are called from main at start and stop;
 * broker_close waits for every callback to finish.
 */
#ifndef MNIST_BROKER_H
#define MNIST_BROKER_H

#include "backend.h"

#include <stddef.h>

struct broker;

/* Listen on url with n contexts; requests up to max_msg bytes. */
int broker_open(const char *url, struct backend *b, size_t n, size_t max_msg, struct broker **out,
		char *err);

/* Close the socket and free the broker. Returns 0, or ERR_TIMEOUT when
 * libnng did not close the socket within 2 s (see nngclose.h): then br is
 * left allocated for the process exit. */
int broker_close(struct broker *br);

#endif
