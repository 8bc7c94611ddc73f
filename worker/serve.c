/*
 * serve: the nng side of a worker: REP contexts, intake and admission of
 * requests, replies, start and stop. The decode pool and the compute thread
 * are in work.c; the shared state and its locking rules in serve_int.h.
 * See serve.h for the contract.
 */
#include "cost.h"
#include "err.h"
#include "log.h"
#include "nngclose.h"
#include "reqid.h"
#include "serve_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void deadline_in(struct timespec *ts, uint64_t usec)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	uint64_t ns = (uint64_t)ts->tv_nsec + usec % 1000000u * 1000u;
	ts->tv_sec += (time_t)(usec / 1000000u + ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

/* ---- pipes: which connections are still open --------------------------- */

bool serve_pipe_open_locked(const struct server *s, nng_pipe p)
{
	uint32_t id = nng_pipe_id(p);
	int used = 0;

	if (id == 0 || id == (uint32_t)-1)
		return true;
	for (int i = 0; i < SERVE_MAX_PIPES; i++) {
		if (s->pipes[i] == id)
			return true;
		used += s->pipes[i] != 0;
	}
	return used == SERVE_MAX_PIPES; /* table full: cannot tell, assume open */
}

/* " at ADDR:PORT" for a tcp or tls connection (which frontend of several
 * behind one name), "" otherwise; buf holds PEER_MAX. */
#define PEER_MAX 64
static const char *peer_name(nng_pipe p, char *buf, size_t len)
{
	nng_sockaddr sa;
	char a[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0)
		return buf;
	if (sa.s_family == NNG_AF_INET && inet_ntop(AF_INET, &sa.s_in.sa_addr, a, sizeof a))
		snprintf(buf, len, " at %s:%u", a, ntohs(sa.s_in.sa_port));
	else if (sa.s_family == NNG_AF_INET6 && inet_ntop(AF_INET6, sa.s_in6.sa_addr, a, sizeof a))
		snprintf(buf, len, " at [%s]:%u", a, ntohs(sa.s_in6.sa_port));
	return buf;
}

/* nng thread: track open pipes (from ADD_PRE: a request may arrive before
 * ADD_POST runs); tell operators when the link comes and goes. */
static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct server *s = arg;
	uint32_t id = nng_pipe_id(p);
	bool add = ev == NNG_PIPE_EV_ADD_PRE;
	uint32_t want = add ? 0 : id, put = add ? id : 0;

	if (ev == NNG_PIPE_EV_ADD_POST) {
		char peer[PEER_MAX];
		log_info("connected to %s%s (connection %u)", s->cfg.url,
			 peer_name(p, peer, sizeof peer), id);
		return;
	}

	pthread_mutex_lock(&s->mu);
	int open = 0;
	for (int i = 0; i < SERVE_MAX_PIPES; i++)
		if (s->pipes[i] == want) {
			s->pipes[i] = put;
			s->pipe_dialer[i] = add ? (uint32_t)nng_dialer_id(nng_pipe_dialer(p)) : 0;
			s->pipe_rx_us[i] = beat_now_us();
			break;
		}
	for (int i = 0; i < SERVE_MAX_PIPES; i++)
		open += s->pipes[i] != 0;
	s->down_since_us = open ? 0 : s->down_since_us ? s->down_since_us : beat_now_us();
	pthread_mutex_unlock(&s->mu);
	if (!add)
		log_info("disconnected from %s (connection %u); redialing", s->cfg.url, id);
}

/* nng thread: a message came on pipe p. */
static void note_rx(struct server *s, nng_pipe p)
{
	uint32_t id = nng_pipe_id(p);

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < SERVE_MAX_PIPES; i++)
		if (s->pipes[i] == id && id != 0)
			s->pipe_rx_us[i] = beat_now_us();
	pthread_mutex_unlock(&s->mu);
}

