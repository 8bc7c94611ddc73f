/*
 * links: one dialer per frontend address (see links.h).
 */
#include "links.h"
#include "err.h"
#include "log.h"
#include "nngstat.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ADDRS 32
#define ADDR_MAX 64 /* an IPv6 literal in brackets */
#define URL_MAX 300
/* A dialer with no connection that made no attempt for this long has
 * stopped redialing (nng retries every 20-300 ms): replace it. */
#define STUCK_MS 3000

static const char *const attempt_stats[] = {"connect", "refused", "disconnect", "canceled",
					    "other",   "timeout", "proto",	"auth",
					    "oom",     "reject"};

struct dial {
	char addr[ADDR_MAX];
	char url[URL_MAX]; /* what this dialer dials */
	nng_dialer d;
	struct tls_watch watch;
	bool seen;	      /* in the latest lookup */
	uint64_t attempts;    /* connection attempts so far (nng statistics) */
	uint64_t stuck_since; /* ms: no pipe and no attempt since then, or 0 */
};

struct target {
	const char *url;
	char scheme[16], host[256], port[16];
	bool named; /* host is a name to resolve */
	struct dial dials[MAX_ADDRS];
	int ndials;
};

struct links {
	nng_socket sock;
	struct tls_files tls;
	bool trusted;
	struct target t[LINKS_MAX_URLS];
	int n;
	links_quiet_fn quiet;
	void *quiet_arg;
	uint64_t resolved_ms;
};

/* Split scheme://host:port; named when host is neither an address nor a
 * wildcard, and the scheme is tcp-based. */
static int split(struct target *t)
{
	const char *h = strstr(t->url, "://"), *end, *port;
	size_t sl, hl;

	t->named = false;
	if (!h || (sl = (size_t)(h - t->url)) >= sizeof t->scheme)
		return -1;
	memcpy(t->scheme, t->url, sl);
	t->scheme[sl] = '\0';
	if (strcmp(t->scheme, "tcp") && strcmp(t->scheme, "tls+tcp"))
		return 0; /* ipc://, tcp4://...: dialed as given */
	h += 3;
	if (*h == '[')
		return 0; /* an IPv6 literal */
	if (!(end = strrchr(h, ':')) || (hl = (size_t)(end - h)) == 0 || hl >= sizeof t->host)
		return -1;
	port = end + 1;
	if (strlen(port) >= sizeof t->port || strlen(port) == 0)
		return -1;
	memcpy(t->host, h, hl);
	t->host[hl] = '\0';
	strcpy(t->port, port);
	struct in_addr a;
	t->named = inet_pton(AF_INET, t->host, &a) != 1;
	return 0;
}

static int dial_one(struct links *l, struct target *t, const char *addr, char *err)
{
	char url[URL_MAX];
	struct dial *d;
	int rc;

	if (t->ndials == MAX_ADDRS || links_dialers(l) >= LINKS_MAX_DIALERS)
		return err_set(err, ERR_INVALID, "more than %d addresses for %s, or %d in all",
			       MAX_ADDRS, t->url, LINKS_MAX_DIALERS);
	d = &t->dials[t->ndials];
	if (!addr)
		snprintf(url, sizeof url, "%s", t->url);
	else if (strchr(addr, ':'))
		snprintf(url, sizeof url, "%s://[%s]:%s", t->scheme, addr, t->port);
	else
		snprintf(url, sizeof url, "%s://%s:%s", t->scheme, addr, t->port);
	if ((rc = tls_dial(l->sock, url, addr ? t->host : NULL, &l->tls, l->trusted, &d->d, err)))
		return rc;
	snprintf(d->addr, sizeof d->addr, "%s", addr ? addr : "");
	memcpy(d->url, url, sizeof url);
	d->watch = (struct tls_watch){.id = (uint32_t)nng_dialer_id(d->d), .dialer = true};
	d->seen = true;
	t->ndials++;
	log_info("dialing %s%s%s", url, addr ? " for " : "", addr ? t->url : "");
	return 0;
}

static struct dial *find(struct target *t, const char *addr)
{
	for (int i = 0; i < t->ndials; i++)
		if (!strcmp(t->dials[i].addr, addr))
			return &t->dials[i];
	return NULL;
}

/* Look the name up again: dial new addresses, close those that left. */
static void resolve(struct links *l, struct target *t)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res, *ai;
	char addr[ADDR_MAX], err[ERR_MAX];
	struct dial *d;
	int rv;

	if ((rv = getaddrinfo(t->host, t->port, &hints, &res)) != 0) {
		if (t->ndials == 0)
			log_warn("cannot resolve %s yet (%s): retrying", t->host, gai_strerror(rv));
		return;
	}
	for (int i = 0; i < t->ndials; i++)
		t->dials[i].seen = false;
	for (ai = res; ai; ai = ai->ai_next) {
		const struct sockaddr_in *sa = (const struct sockaddr_in *)ai->ai_addr;
		if (!inet_ntop(AF_INET, &sa->sin_addr, addr, sizeof addr))
			continue;
		if ((d = find(t, addr)) != NULL)
			d->seen = true;
		else if (dial_one(l, t, addr, err) != 0)
			log_warn("%s", err);
	}
	freeaddrinfo(res);
	for (int i = 0; i < t->ndials;) {
		if (t->dials[i].seen) {
			i++;
			continue;
		}
		log_info("%s left %s: closing its dialer", t->dials[i].addr, t->host);
		nng_dialer_close(t->dials[i].d);
		t->dials[i] = t->dials[--t->ndials];
	}
}

