/*
 * mnist-worker: load the model, dial the frontend, serve batches until
 * SIGTERM or SIGINT, then answer what was received and exit 0. SIGHUP
 * reloads the weights without dropping a request (worker/reload.h).
 *
 *   mnist-worker [--connect URL] [--rundir DIR] [--weights PATH]
 *                [--max-batch N] [--contexts N] [--max-message SIZE]
 *                [--decode-threads N] [--decode-backlog MP] [--precision P]
 *
 * Signals are blocked in every thread and taken by sigtimedwait() in main,
 * so no handler runs in the middle of nng or the model. Between signals main
 * sends the systemd watchdog keep-alive, only while serve_alive() says every
 * worker thread makes progress.
 */
#include "clock.h"
#include "config.h"
#include "err.h"
#include "image.h"
#include "links.h"
#include "log.h"
#include "model.h"
#include "proto.h"
#include "reload.h"
#include "serve.h"

#include <errno.h>
#include <getopt.h>
#include <nng/nng.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define DEFAULT_MAX_BATCH "32"
#define MAX_BATCH_LIMIT 1024
#define DEFAULT_MAX_MESSAGE ((size_t)16 << 20)
#define DEFAULT_DECODE_THREADS "2"
#define DECODE_THREADS_LIMIT 64
#define DEFAULT_DECODE_BACKLOG "80"
#define DECODE_BACKLOG_LIMIT 100000
#define STOP_TIMEOUT_MS 10000
#define STRANDED_MS 5000
#define RESOLVE_MS 5000

struct options {
	const char *urls[LINKS_MAX_URLS];
	int nurls;
	struct tls_files tls;
	bool trusted;
	const char *rundir;
	const char *weights;
	unsigned long max_batch;
	unsigned long contexts; /* 0 = same as max_batch */
	size_t max_message;
	unsigned long decode_threads;
	unsigned long decode_backlog; /* megapixels */
	enum model_precision precision;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mnist-worker [options]\n"
		"  --connect URL       frontend endpoint to dial (default "
		"ipc://<rundir>/workers.sock);\n"
		"                      repeat it for several frontends; a host name is dialed at\n"
		"                      each of its addresses, looked up again every 5 s\n"
		"  --tls-cert FILE     this worker's certificate for tls+tcp:// ($MNIST_TLS_CERT)\n"
		"  --tls-key FILE      its private key ($MNIST_TLS_KEY)\n"
		"  --tls-ca FILE       the CA every frontend's certificate must chain to "
		"($MNIST_TLS_CA)\n"
		"  --trusted-network   allow plain tcp:// off loopback ($MNIST_TRUSTED_NETWORK=1)\n"
		"  --rundir DIR        run directory (default $RUNTIME_DIRECTORY, "
		"$XDG_RUNTIME_DIR/mnist or /tmp/mnist-$UID)\n"
		"  --weights PATH      model weights (default $MNIST_WEIGHTS or %s)\n"
		"  --max-batch N       largest batch per forward (default $MNIST_MAX_BATCH or "
		"%s)\n"
		"  --contexts N        requests held at once (default: max batch)\n"
		"  --max-message SIZE  larger requests get a too_large reply (default 16M)\n"
		"  --decode-threads N  image decode threads (default $MNIST_DECODE_THREADS or "
		"%s)\n"
		"  --decode-backlog MP megapixels of images waiting to be decoded before a large\n"
		"                      one is answered unavailable (default $MNIST_DECODE_BACKLOG\n"
		"                      or %s)\n"
		"  --precision P       fp32, int8 or auto: int8 where the CPU has VNNI and the\n"
		"                      int8 weights are there (default $MNIST_PRECISION or auto)\n"
		"  --log-format F      text or json, one object per line (default\n"
		"                      $MNIST_LOG_FORMAT or text)\n"
		"SIGHUP reloads the weights (the same files, checked as at start).\n",
		CONFIG_DEFAULT_WEIGHTS, DEFAULT_MAX_BATCH, DEFAULT_DECODE_THREADS,
		DEFAULT_DECODE_BACKLOG);
}

