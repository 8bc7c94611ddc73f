/*
 * backend: the REQ socket, its calls, and the liveness of each worker
 * connection (see backend.h).
 *
 * Locking: b->mu guards the peer table and the pingers' stages. nng
 * callbacks take it briefly and never call into nng while holding it,
 * except nng_ctx_send on a pinger and nng_sleep_aio (which only queue).
 */
#include "backend.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "modelver.h"
#include "nngclose.h"
#include "proto.h"
#include "tls.h"

#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One ping in flight at a time: libnng 1.5.2 can wedge a worker's socket for
 * good (it never redials) when it resumes from a stop with many messages
 * queued on a connection we closed, so a stopped worker must not collect a
 * pile of pings. Pings go every PING_ROUND_MS / workers (REQ hands each to
 * the next pipe in turn), so every live pipe is asked about every
 * PING_ROUND_MS, plus PING_TIMEOUT_MS when a stopped pipe holds the ping. */
#define PING_ROUND_MS 200
#define PING_TIMEOUT_MS 1000
#define NPINGERS 1
#define REFUSED_LOG_MS 10000

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

/* One connected worker pipe (added on ADD_POST, removed on REM_POST). */
struct peer {
	nng_pipe pipe;
	nng_time last; /* last reply from it, or when it joined */
	bool closing;  /* we closed it for silence */
};

/* One ping context: idle -> send -> recv -> idle. */
struct pinger {
	struct backend *b;
	nng_ctx ctx;
	nng_aio *aio;
	enum { PING_IDLE, PING_SEND, PING_RECV } stage;
	nng_time sent;
};

struct backend {
	nng_socket sock;
	nng_listener listener;
	struct tls_files tls;	    /* for a tls+tcp:// url */
	bool trusted;		    /* plain tcp:// allowed off loopback */
	struct tls_watch tls_watch; /* timer thread only */
	h2o_loop_t *loop;
	h2o_multithread_queue_t *queue;
	h2o_multithread_receiver_t receiver;
	int timeout_ms;
	size_t max_inflight;
	uint64_t uid; /* only pipes from this uid may serve (ipc) */
	nng_duration silent_ms;
	/* loop thread only */
	struct slot **slots; /* every slot ever made, for close */
	size_t nslots;
	struct slot *free_slots;
	size_t inflight;
	/* any thread */
	atomic_long workers; /* == npeers */
	_Atomic nng_time last_ok;
	atomic_bool closing;
	atomic_long refused; /* pipes of another uid */
	_Atomic nng_time refused_logged;
	/* under mu */
	pthread_mutex_t mu;
	struct peer *peers;
	size_t npeers, cap;
	struct pinger pingers[NPINGERS];
	int npingers; /* allocated */
	nng_aio *timer;
	uint8_t *ping; /* {v:1, ping:true}, packed once */
	size_t ping_len;
};

static int map_nng(int rv)
{
	switch (rv) {
	case 0: return 0;
	case NNG_ETIMEDOUT: return ERR_TIMEOUT;
	default: return ERR_UNAVAILABLE;
	}
}

/* ---- the peer table --------------------------------------------------- */

/* With b->mu held. */
static struct peer *find_peer(struct backend *b, nng_pipe p)
{
	for (size_t i = 0; i < b->npeers; i++)
		if (nng_pipe_id(b->peers[i].pipe) == nng_pipe_id(p))
			return &b->peers[i];
	return NULL;
}

/* Any thread: a reply came from pipe p, so that worker is alive. */
static void mark_pipe(struct backend *b, nng_pipe p)
{
	struct peer *peer;

	pthread_mutex_lock(&b->mu);
	if ((peer = find_peer(b, p)) != NULL)
		peer->last = nng_clock();
	pthread_mutex_unlock(&b->mu);
}

/* ADD_PRE: refuse ipc peers of another uid (the socket file is 0600, but
 * root and CAP_DAC_OVERRIDE bypass that). tcp peers have no uid; on other
 * hosts mutual TLS is the gate (DESIGN.md). */
static bool peer_allowed(struct backend *b, nng_pipe p)
{
	uint64_t uid;

	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0 || uid == b->uid)
		return true;
	/* An impostor redials every few ms: one warning per 10 s. */
	long n = atomic_fetch_add(&b->refused, 1) + 1;
	nng_time now = nng_clock(), last = atomic_load(&b->refused_logged);
	if ((last == 0 || now - last >= REFUSED_LOG_MS) &&
	    atomic_compare_exchange_strong(&b->refused_logged, &last, now))
		log_warn("refused a worker connection from uid %llu: only uid %llu may serve "
			 "(%ld refused so far)",
			 (unsigned long long)uid, (unsigned long long)b->uid, n);
	return false;
}

