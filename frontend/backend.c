/*
 * backend: the REQ socket and its calls (see backend.h). Each call is a
 * slot this file owns, on the loop thread; the liveness of the worker
 * connections (peer table, pings, silence) is liveness.c's, and
 * backend_int.h says who owns what in struct backend.
 */
#include "backend_int.h"
#include "err.h"
#include "log.h"
#include "nngclose.h"
#include "tls.h"

#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum stage { STAGE_SEND, STAGE_RECV };

/* One in-flight call. Loop thread: everything while the slot is free or
 * being set up. nng thread: stage/rv/reply between submission and posting
 * the message; the queue hand-off orders the two.
 *
 * A request is first offered on now_aio: no callback, timeout zero, so REQ
 * either hands it to a free connection or refuses it before nng_ctx_send
 * returns. Taken, the receive starts at once from the loop thread and the
 * call costs one completion on nng's task threads instead of two. Refused
 * (every connection is busy writing), it is queued on aio as before. (With
 * libnng 1.5.2 a receive must not be started while a send is still queued:
 * cancelling that receive frees the request under the pending send.) */
struct slot {
	h2o_multithread_message_t msg; /* first: the queue hands us this */
	struct backend *b;
	nng_ctx ctx;
	nng_aio *aio;
	nng_aio *now_aio;
	enum stage stage;
	int rv;
	nng_msg *reply;
	nng_time deadline;
	backend_done_cb cb;
	void *arg;
	struct slot *next_free;
};

static int map_nng(int rv)
{
	switch (rv) {
	case 0: return 0;
	case NNG_ETIMEDOUT: return ERR_TIMEOUT;
	default: return ERR_UNAVAILABLE;
	}
}

/* nng thread: advance one call; post it to the loop when finished. */
static void slot_cb(void *arg)
{
	struct slot *s = arg;
	int rv = nng_aio_result(s->aio);

	if (s->stage == STAGE_SEND && rv == 0) {
		nng_duration left = (nng_duration)(s->deadline - nng_clock());
		s->stage = STAGE_RECV;
		nng_aio_set_timeout(s->aio, left > 0 ? left : 1);
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (s->stage == STAGE_SEND) {
		nng_msg_free(nng_aio_get_msg(s->aio));
		nng_aio_set_msg(s->aio, NULL);
	} else if (rv == 0) {
		s->reply = nng_aio_get_msg(s->aio);
		liveness_mark_pipe(s->b, nng_msg_get_pipe(s->reply));
	}
	s->rv = rv;
	h2o_multithread_send_message(&s->b->receiver, &s->msg);
}

/* Loop thread: deliver finished calls. */
static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	struct backend *b = H2O_STRUCT_FROM_MEMBER(struct backend, receiver, receiver);

	while (!h2o_linklist_is_empty(messages)) {
		struct slot *s = H2O_STRUCT_FROM_MEMBER(struct slot, msg.link, messages->next);
		int rc = map_nng(s->rv);

		h2o_linklist_unlink(&s->msg.link);
		if (rc == 0)
			backend_mark_ok(b);
		s->cb(s->arg, rc, s->reply ? nng_msg_body(s->reply) : NULL,
		      s->reply ? nng_msg_len(s->reply) : 0);
		if (s->reply)
			nng_msg_free(s->reply);
		s->reply = NULL;
		s->cb = NULL;
		s->next_free = b->free_slots;
		b->free_slots = s;
		b->inflight--;
	}
}

static struct slot *slot_new(struct backend *b)
{
	struct slot *s, **grown;

