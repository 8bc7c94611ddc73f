/*
 * nngstat: one dialer's or listener's statistics in an nng_stats_get()
 * snapshot.
 *
 * libnng 1.5.2's nng_stat_find_dialer() and nng_stat_find_listener() compare
 * the id only at the node they are handed: below it they return the first
 * scope of that name, whichever dialer or listener it is. A worker with two
 * frontends read the first dialer's counts for both, and so never replaced a
 * dead connection while the other dialer was redialing a frontend that had
 * gone (tests/integration/test_multihost.sh, docs/RELIABILITY.md).
 *
 * nngstat_find() walks the snapshot and returns the scope named scope
 * ("dialer", "listener", "socket") whose "id" statistic is id, or NULL.
 */
#ifndef MNIST_NNGSTAT_H
#define MNIST_NNGSTAT_H

#include <nng/nng.h>
#include <stdint.h>

nng_stat *nngstat_find(nng_stat *root, const char *scope, uint32_t id);

/* The value of the statistic name directly under scope s, 0 if absent. */
uint64_t nngstat_value(nng_stat *s, const char *name);

#endif