/* nng thread. Counted per pipe id: a pipe refused at ADD_PRE, or one whose
 * REM_POST comes twice, never moves the count. */
static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct backend *b = arg;
	struct peer *peer;
	long n;

	if (ev == NNG_PIPE_EV_ADD_PRE) {
		if (!peer_allowed(b, p))
			nng_pipe_close(p);
		return;
	}
	pthread_mutex_lock(&b->mu);
	peer = find_peer(b, p);
	if (ev == NNG_PIPE_EV_ADD_POST && !peer) {
		if (b->npeers == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 8;
			struct peer *grown = realloc(b->peers, cap * sizeof *grown);
			if (!grown) {
				pthread_mutex_unlock(&b->mu);
				log_error("out of memory: refusing a worker connection");
				nng_pipe_close(p);
				return;
			}
			b->peers = grown;
			b->cap = cap;
		}
		b->peers[b->npeers++] = (struct peer){.pipe = p, .last = nng_clock()};
	} else if (ev == NNG_PIPE_EV_REM_POST && peer) {
		*peer = b->peers[--b->npeers];
	}
	n = (long)b->npeers;
	atomic_store(&b->workers, n);
	pthread_mutex_unlock(&b->mu);
	log_debug("worker pipe %u %s, %ld connected", nng_pipe_id(p),
		  ev == NNG_PIPE_EV_ADD_POST ? "joined" : "left", n);
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
		mark_pipe(s->b, nng_msg_get_pipe(s->reply));
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

/* ---- liveness: pings per connection, silent pipes closed ---------------- */

/* nng thread: a ping's send or receive finished. */
static void ping_cb(void *arg)
{
	struct pinger *p = arg;
	struct backend *b = p->b;
	int rv = nng_aio_result(p->aio);

	if (p->stage == PING_SEND) {
		if (rv == 0 && !atomic_load(&b->closing)) {
			p->stage = PING_RECV;
			nng_ctx_recv(p->ctx, p->aio);
			return;
		}
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(p->aio));
			nng_aio_set_msg(p->aio, NULL);
		}
	} else if (rv == 0) {
		nng_msg *m = nng_aio_get_msg(p->aio);
		struct proto_reply rep;
		nng_aio_set_msg(p->aio, NULL);
		if (proto_parse_reply(nng_msg_body(m), nng_msg_len(m), &rep, NULL) == 0 && rep.ok &&
		    rep.pong) {
			mark_pipe(b, nng_msg_get_pipe(m));
			backend_mark_ok(b);
			modelver_seen(rep.model, clock_ms());
			log_debug("pong from worker %u (pipe %u) in %llu ms", rep.worker,
				  nng_pipe_id(nng_msg_get_pipe(m)),
				  (unsigned long long)(nng_clock() - p->sent));
		}
		nng_msg_free(m);
	}
	pthread_mutex_lock(&b->mu);
	p->stage = PING_IDLE;
	pthread_mutex_unlock(&b->mu);
}

/* nng thread: start a ping on an idle pinger (stage already PING_SEND). */
static void ping_send(struct backend *b, struct pinger *p)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, b->ping_len) != 0) {
		pthread_mutex_lock(&b->mu);
		p->stage = PING_IDLE;
		pthread_mutex_unlock(&b->mu);
		return;
	}
	memcpy(nng_msg_body(m), b->ping, b->ping_len);
	p->sent = nng_clock();
	nng_aio_set_msg(p->aio, m);
	nng_aio_set_timeout(p->aio, PING_TIMEOUT_MS);
	nng_ctx_send(p->ctx, p->aio);
}

/* nng thread, every PING_ROUND_MS / workers: close the pipe that sent
 * nothing for silent_ms the longest (nng's REQ then resends its requests
 * to other workers at once), then send a ping unless one is still in
 * flight. */
