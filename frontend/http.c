#include "http.h"
#include "err.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "multipart.h"
#include "png_encode.h"
#include "proto.h"
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Multipart framing allowed on top of the image itself before h2o refuses
 * the body from its Content-Length alone. */
#define FRAMING_SLACK ((size_t)64 << 10)
#define MAX_ECHO 200 /* bytes of a client's declared type echoed back */

struct http_server {
	h2o_globalconf_t globalconf;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	h2o_socket_t *listener;
	int port;
	struct backend *backend;
	const struct static_site *site;
	struct mp_limits mp;
	size_t max_upload;
	size_t max_inflight_bytes;
	size_t inflight_bytes; /* loop thread only */
	int retry_after_s;
	bool draining;
};

/* A prediction waiting for its worker. req is NULL once the client's
 * request is gone (its pool disposed); *handle lives in that pool. */
struct pending {
	struct http_server *srv;
	h2o_req_t *req;
	struct pending **handle;
	size_t bytes; /* counted in srv->inflight_bytes */
	bool probs;
	bool explain;
};

/* h2o's own error responses (413 from Content-Length, 400 for a broken
 * chunked body) are rewritten into our JSON shape by this filter. */
struct json_ostream {
	h2o_ostream_t super;
	h2o_iovec_t body;
	bool sent;
};

static struct http_server *server_of(h2o_req_t *req)
{
	return H2O_STRUCT_FROM_MEMBER(struct http_server, ctx, req->conn->ctx);
}

static const char *reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
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

static void access_log(h2o_req_t *req, int status, size_t bytes, uint32_t worker)
{
	double secs = seconds_since(&req->timestamps.request_begin_at);
	int plen = req->path.len > 256 ? 256 : (int)req->path.len;

	metrics_http(metrics_route(req->path.base, req->path.len), status, secs);
	if (!log_enabled(LOG_INFO))
		return;
	if (worker)
		log_info("%.*s %.*s %d %zu %.2fms worker=%u", (int)req->method.len,
			 req->method.base, plen, req->path.base, status, bytes, secs * 1e3, worker);
	else
		log_info("%.*s %.*s %d %zu %.2fms", (int)req->method.len, req->method.base, plen,
			 req->path.base, status, bytes, secs * 1e3);
}

/* Send body (which must outlive the response: static or in req->pool). */
static void respond(h2o_req_t *req, int status, const char *ctype, h2o_iovec_t body,
		    uint32_t worker)
{
	static h2o_generator_t generator = {NULL, NULL};
	struct http_server *srv = server_of(req);

	req->res.status = status;
	req->res.reason = reason_of(status);
	req->res.content_length = body.len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
		       strlen(ctype));
	if (srv->draining)
		req->http1_is_persistent = 0;
	access_log(req, status, body.len, worker);
	h2o_start_response(req, &generator);
	if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

/* Serialise root into req->pool and send it; root is consumed. */
static void respond_json(h2o_req_t *req, int status, json_t *root, uint32_t worker)
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

/* A JSON string from client bytes: invalid UTF-8 becomes '?'. */
static json_t *json_client_string(const char *s, size_t n)
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

static void respond_detail(h2o_req_t *req, int status, const char *detail)
{
	respond_json(req, status, json_pack("{s:s}", "detail", detail), 0);
}

static void respond_503(h2o_req_t *req, const char *detail)
{
	struct http_server *srv = server_of(req);
	char secs[16];

	snprintf(secs, sizeof secs, "%d", srv->retry_after_s);
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
		       h2o_strdup(&req->pool, secs, SIZE_MAX).base, strlen(secs));
	respond_detail(req, 503, detail);
}

static void respond_405(h2o_req_t *req, const char *allow)
{
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
	respond_detail(req, 405, "Method Not Allowed");
}

