/*
 * liveness: whether each worker connection, and so the backend, is alive
 * (see backend.h for the contract, backend_int.h for who owns what).
 *
 * The peer table holds one entry per connected worker pipe, refusing ipc
 * peers of another uid. One pinger asks the pipes in turn; every reply,
 * ping or call, marks its pipe, and a pong also says which worker process
 * sent it, so that a worker with several connections (a link flap leaves
 * its old connection up beside the new one; two --connect URLs reach the
 * same frontend) counts once. A timer (nng thread) sends the pings,
 * closes the pipe silent the longest, and logs refused TLS handshakes.
 */
#include "backend_int.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "modelver.h"
#include "proto.h"
#include "tls.h"

#include <stdlib.h>
#include <string.h>

/* One ping in flight at a time: libnng 1.5.2 can wedge a worker's socket for
 * good (it never redials) when it resumes from a stop with many messages
 * queued on a connection we closed, so a stopped worker must not collect a
 * pile of pings. Pings go every PING_ROUND_MS / workers (REQ hands each to
 * the next pipe in turn), so every live pipe is asked about every
 * PING_ROUND_MS, plus PING_TIMEOUT_MS when a stopped pipe holds the ping. */
#define PING_ROUND_MS 200
#define PING_TIMEOUT_MS 1000
#define REFUSED_LOG_MS 10000

/* ---- the peer table --------------------------------------------------- */

/* With b->mu held. */
static struct peer *find_peer(struct backend *b, nng_pipe p)
{
	for (size_t i = 0; i < b->npeers; i++)
		if (nng_pipe_id(b->peers[i].pipe) == nng_pipe_id(p))
			return &b->peers[i];
	return NULL;
}

/* With b->mu held: the distinct worker processes among the peers. A peer
 * whose process is not known (no pong yet, or an older worker) counts as
 * one of its own. Quadratic in the peers, run on joins, leaves and first
 * pongs only. */
static long count_workers(const struct backend *b)
{
	long n = 0;

	for (size_t i = 0; i < b->npeers; i++) {
		const struct peer *p = &b->peers[i];
		bool again = false;
		for (size_t j = 0; p->instance && j < i && !again; j++)
			again = b->peers[j].instance == p->instance && b->peers[j].pid == p->pid;
		n += !again;
	}
	return n;
}

/* With b->mu held: publish the counts after the table changed. */
static void counts_changed(struct backend *b)
{
	atomic_store(&b->connections, (long)b->npeers);
	atomic_store(&b->workers, count_workers(b));
}

/* Any thread: a reply came from pipe p, so that worker is alive; a pong
 * also names the process (pid, instance: 0 when it does not say). */
static void mark(struct backend *b, nng_pipe p, uint32_t pid, uint64_t instance)
{
	struct peer *peer;

	pthread_mutex_lock(&b->mu);
	if ((peer = find_peer(b, p)) != NULL) {
		peer->last = nng_clock();
		if (instance && (peer->instance != instance || peer->pid != pid)) {
			peer->pid = pid;
			peer->instance = instance;
			counts_changed(b);
		}
	}
	pthread_mutex_unlock(&b->mu);
}

void liveness_mark_pipe(struct backend *b, nng_pipe p)
{
	mark(b, p, 0, 0);
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
	size_t n;
	long workers;

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
	counts_changed(b);
	n = b->npeers;
	workers = atomic_load(&b->workers);
	pthread_mutex_unlock(&b->mu);
	log_debug("worker pipe %u %s, %zu connected from %ld workers", nng_pipe_id(p),
		  ev == NNG_PIPE_EV_ADD_POST ? "joined" : "left", n, workers);
}

/* ---- pings per connection, silent pipes closed ------------------------- */

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
			mark(b, nng_msg_get_pipe(m), rep.worker, rep.instance);
			backend_mark_ok(b);
			modelver_seen(rep.model, clock_ms());
			log_debug("pong from worker %u/%016llx (pipe %u) in %llu ms", rep.worker,
				  (unsigned long long)rep.instance,
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

int liveness_init(struct backend *b, char *err)
{
	atomic_init(&b->connections, 0);
	atomic_init(&b->workers, 0);
	atomic_init(&b->last_ok, 0);
	atomic_init(&b->refused, 0);
	atomic_init(&b->refused_logged, 0);
	if (pthread_mutex_init(&b->mu, NULL) != 0)
		return err_set(err, ERR_INTERNAL, "pthread_mutex_init failed");
	return 0;
}

void liveness_watch(struct backend *b)
{
	nng_pipe_notify(b->sock, NNG_PIPE_EV_ADD_PRE, on_pipe, b);
	nng_pipe_notify(b->sock, NNG_PIPE_EV_ADD_POST, on_pipe, b);
	nng_pipe_notify(b->sock, NNG_PIPE_EV_REM_POST, on_pipe, b);
}

int liveness_open(struct backend *b, char *err)
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

void liveness_start(struct backend *b)
{
	nng_sleep_aio(0, b->timer);
}

void liveness_stop(struct backend *b)
{
	nng_aio_stop(b->timer);
	for (int i = 0; i < b->npingers; i++)
		nng_aio_stop(b->pingers[i].aio);
}

void liveness_fini(struct backend *b)
{
	free(b->ping);
	if (b->timer)
		nng_aio_free(b->timer);
	for (int i = 0; i < NPINGERS; i++)
		if (b->pingers[i].aio)
			nng_aio_free(b->pingers[i].aio);
	pthread_mutex_destroy(&b->mu);
	free(b->peers);
}

/* ---- the backend as a whole ------------------------------------------- */

void backend_mark_ok(struct backend *b)
{
	atomic_store(&b->last_ok, nng_clock());
}

long backend_workers(const struct backend *b)
{
	return atomic_load(&((struct backend *)b)->workers);
}

long backend_connections(const struct backend *b)
{
	return atomic_load(&((struct backend *)b)->connections);
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

	if (backend_connections(b) <= 0)
		return BACKEND_NO_WORKER;
	/* Before the first answer a worker gets the benefit of the doubt. */
	if (last != 0 && nng_clock() - last >= 3 * (nng_time)b->silent_ms)
		return BACKEND_SILENT;
	return BACKEND_READY;
}
