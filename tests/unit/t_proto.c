/* Tests for common/proto: round trips, and every malformed input we can name
 * gives ERR_BAD_REQUEST with a message instead of a crash. */
#include "err.h"
#include "proto.h"
#include "tap.h"
#include "t_proto_msg.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---- round trips ---------------------------------------------------------- */

static void test_request_round_trips(void)
{
	static const uint8_t png[] = {0x89, 'P', 'N', 'G', 0, 1, 2, 3};
	uint8_t pixels[6] = {0, 50, 100, 150, 200, 255};
	struct proto_request in, out;
	uint8_t *buf;
	size_t len;
	char err[ERR_MAX];

	memset(&in, 0, sizeof in);
	in.image = png;
	in.image_len = sizeof png;
	in.probs = true;
	CHECK(proto_pack_request(&in, &buf, &len) == 0, "pack image request");
	CHECK(proto_parse_request(buf, len, &out, err) == 0, "parse image request");
	CHECK(out.image_len == sizeof png && memcmp(out.image, png, sizeof png) == 0 &&
		  out.image >= buf && out.image < buf + len,
	      "image bytes survive and point into the message");
	CHECK(out.probs && !out.ping && !out.pixels, "image request flags");
	free(buf);

	memset(&in, 0, sizeof in);
	in.pixels = pixels;
	in.pixels_len = 6;
	in.width = 3;
	in.height = 2;
	CHECK(proto_pack_request(&in, &buf, &len) == 0, "pack pixels request");
	CHECK(proto_parse_request(buf, len, &out, err) == 0, "parse pixels request");
	CHECK(out.pixels_len == 6 && memcmp(out.pixels, pixels, 6) == 0 && out.width == 3 &&
		  out.height == 2 && !out.image && !out.probs,
	      "pixels request survives");
	free(buf);

	memset(&in, 0, sizeof in);
	in.ping = true;
	CHECK(proto_pack_request(&in, &buf, &len) == 0, "pack ping");
	CHECK(proto_parse_request(buf, len, &out, err) == 0 && out.ping, "parse ping");
	free(buf);

	memset(&in, 0, sizeof in);
	in.image = png;
	in.image_len = 0;
	CHECK(proto_pack_request(&in, &buf, &len) == 0, "pack empty image");
	CHECK(proto_parse_request(buf, len, &out, err) == 0 && out.image && out.image_len == 0,
	      "empty image parses as present and empty (the decoder rejects it)");
	free(buf);

	memset(&in, 0, sizeof in);
	in.image = png;
	in.image_len = 4;
	in.pixels = pixels;
	in.pixels_len = 6;
	in.width = 3;
	in.height = 2;
	CHECK(proto_pack_request(&in, &buf, &len) == ERR_INVALID && !buf,
	      "pack refuses image and pixels together");
	memset(&in, 0, sizeof in);
	CHECK(proto_pack_request(&in, &buf, &len) == ERR_INVALID, "pack refuses empty request");
	in.pixels = pixels;
	in.pixels_len = 5;
	in.width = 3;
	in.height = 2;
	CHECK(proto_pack_request(&in, &buf, &len) == ERR_INVALID,
	      "pack refuses pixels of the wrong length");
}

static void test_reply_round_trips(void)
{
	struct proto_reply in, out;
	uint8_t *buf;
	size_t len;
	char err[ERR_MAX];

	memset(&in, 0, sizeof in);
	in.ok = true;
	in.digit = 7;
	in.confidence = 0.9823f;
	in.has_probs = true;
	for (int i = 0; i < 10; i++)
		in.probs[i] = i == 7 ? 0.9823f : 0.0019f;
	in.worker = 4242;
	in.batch = 5;
	in.infer_us = 1234;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0, "pack ok reply");
	CHECK(proto_parse_reply(buf, len, &out, err) == 0, "parse ok reply");
	CHECK(out.ok && out.digit == 7 && out.confidence == in.confidence && out.has_probs &&
		  memcmp(out.probs, in.probs, sizeof in.probs) == 0 && out.worker == 4242 &&
		  out.batch == 5 && out.infer_us == 1234 && !out.pong,
	      "ok reply survives exactly");
	free(buf);

	in.has_probs = false;
	in.worker = in.batch = in.infer_us = 0;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && !out.has_probs &&
		  out.worker == 0 && out.batch == 0,
	      "reply without probs or stats");
	free(buf);

	memset(&in, 0, sizeof in);
	in.ok = true;
	in.pong = true;
	in.worker = 99;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && out.ok && out.pong &&
		  out.worker == 99,
	      "pong round trip");
	free(buf);

	proto_reply_error(&in, ERR_INVALID, "truncated PNG");
	in.worker = 7;
	CHECK(!in.ok && strcmp(in.code, "invalid_image") == 0, "reply_error fills code");
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && !out.ok &&
		  strcmp(out.code, "invalid_image") == 0 &&
		  strcmp(out.error, "truncated PNG") == 0 && out.worker == 7,
	      "error reply round trip");
	free(buf);

	int codes[] = {ERR_UNSUPPORTED, ERR_TOO_LARGE,	 ERR_BAD_REQUEST,
		       ERR_INTERNAL,	ERR_UNAVAILABLE, ERR_TIMEOUT};
	const char *names[] = {"unsupported_type", "too_large",	  "bad_request",
			       "internal",	   "unavailable", "timeout"};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		proto_reply_error(&in, codes[i], "x");
		CHECK(strcmp(in.code, names[i]) == 0, "code name %s", names[i]);
	}
}

