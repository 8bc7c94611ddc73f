/* Tests for common/proto: the "input" request (the 28x28 model input as
 * 784 float32 little-endian, no intake) and the reply's "model" version. */
#include "t_proto_msg.h"

#include <math.h>

static void put_f32le(uint8_t *p, float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(u >> (8 * i));
}

static void test_input_roundtrip(void)
{
	static uint8_t t[PROTO_TENSOR_BYTES];
	struct proto_request req = {.input = t, .input_len = sizeof t, .probs = true}, back;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[ERR_MAX] = "";

	for (int i = 0; i < 784; i++)
		put_f32le(t + 4 * i, (float)i / 783.f);
	CHECK(proto_pack_request(&req, &buf, &len) == 0, "input request packs");
	CHECK(proto_parse_request(buf, len, &back, err) == 0, "input request parses (%s)", err);
	CHECK(back.input && back.input_len == sizeof t && !back.image && !back.pixels && back.probs,
	      "parsed request has the input and probs");
	CHECK(back.input && proto_f32le(back.input + 4 * 783) == 1.f &&
		  proto_f32le(back.input + 4 * 392) == 392.f / 783.f,
	      "pixels read back little-endian, bit for bit");
	free(buf);

	req.input_len = 100;
	CHECK(proto_pack_request(&req, &buf, &len) == ERR_INVALID && !buf,
	      "packing an input of the wrong size is refused");
	req.input_len = sizeof t;
	req.image = t;
	req.image_len = 8;
	CHECK(proto_pack_request(&req, &buf, &len) == ERR_INVALID && !buf,
	      "packing input and image together is refused");
}

static void bad_input(const uint8_t *t, size_t n, const char *want, const char *name)
{
	struct msg m;
	msg_init(&m, 2);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "input", t, n);
	bad_request(&m, want, name);
}

static void test_input_bad(void)
{
	static uint8_t t[PROTO_TENSOR_BYTES];
	struct msg m;

	bad_input(t, 784, "has 784 bytes but must have 3136", "input of 784 bytes (uint8)");
	bad_input(t, 0, "has 0 bytes", "empty input");
	put_f32le(t + 4 * 17, 1.5f);
	bad_input(t, sizeof t, "pixel 17 is 1.5, outside [0, 1]", "input above 1");
	put_f32le(t + 4 * 17, -0.25f);
	bad_input(t, sizeof t, "pixel 17 is -0.25", "negative input");
	put_f32le(t + 4 * 17, NAN);
	bad_input(t, sizeof t, "pixel 17", "NaN input");
	put_f32le(t + 4 * 17, INFINITY);
	bad_input(t, sizeof t, "pixel 17", "infinite input");
	put_f32le(t + 4 * 17, 0.f);

	msg_init(&m, 3);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "input", t, sizeof t);
	kv_bin(&m, "image", "x", 1);
	bad_request(&m, "more than one of", "input and image");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "input", t, sizeof t);
	kv_uint(&m, "width", 28);
	kv_uint(&m, "height", 28);
	bad_request(&m, "go with \"pixels\", not \"input\"", "input with width/height");

	msg_init(&m, 2);
	kv_uint(&m, "v", 1);
	kv_str(&m, "input", "not bin");
	bad_request(&m, "\"input\" must be binary", "input as str");
}

static void test_reply_model(void)
{
	struct proto_reply rep = {.ok = true, .digit = 3, .confidence = 0.5f}, back;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[ERR_MAX] = "";

	snprintf(rep.model, sizeof rep.model, "0123456789ab");
	CHECK(proto_pack_reply(&rep, &buf, &len) == 0, "reply with model packs");
	CHECK(proto_parse_reply(buf, len, &back, err) == 0 && !strcmp(back.model, "0123456789ab"),
	      "reply's model version survives the round trip (%s)", back.model);
	CHECK(len > 12 && memmem(buf, len,
				 "\xa5model\xac"
				 "0123456789ab",
				 19) != NULL,
	      "packed as str \"model\": fixstr of 12");
	free(buf);

	proto_reply_error(&rep, ERR_INVALID, "bad");
	snprintf(rep.model, sizeof rep.model, "feedfacecafe");
	CHECK(proto_pack_reply(&rep, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &back, err) == 0 && !back.ok &&
		  !strcmp(back.model, "feedfacecafe"),
	      "an error reply carries the model too");
	free(buf);

	rep = (struct proto_reply){.ok = true, .pong = true};
	CHECK(proto_pack_reply(&rep, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &back, err) == 0 && back.model[0] == '\0' &&
		  !memmem(buf, len, "model", 5),
	      "no model key when the version is unknown");
	free(buf);

	struct msg m;
	msg_init(&m, 5);
	kv_uint(&m, "v", 1);
	key(&m, "ok");
	msgpack_pack_true(&m.pk);
	kv_uint(&m, "digit", 1);
	key(&m, "confidence");
	msgpack_pack_float(&m.pk, 0.5f);
	kv_uint(&m, "model", 7);
	bad_reply(&m, "\"model\" must be a string", "model as an integer");
}

int main(void)
{
	test_input_roundtrip();
	test_input_bad();
	test_reply_model();
	return tap_done();
}
