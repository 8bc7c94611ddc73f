/*
 * v2_codec: the bodies of the Open Inference Protocol (KServe v2) infer
 * route, without HTTP: the request JSON (with the binary tensor data
 * extension) in, the response JSON (and binary outputs) out. The routes
 * themselves are in v2.c; docs/protocol.md documents the model's tensors.
 *
 * Request: {"id"?: str, "parameters"?: {...}, "inputs": [one input],
 * "outputs"?: [{"name", "parameters"?: {"binary_data"?: bool}}]}, where the
 * one input is
 *   "pixels"  FP32 (in [0, 1]) or UINT8 (0-255), shape [N,28,28],
 *             [N,1,28,28] or [N,784]: the model input itself, a light digit
 *             on black as in MNIST; no re-normalisation.
 *   "image"   BYTES, shape [N]: PNG or JPEG files, base64 in JSON (raw in
 *             binary data), each through the same intake as /predict.
 * with "data" (flat or nested JSON array) or, with the binary extension,
 * "parameters": {"binary_data_size": bytes} and the bytes after the JSON
 * (little-endian; BYTES elements as a 4-byte length and the bytes).
 * 1 <= N <= V2_MAX_BATCH. Outputs: "digit" INT64 [N], "confidence" FP32
 * [N], "probabilities" FP32 [N,10]; all three in that order when "outputs"
 * is absent; as binary data when asked per output ("binary_data") or for
 * all ("parameters": {"binary_data_output": true}).
 *
 * Errors are one line for the client (err, ERR_MAX bytes) naming the field
 * and, for a bad value, the image index. Pure functions, thread-safe.
 */
#ifndef MNIST_V2_CODEC_H
#define MNIST_V2_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most images in one infer request. */
#define V2_MAX_BATCH 64
/* Largest JSON part of a request. jansson reads about 25 MB/s and runs on
 * the event loop: larger batches go as binary tensor data, which is read
 * without JSON (and bounded by the upload limit only). */
#define V2_MAX_JSON ((size_t)1 << 20)
#define V2_PIXELS 784
#define V2_TENSOR_BYTES (V2_PIXELS * 4)

enum v2_output { V2_OUT_DIGIT, V2_OUT_CONFIDENCE, V2_OUT_PROBABILITIES, V2_OUT_COUNT };
enum v2_input { V2_IN_PIXELS, V2_IN_IMAGE };

struct v2_request {
	char *id; /* the request's "id" (malloc'd), or NULL */
	enum v2_input input;
	size_t n; /* images */
	/* V2_IN_PIXELS: n x 784 float32 little-endian, each in [0, 1] */
	uint8_t *tensors;
	/* V2_IN_IMAGE: image i is images[i], image_lens[i] bytes: decoded
	 * from base64 into buffers of its own (own_images), or pointing into
	 * the caller's body (binary data) */
	const uint8_t **images;
	size_t *image_lens;
	bool own_images;
	/* the outputs to send, in order, and which of them as binary data */
	int nout;
	enum v2_output outputs[V2_OUT_COUNT];
	bool binary[V2_OUT_COUNT];
};

/* Parse body (len bytes). header_len is the Inference-Header-Content-Length
 * (the JSON's size, binary data after it), or len without the extension.
 * max_image bounds one decoded image. Returns 0, or ERR_INVALID (or
 * ERR_TOO_LARGE: JSON above V2_MAX_JSON) with err set; *r is zeroed first and owns its memory
 * either way (v2_request_free). Images may point into body: keep it alive. */
int v2_parse_infer(const uint8_t *body, size_t len, size_t header_len, size_t max_image,
		   struct v2_request *r, char *err);
void v2_request_free(struct v2_request *r);

/* The model's answers for the n images of a request. */
struct v2_result {
	const int *digit;	 /* n */
	const float *confidence; /* n */
	const float *probs;	 /* n x 10 */
};

/* The response for r: JSON then the binary outputs, in one malloc'd buffer
 * (*body, *len; the caller frees it); *header_len is the JSON's size (==
 * *len when nothing is binary). version may be NULL or "" (then no
 * "model_version"). Returns 0 or ERR_NOMEM. */
int v2_build_response(const struct v2_request *r, const struct v2_result *res, const char *version,
		      uint8_t **body, size_t *len, size_t *header_len);

/* Standard base64 (RFC 4648 section 4, '=' padding optional) of n chars
 * into out (at least n / 4 * 3 + 2 bytes); returns the decoded size, or -1
 * for a character outside the alphabet or a bad length or padding. */
long v2_base64_decode(const char *in, size_t n, uint8_t *out);

#endif
