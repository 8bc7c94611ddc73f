/*
 * links: the worker's connections to every frontend.
 *
 * A worker dials each --connect URL from its one REP socket, so it serves
 * several frontends at once (REP answers each request on the pipe it came
 * from). A tcp:// or tls+tcp:// URL whose host is a name is resolved to
 * every IPv4 address it has, one dialer per address, and resolved again every
 * few seconds: a frontend that appears under the name (a Kubernetes
 * headless Service, a DNS round robin, /etc/hosts) is dialed without a
 * restart, and the dialer of an address that left the name is closed. A
 * failed lookup keeps what was dialed. With TLS the certificate of each
 * address must carry the name from the URL (server_name), not the address.
 * nng redials a lost connection by itself (every 20-300 ms).
 *
 * Threads: one thread (the worker's main) calls everything here.
 */
#ifndef MNIST_LINKS_H
#define MNIST_LINKS_H

#include "tls.h"

#include <nng/nng.h>
#include <stdbool.h>
#include <stdint.h>

#define LINKS_MAX_URLS 16
#define LINKS_MAX_DIALERS 48 /* over all URLs and their addresses */

struct links;

/* How long the connections of a dialer have been quiet, in ms, or
 * LINKS_NO_PIPE when it has no open connection. */
#define LINKS_NO_PIPE UINT64_MAX
typedef uint64_t (*links_quiet_fn)(void *arg, uint32_t dialer);

/* Check every URL against the policy (tls.h) and our certificate, then dial
 * (names are looked up now; an unresolved name is retried by links_tick).
 * A dialer whose connection is quiet for LINKS_QUIET_MS (quiet(arg, id)),
 * or that has no open connection and made no attempt for 3 s (libnng 1.5.2
 * can stop redialing, also while it still counts a pipe it failed to
 * remove; docs/RELIABILITY.md), is closed and made again. */
#define LINKS_QUIET_MS 5000
int links_open(nng_socket s, const char *const *urls, int n, const struct tls_files *f,
	       bool trusted, links_quiet_fn quiet, void *arg, struct links **out, char *err);

/* Call about every second: resolve names again every resolve_ms, log TLS
 * refusals at most every 10 s. */
void links_tick(struct links *l, uint64_t now_ms, uint64_t resolve_ms);

/* Dialers currently open, over all URLs. */
int links_dialers(const struct links *l);

/* Free the bookkeeping; the socket's close closes the dialers. */
void links_free(struct links *l);

#endif
