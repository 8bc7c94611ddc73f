#include "nngclose.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* Shared by the waiter and the closing thread; the last one out frees it. */
struct closing {
	pthread_mutex_t mu;
	pthread_cond_t done_cv;
	nng_socket sock;
	bool done;
	int refs;
};

static void release(struct closing *c)
{
	pthread_mutex_lock(&c->mu);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (last) {
		pthread_cond_destroy(&c->done_cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
}

static void *close_thread(void *arg)
{
	struct closing *c = arg;

	nng_close(c->sock);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->done_cv);
	pthread_mutex_unlock(&c->mu);
	release(c);
	return NULL;
}

int nngclose_within(nng_socket sock, int timeout_ms, const char *what)
{
	struct closing *c = calloc(1, sizeof *c);
	pthread_condattr_t attr;
	struct timespec until;
	pthread_t thread;
	bool done;

	if (!c) {
		nng_close(sock);
		return 0;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done_cv, &attr);
	pthread_condattr_destroy(&attr);
	c->sock = sock;
	c->refs = 2;
	if (pthread_create(&thread, NULL, close_thread, c) != 0) {
		c->refs = 1;
		release(c);
		nng_close(sock); /* no thread to spare: close in place */
		return 0;
	}
	pthread_detach(thread);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->done)
		if (pthread_cond_timedwait(&c->done_cv, &c->mu, &until) == ETIMEDOUT)
			break;
	done = c->done;
	pthread_mutex_unlock(&c->mu);
	release(c);
	if (done)
		return 0;
	log_warn("%s did not close within %d ms (libnng); leaving it to the process exit", what,
		 timeout_ms);
	return ERR_TIMEOUT;
}