	if (b->nslots >= b->max_inflight)
		return NULL;
	grown = realloc(b->slots, (b->nslots + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	b->slots = grown;
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->b = b;
	if (nng_ctx_open(&s->ctx, b->sock) != 0) {
		free(s);
		return NULL;
	}
	if (nng_aio_alloc(&s->aio, slot_cb, s) != 0) {
		nng_ctx_close(s->ctx);
		free(s);
		return NULL;
	}
	if (nng_aio_alloc(&s->now_aio, NULL, NULL) != 0) {
		nng_aio_free(s->aio);
		nng_ctx_close(s->ctx);
		free(s);
		return NULL;
	}
	nng_aio_set_timeout(s->now_aio, NNG_DURATION_ZERO);
	b->slots[b->nslots++] = s;
	return s;
}

int backend_call(struct backend *b, const uint8_t *msg, size_t len, backend_done_cb cb, void *arg)
{
	nng_msg *m;
	int rc;

	if (nng_msg_alloc(&m, len) != 0)
		return ERR_NOMEM;
	memcpy(nng_msg_body(m), msg, len);
	if ((rc = backend_send(b, m, cb, arg)) != 0)
		nng_msg_free(m);
	return rc;
}

int backend_send(struct backend *b, nng_msg *m, backend_done_cb cb, void *arg)
{
	struct slot *s;

	if (atomic_load(&b->closing) || backend_available(b) != BACKEND_READY)
		return ERR_UNAVAILABLE;
	if (b->inflight >= b->max_inflight)
		return ERR_UNAVAILABLE;
	s = b->free_slots;
	if (s)
		b->free_slots = s->next_free;
	else if (!(s = slot_new(b)))
		return b->nslots >= b->max_inflight ? ERR_UNAVAILABLE : ERR_NOMEM;
	s->cb = cb;
	s->arg = arg;
	s->rv = 0;
	s->reply = NULL;
	b->inflight++;
	nng_aio_set_msg(s->now_aio, m);
	nng_ctx_send(s->ctx, s->now_aio); /* finished on return: no callback, no wait */
	if (nng_aio_result(s->now_aio) == 0) {
		s->stage = STAGE_RECV;
		nng_aio_set_timeout(s->aio, b->timeout_ms);
		nng_ctx_recv(s->ctx, s->aio);
		return 0;
	}
	nng_aio_set_msg(s->now_aio, NULL); /* refused: still ours, queue it */
	s->stage = STAGE_SEND;
	s->deadline = nng_clock() + (nng_time)b->timeout_ms;
	nng_aio_set_msg(s->aio, m);
	nng_aio_set_timeout(s->aio, b->timeout_ms);
	nng_ctx_send(s->ctx, s->aio);
	return 0;
}

/* Listen with the socket file at 0600: only our own user may dial in. */
static int listen_on(struct backend *b, const char *url, char *err)
{
	int rv, rc;

	if ((rc = tls_listen(b->sock, url, &b->tls, b->trusted, &b->listener, err)) != 0)
		return rc;
	b->tls_watch = (struct tls_watch){.id = (uint32_t)nng_listener_id(b->listener)};
	if (strncmp(url, "ipc://", 6) == 0 &&
	    (rv = nng_listener_set_int(b->listener, NNG_OPT_IPC_PERMISSIONS, 0600)) != 0)
		return err_set(err, ERR_IO, "cannot make %s private: %s", url, nng_strerror(rv));
	if ((rv = nng_listener_start(b->listener, 0)) != 0)
		return err_set(err, ERR_IO, "cannot listen on %s: %s", url, nng_strerror(rv));
	return 0;
}

int backend_open(const struct backend_opts *opts, h2o_loop_t *loop, struct backend **out, char *err)
{
	struct backend *b = calloc(1, sizeof *b);
	int rv, rc;

	if (!b)
		return err_set(err, ERR_NOMEM, "out of memory");
	b->timeout_ms = opts->timeout_ms;
	b->max_inflight = opts->max_inflight;
	b->uid = (uint64_t)geteuid();
	b->tls = (struct tls_files){opts->tls_cert, opts->tls_key, opts->tls_ca};
	b->trusted = opts->trusted_network;
	b->silent_ms = (nng_duration)opts->silent_ms;
	atomic_init(&b->closing, false);
	if ((rc = liveness_init(b, err)) != 0) {
		free(b);
		return rc;
	}
	if ((rv = nng_req0_open(&b->sock)) != 0) {
		liveness_fini(b);
		free(b);
		return err_set(err, ERR_INTERNAL, "nng_req0_open: %s", nng_strerror(rv));
	}
	/* Above every call's own deadline, so the timer never fires for a live
	 * request (a resend is a second decode); a silent worker's pipe is
	 * closed after silent_ms instead, and nng resends at once on close. */
	if (opts->resend_ms < opts->timeout_ms)
		log_warn("--resend-ms %d is below --timeout-ms %d: a slow request may be sent "
			 "to a second worker and decoded twice",
			 opts->resend_ms, opts->timeout_ms);
	nng_socket_set_ms(b->sock, NNG_OPT_REQ_RESENDTIME, opts->resend_ms);
	liveness_watch(b);
	if ((rc = listen_on(b, opts->url, err)) != 0 || (rc = liveness_open(b, err)) != 0)
		goto fail_sock;
	b->loop = loop;
	b->queue = h2o_multithread_create_queue(loop);
	h2o_multithread_register_receiver(b->queue, &b->receiver, on_messages);
	liveness_start(b);
	*out = b;
	return 0;
fail_sock:
	nng_close(b->sock);
	liveness_fini(b);
	free(b);
	return rc;
}

size_t backend_inflight(const struct backend *b)
{
	return b->inflight;
}

nng_socket backend_socket(const struct backend *b)
{
	return b->sock;
}

int backend_timeout_ms(const struct backend *b)
{
	return b->timeout_ms;
}

int backend_close(struct backend *b)
{
	if (!b)
		return 0;
	atomic_store(&b->closing, true);
	liveness_stop(b);
	if (nngclose_within(b->sock, NNGCLOSE_MS, "the workers' socket") != 0)
		return ERR_TIMEOUT;
	for (size_t i = 0; i < b->nslots; i++)
		nng_aio_stop(b->slots[i]->aio);
	/* Every pending call has posted its slot: deliver them now. */
	for (int i = 0; b->inflight > 0 && i < 100; i++)
		h2o_evloop_run(b->loop, 10);
	if (b->inflight == 0) {
		h2o_multithread_unregister_receiver(b->queue, &b->receiver);
		h2o_multithread_destroy_queue(b->queue);
	}
	for (size_t i = 0; i < b->nslots; i++) {
		nng_aio_free(b->slots[i]->now_aio);
		nng_aio_free(b->slots[i]->aio);
		free(b->slots[i]);
	}
	free(b->slots);
	liveness_fini(b);
	free(b);
	return 0;
}
