#include "backend.h"
#include "err.h"
#include "log.h"
#include "nngclose.h"
#include "proto.h"

#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PING_TIMEOUT_MS 1000
#define PING_HEALTHY_MS 1000
#define PING_UNKNOWN_MS 50
#define STALE_MS 3000

enum stage { STAGE_SEND, STAGE_RECV };

/* One in-flight call. Loop thread: everything while the slot is free or
 * being set up. nng thread: stage/rv/reply between submission and posting
 * the message; the queue hand-off orders the two. */
struct slot {
	h2o_multithread_message_t msg; /* first: the queue hands us this */
	struct backend *b;
	nng_ctx ctx;
	nng_aio *aio;
	enum stage stage;
	int rv;
	nng_msg *reply;
	nng_time deadline;
	backend_done_cb cb;
	void *arg;
	struct slot *next_free;
};

struct ping {
	nng_ctx ctx;
	nng_aio *aio;	/* send and receive */
	nng_aio *timer; /* sleeps between pings */
	enum { PING_SLEEP, PING_SEND, PING_RECV } stage;
};

struct backend {
	nng_socket sock;
	nng_listener listener;
	h2o_loop_t *loop;
	h2o_multithread_queue_t *queue;
	h2o_multithread_receiver_t receiver;
	int timeout_ms;
	size_t max_inflight;
	/* loop thread only */
	struct slot **slots; /* every slot ever made, for close */
	size_t nslots;
	struct slot *free_slots;
	size_t inflight;
	/* any thread */
	atomic_long workers;
	_Atomic nng_time last_ok;
	atomic_bool closing;
	struct ping ping;
};

static int map_nng(int rv)
{
	switch (rv) {
	case 0: return 0;
	case NNG_ETIMEDOUT: return ERR_TIMEOUT;
	default: return ERR_UNAVAILABLE;
	}
}

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct backend *b = arg;
	long n;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		n = atomic_fetch_add(&b->workers, 1) + 1;
	else
		n = atomic_fetch_sub(&b->workers, 1) - 1;
	log_debug("worker %s, %ld connected", ev == NNG_PIPE_EV_ADD_POST ? "joined" : "left", n);
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
	b->slots[b->nslots++] = s;
	return s;
}

int backend_call(struct backend *b, const uint8_t *msg, size_t len, backend_done_cb cb, void *arg)
{
	struct slot *s;
	nng_msg *m;

	if (atomic_load(&b->closing) || backend_available(b) != BACKEND_READY)
		return ERR_UNAVAILABLE;
	if (b->inflight >= b->max_inflight)
		return ERR_UNAVAILABLE;
	s = b->free_slots;
	if (s)
		b->free_slots = s->next_free;
	else if (!(s = slot_new(b)))
		return b->nslots >= b->max_inflight ? ERR_UNAVAILABLE : ERR_NOMEM;
	if (nng_msg_alloc(&m, len) != 0) {
		s->next_free = b->free_slots;
		b->free_slots = s;
		return ERR_NOMEM;
	}
	memcpy(nng_msg_body(m), msg, len);
	s->cb = cb;
	s->arg = arg;
	s->rv = 0;
	s->reply = NULL;
	s->stage = STAGE_SEND;
	s->deadline = nng_clock() + (nng_time)b->timeout_ms;
	b->inflight++;
	nng_aio_set_msg(s->aio, m);
	nng_aio_set_timeout(s->aio, b->timeout_ms);
	nng_ctx_send(s->ctx, s->aio);
	return 0;
}

/* nng thread: the ping loop, timer -> send -> recv -> timer. The timer has
 * an aio of its own: nng 1.5 keeps a sleep's "expiry is success" flag on
 * the aio, so a later receive timeout on the same aio would look like a
 * success without a message. */
static void ping_again(struct backend *b)
{
	b->ping.stage = PING_SLEEP;
	nng_sleep_aio(backend_healthy(b) ? PING_HEALTHY_MS : PING_UNKNOWN_MS, b->ping.timer);
}

static void ping_timer_cb(void *arg)
{
	struct backend *b = arg;
	struct proto_request req = {.ping = true};
	uint8_t *buf = NULL;
	size_t len;
	nng_msg *m;

	if (atomic_load(&b->closing) || nng_aio_result(b->ping.timer) == NNG_ECANCELED)
		return;
	if (backend_workers(b) <= 0 || proto_pack_request(&req, &buf, &len) != 0 ||
	    nng_msg_alloc(&m, len) != 0) {
		free(buf);
		ping_again(b);
		return;
	}
	memcpy(nng_msg_body(m), buf, len);
	free(buf);
	b->ping.stage = PING_SEND;
	nng_aio_set_msg(b->ping.aio, m);
	nng_aio_set_timeout(b->ping.aio, PING_TIMEOUT_MS);
	nng_ctx_send(b->ping.ctx, b->ping.aio);
}

