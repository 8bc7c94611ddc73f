/*
 * proto_pack: packing half of the msgpack codec of proto.h (proto.c parses).
 * Maps are written with exactly the keys that carry a value, in a fixed
 * order, so the bytes are stable (docs/protocol.md shows them).
 */
#include "proto.h"
#include "err.h"
#include "reqid.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of a string in a fixed buffer that might lack its terminator. */
static size_t bounded_len(const char *s, size_t max)
{
	const char *nul = memchr(s, '\0', max);
	return nul ? (size_t)(nul - s) : max;
}

static int pack_key(msgpack_packer *pk, const char *key)
{
	return msgpack_pack_str_with_body(pk, key, strlen(key));
}

/* Hand the packed bytes to the caller, or free them on a packing failure. */
static int finish(msgpack_sbuffer *sb, int failed, uint8_t **buf, size_t *len)
{
	if (failed || !sb->data) {
		msgpack_sbuffer_destroy(sb);
		return ERR_NOMEM;
	}
	*len = sb->size;
	*buf = (uint8_t *)msgpack_sbuffer_release(sb);
	return 0;
}

/* The one payload of a non-ping request: 0 image, 1 pixels, 2 input; -1
 * when there is not exactly one, or its sizes are wrong. */
static int payload_kind(const struct proto_request *req)
{
	int n = !!req->image + !!req->pixels + !!req->input;

	if (n != 1)
		return -1;
	if (req->input)
		return req->input_len == PROTO_TENSOR_BYTES ? 2 : -1;
	if (req->image)
		return 0;
	if (req->width == 0 || req->height == 0 || req->width > PROTO_MAX_SIDE ||
	    req->height > PROTO_MAX_SIDE || req->pixels_len != (size_t)req->width * req->height)
		return -1;
	return 1;
}

/* One of the *_with packers below into a malloc'd buffer. */
typedef int (*pack_fn)(const void *obj, proto_write_fn write, void *data);

static int pack_to_buffer(pack_fn pack, const void *obj, uint8_t **buf, size_t *len)
{
	msgpack_sbuffer sb;
	int rc;

	*buf = NULL;
	*len = 0;
	msgpack_sbuffer_init(&sb);
	if ((rc = pack(obj, msgpack_sbuffer_write, &sb)) == ERR_INVALID) {
		msgpack_sbuffer_destroy(&sb);
		return rc;
	}
	return finish(&sb, rc != 0, buf, len);
}

static int pack_request(const void *req, proto_write_fn write, void *data)
{
	return proto_pack_request_with(req, write, data);
}

static int pack_reply(const void *rep, proto_write_fn write, void *data)
{
	return proto_pack_reply_with(rep, write, data);
}

int proto_pack_request(const struct proto_request *req, uint8_t **buf, size_t *len)
{
	return pack_to_buffer(pack_request, req, buf, len);
}

size_t proto_request_bound(const struct proto_request *req)
{
	/* The map, its keys and scalars fit in 64 bytes; bin headers are 5. */
	return 64 +
	       (req->ping     ? 0
		: req->pixels ? req->pixels_len
		: req->input  ? req->input_len
			      : req->image_len) +
	       (req->id ? 8 + req->id_len : 0) + (req->traceparent ? 16 + req->traceparent_len : 0);
}

int proto_pack_request_with(const struct proto_request *req, proto_write_fn write, void *data)
{
	msgpack_packer pk;
	int f = 0;
	int kind = req->ping ? 0 : payload_kind(req);

	if (kind < 0)
		return ERR_INVALID;
	if ((req->id && !reqid_valid(req->id, req->id_len)) ||
	    (req->traceparent && !traceparent_valid(req->traceparent, req->traceparent_len)))
		return ERR_INVALID;
	msgpack_packer_init(&pk, data, write);
	f |= msgpack_pack_map(&pk, 1 + (!req->ping && kind == 1 ? 3 : 1) + req->probs +
				       req->explain + (req->id != NULL) +
				       (req->traceparent != NULL));
	f |= pack_key(&pk, "v") | msgpack_pack_uint32(&pk, PROTO_VERSION);
	if (req->ping) {
		f |= pack_key(&pk, "ping") | msgpack_pack_true(&pk);
	} else if (kind == 1) {
		f |= pack_key(&pk, "pixels") |
		     msgpack_pack_bin_with_body(&pk, req->pixels, req->pixels_len);
		f |= pack_key(&pk, "width") | msgpack_pack_uint32(&pk, req->width);
		f |= pack_key(&pk, "height") | msgpack_pack_uint32(&pk, req->height);
	} else if (kind == 2) {
		f |= pack_key(&pk, "input") |
		     msgpack_pack_bin_with_body(&pk, req->input, req->input_len);
	} else {
		f |= pack_key(&pk, "image") |
		     msgpack_pack_bin_with_body(&pk, req->image, req->image_len);
	}
	if (req->probs)
		f |= pack_key(&pk, "probs") | msgpack_pack_true(&pk);
	if (req->explain)
		f |= pack_key(&pk, "explain") | msgpack_pack_true(&pk);
	if (req->id)
		f |= pack_key(&pk, "id") | msgpack_pack_str_with_body(&pk, req->id, req->id_len);
	if (req->traceparent)
		f |= pack_key(&pk, "traceparent") |
		     msgpack_pack_str_with_body(&pk, req->traceparent, req->traceparent_len);
	return f ? ERR_NOMEM : 0;
}

