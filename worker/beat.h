/*
 * beat: is a worker thread making progress? Each decode thread and the
 * compute thread owns one struct beat and marks when it goes idle and when
 * it starts a job; a checker (the ping handler, the systemd watchdog) asks
 * beat_alive() whether the thread is stuck.
 *
 * A thread is alive when it ticked within stall_us (idle threads wake at
 * least every BEAT_IDLE_US to tick), or when it is inside a job that began
 * less than stall_us ago, or when its CPU clock moved within the last
 * stall_us (a long legal job, e.g. a large decode on a loaded machine,
 * keeps burning CPU; a thread blocked in a deadlock or a stopped process
 * does not) and the job is younger than max_job_us (runaway loops).
 *
 * Threads: the owner calls beat_idle/beat_busy (atomics, no lock). Calls to
 * beat_alive on one beat must be serialised by the caller (it keeps what it
 * last saw of the CPU clock).
 */
#ifndef MNIST_BEAT_H
#define MNIST_BEAT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define BEAT_IDLE_US 250000u /* idle threads tick at least this often */

struct beat {
	_Atomic uint64_t tick_us;	/* last time the owner ticked */
	_Atomic uint64_t busy_since_us; /* start of the current job, 0 when idle */
	clockid_t cpu;			/* the owner's CPU clock */
	_Atomic bool has_cpu;
	uint64_t seen_cpu_ns, seen_at_us; /* the checker's memory */
};

uint64_t beat_now_us(void); /* CLOCK_MONOTONIC in microseconds */

/* Before the owner thread runs anything: ticked now, idle. */
void beat_init(struct beat *b);
/* The thread that runs thread (or the thread itself): watch its CPU clock. */
void beat_watch(struct beat *b, pthread_t thread);

void beat_idle(struct beat *b);
void beat_busy(struct beat *b);

bool beat_alive(struct beat *b, uint64_t now_us, uint64_t stall_us, uint64_t max_job_us);

#endif
