#include "predict.h"
#include "admit.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "modelver.h"
#include "png_encode.h"
#include "predict_int.h"
#include "proto.h"
#include "respond.h"
#include "trace.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ECHO 200 /* bytes of a client's declared type echoed back */

/* A prediction waiting for its worker. req is NULL once the client's
 * request is gone (its pool disposed); *handle lives in that pool. */
struct pending {
	struct predictor *pr;
	h2o_req_t *req;
	struct pending **handle;
	size_t bytes;	  /* taken from pr->admit */
	uint64_t sent_us; /* clock_us() when handed to the backend */
	bool probs;
	bool explain;
};

void predict_init(struct predictor *p, struct backend *b, struct admit *admit, size_t max_upload)
{
	*p = (struct predictor){.backend = b, .admit = admit, .max_upload = max_upload};
	mp_limits_default(&p->mp, max_upload);
}

json_t *predict_bad_type(const char *type, size_t len)
{
	metrics_error(METRICS_ERROR_UNSUPPORTED_TYPE);
	json_t *t = type ? respond_client_string(type, len > MAX_ECHO ? MAX_ECHO : len)
			 : json_string("None");
	json_t *detail = t ? json_sprintf("Invalid file type: %s. Only JPEG and PNG are supported.",
					  json_string_value(t))
			   : NULL;

	json_decref(t);
	return detail;
}

static void respond_bad_type(h2o_req_t *req, const char *type, size_t len)
{
	json_t *detail = predict_bad_type(type, len);
	respond_json(req, 400, detail ? json_pack("{s:o}", "detail", detail) : NULL, 0);
}

/* image/png, image/jpeg or image/jpg, parameters and case ignored. */
bool predict_type_allowed(const char *t, size_t n)
{
	static const char *const ok[] = {"image/png", "image/jpeg", "image/jpg"};
	const char *semi = memchr(t, ';', n);

	if (semi)
		n = (size_t)(semi - t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		if (h2o_lcstris(t, n, ok[i], strlen(ok[i])))
			return true;
	return false;
}

/* ?NAME=true (also 1, yes, on), anywhere in the query string. */
bool predict_query_flag(h2o_req_t *req, const char *name)
{
	const char *q, *end;

	if (req->query_at == SIZE_MAX)
		return false;
	q = req->path.base + req->query_at + 1;
	end = req->path.base + req->path.len;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(stop - q));
		if (eq && h2o_memis(q, (size_t)(eq - q), name, strlen(name))) {
			const char *v = eq + 1;
			size_t n = (size_t)(stop - v);
			return h2o_lcstris(v, n, H2O_STRLIT("true")) || h2o_memis(v, n, "1", 1) ||
			       h2o_lcstris(v, n, H2O_STRLIT("yes")) ||
			       h2o_lcstris(v, n, H2O_STRLIT("on"));
		}
		q = stop + 1;
	}
	return false;
}

static double round4(float x)
{
	return round((double)x * 1e4) / 1e4;
}

/* A real as jansson writes it with JSON_REAL_PRECISION(4): "%.4g", ".0"
 * appended if it would read as an integer, the exponent without '+' and
 * leading zeros. Writes at most 32 bytes; returns the length. */
static size_t put_real(char *out, double v)
{
	double k = v * 1e4;
	/* The common case without printf (a third of this file's instructions
	 * per request): a probability rounded to 4 decimals, "%.4g" of which is
	 * "0." and its 4 digits without trailing zeros, or "0" / "1". */
	if (k >= 0 && k <= 1e4 && k == (double)(int)k && (double)(int)k / 1e4 == v) {
		int d = (int)k, len = 6;
		if (d == 0 || d == 10000) {
			memcpy(out, d ? "1.0" : "0.0", 4);
			return 3;
		}
		memcpy(out, "0.", 2);
		for (int i = 5; i >= 2; i--, d /= 10)
			out[i] = (char)('0' + d % 10);
		while (out[len - 1] == '0')
			len--;
		out[len] = '\0';
		return (size_t)len;
	}
	size_t n = (size_t)snprintf(out, 32, "%.4g", v);
	char *start = strchr(out, 'e'), *end;

	if (!strchr(out, '.') && !start) {
		memcpy(out + n, ".0", 3);
		return n + 2;
	}
	if (start) {
		end = ++start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		memmove(start, end, n + 1 - (size_t)(end - out));
		n -= (size_t)(end - start);
	}
	return n;
}

