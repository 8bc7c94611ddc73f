/*
 * predict_multi: POST /predict with several `file` parts. Each file is one
 * worker request; they go out together (fanout.h), so they spread over the
 * workers, and the answer lists the predictions in the order of the parts:
 * {"predictions": [{"digit", "confidence", ...}, ...]}. A file that fails
 * fails the request, with the error of /predict prefixed by "file[i]: "
 * (i counts the `file` parts from 0). ?probs and ?explain apply to every
 * file. X-Model-Version lists the versions that answered.
 */
#include "err.h"
#include "fanout.h"
#include "log.h"
#include "metrics.h"
#include "predict_int.h"
#include "respond.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct multi {
	struct predictor *pr;
	bool probs, explain;
};

static void respond_part_detail(h2o_req_t *req, int status, size_t i, const char *detail)
{
	json_t *d = json_sprintf("file[%zu]: %s", i, detail);
	respond_json(req, status, d ? json_pack("{s:o}", "detail", d) : NULL, 0);
}

/* {"predictions":[...]}: each answer as one file's, in order. */
static void respond_predictions(h2o_req_t *req, const struct fanout_result *r, bool probs,
				bool explain)
{
	static const char head[] = "{\"predictions\":[";
	h2o_iovec_t one[PREDICT_MAX_FILES];
	size_t len = sizeof head + 1, n;

	for (size_t i = 0; i < r->n; i++) {
		if (predict_text(req, &r->replies[i], probs, explain, &one[i]) != 0) {
			respond_json(req, 200, NULL, 0); /* as one file: 500, out of memory */
			return;
		}
		len += one[i].len + 1;
	}
	char *t = h2o_mem_alloc_pool(&req->pool, len);
	memcpy(t, head, sizeof head - 1);
	n = sizeof head - 1;
	for (size_t i = 0; i < r->n; i++) {
		memcpy(t + n, one[i].base, one[i].len);
		n += one[i].len;
		t[n++] = i + 1 < r->n ? ',' : ']';
	}
	t[n++] = '}';
	respond(req, 200, "application/json", h2o_iovec_init(t, n), 0);
}

static void on_done(void *arg, h2o_req_t *req, const struct fanout_result *r)
{
	struct multi *m = arg;
	char versions[256], msg[96];

	if (!req)
		goto out;
	if (r->rc == ERR_TIMEOUT) {
		snprintf(msg, sizeof msg, "No inference worker answered within %d ms",
			 backend_timeout_ms(m->pr->backend));
		metrics_reject(METRICS_REJECT_TIMEOUT);
		respond_detail(req, 504, msg);
		goto out;
	}
	if (r->rc != 0) {
		metrics_reject(METRICS_REJECT_NO_WORKER);
		respond_503(req, "No inference worker is available");
		goto out;
	}
	fanout_versions(r, versions, sizeof versions);
	respond_model_version(req, versions);
	for (size_t i = 0; i < r->n; i++)
		if (!r->replies[i].ok) {
			char prefix[32];
			snprintf(prefix, sizeof prefix, "file[%zu]: ", i);
			predict_failed(req, &r->replies[i], prefix, 0);
			goto out;
		}
	respond_predictions(req, r, m->probs, m->explain);
out:
	free(m);
}

/* Pack every file; on failure free what was packed. */
static int pack_all(h2o_req_t *req, const struct mp_part *parts, size_t n, bool probs, bool explain,
		    uint8_t **msgs, size_t *lens)
{
	struct proto_request base = {.probs = probs, .explain = explain};

	trace_to_worker(req, &base);
	for (size_t i = 0; i < n; i++) {
		struct proto_request preq = base;
		preq.image = parts[i].data;
		preq.image_len = parts[i].len;
		if (proto_pack_request(&preq, &msgs[i], &lens[i]) != 0) {
			while (i--)
				free(msgs[i]);
			return ERR_NOMEM;
		}
	}
	return 0;
}

void predict_multi(struct predictor *pr, h2o_req_t *req, const struct mp_part *parts, size_t count)
{
	uint8_t *msgs[PREDICT_MAX_FILES];
	size_t lens[PREDICT_MAX_FILES];
	char msg[ERR_MAX];
	struct multi *m;
	int rc;

	if (count > PREDICT_MAX_FILES) {
		snprintf(msg, sizeof msg,
			 "Too many files: %zu 'file' parts, at most %d per request", count,
			 PREDICT_MAX_FILES);
		respond_detail(req, 400, msg);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const struct mp_str *t = &parts[i].content_type;
		if (!t->ptr || !predict_type_allowed(t->ptr, t->len)) {
			json_t *d = predict_bad_type(t->ptr, t->len);
			respond_part_detail(req, 400, i,
					    d ? json_string_value(d) : "Invalid file type");
			json_decref(d);
			return;
		}
	}
	if (!(m = calloc(1, sizeof *m))) {
		respond_detail(req, 500, "Internal error: out of memory");
		return;
	}
	*m = (struct multi){.pr = pr,
			    .probs = predict_query_flag(req, "probs"),
			    .explain = predict_query_flag(req, "explain")};
	if (pack_all(req, parts, count, m->probs, m->explain, msgs, lens) != 0) {
		free(m);
		respond_detail(req, 500, "Internal error: out of memory");
		return;
	}
	rc = fanout_start(pr->backend, pr->admit, req, msgs, lens, count, on_done, m, msg);
	for (size_t i = 0; i < count; i++)
		free(msgs[i]);
	if (rc == 0)
		return;
	free(m);
	if (rc == ERR_UNAVAILABLE)
		respond_503(req, msg);
	else
		respond_detail(req, 500, "Internal error: out of memory");
}