/* worker, instance, batch, infer_us and model are sent only when known
 * (non-zero); lead and forward_us only on a batch's lead reply. */
static int pack_stats(msgpack_packer *pk, const struct proto_reply *rep)
{
	int f = 0;
	size_t mlen = bounded_len(rep->model, sizeof rep->model);
	if (rep->worker)
		f |= pack_key(pk, "worker") | msgpack_pack_uint32(pk, rep->worker);
	if (rep->instance)
		f |= pack_key(pk, "instance") | msgpack_pack_uint64(pk, rep->instance);
	if (rep->batch)
		f |= pack_key(pk, "batch") | msgpack_pack_uint32(pk, rep->batch);
	if (rep->infer_us)
		f |= pack_key(pk, "infer_us") | msgpack_pack_uint32(pk, rep->infer_us);
	if (mlen)
		f |= pack_key(pk, "model") | msgpack_pack_str_with_body(pk, rep->model, mlen);
	if (rep->lead)
		f |= pack_key(pk, "lead") | msgpack_pack_true(pk) | pack_key(pk, "forward_us") |
		     msgpack_pack_uint32(pk, rep->forward_us);
	return f;
}

static size_t stats_count(const struct proto_reply *rep)
{
	return (rep->worker != 0) + (rep->instance != 0) + (rep->batch != 0) +
	       (rep->infer_us != 0) + (rep->model[0] != 0) + 2u * rep->lead;
}

int proto_pack_reply(const struct proto_reply *rep, uint8_t **buf, size_t *len)
{
	return pack_to_buffer(pack_reply, rep, buf, len);
}

int proto_pack_reply_with(const struct proto_reply *rep, proto_write_fn write, void *data)
{
	msgpack_packer pk;
	int f = 0;
	size_t n = 2 + stats_count(rep);

	if (rep->ok && !rep->pong && (rep->digit < 0 || rep->digit > 9))
		return ERR_INVALID;
	if (!rep->ok)
		n += 2;
	else if (rep->pong)
		n += 1;
	else
		n += 2 + rep->has_probs + rep->has_input;
	msgpack_packer_init(&pk, data, write);
	f |= msgpack_pack_map(&pk, n);
	f |= pack_key(&pk, "v") | msgpack_pack_uint32(&pk, PROTO_VERSION);
	f |= pack_key(&pk, "ok") | (rep->ok ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
	if (!rep->ok) {
		const char *code = rep->code[0] ? rep->code : "internal";
		f |= pack_key(&pk, "code") |
		     msgpack_pack_str_with_body(&pk, code, bounded_len(code, sizeof rep->code));
		f |= pack_key(&pk, "error") |
		     msgpack_pack_str_with_body(&pk, rep->error,
						bounded_len(rep->error, sizeof rep->error));
	} else if (rep->pong) {
		f |= pack_key(&pk, "pong") | msgpack_pack_true(&pk);
	} else {
		f |= pack_key(&pk, "digit") | msgpack_pack_uint32(&pk, (uint32_t)rep->digit);
		f |= pack_key(&pk, "confidence") | msgpack_pack_float(&pk, rep->confidence);
		if (rep->has_probs) {
			f |= pack_key(&pk, "probs") | msgpack_pack_array(&pk, 10);
			for (int i = 0; i < 10; i++)
				f |= msgpack_pack_float(&pk, rep->probs[i]);
		}
		if (rep->has_input)
			f |= pack_key(&pk, "input") |
			     msgpack_pack_bin_with_body(&pk, rep->input, sizeof rep->input);
	}
	f |= pack_stats(&pk, rep);
	return f ? ERR_NOMEM : 0;
}

void proto_reply_error(struct proto_reply *rep, int code, const char *msg)
{
	memset(rep, 0, sizeof *rep);
	rep->ok = false;
	snprintf(rep->code, sizeof rep->code, "%s", err_code_name(code));
	snprintf(rep->error, sizeof rep->error, "%s", msg ? msg : "");
}
