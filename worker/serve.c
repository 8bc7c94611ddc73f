/*
 * serve: REP contexts on nng's threads feed one queue; one compute thread
 * drains it in batches. See serve.h for the contract.
 *
 * Locking: s->mu guards the queue, every slot's state, and the stop flags.
 * nng calls that start an operation on a slot (nng_ctx_recv, nng_ctx_send,
 * nng_aio_cancel) are made with s->mu held, so serve_stop can never miss a
 * receive that is being re-armed at the same moment; nng runs completion
 * callbacks on its own task threads, never inline, so this cannot deadlock.
 */
#include "serve.h"
#include "err.h"
#include "log.h"
#include "nngclose.h"
#include "proto.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum slot_state { SLOT_IDLE, SLOT_RECV, SLOT_QUEUED, SLOT_SEND };

/* One REP context and the request it currently holds. */
struct slot {
	struct server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	nng_msg *msg; /* the request while queued or computing */
	enum slot_state state;
	struct slot *next; /* queue link */
};

/* What the compute thread keeps per request of the batch it runs. */
struct job {
	struct slot *slot;
	struct proto_reply reply;
	int row; /* row in the pixel batch, or -1 when answered without the model */
	bool probs;
	bool explain; /* send the normalised row back as "input" */
};

struct server {
	struct serve_config cfg;
	struct model *model;
	nng_socket sock;
	struct slot *slots;
	int nslots;

	pthread_mutex_t mu;
	pthread_cond_t work; /* queue not empty, or quit */
	pthread_cond_t idle; /* a slot went idle */
	struct slot *head, *tail;
	int active; /* slots not idle */
	bool stopping, quit;
	struct serve_stats stats;

