/*
 * modelver: which model versions the connected workers serve, as the
 * frontend learns them from the "model" key of worker replies (pongs
 * included, so it is known before the first prediction).
 *
 * A version is the first 12 hex digits of the SHA-256 of the weights a
 * worker loaded (worker/engine/model.h); during a reload, or with workers
 * started from different files, several are served at once. A version is
 * current while some reply carried it in the last MODELVER_TTL_MS; the
 * workers are pinged every 200 ms, so a version no worker serves any more
 * drops out within that time.
 *
 * Only strings of 1..PROTO_MODEL_MAX characters from [0-9a-z] are kept (they
 * end up in a Prometheus label and in HTTP headers). State is one static
 * table under a mutex: every call is thread-safe (nng threads and the loop).
 */
#ifndef MNIST_MODELVER_H
#define MNIST_MODELVER_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODELVER_NAME "mnist"
#define MODELVER_TTL_MS 3000
#define MODELVER_MAX 8 /* versions remembered at once */

/* The model name and version strings seen together with a reply. */
typedef char modelver_t[PROTO_MODEL_MAX + 1];

/* Forget everything (start-up, tests). */
void modelver_reset(void);

/* A reply carried version v at now_ms (clock_ms()); ignored when v is not
 * a valid version (above). */
void modelver_seen(const char *v, uint64_t now_ms);

/* The current versions at now_ms, most recently seen first; returns how many
 * (at most max). */
size_t modelver_current(modelver_t *out, size_t max, uint64_t now_ms);

/* Whether v is current at now_ms. */
bool modelver_is_current(const char *v, size_t len, uint64_t now_ms);

/* Append `mnist_model_info{version="..."} 1` for every current version,
 * with its HELP and TYPE lines, to the malloc'd text *text of *len bytes
 * (realloc'd). Returns 0 or ERR_NOMEM (then *text is unchanged). */
int modelver_metrics(char **text, size_t *len, uint64_t now_ms);

#endif