/* "explain": the request flag and the reply's 784-byte "input". */
static void test_explain(void)
{
	static const uint8_t png[] = {0x89, 'P', 'N', 'G'};
	struct proto_request q = {.image = png, .image_len = 4, .explain = true}, qo;
	struct proto_reply in = {.ok = true, .digit = 3, .confidence = 0.5f}, out;
	uint8_t *buf;
	size_t len;
	char err[ERR_MAX];
	struct msg m;

	CHECK(proto_pack_request(&q, &buf, &len) == 0 &&
		  proto_parse_request(buf, len, &qo, err) == 0 && qo.explain && !qo.probs,
	      "explain request round trip");
	free(buf);
	q.explain = false;
	CHECK(proto_pack_request(&q, &buf, &len) == 0 &&
		  proto_parse_request(buf, len, &qo, err) == 0 && !qo.explain,
	      "request without explain");
	free(buf);
	for (int i = 0; i < PROTO_INPUT_BYTES; i++)
		in.input[i] = (uint8_t)(i * 7);
	in.has_input = true;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && out.has_input &&
		  memcmp(out.input, in.input, PROTO_INPUT_BYTES) == 0 && out.digit == 3,
	      "reply input survives exactly");
	free(buf);
	in.has_input = false;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && !out.has_input,
	      "reply without input");
	free(buf);

	msg_init(&m, 3);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "image", png, 4);
	kv_uint(&m, "explain", 1);
	bad_request(&m, "\"explain\" must be a boolean", "explain as an integer");
	msg_init(&m, 5);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", true);
	kv_uint(&m, "digit", 3);
	key(&m, "confidence");
	msgpack_pack_float(&m.pk, 0.5f);
	kv_bin(&m, "input", in.input, 783);
	bad_reply(&m, "\"input\" must be 784 bytes", "input of 783 bytes");
	msg_init(&m, 5);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", true);
	kv_uint(&m, "digit", 3);
	key(&m, "confidence");
	msgpack_pack_float(&m.pk, 0.5f);
	kv_str(&m, "input", "pixels");
	bad_reply(&m, "\"input\"", "input as a string");
}

/* ---- malformed requests -------------------------------------------------- */

static void test_raw_bytes(void)
{
	char err[ERR_MAX];
	struct proto_request in = {0};
	uint8_t *buf;
	size_t len;
	static const uint8_t img[] = {1, 2, 3, 4, 5};

	CHECK(parse_raw(NULL, 0, err) == ERR_BAD_REQUEST && strstr(err, "empty"), "empty message");
	struct proto_request nreq;
	struct proto_reply nrep;
	CHECK(proto_parse_request((const uint8_t *)"\x81\xa1v\x02", 4, &nreq, NULL) ==
		      ERR_BAD_REQUEST &&
		  proto_parse_reply((const uint8_t *)"\xc1", 1, &nrep, NULL) == ERR_BAD_REQUEST,
	      "a NULL error buffer is allowed");
	CHECK(parse_raw((const uint8_t *)"\xc1", 1, err) == ERR_BAD_REQUEST &&
		  strstr(err, "invalid byte"),
	      "never-used byte 0xc1");
	CHECK(parse_raw((const uint8_t *)"\x93\x01\x02\x03", 4, err) == ERR_BAD_REQUEST &&
		  strstr(err, "must be a msgpack map"),
	      "array instead of map");
	CHECK(parse_raw((const uint8_t *)"\x07", 1, err) == ERR_BAD_REQUEST,
	      "integer instead of map");
	CHECK(parse_raw((const uint8_t *)"\xdd\xff\xff\xff\xff", 5, err) == ERR_BAD_REQUEST &&
		  strstr(err, "claims"),
	      "array32 claiming 4G entries is refused before allocation");
	CHECK(parse_raw((const uint8_t *)"\xdf\xff\xff\xff\xff\x00", 6, err) == ERR_BAD_REQUEST,
	      "map32 claiming 4G entries");
	CHECK(parse_raw((const uint8_t *)"\xc6\xff\xff\xff\xff\x00", 6, err) == ERR_BAD_REQUEST &&
		  strstr(err, "truncated"),
	      "bin32 claiming 4 GB");
	CHECK(parse_raw((const uint8_t *)"\xdb\x00", 2, err) == ERR_BAD_REQUEST,
	      "str32 with a truncated length");

	/* Deep nesting inside an unknown key. */
	uint8_t deep[64];
	size_t n = 0;
	memcpy(deep, "\x82\xa1v\x01\xa1x", 6);
	n = 6;
	while (n < sizeof deep - 1)
		deep[n++] = 0x91; /* array of one */
	deep[n++] = 0x00;
	CHECK(parse_raw(deep, n, err) == ERR_BAD_REQUEST && strstr(err, "deep"),
	      "58-level nesting is refused");

	in.image = img;
	in.image_len = sizeof img;
	if (proto_pack_request(&in, &buf, &len) != 0)
		return;
	int all = 1;
	for (size_t cut = 0; cut < len; cut++)
		all &= parse_raw(buf, cut, err) == ERR_BAD_REQUEST;
	CHECK(all, "every truncation of a request is rejected");
	uint8_t *longer = malloc(len + 1);
	if (longer) {
		memcpy(longer, buf, len);
		longer[len] = 0xc0;
		CHECK(parse_raw(longer, len + 1, err) == ERR_BAD_REQUEST && strstr(err, "trailing"),
		      "trailing garbage rejected");
		free(longer);
	}
	free(buf);
}

