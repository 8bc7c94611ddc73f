#include "options.h"
#include "config.h"
#include "cors.h"
#include "err.h"
#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum kind { STR, NUM, SIZE, SPAWN, LEVEL, FORMAT, ORIGINS, FLAG };

/* One setting: its flag, its variable (or NULL), how to parse it, its
 * bounds (NUM, SIZE) and where it goes in struct options. */
struct setting {
	const char *flag, *env;
	enum kind kind;
	unsigned long long min, max;
	size_t off;
};

#define AT(field) offsetof(struct options, field)

static const struct setting settings[] = {
    {"--listen", "MNIST_LISTEN", STR, 0, 0, AT(listen)},
    {"--rundir", NULL, STR, 0, 0, AT(rundir)},
    {"--workers-url", NULL, STR, 0, 0, AT(workers_url)},
    {"--api-url", NULL, STR, 0, 0, AT(api_url)},
    {"--worker-bin", "MNIST_WORKER_BIN", STR, 0, 0, AT(worker_bin)},
    {"--weights", "MNIST_WEIGHTS", STR, 0, 0, AT(weights)},
    {"--max-batch", "MNIST_MAX_BATCH", STR, 0, 0, AT(max_batch)},
    {"--www", NULL, STR, 0, 0, AT(www)},
    {"--max-upload", "MNIST_MAX_UPLOAD", SIZE, 1, OPTIONS_MAX_UPLOAD, AT(max_upload)},
    {"--max-inflight-bytes", "MNIST_MAX_INFLIGHT_BYTES", SIZE, 1, OPTIONS_MAX_INFLIGHT_BYTES,
     AT(max_inflight_bytes)},
    {"--max-inflight", "MNIST_MAX_INFLIGHT", NUM, 1, 100000, AT(max_inflight)},
    {"--timeout-ms", "MNIST_TIMEOUT_MS", NUM, 1, 3600000, AT(timeout_ms)},
    {"--resend-ms", "MNIST_RESEND_MS", NUM, 1, 3600000, AT(resend_ms)},
    {"--drain-ms", "MNIST_DRAIN_MS", NUM, 0, 600000, AT(drain_ms)},
    {"--max-connections", "MNIST_MAX_CONNECTIONS", NUM, 1, 1000000, AT(max_connections)},
    {"--idle-timeout-ms", "MNIST_IDLE_TIMEOUT_MS", NUM, 100, 3600000, AT(idle_timeout_ms)},
    {"--worker-silent-ms", "MNIST_WORKER_SILENT_MS", NUM, 100, 3600000, AT(worker_silent_ms)},
    {"--spawn-workers", "MNIST_WORKERS", SPAWN, 0, 256, AT(spawn)},
    {"--pin-workers", "MNIST_PIN_WORKERS", NUM, 0, 1, AT(pin_workers)},
    {"--log-level", "MNIST_LOG_LEVEL", LEVEL, 0, 0, AT(log_level)},
    {"--log-format", "MNIST_LOG_FORMAT", FORMAT, 0, 0, AT(log_format)},
    {"--cors-origins", "MNIST_CORS_ORIGINS", ORIGINS, 0, 0, AT(cors_origins)},
    {"--tls-cert", "MNIST_TLS_CERT", STR, 0, 0, AT(tls_cert)},
    {"--tls-key", "MNIST_TLS_KEY", STR, 0, 0, AT(tls_key)},
    {"--tls-ca", "MNIST_TLS_CA", STR, 0, 0, AT(tls_ca)},
    {"--trusted-network", "MNIST_TRUSTED_NETWORK", FLAG, 0, 1, AT(trusted_network)},
};

