/*
 * mnist-client: send image files to the broker (or, with --listen, to any
 * worker that dials us) as msgpack requests over nng, print one line each:
 *
 *   FILE DIGIT CONFIDENCE [p0 .. p9] [worker=PID batch=N infer_us=N model=V]
 *   FILE pong worker=PID          (a --raw ping request)
 *
 * or "FILE: code: error" on stderr; the exit status is 1 when any file
 * failed, 2 for usage or connection errors. --concurrency N keeps N
 * requests in flight on N REQ contexts (one thread each), which is how the
 * tests make a worker batch. Lines come out in the order of the arguments.
 *
 * The socket is closed with nngclose_within() (common/nngclose.h): after a
 * timeout, libnng 1.5.2's nng_close() can block for ever when a late reply
 * races the close, so the client waits at most NNGCLOSE_MS for it, warns,
 * and exits without nng_fini().
 */
#include "config.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "nngclose.h"
#include "proto.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE ((size_t)64 << 20)
#define MAX_CONCURRENCY 256

struct options {
	const char *url;
	const char *rundir;
	bool listen, probs, stats, ping, raw;
	unsigned long timeout_ms;
	unsigned long concurrency;
	unsigned long wait_peers;
	char **files;
	int nfiles;
};

/* One file's outcome, printed in argument order at the end. */
struct result {
	int rc; /* 0 or ERR_* of a local failure */
	struct proto_reply reply;
	char err[ERR_MAX];
};

struct run {
	const struct options *o;
	nng_socket sock;
	struct result *results;
	pthread_mutex_t mu;
	int next; /* next file index to send */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mnist-client [--url URL] [--rundir DIR] [--listen [--wait-peers N]] [--probs]\n"
	    "                    [--stats] [--raw] [--timeout-ms N] [--concurrency N] (--ping | "
	    "FILE...)\n"
	    "  --url URL          endpoint (default ipc://<rundir>/api.sock)\n"
	    "  --listen           listen on URL instead of dialing it (workers dial in)\n"
	    "  --wait-peers N     with --listen, first wait (up to the timeout) for N workers\n"
	    "  --probs            print the ten probabilities after the confidence\n"
	    "  --stats            print worker pid, batch size, batch time, model\n"
	    "  --timeout-ms N     per-request timeout (default 10000)\n"
	    "  --concurrency N    requests in flight at once (default 1)\n"
	    "  --ping             check that a worker answers, print its pid\n"
	    "  --raw              send each FILE as it is: a msgpack request made elsewhere\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"rundir", required_argument, NULL, 'r'},
	    {"listen", no_argument, NULL, 'l'},
	    {"wait-peers", required_argument, NULL, 'W'},
	    {"probs", no_argument, NULL, 'p'},
	    {"stats", no_argument, NULL, 's'},
	    {"ping", no_argument, NULL, 'P'},
	    {"raw", no_argument, NULL, 'R'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof *o);
	o->timeout_ms = 10000;
	o->concurrency = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': o->url = optarg; break;
		case 'r': o->rundir = optarg; break;
		case 'l': o->listen = true; break;
		case 'W':
			if (config_parse_ulong(optarg, 0, 1024, &o->wait_peers))
				return fprintf(stderr, "mnist-client: bad --wait-peers\n"), -1;
			break;
		case 'p': o->probs = true; break;
		case 's': o->stats = true; break;
		case 'P': o->ping = true; break;
		case 'R': o->raw = true; break;
		case 't':
			if (config_parse_ulong(optarg, 1, 3600000, &o->timeout_ms))
				return fprintf(stderr, "mnist-client: bad --timeout-ms\n"), -1;
			break;
		case 'c':
			if (config_parse_ulong(optarg, 1, MAX_CONCURRENCY, &o->concurrency))
				return fprintf(stderr, "mnist-client: --concurrency is 1..%d\n",
					       MAX_CONCURRENCY),
				       -1;
			break;
		case 'h': return 1;
		default: return -1;
		}
	}
	o->files = argv + optind;
	o->nfiles = argc - optind;
	if (o->ping == (o->nfiles > 0))
		return fprintf(stderr, "mnist-client: give files or --ping\n"), -1;
	return 0;
}