/* The byte-level examples of docs/protocol.md, checked so the doc stays true. */
static int hex_equal(const uint8_t *buf, size_t len, const char *hex)
{
	size_t n = 0;
	for (const char *p = hex; *p; p++) {
		unsigned v;
		if (*p == ' ' || *p == '\n')
			continue;
		if (sscanf(p, "%2x", &v) != 1 || n >= len || buf[n] != v)
			return 0;
		n++;
		p++;
	}
	return n == len;
}

static void test_documented_bytes(void)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	struct proto_request q = {.image = sig, .image_len = 8};
	struct proto_reply r = {.ok = true, .digit = 7, .confidence = 0.9823f};
	uint8_t *buf;
	size_t len;

	CHECK(proto_pack_request(&q, &buf, &len) == 0 &&
		  hex_equal(buf, len,
			    "82 a1 76 01 a5 69 6d 61 67 65 c4 08 89 50 4e 47 "
			    "0d 0a 1a 0a"),
	      "request bytes as documented");
	free(buf);
	r.worker = 4242;
	r.batch = 3;
	r.infer_us = 1234;
	CHECK(proto_pack_reply(&r, &buf, &len) == 0 &&
		  hex_equal(buf, len,
			    "87 a1 76 01 a2 6f 6b c3 a5 64 69 67 69 74 07 aa "
			    "63 6f 6e 66 69 64 65 6e 63 65 ca 3f 7b 78 03 a6 "
			    "77 6f 72 6b 65 72 cd 10 92 a5 62 61 74 63 68 03 "
			    "a8 69 6e 66 65 72 5f 75 73 cd 04 d2"),
	      "reply bytes as documented");
	free(buf);
	proto_reply_error(&r, ERR_UNSUPPORTED, "not a PNG or JPEG image");
	r.worker = 4242;
	CHECK(proto_pack_reply(&r, &buf, &len) == 0 &&
		  hex_equal(buf, len,
			    "85 a1 76 01 a2 6f 6b c2 a4 63 6f 64 65 b0 75 6e "
			    "73 75 70 70 6f 72 74 65 64 5f 74 79 70 65 a5 65 "
			    "72 72 6f 72 b7 6e 6f 74 20 61 20 50 4e 47 20 6f "
			    "72 20 4a 50 45 47 20 69 6d 61 67 65 a6 77 6f 72 "
			    "6b 65 72 cd 10 92"),
	      "error reply bytes as documented");
	free(buf);
	struct proto_request ping = {.ping = true};
	CHECK(proto_pack_request(&ping, &buf, &len) == 0 &&
		  hex_equal(buf, len, "82 a1 76 01 a4 70 69 6e 67 c3"),
	      "ping bytes as documented");
	free(buf);
}

/* ---- packing through a write callback ------------------------------------ */

/* A proto_write_fn into a fixed buffer that fails once cap is exceeded. */
struct sink {
	uint8_t buf[8192];
	size_t len, cap;
	int writes;
};

static int sink_write(void *data, const char *buf, size_t len)
{
	struct sink *k = data;
	k->writes++;
	if (k->len + len > k->cap)
		return -1;
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
	return 0;
}

