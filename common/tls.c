/*
 * tls: transport policy and mutual TLS for the worker link (see tls.h).
 */
#include "tls.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "nngstat.h"

#include <arpa/inet.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <nng/supplemental/tls/tls.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PEM_MAX ((size_t)1 << 20)
#define HOST_MAX 256
#define WATCH_MS 10000

bool tls_url_is_tls(const char *url)
{
	return !strncmp(url, "tls+tcp://", 10) || !strncmp(url, "tls+tcp4://", 11) ||
	       !strncmp(url, "tls+tcp6://", 11);
}

static bool is_plain_tcp(const char *url)
{
	return !strncmp(url, "tcp://", 6) || !strncmp(url, "tcp4://", 7) ||
	       !strncmp(url, "tcp6://", 7);
}

/* The host of scheme://host:port into out ("" for a wildcard). */
static int url_host(const char *url, char *out, size_t len)
{
	const char *h = strstr(url, "://"), *end;
	size_t n;

	if (!h)
		return -1;
	h += 3;
	if (*h == '[') {
		h++;
		end = strchr(h, ']');
	} else {
		end = strrchr(h, ':');
	}
	if (!end || (n = (size_t)(end - h)) >= len)
		return -1;
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!strcasecmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int tls_check_url(const char *url, const struct tls_files *f, bool trusted, char *err)
{
	char host[HOST_MAX];
	bool any = f->cert || f->key || f->ca;

	if (tls_url_is_tls(url)) {
		if (!f->cert || !f->key || !f->ca)
			return err_set(err, ERR_INVALID,
				       "%s needs --tls-cert, --tls-key and --tls-ca", url);
		return 0;
	}
	if (any)
		return err_set(err, ERR_INVALID,
			       "TLS files are given but %s is not a tls+tcp:// URL", url);
	if (!is_plain_tcp(url))
		return 0;
	if (url_host(url, host, sizeof host) != 0)
		return err_set(err, ERR_INVALID, "cannot read the host of %s", url);
	if (is_loopback(host) || trusted)
		return 0;
	return err_set(err, ERR_INVALID,
		       "refusing plain %s on a non-loopback address: anyone who reaches it could "
		       "serve as a worker and read uploads; use tls+tcp:// with certificates, or "
		       "--trusted-network if this network is private",
		       url);
}

/* What x509 verify flags mean, for an operator. */
static void why_bad(uint32_t flags, char *out, size_t len)
{
	char info[512];
	int n = mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);

	for (int i = 0; i < n; i++)
		if (info[i] == '\n')
			info[i] = i == n - 1 ? '\0' : ';';
	snprintf(out, len, "%s", n > 0 ? info : "not valid");
}

int tls_check_own(const struct tls_files *f, enum tls_role role, char *err)
{
	mbedtls_x509_crt crt, ca;
	mbedtls_pk_context key;
	uint32_t flags = 0;
	const char *usage = role == TLS_SERVER ? MBEDTLS_OID_SERVER_AUTH : MBEDTLS_OID_CLIENT_AUTH;
	char why[600];
	int rc = 0;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	if (mbedtls_x509_crt_parse_file(&crt, f->cert) != 0) {
		rc = err_set(err, ERR_INVALID, "%s: not a readable PEM certificate", f->cert);
		goto out;
	}
	if (mbedtls_x509_crt_parse_file(&ca, f->ca) != 0) {
		rc = err_set(err, ERR_INVALID, "%s: not a readable PEM CA certificate", f->ca);
		goto out;
	}
	if (mbedtls_pk_parse_keyfile(&key, f->key, NULL) != 0) {
		rc = err_set(err, ERR_INVALID, "%s: not a readable unencrypted PEM key", f->key);
		goto out;
	}
	if (mbedtls_pk_check_pair(&crt.pk, &key) != 0) {
		rc = err_set(err, ERR_INVALID, "%s does not belong to %s", f->key, f->cert);
		goto out;
	}
	if (mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL) != 0) {
		why_bad(flags, why, sizeof why);
		rc = err_set(err, ERR_INVALID, "certificate %s refused against CA %s: %s", f->cert,
			     f->ca, why);
		goto out;
	}
	if (mbedtls_x509_crt_check_extended_key_usage(&crt, usage, strlen(usage)) != 0)
		rc = err_set(err, ERR_INVALID,
			     "certificate %s has the wrong purpose: its extendedKeyUsage lacks %s",
			     f->cert, role == TLS_SERVER ? "serverAuth" : "clientAuth");
