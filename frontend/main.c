/*
 * mnist-frontend: flags and environment, signals, start-up and the drain on
 * SIGTERM/SIGINT. The modules: http.h (HTTP on h2o), backend.h (the REQ
 * socket to the workers), broker.h (api.sock), supervisor.h (spawned
 * workers). See --help.
 *
 * Signals are blocked in every thread (the mask is set before nng starts its
 * threads) and read from a signalfd watched by the h2o loop, so SIGCHLD,
 * SIGTERM and SIGINT are handled on the loop thread like any other event.
 */
#include "backend.h"
#include "broker.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "static.h"
#include "supervisor.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define URL_MAX (PATH_MAX + 16)

struct opts {
	const char *listen, *rundir, *workers_url, *api_url, *worker_bin, *weights;
	const char *max_batch, *www;
	size_t max_upload, max_inflight_bytes;
	unsigned long max_inflight, timeout_ms, resend_ms, spawn, broker_ctx, drain_ms;
};

enum state { RUNNING, DRAINING, STOPPING_WORKERS, DONE };

struct app {
	h2o_loop_t *loop;
	struct backend *backend;
	struct broker *broker;
	struct http_server *http;
	struct supervisor *sup;
	struct static_site *site;
	h2o_socket_t *sigsock;
	h2o_timeout_t watchdog;
	h2o_timeout_entry_t watchdog_entry;
	enum state state;
	uint64_t deadline;
	unsigned long drain_ms;
};

static void usage(FILE *f)
{
	fputs("usage: mnist-frontend [options]\n"
	      "  --listen HOST:PORT     HTTP address (MNIST_LISTEN, default 0.0.0.0:8000)\n"
	      "  --rundir DIR           socket directory (default $RUNTIME_DIRECTORY,\n"
	      "                         else $XDG_RUNTIME_DIR/mnist, else /tmp/mnist-$UID)\n"
	      "  --workers-url URL      where workers dial in (default ipc://RUNDIR/workers.sock)\n"
	      "  --api-url URL          msgpack broker for local callers (default\n"
	      "                         ipc://RUNDIR/api.sock)\n"
	      "  --max-upload SIZE      upload limit, e.g. 10M (MNIST_MAX_UPLOAD, default 10M)\n"
	      "  --max-inflight N       predictions at once (MNIST_MAX_INFLIGHT, default 256)\n"
	      "  --max-inflight-bytes SIZE  image bytes held in flight (MNIST_MAX_INFLIGHT_BYTES,\n"
	      "                         default 64M; 503 above it)\n"
	      "  --timeout-ms N         worker answer deadline (MNIST_TIMEOUT_MS, default 10000)\n"
	      "  --resend-ms N          nng resend timer, keep above --timeout-ms (default 60000;\n"
	      "                         a silent worker's requests are resent after ~1 s anyway)\n"
	      "  --spawn-workers N|auto start and supervise N workers (MNIST_WORKERS, default 0;\n"
	      "                         auto = number of CPUs)\n"
	      "  --worker-bin PATH      worker binary (default: mnist-worker next to this one)\n"
	      "  --weights PATH         passed to spawned workers (MNIST_WEIGHTS)\n"
	      "  --max-batch N          passed to spawned workers (MNIST_MAX_BATCH)\n"
	      "  --www DIR              API docs tree (default: see frontend/static.h)\n"
	      "  --drain-ms N           shutdown drain bound (default 5000)\n"
	      "  --log-level LEVEL      debug, info, warn, error (MNIST_LOG_LEVEL, default info)\n",
	      f);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_num(const char *flag, const char *v, unsigned long min, unsigned long max,
		     unsigned long *out)
{
	if (config_parse_ulong(v, min, max, out) != 0) {
		fprintf(stderr, "mnist-frontend: %s wants a number in [%lu, %lu], got \"%s\"\n",
			flag, min, max, v);
		return -1;
	}
	return 0;
}

static int parse_spawn(const char *v, unsigned long *out)
{
	if (strcasecmp(v, "auto") == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		*out = n > 0 ? (unsigned long)n : 1;
		return 0;
	}
	return parse_num("--spawn-workers", v, 0, 256, out);
}

static int set_level(const char *v)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (strcasecmp(v, names[i]) == 0) {
			log_set_level((enum log_level)i);
			return 0;
		}
	fprintf(stderr, "mnist-frontend: unknown log level \"%s\"\n", v);
	return -1;
}