/* The 200 answer written straight into the request's pool, the bytes that
 * jansson made before (keys digit, confidence, model_input for
 * ?explain=true: the worker's 28x28 input as a base64 PNG, probabilities
 * for ?probs=true; reals rounded to 4 decimals). -1: out of memory, or a
 * value JSON cannot hold. */
int predict_text(h2o_req_t *req, const struct proto_reply *rep, bool probs, bool explain,
		 h2o_iovec_t *out)
{
	bool input = explain && rep->has_input, all = probs && rep->has_probs;
	uint8_t *png = NULL;
	size_t png_len = 0, cap, n;
	char *t;

	if (!isfinite(rep->confidence) ||
	    (all && !isfinite(rep->probs[0] + rep->probs[1] + rep->probs[2] + rep->probs[3] +
			      rep->probs[4] + rep->probs[5] + rep->probs[6] + rep->probs[7] +
			      rep->probs[8] + rep->probs[9])))
		return -1;
	if (input && png_encode_gray(rep->input, 28, 28, &png, &png_len) != 0)
		return -1;
	cap = 64 + 11 * 33 + (input ? 20 + h2o_base64_encode_capacity(png_len) : 0);
	t = h2o_mem_alloc_pool(&req->pool, cap);
	n = sizeof "{\"digit\":0,\"confidence\":" - 1; /* digit is 0..9 (proto.h) */
	memcpy(t, "{\"digit\":0,\"confidence\":", n);
	t[9] = (char)('0' + rep->digit);
	n += put_real(t + n, round4(rep->confidence));
	if (input) {
		n += (size_t)snprintf(t + n, cap - n, ",\"model_input\":\"");
		n += h2o_base64_encode(t + n, png, png_len, 0);
		t[n++] = '"';
	}
	if (all) {
		n += (size_t)snprintf(t + n, cap - n, ",\"probabilities\":[");
		for (int i = 0; i < 10; i++) {
			n += put_real(t + n, round4(rep->probs[i]));
			t[n++] = i < 9 ? ',' : ']';
		}
	}
	t[n++] = '}';
	free(png);
	*out = h2o_iovec_init(t, n);
	return 0;
}

static void respond_reply(h2o_req_t *req, const uint8_t *buf, size_t len, bool probs, bool explain,
			  uint64_t sent_us)
{
	struct proto_reply rep;
	char err[ERR_MAX];

	if (proto_parse_reply(buf, len, &rep, err) != 0) {
		metrics_error(METRICS_ERROR_INTERNAL);
		log_error("bad reply from a worker: %s", err);
		respond_detail(req, 500, "Internal error: bad reply from the inference worker");
		return;
	}
	modelver_seen(rep.model, clock_ms());
	respond_model_version(req, rep.model);
	metrics_worker_wait((double)((int64_t)(clock_us() - sent_us) - (int64_t)rep.infer_us) /
			    1e6);
	if (rep.ok) {
		h2o_iovec_t body;
		metrics_prediction(rep.infer_us, rep.batch, rep.lead, rep.forward_us);
		if (predict_text(req, &rep, probs, explain, &body) == 0)
			respond(req, 200, "application/json", body, rep.worker);
		else /* as before: jansson could not build it */
			respond_json(req, 200, NULL, rep.worker);
		return;
	}
	metrics_error(metrics_error_of(rep.code));
	predict_failed(req, &rep, "", rep.worker);
}

