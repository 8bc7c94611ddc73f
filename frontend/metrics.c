#include "metrics.h"
#include "err.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Bucket bounds and their label text, written once so the le="" labels are
 * exactly what Prometheus users expect (no %g surprises like "1e-04"). */
#define HTTP_NB 14
static const double http_le[HTTP_NB] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					0.1,	0.25,  0.5,    1,     2.5,  5,	   10};
static const char *const http_le_s[HTTP_NB] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
					       "0.025",	 "0.05",  "0.1",    "0.25",  "0.5",
					       "1",	 "2.5",	  "5",	    "10"};
#define INFER_NB 13
static const double infer_le[INFER_NB] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
					  0.025,  0.05,	   0.1,	   0.25,  0.5,	  1};
static const char *const infer_le_s[INFER_NB] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025",
						 "0.005",  "0.01",    "0.025",	"0.05",	 "0.1",
						 "0.25",   "0.5",     "1"};
/* Batch sizes: 1, 2, 4, ... up to --max-batch (metrics_set_max_batch). */
#define MAX_NB 14
static double batch_le[MAX_NB];
static char batch_le_buf[MAX_NB][12];
static const char *batch_le_s[MAX_NB];
static size_t batch_nb;

/* Per-bucket (not cumulative) counts; the last slot is +Inf. The sum is kept
 * as an integer in units of `scale` so that it can be a lock-free atomic. */
struct hist {
	atomic_uint_fast64_t bucket[MAX_NB + 1];
	atomic_uint_fast64_t sum;
};

#define STATUS_MIN 100
#define STATUS_MAX 599

static const char *const route_name[METRICS_ROUTE_COUNT] = {
    "/predict", "/health", "/metrics", "/openapi.json", "/docs", "/redoc", "/v2", "other"};
static const char *const reject_name[METRICS_REJECT_COUNT] = {"overload", "no_worker", "too_large",
							      "timeout", "connections"};
/* The protocol's error codes (common/err.h err_code_name()). */
static const char *const error_name[METRICS_ERROR_COUNT] = {
    "bad_request", "unsupported_type", "invalid_image", "too_large",
    "timeout",	   "unavailable",      "internal"};

static struct {
	atomic_uint_fast64_t requests[METRICS_ROUTE_COUNT][STATUS_MAX - STATUS_MIN + 1];
	struct hist http[METRICS_ROUTE_COUNT];
	struct hist infer;
	struct hist batch;   /* one sample per batch: its size */
	struct hist forward; /* one sample per batch: its forward time */
	struct hist wait;    /* per request: time waiting for a worker */
	struct hist api;     /* per api.sock request: time to its answer */
	atomic_uint_fast64_t images, batches;
	atomic_uint_fast64_t errors[METRICS_ERROR_COUNT];
	atomic_uint_fast64_t api_ok, api_errors[METRICS_ERROR_COUNT];
	atomic_long workers, connections;
	atomic_long inflight;
	atomic_uint_fast64_t rejects[METRICS_REJECT_COUNT];
	/* Written by metrics_init only, before other threads exist. */
	double start_unix;
	struct timespec start_mono;
} m;

void metrics_set_max_batch(unsigned max_batch)
{
	size_t n = 0;

	if (max_batch < 1)
		max_batch = 1;
	for (unsigned b = 1; b < max_batch && n < MAX_NB - 1; b *= 2)
		batch_le[n++] = b;
	batch_le[n++] = max_batch;
	for (size_t i = 0; i < n; i++) {
		snprintf(batch_le_buf[i], sizeof batch_le_buf[i], "%u", (unsigned)batch_le[i]);
		batch_le_s[i] = batch_le_buf[i];
	}
	batch_nb = n;
}

void metrics_init(void)
{
	struct timespec now;

	/* Zero bytes are a valid representation of every atomic used here. */
	memset(&m, 0, sizeof m);
	metrics_set_max_batch(32);
	clock_gettime(CLOCK_REALTIME, &now);
	m.start_unix = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &m.start_mono);
}

static int path_is(const char *path, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len == n && memcmp(path, name, n) == 0;
}

/* "/docs", "/docs/" or "/docs/anything". */
static int path_under(const char *path, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len >= n && memcmp(path, name, n) == 0 && (len == n || path[n] == '/');
}

enum metrics_route metrics_route(const char *path, size_t len)
{
	const char *q = path ? memchr(path, '?', len) : NULL;

