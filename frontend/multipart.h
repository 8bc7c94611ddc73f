/*
 * multipart: a small, strict multipart/form-data parser (RFC 7578, RFC 2046)
 * for bodies that are already in memory.
 *
 * mp_boundary() reads the boundary from a Content-Type value; mp_find()
 * walks the whole body once, checks every delimiter, part header block and
 * the close delimiter, and returns the first part whose Content-Disposition
 * is form-data with the given name. Results point into the caller's buffers
 * (nothing is copied or allocated), so they live as long as those buffers.
 *
 * Strictness: delimiters must be CRLF-framed, header lines must end with
 * CRLF, folded or overlong header lines, too many headers or parts, a
 * missing close delimiter or a part above lim->max_part are errors. The
 * search for each delimiter is memmem (two-way, linear), and the body is
 * scanned once: the work is O(len) whatever the input.
 *
 * Returns 0, ERR_INVALID (malformed, message in err), ERR_TOO_LARGE (a part
 * above the limit) or ERR_UNSUPPORTED (mp_boundary: not multipart/form-data).
 * Pure functions: thread-safe, no globals.
 */
#ifndef MNIST_MULTIPART_H
#define MNIST_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_MAX_BOUNDARY 70 /* RFC 2046 */

struct mp_str {
	const char *ptr;
	size_t len;
};

struct mp_limits {
	size_t max_part;	/* bytes of one part's content (the upload limit) */
	size_t max_parts;	/* parts in the body, default 64 */
	size_t max_headers;	/* header lines per part, default 16 */
	size_t max_header_line; /* bytes per header line, default 1024 */
};

struct mp_part {
	bool found;
	const uint8_t *data; /* the part's content */
	size_t len;
	struct mp_str name;	    /* the form field name (raw, unquoted) */
	struct mp_str filename;	    /* raw value between the quotes, or {NULL,0} */
	struct mp_str content_type; /* trimmed header value, or {NULL,0} */
};

/* Defaults above, with max_part = max_upload. */
void mp_limits_default(struct mp_limits *lim, size_t max_upload);

/* Boundary of a "multipart/form-data; boundary=..." value (case-insensitive
 * type, quoted or token boundary). ERR_UNSUPPORTED when the media type is not
 * multipart/form-data, ERR_INVALID when the boundary is missing or bad. */
int mp_boundary(const char *ctype, size_t ctype_len, struct mp_str *boundary, char *err);

/* Parse body; fill *out with the first part named field (out->found false
 * when there is none). The whole body is validated either way. */
int mp_find(const uint8_t *body, size_t len, struct mp_str boundary, const char *field,
	    const struct mp_limits *lim, struct mp_part *out, char *err);

/* mp_find() for every part named field, in body order: the first max of
 * them go to out[0..max) (found true), *count says how many there are in
 * all (it may exceed max). */
int mp_find_all(const uint8_t *body, size_t len, struct mp_str boundary, const char *field,
		const struct mp_limits *lim, struct mp_part *out, size_t max, size_t *count,
		char *err);

#endif
