/*
 * backend_int: what backend.c (the REQ socket and its calls) shares with
 * liveness.c (the liveness of each worker connection). Callers use
 * backend.h.
 *
 * Who owns what in struct backend:
 * - backend.c allocates and frees it, opens and closes the socket and the
 *   listener, and owns the slots and the loop-thread fields;
 * - liveness.c owns the peer table, the pingers and their timer (all under
 *   mu), the worker and connection counts, last_ok and the refused-uid
 *   counters.
 * `closing` is set once by backend_close and read by both.
 *
 * Locking: mu guards the peer table and the pingers' stages. nng callbacks
 * take it briefly and never call into nng while holding it, except
 * nng_ctx_send on a pinger and nng_sleep_aio (which only queue).
 */
#ifndef MNIST_BACKEND_INT_H
#define MNIST_BACKEND_INT_H

#include "backend.h"
#include "tls.h"

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h> /* nng_time */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NPINGERS 1

/* One connected worker pipe (added on ADD_POST, removed on REM_POST). */
struct peer {
	nng_pipe pipe;
	nng_time last; /* last reply from it, or when it joined */
	bool closing;  /* we closed it for silence */
	/* The worker process at the other end, from its first pong that says
	 * (proto.h: pid and instance); instance 0 until then, or for good from
	 * an older worker that sends none. */
	uint32_t pid;
	uint64_t instance;
};

/* One ping context: idle -> send -> recv -> idle. */
struct pinger {
	struct backend *b;
	nng_ctx ctx;
	nng_aio *aio;
	enum { PING_IDLE, PING_SEND, PING_RECV } stage;
	nng_time sent;
};

struct slot; /* one in-flight call: backend.c */

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
	atomic_long connections; /* == npeers */
	atomic_long workers;	 /* distinct processes among the peers */
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

/* Before the socket opens: the counters and mu. ERR_INTERNAL when the
 * mutex cannot be made (then nothing is left to free). */
int liveness_init(struct backend *b, char *err);

/* Once the socket is open, before it listens: watch pipes come and go,
 * refusing ipc peers of another uid. */
void liveness_watch(struct backend *b);

/* Once it listens: the ping message, the pingers and their timer. On error
 * what was made is freed by liveness_fini. */
int liveness_open(struct backend *b, char *err);
void liveness_start(struct backend *b); /* first timer round, now */

/* Any thread: a reply came from pipe p, so that worker is alive. */
void liveness_mark_pipe(struct backend *b, nng_pipe p);

/* Stop the timer and the pingers (waits for their callbacks); before the
 * socket closes. */
void liveness_stop(struct backend *b);

/* After the socket closed: free the pingers, mu and the peer table. */
void liveness_fini(struct backend *b);

#endif