int links_open(nng_socket s, const char *const *urls, int n, const struct tls_files *f,
	       bool trusted, links_quiet_fn quiet, void *arg, struct links **out, char *err)
{
	struct links *l;
	int rc = 0;

	if (n < 1 || n > LINKS_MAX_URLS)
		return err_set(err, ERR_INVALID, "between 1 and %d --connect URLs", LINKS_MAX_URLS);
	for (int i = 0; i < n; i++) {
		if ((rc = tls_check_url(urls[i], f, trusted, err)) != 0)
			return rc;
		if (tls_url_is_tls(urls[i]) && (rc = tls_check_own(f, TLS_CLIENT, err)) != 0)
			return rc;
	}
	if (!(l = calloc(1, sizeof *l)))
		return err_set(err, ERR_NOMEM, "out of memory");
	l->sock = s;
	l->tls = *f;
	l->trusted = trusted;
	l->quiet = quiet;
	l->quiet_arg = arg;
	for (int i = 0; i < n && rc == 0; i++) {
		struct target *t = &l->t[l->n++];
		t->url = urls[i];
		if (split(t) != 0)
			rc = err_set(err, ERR_INVALID, "cannot read the host and port of %s",
				     t->url);
		else if (t->named)
			resolve(l, t);
		else
			rc = dial_one(l, t, NULL, err);
	}
	if (rc) {
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* libnng 1.5.2 can stop redialing after a connection broke in an unlucky
 * moment (docs/RELIABILITY.md): a dialer with no pipe that has made no
 * attempt for STUCK_MS is closed and made again. */
static void unstick(struct links *l, struct target *t, struct dial *d, nng_stat *all,
		    uint64_t now_ms)
{
	nng_stat *st = nngstat_find(all, "dialer", (uint32_t)nng_dialer_id(d->d));
	uint64_t attempts = 0;
	char err[ERR_MAX];

	if (!st)
		return;
	for (size_t i = 0; i < sizeof attempt_stats / sizeof *attempt_stats; i++)
		attempts += nngstat_value(st, attempt_stats[i]);
	uint64_t pipes = nngstat_value(st, "pipes");
	uint64_t q = l->quiet(l->quiet_arg, (uint32_t)nng_dialer_id(d->d));

	if (pipes > 0 && q != LINKS_NO_PIPE) {
		d->attempts = attempts;
		d->stuck_since = 0;
		if (q < LINKS_QUIET_MS)
			return;
		log_warn("nothing from %s for %llu ms although connected (a frontend pings every "
			 "second): the connection is dead; replacing its dialer",
			 d->url, (unsigned long long)q);
	} else if (attempts != d->attempts || !d->stuck_since) {
		d->attempts = attempts;
		d->stuck_since = now_ms;
		return;
	} else if (now_ms - d->stuck_since < STUCK_MS) {
		return;
	} else {
		/* nng may still count a pipe it could not remove: then it waits
		 * for that pipe and never redials. */
		log_warn("the dialer of %s has no connection and made no attempt for %llu ms "
			 "(libnng stopped redialing; it counts %llu pipe(s)): replacing it",
			 d->url, (unsigned long long)(now_ms - d->stuck_since),
			 (unsigned long long)pipes);
	}
	nng_dialer_close(d->d);
	d->stuck_since = 0;
	d->attempts = 0;
	if (tls_dial(l->sock, d->url, *d->addr ? t->host : NULL, &l->tls, l->trusted, &d->d, err))
		log_error("cannot dial %s again: %s", d->url, err);
	else
		d->watch = (struct tls_watch){.id = (uint32_t)nng_dialer_id(d->d), .dialer = true};
}

void links_tick(struct links *l, uint64_t now_ms, uint64_t resolve_ms)
{
	bool again = now_ms - l->resolved_ms >= resolve_ms;

	if (again)
		l->resolved_ms = now_ms;
	nng_stat *all = NULL;

	if (nng_stats_get(&all) != 0)
		all = NULL;
	for (int i = 0; i < l->n; i++) {
		struct target *t = &l->t[i];
		if (again && t->named)
			resolve(l, t);
		for (int k = 0; k < t->ndials; k++) {
			if (all)
				unstick(l, t, &t->dials[k], all, now_ms);
			t->dials[k].watch.what = t->url;
			if (l->tls.cert)
				tls_watch_tick(&t->dials[k].watch, now_ms, "frontend");
		}
	}
	if (all)
		nng_stats_free(all);
}

int links_dialers(const struct links *l)
{
	int n = 0;
	for (int i = 0; i < l->n; i++)
		n += l->t[i].ndials;
	return n;
}

void links_free(struct links *l)
{
	free(l);
}
