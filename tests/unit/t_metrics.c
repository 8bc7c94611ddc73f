/* metrics: exposition text, histogram buckets, label bounds, threads. */
#include "metrics.h"
#include "tap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char *render(void)
{
	char *buf = NULL;
	size_t len = 0;

	if (metrics_render(&buf, &len) != 0)
		return NULL;
	if (strlen(buf) != len) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The value of the sample line that starts with `series ` exactly, or -1. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static void test_routes(void)
{
	CHECK(metrics_route("/predict", 8) == METRICS_ROUTE_PREDICT, "route /predict");
	CHECK(metrics_route("/predict?probs=true", 19) == METRICS_ROUTE_PREDICT,
	      "route ignores the query");
	CHECK(metrics_route("/predictx", 9) == METRICS_ROUTE_OTHER, "route /predictx is other");
	CHECK(metrics_route("/health", 7) == METRICS_ROUTE_HEALTH, "route /health");
	CHECK(metrics_route("/metrics", 8) == METRICS_ROUTE_METRICS, "route /metrics");
	CHECK(metrics_route("/openapi.json", 13) == METRICS_ROUTE_OPENAPI, "route /openapi.json");
	CHECK(metrics_route("/docs", 5) == METRICS_ROUTE_DOCS, "route /docs");
	CHECK(metrics_route("/docs/swagger-ui.css", 20) == METRICS_ROUTE_DOCS, "route docs asset");
	CHECK(metrics_route("/docsx", 6) == METRICS_ROUTE_OTHER, "route /docsx is other");
	CHECK(metrics_route("/redoc/", 7) == METRICS_ROUTE_REDOC, "route /redoc/");
	CHECK(metrics_route("/", 1) == METRICS_ROUTE_OTHER, "route / is other");
	CHECK(metrics_route(NULL, 0) == METRICS_ROUTE_OTHER, "route NULL is other");
	/* Only the first len bytes count. */
	CHECK(metrics_route("/healthz", 7) == METRICS_ROUTE_HEALTH, "route honours len");
}

static void test_empty(void)
{
	char *t;

	metrics_init();
	t = render();
	CHECK(t != NULL, "render an empty registry");
	if (!t)
		return;
	CHECK(strstr(t, "# TYPE mnist_http_requests_total counter\n") != NULL, "requests TYPE");
	CHECK(sample(t, "mnist_workers_connected") == 0, "workers 0");
	CHECK(sample(t, "mnist_worker_connections") == 0, "connections 0");
	CHECK(sample(t, "mnist_inflight_requests") == 0, "inflight 0");
	CHECK(sample(t, "mnist_rejections_total{reason=\"timeout\"}") == 0,
	      "rejections are listed at 0");
	CHECK(sample(t, "mnist_batch_size_count") == 0, "empty batch histogram");
	CHECK(sample(t, "mnist_inference_duration_seconds_bucket{le=\"+Inf\"}") == 0,
	      "empty inference histogram");
	CHECK(sample(t, "process_resident_memory_bytes") > 1024 * 1024, "rss is plausible");
	CHECK(sample(t, "process_start_time_seconds") > 1.7e9, "start time is Unix time");
	CHECK(sample(t, "mnist_uptime_seconds") >= 0, "uptime present");
	CHECK(t[strlen(t) - 1] == '\n', "text ends with a newline");
	free(t);
}

static void test_counts(void)
{
	char *t;

	metrics_init();
	metrics_http(METRICS_ROUTE_PREDICT, 200, 0.0007);
	metrics_http(METRICS_ROUTE_PREDICT, 200, 0.003);
	metrics_http(METRICS_ROUTE_PREDICT, 400, 20.0); /* beyond the last bucket */
	metrics_http(METRICS_ROUTE_HEALTH, 503, 0.0001);
	metrics_http(METRICS_ROUTE_COUNT + 3, 42, -1.0); /* clamped: other, 599, 0 s */
	metrics_prediction(250, 1, true, 200);
	metrics_prediction(1500, 32, true, 1400);
	metrics_prediction(1500, 32, false, 0); /* not the lead: no batch sample */
	metrics_prediction(0, 0, false, 0);	/* unknown time: not in the histogram */
	metrics_worker_wait(0.0003);
	metrics_worker_wait(-1); /* clamped to 0 */
	metrics_error(METRICS_ERROR_INVALID_IMAGE);
	metrics_error(metrics_error_of("unsupported_type"));
	metrics_error(metrics_error_of("no such code")); /* internal */
	metrics_error(METRICS_ERROR_COUNT);		 /* ignored */
	metrics_api("ok", 0.002);
	metrics_api("too_large", 0.0001); /* an error: counted in mnist_errors_total too */
	metrics_set_workers(3, 4);
	metrics_inflight_add(2);
	metrics_inflight_add(-1);
	metrics_reject(METRICS_REJECT_OVERLOAD);
	metrics_reject(METRICS_REJECT_OVERLOAD);
	metrics_reject(METRICS_REJECT_COUNT); /* ignored */
	t = render();
	CHECK(t != NULL, "render");
	if (!t)
		return;
	CHECK(sample(t, "mnist_http_requests_total{route=\"/predict\",status=\"200\"}") == 2,
	      "2 predict 200");
	CHECK(sample(t, "mnist_http_requests_total{route=\"/predict\",status=\"400\"}") == 1,
	      "1 predict 400");
	CHECK(sample(t, "mnist_http_requests_total{route=\"/health\",status=\"503\"}") == 1,
	      "1 health 503");
	CHECK(sample(t, "mnist_http_requests_total{route=\"other\",status=\"599\"}") == 1,
	      "bad route and status are clamped");
	CHECK(sample(t, "mnist_http_requests_total{route=\"/metrics\",status=\"200\"}") == -1,
	      "unused series are left out");
	const char *b = "mnist_http_request_duration_seconds_bucket{route=\"/predict\",le=";
	char s[160];
	snprintf(s, sizeof s, "%s\"0.0005\"}", b);
	CHECK(sample(t, s) == 0, "predict bucket 0.0005 = 0");
	snprintf(s, sizeof s, "%s\"0.001\"}", b);
	CHECK(sample(t, s) == 1, "predict bucket 0.001 = 1");
	snprintf(s, sizeof s, "%s\"0.005\"}", b);
	CHECK(sample(t, s) == 2, "predict bucket 0.005 = 2 (cumulative)");
	snprintf(s, sizeof s, "%s\"10\"}", b);
	CHECK(sample(t, s) == 2, "predict bucket 10 = 2");
	snprintf(s, sizeof s, "%s\"+Inf\"}", b);
	CHECK(sample(t, s) == 3, "predict bucket +Inf = 3");
	CHECK(sample(t, "mnist_http_request_duration_seconds_count{route=\"/predict\"}") == 3,
	      "predict count 3");
	double sum = sample(t, "mnist_http_request_duration_seconds_sum{route=\"/predict\"}");
	CHECK(sum > 20.0036 && sum < 20.0038, "predict sum %.9f", sum);
	CHECK(sample(t, "mnist_http_request_duration_seconds_count{route=\"/redoc\"}") == -1,
	      "unused route histogram is left out");
	CHECK(sample(t, "mnist_inference_duration_seconds_bucket{le=\"0.00025\"}") == 1,
	      "inference 250 us lands in le=0.00025");
	CHECK(sample(t, "mnist_inference_duration_seconds_bucket{le=\"0.001\"}") == 1,
	      "inference 1.5 ms not in le=0.001");
	CHECK(sample(t, "mnist_inference_duration_seconds_count") == 3, "inference count 3");
	sum = sample(t, "mnist_inference_duration_seconds_sum");
	CHECK(sum > 0.003249 && sum < 0.003251, "inference sum %.9f", sum);
	CHECK(sample(t, "mnist_images_inferred_total") == 4, "4 images inferred");
	CHECK(sample(t, "mnist_batches_total") == 2, "in 2 batches (lead replies)");
	CHECK(sample(t, "mnist_batch_duration_seconds_count") == 2 &&
		  sample(t, "mnist_batch_duration_seconds_bucket{le=\"0.00025\"}") == 1,
	      "batch time: one sample per batch");
	CHECK(sample(t, "mnist_worker_wait_seconds_count") == 2 &&
		  sample(t, "mnist_worker_wait_seconds_bucket{le=\"0.0005\"}") == 2,
	      "worker wait: 2 samples, negative clamped");
	CHECK(sample(t, "mnist_errors_total{reason=\"invalid_image\"}") == 1 &&
		  sample(t, "mnist_errors_total{reason=\"unsupported_type\"}") == 1 &&
		  sample(t, "mnist_errors_total{reason=\"internal\"}") == 1 &&
		  sample(t, "mnist_errors_total{reason=\"too_large\"}") == 1 &&
		  sample(t, "mnist_errors_total{reason=\"timeout\"}") == 0,
	      "errors by reason (unknown code is internal, api.sock errors count)");
	CHECK(sample(t, "mnist_api_requests_total{code=\"ok\"}") == 1 &&
		  sample(t, "mnist_api_requests_total{code=\"too_large\"}") == 1 &&
		  sample(t, "mnist_api_request_duration_seconds_count") == 2,
	      "api.sock requests by code, and their latency");
	CHECK(sample(t, "process_cpu_seconds_total") > 0 && sample(t, "process_open_fds") >= 3,
	      "process cpu seconds and open fds");
	CHECK(strstr(t, "mnist_build_info{version=\"") != NULL, "build info");
	CHECK(sample(t, "mnist_batch_size_bucket{le=\"1\"}") == 1, "batch 1 in le=1");
	CHECK(sample(t, "mnist_batch_size_bucket{le=\"16\"}") == 1, "batch 32 not in le=16");
	CHECK(sample(t, "mnist_batch_size_bucket{le=\"32\"}") == 2, "batch 32 in le=32");
	CHECK(sample(t, "mnist_batch_size_sum") == 33, "batch sum 33");
	CHECK(sample(t, "mnist_workers_connected") == 3, "workers 3");
	CHECK(sample(t, "mnist_worker_connections") == 4, "their connections 4");
	CHECK(sample(t, "mnist_inflight_requests") == 1, "inflight 1");
	CHECK(sample(t, "mnist_rejections_total{reason=\"overload\"}") == 2, "2 overload");
	CHECK(sample(t, "mnist_rejections_total{reason=\"no_worker\"}") == 0, "0 no_worker");
	free(t);
	metrics_set_workers(-5, -1);
	t = render();
	CHECK(t && sample(t, "mnist_workers_connected") == 0, "negative workers clamp to 0");
	CHECK(t && sample(t, "mnist_worker_connections") == 0, "negative connections clamp to 0");
	free(t);
}

#define THREADS 4
#define ROUNDS 20000

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		metrics_inflight_add(1);
		metrics_http(METRICS_ROUTE_PREDICT, 200, 0.001 * (i % 7));
		metrics_prediction((uint32_t)(100 + i % 5000), (uint32_t)(1 + i % 32), true, 100);
		metrics_inflight_add(-1);
		if (i % 1000 == 0) {
			char *buf;
			size_t len;
			if (metrics_render(&buf, &len) == 0)
				free(buf);
		}
	}
	return NULL;
}

