/*
 * nngclose_within: a socket that closes normally returns 0; a socket whose
 * close blocks (here a pipe-removal callback that waits on a gate, which
 * holds nng_close back the way libnng 1.5.2's stuck reaper does) returns
 * ERR_TIMEOUT after the bound, and the close still completes once the gate
 * opens, with nothing leaked.
 */
#include "err.h"
#include "nngclose.h"
#include "tap.h"

#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pipes_added;
static bool gate_open, in_callback;

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)arg;
	pthread_mutex_lock(&mu);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		pipes_added++;
	} else {
		in_callback = true;
		while (!gate_open)
			pthread_cond_wait(&cv, &mu);
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait (at most 5 s) until the socket is gone from nng's table. */
static bool wait_closed(nng_socket s)
{
	for (int i = 0; i < 500; i++) {
		int v;
		if (nng_socket_get_int(s, NNG_OPT_RECVBUF, &v) == NNG_ECLOSED)
			return true;
		usleep(10000);
	}
	return false;
}

/* Listen on a fresh ipc path with a REP socket and dial it with REQ; wait
 * until the listener sees the pipe. */
static bool connect_pair(const char *url, nng_socket *rep, nng_socket *req)
{
	struct timespec until;
	bool ok = true;

	pipes_added = 0;
	if (nng_rep0_open(rep) != 0 || nng_req0_open(req) != 0)
		return false;
	nng_pipe_notify(*rep, NNG_PIPE_EV_ADD_POST, on_pipe, NULL);
	nng_pipe_notify(*rep, NNG_PIPE_EV_REM_POST, on_pipe, NULL);
	if (nng_listen(*rep, url, NULL, 0) != 0 || nng_dial(*req, url, NULL, 0) != 0)
		return false;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&mu);
	while (pipes_added == 0 && ok)
		ok = pthread_cond_timedwait(&cv, &mu, &until) == 0;
	pthread_mutex_unlock(&mu);
	return ok;
}

int main(void)
{
	char dir[] = "/tmp/t_nngclose.XXXXXX", url[128];
	nng_socket rep, req;
	double t0, waited;
	int rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}

	/* A socket that closes normally. */
	snprintf(url, sizeof url, "ipc://%s/a.sock", dir);
	gate_open = true;
	CHECK(connect_pair(url, &rep, &req), "connected pair");
	CHECK(nngclose_within(rep, 2000, "test socket") == 0, "a normal close returns 0");
	CHECK(wait_closed(rep), "and the socket is closed");
	CHECK(nngclose_within(req, 2000, "test socket") == 0, "the peer closes too");

	/* A close held back by a pipe that cannot be removed. */
	snprintf(url, sizeof url, "ipc://%s/b.sock", dir);
	gate_open = false;
	in_callback = false;
	CHECK(connect_pair(url, &rep, &req), "connected second pair");
	t0 = now_s();
	rc = nngclose_within(rep, 200, "test socket");
	waited = now_s() - t0;
	CHECK(rc == ERR_TIMEOUT, "a blocked close returns ERR_TIMEOUT (got %d)", rc);
	CHECK(waited >= 0.19 && waited < 3.0, "after about the bound (%.3f s for 200 ms)", waited);
	pthread_mutex_lock(&mu);
	CHECK(in_callback, "the close really was blocked in pipe removal");
	gate_open = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	CHECK(wait_closed(rep), "the close finishes once the pipe can go");
	CHECK(nngclose_within(req, 2000, "test socket") == 0, "the peer closes normally");

	nng_fini();
	snprintf(url, sizeof url, "%s/a.sock", dir);
	unlink(url);
	snprintf(url, sizeof url, "%s/b.sock", dir);
	unlink(url);
	rmdir(dir);
	return tap_done();
}