/* Send one packed request on ctx and parse the reply. */
static int exchange(nng_ctx ctx, nng_aio *aio, const uint8_t *req, size_t len,
		    unsigned long timeout_ms, struct proto_reply *rep, char *err)
{
	nng_msg *msg;
	int rv = nng_msg_alloc(&msg, 0);

	if (rv == 0 && (rv = nng_msg_append(msg, req, len)) != 0)
		nng_msg_free(msg);
	if (rv)
		return err_set(err, ERR_NOMEM, "out of memory");
	nng_aio_set_timeout(aio, (nng_duration)timeout_ms);
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		goto fail;
	}
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		goto fail;
	msg = nng_aio_get_msg(aio);
	int rc = proto_parse_reply(nng_msg_body(msg), nng_msg_len(msg), rep, err);
	nng_msg_free(msg);
	return rc ? err_set(err, ERR_INTERNAL, "unreadable reply (%.200s)", err) : 0;
fail:
	if (rv == NNG_ETIMEDOUT)
		return err_set(err, ERR_TIMEOUT, "no reply within %lu ms", timeout_ms);
	return err_set(err, ERR_IO, "%s", nng_strerror(rv));
}

static void one_file(struct run *r, nng_ctx ctx, nng_aio *aio, int i)
{
	struct result *res = &r->results[i];
	struct proto_request req = {0};
	uint8_t *img = NULL, *buf = NULL;
	size_t len = 0;

	res->rc = file_read(r->o->files[i], MAX_FILE, &img, &req.image_len, res->err);
	if (res->rc)
		return;
	if (r->o->raw) {
		buf = img; /* already a whole message */
		len = req.image_len;
		img = NULL;
	} else {
		req.image = img;
		req.probs = r->o->probs;
		res->rc = proto_pack_request(&req, &buf, &len);
		if (res->rc)
			err_set(res->err, res->rc, "cannot pack the request");
	}
	if (!res->rc)
		res->rc = exchange(ctx, aio, buf, len, r->o->timeout_ms, &res->reply, res->err);
	free(buf);
	free(img);
}

static void *sender(void *arg)
{
	struct run *r = arg;
	nng_ctx ctx;
	nng_aio *aio;

	if (nng_ctx_open(&ctx, r->sock) != 0)
		return NULL;
	if (nng_aio_alloc(&aio, NULL, NULL) != 0) {
		nng_ctx_close(ctx);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&r->mu);
		int i = r->next < r->o->nfiles ? r->next++ : -1;
		pthread_mutex_unlock(&r->mu);
		if (i < 0)
			break;
		one_file(r, ctx, aio, i);
	}
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	return NULL;
}

static int print_results(const struct run *r)
{
	int failed = 0;
	for (int i = 0; i < r->o->nfiles; i++) {
		const struct result *res = &r->results[i];
		const struct proto_reply *p = &res->reply;
		const char *name = r->o->files[i];
		if (res->rc || !p->ok) {
			fprintf(stderr, "%s: %s: %s\n", name,
				res->rc ? err_code_name(res->rc) : p->code,
				res->rc ? res->err : p->error);
			failed = 1;
			continue;
		}
		if (p->pong) {
			printf("%s pong worker=%u\n", name, p->worker);
			continue;
		}
		printf("%s %d %.4f", name, p->digit, p->confidence);
		for (int k = 0; p->has_probs && k < 10; k++)
			printf(" %.4f", p->probs[k]);
		if (r->o->stats)
			printf(" worker=%u batch=%u infer_us=%u model=%s", p->worker, p->batch,
			       p->infer_us, p->model[0] ? p->model : "-");
		printf("\n");
	}
	return failed;
}

static int run_files(struct run *r)
{
	pthread_t th[MAX_CONCURRENCY];
	int n = (int)r->o->concurrency, started = 0;

	if (n > r->o->nfiles)
		n = r->o->nfiles;
	r->results = calloc((size_t)r->o->nfiles, sizeof *r->results);
	if (!r->results || pthread_mutex_init(&r->mu, NULL)) {
		fprintf(stderr, "mnist-client: out of memory\n");
		free(r->results);
		return 2;
	}
	for (int i = 0; i < r->o->nfiles; i++)
		r->results[i].rc = err_set(r->results[i].err, ERR_INTERNAL, "not sent");
	for (; started < n; started++)
		if (pthread_create(&th[started], NULL, sender, r))
			break;
	if (started == 0)
		sender(r);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	int rc = print_results(r);
	pthread_mutex_destroy(&r->mu);
	free(r->results);
	return rc;
}

