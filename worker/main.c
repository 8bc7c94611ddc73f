/*
 * mnist-worker: load the model once, dial the frontend, serve batches until
 * SIGTERM or SIGINT, then answer what was received and exit 0.
 *
 *   mnist-worker [--connect URL] [--rundir DIR] [--weights PATH]
 *                [--max-batch N] [--contexts N] [--max-message SIZE]
 *
 * Signals are blocked in every thread and taken by sigwait() in main, so no
 * handler runs in the middle of nng or the model.
 */
#include "config.h"
#include "err.h"
#include "image.h"
#include "log.h"
#include "model.h"
#include "serve.h"

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
#define STOP_TIMEOUT_MS 10000

struct options {
	const char *url;
	const char *rundir;
	const char *weights;
	unsigned long max_batch;
	unsigned long contexts; /* 0 = same as max_batch */
	size_t max_message;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mnist-worker [options]\n"
		"  --connect URL       frontend endpoint to dial (default "
		"ipc://<rundir>/workers.sock)\n"
		"  --rundir DIR        run directory (default $RUNTIME_DIRECTORY, "
		"$XDG_RUNTIME_DIR/mnist or /tmp/mnist-$UID)\n"
		"  --weights PATH      model weights (default $MNIST_WEIGHTS or %s)\n"
		"  --max-batch N       largest batch per forward (default $MNIST_MAX_BATCH or "
		"%s)\n"
		"  --contexts N        requests held at once (default: max batch)\n"
		"  --max-message SIZE  larger requests get a too_large reply (default 16M)\n",
		CONFIG_DEFAULT_WEIGHTS, DEFAULT_MAX_BATCH);
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
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *batch = config_env("MNIST_MAX_BATCH", DEFAULT_MAX_BATCH);
	const char *contexts = NULL, *maxmsg = NULL;
	int c;

	memset(o, 0, sizeof *o);
	o->weights = config_env("MNIST_WEIGHTS", CONFIG_DEFAULT_WEIGHTS);
	o->max_message = DEFAULT_MAX_MESSAGE;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->url = optarg; break;
		case 'r': o->rundir = optarg; break;
		case 'w': o->weights = optarg; break;
		case 'b': batch = optarg; break;
		case 'n': contexts = optarg; break;
		case 'm': maxmsg = optarg; break;
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
	if (contexts && config_parse_ulong(contexts, 1, 4096, &o->contexts)) {
		fprintf(stderr, "mnist-worker: --contexts must be 1..4096, got '%s'\n", contexts);
		return -1;
	}
	if (maxmsg && (config_parse_size(maxmsg, &o->max_message) || o->max_message < 1024)) {
		fprintf(stderr, "mnist-worker: bad --max-message '%s'\n", maxmsg);
		return -1;
	}
	return 0;
}

static void watchdog_ping(void *arg)
{
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

/* Resolve the URL to dial: the flag, else the run directory's socket. */
static int resolve_url(const struct options *o, char *url, size_t len, char *err)
{
	char rundir[PATH_MAX];
	int rc;

	if (o->url) {
		if (strlen(o->url) >= len)
			return err_set(err, ERR_INVALID, "--connect URL too long");
		memcpy(url, o->url, strlen(o->url) + 1);
		return 0;
	}
	rc = config_rundir(o->rundir, rundir, sizeof rundir, err);
	if (rc)
		return rc;
	return config_ipc_url(rundir, CONFIG_WORKERS_SOCK, url, len, err);
}

static int wait_for_signal(const sigset_t *set)
{
	int sig = 0;
	while (sigwait(set, &sig) != 0)
		;
	return sig;
}

int main(int argc, char **argv)
{
	struct options o;
	struct serve_config cfg;
	struct serve_stats st;
	char err[ERR_MAX] = "", url[PATH_MAX + 16];
	sigset_t set;
	struct model *m = NULL;
	struct server *srv = NULL;
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
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (resolve_url(&o, url, sizeof url, err)) {
		log_error("%s", err);
		return 1;
	}
	rc = model_load(o.weights, (int)o.max_batch, &m, err);
	if (rc) {
		log_error("cannot load weights: %s", err);
		return 1;
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.url = url;
	cfg.max_batch = (int)o.max_batch;
	cfg.contexts = (int)(o.contexts ? o.contexts : o.max_batch);
	cfg.max_message = o.max_message;
	img_limits_default(&cfg.limits);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		cfg.heartbeat = watchdog_ping;
		cfg.heartbeat_us = wd_usec / 2;
	}
	rc = serve_start(&cfg, m, &srv, err);
	if (rc) {
		log_error("%s", err);
		model_free(m);
		return 1;
	}
	sd_notifyf(0, "READY=1\nSTATUS=dialing %s, max batch %d", url, cfg.max_batch);
	log_info("serving %s: weights %s, max batch %d, %d contexts", url, o.weights, cfg.max_batch,
		 cfg.contexts);

	int sig = wait_for_signal(&set);
	sd_notify(0, "STOPPING=1");
	log_info("signal %d: answering in-flight requests, then exiting", sig);
	rc = serve_stop(srv, STOP_TIMEOUT_MS, &st);
	model_free(m);
	if (!st.socket_stuck)
		nng_fini(); /* nng's own threads, so leak checkers see a clean exit */
	log_info("stopped after %llu replies, %llu batches, largest batch %llu%s",
		 (unsigned long long)st.requests, (unsigned long long)st.batches,
		 (unsigned long long)st.max_batch_seen,
		 rc ? " (some requests were unanswered at the deadline)" : "");
	return rc ? 1 : 0;
}
