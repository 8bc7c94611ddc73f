/* libFuzzer harness for frontend/multipart. Input: a Content-Type value, a
 * newline, then the body. Checks that results stay inside the inputs and
 * within the limits; ASan/UBSan catch the rest. */
#include "err.h"
#include "multipart.h"

#include <stdlib.h>
#include <string.h>

static void within(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;
	if (p && (q < buf || q > buf + len || n > (size_t)(buf + len - q)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct mp_limits lim;
	struct mp_str bnd;
	struct mp_part part;
	char err[ERR_MAX] = "";
	size_t ct_len;

	if (!nl)
		return 0;
	ct_len = (size_t)(nl - data);
	mp_limits_default(&lim, 4096);
	if (mp_boundary((const char *)data, ct_len, &bnd, err) != 0)
		return 0;
	within(bnd.ptr, bnd.len, data, ct_len);
	const uint8_t *body = nl + 1;
	size_t blen = size - ct_len - 1;
	int rc = mp_find(body, blen, bnd, "file", &lim, &part, err);
	if (rc != 0 && rc != ERR_INVALID && rc != ERR_TOO_LARGE)
		abort();
	if (rc == 0 && part.found) {
		if (part.len > lim.max_part)
			abort();
		within(part.data, part.len, body, blen);
		within(part.name.ptr, part.name.len, body, blen);
		within(part.filename.ptr, part.filename.len, body, blen);
		within(part.content_type.ptr, part.content_type.len, body, blen);
	}
	if (strnlen(err, ERR_MAX) >= ERR_MAX)
		abort();
	return 0;
}
