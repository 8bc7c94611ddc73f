/*
 * mnist-frontend: flags and environment, signals, start-up and the drain on
 * SIGTERM/SIGINT. The modules: options.h (flags and environment), http.h
 * (HTTP on h2o), backend.h (the REQ socket to the workers), broker.h
 * (api.sock), supervisor.h (spawned workers). See --help.
 *
 * Descriptors: at start the RLIMIT_NOFILE soft limit is raised to the hard
 * limit, and --max-connections is kept DESCRIPTOR_RESERVE below it (nng
 * pipes to workers and callers, the loop, files), so HTTP clients alone
 * can never exhaust the descriptors.
 *
 * Signals are blocked in every thread (the mask is set before nng starts its
 * threads) and read from a signalfd watched by the h2o loop, so SIGCHLD,
 * SIGTERM and SIGINT are handled on the loop thread like any other event.
 */
#include "backend.h"
#include "broker.h"
#include "clock.h"
#include "config.h"
#include "cors.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "static.h"
#include "supervisor.h"
#include "tls.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define URL_MAX (PATH_MAX + 16)
/* msgpack framing allowed on top of an image of --max-upload bytes. */
#define BROKER_FRAMING ((size_t)64 << 10)
#define DESCRIPTOR_RESERVE 256
#define DEFAULT_MAX_CONNECTIONS 16384

enum state { RUNNING, DRAINING, STOPPING_WORKERS, DONE };

struct app {
	h2o_loop_t *loop;
	struct backend *backend;
	struct admit admit; /* predictions in flight, HTTP and api.sock */
	struct broker *broker;
	struct http_server *http;
	struct supervisor *sup;
	struct static_site *site;
	struct cors *cors; /* --cors-origins, NULL: off */
	h2o_socket_t *sigsock;
	h2o_timeout_t watchdog;
	h2o_timeout_entry_t watchdog_entry;
	enum state state;
	uint64_t deadline;
	unsigned long drain_ms;
};

/* Raise the soft descriptor limit to the hard one; return the connection
 * cap that fits under it (wanted, 0 for the default, lowered if needed). */
static size_t fit_connections(unsigned long wanted)
{
	struct rlimit rl;
	rlim_t room;
	size_t fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return wanted ? wanted : 1024 - DESCRIPTOR_RESERVE;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = old;
	}
	room = rl.rlim_cur > 2 * DESCRIPTOR_RESERVE ? rl.rlim_cur - DESCRIPTOR_RESERVE
						    : rl.rlim_cur / 2;
	fit = room > DEFAULT_MAX_CONNECTIONS ? DEFAULT_MAX_CONNECTIONS : (size_t)room;
	if (!wanted)
		return fit ? fit : 1;
	if ((rlim_t)wanted > room) {
		log_warn("--max-connections %lu does not fit the descriptor limit %llu: using %llu",
			 wanted, (unsigned long long)rl.rlim_cur, (unsigned long long)room);
		return room ? (size_t)room : 1;
	}
	return wanted;
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
		 admit_requests(&app->admit));
	sd_notify(0, "STOPPING=1");
	http_stop_accepting(app->http);
	broker_drain(app->broker);
	app->state = DRAINING;
	app->deadline = clock_ms() + app->drain_ms;
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
		else if (si.ssi_signo == SIGHUP)
			log_info("SIGHUP: asked %zu spawned worker(s) to reload their weights",
				 supervisor_signal(app->sup, SIGHUP));
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
	uint64_t now = clock_ms();

	if (app->state == DRAINING && (admit_requests(&app->admit) == 0 || now >= app->deadline)) {
		if (admit_requests(&app->admit))
			log_warn("drain time is up with %zu request(s) in flight",
				 admit_requests(&app->admit));
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
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int start(struct app *app, const struct options *o, const char *workers_url,
		 const char *api_url, char *err)
{
	struct backend_opts bo = {.url = workers_url,
				  .tls_cert = o->tls_cert,
				  .tls_key = o->tls_key,
				  .tls_ca = o->tls_ca,
				  .trusted_network = o->trusted_network != 0,
				  .timeout_ms = (int)o->timeout_ms,
				  .resend_ms = (int)o->resend_ms,
				  .max_inflight = o->max_inflight,
				  .silent_ms = (int)o->worker_silent_ms};
	struct http_opts ho = {.listen = o->listen,
			       .max_upload = o->max_upload,
			       .admit = &app->admit,
			       .retry_after_s = 1,
			       .max_connections = fit_connections(o->max_connections),
			       .idle_timeout_ms = (unsigned)o->idle_timeout_ms};
	struct broker_opts bro = {
	    .url = api_url, .contexts = o->broker_ctx, .max_msg = o->max_upload + BROKER_FRAMING};
	char bin[PATH_MAX];
	int rc;

	if ((rc = cors_parse(o->cors_origins, &app->cors, err)) != 0)
		return rc;
	ho.cors = app->cors;
	admit_init(&app->admit, o->max_inflight, o->max_inflight_bytes);
	if ((rc = backend_open(&bo, app->loop, &app->backend, err)) != 0)
		return rc;
	if ((rc = broker_open(&bro, app->backend, &app->admit, &app->broker, err)) != 0)
		return rc;
	if ((rc = static_load(o->www ? o->www : static_default_dir(), &app->site, err)) != 0) {
		log_warn("API docs not served: %s", err);
		app->site = NULL;
	}
	if ((rc = http_start(&ho, app->loop, app->backend, app->site, &app->http, err)) != 0)
		return rc;
	log_info("HTTP: at most %zu connections, idle timeout %u ms", ho.max_connections,
		 ho.idle_timeout_ms);
	if (o->spawn > 0 && tls_url_is_tls(workers_url))
		return err_set(err, ERR_INVALID,
			       "--spawn-workers with a tls+tcp:// --workers-url: spawned workers "
			       "would need a clientAuth certificate; start them apart "
			       "(docs/scaling.md) or use the default ipc:// link");
	if (o->spawn > 0) {
		struct supervisor_opts so = {.count = o->spawn,
					     .worker_bin = o->worker_bin,
					     .connect = workers_url,
					     .weights = o->weights,
					     .max_batch = o->max_batch,
					     .pin = o->pin_workers != 0};
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
	cors_free(app->cors);
	unlink_ipc(workers_url);
	unlink_ipc(api_url);
}

int main(int argc, char **argv)
{
	static struct app app;
	struct options o;
	char rundir[PATH_MAX], wurl[URL_MAX], aurl[URL_MAX], err[ERR_MAX];
	const char *workers_url, *api_url;
	int sfd, rc;

	log_init(argv[0]);
	if ((rc = options_parse(argc, argv, &o)) != 0)
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
	if (o.max_batch) { /* the batch-size buckets end at the workers' --max-batch */
		unsigned long mb;
		if (config_parse_ulong(o.max_batch, 1, 4096, &mb) == 0)
			metrics_set_max_batch((unsigned)mb);
	}
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
	if (log_get_format() == LOG_TEXT) /* JSON: the output holds JSON lines only */
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
