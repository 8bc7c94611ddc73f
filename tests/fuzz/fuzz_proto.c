/*
 * libFuzzer harness for common/proto: arbitrary bytes go through both
 * parsers; whatever parses must pack again and parse back to the same
 * values (the codec is its own oracle). Crashes, leaks, UB and round-trip
 * mismatches abort.
 */
#include "err.h"
#include "proto.h"

#include <stdlib.h>
#include <string.h>

static void die(const char *why)
{
	(void)why;
	abort();
}

static void request_round_trip(const struct proto_request *a)
{
	struct proto_request b;
	char err[ERR_MAX];
	uint8_t *buf;
	size_t len;

	if (proto_pack_request(a, &buf, &len) != 0)
		die("a parsed request must pack");
	if (proto_parse_request(buf, len, &b, err) != 0)
		die("a packed request must parse");
	if (a->ping != b.ping || a->probs != b.probs)
		die("flags differ");
	if (!a->ping) {
		if (!!a->image != !!b.image || a->image_len != b.image_len ||
		    (a->image_len && memcmp(a->image, b.image, a->image_len)))
			die("image differs");
		if (!!a->pixels != !!b.pixels || a->pixels_len != b.pixels_len ||
		    (a->pixels && (a->width != b.width || a->height != b.height)) ||
		    (a->pixels_len && memcmp(a->pixels, b.pixels, a->pixels_len)))
			die("pixels differ");
	}
	free(buf);
}

static void reply_round_trip(const struct proto_reply *a)
{
	struct proto_reply b;
	char err[ERR_MAX];
	uint8_t *buf;
	size_t len;

	if (proto_pack_reply(a, &buf, &len) != 0)
		die("a parsed reply must pack");
	if (proto_parse_reply(buf, len, &b, err) != 0)
		die("a packed reply must parse");
	if (a->ok != b.ok || a->worker != b.worker || a->batch != b.batch ||
	    a->infer_us != b.infer_us)
		die("reply header differs");
	if (!a->ok && (strcmp(a->code, b.code) || strcmp(a->error, b.error)))
		die("error differs");
	if (a->ok && a->pong != b.pong)
		die("pong differs");
	if (a->ok && !a->pong &&
	    (a->digit != b.digit || a->confidence != b.confidence || a->has_probs != b.has_probs ||
	     (a->has_probs && memcmp(a->probs, b.probs, sizeof a->probs))))
		die("prediction differs");
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_request req;
	struct proto_reply rep;
	char err[ERR_MAX];

	if (proto_parse_request(data, size, &req, err) == 0)
		request_round_trip(&req);
	else if (!err[0])
		die("a rejected request must say why");
	if (proto_parse_reply(data, size, &rep, err) == 0)
		reply_round_trip(&rep);
	else if (!err[0])
		die("a rejected reply must say why");
	return 0;
}