uint64_t serve_dialer_quiet_ms(struct server *s, uint32_t dialer)
{
	uint64_t now = beat_now_us(), quiet = 0;
	bool any = false;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < SERVE_MAX_PIPES; i++) {
		if (!s->pipes[i] || s->pipe_dialer[i] != dialer)
			continue;
		uint64_t q = now > s->pipe_rx_us[i] ? (now - s->pipe_rx_us[i]) / 1000u : 0;
		quiet = !any || q < quiet ? q : quiet;
		any = true;
	}
	pthread_mutex_unlock(&s->mu);
	return any ? quiet : UINT64_MAX;
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

/* Debug: one line per answered request, with its id and trace context
 * (the request still points into its message). */
static void log_reply(const struct slot *sl)
{
	const struct proto_request *r = &sl->req;
	const struct proto_reply *p = &sl->reply;
	struct log_field f[3];
	size_t n = 0;

	if (!log_enabled(LOG_DEBUG) || r->ping)
		return;
	if (r->traceparent)
		f[n++] = LOG_STRN("traceparent", r->traceparent, r->traceparent_len);
	if (p->ok) {
		f[n++] = LOG_NUM("digit", p->digit);
		f[n++] = LOG_NUM("batch", p->batch);
		log_req(LOG_DEBUG, r->id, r->id_len, f, n, "reply ok");
	} else {
		log_req(LOG_DEBUG, r->id, r->id_len, f, n, "reply %s: %.*s", p->code,
			(int)sizeof p->error, p->error);
	}
}

/* proto_write_fn into an nng message. */
static int msg_append(void *msg, const char *buf, size_t len)
{
	return nng_msg_append(msg, buf, len) == 0 ? 0 : -1;
}

void serve_reply_locked(struct server *s, struct slot *sl)
{
	nng_msg *msg = sl->msg;

	log_reply(sl);
	sl->msg = NULL;
	if (!serve_pipe_open_locked(s, nng_msg_get_pipe(msg))) {
		/* The frontend resent it elsewhere: nobody reads this reply. */
		nng_msg_free(msg);
		s->stats.dropped++;
		rearm_locked(s, sl, false);
		return;
	}
	sl->reply.worker = s->pid;
	sl->reply.instance = s->instance;
	if (!sl->reply.model[0]) /* pongs and errors: the model being served */
		memcpy(sl->reply.model, s->version, sizeof s->version);
	/* The reply is packed into the request's message, whose capacity (the
	 * upload) already holds it: no buffer in between. */
	nng_msg_clear(msg);
	if (proto_pack_reply_with(&sl->reply, msg_append, msg) != 0) {
		/* Out of memory: no reply; the caller's timeout covers it. */
		log_error("cannot build a reply: out of memory");
		nng_msg_free(msg);
		rearm_locked(s, sl, false);
		return;
	}
	s->stats.requests++;
	sl->state = SLOT_SEND;
	nng_aio_set_msg(sl->aio, msg);
	nng_ctx_send(sl->ctx, sl->aio);
}

/* With s->mu held: whether a request of this cost may wait here, else why
 * not in err. */
static bool admit_locked(struct server *s, uint64_t cost, char *err)
{
	if (cost > SERVE_LIGHT_PIXELS && s->backlog > 0 &&
	    s->backlog + cost > s->cfg.decode_backlog) {
		err_set(err, ERR_UNAVAILABLE,
			"worker busy: %llu pixels waiting to be decoded (--decode-backlog)",
			(unsigned long long)s->backlog);
		return false;
	}
	return true;
}

/* nng thread: a request arrived on sl. Answer it at once (ping, bad
 * request, busy) or admit it to the decode lanes. */
