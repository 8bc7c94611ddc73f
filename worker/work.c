/*
 * work: the decode pool and the compute thread of a worker (serve_int.h).
 *
 * Admitted requests wait in one of two lanes: light (the header claims at
 * most SERVE_LIGHT_PIXELS) and heavy. Decode threads take light work first;
 * with two or more threads the first one takes light work only and at most
 * n-1 heavy decodes run at once, so a small upload is never queued behind a
 * large decode; the threads that may run heavy decodes run at a lower CPU
 * priority (nice +HEAVY_NICE), so that on a busy machine the light lane,
 * the compute thread and the nng threads are scheduled ahead of a long
 * decode. A heavy request that waited SERVE_MAX_WAIT_US for a decode
 * thread is answered `unavailable` instead of being decoded late (its
 * caller would rather retry than time out). A decoded request moves to the ready
 * queue; the compute thread runs the model on up to max_batch ready inputs
 * at once and replies. Nothing here blocks on nng.
 *
 * An upload of at most SERVE_INLINE_PIXELS (and a model input tensor) is
 * decoded on the nng thread it arrived on instead (work_decode_here): a
 * few tens of microseconds, less than handing it to a decode thread and
 * waking that thread costs. If no batch is running then, that thread also
 * runs the ready queue (drain_locked) instead of waking the compute thread;
 * s->computing says a thread is running batches, so there is one at a time,
 * and model swaps stay with the compute thread, between batches.
 */
#include "err.h"
#include "image.h"
#include "log.h"
#include "serve_int.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HEAVY_NICE 10

struct decoder {
	struct server *s;
	int index;
};

static void push(struct queue *q, struct slot *sl)
{
	sl->next = NULL;
	if (q->tail)
		q->tail->next = sl;
	else
		q->head = sl;
	q->tail = sl;
}

static struct slot *pop(struct queue *q)
{
	struct slot *sl = q->head;
	if (sl) {
		q->head = sl->next;
		if (!q->head)
			q->tail = NULL;
		sl->next = NULL;
	}
	return sl;
}

/* With s->mu held: wait up to the next idle tick on cond. */
static void wait_tick(struct server *s, pthread_cond_t *cond)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)BEAT_IDLE_US * 1000u;
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	pthread_cond_timedwait(cond, &s->mu, &ts);
}

void work_admit_locked(struct server *s, struct slot *sl)
{
	sl->state = SLOT_DECODE;
	sl->admitted_us = beat_now_us();
	s->backlog += sl->cost;
	push(sl->cost <= SERVE_LIGHT_PIXELS ? &s->light : &s->heavy, sl);
	/* The light lane's thread, or one that may take heavy work. */
	pthread_cond_broadcast(&s->decode);
}

/* With s->mu held: answer `unavailable` to the heavy requests that waited
 * over SERVE_MAX_WAIT_US (the lane is FIFO: the oldest is at the head).
 * Every decode thread and the compute thread call this at least every
 * BEAT_IDLE_US, so a busy heavy lane sheds on time. */
static void shed_late_locked(struct server *s)
{
	uint64_t now = beat_now_us();
	char err[ERR_MAX];

	while (s->heavy.head && now - s->heavy.head->admitted_us > SERVE_MAX_WAIT_US) {
		struct slot *sl = pop(&s->heavy);
		s->backlog -= sl->cost;
		s->stats.rejected++;
		err_set(err, ERR_UNAVAILABLE, "worker busy: waited over %u ms for a decode thread",
			SERVE_MAX_WAIT_US / 1000u);
		proto_reply_error(&sl->reply, ERR_UNAVAILABLE, err);
		serve_reply_locked(s, sl);
	}
}

static int max_heavy(const struct server *s)
{
	return s->ndecoders >= 2 ? s->ndecoders - 1 : 1;
}

/* With s->mu held: the next job for decoder index, or NULL. */
static struct slot *take_job(struct server *s, int index, bool *heavy)
{
	*heavy = false;
	if (s->light.head)
		return pop(&s->light);
	if (index == 0 && s->ndecoders >= 2)
		return NULL; /* the light lane */
	if (s->heavy.head && s->heavy_running < max_heavy(s)) {
		*heavy = true;
		s->heavy_running++;
		return pop(&s->heavy);
	}
	return NULL;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return h;
}

