/*
 * proto: the msgpack wire protocol between callers, the frontend and the
 * workers (docs/protocol.md). One msgpack map per nng message, version v=1.
 *
 *   request  {"v":1, "image": bin}                      PNG or JPEG bytes
 *            {"v":1, "pixels": bin, "width": u, "height": u}   8-bit gray
 *            {"v":1, "input": bin}       the 28x28 model input itself: 784 float32
 *                                        little-endian, in [0, 1], no intake
 *            {"v":1, "ping": true}                          liveness probe
 *            optional "probs": true   (reply carries all ten probabilities)
 *            optional "explain": true (reply carries "input", what the model saw)
 *            optional "id": str       request id for the logs (reqid.h rules)
 *            optional "traceparent": str  W3C trace context (reqid.h rules)
 *   reply    {"v":1, "ok":true, "digit":u, "confidence":f, "probs":[f x 10]?,
 *             "input": bin(784)?, "worker":u, "batch":u, "infer_us":u, "model":str}
 *            {"v":1, "ok":true, "pong":true, "worker":u, "model":str}  answer to ping
 *            {"v":1, "ok":false, "code":str, "error":str, "worker":u?, "model":str?}
 *            a prediction reply may add "lead": true, "forward_us": u
 *            every reply that has "worker" may add "instance": u64
 *   worker = the worker's pid, instance = a random number the worker drew at
 *   its start (pid and instance name one worker process, across hosts too),
 *   batch = size of the batch this request ran in,
 *   infer_us = this image's decode + normalise time plus the forward time of
 *   its batch, in microseconds (for logs and metrics; callers may ignore
 *   them). input = the 28x28 normalised image the model read, row-major,
 *   one byte per pixel (0 = background, 255 = ink). model = the version of
 *   the weights the worker serves (first 12 hex digits of their SHA-256).
 *
 * Parsing never trusts the input: wrong types, unknown versions, missing or
 * duplicate keys give ERR_BAD_REQUEST with a message. Unknown keys are
 * ignored (forward compatible). Parsed requests point into the caller's
 * message buffer, which must outlive them. Thread-safe.
 */
#ifndef MNIST_PROTO_H
#define MNIST_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
/* Largest width or height a "pixels" request may claim. */
#define PROTO_MAX_SIDE 16384
/* Bytes of a reply's "input": the 28x28 model input. */
#define PROTO_INPUT_BYTES 784
/* Bytes of a request's "input": the same 784 pixels as float32 LE. */
#define PROTO_TENSOR_BYTES (784 * 4)
/* Longest "model" version string a reply may carry (without the NUL). */
#define PROTO_MODEL_MAX 32

struct proto_request {
	const uint8_t *image; /* PNG/JPEG bytes, or NULL */
	size_t image_len;
	const uint8_t *pixels; /* width*height gray bytes, or NULL */
	size_t pixels_len;
	uint32_t width, height;
	/* "input": PROTO_TENSOR_BYTES of float32 LE in [0, 1] (checked by the
	 * parser), possibly unaligned; the worker runs them as they are. */
	const uint8_t *input;
	size_t input_len;
	bool probs;
	bool ping;
	bool explain; /* ask for the reply's "input" */
	/* "id" and "traceparent" (valid per reqid.h), or NULL; not
	 * NUL-terminated (they point into the message). */
	const char *id;
	size_t id_len;
	const char *traceparent;
	size_t traceparent_len;
};

struct proto_reply {
	bool ok;
	int digit;
	float confidence;
	bool has_probs;
	float probs[10];
	bool pong;
	bool has_input; /* "input" present: the model's 28x28 input, 0-255 */
	uint8_t input[PROTO_INPUT_BYTES];
	uint32_t worker;   /* pid of the worker that answered, 0 if unknown */
	uint64_t instance; /* its instance (above), 0 if unknown (older worker) */
	uint32_t batch;	   /* batch size the request ran in, 0 if unknown */
	uint32_t infer_us; /* decode + batch forward time, 0 if unknown */
	/* "lead": the worker marks one reply of each batch, which carries
	 * "forward_us", the batch's forward time, so that callers count every
	 * batch once (metrics). */
	bool lead;
	uint32_t forward_us;
	char code[32];			 /* when !ok: "invalid_image", "unsupported_type", ... */
	char error[256];		 /* when !ok: human-readable message */
	char model[PROTO_MODEL_MAX + 1]; /* weights version, "" if not sent */
};

/* Pack into a malloc'd buffer the caller frees with free(). */
int proto_pack_request(const struct proto_request *req, uint8_t **buf, size_t *len);
int proto_pack_reply(const struct proto_reply *rep, uint8_t **buf, size_t *len);

/* The same bytes handed to write(data, bytes, n) piece by piece (msgpack's
 * write callback: 0 on success), e.g. appended straight to an nng message,
 * so a large image is copied once. ERR_INVALID as above, ERR_NOMEM when a
 * write failed. proto_request_bound() is the packed size or more: the
 * capacity to reserve (a message that outgrew it would only be regrown). */
typedef int (*proto_write_fn)(void *data, const char *buf, size_t len);
int proto_pack_request_with(const struct proto_request *req, proto_write_fn write, void *data);
int proto_pack_reply_with(const struct proto_reply *rep, proto_write_fn write, void *data);
size_t proto_request_bound(const struct proto_request *req);

int proto_parse_request(const uint8_t *buf, size_t len, struct proto_request *req, char *err);
int proto_parse_reply(const uint8_t *buf, size_t len, struct proto_reply *rep, char *err);

/* The float32 stored little-endian at p (any alignment), e.g. one pixel of
 * a request's "input". */
float proto_f32le(const uint8_t *p);

/* Fill an error reply from an ERR_* code and message. */
void proto_reply_error(struct proto_reply *rep, int code, const char *msg);

#endif