static void timer_cb(void *arg)
{
	struct backend *b = arg;
	nng_pipe dead = NNG_PIPE_INITIALIZER;
	nng_time silent = 0;
	struct pinger *go[NPINGERS];
	int ngo = 0;

	if (atomic_load(&b->closing) || nng_aio_result(b->timer) == NNG_ECANCELED)
		return;
	if (b->tls.cert) /* a refused worker never becomes a pipe: say so */
		tls_watch_tick(&b->tls_watch, nng_clock(), "worker");
	pthread_mutex_lock(&b->mu);
	nng_time now = nng_clock();
	/* Only the longest-silent pipe goes in one round. A stopped worker
	 * soon holds every request in flight (and the one ping), so a healthy
	 * one can fall silent merely for lack of work; once the stopped one's
	 * requests are resent to it, it answers. The others get a fresh
	 * silent_ms; a second stuck worker is closed one round later. */
	struct peer *worst = NULL;
	for (size_t i = 0; i < b->npeers; i++) {
		struct peer *peer = &b->peers[i];
		if (!peer->closing && now - peer->last >= (nng_time)b->silent_ms &&
		    (!worst || peer->last < worst->last))
			worst = peer;
	}
	if (worst) {
		for (size_t i = 0; i < b->npeers; i++) {
			struct peer *peer = &b->peers[i];
			if (peer != worst && !peer->closing &&
			    now - peer->last >= (nng_time)b->silent_ms)
				peer->last = now;
		}
		worst->closing = true;
		silent = now - worst->last;
		dead = worst->pipe;
	}
	size_t want = b->npeers > 0 ? NPINGERS : 0;
	nng_duration every =
	    b->npeers > 0 ? PING_ROUND_MS / (nng_duration)b->npeers : PING_ROUND_MS;
	for (int i = 0; i < b->npingers && (size_t)ngo < want; i++)
		if (b->pingers[i].stage == PING_IDLE) {
			b->pingers[i].stage = PING_SEND;
			go[ngo++] = &b->pingers[i];
		}
	pthread_mutex_unlock(&b->mu);
	if (nng_pipe_id(dead) > 0) {
		log_warn("worker pipe %u silent for %llu ms: closing it; its requests go to "
			 "another worker",
			 nng_pipe_id(dead), (unsigned long long)silent);
		nng_pipe_close(dead);
	}
	for (int i = 0; i < ngo; i++)
		ping_send(b, go[i]);
	nng_sleep_aio(every > 10 ? every : 10, b->timer);
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

static int open_pingers(struct backend *b, char *err)
{
	struct proto_request req = {.ping = true};
	int rv;

	if (proto_pack_request(&req, &b->ping, &b->ping_len) != 0)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((rv = nng_aio_alloc(&b->timer, timer_cb, b)) != 0)
		return err_set(err, ERR_INTERNAL, "nng ping timer: %s", nng_strerror(rv));
	for (int i = 0; i < NPINGERS; i++) {
		struct pinger *p = &b->pingers[i];
		p->b = b;
		if ((rv = nng_ctx_open(&p->ctx, b->sock)) != 0 ||
		    (rv = nng_aio_alloc(&p->aio, ping_cb, p)) != 0)
			return err_set(err, ERR_INTERNAL, "nng ping context: %s", nng_strerror(rv));
		b->npingers++;
	}
	return 0;
}

static void free_pingers(struct backend *b)
{
	free(b->ping);
	if (b->timer)
		nng_aio_free(b->timer);
	for (int i = 0; i < NPINGERS; i++)
		if (b->pingers[i].aio)
			nng_aio_free(b->pingers[i].aio);
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
	atomic_init(&b->workers, 0);
	atomic_init(&b->last_ok, 0);
	atomic_init(&b->closing, false);
	atomic_init(&b->refused, 0);
	atomic_init(&b->refused_logged, 0);
	if (pthread_mutex_init(&b->mu, NULL) != 0) {
		free(b);
		return err_set(err, ERR_INTERNAL, "pthread_mutex_init failed");
	}
	if ((rv = nng_req0_open(&b->sock)) != 0) {
		pthread_mutex_destroy(&b->mu);
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
	nng_pipe_notify(b->sock, NNG_PIPE_EV_ADD_PRE, on_pipe, b);
	nng_pipe_notify(b->sock, NNG_PIPE_EV_ADD_POST, on_pipe, b);
	nng_pipe_notify(b->sock, NNG_PIPE_EV_REM_POST, on_pipe, b);
	if ((rc = listen_on(b, opts->url, err)) != 0 || (rc = open_pingers(b, err)) != 0)
		goto fail_sock;
	b->loop = loop;
	b->queue = h2o_multithread_create_queue(loop);
	h2o_multithread_register_receiver(b->queue, &b->receiver, on_messages);
	nng_sleep_aio(0, b->timer);
	*out = b;
	return 0;
fail_sock:
	nng_close(b->sock);
	free_pingers(b);
	pthread_mutex_destroy(&b->mu);
	free(b->peers);
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
	if (last != 0 && nng_clock() - last >= 3 * (nng_time)b->silent_ms)
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
	nng_aio_stop(b->timer);
	for (int i = 0; i < b->npingers; i++)
		nng_aio_stop(b->pingers[i].aio);
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
	free_pingers(b);
	pthread_mutex_destroy(&b->mu);
	free(b->peers);
	free(b);
	return 0;
}