static void usage(FILE *f)
{
	fputs("usage: mnist-frontend [options]\n"
	      "  --listen HOST:PORT     HTTP address (MNIST_LISTEN, default 0.0.0.0:8000)\n"
	      "  --rundir DIR           socket directory (default $RUNTIME_DIRECTORY,\n"
	      "                         else $XDG_RUNTIME_DIR/mnist, else /tmp/mnist-$UID)\n"
	      "  --workers-url URL      where workers dial in (default ipc://RUNDIR/workers.sock)\n"
	      "                         or tls+tcp://HOST:PORT across hosts (docs/scaling.md)\n"
	      "  --tls-cert FILE        certificate for tls+tcp:// (MNIST_TLS_CERT)\n"
	      "  --tls-key FILE         its private key (MNIST_TLS_KEY)\n"
	      "  --tls-ca FILE          the CA every worker's certificate must chain to\n"
	      "                         (MNIST_TLS_CA)\n"
	      "  --trusted-network      allow plain tcp:// on a non-loopback address\n"
	      "                         (MNIST_TRUSTED_NETWORK=1)\n"
	      "  --api-url URL          msgpack broker for local callers (default\n"
	      "                         ipc://RUNDIR/api.sock)\n"
	      "  --max-upload SIZE      upload limit, e.g. 10M, at most 1G (MNIST_MAX_UPLOAD,\n"
	      "                         default 10M)\n"
	      "  --max-inflight N       predictions at once, HTTP and api.sock together\n"
	      "                         (MNIST_MAX_INFLIGHT, default 256)\n"
	      "  --max-inflight-bytes SIZE  image bytes held in flight (MNIST_MAX_INFLIGHT_BYTES,\n"
	      "                         default 64M; 503 above it)\n"
	      "  --max-connections N    open HTTP connections; more are refused at once\n"
	      "                         (MNIST_MAX_CONNECTIONS, default: the descriptor limit\n"
	      "                         less 256, at most 16384)\n"
	      "  --idle-timeout-ms N    close a connection that has not sent a whole request\n"
	      "                         within N ms (MNIST_IDLE_TIMEOUT_MS, default 10000)\n"
	      "  --timeout-ms N         worker answer deadline (MNIST_TIMEOUT_MS, default 10000)\n"
	      "  --resend-ms N          nng resend timer, keep above --timeout-ms\n"
	      "                         (MNIST_RESEND_MS, default 60000; a silent worker's\n"
	      "                         requests are resent after ~1 s anyway)\n"
	      "  --worker-silent-ms N   close a worker connection that answered nothing for N ms\n"
	      "                         (its requests go to another worker); with no answer\n"
	      "                         from any worker for 3 N, 503 at once\n"
	      "                         (MNIST_WORKER_SILENT_MS, default 1000)\n"
	      "  --spawn-workers N|auto start and supervise N workers (MNIST_WORKERS, default 0;\n"
	      "                         auto = number of CPUs)\n"
	      "  --pin-workers 0|1      1: each spawned worker on a CPU of its own, in turn,\n"
	      "                         when 2 or more are spawned and 2 or more CPUs are\n"
	      "                         allowed (MNIST_PIN_WORKERS, default 1)\n"
	      "  --worker-bin PATH      worker binary (default: mnist-worker next to this one)\n"
	      "  --weights PATH         passed to spawned workers (MNIST_WEIGHTS)\n"
	      "  --max-batch N          passed to spawned workers (MNIST_MAX_BATCH)\n"
	      "  --www DIR              API docs tree (default: see frontend/static.h)\n"
	      "  --drain-ms N           shutdown drain bound (MNIST_DRAIN_MS, default 5000)\n"
	      "  --log-level LEVEL      debug, info, warn, error (MNIST_LOG_LEVEL, default info)\n"
	      "  --log-format F         text or json, one object per line; spawned workers\n"
	      "                         inherit it (MNIST_LOG_FORMAT, default text)\n"
	      "  --cors-origins LIST    origins allowed to call the API from a browser, e.g.\n"
	      "                         \"https://a.example,http://localhost:3000\" or *\n"
	      "                         (MNIST_CORS_ORIGINS, default none)\n",
	      f);
}

