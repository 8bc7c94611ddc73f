/* Tests for common/reqid (request ids, W3C traceparent), the protocol keys
 * "id" and "traceparent" that carry them, and common/log's JSON lines
 * (each one parses, with the request id and fields, whatever the input). */
#include "err.h"
#include "log.h"
#include "proto.h"
#include "reqid.h"
#include "tap.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static bool valid_id(const char *s)
{
	return reqid_valid(s, strlen(s));
}

static bool valid_tp(const char *s)
{
	return traceparent_valid(s, strlen(s));
}

static void test_ids(void)
{
	char a[REQID_GEN_LEN + 1], b[REQID_GEN_LEN + 1], big[REQID_MAX + 2];

	CHECK(valid_id("abc-123") && valid_id("f47ac10b-58cc-4372-a567-0e02b2c3d479") &&
		  valid_id("YWJj+/=") && valid_id("svc:req.1_x@host"),
	      "ids: uuid, base64, dotted, colon forms are valid");
	CHECK(!valid_id("") && !valid_id("a b") && !valid_id("a\"b") && !valid_id("a\nb") &&
		  !valid_id("é") && !valid_id("a,b") && !reqid_valid("a\0b", 3),
	      "ids: empty, space, quote, newline, non-ASCII, comma, NUL are not");
	memset(big, 'x', sizeof big);
	CHECK(reqid_valid(big, REQID_MAX) && !reqid_valid(big, REQID_MAX + 1),
	      "ids: %d characters at most", REQID_MAX);
	reqid_generate(a);
	reqid_generate(b);
	CHECK(strlen(a) == REQID_GEN_LEN && strspn(a, "0123456789abcdef") == REQID_GEN_LEN &&
		  valid_id(a),
	      "generated id is %d hex digits (%s)", REQID_GEN_LEN, a);
	CHECK(strcmp(a, b) != 0, "two generated ids differ");
	uint64_t r1 = reqid_random64(), r2 = reqid_random64();
	CHECK(r1 != 0 && r2 != 0 && r1 != r2, "two random 64-bit ids, not 0, differ");
}