	if (!path)
		return METRICS_ROUTE_OTHER;
	if (q)
		len = (size_t)(q - path);
	if (path_is(path, len, "/predict"))
		return METRICS_ROUTE_PREDICT;
	if (path_is(path, len, "/health"))
		return METRICS_ROUTE_HEALTH;
	if (path_is(path, len, "/metrics"))
		return METRICS_ROUTE_METRICS;
	if (path_is(path, len, "/openapi.json"))
		return METRICS_ROUTE_OPENAPI;
	if (path_under(path, len, "/docs"))
		return METRICS_ROUTE_DOCS;
	if (path_under(path, len, "/redoc"))
		return METRICS_ROUTE_REDOC;
	if (path_under(path, len, "/v2"))
		return METRICS_ROUTE_V2;
	return METRICS_ROUTE_OTHER;
}

static void hist_observe(struct hist *h, const double *le, size_t nb, double v, uint64_t units)
{
	size_t i = 0;

	while (i < nb && !(v <= le[i]))
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, units, memory_order_relaxed);
}

void metrics_http(enum metrics_route route, int status, double seconds)
{
	if ((unsigned)route >= METRICS_ROUTE_COUNT)
		route = METRICS_ROUTE_OTHER;
	if (status < STATUS_MIN || status > STATUS_MAX)
		status = STATUS_MAX;
	if (!(seconds >= 0)) /* negative or NaN: a clock went backwards */
		seconds = 0;
	if (seconds > 1e9)
		seconds = 1e9;
	atomic_fetch_add_explicit(&m.requests[route][status - STATUS_MIN], 1, memory_order_relaxed);
	hist_observe(&m.http[route], http_le, HTTP_NB, seconds, (uint64_t)(seconds * 1e9));
}

void metrics_prediction(uint32_t infer_us, uint32_t batch, bool lead, uint32_t forward_us)
{
	atomic_fetch_add_explicit(&m.images, 1, memory_order_relaxed);
	if (infer_us)
		hist_observe(&m.infer, infer_le, INFER_NB, infer_us / 1e6,
			     (uint64_t)infer_us * 1000u);
	if (!lead)
		return;
	atomic_fetch_add_explicit(&m.batches, 1, memory_order_relaxed);
	if (batch)
		hist_observe(&m.batch, batch_le, batch_nb, batch, batch);
	hist_observe(&m.forward, infer_le, INFER_NB, forward_us / 1e6,
		     (uint64_t)forward_us * 1000u);
}

static uint64_t nanos(double seconds)
{
	return !(seconds >= 0) ? 0 : seconds > 1e9 ? (uint64_t)1e18 : (uint64_t)(seconds * 1e9);
}

void metrics_worker_wait(double seconds)
{
	hist_observe(&m.wait, http_le, HTTP_NB, seconds, nanos(seconds));
}

void metrics_error(enum metrics_error reason)
{
	if ((unsigned)reason < METRICS_ERROR_COUNT)
		atomic_fetch_add_explicit(&m.errors[reason], 1, memory_order_relaxed);
}

enum metrics_error metrics_error_of(const char *code)
{
	for (int i = 0; i < METRICS_ERROR_COUNT; i++)
		if (code && !strcmp(code, error_name[i]))
			return (enum metrics_error)i;
	return METRICS_ERROR_INTERNAL;
}

void metrics_api(const char *code, double seconds)
{
	hist_observe(&m.api, http_le, HTTP_NB, seconds, nanos(seconds));
	if (code && !strcmp(code, "ok")) {
		atomic_fetch_add_explicit(&m.api_ok, 1, memory_order_relaxed);
		return;
	}
	enum metrics_error e = metrics_error_of(code);
	atomic_fetch_add_explicit(&m.api_errors[e], 1, memory_order_relaxed);
	metrics_error(e);
}

void metrics_set_workers(long workers, long connections)
{
	atomic_store_explicit(&m.workers, workers < 0 ? 0 : workers, memory_order_relaxed);
	atomic_store_explicit(&m.connections, connections < 0 ? 0 : connections,
			      memory_order_relaxed);
}

void metrics_inflight_add(long delta)
{
	atomic_fetch_add_explicit(&m.inflight, delta, memory_order_relaxed);
}

void metrics_reject(enum metrics_reject reason)
{
	if ((unsigned)reason < METRICS_REJECT_COUNT)
		atomic_fetch_add_explicit(&m.rejects[reason], 1, memory_order_relaxed);
}

/* A growing text buffer; after the first failed append every append is a
 * no-op and `failed` stays set, so callers check once at the end. */
