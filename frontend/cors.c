#include "cors.h"
#include "err.h"
#include "respond.h"

#include <stdlib.h>
#include <string.h>

struct cors {
	bool any; /* "*" was listed */
	size_t n;
	char *origin[CORS_MAX_ORIGINS];
};

void cors_free(struct cors *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->origin[i]);
	free(c);
}

/* scheme://host[:port], lowercase scheme, nothing after the authority. */
static bool origin_well_formed(const char *s, size_t n)
{
	const char *sep = memmem(s, n, "://", 3);

	if (!sep || sep == s || (size_t)(sep - s) + 3 >= n)
		return false;
	for (const char *p = s; p < s + n; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',')
			return false;
		if (p > sep + 2 && (c == '/' || c == '?' || c == '#'))
			return false;
	}
	return true;
}

static int add_origin(struct cors *c, const char *s, size_t n, char *err)
{
	if (n == 1 && s[0] == '*') {
		c->any = true;
		return 0;
	}
	if (!origin_well_formed(s, n))
		return err_set(err, ERR_INVALID,
			       "\"%.*s\" is not an origin like https://host:port "
			       "(no path, no trailing slash) or *",
			       (int)(n > 100 ? 100 : n), s);
	if (c->n == CORS_MAX_ORIGINS)
		return err_set(err, ERR_INVALID, "more than %d origins", CORS_MAX_ORIGINS);
	if (!(c->origin[c->n] = strndup(s, n)))
		return err_set(err, ERR_NOMEM, "out of memory");
	c->n++;
	return 0;
}

int cors_parse(const char *list, struct cors **out, char *err)
{
	struct cors *c;
	int rc = 0;

	*out = NULL;
	if (!list || !list[strspn(list, ", \t")])
		return 0;
	if (!(c = calloc(1, sizeof *c)))
		return err_set(err, ERR_NOMEM, "out of memory");
	for (const char *p = list; *p && rc == 0;) {
		size_t skip = strspn(p, ", \t"), n;
		p += skip;
		n = strcspn(p, ", \t");
		if (n)
			rc = add_origin(c, p, n, err);
		p += n;
	}
	if (rc) {
		cors_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static bool under(const char *path, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len >= n && memcmp(path, name, n) == 0 && (len == n || path[n] == '/');
}

bool cors_api_path(const char *path, size_t len)
{
	const char *q = memchr(path, '?', len);

	if (q)
		len = (size_t)(q - path);
	return (len == 8 && memcmp(path, "/predict", 8) == 0) || under(path, len, "/health") ||
	       under(path, len, "/v2");
}

/* The request's Origin when c allows it, else {NULL, 0}. */
static h2o_iovec_t allowed_origin(const struct cors *c, h2o_req_t *req)
{
	ssize_t i;
	h2o_iovec_t o;

	if (!c || !cors_api_path(req->path_normalized.base, req->path_normalized.len) ||
	    (i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1)) < 0)
		return h2o_iovec_init(NULL, 0);
	o = req->headers.entries[i].value;
	if (c->any && origin_well_formed(o.base, o.len))
		return o;
	for (size_t k = 0; k < c->n; k++)
		if (h2o_memis(o.base, o.len, c->origin[k], strlen(c->origin[k])))
			return o;
	return h2o_iovec_init(NULL, 0);
}

/* name in lowercase, as h2o keeps header names. */
static void add(h2o_req_t *req, const char *name, const char *v, size_t n)
{
	h2o_set_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, v, n, 1);
}

void cors_add_headers(const struct cors *c, h2o_req_t *req)
{
	h2o_iovec_t o = allowed_origin(c, req);

	if (!o.base)
		return;
	add(req, "access-control-allow-origin", o.base, o.len);
	add(req, "access-control-expose-headers", H2O_STRLIT(CORS_EXPOSE_HEADERS));
	h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("Origin"));
}

bool cors_preflight(const struct cors *c, h2o_req_t *req)
{
	if (!c || !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")) ||
	    !cors_api_path(req->path_normalized.base, req->path_normalized.len))
		return false;
	if (allowed_origin(c, req).base) {
		add(req, "access-control-allow-methods", H2O_STRLIT(CORS_ALLOW_METHODS));
		add(req, "access-control-allow-headers", H2O_STRLIT(CORS_ALLOW_HEADERS));
		add(req, "access-control-max-age", H2O_STRLIT(CORS_MAX_AGE));
	}
	add(req, "allow", H2O_STRLIT(CORS_ALLOW_METHODS));
	respond(req, 204, "text/plain; charset=utf-8", h2o_iovec_init(NULL, 0), 0);
	return true;
}
