#include "http.h"
#include "clock.h"
#include "err.h"
#include "framing.h"
#include "health.h"
#include "listener.h"
#include "metrics.h"
#include "modelver.h"
#include "predict.h"
#include "respond.h"
#include "static.h"
#include "trace.h"
#include "v2.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Multipart framing allowed on top of the image itself before h2o refuses
 * the body from its Content-Length alone. */
#define FRAMING_SLACK ((size_t)64 << 10)

struct http_server {
	struct respond_ctx rc; /* rc.h2o is the loop's h2o context */
	h2o_globalconf_t globalconf;
	h2o_accept_ctx_t accept_ctx;
	h2o_socket_t *listener;
	int port;
	struct backend *backend;
	const struct static_site *site;
	struct predictor predictor;
	struct v2_server v2;
	size_t connections, max_connections; /* open HTTP connections, and the cap */
	char refusal[256];		     /* the whole 503 answer above max_connections */
	size_t refusal_len;
	h2o_timeout_t linger;	 /* how long a refused connection is drained */
	const struct cors *cors; /* NULL: CORS off */
};

/* A refused connection after its 503: what the client still sends is read
 * and dropped until it closes, LINGER_BYTES arrive or LINGER_MS pass.
 * Closing with unread input would send a reset, which can reach the client
 * before it reads the 503 (it then sees a dropped connection instead). */
#define LINGER_MS 1000
#define LINGER_BYTES ((size_t)256 << 10)
struct refused {
	h2o_timeout_entry_t timer;
	h2o_socket_t *sock;
};

static struct http_server *server_of(h2o_req_t *req)
{
	return H2O_STRUCT_FROM_MEMBER(struct http_server, rc, respond_ctx_of(req));
}

/* /health and /health/ready: ready or 503; /health/live: 200 while we answer. */
static void handle_health(h2o_req_t *req, bool live_only)
{
	struct http_server *srv = server_of(req);
	struct health h = health_check(srv->backend, srv->rc.draining);
	bool ok = live_only ? h.live : h.ready;

	respond_json(req, ok ? 200 : 503,
		     json_pack("{s:s,s:I}", "status", ok ? "ok" : "unavailable", "workers",
			       (json_int_t)h.workers),
		     0);
}

static void handle_metrics(h2o_req_t *req)
{
	struct http_server *srv = server_of(req);
	char *text;
	size_t len;

	metrics_set_workers(backend_workers(srv->backend), backend_connections(srv->backend));
	if (metrics_render(&text, &len) != 0) {
		respond_detail(req, 500, "Internal error: out of memory");
		return;
	}
	if (modelver_metrics(&text, &len, clock_ms()) != 0) {
		free(text);
		respond_detail(req, 500, "Internal error: out of memory");
		return;
	}
	h2o_iovec_t body = h2o_strdup(&req->pool, text, len);
	free(text);
	respond(req, 200, METRICS_CONTENT_TYPE, body, 0);
}