/* The callback gets the bytes proto_pack_request makes, within the bound;
 * a failing write is ERR_NOMEM; an invalid request writes nothing. */
static void check_request_with(const struct proto_request *req, const char *name)
{
	struct sink k = {.cap = sizeof k.buf};
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = proto_pack_request_with(req, sink_write, &k);
	CHECK(rc == 0 && proto_pack_request(req, &buf, &len) == 0 && len == k.len &&
		  memcmp(buf, k.buf, len) == 0 && len <= proto_request_bound(req),
	      "%s: packed through the callback = proto_pack_request, %zu <= bound %zu", name, k.len,
	      proto_request_bound(req));
	free(buf);
	struct sink small = {.cap = k.len - 1};
	CHECK(proto_pack_request_with(req, sink_write, &small) == ERR_NOMEM,
	      "%s: a failing write is ERR_NOMEM", name);
}

static void test_pack_with(void)
{
	static uint8_t img[5000], pixels[12 * 10];
	struct proto_request req = {
	    .image = img, .image_len = sizeof img, .probs = true, .explain = true};
	check_request_with(&req, "image request");
	req = (struct proto_request){
	    .pixels = pixels, .pixels_len = sizeof pixels, .width = 12, .height = 10};
	check_request_with(&req, "pixels request");
	req = (struct proto_request){.ping = true};
	check_request_with(&req, "ping");
	struct sink k = {.cap = sizeof k.buf};
	req = (struct proto_request){0};
	CHECK(proto_pack_request_with(&req, sink_write, &k) == ERR_INVALID && k.writes == 0,
	      "request with neither image nor pixels: ERR_INVALID, nothing written");

	struct proto_reply rep = {.ok = true,
				  .digit = 7,
				  .confidence = 0.5f,
				  .has_probs = true,
				  .has_input = true,
				  .worker = 42,
				  .batch = 3,
				  .infer_us = 99};
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = proto_pack_reply_with(&rep, sink_write, &k);
	CHECK(rc == 0 && proto_pack_reply(&rep, &buf, &len) == 0 && len == k.len &&
		  memcmp(buf, k.buf, len) == 0,
	      "reply packed through the callback = proto_pack_reply (%zu bytes)", k.len);
	free(buf);
	struct sink small = {.cap = 20};
	CHECK(proto_pack_reply_with(&rep, sink_write, &small) == ERR_NOMEM,
	      "reply: a failing write is ERR_NOMEM");
	rep.digit = 12;
	small = (struct sink){.cap = sizeof small.buf};
	CHECK(proto_pack_reply_with(&rep, sink_write, &small) == ERR_INVALID && small.writes == 0,
	      "reply with digit 12: ERR_INVALID, nothing written");
}

/* "instance": a worker's process id across hosts. Last: it sets the
 * process-wide instance, which every later reply naming a worker gets. */
static void test_instance(void)
{
	const uint64_t id = 0x0123456789abcdefull;
	struct proto_reply in = {.ok = true, .pong = true, .worker = 99}, out;
	uint8_t *buf, *again;
	size_t len, again_len;
	char err[ERR_MAX];

	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && out.instance == 0,
	      "no instance set: a pong carries none");
	free(buf);
	in.instance = id;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && out.pong && out.worker == 99 &&
		  out.instance == id,
	      "a pong naming a worker carries its instance, all 64 bits");
	CHECK(proto_pack_reply(&out, &again, &again_len) == 0 && again_len == len &&
		  memcmp(again, buf, len) == 0,
	      "a parsed reply packs to the same bytes");
	free(again);
	free(buf);
	in.instance = 5;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && out.instance == 5,
	      "a reply's own instance wins");
	free(buf);
	proto_reply_error(&in, ERR_UNAVAILABLE, "no worker");
	in.worker = 0;
	in.instance = 0;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && out.instance == 0,
	      "a reply no worker made carries no instance");
	free(buf);

	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_str_with_body(&pk, "ok", 2);
	msgpack_pack_true(&pk);
	msgpack_pack_str_with_body(&pk, "pong", 4);
	msgpack_pack_true(&pk);
	msgpack_pack_str_with_body(&pk, "instance", 8);
	msgpack_pack_int32(&pk, -1);
	CHECK(proto_parse_reply((const uint8_t *)sb.data, sb.size, &out, err) == ERR_BAD_REQUEST &&
		  strstr(err, "instance") != NULL,
	      "a negative instance is a bad reply, naming the key");
	msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
	test_documented_bytes();
	test_request_round_trips();
	test_reply_round_trips();
	test_explain();
	test_raw_bytes();
	test_pack_with();
	test_instance();
	return tap_done();
}
