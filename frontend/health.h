/*
 * health: what the probe endpoints answer, apart from HTTP routing so that
 * every route that reports health (/health, /health/live, /health/ready,
 * and any versioned alias) gives the same verdict.
 *
 * live:  the process serves HTTP (answering at all is the proof; a
 *        draining frontend is still live, so it is not restarted mid-drain).
 * ready: not draining, a worker is connected, and a worker answered
 *        recently (backend_healthy): send traffic here.
 *
 * Thread: the h2o loop thread.
 */
#ifndef MNIST_HEALTH_H
#define MNIST_HEALTH_H

#include "backend.h"

#include <stdbool.h>

struct health {
	bool live, ready;
	long workers; /* connected worker processes (backend_workers) */
};

struct health health_check(const struct backend *b, bool draining);

#endif