_Static_assert(PROTO_TENSOR_BYTES == MODEL_PIXELS * 4, "request input is one model row");
static int tensor_input(const struct proto_request *r, float *input)
{
	for (int i = 0; i < MODEL_PIXELS; i++)
		input[i] = proto_f32le(r->input + 4 * i);
	return 0;
}

/* Decode thread, s->mu not held: sl's request into sl->input. */
static int decode(struct server *s, struct slot *sl, char *err)
{
	const struct proto_request *r = &sl->req;
	uint64_t t0 = beat_now_us();
	int rc;

	if (r->input) /* the model input itself: no intake (checked by the parser) */
		rc = tensor_input(r, sl->input);
	else if (r->image)
		rc = img_to_mnist(r->image, r->image_len, &s->cfg.limits, sl->input, err);
	else
		rc = img_gray_to_mnist(r->pixels, r->width, r->height, &s->cfg.limits, sl->input,
				       err);
	sl->decode_us = beat_now_us() - t0;
	if (log_enabled(LOG_DEBUG)) {
		const uint8_t *b = r->input ? r->input : r->image ? r->image : r->pixels;
		size_t n = r->input ? r->input_len : r->image ? r->image_len : r->pixels_len;
		log_req(LOG_DEBUG, r->id, r->id_len, NULL, 0,
			"decode %016llx: %zu bytes, %llu pixels, %llu us, %s",
			(unsigned long long)fnv1a(b, n), n, (unsigned long long)sl->cost,
			(unsigned long long)sl->decode_us, rc ? "failed" : "ok");
	}
	return rc;
}

/* A thread that may decode large images may run on any CPU the worker's
 * cgroup allows, even when the frontend pinned the worker to one
 * (--pin-workers): a long decode must not wait for the CPU its worker's
 * light work runs on while another is idle. The kernel keeps the mask
 * within the cpuset. */
static void unpin_thread(void)
{
	cpu_set_t any;

	CPU_ZERO(&any);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &any);
	sched_setaffinity(0, sizeof any, &any); /* 0: this thread */
}

/* With s->mu held: sl decoded (rc 0) goes to the ready queue and true is
 * returned; otherwise it is answered with its error (or dropped if its
 * connection is gone). */
static bool queue_decoded_locked(struct server *s, struct slot *sl, int rc, const char *err)
{
	if (rc == 0) {
		sl->state = SLOT_READY;
		push(&s->done, sl);
		return true;
	}
	proto_reply_error(&sl->reply, rc, err);
	serve_reply_locked(s, sl); /* drops it when the connection is gone */
	return false;
}

static void *decoder_main(void *arg)
{
	struct decoder *d = arg;
	struct server *s = d->s;
	struct beat *b = &s->decode_beats[d->index];
	char err[ERR_MAX];
	bool heavy;

	if (d->index > 0) {
		setpriority(PRIO_PROCESS, (id_t)gettid(), HEAVY_NICE);
		unpin_thread();
	}
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct slot *sl = NULL;
		shed_late_locked(s);
		while (!s->quit && !(sl = take_job(s, d->index, &heavy))) {
			beat_idle(b);
			wait_tick(s, &s->decode);
			shed_late_locked(s);
		}
		if (s->quit)
			break;
		bool open = serve_pipe_open_locked(s, nng_msg_get_pipe(sl->msg));
		bool late = heavy && beat_now_us() - sl->admitted_us > SERVE_MAX_WAIT_US;
		pthread_mutex_unlock(&s->mu);

		int rc = 0;
		err[0] = '\0';
		if (open && late)
			rc = err_set(err, ERR_UNAVAILABLE,
				     "worker busy: waited over %u ms for a decode thread",
				     SERVE_MAX_WAIT_US / 1000u);
		else if (open) {
			beat_busy(b);
			rc = decode(s, sl, err);
			beat_idle(b);
		}

		pthread_mutex_lock(&s->mu);
		s->backlog -= sl->cost;
		if (heavy)
			s->heavy_running--;
		if (heavy && s->heavy.head)
			pthread_cond_broadcast(&s->decode);
		if (open && late)
			s->stats.rejected++;
		else if (open)
			s->stats.decodes++;
		if (!open && rc == 0)
			rc = ERR_UNAVAILABLE; /* not decoded: its reply is dropped below */
		if (queue_decoded_locked(s, sl, rc, err))
			pthread_cond_signal(&s->ready);
	}
	pthread_mutex_unlock(&s->mu);
	free(d);
	return NULL;
}