struct out {
	char *p;
	size_t len, cap;
	int failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		n = vsnprintf(o->p + o->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t cap =
		    o->cap * 2 > o->len + (size_t)n + 1 ? o->cap * 2 : o->len + (size_t)n + 1;
		char *p = realloc(o->p, cap);
		if (!p) {
			o->failed = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
}

static void header(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series; labels is "" or `route="/predict",`. */
static void put_hist(struct out *o, const char *name, const char *labels, struct hist *h,
		     const char *const *le_s, size_t nb, double scale)
{
	uint64_t cum = 0;
	const char *l = labels ? labels : "";
	size_t ll = strlen(l);

	for (size_t i = 0; i <= nb; i++) {
		cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		put(o, "%s_bucket{%sle=\"%s\"} %llu\n", name, l, i < nb ? le_s[i] : "+Inf",
		    (unsigned long long)cum);
	}
	/* Labels without the trailing comma for _sum and _count. */
	uint64_t sum = atomic_load_explicit(&h->sum, memory_order_relaxed);
	if (ll) {
		put(o, "%s_sum{%.*s} %.9g\n", name, (int)(ll - 1), l, (double)sum * scale);
		put(o, "%s_count{%.*s} %llu\n", name, (int)(ll - 1), l, (unsigned long long)cum);
	} else {
		put(o, "%s_sum %.9g\n", name, (double)sum * scale);
		put(o, "%s_count %llu\n", name, (unsigned long long)cum);
	}
}

static void put_requests(struct out *o)
{
	header(o, "mnist_http_requests_total", "counter", "HTTP requests by route and status.");
	for (int r = 0; r < METRICS_ROUTE_COUNT; r++)
		for (int s = STATUS_MIN; s <= STATUS_MAX; s++) {
			uint64_t v = atomic_load_explicit(&m.requests[r][s - STATUS_MIN],
							  memory_order_relaxed);
			if (v)
				put(o,
				    "mnist_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
				    route_name[r], s, (unsigned long long)v);
		}
}

static int hist_empty(struct hist *h)
{
	for (int i = 0; i <= MAX_NB; i++)
		if (atomic_load_explicit(&h->bucket[i], memory_order_relaxed))
			return 0;
	return 1;
}

static void put_durations(struct out *o)
{
	char labels[64];

	header(o, "mnist_http_request_duration_seconds", "histogram",
	       "HTTP request latency from request to response, by route.");
	for (int r = 0; r < METRICS_ROUTE_COUNT; r++) {
		if (hist_empty(&m.http[r])) /* only routes in use: a shorter page */
			continue;
		snprintf(labels, sizeof labels, "route=\"%s\",", route_name[r]);
		put_hist(o, "mnist_http_request_duration_seconds", labels, &m.http[r], http_le_s,
			 HTTP_NB, 1e-9);
	}
	header(o, "mnist_inference_duration_seconds", "histogram",
	       "Worker decode and forward time of the batch each prediction ran in.");
	put_hist(o, "mnist_inference_duration_seconds", "", &m.infer, infer_le_s, INFER_NB, 1e-9);
	header(o, "mnist_batch_size", "histogram",
	       "Size of each batch the workers ran (one sample per batch, buckets up to "
	       "--max-batch).");
	put_hist(o, "mnist_batch_size", "", &m.batch, batch_le_s, batch_nb, 1);
	header(o, "mnist_batch_duration_seconds", "histogram",
	       "Forward time of each batch the workers ran (one sample per batch).");
	put_hist(o, "mnist_batch_duration_seconds", "", &m.forward, infer_le_s, INFER_NB, 1e-9);
	header(o, "mnist_worker_wait_seconds", "histogram",
	       "Time a request waited for a worker: from its hand-off to the workers until its "
	       "answer, less the worker's own decode and forward time (infer_us).");
	put_hist(o, "mnist_worker_wait_seconds", "", &m.wait, http_le_s, HTTP_NB, 1e-9);
	header(o, "mnist_images_inferred_total", "counter",
	       "Images the workers ran the model on (HTTP and api.sock).");
	put(o, "mnist_images_inferred_total %llu\n",
	    (unsigned long long)atomic_load_explicit(&m.images, memory_order_relaxed));
	header(o, "mnist_batches_total", "counter",
	       "Batches (forward passes) those images ran in.");
	put(o, "mnist_batches_total %llu\n",
	    (unsigned long long)atomic_load_explicit(&m.batches, memory_order_relaxed));
}

static void put_errors(struct out *o)
{
	header(o, "mnist_errors_total", "counter",
	       "Prediction requests (HTTP and api.sock) answered with an error, by reason.");
	for (int i = 0; i < METRICS_ERROR_COUNT; i++)
		put(o, "mnist_errors_total{reason=\"%s\"} %llu\n", error_name[i],
		    (unsigned long long)atomic_load_explicit(&m.errors[i], memory_order_relaxed));
	header(o, "mnist_api_requests_total", "counter",
	       "Requests answered on api.sock, by code (ok or the error code).");
	put(o, "mnist_api_requests_total{code=\"ok\"} %llu\n",
	    (unsigned long long)atomic_load_explicit(&m.api_ok, memory_order_relaxed));
	for (int i = 0; i < METRICS_ERROR_COUNT; i++)
		put(o, "mnist_api_requests_total{code=\"%s\"} %llu\n", error_name[i],
		    (unsigned long long)atomic_load_explicit(&m.api_errors[i],
							     memory_order_relaxed));
	header(o, "mnist_api_request_duration_seconds", "histogram",
	       "api.sock latency from request to answer.");
	put_hist(o, "mnist_api_request_duration_seconds", "", &m.api, http_le_s, HTTP_NB, 1e-9);
}

/* Resident set size in bytes from /proc/self/statm, or -1. */
static long long rss_bytes(void)
{
	char buf[128];
	unsigned long long size_pages, rss_pages;
	long page = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || page <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size_pages, &rss_pages) != 2)
		return -1;
	return (long long)(rss_pages * (unsigned long long)page);
}

/* Open descriptors: the entries of /proc/self/fd (less the one reading it),
 * or -1. */
static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

#ifndef MNIST_VERSION
#define MNIST_VERSION "unknown"
#endif

static void put_build(struct out *o)
{
	struct timespec cpu;
	struct rlimit rl;
	long fds = open_fds();

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0) {
		header(o, "process_cpu_seconds_total", "counter",
		       "Total user and system CPU time spent in seconds.");
		put(o, "process_cpu_seconds_total %.6f\n",
		    (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9);
	}
	if (fds >= 0) {
		header(o, "process_open_fds", "gauge", "Number of open file descriptors.");
		put(o, "process_open_fds %ld\n", fds);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		header(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		put(o, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
	header(o, "mnist_build_info", "gauge",
	       "Always 1; the labels say which build runs (version: git describe).");
	put(o, "mnist_build_info{version=\"%s\",compiler=\"%s\"} 1\n", MNIST_VERSION, __VERSION__);
}

static void put_process(struct out *o)
{
	struct timespec now;
	long long rss = rss_bytes();

	header(o, "mnist_workers_connected", "gauge",
	       "Inference worker processes connected to the frontend.");
	put(o, "mnist_workers_connected %ld\n",
	    atomic_load_explicit(&m.workers, memory_order_relaxed));
	header(o, "mnist_worker_connections", "gauge",
	       "Connections of those workers (a worker may hold several).");
	put(o, "mnist_worker_connections %ld\n",
	    atomic_load_explicit(&m.connections, memory_order_relaxed));
	header(o, "mnist_inflight_requests", "gauge", "Requests waiting for a worker's answer.");
	put(o, "mnist_inflight_requests %ld\n",
	    atomic_load_explicit(&m.inflight, memory_order_relaxed));
	header(o, "mnist_rejections_total", "counter",
	       "Requests refused: overload (503), no_worker (503), too_large (413), timeout (504), "
	       "connections (connection refused at --max-connections).");
	for (int i = 0; i < METRICS_REJECT_COUNT; i++)
		put(o, "mnist_rejections_total{reason=\"%s\"} %llu\n", reject_name[i],
		    (unsigned long long)atomic_load_explicit(&m.rejects[i], memory_order_relaxed));
	if (rss >= 0) {
		header(o, "process_resident_memory_bytes", "gauge",
		       "Resident memory size in bytes.");
		put(o, "process_resident_memory_bytes %lld\n", rss);
	}
	header(o, "process_start_time_seconds", "gauge",
	       "Start time of the process since the Unix epoch in seconds.");
	put(o, "process_start_time_seconds %.3f\n", m.start_unix);
	clock_gettime(CLOCK_MONOTONIC, &now);
	header(o, "mnist_uptime_seconds", "gauge", "Seconds since the frontend started.");
	put(o, "mnist_uptime_seconds %.3f\n",
	    (double)(now.tv_sec - m.start_mono.tv_sec) +
		(double)(now.tv_nsec - m.start_mono.tv_nsec) / 1e9);
}

int metrics_render(char **out, size_t *len)
{
	struct out o = {.cap = 8192};

	o.p = malloc(o.cap);
	if (!o.p)
		return ERR_NOMEM;
	o.p[0] = '\0';
	put_requests(&o);
	put_durations(&o);
	put_errors(&o);
	put_process(&o);
	put_build(&o);
	if (o.failed) {
		free(o.p);
		return ERR_NOMEM;
	}
	*out = o.p;
	*len = o.len;
	return 0;
}