static void too_large_text(const struct http_server *srv, char *msg, size_t len)
{
	if (srv->max_upload % (1u << 20) == 0)
		snprintf(msg, len, "File too large. Maximum size is %zu MB.",
			 srv->max_upload >> 20);
	else
		snprintf(msg, len, "File too large. Maximum size is %zu bytes.", srv->max_upload);
}

static void respond_too_large(h2o_req_t *req)
{
	char msg[128];

	too_large_text(server_of(req), msg, sizeof msg);
	metrics_reject(METRICS_REJECT_TOO_LARGE);
	respond_detail(req, 413, msg);
}

/* The same answer as JSON text in req->pool, for h2o's own 413. */
static h2o_iovec_t too_large_json(h2o_req_t *req)
{
	char msg[128], *text;
	json_t *root;
	h2o_iovec_t out = h2o_iovec_init(H2O_STRLIT("{\"detail\":\"File too large.\"}"));

	too_large_text(server_of(req), msg, sizeof msg);
	root = json_pack("{s:s}", "detail", msg);
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (text) {
		out = h2o_strdup(&req->pool, text, SIZE_MAX);
		free(text);
	}
	return out;
}

static void respond_bad_type(h2o_req_t *req, const char *type, size_t len)
{
	json_t *t =
	    type ? json_client_string(type, len > MAX_ECHO ? MAX_ECHO : len) : json_string("None");
	json_t *detail = t ? json_sprintf("Invalid file type: %s. Only JPEG and PNG are supported.",
					  json_string_value(t))
			   : NULL;

	json_decref(t);
	respond_json(req, 400, detail ? json_pack("{s:o}", "detail", detail) : NULL, 0);
}

/* image/png, image/jpeg or image/jpg, parameters and case ignored. */
static bool type_allowed(const char *t, size_t n)
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
static bool query_flag(h2o_req_t *req, const char *name)
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

/* "model_input": the worker's 28x28 input (reply key "input") as a base64
 * PNG, for ?explain=true. Returns 0, or -1 when out of memory. */
static int add_model_input(json_t *root, const struct proto_reply *rep)
{
	uint8_t *png;
	size_t len;
	char *b64;
	int rc = -1;

	if (png_encode_gray(rep->input, 28, 28, &png, &len) != 0)
		return -1;
	b64 = malloc(h2o_base64_encode_capacity(len));
	if (b64) {
		h2o_base64_encode(b64, png, len, 0);
		rc = json_object_set_new(root, "model_input", json_string(b64));
	}
	free(b64);
	free(png);
	return rc;
}