static bool is_get(h2o_req_t *req)
{
	return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
	       h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

/* Why the request's body length is ambiguous (framing.h), or NULL. The
 * raw request is still at the start of the socket's input buffer. */
static const char *ambiguous_framing(h2o_req_t *req)
{
	h2o_socket_t *sock =
	    req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;

	if (!sock || !sock->input)
		return NULL;
	return framing_check(sock->input->bytes, sock->input->size < H2O_MAX_REQLEN
						     ? sock->input->size
						     : H2O_MAX_REQLEN);
}

/* The h2o handler: every request comes here. */
static int route_request(h2o_handler_t *self, h2o_req_t *req)
{
	struct http_server *srv = server_of(req);
	h2o_iovec_t path = req->path_normalized;
	const struct static_file *f;
	const char *why;
	bool live = false;

	(void)self;
	if ((why = ambiguous_framing(req)) != NULL) {
		/* RFC 9112: answer 400 and close the connection. */
		req->http1_is_persistent = 0;
		respond_detail(req, 400, why);
	} else if (cors_preflight(srv->cors, req)) {
		/* answered: OPTIONS on an API route with --cors-origins */
	} else if (h2o_memis(path.base, path.len, H2O_STRLIT("/predict"))) {
		if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
			respond_405(req, "POST");
		else
			predict_handle(&srv->predictor, req);
	} else if (h2o_memis(path.base, path.len, H2O_STRLIT("/health")) ||
		   h2o_memis(path.base, path.len, H2O_STRLIT("/health/ready")) ||
		   (live = h2o_memis(path.base, path.len, H2O_STRLIT("/health/live")))) {
		if (is_get(req))
			handle_health(req, live);
		else
			respond_405(req, "GET, HEAD");
	} else if (h2o_memis(path.base, path.len, H2O_STRLIT("/metrics"))) {
		if (is_get(req))
			handle_metrics(req);
		else
			respond_405(req, "GET, HEAD");
	} else if (v2_owns(path.base, path.len)) {
		v2_handle(&srv->v2, req);
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

static void refused_close(struct refused *r)
{
	if (h2o_timeout_is_linked(&r->timer))
		h2o_timeout_unlink(&r->timer);
	h2o_socket_close(r->sock);
	free(r);
}

static void on_refused_timeout(h2o_timeout_entry_t *entry)
{
	refused_close(H2O_STRUCT_FROM_MEMBER(struct refused, timer, entry));
}

static void on_refused_read(h2o_socket_t *sock, const char *err)
{
	struct refused *r = sock->data;

	if (err || sock->bytes_read > LINGER_BYTES) {
		refused_close(r);
		return;
	}
	h2o_buffer_consume(&sock->input, sock->input->size);
}

static void on_refused_written(h2o_socket_t *sock, const char *err)
{
	struct refused *r = sock->data;

	if (err) {
		refused_close(r);
		return;
	}
	shutdown(h2o_socket_get_fd(sock), SHUT_WR); /* the 503 is all we say */
	h2o_socket_read_start(sock, on_refused_read);
}

/* Above max_connections: the fixed 503, then a short drain and close
 * (struct refused); the request itself is never parsed. */
static void refuse(struct http_server *srv, h2o_socket_t *sock)
{
	h2o_iovec_t buf = h2o_iovec_init(srv->refusal, srv->refusal_len);
	struct refused *r = malloc(sizeof *r);

	metrics_reject(METRICS_REJECT_CONNECTIONS);
	if (!r) {
		h2o_socket_close(sock);
		return;
	}
	*r = (struct refused){.timer = {.cb = on_refused_timeout}, .sock = sock};
	sock->data = r;
	h2o_timeout_link(srv->rc.h2o.loop, &srv->linger, &r->timer);
	h2o_socket_write(sock, &buf, 1, on_refused_written);
}

static void make_refusal(struct http_server *srv)
{
	static const char body[] = "{\"detail\":\"Too many connections\"}";
	int n = snprintf(srv->refusal, sizeof srv->refusal,
			 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
			 "Retry-After: %d\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
			 srv->rc.retry_after_s, sizeof body - 1, body);
	srv->refusal_len = n > 0 && (size_t)n < sizeof srv->refusal ? (size_t)n : 0;
}

static void on_connection_closed(void *data)
{
	struct http_server *srv = data;
	srv->connections--;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	struct http_server *srv = listener->data;
	h2o_socket_t *sock;

	if (err)
		return;
	for (int i = 0; i < 32 && (sock = h2o_evloop_socket_accept(listener)) != NULL; i++) {
		if (srv->connections >= srv->max_connections) {
			refuse(srv, sock);
			continue;
		}
		srv->connections++;
		sock->on_close.cb = on_connection_closed;
		sock->on_close.data = srv;
		h2o_accept(&srv->accept_ctx, sock);
	}
}

int http_start(const struct http_opts *opts, h2o_loop_t *loop, struct backend *b,
	       const struct static_site *site, struct http_server **out, char *err)
{
	struct http_server *srv = calloc(1, sizeof *srv);
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_handler_t *handler;
	int fd;

	if (!srv)
		return err_set(err, ERR_NOMEM, "out of memory");
	srv->backend = b;
	srv->site = site;
	srv->cors = opts->cors;
	srv->rc.max_upload = opts->max_upload;
	srv->rc.retry_after_s = opts->retry_after_s;
	srv->max_connections = opts->max_connections;
	make_refusal(srv);
	predict_init(&srv->predictor, b, opts->admit, opts->max_upload);
	srv->v2 =
	    (struct v2_server){.backend = b, .admit = opts->admit, .max_upload = opts->max_upload};
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
	srv->globalconf.http1.req_timeout = opts->idle_timeout_ms;
	host = h2o_config_register_host(&srv->globalconf, h2o_iovec_init(H2O_STRLIT("default")),
					65535);
	path = h2o_config_register_path(host, "/", 0);
	handler = h2o_create_handler(path, sizeof *handler);
	handler->on_req = route_request;
	respond_json_errors(path);
	respond_json_errors(&host->fallback_path);
	trace_install(path, opts->cors);
	trace_install(&host->fallback_path, opts->cors);
	h2o_context_init(&srv->rc.h2o, loop, &srv->globalconf);
	h2o_timeout_init(loop, &srv->linger, LINGER_MS);
	srv->accept_ctx.ctx = &srv->rc.h2o;
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
	s->rc.draining = true;
	if (s->listener) {
		h2o_socket_read_stop(s->listener);
		h2o_socket_close(s->listener);
		s->listener = NULL;
	}
}

bool http_busy(const struct http_server *s)
{
	return s && !h2o_linklist_is_empty((h2o_linklist_t *)&s->rc.h2o.http1._conns);
}

void http_free(struct http_server *s)
{
	if (!s)
		return;
	http_stop_accepting(s);
	/* h2o 2.2 cannot close HTTP/1 connections from outside, and disposing
	 * the context under a live one aborts: leave it all to the exit. */
	if (http_busy(s) || !h2o_linklist_is_empty(&s->linger._entries))
		return;
	h2o_timeout_dispose(s->rc.h2o.loop, &s->linger);
	h2o_context_dispose(&s->rc.h2o);
	h2o_config_dispose(&s->globalconf);
	free(s);
}