/* Environment first, then flags over it. Returns 0, 1 (--help) or -1. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *v;

	*o = (struct opts){.listen = config_env("MNIST_LISTEN", "0.0.0.0:8000"),
			   .weights = config_env("MNIST_WEIGHTS", NULL),
			   .max_batch = config_env("MNIST_MAX_BATCH", NULL),
			   .worker_bin = config_env("MNIST_WORKER_BIN", NULL),
			   .max_upload = (size_t)10 << 20,
			   .max_inflight = 256,
			   .max_inflight_bytes = (size_t)64 << 20,
			   .timeout_ms = 10000,
			   .resend_ms = 60000,
			   .broker_ctx = 32,
			   .drain_ms = 5000};
	if ((v = config_env("MNIST_MAX_UPLOAD", NULL)) && config_parse_size(v, &o->max_upload)) {
		fprintf(stderr, "mnist-frontend: bad MNIST_MAX_UPLOAD \"%s\"\n", v);
		return -1;
	}
	if ((v = config_env("MNIST_MAX_INFLIGHT_BYTES", NULL)) &&
	    config_parse_size(v, &o->max_inflight_bytes)) {
		fprintf(stderr, "mnist-frontend: bad MNIST_MAX_INFLIGHT_BYTES \"%s\"\n", v);
		return -1;
	}
	if ((v = config_env("MNIST_MAX_INFLIGHT", NULL)) &&
	    parse_num("MNIST_MAX_INFLIGHT", v, 1, 100000, &o->max_inflight))
		return -1;
	if ((v = config_env("MNIST_TIMEOUT_MS", NULL)) &&
	    parse_num("MNIST_TIMEOUT_MS", v, 1, 3600000, &o->timeout_ms))
		return -1;
	if ((v = config_env("MNIST_WORKERS", NULL)) && parse_spawn(v, &o->spawn))
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		}
		if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "mnist-frontend: unknown or incomplete option \"%s\"\n", a);
			usage(stderr);
			return -1;
		}
		v = argv[++i];
		if (!strcmp(a, "--listen")) {
			o->listen = v;
		} else if (!strcmp(a, "--rundir")) {
			o->rundir = v;
		} else if (!strcmp(a, "--workers-url")) {
			o->workers_url = v;
		} else if (!strcmp(a, "--api-url")) {
			o->api_url = v;
		} else if (!strcmp(a, "--worker-bin")) {
			o->worker_bin = v;
		} else if (!strcmp(a, "--weights")) {
			o->weights = v;
		} else if (!strcmp(a, "--max-batch")) {
			o->max_batch = v;
		} else if (!strcmp(a, "--www")) {
			o->www = v;
		} else if (!strcmp(a, "--max-upload")) {
			if (config_parse_size(v, &o->max_upload) || o->max_upload == 0 ||
			    o->max_upload > ((size_t)1 << 30)) {
				fprintf(stderr, "mnist-frontend: bad --max-upload \"%s\"\n", v);
				return -1;
			}
		} else if (!strcmp(a, "--max-inflight-bytes")) {
			if (config_parse_size(v, &o->max_inflight_bytes) ||
			    o->max_inflight_bytes == 0) {
				fprintf(stderr, "mnist-frontend: bad --max-inflight-bytes \"%s\"\n",
					v);
				return -1;
			}
		} else if (!strcmp(a, "--max-inflight")) {
			if (parse_num(a, v, 1, 100000, &o->max_inflight))
				return -1;
		} else if (!strcmp(a, "--timeout-ms")) {
			if (parse_num(a, v, 1, 3600000, &o->timeout_ms))
				return -1;
		} else if (!strcmp(a, "--resend-ms")) {
			if (parse_num(a, v, 1, 3600000, &o->resend_ms))
				return -1;
		} else if (!strcmp(a, "--drain-ms")) {
			if (parse_num(a, v, 0, 600000, &o->drain_ms))
				return -1;
		} else if (!strcmp(a, "--spawn-workers")) {
			if (parse_spawn(v, &o->spawn))
				return -1;
		} else if (!strcmp(a, "--log-level")) {
			if (set_level(v))
				return -1;
		} else {
			fprintf(stderr, "mnist-frontend: unknown option \"%s\"\n", a);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

/* mnist-worker in the directory of this executable. */
static int default_worker_bin(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	int k;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	k = snprintf(out, len, "%s/mnist-worker", dirname(self));
	return k < 0 || (size_t)k >= len ? -1 : 0;
}