static json_t *prediction_json(const struct proto_reply *rep, bool probs, bool explain)
{
	json_t *root =
	    json_pack("{s:i,s:f}", "digit", rep->digit, "confidence", round4(rep->confidence));
	json_t *arr;

	if (root && explain && rep->has_input && add_model_input(root, rep) != 0) {
		json_decref(root);
		return NULL;
	}
	if (!root || !probs || !rep->has_probs)
		return root;
	arr = json_array();
	for (int i = 0; arr && i < 10; i++)
		json_array_append_new(arr, json_real(round4(rep->probs[i])));
	if (!arr || json_object_set_new(root, "probabilities", arr) != 0) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static void respond_reply(h2o_req_t *req, const uint8_t *buf, size_t len, bool probs, bool explain)
{
	struct proto_reply rep;
	char err[ERR_MAX];

	if (proto_parse_reply(buf, len, &rep, err) != 0) {
		log_error("bad reply from a worker: %s", err);
		respond_detail(req, 500, "Internal error: bad reply from the inference worker");
		return;
	}
	if (rep.ok) {
		metrics_inference(rep.infer_us, rep.batch);
		respond_json(req, 200, prediction_json(&rep, probs, explain), rep.worker);
		return;
	}
	if (!strcmp(rep.code, "invalid_image") || !strcmp(rep.code, "unsupported_type") ||
	    !strcmp(rep.code, "too_large")) {
		json_t *msg = json_client_string(rep.error, strnlen(rep.error, sizeof rep.error));
		json_t *detail =
		    msg ? json_sprintf("Error processing image: %s", json_string_value(msg)) : NULL;
		json_decref(msg);
		respond_json(req, 400, detail ? json_pack("{s:o}", "detail", detail) : NULL,
			     rep.worker);
	} else if (!strcmp(rep.code, "unavailable")) {
		respond_503(req, "The inference worker is shutting down, retry");
	} else {
		log_error("worker %u answered %s: %s", rep.worker, rep.code, rep.error);
		respond_json(req, 500, json_pack("{s:s}", "detail", "Internal error"), rep.worker);
	}
}

static void on_req_dispose(void *obj)
{
	struct pending **handle = obj;
	if (*handle)
		(*handle)->req = NULL;
}

/* Loop thread (backend contract): the worker's answer, or why none came. */
static void on_reply(void *arg, int rc, const uint8_t *reply, size_t len)
{
	struct pending *p = arg;
	struct http_server *srv = p->srv;
	h2o_req_t *req = p->req;
	bool probs = p->probs, explain = p->explain;

	srv->inflight_bytes -= p->bytes;
	metrics_inflight_add(-1);
	if (req)
		*p->handle = NULL;
	free(p);
	if (!req) {
		log_debug("client left before its prediction was ready");
		return;
	}
	if (rc == ERR_TIMEOUT) {
		char msg[96];
		snprintf(msg, sizeof msg, "No inference worker answered within %d ms",
			 backend_timeout_ms(srv->backend));
		metrics_reject(METRICS_REJECT_TIMEOUT);
		respond_detail(req, 504, msg);
	} else if (rc != 0) {
		metrics_reject(METRICS_REJECT_NO_WORKER);
		respond_503(req, "No inference worker is available");
	} else {
		respond_reply(req, reply, len, probs, explain);
	}
}

static void forward(h2o_req_t *req, const uint8_t *image, size_t len)
{
	struct http_server *srv = server_of(req);
	struct proto_request preq = {.image = image,
				     .image_len = len,
				     .probs = query_flag(req, "probs"),
				     .explain = query_flag(req, "explain")};
	enum backend_state state;
	struct pending *p;
	uint8_t *msg;
	size_t msg_len;
	int rc;

	if (srv->draining) {
		respond_503(req, "The service is shutting down");
		return;
	}
	if ((state = backend_available(srv->backend)) != BACKEND_READY) {
		metrics_reject(METRICS_REJECT_NO_WORKER);
		respond_503(req, state == BACKEND_SILENT
				     ? "No inference worker has answered for 3 s"
				     : "No inference worker is available");
		return;
	}
	if (srv->inflight_bytes > 0 && (srv->inflight_bytes >= srv->max_inflight_bytes ||
					len > srv->max_inflight_bytes - srv->inflight_bytes)) {
		metrics_reject(METRICS_REJECT_OVERLOAD);
		respond_503(req, "Too many bytes in flight");
		return;
	}
	if (!(p = calloc(1, sizeof *p)) || proto_pack_request(&preq, &msg, &msg_len) != 0) {
		free(p);
		respond_detail(req, 500, "Internal error: out of memory");
		return;
	}
	rc = backend_call(srv->backend, msg, msg_len, on_reply, p);
	free(msg);
	if (rc != 0) {
		free(p);
		metrics_reject(METRICS_REJECT_OVERLOAD);
		respond_503(req, rc == ERR_NOMEM ? "Out of memory" : "Too many requests in flight");
		return;
	}
	metrics_inflight_add(1);
	p->srv = srv;
	p->req = req;
	p->probs = preq.probs;
	p->explain = preq.explain;
	p->bytes = len;
	srv->inflight_bytes += len;
	p->handle = h2o_mem_alloc_shared(&req->pool, sizeof *p->handle, on_req_dispose);
	*p->handle = p;
}

static void handle_predict(h2o_req_t *req)
{
	struct http_server *srv = server_of(req);
	ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
	const char *ctype = i >= 0 ? req->headers.entries[i].value.base : NULL;
	size_t ctype_len = i >= 0 ? req->headers.entries[i].value.len : 0;
	const uint8_t *body = (const uint8_t *)req->entity.base;
	size_t body_len = req->entity.base ? req->entity.len : 0;
	struct mp_str boundary;
	struct mp_part part;
	char err[ERR_MAX], msg[ERR_MAX + 64];
	int rc;

	rc = ctype ? mp_boundary(ctype, ctype_len, &boundary, err) : ERR_UNSUPPORTED;
	if (rc == ERR_UNSUPPORTED) {
		/* A raw image body. */
		if (!ctype || !type_allowed(ctype, ctype_len)) {
			respond_bad_type(req, ctype, ctype_len);
			return;
		}
		if (body_len > srv->max_upload) {
			respond_too_large(req);
			return;
		}
		forward(req, body, body_len);
		return;
	}
	if (rc == 0)
		rc = mp_find(body ? body : (const uint8_t *)"", body_len, boundary, "file",
			     &srv->mp, &part, err);
	if (rc == ERR_TOO_LARGE) {
		respond_too_large(req);
		return;
	}
	if (rc != 0) {
		snprintf(msg, sizeof msg, "Malformed multipart body: %s", err);
		respond_detail(req, 400, msg);
		return;
	}
	if (!part.found) {
		respond_detail(req, 400, "Missing form field 'file'");
		return;
	}
	if (!part.content_type.ptr || !type_allowed(part.content_type.ptr, part.content_type.len)) {
		respond_bad_type(req, part.content_type.ptr, part.content_type.len);
		return;
	}
	forward(req, part.data, part.len);
}

static void handle_health(h2o_req_t *req)
{
	struct http_server *srv = server_of(req);
	long n = backend_workers(srv->backend);
	int ok = !srv->draining && backend_healthy(srv->backend);

	respond_json(req, ok ? 200 : 503,
		     json_pack("{s:s,s:I}", "status", ok ? "ok" : "unavailable", "workers",
			       (json_int_t)(n > 0 ? n : 0)),
		     0);
}

static void handle_metrics(h2o_req_t *req)
{
	struct http_server *srv = server_of(req);
	char *text;
	size_t len;

	metrics_set_workers(backend_workers(srv->backend));
	if (metrics_render(&text, &len) != 0) {
		respond_detail(req, 500, "Internal error: out of memory");
		return;
	}
	h2o_iovec_t body = h2o_strdup(&req->pool, text, len);
	free(text);
	respond(req, 200, METRICS_CONTENT_TYPE, body, 0);
}

/* A file of the site, with its Content-Security-Policy when it has one. */
static void respond_static(h2o_req_t *req, const struct static_file *f)
{
	if (f->csp)
		h2o_add_header_by_str(&req->pool, &req->res.headers,
				      H2O_STRLIT("content-security-policy"), 0, NULL, f->csp,
				      strlen(f->csp));
	respond(req, 200, f->content_type, h2o_iovec_init(f->body, f->len), 0);
}

static bool is_get(h2o_req_t *req)
{
	return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
	       h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct http_server *srv = server_of(req);
	h2o_iovec_t path = req->path_normalized;
	const struct static_file *f;

	(void)self;
	if (h2o_memis(path.base, path.len, H2O_STRLIT("/predict"))) {
		if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
			respond_405(req, "POST");
		else
			handle_predict(req);
	} else if (h2o_memis(path.base, path.len, H2O_STRLIT("/health"))) {
		if (is_get(req))
			handle_health(req);
		else
			respond_405(req, "GET, HEAD");
	} else if (h2o_memis(path.base, path.len, H2O_STRLIT("/metrics"))) {
		if (is_get(req))
			handle_metrics(req);
		else
			respond_405(req, "GET, HEAD");
	} else if (srv->site && (f = static_find(srv->site, path.base, path.len)) != NULL) {
		if (is_get(req))
			respond_static(req, f);
		else
			respond_405(req, "GET, HEAD");
	} else {
		respond_detail(req, 404, "Not Found");
	}
	return 0;
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
			body = h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Bad request\"}"));
	}
	if (body.base) {
		struct json_ostream *os =
		    (void *)h2o_add_ostream(req, sizeof(struct json_ostream), slot);
		os->super.do_send = json_error_send;
		os->body = body;
		os->sent = false;
		req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("application/json"));
		req->res.content_length = body.len;
		if (req->res.status == 413)
			metrics_reject(METRICS_REJECT_TOO_LARGE);
		access_log(req, req->res.status, body.len, 0);
		slot = &os->super.next;
	}
	h2o_setup_next_ostream(req, slot);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	struct http_server *srv = listener->data;
	h2o_socket_t *sock;

	if (err)
		return;
	for (int i = 0; i < 32 && (sock = h2o_evloop_socket_accept(listener)) != NULL; i++)
		h2o_accept(&srv->accept_ctx, sock);
}

