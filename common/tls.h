/*
 * tls: the worker link's transport policy and its mutual TLS, shared by the
 * frontend (listens, TLS server) and the worker (dials, TLS client).
 *
 * Policy (tls_check_url): ipc:// always; tls+tcp:// needs a certificate, its
 * key and the CA; plain tcp:// only on a loopback address, or anywhere when
 * the operator says the network is trusted (--trusted-network), because
 * whoever reaches a plain port can serve as a worker and read uploads.
 *
 * Both sides require and verify the peer's certificate against the CA
 * (nng's TLS transport with Debian's mbedTLS). Before a link is set up our
 * own certificate is checked the same way the peer will check it (signed by
 * the CA, within its dates, extendedKeyUsage allowing our role, key
 * matching), so a bad certificate stops the process with a clear message
 * instead of failing every handshake in silence.
 *
 * A peer refused during the handshake never becomes a pipe, so it is never
 * counted as a worker; tls_refused() counts those refusals (nng's "auth"
 * statistic of a listener or dialer) for a periodic log line.
 *
 * Everything here is thread-safe; the returned nng objects belong to nng.
 */
#ifndef MNIST_TLS_H
#define MNIST_TLS_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stdint.h>

struct tls_files {
	const char *cert; /* PEM certificate (may carry its chain) */
	const char *key;  /* PEM private key, unencrypted */
	const char *ca;	  /* PEM CA certificate(s) that sign every peer */
};

enum tls_role { TLS_SERVER, TLS_CLIENT };

/* Whether url may be used with these files and trust (see above); 0 or
 * ERR_INVALID with the reason in err. */
int tls_check_url(const char *url, const struct tls_files *f, bool trusted, char *err);

/* Whether url is tls+tcp:// (case-sensitive, as nng). */
bool tls_url_is_tls(const char *url);

/* Check our own certificate for role (see above); 0 or ERR_INVALID. */
int tls_check_own(const struct tls_files *f, enum tls_role role, char *err);

/* Listen on url for s, with TLS when url is tls+tcp://; checks the policy
 * first. The listener is created, not started: the caller sets its options
 * and starts it. */
int tls_listen(nng_socket s, const char *url, const struct tls_files *f, bool trusted,
	       nng_listener *out, char *err);

/* Dial url from s without blocking (nng redials by itself). server_name is
 * the name the peer's certificate must carry (NULL: the URL's host). */
int tls_dial(nng_socket s, const char *url, const char *server_name, const struct tls_files *f,
	     bool trusted, nng_dialer *out, char *err);

/* TLS handshakes refused so far on a listener (dialer == false) or dialer. */
uint64_t tls_refused(uint32_t id, bool dialer);

/* Log refused handshakes of one listener or dialer, at most every 10 s:
 * call tls_watch_tick as often as you like from one thread; peer names the
 * other side. */
struct tls_watch {
	uint32_t id;
	bool dialer;
	uint64_t seen;	     /* refusals already reported */
	uint64_t at_ms;	     /* when last reported */
	uint64_t checked_ms; /* when the statistics were last read (once a second) */
	const char *what;    /* for the log line: the URL or the CA file */
};
void tls_watch_tick(struct tls_watch *w, uint64_t now_ms, const char *peer);

#endif