static void test_traceparent(void)
{
	CHECK(valid_tp(TP), "traceparent: the W3C example is valid");
	CHECK(valid_tp("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"),
	      "traceparent: a later version may append fields");
	CHECK(!valid_tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"),
	      "traceparent: version 00 is exactly 55 characters");
	CHECK(!valid_tp("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
	      "traceparent: version ff is invalid");
	CHECK(!valid_tp("00-00000000000000000000000000000000-00f067aa0ba902b7-01") &&
		  !valid_tp("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
	      "traceparent: all-zero trace id or parent id is invalid");
	CHECK(!valid_tp("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01") &&
		  !valid_tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01") &&
		  !valid_tp("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01") &&
		  !valid_tp("garbage"),
	      "traceparent: uppercase, wrong separator, short trace id, garbage are invalid");
}

static void test_proto_keys(void)
{
	static const uint8_t png[] = {0x89, 'P', 'N', 'G'};
	struct proto_request in = {.image = png, .image_len = sizeof png}, out;
	uint8_t *buf;
	size_t len;
	char err[ERR_MAX];

	in.id = "req-42";
	in.id_len = 6;
	in.traceparent = TP;
	in.traceparent_len = strlen(TP);
	CHECK(proto_pack_request(&in, &buf, &len) == 0 &&
		  proto_parse_request(buf, len, &out, err) == 0,
	      "request with id and traceparent round-trips");
	CHECK(out.id_len == 6 && !memcmp(out.id, "req-42", 6) &&
		  out.traceparent_len == strlen(TP) && !memcmp(out.traceparent, TP, strlen(TP)),
	      "id and traceparent survive");
	free(buf);
	in.id = NULL;
	in.traceparent = NULL;
	CHECK(proto_pack_request(&in, &buf, &len) == 0 &&
		  proto_parse_request(buf, len, &out, err) == 0 && !out.id && !out.traceparent,
	      "without them: absent after parsing");
	free(buf);
	in.id = "bad id";
	in.id_len = 6;
	CHECK(proto_pack_request(&in, &buf, &len) == ERR_INVALID, "packing refuses a bad id");
	/* {"v":1,"image":bin(1),"id":"a b"} and the same with a bad traceparent */
	static const uint8_t bad_id[] = {0x83, 0xa1, 'v',  0x01, 0xa5, 'i', 'm',  'a', 'g', 'e',
					 0xc4, 0x01, 0x00, 0xa2, 'i',  'd', 0xa3, 'a', ' ', 'b'};
	CHECK(proto_parse_request(bad_id, sizeof bad_id, &out, err) == ERR_BAD_REQUEST &&
		  strstr(err, "\"id\""),
	      "parsing refuses a bad id: %s", err);
	static const uint8_t bad_tp[] = {0x83, 0xa1, 'v',  0x01, 0xa5, 'i', 'm', 'a',  'g',
					 'e',  0xc4, 0x01, 0x00, 0xab, 't', 'r', 'a',  'c',
					 'e',  'p',  'a',  'r',	 'e',  'n', 't', 0xa1, 'x'};
	CHECK(proto_parse_request(bad_tp, sizeof bad_tp, &out, err) == ERR_BAD_REQUEST &&
		  strstr(err, "traceparent"),
	      "parsing refuses a bad traceparent: %s", err);
	static const uint8_t int_id[] = {0x83, 0xa1, 'v',  0x01, 0xa5, 'i', 'm', 'a', 'g',
					 'e',  0xc4, 0x01, 0x00, 0xa2, 'i', 'd', 0x07};
	CHECK(proto_parse_request(int_id, sizeof int_id, &out, err) == ERR_BAD_REQUEST,
	      "parsing refuses an id that is not a string");
}

static void test_reply_lead(void)
{
	struct proto_reply in = {.ok = true,
				 .digit = 3,
				 .confidence = 0.5f,
				 .batch = 4,
				 .infer_us = 900,
				 .lead = true,
				 .forward_us = 700},
			   out;
	uint8_t *buf;
	size_t len;
	char err[ERR_MAX];

	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && out.lead &&
		  out.forward_us == 700 && out.batch == 4,
	      "reply keys lead and forward_us round-trip");
	free(buf);
	in.lead = false;
	CHECK(proto_pack_reply(&in, &buf, &len) == 0 &&
		  proto_parse_reply(buf, len, &out, err) == 0 && !out.lead && out.forward_us == 0,
	      "a reply that is not its batch's lead has neither");
	free(buf);
}

/* Run fn with stderr captured into buf. */
static void capture(void (*fn)(void), char *buf, size_t len)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void emit_json_lines(void)
{
	char long_msg[6000];
	struct log_field f[3] = {LOG_STR("path", "/a\"b\\c\n\x01\xc3\xa9"), LOG_NUM("status", 200),
				 LOG_JNUM("ms", 1.25)};

	memset(long_msg, 'y', sizeof long_msg - 1);
	long_msg[sizeof long_msg - 1] = '\0';
	log_set_format(LOG_JSON);
	log_info("plain \"quoted\" line");
	log_req(LOG_WARN, "req-1", 5, f, 3, "with %s", "fields");
	log_req(LOG_INFO, NULL, 0, f, 1, "%s", long_msg);
	log_set_format(LOG_TEXT);
	log_req(LOG_INFO, "req-2", 5, f + 1, 2, "text line");
}

static void test_log_json(void)
{
	static char out[32768];
	char *line, *save = NULL;
	int n = 0, parsed = 0;
	json_t *j;

	capture(emit_json_lines, out, sizeof out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		if (n == 3) {
			CHECK(
			    strstr(line, "info ") &&
				strstr(line, "text line request_id=req-2 status=200") &&
				!strstr(line, "ms="),
			    "text: request_id and fields follow the message, JSON-only fields left "
			    "out: %s",
			    line);
			continue;
		}
		j = json_loads(line, 0, NULL);
		parsed += j != NULL;
		if (n == 0)
			CHECK(j &&
				  !strcmp(json_string_value(json_object_get(j, "msg")),
					  "plain \"quoted\" line") &&
				  !strcmp(json_string_value(json_object_get(j, "level")), "info") &&
				  json_is_integer(json_object_get(j, "pid")) &&
				  json_is_string(json_object_get(j, "ts")),
			      "json: ts, level, pid, msg");
		if (n == 1)
			CHECK(j &&
				  !strcmp(json_string_value(json_object_get(j, "request_id")),
					  "req-1") &&
				  !strcmp(json_string_value(json_object_get(j, "path")),
					  "/a\"b\\c\n\x01??") &&
				  json_integer_value(json_object_get(j, "status")) == 200 &&
				  json_real_value(json_object_get(j, "ms")) == 1.25,
			      "json: request_id and fields, escaped; non-ASCII as '?'");
		if (n == 2)
			CHECK(j && strlen(json_string_value(json_object_get(j, "msg"))) >= 1000 &&
				  json_object_get(j, "path"),
			      "json: a 6 KB message is cut and the line stays whole");
		json_decref(j);
	}
	CHECK(n == 4 && parsed == 3, "json: one object per line (%d lines, %d parsed)", n, parsed);
}

int main(void)
{
	test_ids();
	test_traceparent();
	test_proto_keys();
	test_reply_lead();
	test_log_json();
	return tap_done();
}