static void intake(struct server *s, struct slot *sl, nng_msg *msg)
{
	char err[ERR_MAX] = "";
	int rc;

	sl->msg = msg;
	memset(&sl->req, 0, sizeof sl->req); /* the last one pointed into a freed message */
	memset(&sl->reply, 0, sizeof sl->reply);
	if (nng_msg_len(msg) > s->cfg.max_message) {
		err_set(err, ERR_TOO_LARGE,
			"request of %zu bytes is above this worker's limit of %zu (--max-message)",
			nng_msg_len(msg), s->cfg.max_message);
		proto_reply_error(&sl->reply, ERR_TOO_LARGE, err);
		goto reply;
	}
	rc = proto_parse_request(nng_msg_body(msg), nng_msg_len(msg), &sl->req, err);
	if (rc) {
		proto_reply_error(&sl->reply, rc, err);
		goto reply;
	}
	if (sl->req.ping) {
		if (!work_alive(s)) {
			/* Stuck: stay silent, so the frontend stops sending here. */
			log_warn("a worker thread made no progress for 1 s: ping not answered");
			pthread_mutex_lock(&s->mu);
			sl->msg = NULL;
			nng_msg_free(msg);
			rearm_locked(s, sl, false);
			pthread_mutex_unlock(&s->mu);
			return;
		}
		sl->reply.ok = true;
		sl->reply.pong = true;
		goto reply;
	}
	sl->cost = sl->req.image ? cost_image(sl->req.image, sl->req.image_len)
				 : (uint64_t)sl->req.width * sl->req.height;
	if (sl->cost > s->cfg.limits.max_pixels)
		sl->cost = 0; /* refused from the header: costs next to nothing */
	/* A cost of 0 is a header cost_image() could not read: not known small. */
	if (sl->req.input || (sl->cost > 0 && sl->cost <= SERVE_INLINE_PIXELS)) {
		work_decode_here(s, sl);
		return;
	}
	pthread_mutex_lock(&s->mu);
	if (admit_locked(s, sl->cost, err)) {
		work_admit_locked(s, sl);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->stats.rejected++;
	proto_reply_error(&sl->reply, ERR_UNAVAILABLE, err);
	serve_reply_locked(s, sl);
	pthread_mutex_unlock(&s->mu);
	return;
reply:
	pthread_mutex_lock(&s->mu);
	serve_reply_locked(s, sl);
	pthread_mutex_unlock(&s->mu);
}

static void slot_cb(void *arg)
{
	struct slot *sl = arg;
	struct server *s = sl->srv;
	int rv = nng_aio_result(sl->aio);

	/* Only this callback moves a slot out of SLOT_RECV: no lock needed to
	 * read it here. */
	if (sl->state == SLOT_RECV && rv == 0) {
		note_rx(s, nng_msg_get_pipe(nng_aio_get_msg(sl->aio)));
		intake(s, sl, nng_aio_get_msg(sl->aio));
		return;
	}
	pthread_mutex_lock(&s->mu);
	if (sl->state == SLOT_SEND && rv != 0)
		nng_msg_free(nng_aio_get_msg(sl->aio)); /* not sent: still ours */
	if (rv != 0 && rv != NNG_ECANCELED && rv != NNG_ECLOSED)
		log_warn("receive/send failed: %s", nng_strerror(rv));
	rearm_locked(s, sl, rv == NNG_ECLOSED);
	pthread_mutex_unlock(&s->mu);
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
	nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_PRE, pipe_event, s);
	nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, pipe_event, s);
	nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipe_event, s);
	return 0;
}