/* Returns 0, 1 for --help, or -1 after printing what was wrong. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"connect", required_argument, NULL, 'c'},
	    {"rundir", required_argument, NULL, 'r'},
	    {"weights", required_argument, NULL, 'w'},
	    {"max-batch", required_argument, NULL, 'b'},
	    {"contexts", required_argument, NULL, 'n'},
	    {"max-message", required_argument, NULL, 'm'},
	    {"decode-threads", required_argument, NULL, 'd'},
	    {"decode-backlog", required_argument, NULL, 'l'},
	    {"precision", required_argument, NULL, 'p'},
	    {"log-format", required_argument, NULL, 'f'},
	    {"tls-cert", required_argument, NULL, 'C'},
	    {"tls-key", required_argument, NULL, 'K'},
	    {"tls-ca", required_argument, NULL, 'A'},
	    {"trusted-network", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *batch = config_env("MNIST_MAX_BATCH", DEFAULT_MAX_BATCH);
	const char *decoders = config_env("MNIST_DECODE_THREADS", DEFAULT_DECODE_THREADS);
	const char *backlog = config_env("MNIST_DECODE_BACKLOG", DEFAULT_DECODE_BACKLOG);
	const char *precision = config_env("MNIST_PRECISION", "auto");
	const char *contexts = NULL, *maxmsg = NULL;
	enum log_format format;
	int c;

	memset(o, 0, sizeof *o);
	o->weights = config_env("MNIST_WEIGHTS", CONFIG_DEFAULT_WEIGHTS);
	o->max_message = DEFAULT_MAX_MESSAGE;
	o->tls =
	    (struct tls_files){config_env("MNIST_TLS_CERT", NULL),
			       config_env("MNIST_TLS_KEY", NULL), config_env("MNIST_TLS_CA", NULL)};
	o->trusted = !strcmp(config_env("MNIST_TRUSTED_NETWORK", "0"), "1");
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (o->nurls == LINKS_MAX_URLS) {
				fprintf(stderr, "mnist-worker: at most %d --connect\n",
					LINKS_MAX_URLS);
				return -1;
			}
			o->urls[o->nurls++] = optarg;
			break;
		case 'C': o->tls.cert = optarg; break;
		case 'K': o->tls.key = optarg; break;
		case 'A': o->tls.ca = optarg; break;
		case 'T': o->trusted = true; break;
		case 'r': o->rundir = optarg; break;
		case 'w': o->weights = optarg; break;
		case 'b': batch = optarg; break;
		case 'n': contexts = optarg; break;
		case 'm': maxmsg = optarg; break;
		case 'd': decoders = optarg; break;
		case 'l': backlog = optarg; break;
		case 'p': precision = optarg; break;
		case 'f':
			if (log_format_parse(optarg, &format) != 0) {
				fprintf(
				    stderr,
				    "mnist-worker: --log-format must be text or json, got '%s'\n",
				    optarg);
				return -1;
			}
			log_set_format(format);
			break;
		case 'h': return 1;
		default: return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mnist-worker: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (config_parse_ulong(batch, 1, MAX_BATCH_LIMIT, &o->max_batch)) {
		fprintf(stderr, "mnist-worker: max batch must be 1..%d, got '%s'\n",
			MAX_BATCH_LIMIT, batch);
		return -1;
	}
	if (model_precision_parse(precision, &o->precision) != 0) {
		fprintf(stderr, "mnist-worker: precision must be fp32, int8 or auto, got '%s'\n",
			precision);
		return -1;
	}
	if (contexts && config_parse_ulong(contexts, 1, 4096, &o->contexts)) {
		fprintf(stderr, "mnist-worker: --contexts must be 1..4096, got '%s'\n", contexts);
		return -1;
	}
	if (config_parse_ulong(decoders, 1, DECODE_THREADS_LIMIT, &o->decode_threads)) {
		fprintf(stderr, "mnist-worker: decode threads must be 1..%d, got '%s'\n",
			DECODE_THREADS_LIMIT, decoders);
		return -1;
	}
	if (config_parse_ulong(backlog, 1, DECODE_BACKLOG_LIMIT, &o->decode_backlog)) {
		fprintf(stderr, "mnist-worker: decode backlog must be 1..%d megapixels, got '%s'\n",
			DECODE_BACKLOG_LIMIT, backlog);
		return -1;
	}
	if (maxmsg && (config_parse_size(maxmsg, &o->max_message) || o->max_message < 1024)) {
		fprintf(stderr, "mnist-worker: bad --max-message '%s'\n", maxmsg);
		return -1;
	}
	return 0;
}

/* The URL to dial: the flag (for logs: the first of them), else the run
 * directory's socket. */
static int resolve_url(const struct options *o, char *url, size_t len, char *err)
{
	char rundir[PATH_MAX];
	int rc;

	if (o->nurls) {
		int k = snprintf(url, len, "%s%s", o->urls[0], o->nurls > 1 ? " and more" : "");
		return k < 0 || (size_t)k >= len
			   ? err_set(err, ERR_INVALID, "--connect URL too long")
			   : 0;
	}
	rc = config_rundir(o->rundir, rundir, sizeof rundir, err);
	if (rc)
		return rc;
	return config_ipc_url(rundir, CONFIG_WORKERS_SOCK, url, len, err);
}

/* Wait for a signal in set; returns it, or 0 when the socket is stranded
 * (serve.h). Every wd_usec/2 meanwhile (when the systemd watchdog is on),
 * send WATCHDOG=1 if every worker thread makes progress; a stuck thread
 * withholds it and systemd restarts the worker. */
