/*
 * clock: milliseconds on the monotonic clock, for deadlines, back-offs and
 * ages (never for wall time: use CLOCK_REALTIME for that). Thread-safe.
 */
#ifndef MNIST_CLOCK_H
#define MNIST_CLOCK_H

#include <stdint.h>

/* Milliseconds since an arbitrary start (CLOCK_MONOTONIC). */
uint64_t clock_ms(void);

/* Microseconds, same clock (latency measurements). */
uint64_t clock_us(void);

#endif
