#include "v2.h"
#include "clock.h"
#include "err.h"
#include "fanout.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "modelver.h"
#include "proto.h"
#include "respond.h"
#include "trace.h"
#include "v2_codec.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An infer request waiting for its workers. */
struct infer {
	struct v2_server *v;
	struct v2_request r;
	char version[PROTO_MODEL_MAX + 1]; /* asked in the URL, or "" */
};

/* ---- answers ---------------------------------------------------------------- */

/* {"error": "..."}; the message may hold client text (escaped here). */
static void v2_error(h2o_req_t *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void v2_error(h2o_req_t *req, int status, const char *fmt, ...)
{
	char msg[ERR_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (status == 503) {
		char secs[16];
		snprintf(secs, sizeof secs, "%d", respond_ctx_of(req)->retry_after_s);
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
			       h2o_strdup(&req->pool, secs, SIZE_MAX).base, strlen(secs));
	}
	respond_json(req, status,
		     json_pack("{s:o}", "error", respond_client_string(msg, strlen(msg))), 0);
}

static void v2_405(h2o_req_t *req, const char *allow)
{
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
	v2_error(req, 405, "Method Not Allowed");
}

/* Health answers: the status says it all, the body is empty. */
static void v2_health(h2o_req_t *req, bool ok)
{
	respond(req, ok ? 200 : 400, "text/plain", h2o_iovec_init("", 0), 0);
}

static bool is_get(h2o_req_t *req)
{
	return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
	       h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

static bool is_post(h2o_req_t *req)
{
	return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
}

static bool ready(struct v2_server *v, h2o_req_t *req)
{
	return health_check(v->backend, respond_ctx_of(req)->draining).ready;
}

/* ---- metadata --------------------------------------------------------------- */

static void server_metadata(h2o_req_t *req)
{
	respond_json(req, 200,
		     json_pack("{s:s,s:s,s:[s]}", "name", V2_SERVER_NAME, "version",
			       V2_SERVER_VERSION, "extensions", "binary_tensor_data"),
		     0);
}

static json_t *tensor(const char *name, const char *type, int dims)
{
	return dims == 1 ? json_pack("{s:s,s:s,s:[i]}", "name", name, "datatype", type, "shape", -1)
	       : dims == 2
		   ? json_pack("{s:s,s:s,s:[i,i]}", "name", name, "datatype", type, "shape", -1, 10)
		   : json_pack("{s:s,s:s,s:[i,i,i]}", "name", name, "datatype", type, "shape", -1,
			       28, 28);
}

static void model_metadata(h2o_req_t *req)
{
	modelver_t cur[MODELVER_MAX];
	size_t n = modelver_current(cur, MODELVER_MAX, clock_ms());
	json_t *versions = json_array();

	for (size_t i = 0; versions && i < n; i++)
		json_array_append_new(versions, json_string(cur[i]));
	respond_json(req, 200,
		     json_pack("{s:s,s:o,s:s,s:[o,o],s:[o,o,o]}", "name", MODELVER_NAME, "versions",
			       versions, "platform", "mnist_safetensors", "inputs",
			       tensor("pixels", "FP32", 3), tensor("image", "BYTES", 1), "outputs",
			       tensor("digit", "INT64", 1), tensor("confidence", "FP32", 1),
			       tensor("probabilities", "FP32", 2)),
		     0);
}

/* ---- infer ------------------------------------------------------------------ */

static void respond_infer(struct infer *in, h2o_req_t *req, const struct fanout_result *res)
{
	int digit[V2_MAX_BATCH];
	float conf[V2_MAX_BATCH], probs[V2_MAX_BATCH * 10];
	struct v2_result out = {.digit = digit, .confidence = conf, .probs = probs};
	char versions[256], lenbuf[24];
	uint8_t *body;
	size_t len, hlen;

	for (size_t i = 0; i < res->n; i++) {
		digit[i] = res->replies[i].digit;
		conf[i] = res->replies[i].confidence;
		memcpy(probs + 10 * i, res->replies[i].probs, sizeof res->replies[i].probs);
	}
	fanout_versions(res, versions, sizeof versions);
	if (v2_build_response(&in->r, &out, res->replies[0].model, &body, &len, &hlen) != 0) {
		v2_error(req, 500, "Internal error: out of memory");
		return;
	}
	respond_model_version(req, versions);
	if (hlen < len) {
		snprintf(lenbuf, sizeof lenbuf, "%zu", hlen);
		h2o_add_header_by_str(
		    &req->pool, &req->res.headers, H2O_STRLIT("inference-header-content-length"), 0,
		    NULL, h2o_strdup(&req->pool, lenbuf, SIZE_MAX).base, strlen(lenbuf));
	}
	h2o_iovec_t b = h2o_strdup(&req->pool, (const char *)body, len);
	free(body);
	respond(req, 200, hlen < len ? "application/octet-stream" : "application/json", b, 0);
}

/* The first failed image's error; true when there was one. */
static bool respond_failure(h2o_req_t *req, const struct fanout_result *res, const char *what)
{
	for (size_t i = 0; i < res->n; i++) {
		const struct proto_reply *rep = &res->replies[i];
		int n = (int)strnlen(rep->error, sizeof rep->error);
		if (rep->ok)
			continue;
		if (!strcmp(rep->code, "invalid_image") || !strcmp(rep->code, "unsupported_type") ||
		    !strcmp(rep->code, "too_large") || !strcmp(rep->code, "bad_request")) {
			v2_error(req, 400, "input \"%s\": image %zu: %.*s", what, i, n, rep->error);
		} else if (!strcmp(rep->code, "unavailable")) {
			metrics_reject(METRICS_REJECT_OVERLOAD);
			v2_error(req, 503,
				 "image %zu: the inference worker cannot take it now (%.*s), "
				 "retry",
				 i, n, rep->error);
		} else {
			log_error("worker %u answered %s: %s", rep->worker, rep->code, rep->error);
			v2_error(req, 500, "image %zu: internal error", i);
		}
		return true;
	}
	return false;
}

static void on_infer_done(void *arg, h2o_req_t *req, const struct fanout_result *res)
{
	struct infer *in = arg;
	const char *what = in->r.input == V2_IN_IMAGE ? "image" : "pixels";

	if (!req) {
		log_debug("client left before its v2 inference was ready");
	} else if (res->rc == ERR_TIMEOUT) {
		metrics_reject(METRICS_REJECT_TIMEOUT);
		v2_error(req, 504, "No inference worker answered within %d ms",
			 backend_timeout_ms(in->v->backend));
	} else if (res->rc != 0) {
		metrics_reject(METRICS_REJECT_NO_WORKER);
		v2_error(req, 503, "No inference worker is available");
	} else if (!respond_failure(req, res, what)) {
		bool moved = false;
		for (size_t i = 0; in->version[0] && i < res->n; i++)
			moved |= strcmp(res->replies[i].model, in->version) != 0;
		if (moved)
			v2_error(req, 503,
				 "some images were answered by another version than %s (the "
				 "workers serve several: a reload?), retry",
				 in->version);
		else
			respond_infer(in, req, res);
	}
	v2_request_free(&in->r);
	free(in);
}

/* The Inference-Header-Content-Length, or the whole body without it. */
static int header_length(h2o_req_t *req, size_t body_len, size_t *out)
{
	ssize_t i = h2o_find_header_by_str(&req->headers,
					   H2O_STRLIT("inference-header-content-length"), -1);
	const h2o_iovec_t *v;
	size_t n = 0;

	*out = body_len;
	if (i < 0)
		return 0;
	v = &req->headers.entries[i].value;
	if (v->len == 0 || v->len > 19)
		return -1;
	for (size_t k = 0; k < v->len; k++) {
		if (v->base[k] < '0' || v->base[k] > '9')
			return -1;
		n = n * 10 + (size_t)(v->base[k] - '0');
	}
	*out = n;
	return 0;
}

static int pack_all(h2o_req_t *req, const struct v2_request *r, uint8_t **msgs, size_t *lens)
{
	struct proto_request base = {0};

	for (int k = 0; k < r->nout; k++)
		base.probs |= r->outputs[k] == V2_OUT_PROBABILITIES;
	trace_to_worker(req, &base);
	for (size_t i = 0; i < r->n; i++) {
		struct proto_request p = base;
		if (r->input == V2_IN_PIXELS) {
			p.input = r->tensors + i * V2_TENSOR_BYTES;
			p.input_len = V2_TENSOR_BYTES;
		} else {
			p.image = r->images[i];
			p.image_len = r->image_lens[i];
		}
		if (proto_pack_request(&p, &msgs[i], &lens[i]) != 0) {
			while (i--)
				free(msgs[i]);
			return ERR_NOMEM;
		}
	}
	return 0;
}

static void infer(struct v2_server *v, h2o_req_t *req, const char *version, size_t vlen)
{
	const uint8_t *body =
	    req->entity.base ? (const uint8_t *)req->entity.base : (const uint8_t *)"";
	size_t len = req->entity.base ? req->entity.len : 0, hlen;
	uint8_t *msgs[V2_MAX_BATCH];
	size_t lens[V2_MAX_BATCH];
	char err[ERR_MAX];
	struct infer *in = calloc(1, sizeof *in);
	int rc;

	if (!in) {
		v2_error(req, 500, "Internal error: out of memory");
		return;
	}
	in->v = v;
	memcpy(in->version, version, vlen);
	if (header_length(req, len, &hlen) != 0) {
		v2_error(req, 400, "Inference-Header-Content-Length must be a byte count");
		goto fail;
	}
	if ((rc = v2_parse_infer(body, len, hlen, v->max_upload, &in->r, err)) != 0) {
		v2_error(req, rc == ERR_NOMEM ? 500 : rc == ERR_TOO_LARGE ? 413 : 400, "%s", err);
		goto fail;
	}
	if (pack_all(req, &in->r, msgs, lens) != 0) {
		v2_error(req, 500, "Internal error: out of memory");
		goto fail;
	}
	rc = fanout_start(v->backend, v->admit, req, msgs, lens, in->r.n, on_infer_done, in, err);
	for (size_t i = 0; i < in->r.n; i++)
		free(msgs[i]);
	if (rc == 0)
		return;
	v2_error(req, rc == ERR_UNAVAILABLE ? 503 : 500, "%s", err);
fail:
	v2_request_free(&in->r);
	free(in);
}

/* ---- routing ---------------------------------------------------------------- */

/* "/models/NAME[/versions/VERSION][/ready|/infer]" of rest. */
static void model_route(struct v2_server *v, h2o_req_t *req, const char *p, size_t n)
{
	const char *name = p, *ver = NULL, *end = p + n;
	const char *slash = memchr(p, '/', n);
	size_t name_len = slash ? (size_t)(slash - p) : n, vlen = 0;
	h2o_iovec_t tail = {NULL, 0};

	if (slash && (size_t)(end - slash) > 10 && memcmp(slash, "/versions/", 10) == 0) {
		ver = slash + 10;
		slash = memchr(ver, '/', (size_t)(end - ver));
		vlen = slash ? (size_t)(slash - ver) : (size_t)(end - ver);
	}
	if (slash)
		tail = h2o_iovec_init(slash, (size_t)(end - slash));
	if (!h2o_memis(name, name_len, H2O_STRLIT(MODELVER_NAME))) {
		v2_error(req, 404, "Unknown model \"%.*s\": this server serves \"%s\"",
			 (int)(name_len > 64 ? 64 : name_len), name, MODELVER_NAME);
		return;
	}
	if (tail.len && !h2o_memis(tail.base, tail.len, H2O_STRLIT("/ready")) &&
	    !h2o_memis(tail.base, tail.len, H2O_STRLIT("/infer"))) {
		v2_error(req, 404, "Not Found");
		return;
	}
	bool is_infer = tail.len && tail.base[1] == 'i';
	if (is_infer ? !is_post(req) : !is_get(req)) {
		v2_405(req, is_infer ? "POST" : "GET, HEAD");
		return;
	}
	bool known = !ver || (vlen > 0 && vlen <= PROTO_MODEL_MAX &&
			      modelver_is_current(ver, vlen, clock_ms()));
	if (tail.len && !is_infer) {
		v2_health(req, known && ready(v, req));
	} else if (!known) {
		v2_error(req, 404, "Model \"%s\" has no version \"%.*s\" being served",
			 MODELVER_NAME, (int)(vlen > 64 ? 64 : vlen), ver);
	} else if (is_infer) {
		infer(v, req, ver ? ver : "", vlen);
	} else {
		model_metadata(req);
	}
}

void v2_handle(struct v2_server *v, h2o_req_t *req)
{
	h2o_iovec_t path = req->path_normalized;
	const char *p = path.base + 3; /* after "/v2" */
	size_t n = path.len - 3;

	if (n > 8 && memcmp(p, "/models/", 8) == 0) {
		model_route(v, req, p + 8, n - 8);
		return;
	}
	if (!h2o_memis(p, n, H2O_STRLIT("")) && !h2o_memis(p, n, H2O_STRLIT("/")) &&
	    !h2o_memis(p, n, H2O_STRLIT("/health/live")) &&
	    !h2o_memis(p, n, H2O_STRLIT("/health/ready"))) {
		v2_error(req, 404, "Not Found");
		return;
	}
	if (!is_get(req)) {
		v2_405(req, "GET, HEAD");
		return;
	}
	if (n <= 1)
		server_metadata(req);
	else if (h2o_memis(p, n, H2O_STRLIT("/health/live")))
		v2_health(req, true);
	else
		v2_health(req, ready(v, req));
}
