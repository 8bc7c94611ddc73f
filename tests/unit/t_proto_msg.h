/* Helpers for the protocol tests (t_proto, t_proto_bad): build odd
 * messages with msgpack-c directly, and expect their rejection. */
#ifndef T_PROTO_MSG_H
#define T_PROTO_MSG_H

#include "err.h"
#include "proto.h"
#include "tap.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers: build odd messages with msgpack-c directly ---------------- */

struct msg {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static inline void msg_init(struct msg *m, size_t entries)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&m->pk, entries);
}

static inline void key(struct msg *m, const char *k)
{
	msgpack_pack_str_with_body(&m->pk, k, strlen(k));
}

static inline void kv_uint(struct msg *m, const char *k, uint64_t v)
{
	key(m, k);
	msgpack_pack_uint64(&m->pk, v);
}

static inline void kv_bin(struct msg *m, const char *k, const void *p, size_t n)
{
	key(m, k);
	msgpack_pack_bin_with_body(&m->pk, p, n);
}

static inline void kv_str(struct msg *m, const char *k, const char *s)
{
	key(m, k);
	msgpack_pack_str_with_body(&m->pk, s, strlen(s));
}

static inline void kv_bool(struct msg *m, const char *k, bool b)
{
	key(m, k);
	if (b)
		msgpack_pack_true(&m->pk);
	else
		msgpack_pack_false(&m->pk);
}

/* Parse m as a request; expect rejection with msg containing want. */
static inline void bad_request(struct msg *m, const char *want, const char *name)
{
	struct proto_request req;
	char err[ERR_MAX] = "";
	int rc = proto_parse_request((const uint8_t *)m->sb.data, m->sb.size, &req, err);
	CHECK(rc == ERR_BAD_REQUEST && strstr(err, want), "request rejected: %s (%s)", name, err);
	msgpack_sbuffer_destroy(&m->sb);
}

static inline void bad_reply(struct msg *m, const char *want, const char *name)
{
	struct proto_reply rep;
	char err[ERR_MAX] = "";
	int rc = proto_parse_reply((const uint8_t *)m->sb.data, m->sb.size, &rep, err);
	CHECK(rc == ERR_BAD_REQUEST && strstr(err, want), "reply rejected: %s (%s)", name, err);
	msgpack_sbuffer_destroy(&m->sb);
}

static inline int parse_raw(const uint8_t *b, size_t n, char *err)
{
	struct proto_request req;
	return proto_parse_request(b, n, &req, err);
}

#endif