	pthread_t thread;
	bool thread_started;
	/* Compute thread only. */
	float *pixels, *logits;
	struct job *jobs;
	uint32_t pid;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void deadline_in(struct timespec *ts, uint64_t usec)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	uint64_t ns = (uint64_t)ts->tv_nsec + usec % 1000000u * 1000u;
	ts->tv_sec += (time_t)(usec / 1000000u + ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

/* ---- slots (nng threads) ------------------------------------------------ */

/* With s->mu held: receive again, or go idle when stopping. */
static void rearm_locked(struct server *s, struct slot *sl, bool closed)
{
	if (s->stopping || closed) {
		sl->state = SLOT_IDLE;
		s->active--;
		pthread_cond_broadcast(&s->idle);
		return;
	}
	sl->state = SLOT_RECV;
	nng_ctx_recv(sl->ctx, sl->aio);
}

static void slot_cb(void *arg)
{
	struct slot *sl = arg;
	struct server *s = sl->srv;
	int rv = nng_aio_result(sl->aio);

	pthread_mutex_lock(&s->mu);
	if (sl->state == SLOT_RECV && rv == 0) {
		sl->msg = nng_aio_get_msg(sl->aio);
		sl->state = SLOT_QUEUED;
		sl->next = NULL;
		if (s->tail)
			s->tail->next = sl;
		else
			s->head = sl;
		s->tail = sl;
		pthread_cond_signal(&s->work);
	} else {
		if (sl->state == SLOT_SEND && rv != 0)
			nng_msg_free(nng_aio_get_msg(sl->aio)); /* not sent: still ours */
		if (rv != 0 && rv != NNG_ECANCELED && rv != NNG_ECLOSED)
			log_warn("receive/send failed: %s", nng_strerror(rv));
		rearm_locked(s, sl, rv == NNG_ECLOSED);
	}
	pthread_mutex_unlock(&s->mu);
}

/* ---- compute thread ----------------------------------------------------- */

/* Wait for work (or the next heartbeat) and move up to max_batch queued
 * slots into s->jobs. Returns the count, or -1 when told to quit. */
static int take_batch(struct server *s, uint64_t *next_beat)
{
	int n = 0;

	pthread_mutex_lock(&s->mu);
	while (!s->head && !s->quit) {
		if (!s->cfg.heartbeat) {
			pthread_cond_wait(&s->work, &s->mu);
			continue;
		}
		uint64_t now = now_us();
		if (now >= *next_beat)
			break;
		struct timespec ts;
		deadline_in(&ts, *next_beat - now);
		pthread_cond_timedwait(&s->work, &s->mu, &ts);
	}
	if (s->quit) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	while (s->head && n < s->cfg.max_batch) {
		struct slot *sl = s->head;
		s->head = sl->next;
		if (!s->head)
			s->tail = NULL;
		s->jobs[n++].slot = sl;
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Parse and normalise one request into its pixel row, or fill its reply. */
static void prepare(struct server *s, struct job *j, int *rows)
{
	struct proto_request req;
	char err[ERR_MAX] = "";
	nng_msg *msg = j->slot->msg;
	int rc;

	memset(&j->reply, 0, sizeof j->reply);
	j->row = -1;
	if (nng_msg_len(msg) > s->cfg.max_message) {
		proto_reply_error(&j->reply, ERR_TOO_LARGE, "");
		snprintf(j->reply.error, sizeof j->reply.error,
			 "request of %zu bytes is above this worker's limit of %zu (--max-message)",
			 nng_msg_len(msg), s->cfg.max_message);
		return;
	}
	rc = proto_parse_request(nng_msg_body(msg), nng_msg_len(msg), &req, err);
	if (rc) {
		proto_reply_error(&j->reply, rc, err);
		return;
	}
	if (req.ping) {
		j->reply.ok = true;
		j->reply.pong = true;
		return;
	}
	float *row = s->pixels + (size_t)*rows * MODEL_PIXELS;
	if (req.image)
		rc = img_to_mnist(req.image, req.image_len, &s->cfg.limits, row, err);
	else
		rc = img_gray_to_mnist(req.pixels, req.width, req.height, &s->cfg.limits, row, err);
	if (rc) {
		proto_reply_error(&j->reply, rc, err);
		return;
	}
	j->row = (*rows)++;
	j->probs = req.probs;
	j->explain = req.explain;
}

/* The model's input row as bytes 0-255, for a request with "explain". */
_Static_assert(PROTO_INPUT_BYTES == MODEL_PIXELS, "reply input is one model row");
static void explain_input(const float *row, struct proto_reply *rep)
{
	for (int i = 0; i < PROTO_INPUT_BYTES; i++) {
		float v = row[i] < 0.f ? 0.f : row[i] > 1.f ? 1.f : row[i];
		rep->input[i] = (uint8_t)(v * 255.f + 0.5f);
	}
	rep->has_input = true;
}

static void finish_prediction(struct server *s, struct job *j, int batch)
{
	float probs[MODEL_CLASSES];
	int digit = model_softmax(s->logits + (size_t)j->row * MODEL_CLASSES, probs);

	j->reply.ok = true;
	j->reply.digit = digit;
	j->reply.confidence = probs[digit];
	j->reply.has_probs = j->probs;
	memcpy(j->reply.probs, probs, sizeof probs);
	j->reply.batch = (uint32_t)batch;
	if (j->explain)
		explain_input(s->pixels + (size_t)j->row * MODEL_PIXELS, &j->reply);
}

/* Turn the request message into the reply and hand it to nng. */
static void send_reply(struct server *s, struct job *j)
{
	struct slot *sl = j->slot;
	nng_msg *msg = sl->msg;
	uint8_t *buf = NULL;
	size_t len = 0;

	sl->msg = NULL;
	j->reply.worker = s->pid;
	nng_msg_clear(msg);
	if (proto_pack_reply(&j->reply, &buf, &len) != 0 || nng_msg_append(msg, buf, len) != 0) {
		/* Out of memory: no reply; the caller's timeout or resend covers it. */
		log_error("cannot build a reply: out of memory");
		free(buf);
		nng_msg_free(msg);
		pthread_mutex_lock(&s->mu);
		rearm_locked(s, sl, false);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	free(buf);
	pthread_mutex_lock(&s->mu);
	s->stats.requests++;
	sl->state = SLOT_SEND;
	nng_aio_set_msg(sl->aio, msg);
	nng_ctx_send(sl->ctx, sl->aio);
	pthread_mutex_unlock(&s->mu);
}

static void run_batch(struct server *s, int n)
{
	int rows = 0;
	uint64_t t0 = now_us();

	for (int i = 0; i < n; i++)
		prepare(s, &s->jobs[i], &rows);
	if (rows > 0)
		model_forward(s->model, s->pixels, rows, s->logits);
	uint64_t dt = now_us() - t0;
	uint32_t infer_us = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)(dt ? dt : 1);
	for (int i = 0; i < n; i++) {
		struct job *j = &s->jobs[i];
		if (j->row >= 0) {
			finish_prediction(s, j, rows);
			j->reply.infer_us = infer_us;
		}
		send_reply(s, j);
	}
	pthread_mutex_lock(&s->mu);
	if (rows > 0)
		s->stats.batches++;
	if ((uint64_t)rows > s->stats.max_batch_seen)
		s->stats.max_batch_seen = (uint64_t)rows;
	pthread_mutex_unlock(&s->mu);
	log_debug("batch of %d requests, %d images, %u us", n, rows, infer_us);
}

static void *compute_main(void *arg)
{
	struct server *s = arg;
	uint64_t next_beat = now_us();

	for (;;) {
		if (s->cfg.heartbeat && now_us() >= next_beat) {
			s->cfg.heartbeat(s->cfg.heartbeat_arg);
			next_beat = now_us() + s->cfg.heartbeat_us;
		}
		int n = take_batch(s, &next_beat);
		if (n < 0)
			break;
		if (n > 0)
			run_batch(s, n);
	}
	return NULL;
}

/* ---- start and stop ----------------------------------------------------- */

/* nng drops the connection of a peer that sends more than NNG_OPT_RECVMAXSZ,
 * and the frontend's REQ socket would resend the same request to the next
 * worker, and the next: a loop until its timeout. So nng's limit is only a
 * memory guard well above anything a frontend forwards (uploads are capped
 * at 1 GiB there), and a request above max_message gets a too_large reply. */
static size_t hard_limit(const struct serve_config *cfg)
{
	size_t guard = ((size_t)1 << 30) + ((size_t)1 << 20);
	return cfg->max_message > guard ? cfg->max_message + ((size_t)1 << 20) : guard;
}

/* nng thread: tell operators when the link to the frontend comes and goes. */
static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct server *s = arg;
	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		log_info("connected to %s", s->cfg.url);
	else if (ev == NNG_PIPE_EV_REM_POST)
		log_info("disconnected from %s; redialing", s->cfg.url);
}

static int open_socket(struct server *s, char *err)
{
	int rv = nng_rep0_open(&s->sock);
	if (rv)
		return err_set(err, ERR_IO, "cannot open REP socket: %s", nng_strerror(rv));
	/* Rejoin a restarted frontend quickly: retry from 20 ms, back off to
	 * 300 ms at most, so a worker is back well within a second. */
	if ((rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 20)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 300)) != 0 ||
	    (rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, hard_limit(&s->cfg))) != 0)
		return err_set(err, ERR_IO, "cannot set socket options: %s", nng_strerror(rv));
	nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, pipe_event, s);
	nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipe_event, s);
	return 0;
}