static int run_ping(struct run *r)
{
	struct proto_request req = {.ping = true};
	struct proto_reply rep;
	char err[ERR_MAX];
	uint8_t *buf;
	size_t len;
	nng_ctx ctx;
	nng_aio *aio;
	int rc;

	if (proto_pack_request(&req, &buf, &len) || nng_ctx_open(&ctx, r->sock))
		return fprintf(stderr, "mnist-client: cannot set up the ping\n"), 2;
	if (nng_aio_alloc(&aio, NULL, NULL)) {
		free(buf);
		nng_ctx_close(ctx);
		return fprintf(stderr, "mnist-client: out of memory\n"), 2;
	}
	rc = exchange(ctx, aio, buf, len, r->o->timeout_ms, &rep, err);
	free(buf);
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	if (!rc && rep.ok && rep.pong) {
		printf("pong worker=%u\n", rep.worker);
		return 0;
	}
	fprintf(stderr, "ping: %s: %s\n",
		rc	 ? err_code_name(rc)
		: rep.ok ? "internal"
			 : rep.code,
		rc	 ? err
		: rep.ok ? "reply is not a pong"
			 : rep.error);
	return 1;
}

/* Connected peers, counted by nng's pipe callbacks (nng threads). */
static atomic_int peers;

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)arg;
	atomic_fetch_add(&peers, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1);
}

/* With --listen --wait-peers N: poll until N workers have dialed in, so a
 * run spreads over all of them instead of the first to reconnect. */
static int wait_peers(const struct options *o)
{
	for (unsigned long waited = 0; (unsigned long)atomic_load(&peers) < o->wait_peers;
	     waited += 5) {
		if (waited >= o->timeout_ms) {
			fprintf(stderr, "mnist-client: %d of %lu peers after %lu ms\n",
				atomic_load(&peers), o->wait_peers, o->timeout_ms);
			return -1;
		}
		nng_msleep(5);
	}
	return 0;
}

static int open_socket(const struct options *o, nng_socket *sock)
{
	char err[ERR_MAX], rundir[PATH_MAX], url[PATH_MAX + 16];
	const char *u = o->url;
	int rv;

	if (!u) {
		if (config_rundir(o->rundir, rundir, sizeof rundir, err) ||
		    config_ipc_url(rundir, CONFIG_API_SOCK, url, sizeof url, err))
			return fprintf(stderr, "mnist-client: %s\n", err), -1;
		u = url;
	}
	if ((rv = nng_req0_open(sock)) != 0)
		return fprintf(stderr, "mnist-client: %s\n", nng_strerror(rv)), -1;
	nng_pipe_notify(*sock, NNG_PIPE_EV_ADD_POST, pipe_event, NULL);
	nng_pipe_notify(*sock, NNG_PIPE_EV_REM_POST, pipe_event, NULL);
	/* Replies are small, but a worker may dial us with --listen. */
	nng_socket_set_ms(*sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(*sock, NNG_OPT_RECONNMAXT, 300);
	rv = o->listen ? nng_listen(*sock, u, NULL, 0) : nng_dial(*sock, u, NULL, 0);
	if (rv) {
		fprintf(stderr, "mnist-client: cannot %s %s: %s\n",
			o->listen ? "listen on" : "connect to", u, nng_strerror(rv));
		nngclose_within(*sock, NNGCLOSE_MS, "the client socket");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct run r = {0};
	int rc;

	log_init(argv[0]);
	rc = parse_args(argc, argv, &o);
	if (rc) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	r.o = &o;
	if (open_socket(&o, &r.sock))
		return 2;
	if (wait_peers(&o)) {
		nngclose_within(r.sock, NNGCLOSE_MS, "the client socket");
		return 2;
	}
	rc = o.ping ? run_ping(&r) : run_files(&r);
	/* nng_fini() only when the close finished (nngclose.h). */
	if (nngclose_within(r.sock, NNGCLOSE_MS, "the client socket") == 0)
		nng_fini();
	return rc;
}
