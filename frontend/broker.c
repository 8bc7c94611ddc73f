#include "broker.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "nngclose.h"
#include "proto.h"

#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One caller at a time: REP receive -> REQ send -> REQ receive -> REP send.
 * Owned by nng callbacks; the two aios never run at the same time because
 * each stage starts the next one only when it is done. */
struct bslot {
	struct broker *br;
	nng_ctx rep_ctx, req_ctx;
	nng_aio *rep_aio, *req_aio;
	enum { B_RECV, B_FORWARD, B_WAIT, B_REPLY } stage;
	nng_time deadline;
	bool admitted; /* holds one request of len bytes in br->admit */
	size_t len;
	uint64_t recv_us, sent_us; /* clock_us(): request received, forwarded */
};

struct broker {
	nng_socket sock;
	struct backend *backend;
	struct admit *admit;
	struct bslot *slots;
	size_t n, cap;
	size_t max_msg;
	atomic_bool closing, draining;
};

/* Listen for the next caller; what the last one held is given back. */
static void start_recv(struct bslot *s)
{
	if (s->admitted) {
		admit_give(s->br->admit, s->len);
		metrics_inflight_add(-1);
		s->admitted = false;
	}
	s->stage = B_RECV;
	nng_ctx_recv(s->rep_ctx, s->rep_aio);
}

static void send_reply(struct bslot *s, nng_msg *m)
{
	s->stage = B_REPLY;
	nng_aio_set_msg(s->rep_aio, m);
	nng_ctx_send(s->rep_ctx, s->rep_aio);
}

/* Answer the caller with a protocol error instead of a worker's reply. */
static void send_error(struct bslot *s, int code, const char *msg)
{
	struct proto_reply rep;
	uint8_t *buf;
	size_t len;
	nng_msg *m;

	memset(&rep, 0, sizeof rep);
	proto_reply_error(&rep, code, msg);
	metrics_api(rep.code, (double)(clock_us() - s->recv_us) / 1e6);
	if (proto_pack_reply(&rep, &buf, &len) != 0) {
		start_recv(s);
		return;
	}
	if (nng_msg_alloc(&m, len) != 0) {
		free(buf);
		start_recv(s);
		return;
	}
	memcpy(nng_msg_body(m), buf, len);
	free(buf);
	send_reply(s, m);
}

/* nng callback: the caller-side aio finished (a request received from
 * api.sock, or the reply sent back). */
static void on_caller_aio(void *arg)
{
	struct bslot *s = arg;
	int rv = nng_aio_result(s->rep_aio);
	enum backend_state state;
	enum admit_result admitted;
	size_t len;
	nng_msg *m;

	if (atomic_load(&s->br->closing) || rv == NNG_ECLOSED) {
		/* A reply not sent, or a request received as we close. */
		if ((rv != 0 && s->stage == B_REPLY) || (rv == 0 && s->stage == B_RECV))
			nng_msg_free(nng_aio_get_msg(s->rep_aio));
		return;
	}
	if (s->stage == B_REPLY) {
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(s->rep_aio));
		start_recv(s);
		return;
	}
	if (rv != 0) { /* B_RECV failed (cancelled, ...): listen again */
		start_recv(s);
		return;
	}
	m = nng_aio_get_msg(s->rep_aio);
	len = nng_msg_len(m);
	s->recv_us = clock_us();
	if (atomic_load(&s->br->draining)) {
		nng_msg_free(m);
		send_error(s, ERR_UNAVAILABLE, "the service is shutting down");
		return;
	}
	if (len > s->br->max_msg) {
		char msg[128];
		nng_msg_free(m);
		snprintf(msg, sizeof msg, "request of %zu bytes is above the limit of %zu bytes",
			 len, s->br->max_msg);
		metrics_reject(METRICS_REJECT_TOO_LARGE);
		send_error(s, ERR_TOO_LARGE, msg);
		return;
	}
	if ((state = backend_available(s->br->backend)) != BACKEND_READY) {
		nng_msg_free(m);
		metrics_reject(METRICS_REJECT_NO_WORKER);
		send_error(s, ERR_UNAVAILABLE,
			   state == BACKEND_SILENT ? "no inference worker has answered for 3 s"
						   : "no inference worker is connected");
		return;
	}
	if ((admitted = admit_take(s->br->admit, len)) != ADMIT_OK) {
		nng_msg_free(m);
		metrics_reject(METRICS_REJECT_OVERLOAD);
		send_error(s, ERR_UNAVAILABLE,
			   admitted == ADMIT_TOO_MANY_BYTES ? "too many bytes in flight"
							    : "too many requests in flight");
		return;
	}
	s->admitted = true;
	s->len = len;
	metrics_inflight_add(1);
	s->stage = B_FORWARD;
	s->sent_us = clock_us();
	s->deadline = nng_clock() + (nng_time)backend_timeout_ms(s->br->backend);
	nng_aio_set_msg(s->req_aio, m);
	nng_aio_set_timeout(s->req_aio, backend_timeout_ms(s->br->backend));
	nng_ctx_send(s->req_ctx, s->req_aio);
}

/* Metrics of a worker's reply forwarded to an api.sock caller, as for
 * HTTP: its code, latency, wait and, for a prediction, the image (and
 * the batch when it is the batch's lead reply). */