static void drain_locked(struct server *s);

void work_decode_here(struct server *s, struct slot *sl)
{
	char err[ERR_MAX] = "";
	int rc;

	sl->state = SLOT_DECODE;
	rc = decode(s, sl, err);
	pthread_mutex_lock(&s->mu);
	s->stats.decodes++;
	/* No batch running: run it here rather than wake the compute thread;
	 * one running takes this image in its next batch. */
	if (queue_decoded_locked(s, sl, rc, err) && !s->computing) {
		drain_locked(s);
		if (s->done.head || s->next_model)
			pthread_cond_signal(&s->ready);
	}
	pthread_mutex_unlock(&s->mu);
}

/* The model's input row as bytes 0-255, for a request with "explain". */
_Static_assert(PROTO_INPUT_BYTES == MODEL_PIXELS, "reply input is one model row");
static void explain_input(const float *row, struct proto_reply *rep)
{
	for (int i = 0; i < PROTO_INPUT_BYTES; i++) {
		float v = row[i] < 0.f ? 0.f : row[i] > 1.f ? 1.f : row[i];
		rep->input[i] = (uint8_t)(v * 255.f + 0.5f);
	}
	rep->has_input = true;
}

/* Compute thread, s->mu not held: run the model on n ready slots, reply. */
static void run_batch(struct server *s, int n)
{
	uint64_t t0 = beat_now_us();

	for (int i = 0; i < n; i++)
		memcpy(s->pixels + (size_t)i * MODEL_PIXELS, s->batch[i]->input,
		       sizeof s->batch[i]->input);
	model_forward(s->model, s->pixels, n, s->logits);
	uint64_t dt = beat_now_us() - t0;
	for (int i = 0; i < n; i++) {
		struct proto_reply *r = &s->batch[i]->reply;
		float probs[MODEL_CLASSES];
		int digit = model_softmax(s->logits + (size_t)i * MODEL_CLASSES, probs);
		bool want = s->batch[i]->req.probs;

		memset(r, 0, sizeof *r);
		r->ok = true;
		r->digit = digit;
		r->confidence = probs[digit];
		r->has_probs = want;
		memcpy(r->probs, probs, sizeof probs);
		r->batch = (uint32_t)n;
		memcpy(r->model, model_version(s->model), MODEL_VERSION_LEN + 1);
		r->lead = i == 0; /* one reply per batch carries the batch's numbers */
		r->forward_us = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)(dt ? dt : 1);
		/* this image's decode + its batch's forward */
		uint64_t us = s->batch[i]->decode_us + dt;
		r->infer_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)(us ? us : 1);
		if (s->batch[i]->req.explain)
			explain_input(s->batch[i]->input, r);
	}
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < n; i++) {
		serve_reply_locked(s, s->batch[i]);
	}
	s->stats.batches++;
	if ((uint64_t)n > s->stats.max_batch_seen)
		s->stats.max_batch_seen = (uint64_t)n;
	pthread_mutex_unlock(&s->mu);
	log_debug("batch of %d images, %llu us", n, (unsigned long long)dt);
}

/* With s->mu held and no thread running batches: run the ready queue in
 * batches until it is empty, or a model swap or quit waits, with
 * s->computing set meanwhile. */
static void drain_locked(struct server *s)
{
	s->computing = true;
	while (s->done.head && !s->next_model && !s->quit) {
		int n = 0;
		while (s->done.head && n < s->cfg.max_batch)
			s->batch[n++] = pop(&s->done);
		pthread_mutex_unlock(&s->mu);
		beat_busy(&s->compute_beat);
		run_batch(s, n);
		beat_idle(&s->compute_beat);
		pthread_mutex_lock(&s->mu);
	}
	s->computing = false;
}

