/*
 * err: error values shared by every module.
 *
 * A function that can fail returns 0 or one of the negative ERR_* codes and,
 * when given a non-NULL buffer of ERR_MAX bytes, writes a one-line
 * human-readable message into it. The message travels to the edge, where it
 * becomes an HTTP "detail" or a msgpack "error". err_code_name() gives the
 * protocol's code string for a value. Everything here is thread-safe.
 */
#ifndef MNIST_ERR_H
#define MNIST_ERR_H

#include <stddef.h>

#define ERR_MAX 256

enum {
	ERR_OK = 0,
	ERR_NOMEM = -1,	      /* allocation failed */
	ERR_IO = -2,	      /* file or socket error */
	ERR_INVALID = -3,     /* malformed input (image, message, file) */
	ERR_UNSUPPORTED = -4, /* well-formed but not a type we accept */
	ERR_TOO_LARGE = -5,   /* exceeds a configured limit */
	ERR_INTERNAL = -6,    /* a bug or an unexpected library failure */
	ERR_UNAVAILABLE = -7, /* no worker, overloaded, shutting down */
	ERR_TIMEOUT = -8,     /* no answer in time */
	ERR_BAD_REQUEST = -9, /* malformed request message (not the image) */
};

/* Format a message into err (ERR_MAX bytes) if err is not NULL; returns code. */
int err_set(char *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Protocol name of a code: "invalid_image", "unsupported_type", ... */
const char *err_code_name(int code);

#endif