void predict_failed(h2o_req_t *req, const struct proto_reply *rep, const char *prefix,
		    uint32_t worker)
{
	size_t elen = strnlen(rep->error, sizeof rep->error);
	char msg[ERR_MAX + 96];

	if (!strcmp(rep->code, "invalid_image") || !strcmp(rep->code, "unsupported_type") ||
	    !strcmp(rep->code, "too_large")) {
		json_t *m = respond_client_string(rep->error, elen);
		json_t *detail =
		    m ? json_sprintf("%sError processing image: %s", prefix, json_string_value(m))
		      : NULL;
		json_decref(m);
		respond_json(req, 400, detail ? json_pack("{s:o}", "detail", detail) : NULL,
			     worker);
	} else if (!strcmp(rep->code, "unavailable")) {
		/* The worker's own reason: busy decoding, or shutting down. */
		snprintf(msg, sizeof msg, "%sThe inference worker cannot take it now (%.*s), retry",
			 prefix, (int)elen, rep->error);
		metrics_reject(METRICS_REJECT_OVERLOAD);
		respond_503(req, msg);
	} else {
		log_error("worker %u answered %s: %s", rep->worker, rep->code, rep->error);
		snprintf(msg, sizeof msg, "%sInternal error", prefix);
		respond_json(req, 500, json_pack("{s:s}", "detail", msg), worker);
	}
}

/* The request's pool is being freed: forget the request. */
static void on_request_disposed(void *obj)
{
	struct pending **handle = obj;
	if (*handle)
		(*handle)->req = NULL;
}

/* Loop thread (backend contract): the worker's answer, or why none came. */
static void on_worker_reply(void *arg, int rc, const uint8_t *reply, size_t len)
{
	struct pending *p = arg;
	struct predictor *pr = p->pr;
	h2o_req_t *req = p->req;
	bool probs = p->probs, explain = p->explain;
	uint64_t sent_us = p->sent_us;

	admit_give(pr->admit, p->bytes);
	metrics_inflight_add(-1);
	if (req)
		*p->handle = NULL;
	free(p);
	if (!req) {
		struct proto_reply rep; /* the work was done: count it all the same */
		if (rc == 0 && proto_parse_reply(reply, len, &rep, NULL) == 0 && rep.ok)
			metrics_prediction(rep.infer_us, rep.batch, rep.lead, rep.forward_us);
		log_debug("client left before its prediction was ready");
		return;
	}
	if (rc == ERR_TIMEOUT) {
		char msg[96];
		snprintf(msg, sizeof msg, "No inference worker answered within %d ms",
			 backend_timeout_ms(pr->backend));
		metrics_reject(METRICS_REJECT_TIMEOUT);
		metrics_error(METRICS_ERROR_TIMEOUT);
		metrics_worker_wait((double)(clock_us() - sent_us) / 1e6);
		respond_detail(req, 504, msg);
	} else if (rc != 0) {
		metrics_reject(METRICS_REJECT_NO_WORKER);
		metrics_error(METRICS_ERROR_UNAVAILABLE);
		respond_503(req, "No inference worker is available");
	} else {
		respond_reply(req, reply, len, probs, explain, sent_us);
	}
}

/* proto_write_fn into an nng message (its capacity reserved beforehand). */
static int msg_append(void *msg, const char *buf, size_t len)
{
	return nng_msg_append(msg, buf, len) == 0 ? 0 : -1;
}

/* The request packed straight into an nng message: the image's one copy
 * on this thread (h2o's body buffer -> the message nng sends). */
static nng_msg *pack_message(const struct proto_request *preq)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, 0) != 0)
		return NULL;
	if (nng_msg_reserve(m, proto_request_bound(preq)) != 0 ||
	    proto_pack_request_with(preq, msg_append, m) != 0) {
		nng_msg_free(m);
		return NULL;
	}
	return m;
}