static void count_reply(struct bslot *s, nng_msg *m)
{
	struct proto_reply rep;
	uint64_t now = clock_us();

	if (proto_parse_reply(nng_msg_body(m), nng_msg_len(m), &rep, NULL) != 0) {
		metrics_api("internal", (double)(now - s->recv_us) / 1e6);
		return;
	}
	metrics_worker_wait((double)((int64_t)(now - s->sent_us) - (int64_t)rep.infer_us) / 1e6);
	if (rep.ok && !rep.pong)
		metrics_prediction(rep.infer_us, rep.batch, rep.lead, rep.forward_us);
	metrics_api(rep.ok ? "ok" : rep.code, (double)(now - s->recv_us) / 1e6);
}

/* nng callback: the worker-side aio finished (the request forwarded, or
 * the worker's reply received). */
static void on_worker_aio(void *arg)
{
	struct bslot *s = arg;
	int rv = nng_aio_result(s->req_aio);

	if (s->stage == B_FORWARD && rv != 0)
		nng_msg_free(nng_aio_get_msg(s->req_aio));
	if (atomic_load(&s->br->closing)) {
		if (rv == 0 && s->stage == B_WAIT)
			nng_msg_free(nng_aio_get_msg(s->req_aio));
		return;
	}
	if (rv != 0) {
		send_error(s, rv == NNG_ETIMEDOUT ? ERR_TIMEOUT : ERR_UNAVAILABLE,
			   rv == NNG_ETIMEDOUT ? "no inference worker answered in time"
					       : "no inference worker is available");
		return;
	}
	if (s->stage == B_FORWARD) {
		nng_duration left = (nng_duration)(s->deadline - nng_clock());
		s->stage = B_WAIT;
		nng_aio_set_timeout(s->req_aio, left > 0 ? left : 1);
		nng_ctx_recv(s->req_ctx, s->req_aio);
		return;
	}
	backend_mark_ok(s->br->backend);
	count_reply(s, nng_aio_get_msg(s->req_aio));
	send_reply(s, nng_aio_get_msg(s->req_aio));
}

int broker_open(const struct broker_opts *o, struct backend *b, struct admit *admit,
		struct broker **out, char *err)
{
	struct broker *br = calloc(1, sizeof *br);
	nng_listener l;
	int rv, rc;

	if (!br || !(br->slots = calloc(o->contexts, sizeof *br->slots))) {
		free(br);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	br->backend = b;
	br->admit = admit;
	br->cap = o->contexts;
	br->max_msg = o->max_msg;
	atomic_init(&br->closing, false);
	atomic_init(&br->draining, false);
	if ((rv = nng_rep0_open(&br->sock)) != 0) {
		free(br->slots);
		free(br);
		return err_set(err, ERR_INTERNAL, "nng_rep0_open: %s", nng_strerror(rv));
	}
	nng_socket_set_size(br->sock, NNG_OPT_RECVMAXSZ, broker_hard_cap(o->max_msg));
	for (size_t i = 0; i < br->cap; i++) {
		struct bslot *s = &br->slots[i];
		s->br = br;
		if ((rv = nng_ctx_open(&s->rep_ctx, br->sock)) != 0 ||
		    (rv = nng_ctx_open(&s->req_ctx, backend_socket(b))) != 0 ||
		    (rv = nng_aio_alloc(&s->rep_aio, on_caller_aio, s)) != 0 ||
		    (rv = nng_aio_alloc(&s->req_aio, on_worker_aio, s)) != 0) {
			rc = err_set(err, ERR_INTERNAL, "broker context: %s", nng_strerror(rv));
			goto fail;
		}
		br->n++;
	}
	if ((rv = nng_listener_create(&l, br->sock, o->url)) != 0 ||
	    (!strncmp(o->url, "ipc://", 6) &&
	     (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, BROKER_IPC_MODE)) != 0) ||
	    (rv = nng_listener_start(l, 0)) != 0) {
		rc = err_set(err, ERR_IO, "cannot listen on %s: %s", o->url, nng_strerror(rv));
		goto fail;
	}
	for (size_t i = 0; i < br->n; i++)
		start_recv(&br->slots[i]);
	*out = br;
	return 0;
fail:
	broker_close(br);
	return rc;
}

size_t broker_hard_cap(size_t max_msg)
{
	return max_msg > SIZE_MAX / 4 ? SIZE_MAX : max_msg * 4;
}

void broker_drain(struct broker *br)
{
	if (br)
		atomic_store(&br->draining, true);
}

int broker_close(struct broker *br)
{
	if (!br)
		return 0;
	atomic_store(&br->closing, true);
	if (nngclose_within(br->sock, NNGCLOSE_MS, "the api socket") != 0)
		return ERR_TIMEOUT;
	/* Slots past n may be half made when broker_open failed. */
	for (size_t i = 0; i < br->cap; i++) {
		struct bslot *s = &br->slots[i];
		if (s->rep_aio)
			nng_aio_stop(s->rep_aio);
		if (s->req_aio)
			nng_aio_stop(s->req_aio);
	}
	for (size_t i = 0; i < br->cap; i++) {
		struct bslot *s = &br->slots[i];
		if (s->rep_aio)
			nng_aio_free(s->rep_aio);
		if (s->req_aio)
			nng_aio_free(s->req_aio);
		if (nng_ctx_id(s->req_ctx) > 0)
			nng_ctx_close(s->req_ctx);
	}
	free(br->slots);
	free(br);
	return 0;
}