static int open_slots(struct server *s, char *err)
{
	s->slots = calloc((size_t)s->cfg.contexts, sizeof *s->slots);
	if (!s->slots)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (int i = 0; i < s->cfg.contexts; i++) {
		struct slot *sl = &s->slots[i];
		int rv;
		sl->srv = s;
		if ((rv = nng_ctx_open(&sl->ctx, s->sock)) != 0 ||
		    (rv = nng_aio_alloc(&sl->aio, slot_cb, sl)) != 0)
			return err_set(err, ERR_IO, "cannot open REP context: %s",
				       nng_strerror(rv));
		s->nslots++;
	}
	return 0;
}

static int alloc_scratch(struct server *s, char *err)
{
	size_t b = (size_t)s->cfg.max_batch;
	s->pixels = calloc(b * MODEL_PIXELS, sizeof *s->pixels);
	s->logits = calloc(b * MODEL_CLASSES, sizeof *s->logits);
	s->jobs = calloc(b, sizeof *s->jobs);
	if (!s->pixels || !s->logits || !s->jobs)
		return err_set(err, ERR_NOMEM, "out of memory for a batch of %zu", b);
	return 0;
}

/* Start every context receiving, then dial. */
static int go(struct server *s, char *err)
{
	int rv;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nslots; i++) {
		s->slots[i].state = SLOT_RECV;
		s->active++;
		nng_ctx_recv(s->slots[i].ctx, s->slots[i].aio);
	}
	pthread_mutex_unlock(&s->mu);
	/* NONBLOCK: no listener yet is fine, the dialer keeps retrying. */
	rv = nng_dial(s->sock, s->cfg.url, NULL, NNG_FLAG_NONBLOCK);
	if (rv)
		return err_set(err, ERR_INVALID, "cannot dial %s: %s", s->cfg.url,
			       nng_strerror(rv));
	return 0;
}