static void test_batch_buckets(void)
{
	char *t;

	metrics_init();
	metrics_set_max_batch(100);
	metrics_prediction(10, 100, true, 10);
	metrics_prediction(10, 3, true, 10);
	t = render();
	CHECK(t && sample(t, "mnist_batch_size_bucket{le=\"64\"}") == 1 &&
		  sample(t, "mnist_batch_size_bucket{le=\"100\"}") == 2 &&
		  !strstr(t, "mnist_batch_size_bucket{le=\"128\"}"),
	      "batch buckets 1, 2, 4, ... 64, 100 for --max-batch 100");
	free(t);
	metrics_set_max_batch(1024);
	t = render();
	CHECK(t && strstr(t, "mnist_batch_size_bucket{le=\"1024\"}"), "up to 1024");
	free(t);
}

static void test_threads(void)
{
	pthread_t th[THREADS];
	char *t;
	int started = 0;

	metrics_init();
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, hammer, NULL) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	CHECK(started == THREADS, "started %d threads", started);
	t = render();
	CHECK(t != NULL, "render after threads");
	if (!t)
		return;
	double n = (double)started * ROUNDS;
	CHECK(sample(t, "mnist_http_requests_total{route=\"/predict\",status=\"200\"}") == n,
	      "no lost request counts");
	CHECK(sample(t, "mnist_http_request_duration_seconds_count{route=\"/predict\"}") == n,
	      "no lost latency observations");
	CHECK(sample(t, "mnist_batch_size_count") == n, "no lost batch observations");
	CHECK(sample(t, "mnist_inflight_requests") == 0, "inflight back to 0");
	free(t);
}

int main(void)
{
	test_routes();
	test_empty();
	test_counts();
	test_batch_buckets();
	test_threads();
	return tap_done();
}
