/*
 * proto: parsing half of the msgpack codec of proto.h, on msgpack-c
 * (proto_pack.c packs).
 *
 * Parsing runs in two steps. scan() walks the raw bytes once and proves that
 * they hold exactly one complete msgpack value whose container counts fit in
 * the bytes that follow; only then does msgpack-c build objects. That keeps a
 * 5-byte message claiming a 4-billion-entry array from making msgpack-c
 * allocate gigabytes, and it catches truncation and trailing garbage with a
 * precise message. Objects built by msgpack_unpack_next point into the
 * caller's buffer, so parsed requests do too.
 */
#include "proto.h"
#include "err.h"
#include "reqid.h"

#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stands in for the data of a zero-length bin, so "present" is never NULL. */
static const uint8_t empty_bin[1];

/* ---- structural pre-scan ------------------------------------------------ */

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Size of one header at buf[pos]: header bytes, payload bytes that follow it,
 * and the number of child values it opens. Returns -1 on a never-used byte. */
static int header(const uint8_t *buf, size_t len, size_t pos, size_t *hdr, uint64_t *payload,
		  uint64_t *children)
{
	uint8_t b = buf[pos];
	size_t w = 0; /* width of the length field, for sized types */
	*payload = 0;
	*children = 0;
	*hdr = 1;
	if (b <= 0x7f || b >= 0xe0 || (b >= 0xc0 && b <= 0xc3 && b != 0xc1))
		return 0;
	if (b <= 0x8f) {
		*children = 2u * (b & 0x0f);
		return 0;
	}
	if (b <= 0x9f) {
		*children = b & 0x0f;
		return 0;
	}
	if (b <= 0xbf) {
		*payload = b & 0x1f;
		return 0;
	}
	switch (b) {
	case 0xc4:
	case 0xd9: w = 1; break; /* bin8, str8 */
	case 0xc5:
	case 0xda: w = 2; break;
	case 0xc6:
	case 0xdb: w = 4; break;
	case 0xc7:
		*payload = 1;
		w = 1;
		break; /* ext8: +1 type byte */
	case 0xc8:
		*payload = 1;
		w = 2;
		break;
	case 0xc9:
		*payload = 1;
		w = 4;
		break;
	case 0xca: *payload = 4; return 0;
	case 0xcb: *payload = 8; return 0;
	case 0xcc:
	case 0xd0: *payload = 1; return 0;
	case 0xcd:
	case 0xd1: *payload = 2; return 0;
	case 0xce:
	case 0xd2: *payload = 4; return 0;
	case 0xcf:
	case 0xd3: *payload = 8; return 0;
	case 0xd4: *payload = 2; return 0; /* fixext: type byte + data */
	case 0xd5: *payload = 3; return 0;
	case 0xd6: *payload = 5; return 0;
	case 0xd7: *payload = 9; return 0;
	case 0xd8: *payload = 17; return 0;
	case 0xdc:
	case 0xde: w = 2; break;
	case 0xdd:
	case 0xdf: w = 4; break;
	default: return -1; /* 0xc1 */
	}
	if (len - pos - 1 < w)
		return 1; /* truncated length field */
	*hdr = 1 + w;
	uint64_t n = be(buf + pos + 1, w);
	if (b == 0xdc || b == 0xdd)
		*children = n;
	else if (b == 0xde || b == 0xdf)
		*children = 2 * n;
	else
		*payload += n;
	return 0;
}

/* One complete value filling buf exactly, every count backed by bytes. */
static int scan(const uint8_t *buf, size_t len, char *err)
{
	size_t pos = 0;
	uint64_t pending = 1; /* values still to read; never exceeds len + 1 */

	if (len == 0)
		return err_set(err, ERR_BAD_REQUEST, "empty message");
	while (pending > 0) {
		size_t hdr;
		uint64_t payload, children;
		if (pos >= len)
			return err_set(err, ERR_BAD_REQUEST,
				       "malformed msgpack: truncated after %zu bytes", len);
		int rc = header(buf, len, pos, &hdr, &payload, &children);
		if (rc < 0)
			return err_set(err, ERR_BAD_REQUEST,
				       "malformed msgpack: invalid byte 0x%02x at offset %zu",
				       buf[pos], pos);
		if (rc > 0 || payload > len - pos - hdr)
			return err_set(err, ERR_BAD_REQUEST,
				       "malformed msgpack: truncated after %zu bytes", len);
		pos += hdr + (size_t)payload;
		/* Every child takes at least one byte. */
		if (children > len - pos)
			return err_set(err, ERR_BAD_REQUEST,
				       "malformed msgpack: container at offset %zu claims %llu "
				       "values but only %zu bytes follow",
				       pos - hdr, (unsigned long long)children, len - pos);
		pending = pending - 1 + children;
	}
	if (pos != len)
		return err_set(err, ERR_BAD_REQUEST,
			       "malformed msgpack: %zu trailing bytes after the message",
			       len - pos);
	return 0;
}