/* Returns false when libnng could not close the socket: then everything
 * nng may still touch stays allocated (nngclose.h). */
static bool destroy(struct server *s)
{
	if (!s)
		return true;
	/* The compute thread finishes its batch first: it still sends on the
	 * slots' aios, which must outlive it. */
	if (s->thread_started) {
		pthread_mutex_lock(&s->mu);
		s->quit = true;
		pthread_cond_broadcast(&s->work);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	/* Fails every pending operation with NNG_ECLOSED. */
	if (nngclose_within(s->sock, NNGCLOSE_MS, "the socket") != 0)
		return false;
	for (int i = 0; i < s->nslots; i++)
		nng_aio_free(s->slots[i].aio); /* waits for a running callback */
	for (int i = 0; i < s->nslots; i++)
		if (s->slots[i].msg)
			nng_msg_free(s->slots[i].msg);
	free(s->slots);
	free(s->pixels);
	free(s->logits);
	free(s->jobs);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return true;
}

static int init_sync(struct server *s, char *err)
{
	pthread_condattr_t ca;
	if (pthread_mutex_init(&s->mu, NULL))
		return err_set(err, ERR_INTERNAL, "pthread_mutex_init failed");
	if (pthread_condattr_init(&ca))
		return err_set(err, ERR_INTERNAL, "pthread_condattr_init failed");
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&s->work, &ca) || pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);
	return rc ? err_set(err, ERR_INTERNAL, "pthread_cond_init failed") : 0;
}

int serve_start(const struct serve_config *cfg, struct model *m, struct server **out, char *err)
{
	struct server *s;
	int rc;

	*out = NULL;
	if (cfg->max_batch < 1 || cfg->contexts < 1)
		return err_set(err, ERR_INVALID, "max batch and contexts must be at least 1");
	s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, ERR_NOMEM, "out of memory");
	s->cfg = *cfg;
	s->model = m;
	s->pid = (uint32_t)getpid();
	rc = init_sync(s, err);
	if (rc) {
		free(s);
		return rc;
	}
	if ((rc = alloc_scratch(s, err)) || (rc = open_socket(s, err)) || (rc = open_slots(s, err)))
		goto fail;
	if (pthread_create(&s->thread, NULL, compute_main, s)) {
		rc = err_set(err, ERR_INTERNAL, "cannot start the compute thread");
		goto fail;
	}
	s->thread_started = true;
	if ((rc = go(s, err)))
		goto fail;
	*out = s;
	return 0;
fail:
	destroy(s);
	return rc;
}

/* With s->mu held: cancel every receive still waiting for a request. */
static void cancel_receives_locked(struct server *s)
{
	for (int i = 0; i < s->nslots; i++)
		if (s->slots[i].state == SLOT_RECV)
			nng_aio_cancel(s->slots[i].aio);
}

int serve_stop(struct server *s, int timeout_ms, struct serve_stats *stats)
{
	struct timespec end;
	int rc = 0;

	deadline_in(&end, (uint64_t)timeout_ms * 1000u);
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	cancel_receives_locked(s);
	while (s->active > 0) {
		if (pthread_cond_timedwait(&s->idle, &s->mu, &end) == ETIMEDOUT) {
			rc = ERR_TIMEOUT;
			break;
		}
	}
	if (stats)
		*stats = s->stats;
	pthread_mutex_unlock(&s->mu);
	/* A reply handed to nng may still be in the socket's write path; give
	 * it a moment before closing the pipe under it. */
	struct timespec linger = {0, 100 * 1000 * 1000};
	nanosleep(&linger, NULL);
	if (!destroy(s) && stats)
		stats->socket_stuck = true;
	return rc;
}
