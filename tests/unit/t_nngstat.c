/*
 * nngstat_find: in a snapshot of a socket with three dialers and two
 * listeners, each id finds its own scope (checked by its "url"), an unknown
 * id finds nothing, and nngstat_value reads a scope's own statistics. With
 * libnng 1.5.2, nng_stat_find_dialer() gives the first dialer for every id
 * after the first: printed as a comment, not checked (a fixed libnng is
 * fine too).
 */
#include "nngstat.h"
#include "tap.h"

#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *url_of(nng_stat *scope)
{
	for (nng_stat *c = scope ? nng_stat_child(scope) : NULL; c; c = nng_stat_next(c))
		if (!strcmp(nng_stat_name(c), "url"))
			return nng_stat_string(c);
	return "";
}

int main(void)
{
	char dir[] = "/tmp/t_nngstat.XXXXXX", urls[5][128];
	nng_socket s;
	nng_dialer d[3];
	nng_listener l[2];
	nng_stat *all = NULL;

	if (!mkdtemp(dir) || nng_req0_open(&s) != 0) {
		CHECK(0, "socket and directory");
		return tap_done();
	}
	for (int i = 0; i < 5; i++)
		snprintf(urls[i], sizeof urls[i], "ipc://%s/s%d", dir, i);
	int rv = 0;
	for (int i = 0; i < 3; i++) /* nobody listens there: they keep redialing */
		rv |= nng_dial(s, urls[i], &d[i], NNG_FLAG_NONBLOCK);
	for (int i = 0; i < 2; i++)
		rv |= nng_listen(s, urls[3 + i], &l[i], 0);
	CHECK(rv == 0, "three dialers and two listeners");
	CHECK(nng_stats_get(&all) == 0 && all, "a statistics snapshot");

	for (int i = 0; i < 3; i++) {
		uint32_t id = (uint32_t)nng_dialer_id(d[i]);
		nng_stat *st = nngstat_find(all, "dialer", id);
		CHECK(st && !strcmp(url_of(st), urls[i]),
		      "dialer %d (id %u) finds its own scope (%s)", i, id, url_of(st));
		CHECK(nngstat_value(st, "id") == id, "dialer %d: its id statistic", i);
		const char *theirs = url_of(nng_stat_find_dialer(all, d[i]));
		if (strcmp(theirs, urls[i]))
			printf("# libnng's nng_stat_find_dialer(dialer %d) gives the scope of %s\n",
			       i, theirs);
	}
	for (int i = 0; i < 2; i++) {
		uint32_t id = (uint32_t)nng_listener_id(l[i]);
		nng_stat *st = nngstat_find(all, "listener", id);
		CHECK(st && !strcmp(url_of(st), urls[3 + i]), "listener %d finds its own scope", i);
	}
	CHECK(nngstat_find(all, "dialer", 0x7fffffffu) == NULL, "an unknown id finds nothing");
	CHECK(nngstat_find(NULL, "dialer", 1) == NULL && nngstat_value(NULL, "pipes") == 0,
	      "no snapshot: nothing, 0");
	CHECK(nngstat_value(nngstat_find(all, "dialer", (uint32_t)nng_dialer_id(d[0])),
			    "no such statistic") == 0,
	      "an absent statistic reads 0");

	nng_stats_free(all);
	nng_close(s);
	for (int i = 3; i < 5; i++) {
		char path[160];
		snprintf(path, sizeof path, "%s/s%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	return tap_done();
}
