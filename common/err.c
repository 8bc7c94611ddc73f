#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(char *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *err_code_name(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_NOMEM: return "internal";
	case ERR_IO: return "io";
	case ERR_INVALID: return "invalid_image";
	case ERR_UNSUPPORTED: return "unsupported_type";
	case ERR_TOO_LARGE: return "too_large";
	case ERR_UNAVAILABLE: return "unavailable";
	case ERR_TIMEOUT: return "timeout";
	case ERR_BAD_REQUEST: return "bad_request";
	default: return "internal";
	}
}