static void *compute_main(void *arg)
{
	struct server *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		/* Another thread's batches (work_decode_here) are its own. */
		while (!s->quit && (s->computing || (!s->done.head && !s->next_model))) {
			if (!s->computing)
				beat_idle(&s->compute_beat);
			wait_tick(s, &s->ready);
			shed_late_locked(s);
		}
		if (s->quit)
			break;
		if (s->next_model) { /* between two batches: serve_swap_model() */
			s->retired = s->model;
			s->model = s->next_model;
			s->next_model = NULL;
			/* pongs and errors name the new version from now on */
			snprintf(s->version, sizeof s->version, "%s", model_version(s->model));
			pthread_cond_broadcast(&s->swapped);
			continue;
		}
		drain_locked(s);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int work_start(struct server *s, char *err)
{
	int n = s->cfg.decode_threads;

	s->pixels = calloc((size_t)s->cfg.max_batch * MODEL_PIXELS, sizeof *s->pixels);
	s->logits = calloc((size_t)s->cfg.max_batch * MODEL_CLASSES, sizeof *s->logits);
	s->batch = calloc((size_t)s->cfg.max_batch, sizeof *s->batch);
	s->decoders = calloc((size_t)n, sizeof *s->decoders);
	s->decode_beats = calloc((size_t)n, sizeof *s->decode_beats);
	if (!s->pixels || !s->logits || !s->batch || !s->decoders || !s->decode_beats)
		return err_set(err, ERR_NOMEM, "out of memory for a batch of %d", s->cfg.max_batch);
	beat_init(&s->compute_beat);
	if (pthread_create(&s->compute, NULL, compute_main, s))
		return err_set(err, ERR_INTERNAL, "cannot start the compute thread");
	pthread_mutex_lock(&s->alive_mu);
	s->compute_started = true;
	pthread_mutex_unlock(&s->alive_mu);
	beat_watch(&s->compute_beat, s->compute);
	for (int i = 0; i < n; i++) {
		struct decoder *d = malloc(sizeof *d);
		if (!d)
			return err_set(err, ERR_NOMEM, "out of memory");
		d->s = s;
		d->index = i;
		beat_init(&s->decode_beats[i]);
		/* ndecoders is read by take_job under s->mu */
		pthread_mutex_lock(&s->mu);
		if (pthread_create(&s->decoders[i], NULL, decoder_main, d)) {
			pthread_mutex_unlock(&s->mu);
			free(d);
			return err_set(err, ERR_INTERNAL, "cannot start decode thread %d", i);
		}
		pthread_mutex_lock(&s->alive_mu);
		s->ndecoders++;
		pthread_mutex_unlock(&s->alive_mu);
		pthread_mutex_unlock(&s->mu);
		beat_watch(&s->decode_beats[i], s->decoders[i]);
	}
	return 0;
}

void work_stop(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	s->quit = true;
	pthread_cond_broadcast(&s->decode);
	pthread_cond_broadcast(&s->ready);
	pthread_mutex_unlock(&s->mu);
	if (s->compute_started)
		pthread_join(s->compute, NULL);
	for (int i = 0; i < s->ndecoders; i++)
		pthread_join(s->decoders[i], NULL);
	pthread_mutex_lock(&s->alive_mu); /* a ping may be checking the beats */
	s->compute_started = false;
	s->ndecoders = 0;
	free(s->pixels);
	free(s->logits);
	free(s->batch);
	free(s->decoders);
	free(s->decode_beats);
	s->pixels = s->logits = NULL;
	s->batch = NULL;
	s->decoders = NULL;
	s->decode_beats = NULL;
	pthread_mutex_unlock(&s->alive_mu);
}

bool work_alive(struct server *s)
{
	uint64_t now = beat_now_us();
	bool alive;

	pthread_mutex_lock(&s->alive_mu);
	alive = s->compute_started &&
		beat_alive(&s->compute_beat, now, SERVE_STALL_US, SERVE_MAX_JOB_US);
	for (int i = 0; alive && i < s->ndecoders; i++)
		alive = beat_alive(&s->decode_beats[i], now, SERVE_STALL_US, SERVE_MAX_JOB_US);
	pthread_mutex_unlock(&s->alive_mu);
	return alive;
}