/* The URL to paste into a browser or curl: a wildcard address becomes
 * localhost. */
static void print_url(const char *listen, int port)
{
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : 0;
	int wild = n == 0 || (n == 7 && !strncmp(listen, "0.0.0.0", 7)) ||
		   (n == 4 && !strncmp(listen, "[::]", 4));

	if (wild)
		printf("mnist-frontend: serving on http://localhost:%d/\n", port);
	else
		printf("mnist-frontend: serving on http://%.*s:%d/\n", (int)n, listen, port);
	fflush(stdout);
}

static void unlink_ipc(const char *url)
{
	if (url && !strncmp(url, "ipc://", 6))
		unlink(url + 6);
}

static void begin_shutdown(struct app *app, int sig)
{
	if (app->state != RUNNING) {
		log_warn("signal %d again: stopping now", sig);
		app->drain_ms = 0;
		app->deadline = 0;
		return;
	}
	log_info("signal %d: draining %zu request(s), then stopping", sig,
		 backend_inflight(app->backend));
	sd_notify(0, "STOPPING=1");
	http_stop_accepting(app->http);
	app->state = DRAINING;
	app->deadline = now_ms() + app->drain_ms;
}

static void on_signal(h2o_socket_t *sock, const char *err)
{
	struct app *app = sock->data;
	struct signalfd_siginfo si;

	if (err)
		return;
	while (read(h2o_socket_get_fd(sock), &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			supervisor_reap(app->sup);
		else
			begin_shutdown(app, (int)si.ssi_signo);
	}
}

static void on_watchdog(h2o_timeout_entry_t *entry)
{
	struct app *app = H2O_STRUCT_FROM_MEMBER(struct app, watchdog_entry, entry);
	sd_notify(0, "WATCHDOG=1");
	h2o_timeout_link(app->loop, &app->watchdog, &app->watchdog_entry);
}

static void start_watchdog(struct app *app)
{
	uint64_t usec;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return;
	h2o_timeout_init(app->loop, &app->watchdog, usec / 2000 ? usec / 2000 : 1);
	app->watchdog_entry.cb = on_watchdog;
	h2o_timeout_link(app->loop, &app->watchdog, &app->watchdog_entry);
}

/* Advance the shutdown after each loop iteration. */
static void step(struct app *app)
{
	uint64_t now = now_ms();

	if (app->state == DRAINING &&
	    (backend_inflight(app->backend) == 0 || now >= app->deadline)) {
		if (backend_inflight(app->backend))
			log_warn("drain time is up with %zu request(s) in flight",
				 backend_inflight(app->backend));
		supervisor_stop(app->sup);
		app->state = STOPPING_WORKERS;
		app->deadline = now + 3000;
	}
	if (app->state == STOPPING_WORKERS &&
	    (supervisor_running(app->sup) == 0 || now >= app->deadline)) {
		supervisor_kill(app->sup);
		app->state = DONE;
	}
}

static int block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int start(struct app *app, const struct opts *o, const char *workers_url,
		 const char *api_url, char *err)
{
	struct backend_opts bo = {.url = workers_url,
				  .timeout_ms = (int)o->timeout_ms,
				  .resend_ms = (int)o->resend_ms,
				  .max_inflight = o->max_inflight};
	struct http_opts ho = {.listen = o->listen,
			       .max_upload = o->max_upload,
			       .max_inflight_bytes = o->max_inflight_bytes,
			       .retry_after_s = 1};
	char bin[PATH_MAX];
	int rc;

	if ((rc = backend_open(&bo, app->loop, &app->backend, err)) != 0)
		return rc;
	if ((rc = broker_open(api_url, app->backend, o->broker_ctx, o->max_upload + (64u << 10),
			      &app->broker, err)) != 0)
		return rc;
	if ((rc = static_load(o->www ? o->www : static_default_dir(), &app->site, err)) != 0) {
		log_warn("API docs not served: %s", err);
		app->site = NULL;
	}
	if ((rc = http_start(&ho, app->loop, app->backend, app->site, &app->http, err)) != 0)
		return rc;
	if (o->spawn > 0) {
		struct supervisor_opts so = {.count = o->spawn,
					     .worker_bin = o->worker_bin,
					     .connect = workers_url,
					     .weights = o->weights,
					     .max_batch = o->max_batch};
		if (!so.worker_bin) {
			if (default_worker_bin(bin, sizeof bin) != 0)
				return err_set(err, ERR_IO, "cannot locate mnist-worker");
			so.worker_bin = bin;
		}
		if ((rc = supervisor_start(&so, app->loop, &app->sup, err)) != 0)
			return rc;
	}
	return 0;
}

static void stop(struct app *app, const char *workers_url, const char *api_url)
{
	/* A socket libnng cannot close stays allocated (nngclose.h), and the
	 * broker's callbacks use the backend: keep both then. */
	if (broker_close(app->broker) == 0)
		backend_close(app->backend);
	http_free(app->http);
	supervisor_free(app->sup);
	static_free(app->site);
	unlink_ipc(workers_url);
	unlink_ipc(api_url);
}

int main(int argc, char **argv)
{
	static struct app app;
	struct opts o;
	char rundir[PATH_MAX], wurl[URL_MAX], aurl[URL_MAX], err[ERR_MAX];
	const char *workers_url, *api_url;
	int sfd, rc;

	log_init(argv[0]);
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc > 0 ? 0 : 2;
	if ((sfd = block_signals()) < 0) {
		log_error("cannot set up signals: %s", strerror(errno));
		return 1;
	}
	workers_url = o.workers_url;
	api_url = o.api_url;
	if (!workers_url || !api_url) {
		if (config_rundir(o.rundir, rundir, sizeof rundir, err) ||
		    config_ipc_url(rundir, CONFIG_WORKERS_SOCK, wurl, sizeof wurl, err) ||
		    config_ipc_url(rundir, CONFIG_API_SOCK, aurl, sizeof aurl, err)) {
			log_error("%s", err);
			return 1;
		}
		workers_url = workers_url ? workers_url : wurl;
		api_url = api_url ? api_url : aurl;
	}
	metrics_init();
	app.loop = h2o_evloop_create();
	app.drain_ms = o.drain_ms;
	if (start(&app, &o, workers_url, api_url, err) != 0) {
		log_error("%s", err);
		stop(&app, workers_url, api_url);
		return 1;
	}
	app.sigsock = h2o_evloop_socket_create(app.loop, sfd, H2O_SOCKET_FLAG_DONT_READ);
	app.sigsock->data = &app;
	h2o_socket_read_start(app.sigsock, on_signal);
	start_watchdog(&app);
	log_info("serving on http://%s (workers: %s, api: %s, spawning %lu)", o.listen, workers_url,
		 api_url, o.spawn);
	print_url(o.listen, http_port(app.http));
	sd_notify(0, "READY=1");
	while (app.state != DONE) {
		h2o_evloop_run(app.loop, app.state == RUNNING ? INT32_MAX : 50);
		step(&app);
	}
	/* Let the last answers go out (draining answers say Connection: close). */
	for (int i = 0; i < 50 && http_busy(app.http); i++)
		h2o_evloop_run(app.loop, 10);
	stop(&app, workers_url, api_url);
	h2o_socket_read_stop(app.sigsock);
	h2o_socket_close(app.sigsock);
	log_info("stopped");
	return 0;
}