static int wait_for_signal(const sigset_t *set, struct server *srv, struct links *links,
			   uint64_t wd_usec)
{
	uint64_t tick = wd_usec && wd_usec / 2 < 1000000u ? wd_usec / 2 : 1000000u;
	struct timespec period = {(time_t)(tick / 1000000u), (long)(tick % 1000000u * 1000u)};
	bool warned = false;

	for (;;) {
		int sig = sigtimedwait(set, NULL, &period);
		if (sig > 0)
			return sig;
		if (errno != EAGAIN)
			continue;
		links_tick(links, clock_ms(), RESOLVE_MS);
		if (serve_stranded(srv, STRANDED_MS))
			return 0;
		if (!wd_usec)
			continue;
		if (serve_alive(srv)) {
			sd_notify(0, "WATCHDOG=1");
			warned = false;
		} else if (!warned) {
			log_warn("a worker thread is stuck: withholding the watchdog keep-alive");
			warned = true;
		}
	}
}

static uint64_t quiet_ms(void *srv, uint32_t dialer)
{
	return serve_dialer_quiet_ms(srv, dialer);
}

int main(int argc, char **argv)
{
	struct options o;
	struct serve_config cfg;
	struct serve_stats st;
	struct model_opts mo;
	char err[ERR_MAX] = "", url[PATH_MAX + 16], loaded[PATH_MAX], what[ERR_MAX + 64];
	sigset_t set;
	struct model *m = NULL;
	struct server *srv = NULL;
	struct links *links = NULL;
	uint64_t wd_usec = 0;
	int rc;

	log_init("mnist-worker");
	rc = parse_args(argc, argv, &o);
	if (rc) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	/* Block before any thread exists (nng and the compute thread inherit). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (resolve_url(&o, url, sizeof url, err)) {
		log_error("%s", err);
		return 1;
	}
	mo = (struct model_opts){.max_batch = (int)o.max_batch, .precision = o.precision};
	rc = reload_open(o.weights, &mo, &m, err);
	if (rc) {
		log_error("cannot load weights: %s", err);
		return 1;
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.url = url;
	cfg.max_batch = (int)o.max_batch;
	cfg.contexts = (int)(o.contexts ? o.contexts : o.max_batch);
	cfg.max_message = o.max_message;
	cfg.decode_threads = (int)o.decode_threads;
	cfg.decode_backlog = (uint64_t)o.decode_backlog * 1000000u;
	img_limits_default(&cfg.limits);
	if (sd_watchdog_enabled(0, &wd_usec) <= 0)
		wd_usec = 0;
	rc = serve_start(&cfg, m, &srv, err);
	if (rc) {
		log_error("%s", err);
		model_free(m);
		return 1;
	}
	sd_notifyf(0, "READY=1\nSTATUS=dialing %s, max batch %d", url, cfg.max_batch);
	reload_loaded_path(o.weights, m, loaded, sizeof loaded);
	reload_describe(loaded, what, sizeof what);
	log_info("serving %s: weights %s (%s, %s), max batch %d, %d contexts, %d decode threads, "
		 "decode backlog %lu MP",
		 url, loaded, model_precision_name(model_precision(m)), what, cfg.max_batch,
		 cfg.contexts, cfg.decode_threads, o.decode_backlog);

	const char *dial[] = {url};
	rc = links_open(serve_socket(srv), o.nurls ? o.urls : dial, o.nurls ? o.nurls : 1, &o.tls,
			o.trusted, quiet_ms, srv, &links, err);
	if (rc) {
		log_error("%s", err);
		serve_stop(srv, STOP_TIMEOUT_MS, &st);
		model_free(m);
		return 1;
	}
	int sig;
	while ((sig = wait_for_signal(&set, srv, links, wd_usec)) == SIGHUP) {
		sd_notify(0, "RELOADING=1");
		reload_weights(o.weights, &mo, srv, &m);
		sd_notify(0, "READY=1");
	}
	sd_notify(0, "STOPPING=1");
	if (sig)
		log_info("signal %d: answering in-flight requests, then exiting", sig);
	else
		log_error("disconnected for %d s although %s accepts connections: libnng stopped "
			  "redialing; exiting so that a supervisor starts a fresh worker",
			  STRANDED_MS / 1000, url);
	rc = serve_stop(srv, STOP_TIMEOUT_MS, &st);
	links_free(links);
	model_free(m);
	if (!st.socket_stuck)
		nng_fini(); /* nng's own threads, so leak checkers see a clean exit */
	log_info("stopped after %llu replies, %llu batches, largest batch %llu, %llu decodes, "
		 "%llu busy, %llu dropped%s",
		 (unsigned long long)st.requests, (unsigned long long)st.batches,
		 (unsigned long long)st.max_batch_seen, (unsigned long long)st.decodes,
		 (unsigned long long)st.rejected, (unsigned long long)st.dropped,
		 rc ? " (some requests were unanswered at the deadline)" : "");
	return rc || !sig ? 1 : 0;
}
