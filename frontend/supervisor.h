/*
 * supervisor: --spawn-workers N. Starts N mnist-worker processes and keeps
 * them running: a worker that exits is started again after a back-off that
 * begins at 100 ms and doubles up to 5 s, and returns to 100 ms once a
 * worker has lived 10 s. Workers get PR_SET_PDEATHSIG=SIGTERM so they never
 * outlive a frontend that was killed outright.
 *
 * With pin set, two or more workers and two or more CPUs allowed to the
 * frontend, worker i (and its restarts) runs on the i-th allowed CPU, in
 * turn: a worker's threads then hand requests to each other on one CPU,
 * without waking another (docs/BENCHMARKS.md measures it). The worker's
 * large-image decode threads unpin themselves (worker/work.c).
 *
 * The caller owns SIGCHLD: it blocks the signal, watches it (signalfd) on
 * the loop and calls supervisor_reap() when it fires. Restarts are timed
 * with an h2o timeout on the same loop, so nothing here blocks the loop
 * except supervisor_kill(), meant for the last moments of shutdown.
 *
 * Threads: loop thread only.
 */
#ifndef MNIST_SUPERVISOR_H
#define MNIST_SUPERVISOR_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>

struct supervisor;

struct supervisor_opts {
	size_t count;		/* workers to keep running */
	const char *worker_bin; /* path of mnist-worker */
	const char *connect;	/* URL the workers dial (--connect) */
	const char *weights;	/* --weights, or NULL for the worker's default */
	const char *max_batch;	/* --max-batch, or NULL */
	bool pin;		/* a CPU per worker, see above */
};

int supervisor_start(const struct supervisor_opts *opts, h2o_loop_t *loop, struct supervisor **out,
		     char *err);

/* Collect exited children (WNOHANG) and schedule their restarts. */
void supervisor_reap(struct supervisor *s);

/* Stop restarting and send SIGTERM to every worker. */
void supervisor_stop(struct supervisor *s);

/* Send sig to every running worker (SIGHUP: reload their weights);
 * returns how many got it. s may be NULL (none). */
size_t supervisor_signal(struct supervisor *s, int sig);

/* Workers still running. */
size_t supervisor_running(const struct supervisor *s);

/* SIGKILL what is left and wait for it (blocking, bounded by the kernel). */
void supervisor_kill(struct supervisor *s);

void supervisor_free(struct supervisor *s);

#endif
