/*
 * fanout: one HTTP request, several worker requests. Sends n packed msgpack
 * requests (common/proto.h) to the workers at once through backend_call(),
 * so the REQ socket spreads them over the connected workers, and calls back
 * once when every one of them has its answer. Used by /predict with
 * several files (predict_multi.c) and by the v2 infer route (v2.c).
 *
 * Admission is that of a single prediction, per item: the service must not
 * be draining, a worker must be available, and each item takes one request
 * and its message bytes from the shared budget (admit.h), all or nothing;
 * they are given back as the items complete. Metrics and model versions
 * (modelver.h) are recorded for every reply as for /predict.
 *
 * Ownership: fanout_start() copies the messages (the caller frees its own).
 * The done callback receives the parsed replies, valid during the call only.
 * If the client's request is disposed first (it cannot be answered any
 * more), the callback still runs, with req NULL, so the caller can free
 * what it passed as arg.
 *
 * Threads: loop thread only (backend.h calls back on the loop thread).
 */
#ifndef MNIST_FANOUT_H
#define MNIST_FANOUT_H

#include "admit.h"
#include "backend.h"
#include "proto.h"

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

struct fanout_result {
	/* 0: every item has a worker reply (each ok or an error reply);
	 * ERR_TIMEOUT: some item got no answer in time; ERR_UNAVAILABLE: some
	 * item could not be sent or lost its worker. */
	int rc;
	size_t n;
	/* n replies in item order; an item without one, or whose reply did not
	 * parse, has ok false and code "unavailable", "timeout" or "internal". */
	const struct proto_reply *replies;
};

typedef void (*fanout_done_cb)(void *arg, h2o_req_t *req, const struct fanout_result *r);

/* Start n (>= 1) calls for req. Returns 0, and cb runs once later; or, with
 * nothing started and cb never run, ERR_UNAVAILABLE (503: draining, no
 * worker, over budget), ERR_NOMEM, with a message for the client in err. */
int fanout_start(struct backend *b, struct admit *a, h2o_req_t *req, uint8_t *const *msgs,
		 const size_t *lens, size_t n, fanout_done_cb cb, void *arg, char *err);

/* Join the distinct non-empty "model" versions of the replies with ", "
 * into out (at most len bytes, cut if longer), for X-Model-Version. */
void fanout_versions(const struct fanout_result *r, char *out, size_t len);

#endif
