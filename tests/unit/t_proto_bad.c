/* Tests for common/proto: every malformed request or reply we can name
 * gives ERR_BAD_REQUEST with a message instead of a crash. */
#include "t_proto_msg.h"

static void test_bad_fields(void)
{
	static const uint8_t px[12] = {0};
	struct msg m;

	msg_init(&m, 1);
	kv_bin(&m, "image", "x", 1);
	bad_request(&m, "missing key \"v\"", "missing v");

	msg_init(&m, 2);
	kv_uint(&m, "v", 2);
	kv_bin(&m, "image", "x", 1);
	bad_request(&m, "unsupported protocol version 2", "version 2");

	msg_init(&m, 2);
	kv_str(&m, "v", "1");
	kv_bin(&m, "image", "x", 1);
	bad_request(&m, "\"v\" must be an unsigned integer", "version as a string");

	msg_init(&m, 2);
	key(&m, "v");
	msgpack_pack_int(&m.pk, -1);
	kv_bin(&m, "image", "x", 1);
	bad_request(&m, "\"v\"", "negative version");

	msg_init(&m, 2);
	kv_uint(&m, "v", 1);
	kv_str(&m, "image", "not bin");
	bad_request(&m, "\"image\" must be binary", "image as str");

	msg_init(&m, 1);
	kv_uint(&m, "v", 1);
	bad_request(&m, "needs \"image\", \"pixels\" or \"input\"", "neither image nor pixels");

	msg_init(&m, 5);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "image", "x", 1);
	kv_bin(&m, "pixels", px, 12);
	kv_uint(&m, "width", 3);
	kv_uint(&m, "height", 4);
	bad_request(&m, "both", "image and pixels");

	msg_init(&m, 2);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "pixels", px, 12);
	bad_request(&m, "needs \"width\" and \"height\"", "pixels without sizes");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "pixels", px, 12);
	kv_uint(&m, "width", 5);
	kv_uint(&m, "height", 4);
	bad_request(&m, "has 12 bytes but width*height is 20", "pixels length mismatch");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "pixels", px, 0);
	kv_uint(&m, "width", 0);
	kv_uint(&m, "height", 4);
	bad_request(&m, "at least 1", "zero width");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "pixels", px, 12);
	kv_uint(&m, "width", 1000000);
	kv_uint(&m, "height", 4);
	bad_request(&m, "\"width\" must be an unsigned integer up to 16384", "absurd width");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "pixels", px, 12);
	kv_uint(&m, "width", 3);
	kv_uint(&m, "height", UINT64_MAX);
	bad_request(&m, "\"height\"", "height 2^64-1");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "image", "x", 1);
	kv_uint(&m, "width", 3);
	kv_uint(&m, "height", 4);
	bad_request(&m, "go with \"pixels\"", "width with image");

	msg_init(&m, 3);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "image", "x", 1);
	kv_bin(&m, "image", "y", 1);
	bad_request(&m, "duplicate key \"image\"", "duplicate image");

	msg_init(&m, 3);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "image", "x", 1);
	kv_uint(&m, "probs", 1);
	bad_request(&m, "\"probs\" must be a boolean", "probs as an integer");

	msg_init(&m, 2);
	kv_uint(&m, "v", 1);
	kv_str(&m, "ping", "yes");
	bad_request(&m, "\"ping\" must be a boolean", "ping as a string");

	msg_init(&m, 2);
	kv_uint(&m, "v", 1);
	msgpack_pack_uint8(&m.pk, 1);
	msgpack_pack_bin_with_body(&m.pk, "x", 1);
	bad_request(&m, "keys must be strings", "integer key");

	/* Unknown keys are ignored; nested values inside them are fine. */
	struct proto_request req;
	char err[ERR_MAX];
	msg_init(&m, 3);
	kv_uint(&m, "v", 1);
	kv_bin(&m, "image", "x", 1);
	key(&m, "trace_id");
	msgpack_pack_array(&m.pk, 2);
	msgpack_pack_nil(&m.pk);
	msgpack_pack_double(&m.pk, 1.5);
	CHECK(proto_parse_request((uint8_t *)m.sb.data, m.sb.size, &req, err) == 0 &&
		  req.image_len == 1,
	      "unknown keys are ignored");
	msgpack_sbuffer_destroy(&m.sb);
}

static void test_bad_replies(void)
{
	struct msg m;

	msg_init(&m, 3);
	kv_uint(&m, "v", 1);
	kv_uint(&m, "digit", 3);
	key(&m, "confidence");
	msgpack_pack_float(&m.pk, 0.5f);
	bad_reply(&m, "missing key \"ok\"", "missing ok");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", true);
	kv_uint(&m, "digit", 10);
	key(&m, "confidence");
	msgpack_pack_float(&m.pk, 0.5f);
	bad_reply(&m, "\"digit\"", "digit 10");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", true);
	kv_uint(&m, "digit", 3);
	kv_str(&m, "confidence", "high");
	bad_reply(&m, "\"confidence\" must be a float", "confidence as a string");

	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", true);
	kv_uint(&m, "digit", 3);
	key(&m, "confidence");
	msgpack_pack_double(&m.pk, 7.0);
	bad_reply(&m, "in [0, 1]", "confidence 7");

	msg_init(&m, 5);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", true);
	kv_uint(&m, "digit", 3);
	key(&m, "confidence");
	msgpack_pack_float(&m.pk, 0.5f);
	key(&m, "probs");
	msgpack_pack_array(&m.pk, 9);
	for (int i = 0; i < 9; i++)
		msgpack_pack_float(&m.pk, 0.1f);
	bad_reply(&m, "array of 10", "nine probabilities");

	msg_init(&m, 2);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", true);
	bad_reply(&m, "needs \"digit\"", "ok reply without digit");

	msg_init(&m, 3);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", false);
	kv_str(&m, "error", "boom");
	bad_reply(&m, "needs \"code\"", "error reply without code");

	msg_init(&m, 4);
	kv_uint(&m, "v", 3);
	kv_bool(&m, "ok", false);
	kv_str(&m, "code", "internal");
	kv_str(&m, "error", "boom");
	bad_reply(&m, "version 3", "reply version 3");

	/* A long error string is cut to fit, never overflowed. */
	char longmsg[1000];
	memset(longmsg, 'e', sizeof longmsg - 1);
	longmsg[sizeof longmsg - 1] = '\0';
	struct proto_reply rep;
	char err[ERR_MAX];
	msg_init(&m, 4);
	kv_uint(&m, "v", 1);
	kv_bool(&m, "ok", false);
	kv_str(&m, "code", "a_code_that_is_far_longer_than_thirty_two_bytes");
	kv_str(&m, "error", longmsg);
	CHECK(proto_parse_reply((uint8_t *)m.sb.data, m.sb.size, &rep, err) == 0 &&
		  strlen(rep.error) == sizeof rep.error - 1 &&
		  strlen(rep.code) == sizeof rep.code - 1,
	      "long code and error strings are truncated safely");
	msgpack_sbuffer_destroy(&m.sb);
}

int main(void)
{
	test_bad_fields();
	test_bad_replies();
	return tap_done();
}
