#include "respond.h"
#include "log.h"
#include "metrics.h"
#include "trace.h"
#include "v2.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* h2o's own error responses (413 from Content-Length, 400 for a broken
 * chunked body) are rewritten into our JSON shape by this filter. */
struct json_ostream {
	h2o_ostream_t super;
	h2o_iovec_t body;
	bool sent;
};

static const char *reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

static double seconds_since(const struct timeval *tv)
{
	struct timeval now;
	gettimeofday(&now, NULL);
	return (double)(now.tv_sec - tv->tv_sec) + (double)(now.tv_usec - tv->tv_usec) / 1e6;
}

/* One line per answer: "METHOD PATH STATUS BYTES TIMEms request_id=ID
 * [traceparent=TP] [worker=PID]" (JSON lines: the same as members). */
static void access_log(h2o_req_t *req, int status, size_t bytes, uint32_t worker)
{
	double secs = seconds_since(&req->timestamps.request_begin_at);
	int plen = req->path.len > 256 ? 256 : (int)req->path.len;
	h2o_iovec_t id = trace_request_id(req), tp = trace_parent(req);
	struct log_field f[8];
	size_t n = 0;

	metrics_http(metrics_route(req->path.base, req->path.len), status, secs);
	if (!log_enabled(LOG_INFO))
		return;
	f[n++] = LOG_JSTR("method", req->method.base, req->method.len);
	f[n++] = LOG_JSTR("path", req->path.base, (size_t)plen);
	f[n++] = LOG_JNUM("status", status);
	f[n++] = LOG_JNUM("bytes", bytes);
	f[n++] = LOG_JNUM("ms", round(secs * 1e5) / 1e2);
	if (tp.base)
		f[n++] = LOG_STRN("traceparent", tp.base, tp.len);
	if (worker)
		f[n++] = LOG_NUM("worker", worker);
	log_req(LOG_INFO, id.base, id.len, f, n, "%.*s %.*s %d %zu %.2fms", (int)req->method.len,
		req->method.base, plen, req->path.base, status, bytes, secs * 1e3);
}

void respond(h2o_req_t *req, int status, const char *ctype, h2o_iovec_t body, uint32_t worker)
{
	static h2o_generator_t generator = {NULL, NULL};

	req->res.status = status;
	req->res.reason = reason_of(status);
	req->res.content_length = body.len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
		       strlen(ctype));
	if (respond_ctx_of(req)->draining)
		req->http1_is_persistent = 0;
	access_log(req, status, body.len, worker);
	h2o_start_response(req, &generator);
	if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

void respond_json(h2o_req_t *req, int status, json_t *root, uint32_t worker)
{
	char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(4)) : NULL;
	h2o_iovec_t body;

	json_decref(root);
	if (text) {
		body = h2o_strdup(&req->pool, text, SIZE_MAX);
		free(text);
	} else {
		status = 500;
		body = h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Internal error: out of memory\"}"));
	}
	respond(req, status, "application/json", body, worker);
}

json_t *respond_client_string(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *copy;

	if (j || !(copy = malloc(n ? n : 1)))
		return j;
	for (size_t i = 0; i < n; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

void respond_detail(h2o_req_t *req, int status, const char *detail)
{
	respond_json(req, status, json_pack("{s:s}", "detail", detail), 0);
}

void respond_503(h2o_req_t *req, const char *detail)
{
	char secs[16];

	snprintf(secs, sizeof secs, "%d", respond_ctx_of(req)->retry_after_s);
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
		       h2o_strdup(&req->pool, secs, SIZE_MAX).base, strlen(secs));
	respond_detail(req, 503, detail);
}

void respond_405(h2o_req_t *req, const char *allow)
{
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
	respond_detail(req, 405, "Method Not Allowed");
}

static void too_large_text(h2o_req_t *req, char *msg, size_t len)
{
	size_t max = respond_ctx_of(req)->max_upload;

	if (max % (1u << 20) == 0)
		snprintf(msg, len, "File too large. Maximum size is %zu MB.", max >> 20);
	else
		snprintf(msg, len, "File too large. Maximum size is %zu bytes.", max);
}

void respond_too_large(h2o_req_t *req)
{
	char msg[128];

	too_large_text(req, msg, sizeof msg);
	metrics_reject(METRICS_REJECT_TOO_LARGE);
	metrics_error(METRICS_ERROR_TOO_LARGE);
	respond_detail(req, 413, msg);
}

/* The Open Inference Protocol routes (v2.h) name their error "error". */
static const char *error_key(h2o_req_t *req)
{
	return v2_owns(req->path_normalized.base, req->path_normalized.len) ? "error" : "detail";
}

/* The same answer as JSON text in req->pool, for h2o's own 413. */
static h2o_iovec_t too_large_json(h2o_req_t *req)
{
	char msg[128], *text;
	json_t *root;
	h2o_iovec_t out = h2o_iovec_init(H2O_STRLIT("{\"detail\":\"File too large.\"}"));

	too_large_text(req, msg, sizeof msg);
	root = json_pack("{s:s}", error_key(req), msg);
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (text) {
		out = h2o_strdup(&req->pool, text, SIZE_MAX);
		free(text);
	}
	return out;
}

static void json_error_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
			    h2o_send_state_t state)
{
	struct json_ostream *os = (struct json_ostream *)self;

	(void)bufs;
	(void)n;
	if (os->sent) {
		h2o_ostream_send_next(self, req, NULL, 0, state);
		return;
	}
	os->sent = true;
	h2o_ostream_send_next(self, req, &os->body, 1, state);
}

