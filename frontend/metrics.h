/*
 * metrics: process-wide counters, gauges and histograms of the frontend,
 * rendered in the Prometheus text exposition format 0.0.4 for GET /metrics.
 *
 *   mnist_http_requests_total{route,status}      counter
 *   mnist_http_request_duration_seconds{route}   histogram (0.5 ms .. 10 s)
 *   mnist_inference_duration_seconds             histogram, from infer_us
 *   mnist_batch_size                             histogram, from batch
 *   mnist_workers_connected                      gauge
 *   mnist_inflight_requests                      gauge
 *   mnist_rejections_total{reason}               counter: overload, no_worker,
 *                                                too_large, timeout, connections
 *   process_resident_memory_bytes                gauge (/proc/self/statm)
 *   process_start_time_seconds                   gauge (Unix time)
 *   mnist_uptime_seconds                         gauge
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

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Reset every value and record the start time. Call once in main before
 * any thread records; calling it again resets (used by the tests). */
void metrics_init(void);

/* Map a request path (not NUL-terminated; query string ignored) to a route. */
enum metrics_route metrics_route(const char *path, size_t len);

/* One finished HTTP request: its route, status code and wall time. */
void metrics_http(enum metrics_route route, int status, double seconds);

/* One successful worker reply: its infer_us and batch (0 = unknown, skipped). */
void metrics_inference(uint32_t infer_us, uint32_t batch);

void metrics_set_workers(long n);      /* connected workers right now */
void metrics_inflight_add(long delta); /* +1 when a request starts, -1 when done */
void metrics_reject(enum metrics_reject reason);

/* Render everything into a malloc'd text (caller frees with free()); *len
 * excludes the terminating NUL that is also written. 0 or ERR_NOMEM. */
int metrics_render(char **out, size_t *len);

#endif
