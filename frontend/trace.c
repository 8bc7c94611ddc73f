#include "trace.h"
#include "reqid.h"

#include <string.h>

#define HDR_ID "x-request-id"
#define HDR_TRACE "traceparent"

h2o_iovec_t trace_request_id(h2o_req_t *req)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT(HDR_ID), -1);
	char *gen;

	if (i >= 0 &&
	    reqid_valid(req->headers.entries[i].value.base, req->headers.entries[i].value.len))
		return req->headers.entries[i].value;
	gen = h2o_mem_alloc_pool(&req->pool, REQID_GEN_LEN + 1);
	reqid_generate(gen);
	/* Overwrites an invalid id, so later calls find this one. */
	h2o_set_header_by_str(&req->pool, &req->headers, H2O_STRLIT(HDR_ID), 0, gen, REQID_GEN_LEN,
			      1);
	return h2o_iovec_init(gen, REQID_GEN_LEN);
}

h2o_iovec_t trace_parent(h2o_req_t *req)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT(HDR_TRACE), -1);

	if (i >= 0 && traceparent_valid(req->headers.entries[i].value.base,
					req->headers.entries[i].value.len))
		return req->headers.entries[i].value;
	return h2o_iovec_init(NULL, 0);
}

void trace_to_worker(h2o_req_t *req, struct proto_request *p)
{
	h2o_iovec_t id = trace_request_id(req), tp = trace_parent(req);

	p->id = id.base;
	p->id_len = id.len;
	p->traceparent = tp.base;
	p->traceparent_len = tp.len;
}

struct tag_filter {
	h2o_filter_t super;
	const struct cors *cors;
};

static void tag_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	struct tag_filter *f = (struct tag_filter *)self;
	h2o_iovec_t id = trace_request_id(req);

	h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT(HDR_ID), 0, id.base, id.len,
			      1);
	cors_add_headers(f->cors, req);
	h2o_setup_next_ostream(req, slot);
}

void trace_install(h2o_pathconf_t *path, const struct cors *cors)
{
	struct tag_filter *f = (struct tag_filter *)h2o_create_filter(path, sizeof *f);

	f->super.on_setup_ostream = tag_setup;
	f->cors = cors;
}
