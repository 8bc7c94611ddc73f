/*
 * serve_int: the worker server's shared state, internal to worker/serve.c
 * (nng side: contexts, intake, admission, replies) and worker/work.c (the
 * decode pool and the compute thread). Callers use serve.h.
 *
 * Locking: s->mu guards the queues, every slot's state, the counters and the
 * stop flags. nng calls that start an operation on a slot (nng_ctx_recv,
 * nng_ctx_send, nng_aio_cancel) are made with s->mu held, so serve_stop can
 * never miss a receive being re-armed at the same moment; nng runs
 * completion callbacks on its own task threads, never inline. s->alive_mu
 * guards the liveness checker's memory only and is taken after s->mu or
 * alone, never the other way round.
 */
#ifndef MNIST_SERVE_INT_H
#define MNIST_SERVE_INT_H

#include "beat.h"
#include "model.h"
#include "proto.h"
#include "serve.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* An upload whose header claims at most this many pixels is light: it has a
 * decode lane of its own and is never queued behind large decodes. */
#define SERVE_LIGHT_PIXELS 1000000u
/* An upload whose header claims at most this many pixels (128x128) is
 * decoded where it arrives, on the nng thread: its decode is shorter than a
 * hand-off to a decode thread. */
#define SERVE_INLINE_PIXELS 16384u
/* A thread is stuck after this long without progress (beat.h). */
#define SERVE_STALL_US 1000000u
#define SERVE_MAX_JOB_US 30000000u
#define SERVE_MAX_PIPES                                                                            \
	64 /* above LINKS_MAX_DIALERS: a pipe may linger while its redial connects */
/* A large image that waited this long for a decode thread is answered
 * `unavailable` rather than decoded late. */
#define SERVE_MAX_WAIT_US 500000u

enum slot_state {
	SLOT_IDLE,   /* not receiving (stopping) */
	SLOT_RECV,   /* waiting for a request */
	SLOT_DECODE, /* admitted: queued for or in a decode thread */
	SLOT_READY,  /* decoded: queued for or in the compute thread */
	SLOT_SEND,   /* reply handed to nng */
};

/* One REP context and the request it currently holds. */
struct slot {
	struct server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	nng_msg *msg; /* the request while held */
	enum slot_state state;
	struct slot *next;	  /* queue link */
	struct proto_request req; /* points into msg */
	uint64_t cost;		  /* pixels the header claims */
	uint64_t admitted_us;	  /* when it entered a decode lane */
	uint64_t decode_us;	  /* how long its decode took */
	struct proto_reply reply;
	float input[MODEL_PIXELS]; /* the decoded 28x28 image */
};

struct queue {
	struct slot *head, *tail;
};

struct server {
	struct serve_config cfg;
	struct model *model;
	/* model_version(model), sent in every reply; whoever replaces model
	 * updates it under mu. */
	char version[MODEL_VERSION_LEN + 1];
	nng_socket sock;
	struct slot *slots;
	int nslots;
	uint32_t pid;
	uint64_t instance; /* drawn at start; sent beside pid in every reply */

	pthread_mutex_t mu;
	pthread_cond_t decode;	  /* a lane got work, or quit */
	pthread_cond_t ready;	  /* the ready queue got work, or quit */
	pthread_cond_t idle;	  /* a slot went idle */
	pthread_cond_t swapped;	  /* the compute thread took next_model */
	struct model *next_model; /* serve_swap_model(): to use from the next batch */
	struct model *retired;	  /* the model next_model replaced */
	struct queue light, heavy, done;
	/* A thread is running batches from done: the compute thread, or the
	 * nng thread that queued an image while none ran (work_decode_here). */
	bool computing;
	uint64_t backlog;  /* pixels admitted and not yet decoded */
	int heavy_running; /* decode threads inside a heavy decode */
	int active;	   /* slots not idle */
	bool stopping, quit;
	uint32_t pipes[SERVE_MAX_PIPES];       /* open pipe ids, 0 = free */
	uint32_t pipe_dialer[SERVE_MAX_PIPES]; /* the dialer of each open pipe */
	uint64_t pipe_rx_us[SERVE_MAX_PIPES];  /* last message received on it */
	uint64_t down_since_us;		       /* last pipe removed and none since, or 0 */
	struct serve_stats stats;

	/* threads (work.c) */
	pthread_t compute;
	bool compute_started;
	struct beat compute_beat;
	pthread_t *decoders;
	struct beat *decode_beats;
	int ndecoders; /* started */
	pthread_mutex_t alive_mu;
	/* compute thread only */
	float *pixels, *logits;
	struct slot **batch;
};

/* serve.c: hand sl->reply to nng (s->mu held), or, for a request whose
 * connection is gone, drop it and receive again. */
void serve_reply_locked(struct server *s, struct slot *sl);
bool serve_pipe_open_locked(const struct server *s, nng_pipe p);

/* work.c */
int work_start(struct server *s, char *err); /* decode threads + compute thread */
void work_stop(struct server *s);	     /* quit and join them */
void work_admit_locked(struct server *s, struct slot *sl);
/* s->mu not held: decode sl here (SERVE_INLINE_PIXELS), then queue it for
 * the model or reply with the error. */
void work_decode_here(struct server *s, struct slot *sl);
bool work_alive(struct server *s);

#endif
