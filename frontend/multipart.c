#include "multipart.h"
#include "err.h"

#include <string.h>
#include <strings.h>

/* A cursor over a header value: [p, end). */
struct cur {
	const char *p, *end;
};

void mp_limits_default(struct mp_limits *lim, size_t max_upload)
{
	lim->max_part = max_upload;
	lim->max_parts = 64;
	lim->max_headers = 16;
	lim->max_header_line = 1024;
}

static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_bchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("'()+_,-./:=? ", c) != NULL;
}

static void skip_ows(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static struct mp_str take_token(struct cur *c)
{
	struct mp_str s = {c->p, 0};
	while (c->p < c->end && is_tchar((unsigned char)*c->p))
		c->p++;
	s.len = (size_t)(c->p - s.ptr);
	return s;
}

static int str_ieq(struct mp_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(s.ptr, lit, n) == 0;
}

static int str_eq(struct mp_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* A token or a quoted-string (raw, escapes kept, quotes dropped). */
static int take_value(struct cur *c, struct mp_str *v)
{
	if (c->p < c->end && *c->p == '"') {
		const char *start = ++c->p;
		while (c->p < c->end && *c->p != '"') {
			if (*c->p == '\\' && ++c->p == c->end)
				return -1;
			c->p++;
		}
		if (c->p == c->end)
			return -1;
		v->ptr = start;
		v->len = (size_t)(c->p - start);
		c->p++;
		return 0;
	}
	*v = take_token(c);
	return v->len ? 0 : -1;
}

/* Next ";name=value" parameter: 1 parsed, 0 at the end, -1 malformed. */
static int next_param(struct cur *c, struct mp_str *name, struct mp_str *value)
{
	skip_ows(c);
	if (c->p == c->end)
		return 0;
	if (*c->p++ != ';')
		return -1;
	skip_ows(c);
	*name = take_token(c);
	if (!name->len || c->p == c->end || *c->p++ != '=')
		return -1;
	if (take_value(c, value))
		return -1;
	return 1;
}

int mp_boundary(const char *ctype, size_t ctype_len, struct mp_str *boundary, char *err)
{
	struct cur c = {ctype, ctype + ctype_len};
	struct mp_str type, name, value;
	int found = 0, rc;

	skip_ows(&c);
	type = take_token(&c);
	if (c.p < c.end && *c.p == '/') {
		c.p++;
		struct mp_str sub = take_token(&c);
		type.len += 1 + sub.len;
	}
	if (!str_ieq(type, "multipart/form-data"))
		return err_set(err, ERR_UNSUPPORTED, "not multipart/form-data");
	while ((rc = next_param(&c, &name, &value)) == 1) {
		if (str_ieq(name, "boundary")) {
			if (found)
				return err_set(err, ERR_INVALID, "duplicate multipart boundary");
			*boundary = value;
			found = 1;
		}
	}
	if (rc < 0)
		return err_set(err, ERR_INVALID, "malformed Content-Type parameters");
	if (!found)
		return err_set(err, ERR_INVALID, "multipart boundary missing");
	if (boundary->len < 1 || boundary->len > MP_MAX_BOUNDARY ||
	    boundary->ptr[boundary->len - 1] == ' ')
		return err_set(err, ERR_INVALID, "invalid multipart boundary");
	for (size_t i = 0; i < boundary->len; i++)
		if (!is_bchar((unsigned char)boundary->ptr[i]))
			return err_set(err, ERR_INVALID, "invalid multipart boundary");
	return 0;
}

/* Content-Disposition: form-data; name="..."; filename="..." */
static int parse_disposition(struct cur c, struct mp_part *part, char *err)
{
	struct mp_str type, name, value;
	int rc, have_name = 0;

	skip_ows(&c);
	type = take_token(&c);
	if (!str_ieq(type, "form-data"))
		return err_set(err, ERR_INVALID, "part disposition is not form-data");
	while ((rc = next_param(&c, &name, &value)) == 1) {
		if (str_ieq(name, "name")) {
			if (have_name++)
				return err_set(err, ERR_INVALID, "duplicate name parameter");
			part->name = value;
		} else if (str_ieq(name, "filename")) {
			part->filename = value;
		}
	}
	if (rc < 0)
		return err_set(err, ERR_INVALID, "malformed Content-Disposition");
	if (!have_name)
		return err_set(err, ERR_INVALID, "part without a name");
	return 0;
}

static int parse_header_line(const char *line, size_t n, struct mp_part *part, int *have_disp,
			     char *err)
{
	struct cur c = {line, line + n};
	struct mp_str name;

	if (*line == ' ' || *line == '\t')
		return err_set(err, ERR_INVALID, "folded part header");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			return err_set(err, ERR_INVALID, "control character in part header");
	name = take_token(&c);
	if (!name.len || c.p == c.end || *c.p++ != ':')
		return err_set(err, ERR_INVALID, "malformed part header");
	skip_ows(&c);
	while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
		c.end--;
	if (str_ieq(name, "content-disposition")) {
		if ((*have_disp)++)
			return err_set(err, ERR_INVALID, "duplicate Content-Disposition");
		return parse_disposition(c, part, err);
	}
	if (str_ieq(name, "content-type")) {
		if (part->content_type.ptr)
			return err_set(err, ERR_INVALID, "duplicate part Content-Type");
		part->content_type.ptr = c.p;
		part->content_type.len = (size_t)(c.end - c.p);
	}
	return 0;
}

/* Header block of one part at *pos; leaves *pos at the first content byte. */
static int parse_headers(const uint8_t *body, size_t len, size_t *pos, const struct mp_limits *lim,
			 struct mp_part *part, char *err)
{
	int have_disp = 0;
	size_t count = 0;

	for (;;) {
		size_t avail = len - *pos, window, n;
		const char *line = (const char *)body + *pos;
		const char *nl;

		window = avail < lim->max_header_line + 2 ? avail : lim->max_header_line + 2;
		nl = memchr(line, '\n', window);
		if (!nl)
			return err_set(err, ERR_INVALID, "part header line too long or truncated");
		n = (size_t)(nl - line);
		if (n == 0 || line[n - 1] != '\r')
			return err_set(err, ERR_INVALID, "part header line not ended by CRLF");
		*pos += n + 1;
		if (--n == 0)
			break;
		if (++count > lim->max_headers)
			return err_set(err, ERR_INVALID, "too many part headers");
		int rc = parse_header_line(line, n, part, &have_disp, err);
		if (rc)
			return rc;
	}
	if (!have_disp)
		return err_set(err, ERR_INVALID, "part without Content-Disposition");
	return 0;
}

/* After a delimiter: 1 for the close delimiter, 0 for CRLF (a part follows). */
static int after_delimiter(const uint8_t *body, size_t len, size_t *pos, char *err)
{
	size_t p = *pos;

	if (len - p >= 2 && body[p] == '-' && body[p + 1] == '-')
		return 1;
	while (p < len && (body[p] == ' ' || body[p] == '\t'))
		p++;
	if (len - p < 2 || body[p] != '\r' || body[p + 1] != '\n')
		return err_set(err, ERR_INVALID, "malformed multipart delimiter");
	*pos = p + 2;
	return 0;
}

int mp_find(const uint8_t *body, size_t len, struct mp_str boundary, const char *field,
	    const struct mp_limits *lim, struct mp_part *out, char *err)
{
	size_t count;

	memset(out, 0, sizeof *out);
	return mp_find_all(body, len, boundary, field, lim, out, 1, &count, err);
}

int mp_find_all(const uint8_t *body, size_t len, struct mp_str boundary, const char *field,
		const struct mp_limits *lim, struct mp_part *out, size_t max, size_t *count,
		char *err)
{
	char needle[MP_MAX_BOUNDARY + 4];
	size_t nlen, pos, parts = 0;
	const uint8_t *hit;

	*count = 0;
	if (boundary.len < 1 || boundary.len > MP_MAX_BOUNDARY)
		return err_set(err, ERR_INVALID, "invalid multipart boundary");
	/* needle = CRLF "--" boundary; the first delimiter may lack the CRLF. */
	memcpy(needle, "\r\n--", 4);
	memcpy(needle + 4, boundary.ptr, boundary.len);
	nlen = boundary.len + 4;
	if (len >= nlen - 2 && memcmp(body, needle + 2, nlen - 2) == 0) {
		pos = nlen - 2;
	} else {
		hit = len ? memmem(body, len, needle, nlen) : NULL;
		if (!hit)
			return err_set(err, ERR_INVALID, "multipart boundary not found in body");
		pos = (size_t)(hit - body) + nlen;
	}
	for (;;) {
		struct mp_part part = {0};
		size_t start;
		int rc = after_delimiter(body, len, &pos, err);

		if (rc == 1)
			return 0;
		if (rc < 0)
			return rc;
		if (++parts > lim->max_parts)
			return err_set(err, ERR_INVALID, "too many multipart parts");
		rc = parse_headers(body, len, &pos, lim, &part, err);
		if (rc)
			return rc;
		start = pos;
		hit = memmem(body + start, len - start, needle, nlen);
		if (!hit)
			return err_set(err, ERR_INVALID,
				       "multipart body truncated (no closing boundary)");
		part.data = body + start;
		part.len = (size_t)(hit - part.data);
		if (part.len > lim->max_part)
			return err_set(err, ERR_TOO_LARGE,
				       "part of %zu bytes is above the limit of %zu", part.len,
				       lim->max_part);
		if (str_eq(part.name, field) && (*count)++ < max) {
			out[*count - 1] = part;
			out[*count - 1].found = true;
		}
		pos = (size_t)(hit - body) + nlen;
	}
}