int http_start(const struct http_opts *opts, h2o_loop_t *loop, struct backend *b,
	       const struct static_site *site, struct http_server **out, char *err)
{
	struct http_server *srv = calloc(1, sizeof *srv);
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_handler_t *handler;
	h2o_filter_t *filter;
	int fd;

	if (!srv)
		return err_set(err, ERR_NOMEM, "out of memory");
	srv->backend = b;
	srv->site = site;
	srv->max_upload = opts->max_upload;
	srv->max_inflight_bytes = opts->max_inflight_bytes;
	srv->retry_after_s = opts->retry_after_s;
	mp_limits_default(&srv->mp, opts->max_upload);
	fd = listener_open(opts->listen, &srv->port, err);
	if (fd < 0) {
		free(srv);
		return fd;
	}
	h2o_config_init(&srv->globalconf);
	srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("mnist-frontend"));
	srv->globalconf.max_request_entity_size = opts->max_upload + FRAMING_SLACK;
	/* HTTP/1.1 only: no h2c upgrade (the drain and exit paths track
	 * HTTP/1 connections). */
	srv->globalconf.http1.upgrade_to_http2 = 0;
	host = h2o_config_register_host(&srv->globalconf, h2o_iovec_init(H2O_STRLIT("default")),
					65535);
	path = h2o_config_register_path(host, "/", 0);
	handler = h2o_create_handler(path, sizeof *handler);
	handler->on_req = on_req;
	filter = h2o_create_filter(path, sizeof *filter);
	filter->on_setup_ostream = json_error_setup;
	filter = h2o_create_filter(&host->fallback_path, sizeof *filter);
	filter->on_setup_ostream = json_error_setup;
	h2o_context_init(&srv->ctx, loop, &srv->globalconf);
	srv->accept_ctx.ctx = &srv->ctx;
	srv->accept_ctx.hosts = srv->globalconf.hosts;
	srv->listener = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	srv->listener->data = srv;
	h2o_socket_read_start(srv->listener, on_accept);
	*out = srv;
	return 0;
}

int http_port(const struct http_server *s)
{
	return s->port;
}

void http_stop_accepting(struct http_server *s)
{
	s->draining = true;
	if (s->listener) {
		h2o_socket_read_stop(s->listener);
		h2o_socket_close(s->listener);
		s->listener = NULL;
	}
}

bool http_busy(const struct http_server *s)
{
	return s && !h2o_linklist_is_empty((h2o_linklist_t *)&s->ctx.http1._conns);
}

void http_free(struct http_server *s)
{
	if (!s)
		return;
	http_stop_accepting(s);
	/* h2o 2.2 cannot close HTTP/1 connections from outside, and disposing
	 * the context under a live one aborts: leave it all to the exit. */
	if (http_busy(s))
		return;
	h2o_context_dispose(&s->ctx);
	h2o_config_dispose(&s->globalconf);
	free(s);
}