static int open_slots(struct server *s, char *err)
{
	int n = s->cfg.contexts;

	s->slots = calloc((size_t)n, sizeof *s->slots);
	if (!s->slots)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
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

/* Start every context receiving; the caller dials (links.h). */
static int go(struct server *s, char *err)
{
	(void)err;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nslots; i++) {
		s->slots[i].state = SLOT_RECV;
		s->active++;
		nng_ctx_recv(s->slots[i].ctx, s->slots[i].aio);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

nng_socket serve_socket(const struct server *s)
{
	return s->sock;
}

/* Returns false when libnng could not close the socket: then everything
 * nng may still touch stays allocated (nngclose.h). */
static bool destroy(struct server *s)
{
	if (!s)
		return true;
	/* The worker threads finish their jobs first: they still send on the
	 * slots' aios, which must outlive them. */
	work_stop(s);
	/* Fails every pending operation with NNG_ECLOSED. */
	if (nngclose_within(s->sock, NNGCLOSE_MS, "the socket") != 0)
		return false;
	for (int i = 0; i < s->nslots; i++)
		nng_aio_free(s->slots[i].aio); /* waits for a running callback */
	for (int i = 0; i < s->nslots; i++)
		if (s->slots[i].msg)
			nng_msg_free(s->slots[i].msg);
	free(s->slots);
	pthread_cond_destroy(&s->decode);
	pthread_cond_destroy(&s->ready);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->swapped);
	pthread_mutex_destroy(&s->alive_mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return true;
}

static int init_sync(struct server *s, char *err)
{
	pthread_condattr_t ca;
	if (pthread_mutex_init(&s->mu, NULL) || pthread_mutex_init(&s->alive_mu, NULL))
		return err_set(err, ERR_INTERNAL, "pthread_mutex_init failed");
	if (pthread_condattr_init(&ca))
		return err_set(err, ERR_INTERNAL, "pthread_condattr_init failed");
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&s->decode, &ca) || pthread_cond_init(&s->ready, &ca) ||
		 pthread_cond_init(&s->idle, &ca) || pthread_cond_init(&s->swapped, &ca);
	pthread_condattr_destroy(&ca);
	return rc ? err_set(err, ERR_INTERNAL, "pthread_cond_init failed") : 0;
}

int serve_start(const struct serve_config *cfg, struct model *m, struct server **out, char *err)
{
	struct server *s;
	int rc;

	*out = NULL;
	if (cfg->max_batch < 1 || cfg->contexts < 1 || cfg->decode_threads < 1 ||
	    cfg->decode_backlog < 1)
		return err_set(
		    err, ERR_INVALID,
		    "max batch, contexts, decode threads and backlog must be at least 1");
	s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, ERR_NOMEM, "out of memory");
	s->cfg = *cfg;
	s->model = m;
	snprintf(s->version, sizeof s->version, "%s", model_version(m));
	s->pid = (uint32_t)getpid();
	/* Every reply names this process by pid and this number, so a frontend
	 * counts a worker with several connections to it once (liveness.c). */
	s->instance = reqid_random64();
	rc = init_sync(s, err);
	if (rc) {
		free(s);
		return rc;
	}
	if ((rc = open_socket(s, err)) || (rc = open_slots(s, err)) || (rc = work_start(s, err)) ||
	    (rc = go(s, err)))
		goto fail;
	*out = s;
	return 0;
fail:
	destroy(s);
	return rc;
}

int serve_swap_model(struct server *s, struct model *m, struct model **old, int timeout_ms)
{
	struct timespec end;
	int rc = 0;

	*old = NULL;
	deadline_in(&end, (uint64_t)timeout_ms * 1000u);
	pthread_mutex_lock(&s->mu);
	s->next_model = m;
	s->retired = NULL;
	pthread_cond_signal(&s->ready);
	while (s->next_model && !s->quit && rc == 0)
		if (pthread_cond_timedwait(&s->swapped, &s->mu, &end) == ETIMEDOUT)
			rc = ERR_TIMEOUT;
	if (s->next_model) { /* not taken: the caller keeps it */
		s->next_model = NULL;
		rc = rc ? rc : ERR_UNAVAILABLE;
	} else {
		*old = s->retired;
		s->retired = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

bool serve_alive(struct server *s)
{
	return work_alive(s);
}

/* Whether a plain connect() to the ipc socket file succeeds. */
static bool ipc_listening(const char *url)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = url + strlen("ipc://");
	bool ok;
	int fd;

	if (strncmp(url, "ipc://", 6) != 0 || strlen(path) >= sizeof sa.sun_path)
		return false;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

bool serve_stranded(struct server *s, int stranded_ms)
{
	uint64_t since;

	pthread_mutex_lock(&s->mu);
	since = s->down_since_us;
	pthread_mutex_unlock(&s->mu);
	return since && beat_now_us() - since > (uint64_t)stranded_ms * 1000u &&
	       ipc_listening(s->cfg.url);
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
