/*
 * options: the frontend's settings from its flags and environment.
 *
 * Every setting has a flag and most an MNIST_* environment variable (see
 * --help). The environment is read first, flags override it, and both go
 * through the same parser and the same bounds, so MNIST_MAX_UPLOAD=2^64-1 is
 * refused exactly like --max-upload 2^64-1 (nothing wraps). Errors are
 * printed on stderr, naming the flag or variable and the accepted range.
 *
 * Threads: main thread, at start-up.
 */
#ifndef MNIST_OPTIONS_H
#define MNIST_OPTIONS_H

#include <stddef.h>

#define OPTIONS_MAX_UPLOAD ((size_t)1 << 30)	     /* --max-upload upper bound */
#define OPTIONS_MAX_INFLIGHT_BYTES ((size_t)1 << 40) /* --max-inflight-bytes bound */

struct options {
	const char *listen, *rundir, *workers_url, *api_url, *worker_bin, *weights;
	const char *max_batch, *www, *log_level, *log_format;
	const char *cors_origins; /* frontend/cors.h, NULL: off */
	size_t max_upload, max_inflight_bytes;
	unsigned long max_inflight, timeout_ms, resend_ms, spawn, broker_ctx, drain_ms;
	unsigned long max_connections; /* 0: derived from RLIMIT_NOFILE (http.h) */
	unsigned long idle_timeout_ms;
	unsigned long worker_silent_ms;
	unsigned long pin_workers; /* 1: spawned workers pinned to CPUs (supervisor.h) */
	const char *tls_cert, *tls_key, *tls_ca; /* worker link over tls+tcp:// */
	unsigned long trusted_network;		 /* 1: plain tcp:// off loopback */
};

/* Defaults, then the environment, then argv. Returns 0, 1 (--help was
 * printed: exit 0) or -1 (an error was printed: exit 2). */
int options_parse(int argc, char **argv, struct options *o);

#endif