/* Scan, then unpack one top-level map with msgpack-c. */
static int unpack_map(const uint8_t *buf, size_t len, msgpack_unpacked *u, const char *what,
		      char *err)
{
	size_t off = 0;
	int rc = scan(buf, len, err);
	if (rc)
		return rc;
	switch (msgpack_unpack_next(u, (const char *)buf, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS: break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		/* msgpack-c also reports nesting deeper than 32 levels this way. */
		return err_set(err, ERR_BAD_REQUEST, "malformed msgpack: nested too deep");
	default: return err_set(err, ERR_BAD_REQUEST, "malformed msgpack");
	}
	if (off != len)
		return err_set(err, ERR_BAD_REQUEST, "malformed msgpack: trailing bytes");
	if (u->data.type != MSGPACK_OBJECT_MAP)
		return err_set(err, ERR_BAD_REQUEST, "%s must be a msgpack map", what);
	return 0;
}

/* ---- typed field access ------------------------------------------------- */

/* Index of key k in a list of names, or -1 when we do not know it. */
static int key_index(const msgpack_object *k, const char *const *names, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (k->via.str.size == len && memcmp(k->via.str.ptr, names[i], len) == 0)
			return i;
	}
	return -1;
}

static int get_uint(const msgpack_object *o, const char *name, uint64_t max, uint64_t *out,
		    char *err)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return err_set(err, ERR_BAD_REQUEST,
			       "key \"%s\" must be an unsigned integer up to %llu", name,
			       (unsigned long long)max);
	*out = o->via.u64;
	return 0;
}

static int get_bool(const msgpack_object *o, const char *name, bool *out, char *err)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return err_set(err, ERR_BAD_REQUEST, "key \"%s\" must be a boolean", name);
	*out = o->via.boolean;
	return 0;
}

static int get_bin(const msgpack_object *o, const char *name, const uint8_t **ptr, size_t *len,
		   char *err)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return err_set(err, ERR_BAD_REQUEST, "key \"%s\" must be binary (msgpack bin)",
			       name);
	*len = o->via.bin.size;
	*ptr = o->via.bin.size ? (const uint8_t *)o->via.bin.ptr : empty_bin;
	return 0;
}

static int get_float(const msgpack_object *o, const char *name, float *out, char *err)
{
	double v;
	if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
		v = o->via.f64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= 1)
		v = (double)o->via.u64;
	else
		return err_set(err, ERR_BAD_REQUEST, "key \"%s\" must be a float", name);
	if (!(v >= 0.0 && v <= 1.0))
		return err_set(err, ERR_BAD_REQUEST, "key \"%s\" must be in [0, 1]", name);
	*out = (float)v;
	return 0;
}

/* Copy a str into a fixed buffer; long strings are cut, never overflowed. */
static int get_str(const msgpack_object *o, const char *name, char *out, size_t outlen, char *err)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return err_set(err, ERR_BAD_REQUEST, "key \"%s\" must be a string", name);
	size_t n = o->via.str.size < outlen - 1 ? o->via.str.size : outlen - 1;
	if (n)
		memcpy(out, o->via.str.ptr, n);
	out[n] = '\0';
	return 0;
}

static int check_version(const msgpack_object *o, char *err)
{
	uint64_t v = 0;
	if (get_uint(o, "v", UINT32_MAX, &v, err))
		return ERR_BAD_REQUEST;
	if (v != PROTO_VERSION)
		return err_set(err, ERR_BAD_REQUEST,
			       "unsupported protocol version %llu (this side speaks %d)",
			       (unsigned long long)v, PROTO_VERSION);
	return 0;
}