static void json_error_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
	h2o_iovec_t body = {NULL, 0};

	(void)self;
	if (i >= 0 &&
	    h2o_memis(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len,
		      H2O_STRLIT("text/plain; charset=utf-8"))) {
		if (req->res.status == 413)
			body = too_large_json(req);
		else if (req->res.status == 400)
			body = *error_key(req) == 'e'
				   ? h2o_iovec_init(H2O_STRLIT("{\"error\":\"Bad request\"}"))
				   : h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Bad request\"}"));
	}
	if (body.base) {
		struct json_ostream *os =
		    (void *)h2o_add_ostream(req, sizeof(struct json_ostream), slot);
		os->super.do_send = json_error_send;
		os->body = body;
		os->sent = false;
		req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("application/json"));
		req->res.content_length = body.len;
		if (req->res.status == 413) {
			metrics_reject(METRICS_REJECT_TOO_LARGE);
			metrics_error(METRICS_ERROR_TOO_LARGE);
		}
		access_log(req, req->res.status, body.len, 0);
		slot = &os->super.next;
	}
	h2o_setup_next_ostream(req, slot);
}

void respond_json_errors(h2o_pathconf_t *path)
{
	h2o_filter_t *filter = h2o_create_filter(path, sizeof *filter);
	filter->on_setup_ostream = json_error_setup;
}

/* The value of a request header (lowercase name), or NULL. */
static const h2o_iovec_t *header_value(h2o_req_t *req, const h2o_token_t *token)
{
	ssize_t i = h2o_find_header(&req->headers, token, -1);
	return i >= 0 ? &req->headers.entries[i].value : NULL;
}

static void add_res(h2o_req_t *req, const h2o_token_t *token, const char *v)
{
	h2o_add_header(&req->pool, &req->res.headers, token, NULL, v, strlen(v));
}

void respond_static(h2o_req_t *req, const struct static_file *f)
{
	const h2o_iovec_t *ae = header_value(req, H2O_TOKEN_ACCEPT_ENCODING);
	const h2o_iovec_t *inm = header_value(req, H2O_TOKEN_IF_NONE_MATCH);
	bool gz = f->gz && ae && static_accepts_gzip(ae->base, ae->len);
	const char *etag = gz ? f->etag_gz : f->etag;

	if (f->csp)
		h2o_add_header_by_str(&req->pool, &req->res.headers,
				      H2O_STRLIT("content-security-policy"), 0, NULL, f->csp,
				      strlen(f->csp));
	add_res(req, H2O_TOKEN_ETAG, etag);
	add_res(req, H2O_TOKEN_CACHE_CONTROL, f->cache_control);
	if (f->gz)
		add_res(req, H2O_TOKEN_VARY, "Accept-Encoding");
	if (inm && static_etag_matches(inm->base, inm->len, etag)) {
		respond(req, 304, f->content_type, h2o_iovec_init(NULL, 0), 0);
		return;
	}
	if (gz) {
		add_res(req, H2O_TOKEN_CONTENT_ENCODING, "gzip");
		respond(req, 200, f->content_type, h2o_iovec_init(f->gz, f->gz_len), 0);
		return;
	}
	respond(req, 200, f->content_type, h2o_iovec_init(f->body, f->len), 0);
}

void respond_model_version(h2o_req_t *req, const char *v)
{
	size_t n = strlen(v);

	if (n)
		h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-model-version"),
				      0, NULL, h2o_strdup(&req->pool, v, n).base, n);
}