/* Parse v for s into o; name is the flag or the variable, for the message. */
static int apply(const struct setting *s, const char *name, const char *v, struct options *o)
{
	char *at = (char *)o + s->off;
	unsigned long n;
	size_t z;
	enum log_level l;
	enum log_format lf;
	struct cors *cors;
	char msg[ERR_MAX];

	switch (s->kind) {
	case STR: *(const char **)at = v; return 0;
	case LEVEL:
		if (log_level_parse(v, &l) != 0)
			break;
		log_set_level(l);
		*(const char **)at = v;
		return 0;
	case ORIGINS: /* checked now, parsed again by main (cors.h) */
		if (cors_parse(v, &cors, msg) != 0) {
			fprintf(stderr, "mnist-frontend: %s: %s\n", name, msg);
			return -1;
		}
		cors_free(cors);
		*(const char **)at = v;
		return 0;
	case FORMAT:
		if (log_format_parse(v, &lf) != 0)
			break;
		log_set_format(lf);
		/* spawned workers read it from their environment */
		setenv("MNIST_LOG_FORMAT", v, 1);
		*(const char **)at = v;
		return 0;
	case SPAWN:
		if (strcasecmp(v, "auto") == 0) {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);
			*(unsigned long *)at = cpus > 0 ? (unsigned long)cpus : 1;
			return 0;
		}
		/* fall through */
	case FLAG:
	case NUM:
		if (config_parse_ulong(v, (unsigned long)s->min, (unsigned long)s->max, &n) != 0)
			break;
		*(unsigned long *)at = n;
		return 0;
	case SIZE:
		if (config_parse_size(v, &z) != 0 || z < s->min || z > s->max)
			break;
		*(size_t *)at = z;
		return 0;
	}
	if (s->kind == LEVEL)
		fprintf(stderr, "mnist-frontend: %s wants debug, info, warn or error, got \"%s\"\n",
			name, v);
	else if (s->kind == FORMAT)
		fprintf(stderr, "mnist-frontend: %s wants text or json, got \"%s\"\n", name, v);
	else if (s->kind == SIZE)
		fprintf(stderr,
			"mnist-frontend: %s wants a size in [%llu, %llu] bytes (K, M, G suffixes), "
			"got \"%s\"\n",
			name, s->min, s->max, v);
	else
		fprintf(stderr, "mnist-frontend: %s wants %sa number in [%llu, %llu], got \"%s\"\n",
			name, s->kind == SPAWN ? "auto or " : "", s->min, s->max, v);
	return -1;
}

static const struct setting *find(const char *flag)
{
	for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
		if (!strcmp(settings[i].flag, flag))
			return &settings[i];
	return NULL;
}

int options_parse(int argc, char **argv, struct options *o)
{
	const struct setting *s;
	const char *v;

	*o = (struct options){.listen = "0.0.0.0:8000",
			      .max_upload = (size_t)10 << 20,
			      .max_inflight = 256,
			      .max_inflight_bytes = (size_t)64 << 20,
			      .timeout_ms = 10000,
			      .resend_ms = 60000,
			      .broker_ctx = 32,
			      .drain_ms = 5000,
			      .idle_timeout_ms = 10000,
			      .worker_silent_ms = 1000,
			      .pin_workers = 1};
	for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
		s = &settings[i];
		if (s->env && (v = config_env(s->env, NULL)) && apply(s, s->env, v, o) != 0)
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		}
		if ((s = find(a)) && s->kind == FLAG) {
			*(unsigned long *)((char *)o + s->off) = 1;
			continue;
		}
		if (!s || i + 1 >= argc) {
			fprintf(stderr, "mnist-frontend: unknown or incomplete option \"%s\"\n", a);
			usage(stderr);
			return -1;
		}
		if (apply(s, a, argv[++i], o) != 0)
			return -1;
	}
	return 0;
}
