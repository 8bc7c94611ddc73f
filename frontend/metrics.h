/*
 * metrics: process-wide counters, gauges and histograms of the frontend,
 * rendered in the Prometheus text exposition format 0.0.4 for GET /metrics.
 *
 *   mnist_http_requests_total{route,status}      counter
 *   mnist_http_request_duration_seconds{route}   histogram (0.5 ms .. 10 s)
 *   mnist_inference_duration_seconds             histogram, from infer_us
 *   mnist_batch_size                             histogram, one sample per batch
 *   mnist_batch_duration_seconds                 histogram, one sample per batch
 *   mnist_images_inferred_total, mnist_batches_total   counters
 *   mnist_worker_wait_seconds                    histogram, per request
 *   mnist_errors_total{reason}                   counter (metrics_error below)
 *   mnist_api_requests_total{code}               counter, api.sock
 *   mnist_api_request_duration_seconds           histogram, api.sock
 *   mnist_workers_connected                      gauge, worker processes
 *   mnist_worker_connections                     gauge, their connections
 *   mnist_inflight_requests                      gauge
 *   mnist_rejections_total{reason}               counter: overload, no_worker,
 *                                                too_large, timeout, connections
 *   process_resident_memory_bytes                gauge (/proc/self/statm)
 *   process_start_time_seconds                   gauge (Unix time)
 *   mnist_uptime_seconds                         gauge
 *   process_cpu_seconds_total, process_open_fds, process_max_fds
 *   mnist_build_info{version,compiler}           gauge, always 1 (version:
 *                                                git describe at build time)
 * (mnist_model_info{version} is appended by modelver.h, from worker replies.)
 *
 * State is one static table of C11 atomics (relaxed ordering): every call
 * is lock-free and thread-safe, from the loop thread or nng's threads, and
 * never allocates except metrics_render. Route and status labels come from
 * fixed tables, so a client cannot grow the label set: unknown paths count
 * as route "other", statuses outside 100..599 as 599 (so never happens).
 * Histograms keep per-bucket counts; a render sums them into cumulative
 * buckets, so one scrape is self-consistent (_count equals the +Inf bucket)
 * even while other threads record.
 */
#ifndef MNIST_METRICS_H
#define MNIST_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Route label values; metrics_route() maps a request path to one. */
enum metrics_route {
	METRICS_ROUTE_PREDICT, /* "/predict" */
	METRICS_ROUTE_HEALTH,  /* "/health" */
	METRICS_ROUTE_METRICS, /* "/metrics" */
	METRICS_ROUTE_OPENAPI, /* "/openapi.json" */
	METRICS_ROUTE_DOCS,    /* "/docs" and its assets "/docs/..." */
	METRICS_ROUTE_REDOC,   /* "/redoc" and its assets "/redoc/..." */
	METRICS_ROUTE_V2,      /* "/v2" and everything under it (frontend/v2.h) */
	METRICS_ROUTE_OTHER,   /* anything else (404s) */
	METRICS_ROUTE_COUNT
};

enum metrics_reject {
	METRICS_REJECT_OVERLOAD,    /* 503: too many requests in flight */
	METRICS_REJECT_NO_WORKER,   /* 503: no worker connected */
	METRICS_REJECT_TOO_LARGE,   /* 413: upload above the limit */
	METRICS_REJECT_TIMEOUT,	    /* 504: no worker answer in time */
	METRICS_REJECT_CONNECTIONS, /* a connection above --max-connections */
	METRICS_REJECT_COUNT
};

/* Why a prediction request failed: the protocol's error codes. */
enum metrics_error {
	METRICS_ERROR_BAD_REQUEST,	/* malformed request, form or message */
	METRICS_ERROR_UNSUPPORTED_TYPE, /* not a PNG or JPEG (declared or real) */
	METRICS_ERROR_INVALID_IMAGE,	/* corrupt, truncated, image bomb */
	METRICS_ERROR_TOO_LARGE,	/* upload or message above a limit */
	METRICS_ERROR_TIMEOUT,		/* no worker answer in time */
	METRICS_ERROR_UNAVAILABLE,	/* no worker, overload, draining, worker busy */
	METRICS_ERROR_INTERNAL,		/* anything else (a bug, out of memory) */
	METRICS_ERROR_COUNT
};

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Reset every value and record the start time. Call once in main before
 * any thread records; calling it again resets (used by the tests). */
void metrics_init(void);

/* Map a request path (not NUL-terminated; query string ignored) to a route. */
enum metrics_route metrics_route(const char *path, size_t len);

/* One finished HTTP request: its route, status code and wall time. */
void metrics_http(enum metrics_route route, int status, double seconds);

/* Batch-size buckets 1, 2, 4, ... up to max_batch (the workers' --max-batch;
 * 32 after metrics_init). Call at start-up, before other threads record. */
void metrics_set_max_batch(unsigned max_batch);

/* One successful worker reply (HTTP or api.sock): one image inferred, its
 * infer_us (0 = unknown, skipped) in the inference histogram; when lead
 * (the one reply per batch that the worker marks, proto.h "lead"), the
 * batch counts once, with its size and forward time. */
void metrics_prediction(uint32_t infer_us, uint32_t batch, bool lead, uint32_t forward_us);

/* Time one request waited for a worker (metrics_worker_wait_seconds). */
void metrics_worker_wait(double seconds);

/* One HTTP prediction request answered with an error. */
void metrics_error(enum metrics_error reason);

/* The reason for a protocol error code ("invalid_image", ...); unknown
 * codes are internal. */
enum metrics_error metrics_error_of(const char *code);

/* One api.sock request answered: code "ok" or the reply's error code
 * (counted in mnist_errors_total too), and its latency. */
void metrics_api(const char *code, double seconds);

/* Connected worker processes and their connections right now. */
void metrics_set_workers(long workers, long connections);
void metrics_inflight_add(long delta); /* +1 when a request starts, -1 when done */
void metrics_reject(enum metrics_reject reason);

/* Render everything into a malloc'd text (caller frees with free()); *len
 * excludes the terminating NUL that is also written. 0 or ERR_NOMEM. */
int metrics_render(char **out, size_t *len);

#endif