static void ping_cb(void *arg)
{
	struct backend *b = arg;
	struct ping *p = &b->ping;
	int rv = nng_aio_result(p->aio);
	nng_msg *m = rv == 0 || p->stage == PING_SEND ? nng_aio_get_msg(p->aio) : NULL;

	if (p->stage == PING_SEND && rv == 0 && !atomic_load(&b->closing)) {
		p->stage = PING_RECV;
		nng_ctx_recv(p->ctx, p->aio);
		return;
	}
	if (m) {
		struct proto_reply rep;
		if (p->stage == PING_RECV &&
		    proto_parse_reply(nng_msg_body(m), nng_msg_len(m), &rep, NULL) == 0 && rep.ok &&
		    rep.pong)
			backend_mark_ok(b);
		nng_msg_free(m);
		nng_aio_set_msg(p->aio, NULL);
	}
	if (!atomic_load(&b->closing))
		ping_again(b);
}

int backend_open(const struct backend_opts *opts, h2o_loop_t *loop, struct backend **out, char *err)
{
	struct backend *b = calloc(1, sizeof *b);
	int rv, rc;

	if (!b)
		return err_set(err, ERR_NOMEM, "out of memory");
	b->timeout_ms = opts->timeout_ms;
	b->max_inflight = opts->max_inflight;
	atomic_init(&b->workers, 0);
	atomic_init(&b->last_ok, 0);
	atomic_init(&b->closing, false);
	if ((rv = nng_req0_open(&b->sock)) != 0) {
		free(b);
		return err_set(err, ERR_INTERNAL, "nng_req0_open: %s", nng_strerror(rv));
	}
	nng_socket_set_ms(b->sock, NNG_OPT_REQ_RESENDTIME, opts->resend_ms);
	nng_pipe_notify(b->sock, NNG_PIPE_EV_ADD_POST, on_pipe, b);
	nng_pipe_notify(b->sock, NNG_PIPE_EV_REM_POST, on_pipe, b);
	if ((rv = nng_listen(b->sock, opts->url, &b->listener, 0)) != 0) {
		rc = err_set(err, ERR_IO, "cannot listen on %s: %s", opts->url, nng_strerror(rv));
		goto fail_sock;
	}
	if ((rv = nng_ctx_open(&b->ping.ctx, b->sock)) != 0 ||
	    (rv = nng_aio_alloc(&b->ping.aio, ping_cb, b)) != 0 ||
	    (rv = nng_aio_alloc(&b->ping.timer, ping_timer_cb, b)) != 0) {
		rc = err_set(err, ERR_INTERNAL, "nng ping context: %s", nng_strerror(rv));
		goto fail_sock;
	}
	b->loop = loop;
	b->queue = h2o_multithread_create_queue(loop);
	h2o_multithread_register_receiver(b->queue, &b->receiver, on_messages);
	b->ping.stage = PING_SLEEP;
	nng_sleep_aio(0, b->ping.timer);
	*out = b;
	return 0;
fail_sock:
	if (b->ping.aio)
		nng_aio_free(b->ping.aio);
	if (b->ping.timer)
		nng_aio_free(b->ping.timer);
	nng_close(b->sock);
	free(b);
	return rc;
}

size_t backend_inflight(const struct backend *b)
{
	return b->inflight;
}

long backend_workers(const struct backend *b)
{
	return atomic_load(&((struct backend *)b)->workers);
}

void backend_mark_ok(struct backend *b)
{
	atomic_store(&b->last_ok, nng_clock());
}

int backend_healthy(const struct backend *b)
{
	/* Available, and not only on the benefit of the doubt. */
	return backend_available(b) == BACKEND_READY &&
	       atomic_load(&((struct backend *)b)->last_ok) != 0;
}

enum backend_state backend_available(const struct backend *b)
{
	struct backend *m = (struct backend *)b;
	nng_time last = atomic_load(&m->last_ok);

	if (backend_workers(b) <= 0)
		return BACKEND_NO_WORKER;
	/* Before the first answer a worker gets the benefit of the doubt. */
	if (last != 0 && nng_clock() - last >= STALE_MS)
		return BACKEND_SILENT;
	return BACKEND_READY;
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
	nng_aio_stop(b->ping.timer);
	nng_aio_stop(b->ping.aio);
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
		nng_aio_free(b->slots[i]->aio);
		free(b->slots[i]);
	}
	free(b->slots);
	nng_aio_free(b->ping.aio);
	nng_aio_free(b->ping.timer);
	free(b);
	return 0;
}