out:
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* Read a PEM file as a string. */
static int read_pem(const char *path, char **out, char *err)
{
	uint8_t *buf;
	size_t len;
	char *s, why[ERR_MAX];
	int rc = file_read(path, PEM_MAX, &buf, &len, why);

	if (rc)
		return err_set(err, rc, "%s: %s", path, why);
	if (!(s = realloc(buf, len + 1))) {
		free(buf);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	s[len] = '\0';
	*out = s;
	return 0;
}

/* A TLS configuration for role that requires and verifies the peer. */
static int make_config(const struct tls_files *f, enum tls_role role, const char *server_name,
		       nng_tls_config **out, char *err)
{
	nng_tls_config *c = NULL;
	char *cert = NULL, *key = NULL, *ca = NULL;
	int rv, rc;

	if ((rc = tls_check_own(f, role, err)) != 0)
		return rc;
	if ((rc = read_pem(f->cert, &cert, err)) || (rc = read_pem(f->key, &key, err)) ||
	    (rc = read_pem(f->ca, &ca, err)))
		goto out;
	if ((rv = nng_tls_config_alloc(&c, role == TLS_SERVER ? NNG_TLS_MODE_SERVER
							      : NNG_TLS_MODE_CLIENT)) != 0 ||
	    (rv = nng_tls_config_auth_mode(c, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (rv = nng_tls_config_ca_chain(c, ca, NULL)) != 0 ||
	    (rv = nng_tls_config_own_cert(c, cert, key, NULL)) != 0 ||
	    (server_name && (rv = nng_tls_config_server_name(c, server_name)) != 0)) {
		rc = err_set(err, ERR_INVALID, "TLS set-up with %s, %s, %s failed: %s", f->cert,
			     f->key, f->ca, nng_strerror(rv));
		if (c)
			nng_tls_config_free(c);
		goto out;
	}
	*out = c;
out:
	free(ca);
	free(key);
	free(cert);
	return rc;
}

/* The policy check, then (tls+tcp:// only) a configuration in *c, which
 * the caller frees after handing it to nng (nng holds its own reference). */
static int prepare(const char *url, const struct tls_files *f, bool trusted, enum tls_role role,
		   const char *server_name, nng_tls_config **c, char *err)
{
	int rc;

	*c = NULL;
	if ((rc = tls_check_url(url, f, trusted, err)) != 0)
		return rc;
	return tls_url_is_tls(url) ? make_config(f, role, server_name, c, err) : 0;
}

int tls_listen(nng_socket s, const char *url, const struct tls_files *f, bool trusted,
	       nng_listener *out, char *err)
{
	nng_tls_config *c;
	int rv, rc;

	if ((rc = prepare(url, f, trusted, TLS_SERVER, NULL, &c, err)) != 0)
		return rc;
	if ((rv = nng_listener_create(out, s, url)) != 0 ||
	    (c && (rv = nng_listener_set_ptr(*out, NNG_OPT_TLS_CONFIG, c)) != 0))
		rc = err_set(err, ERR_IO, "cannot listen on %s: %s", url, nng_strerror(rv));
	if (c)
		nng_tls_config_free(c);
	return rc;
}

int tls_dial(nng_socket s, const char *url, const char *server_name, const struct tls_files *f,
	     bool trusted, nng_dialer *out, char *err)
{
	nng_tls_config *c;
	int rv, rc;

	if ((rc = prepare(url, f, trusted, TLS_CLIENT, server_name, &c, err)) != 0)
		return rc;
	if ((rv = nng_dialer_create(out, s, url)) != 0 ||
	    (c && (rv = nng_dialer_set_ptr(*out, NNG_OPT_TLS_CONFIG, c)) != 0) ||
	    (rv = nng_dialer_start(*out, NNG_FLAG_NONBLOCK)) != 0)
		rc = err_set(err, ERR_INVALID, "cannot dial %s: %s", url, nng_strerror(rv));
	if (c)
		nng_tls_config_free(c);
	return rc;
}

uint64_t tls_refused(uint32_t id, bool dialer)
{
	nng_stat *all, *own;
	uint64_t n = 0;

	if (nng_stats_get(&all) != 0)
		return 0;
	own = nngstat_find(all, dialer ? "dialer" : "listener", id);
	n = nngstat_value(own, "auth");
	nng_stats_free(all);
	return n;
}

void tls_watch_tick(struct tls_watch *w, uint64_t now_ms, const char *peer)
{
	uint64_t n;

	if ((w->at_ms && now_ms - w->at_ms < WATCH_MS) ||
	    (w->checked_ms && now_ms - w->checked_ms < 1000))
		return;
	w->checked_ms = now_ms;
	if ((n = tls_refused(w->id, w->dialer)) <= w->seen)
		return;
	w->at_ms = now_ms;
	log_warn("TLS handshake with a %s refused %llu time(s)%s%s: a certificate not signed by "
		 "the other side's CA, expired, or without the %s purpose",
		 peer, (unsigned long long)(n - w->seen), w->what ? " on " : "",
		 w->what ? w->what : "", w->dialer ? "serverAuth/clientAuth" : "clientAuth");
	w->seen = n;
}
