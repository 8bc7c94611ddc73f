#include "fanout.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "modelver.h"
#include "respond.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fanout;

struct item {
	struct fanout *f;
	size_t index;
	size_t bytes; /* taken from the admit budget */
	bool taken;   /* still held */
};

struct fanout {
	struct admit *admit;
	h2o_req_t *req; /* NULL once the client's request is disposed */
	struct fanout **handle;
	fanout_done_cb cb;
	void *arg;
	size_t n, remaining;
	int rc;
	struct item *items;
	struct proto_reply *replies;
};

static void on_request_disposed(void *obj)
{
	struct fanout **handle = obj;
	if (*handle)
		(*handle)->req = NULL;
}

static void give_back(struct fanout *f, struct item *it)
{
	if (!it->taken)
		return;
	admit_give(f->admit, it->bytes);
	metrics_inflight_add(-1);
	it->taken = false;
}

static void no_reply(struct proto_reply *rep, int rc)
{
	proto_reply_error(rep, rc == ERR_TIMEOUT ? ERR_TIMEOUT : ERR_UNAVAILABLE,
			  rc == ERR_TIMEOUT ? "no inference worker answered in time"
					    : "no inference worker is available");
}

static void fanout_free(struct fanout *f)
{
	free(f->items);
	free(f->replies);
	free(f);
}

static void finish(struct fanout *f)
{
	struct fanout_result r = {.rc = f->rc, .n = f->n, .replies = f->replies};

	if (f->req)
		*f->handle = NULL;
	f->cb(f->arg, f->req, &r);
	fanout_free(f);
}

/* Loop thread (backend contract): one item's answer, or why none came. */
static void on_item_reply(void *arg, int rc, const uint8_t *reply, size_t len)
{
	struct item *it = arg;
	struct fanout *f = it->f;
	struct proto_reply *rep = &f->replies[it->index];
	char err[ERR_MAX];

	give_back(f, it);
	if (rc != 0) {
		no_reply(rep, rc);
		if (f->rc != ERR_TIMEOUT)
			f->rc = rc == ERR_TIMEOUT ? ERR_TIMEOUT : ERR_UNAVAILABLE;
	} else if (proto_parse_reply(reply, len, rep, err) != 0) {
		log_error("bad reply from a worker: %s", err);
		proto_reply_error(rep, ERR_INTERNAL, "bad reply from the inference worker");
	} else {
		modelver_seen(rep->model, clock_ms());
		if (rep->ok)
			metrics_prediction(rep->infer_us, rep->batch, rep->lead, rep->forward_us);
		else
			metrics_error(metrics_error_of(rep->code));
	}
	if (--f->remaining == 0)
		finish(f);
}

/* Admission of all n items, or of none. */
static int admit_all(struct fanout *f, struct backend *b, h2o_req_t *req, const size_t *lens,
		     char *err)
{
	enum backend_state state;

	if (respond_ctx_of(req)->draining)
		return err_set(err, ERR_UNAVAILABLE, "The service is shutting down");
	if ((state = backend_available(b)) != BACKEND_READY) {
		metrics_reject(METRICS_REJECT_NO_WORKER);
		return err_set(err, ERR_UNAVAILABLE, "%s",
			       state == BACKEND_SILENT ? "No inference worker has answered for 3 s"
						       : "No inference worker is available");
	}
	for (size_t i = 0; i < f->n; i++) {
		enum admit_result a = admit_take(f->admit, lens[i]);
		if (a != ADMIT_OK) {
			for (size_t j = 0; j < i; j++)
				give_back(f, &f->items[j]);
			metrics_reject(METRICS_REJECT_OVERLOAD);
			return err_set(err, ERR_UNAVAILABLE, "%s",
				       a == ADMIT_TOO_MANY_BYTES ? "Too many bytes in flight"
								 : "Too many requests in flight");
		}
		f->items[i] = (struct item){.f = f, .index = i, .bytes = lens[i], .taken = true};
		metrics_inflight_add(1);
	}
	return 0;
}

int fanout_start(struct backend *b, struct admit *a, h2o_req_t *req, uint8_t *const *msgs,
		 const size_t *lens, size_t n, fanout_done_cb cb, void *arg, char *err)
{
	struct fanout *f = calloc(1, sizeof *f);
	size_t sent = 0;
	int rc;

	if (!f || !(f->items = calloc(n, sizeof *f->items)) ||
	    !(f->replies = calloc(n, sizeof *f->replies))) {
		if (f)
			fanout_free(f);
		return err_set(err, ERR_NOMEM, "Out of memory");
	}
	*f = (struct fanout){.admit = a,
			     .req = req,
			     .cb = cb,
			     .arg = arg,
			     .n = n,
			     .items = f->items,
			     .replies = f->replies};
	if ((rc = admit_all(f, b, req, lens, err)) != 0) {
		fanout_free(f);
		return rc;
	}
	for (; sent < n; sent++) {
		rc = backend_call(b, msgs[sent], lens[sent], on_item_reply, &f->items[sent]);
		if (rc != 0)
			break;
	}
	if (sent < n) {
		/* The calls already out complete later; the rest never went. */
		for (size_t i = sent; i < n; i++) {
			give_back(f, &f->items[i]);
			no_reply(&f->replies[i], ERR_UNAVAILABLE);
		}
		metrics_reject(METRICS_REJECT_OVERLOAD);
		if (sent == 0) {
			fanout_free(f);
			return err_set(err, ERR_UNAVAILABLE, "%s",
				       rc == ERR_NOMEM ? "Out of memory"
						       : "Too many requests in flight");
		}
		f->rc = ERR_UNAVAILABLE;
	}
	f->remaining = sent;
	f->handle = h2o_mem_alloc_shared(&req->pool, sizeof *f->handle, on_request_disposed);
	*f->handle = f;
	return 0;
}

void fanout_versions(const struct fanout_result *r, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		const char *v = r->replies[i].model;
		bool dup = !v[0];
		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(r->replies[j].model, v);
		if (dup)
			continue;
		int k = snprintf(out + at, len - at, "%s%s", at ? ", " : "", v);
		if (k < 0 || (size_t)k >= len - at) {
			out[at] = '\0';
			return;
		}
		at += (size_t)k;
	}
}