float proto_f32le(const uint8_t *p)
{
	uint32_t u =
	    (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* ---- maps ---------------------------------------------------------------- */

static unsigned bit(int key)
{
	return 1u << key;
}

/* Calls field(key, value) for every known key of map m, once each; returns
 * the set of keys seen. Unknown keys are skipped: newer peers may add some. */
typedef int (*field_fn)(int key, const msgpack_object *val, void *out, char *err);

static int walk_map(const msgpack_object *m, const char *const *names, int n, field_fn field,
		    void *out, unsigned *seen, char *err)
{
	*seen = 0;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return err_set(err, ERR_BAD_REQUEST, "map keys must be strings");
		int key = key_index(&kv->key, names, n);
		if (key < 0)
			continue;
		if (*seen & bit(key))
			return err_set(err, ERR_BAD_REQUEST, "duplicate key \"%s\"", names[key]);
		*seen |= bit(key);
		int rc = field(key, &kv->val, out, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* One kind of message: its keys, how to read one key's value into the
 * struct, and the cross-field rules checked once every key is read. */
struct message_kind {
	const char *what; /* "request" or "reply", for messages */
	const char *const *keys;
	int nkeys;
	field_fn field;
	int (*check)(const void *out, unsigned seen, char *err);
};

/* Parse one message of kind k into out (size bytes, zeroed first and again
 * on failure, so a caller never sees half a message). */
static int parse_message(const struct message_kind *k, const uint8_t *buf, size_t len, void *out,
			 size_t size, char *err)
{
	msgpack_unpacked u;
	unsigned seen = 0;
	int rc;

	memset(out, 0, size);
	msgpack_unpacked_init(&u);
	rc = unpack_map(buf, len, &u, k->what, err);
	if (!rc)
		rc = walk_map(&u.data, k->keys, k->nkeys, k->field, out, &seen, err);
	if (!rc)
		rc = k->check(out, seen, err);
	msgpack_unpacked_destroy(&u);
	if (rc)
		memset(out, 0, size);
	return rc;
}

/* ---- requests ------------------------------------------------------------ */

enum {
	K_V,
	K_IMAGE,
	K_PIXELS,
	K_WIDTH,
	K_HEIGHT,
	K_PROBS,
	K_PING,
	K_EXPLAIN,
	K_INPUT,
	K_ID,
	K_TRACE,
	K_COUNT
};
static const char *const request_keys[K_COUNT] = {"v",	    "image", "pixels",	   "width",
						  "height", "probs", "ping",	   "explain",
						  "input",  "id",    "traceparent"};

/* A str that passes valid(), pointing into the message. */
static int get_token(const msgpack_object *o, const char *name, bool (*valid)(const char *, size_t),
		     const char **ptr, size_t *len, char *err)
{
	if (o->type != MSGPACK_OBJECT_STR || !valid(o->via.str.ptr, o->via.str.size))
		return err_set(
		    err, ERR_BAD_REQUEST,
		    valid == reqid_valid
			? "key \"%s\" must be 1..%d characters of A-Z a-z 0-9 - _ . : / + = @"
			: "key \"%s\" must be a W3C traceparent (%d characters for version 00)",
		    name, valid == reqid_valid ? REQID_MAX : TRACEPARENT_LEN);
	*ptr = o->via.str.ptr;
	*len = o->via.str.size;
	return 0;
}

static int request_field(int key, const msgpack_object *o, void *out, char *err)
{
	struct proto_request *req = out;
	const char *name = request_keys[key];
	uint64_t u = 0;
	int rc;

	switch (key) {
	case K_V: return check_version(o, err);
	case K_IMAGE: return get_bin(o, name, &req->image, &req->image_len, err);
	case K_PIXELS: return get_bin(o, name, &req->pixels, &req->pixels_len, err);
	case K_WIDTH:
	case K_HEIGHT:
		rc = get_uint(o, name, PROTO_MAX_SIDE, &u, err);
		*(key == K_WIDTH ? &req->width : &req->height) = (uint32_t)u;
		return rc;
	case K_PROBS: return get_bool(o, name, &req->probs, err);
	case K_PING: return get_bool(o, name, &req->ping, err);
	case K_EXPLAIN: return get_bool(o, name, &req->explain, err);
	case K_INPUT: return get_bin(o, name, &req->input, &req->input_len, err);
	case K_ID: return get_token(o, name, reqid_valid, &req->id, &req->id_len, err);
	case K_TRACE:
		return get_token(o, name, traceparent_valid, &req->traceparent,
				 &req->traceparent_len, err);
	default: return 0;
	}
}

/* "input": exactly 784 float32 LE, each finite and in [0, 1]. */
static int check_input(const struct proto_request *req, char *err)
{
	if (req->input_len != PROTO_TENSOR_BYTES)
		return err_set(err, ERR_BAD_REQUEST,
			       "\"input\" has %zu bytes but must have %d (784 float32)",
			       req->input_len, PROTO_TENSOR_BYTES);
	for (int i = 0; i < PROTO_TENSOR_BYTES / 4; i++) {
		float v = proto_f32le(req->input + 4 * i);
		if (!(v >= 0.f && v <= 1.f))
			return err_set(err, ERR_BAD_REQUEST,
				       "\"input\" pixel %d is %g, outside [0, 1]", i, (double)v);
	}
	return 0;
}

/* Cross-field rules, after every key is read. */
static int request_check(const void *out, unsigned seen, char *err)
{
	const struct proto_request *req = out;
	int kinds = !!(seen & bit(K_IMAGE)) + !!(seen & bit(K_PIXELS)) + !!(seen & bit(K_INPUT));

	if (!(seen & bit(K_V)))
		return err_set(err, ERR_BAD_REQUEST, "missing key \"v\" (protocol version)");
	if ((seen & bit(K_IMAGE)) && (seen & bit(K_PIXELS)))
		return err_set(err, ERR_BAD_REQUEST, "request has both \"image\" and \"pixels\"");
	if (kinds > 1)
		return err_set(err, ERR_BAD_REQUEST,
			       "request has more than one of \"image\", \"pixels\", \"input\"");
	if (req->ping)
		return 0;
	if (seen & bit(K_INPUT)) {
		if (seen & (bit(K_WIDTH) | bit(K_HEIGHT)))
			return err_set(err, ERR_BAD_REQUEST,
				       "\"width\"/\"height\" go with \"pixels\", not \"input\"");
		return check_input(req, err);
	}
	if (seen & bit(K_IMAGE)) {
		if (seen & (bit(K_WIDTH) | bit(K_HEIGHT)))
			return err_set(err, ERR_BAD_REQUEST,
				       "\"width\"/\"height\" go with \"pixels\", not \"image\"");
		return 0;
	}
	if (!(seen & bit(K_PIXELS)))
		return err_set(err, ERR_BAD_REQUEST,
			       "request needs \"image\", \"pixels\" or \"input\" (or \"ping\")");
	if (!(seen & bit(K_WIDTH)) || !(seen & bit(K_HEIGHT)))
		return err_set(err, ERR_BAD_REQUEST, "\"pixels\" needs \"width\" and \"height\"");
	if (req->width == 0 || req->height == 0)
		return err_set(err, ERR_BAD_REQUEST, "\"width\" and \"height\" must be at least 1");
	/* Both sides are at most PROTO_MAX_SIDE, so the product fits. */
	if (req->pixels_len != (size_t)req->width * req->height)
		return err_set(err, ERR_BAD_REQUEST,
			       "\"pixels\" has %zu bytes but width*height is %zu", req->pixels_len,
			       (size_t)req->width * req->height);
	return 0;
}

static const struct message_kind request_kind = {"request", request_keys, K_COUNT, request_field,
						 request_check};

int proto_parse_request(const uint8_t *buf, size_t len, struct proto_request *req, char *err)
{
	return parse_message(&request_kind, buf, len, req, sizeof *req, err);
}

/* ---- replies ------------------------------------------------------------- */

enum {
	R_V,
	R_OK,
	R_DIGIT,
	R_CONF,
	R_PROBS,
	R_PONG,
	R_WORKER,
	R_BATCH,
	R_INFER,
	R_CODE,
	R_ERROR,
	R_INPUT,
	R_MODEL,
	R_LEAD,
	R_FORWARD,
	R_INSTANCE,
	R_COUNT
};
static const char *const reply_keys[R_COUNT] = {
    "v",	"ok",	"digit", "confidence", "probs", "pong", "worker",     "batch",
    "infer_us", "code", "error", "input",      "model", "lead", "forward_us", "instance"};

static int get_probs(const msgpack_object *o, float *probs, char *err)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 10)
		return err_set(err, ERR_BAD_REQUEST, "key \"probs\" must be an array of 10 floats");
	for (int i = 0; i < 10; i++)
		if (get_float(&o->via.array.ptr[i], "probs", &probs[i], err))
			return ERR_BAD_REQUEST;
	return 0;
}

static int get_u32(const msgpack_object *o, const char *name, uint32_t *out, char *err)
{
	uint64_t u = 0;
	int rc = get_uint(o, name, UINT32_MAX, &u, err);
	if (!rc)
		*out = (uint32_t)u;
	return rc;
}

static int get_input(const msgpack_object *o, struct proto_reply *rep, char *err)
{
	const uint8_t *p = NULL;
	size_t n = 0;

	if (get_bin(o, "input", &p, &n, err) || n != PROTO_INPUT_BYTES)
		return err_set(err, ERR_BAD_REQUEST, "key \"input\" must be %d bytes of bin",
			       PROTO_INPUT_BYTES);
	memcpy(rep->input, p, n);
	rep->has_input = true;
	return 0;
}

static int reply_field(int key, const msgpack_object *o, void *out, char *err)
{
	struct proto_reply *rep = out;
	const char *name = reply_keys[key];
	uint64_t u = 0;
	int rc;

	switch (key) {
	case R_V: return check_version(o, err);
	case R_OK: return get_bool(o, name, &rep->ok, err);
	case R_DIGIT:
		rc = get_uint(o, name, 9, &u, err);
		rep->digit = (int)u;
		return rc;
	case R_CONF: return get_float(o, name, &rep->confidence, err);
	case R_PROBS: rep->has_probs = true; return get_probs(o, rep->probs, err);
	case R_PONG: return get_bool(o, name, &rep->pong, err);
	case R_WORKER: return get_u32(o, name, &rep->worker, err);
	case R_BATCH: return get_u32(o, name, &rep->batch, err);
	case R_INFER: return get_u32(o, name, &rep->infer_us, err);
	case R_CODE: return get_str(o, name, rep->code, sizeof rep->code, err);
	case R_ERROR: return get_str(o, name, rep->error, sizeof rep->error, err);
	case R_INPUT: return get_input(o, rep, err);
	case R_MODEL: return get_str(o, name, rep->model, sizeof rep->model, err);
	case R_LEAD: return get_bool(o, name, &rep->lead, err);
	case R_FORWARD: return get_u32(o, name, &rep->forward_us, err);
	case R_INSTANCE: return get_uint(o, name, UINT64_MAX, &rep->instance, err);
	default: return 0;
	}
}

static int reply_check(const void *out, unsigned seen, char *err)
{
	const struct proto_reply *rep = out;

	if (!(seen & bit(R_V)))
		return err_set(err, ERR_BAD_REQUEST, "missing key \"v\" (protocol version)");
	if (!(seen & bit(R_OK)))
		return err_set(err, ERR_BAD_REQUEST, "missing key \"ok\"");
	if (!rep->ok) {
		if (!(seen & bit(R_CODE)) || !(seen & bit(R_ERROR)))
			return err_set(err, ERR_BAD_REQUEST,
				       "error reply needs \"code\" and \"error\"");
		if (!rep->code[0])
			return err_set(err, ERR_BAD_REQUEST, "error reply has an empty \"code\"");
		return 0;
	}
	if (rep->pong)
		return 0;
	if (!(seen & bit(R_DIGIT)) || !(seen & bit(R_CONF)))
		return err_set(err, ERR_BAD_REQUEST, "reply needs \"digit\" and \"confidence\"");
	return 0;
}

static const struct message_kind reply_kind = {"reply", reply_keys, R_COUNT, reply_field,
					       reply_check};

int proto_parse_reply(const uint8_t *buf, size_t len, struct proto_reply *rep, char *err)
{
	return parse_message(&reply_kind, buf, len, rep, sizeof *rep, err);
}