static void forward(struct predictor *pr, h2o_req_t *req, const uint8_t *image, size_t len)
{
	struct proto_request preq = {.image = image,
				     .image_len = len,
				     .probs = predict_query_flag(req, "probs"),
				     .explain = predict_query_flag(req, "explain")};
	enum backend_state state;
	enum admit_result admitted;
	struct pending *p;
	nng_msg *msg = NULL;
	int rc;

	trace_to_worker(req, &preq);
	if (respond_ctx_of(req)->draining) {
		metrics_error(METRICS_ERROR_UNAVAILABLE);
		respond_503(req, "The service is shutting down");
		return;
	}
	if ((state = backend_available(pr->backend)) != BACKEND_READY) {
		metrics_reject(METRICS_REJECT_NO_WORKER);
		metrics_error(METRICS_ERROR_UNAVAILABLE);
		respond_503(req, state == BACKEND_SILENT
				     ? "No inference worker has answered for 3 s"
				     : "No inference worker is available");
		return;
	}
	if ((admitted = admit_take(pr->admit, len)) != ADMIT_OK) {
		metrics_reject(METRICS_REJECT_OVERLOAD);
		metrics_error(METRICS_ERROR_UNAVAILABLE);
		respond_503(req, admitted == ADMIT_TOO_MANY_BYTES ? "Too many bytes in flight"
								  : "Too many requests in flight");
		return;
	}
	if (!(p = calloc(1, sizeof *p)) || !(msg = pack_message(&preq))) {
		free(p);
		admit_give(pr->admit, len);
		metrics_error(METRICS_ERROR_INTERNAL);
		respond_detail(req, 500, "Internal error: out of memory");
		return;
	}
	if ((rc = backend_send(pr->backend, msg, on_worker_reply, p)) != 0) {
		nng_msg_free(msg);
		free(p);
		admit_give(pr->admit, len);
		metrics_reject(METRICS_REJECT_OVERLOAD);
		metrics_error(METRICS_ERROR_UNAVAILABLE);
		respond_503(req, rc == ERR_NOMEM ? "Out of memory" : "Too many requests in flight");
		return;
	}
	metrics_inflight_add(1);
	p->sent_us = clock_us();
	p->pr = pr;
	p->req = req;
	p->probs = preq.probs;
	p->explain = preq.explain;
	p->bytes = len;
	p->handle = h2o_mem_alloc_shared(&req->pool, sizeof *p->handle, on_request_disposed);
	*p->handle = p;
}

void predict_handle(struct predictor *pr, h2o_req_t *req)
{
	ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
	const char *ctype = i >= 0 ? req->headers.entries[i].value.base : NULL;
	size_t ctype_len = i >= 0 ? req->headers.entries[i].value.len : 0;
	const uint8_t *body = (const uint8_t *)req->entity.base;
	size_t body_len = req->entity.base ? req->entity.len : 0;
	struct mp_str boundary;
	struct mp_part parts[PREDICT_MAX_FILES + 1], part;
	size_t nparts = 0;
	char err[ERR_MAX], msg[ERR_MAX + 64];
	int rc;

	rc = ctype ? mp_boundary(ctype, ctype_len, &boundary, err) : ERR_UNSUPPORTED;
	if (rc == ERR_UNSUPPORTED) {
		/* A raw image body. */
		if (!ctype || !predict_type_allowed(ctype, ctype_len)) {
			respond_bad_type(req, ctype, ctype_len);
			return;
		}
		if (body_len > pr->max_upload) {
			respond_too_large(req);
			return;
		}
		forward(pr, req, body, body_len);
		return;
	}
	if (rc == 0)
		rc = mp_find_all(body ? body : (const uint8_t *)"", body_len, boundary, "file",
				 &pr->mp, parts, PREDICT_MAX_FILES + 1, &nparts, err);
	if (rc == ERR_TOO_LARGE) {
		respond_too_large(req);
		return;
	}
	if (rc != 0) {
		metrics_error(METRICS_ERROR_BAD_REQUEST);
		snprintf(msg, sizeof msg, "Malformed multipart body: %s", err);
		respond_detail(req, 400, msg);
		return;
	}
	if (nparts == 0) {
		metrics_error(METRICS_ERROR_BAD_REQUEST);
		respond_detail(req, 400, "Missing form field 'file'");
		return;
	}
	if (nparts > 1) {
		predict_multi(pr, req, parts, nparts);
		return;
	}
	part = parts[0];
	if (!part.content_type.ptr ||
	    !predict_type_allowed(part.content_type.ptr, part.content_type.len)) {
		respond_bad_type(req, part.content_type.ptr, part.content_type.len);
		return;
	}
	forward(pr, req, part.data, part.len);
}
