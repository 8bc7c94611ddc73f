/* libFuzzer harness for frontend/v2_codec (Open Inference Protocol bodies).
 * Input: one byte choosing the header length (0: the whole input is JSON;
 * else the JSON ends at the first NUL and binary data follows), then the
 * body. A parsed request must be self-consistent, and its response must be
 * valid JSON with the binary outputs after it; ASan/UBSan catch the rest. */
#include "err.h"
#include "v2_codec.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void check_request(const struct v2_request *r, const uint8_t *body, size_t len)
{
	if (r->n < 1 || r->n > V2_MAX_BATCH || r->nout < 1 || r->nout > V2_OUT_COUNT)
		abort();
	if (r->input == V2_IN_PIXELS) {
		for (size_t i = 0; i < r->n * V2_PIXELS * 4; i += 4) {
			float v;
			memcpy(&v, r->tensors + i, sizeof v); /* the tests run little-endian */
			if (!(v >= 0.f && v <= 1.f))
				abort();
		}
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		const uint8_t *p = r->images[i];
		if (!p || r->image_lens[i] > 4096)
			abort();
		if (!r->own_images && (p < body || r->image_lens[i] > (size_t)(body + len - p)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int digit[V2_MAX_BATCH];
	static float conf[V2_MAX_BATCH], probs[V2_MAX_BATCH * 10];
	struct v2_result res = {digit, conf, probs};
	struct v2_request r;
	char err[ERR_MAX] = "";
	uint8_t *out;
	size_t hlen, olen, ohl;

	if (size < 1)
		return 0;
	const uint8_t *body = data + 1;
	size_t len = size - 1;
	const uint8_t *nul = data[0] ? memchr(body, 0, len) : NULL;
	hlen = nul ? (size_t)(nul - body) : len;
	if (nul) { /* drop the NUL: binary data starts right after the JSON */
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, body, hlen);
		memcpy(copy + hlen, nul + 1, len - hlen - 1);
		int rc = v2_parse_infer(copy, len - 1, hlen, 4096, &r, err);
		if (rc == 0)
			check_request(&r, copy, len - 1);
		v2_request_free(&r);
		free(copy);
		return 0;
	}
	int rc = v2_parse_infer(body, len, hlen, 4096, &r, err);
	if (rc != 0 && rc != ERR_INVALID && rc != ERR_TOO_LARGE && rc != ERR_NOMEM)
		abort();
	if (rc == 0) {
		check_request(&r, body, len);
		if (v2_build_response(&r, &res, "0123456789ab", &out, &olen, &ohl) == 0) {
			json_t *j = json_loadb((const char *)out, ohl, 0, NULL);
			if (!j || ohl > olen)
				abort();
			json_decref(j);
			free(out);
		}
	}
	v2_request_free(&r);
	return 0;
}
