/* Tests for frontend/v2_codec: Open Inference Protocol infer requests in
 * (JSON and binary tensor data), responses out, and the base64 decoder. */
#include "err.h"
#include "tap.h"
#include "v2_codec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IMAGE 1000

static float f32le(const uint8_t *p)
{
	uint32_t u =
	    (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static int parse(const char *json, struct v2_request *r, char *err)
{
	return v2_parse_infer((const uint8_t *)json, strlen(json), strlen(json), MAX_IMAGE, r, err);
}

/* A pixels request of n images: FP32 value v everywhere, flat data. */
static char *pixels_json(int n, const char *shape, const char *dtype, const char *v,
			 const char *extra)
{
	size_t cap = (size_t)n * 784 * (strlen(v) + 1) + 512;
	char *s = malloc(cap);
	size_t at = (size_t)snprintf(s, cap,
				     "{%s\"inputs\":[{\"name\":\"pixels\",\"shape\":%s,"
				     "\"datatype\":\"%s\",\"data\":[",
				     extra, shape, dtype);
	for (int i = 0; i < n * 784; i++)
		at += (size_t)snprintf(s + at, cap - at, "%s%s", i ? "," : "", v);
	snprintf(s + at, cap - at, "]}]}");
	return s;
}

/* Expect rejection with a message containing want. */
static void bad(const char *json, const char *want, const char *name)
{
	struct v2_request r;
	char err[ERR_MAX] = "";
	int rc = parse(json, &r, err);
	CHECK(rc == ERR_INVALID && strstr(err, want), "rejected: %s (%s)", name, err);
	v2_request_free(&r);
}

static void test_pixels(void)
{
	static const char *const shapes[] = {"[2,28,28]", "[2,1,28,28]", "[2,784]"};
	struct v2_request r;
	char err[ERR_MAX] = "";

	for (int i = 0; i < 3; i++) {
		char *j = pixels_json(2, shapes[i], "FP32", "0.5", "\"id\":\"abc\",");
		int rc = parse(j, &r, err);
		CHECK(rc == 0 && r.input == V2_IN_PIXELS && r.n == 2 && r.tensors &&
			  f32le(r.tensors + 4 * 1567) == 0.5f && r.id && !strcmp(r.id, "abc"),
		      "FP32 pixels of shape %s (%s)", shapes[i], err);
		CHECK(r.nout == 3 && r.outputs[0] == V2_OUT_DIGIT &&
			  r.outputs[2] == V2_OUT_PROBABILITIES && !r.binary[0],
		      "no outputs asked: all three, JSON");
		v2_request_free(&r);
		free(j);
	}
	char *j = pixels_json(1, "[1,784]", "UINT8", "255", "");
	CHECK(parse(j, &r, err) == 0 && f32le(r.tensors) == 1.f &&
		  f32le(r.tensors + 4 * 783) == 1.f,
	      "UINT8 255 reaches the model as 1.0 (%s)", err);
	v2_request_free(&r);
	free(j);

	/* nested data, as numpy's tolist() gives it */
	char nested[8192];
	size_t at = (size_t)snprintf(nested, sizeof nested,
				     "{\"inputs\":[{\"name\":\"pixels\",\"shape\":[1,28,28],"
				     "\"datatype\":\"UINT8\",\"data\":[[");
	for (int y = 0; y < 28; y++) {
		at += (size_t)snprintf(nested + at, sizeof nested - at, "%s[", y ? "," : "");
		for (int x = 0; x < 28; x++)
			at += (size_t)snprintf(nested + at, sizeof nested - at, "%s%d",
					       x ? "," : "", y == 3 && x == 5 ? 51 : 0);
		at += (size_t)snprintf(nested + at, sizeof nested - at, "]");
	}
	snprintf(nested + at, sizeof nested - at, "]]}]}");
	CHECK(parse(nested, &r, err) == 0 && f32le(r.tensors + 4 * (3 * 28 + 5)) == 51.f / 255.f &&
		  f32le(r.tensors + 4 * (3 * 28 + 6)) == 0.f,
	      "nested [1][28][28] data is read row-major (%s)", err);
	v2_request_free(&r);
}

static void test_pixels_bad(void)
{
	char *j = pixels_json(2, "[2,28,28]", "FP32", "0.5", "");
	char *p = strstr(j, "0.5,0.5,0.5");
	/* image 1, element 3: 784 + 3 values in */
	for (int k = 0; k < 787; k++)
		p = strchr(p, ',') + 1;
	memcpy(p, "1.5", 3);
	bad(j, "image 1: element 3 is 1.5, outside [0, 1]", "FP32 above 1, named by index");
	free(j);
	j = pixels_json(1, "[1,784]", "UINT8", "256", "");
	bad(j, "image 0: element 0 must be an integer in 0..255", "UINT8 above 255");
	free(j);
	j = pixels_json(1, "[1,784]", "UINT8", "0.5", "");
	bad(j, "must be an integer", "UINT8 as a float");
	free(j);
	j = pixels_json(1, "[1,784]", "FP32", "\"x\"", "");
	bad(j, "is not a number", "string pixel");
	free(j);
	j = pixels_json(1, "[1,28,27]", "FP32", "0", "");
	bad(j, "shape must be [N,28,28], [N,1,28,28] or [N,784]", "shape 28x27");
	free(j);
	j = pixels_json(1, "[2,784]", "FP32", "0", "");
	bad(j, "\"data\" has 784 elements, the shape needs 1568", "too few elements");
	free(j);
	j = pixels_json(2, "[1,784]", "FP32", "0", "");
	bad(j, "more elements than the shape's 784", "too many elements");
	free(j);
	j = pixels_json(1, "[65,784]", "FP32", "0", "");
	bad(j, "batch of 65 images: must be 1 to 64", "batch above the maximum");
	free(j);
	bad("{\"inputs\":[{\"name\":\"pixels\",\"shape\":[0,784],\"datatype\":\"FP32\",\"data\":[]}"
	    "]}",
	    "batch of 0 images", "empty batch");
	bad("{\"inputs\":[{\"name\":\"pixels\",\"shape\":[1,784],\"datatype\":\"INT32\",\"data\":[]"
	    "}]}",
	    "datatype must be FP32 or UINT8, not INT32", "pixels as INT32");
	bad("{\"inputs\":[{\"name\":\"pixels\",\"shape\":[-1,784],\"datatype\":\"FP32\",\"data\":[]"
	    "}]}",
	    "non-negative integers", "negative shape");
}

static void test_request_bad(void)
{
	bad("not json", "not valid JSON", "not JSON");
	bad("[1]", "must be a JSON object", "an array");
	bad("{}", "exactly one input", "no inputs");
	bad("{\"inputs\":[]}", "exactly one input", "empty inputs");
	bad("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
	    "unknown input \"x\"", "unknown input");
	bad("{\"id\":42,\"inputs\":[]}", "\"id\" must be a string", "numeric id");
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"BYTES\"}]}",
	    "needs \"data\"", "input without data");
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"AA=="
	    "\"]}],"
	    "\"outputs\":[{\"name\":\"logits\"}]}",
	    "unknown output \"logits\"", "unknown output");
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"AA=="
	    "\"]}],"
	    "\"outputs\":[{\"name\":\"digit\"},{\"name\":\"digit\"}]}",
	    "asked twice", "output asked twice");
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"AA=="
	    "\"]}],"
	    "\"parameters\":{\"binary_data_output\":\"yes\"}}",
	    "\"binary_data_output\" must be a boolean", "binary_data_output as a string");
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"AA=="
	    "\"]}],"
	    "\"parameters\":{\"x\":{}}}",
	    "must be a string, number or boolean", "object parameter");
	bad("{\"inputs\":[], \"inputs\":[]}", "not valid JSON", "duplicate key");
	struct v2_request r;
	char err[ERR_MAX] = "";
	CHECK(parse("{\"parameters\":{\"s\":\"x\",\"n\":1.5,\"b\":false},\"inputs\":[{\"name\":"
		    "\"image\",\"shape\":[1],\"datatype\":\"BYTES\",\"parameters\":{\"k\":2},"
		    "\"data\":[\"AA==\"]}],\"outputs\":[{\"name\":\"digit\",\"parameters\":{"
		    "\"x\":\"y\"}}]}",
		    &r, err) == 0 &&
		  r.nout == 1 && !r.binary[0],
	      "string, number and boolean parameters are accepted everywhere (%s)", err);
	v2_request_free(&r);
}

static void test_images(void)
{
	struct v2_request r;
	char err[ERR_MAX] = "";
	const char *j =
	    "{\"inputs\":[{\"name\":\"image\",\"shape\":[2],\"datatype\":\"BYTES\","
	    "\"data\":[\"iVBORw0KGgo=\",\"aGk\"]}],\"outputs\":[{\"name\":\"probabilities\","
	    "\"parameters\":{\"binary_data\":true}},{\"name\":\"digit\"}]}";

	CHECK(parse(j, &r, err) == 0 && r.input == V2_IN_IMAGE && r.n == 2 &&
		  r.image_lens[0] == 8 && !memcmp(r.images[0], "\x89PNG\r\n\x1a\n", 8) &&
		  r.image_lens[1] == 2 && !memcmp(r.images[1], "hi", 2),
	      "BYTES images are base64-decoded (%s)", err);
	CHECK(r.nout == 2 && r.outputs[0] == V2_OUT_PROBABILITIES && r.binary[0] &&
		  r.outputs[1] == V2_OUT_DIGIT && !r.binary[1],
	      "outputs in the order asked, binary_data per output");
	v2_request_free(&r);
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\"AA=="
	    "\",\"!!\"]}]}",
	    "image 1 is not valid base64", "bad base64 named by index");
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[7]}]}",
	    "element 0 must be a base64 string", "number as image");
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,2],\"datatype\":\"BYTES\",\"data\":["
	    "\"AA\"]}]}",
	    "shape must be [N]", "image shape 2-D");
	bad("{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[\"AA\"]"
	    "}]}",
	    "datatype must be BYTES", "image as FP32");
	char big[2000] =
	    "{\"inputs\":[{\"name\":\"image\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"";
	size_t at = strlen(big);
	memset(big + at, 'A', 1400);
	strcpy(big + at + 1400, "\"]}]}");
	bad(big, "image 0 is above the limit of 1000 bytes", "image above the limit");
}

static void test_binary(void)
{
	struct v2_request r;
	char err[ERR_MAX] = "";
	const char *h =
	    "{\"inputs\":[{\"name\":\"pixels\",\"shape\":[1,784],\"datatype\":\"UINT8\","
	    "\"parameters\":{\"binary_data_size\":784}}]}";
	uint8_t body[1024];
	size_t hl = strlen(h);

	memcpy(body, h, hl);
	memset(body + hl, 0, 784);
	body[hl + 100] = 255;
	CHECK(v2_parse_infer(body, hl + 784, hl, MAX_IMAGE, &r, err) == 0 &&
		  f32le(r.tensors + 400) == 1.f && f32le(r.tensors + 396) == 0.f,
	      "binary UINT8 pixels (%s)", err);
	v2_request_free(&r);
	CHECK(v2_parse_infer(body, hl + 700, hl, MAX_IMAGE, &r, err) == ERR_INVALID &&
		  strstr(err, "binary_data_size must be the 700 bytes"),
	      "binary data shorter than binary_data_size (%s)", err);
	v2_request_free(&r);
	static uint8_t huge[V2_MAX_JSON + 2];
	memset(huge, ' ', sizeof huge);
	CHECK(v2_parse_infer(huge, sizeof huge, V2_MAX_JSON + 1, MAX_IMAGE, &r, err) ==
		      ERR_TOO_LARGE &&
		  strstr(err, "send large batches as binary tensor data"),
	      "JSON above V2_MAX_JSON refused as too large (%s)", err);
	v2_request_free(&r);
	CHECK(v2_parse_infer(body, hl, hl + 1, MAX_IMAGE, &r, err) == ERR_INVALID &&
		  strstr(err, "above the body's"),
	      "header length beyond the body (%s)", err);
	v2_request_free(&r);

	const char *hb = "{\"inputs\":[{\"name\":\"image\",\"shape\":[2],\"datatype\":\"BYTES\","
			 "\"parameters\":{\"binary_data_size\":13}}]}";
	hl = strlen(hb);
	memcpy(body, hb, hl);
	memcpy(body + hl, "\x03\0\0\0abc\x02\0\0\0xy", 13);
	CHECK(v2_parse_infer(body, hl + 13, hl, MAX_IMAGE, &r, err) == 0 && r.image_lens[0] == 3 &&
		  !memcmp(r.images[0], "abc", 3) && r.image_lens[1] == 2 &&
		  !memcmp(r.images[1], "xy", 2),
	      "binary BYTES: 4-byte length then bytes, per image (%s)", err);
	v2_request_free(&r);
	body[hl + 7] = 9; /* image 1 claims 9 bytes */
	CHECK(v2_parse_infer(body, hl + 13, hl, MAX_IMAGE, &r, err) == ERR_INVALID &&
		  strstr(err, "image 1 claims 9 bytes"),
	      "binary BYTES length beyond the data (%s)", err);
	v2_request_free(&r);

	const char *hf =
	    "{\"inputs\":[{\"name\":\"pixels\",\"shape\":[1,784],\"datatype\":\"FP32\","
	    "\"parameters\":{\"binary_data_size\":3136}}]}";
	static uint8_t fb[4096];
	hl = strlen(hf);
	memcpy(fb, hf, hl);
	memset(fb + hl, 0, 3136);
	memcpy(fb + hl + 4 * 9, "\0\0\xc0\x7f", 4); /* NaN */
	CHECK(v2_parse_infer(fb, hl + 3136, hl, MAX_IMAGE, &r, err) == ERR_INVALID &&
		  strstr(err, "image 0: element 9 is nan"),
	      "binary FP32 NaN refused with its index (%s)", err);
	v2_request_free(&r);
}

static void test_response(void)
{
	struct v2_request r;
	char err[ERR_MAX] = "";
	const char *j =
	    "{\"id\":\"7\",\"parameters\":{\"binary_data_output\":true},\"inputs\":[{"
	    "\"name\":\"image\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\"AA==\","
	    "\"AA==\"]}],\"outputs\":[{\"name\":\"confidence\",\"parameters\":{"
	    "\"binary_data\":false}},{\"name\":\"digit\"}]}";
	int digit[2] = {3, 9};
	float conf[2] = {0.5f, 0.25f}, probs[20] = {0};
	struct v2_result res = {digit, conf, probs};
	uint8_t *body;
	size_t len, hl;

	CHECK(parse(j, &r, err) == 0, "request parses (%s)", err);
	CHECK(v2_build_response(&r, &res, "0123456789ab", &body, &len, &hl) == 0, "response built");
	json_t *root = json_loadb((const char *)body, hl, 0, NULL);
	json_t *o0 = json_array_get(json_object_get(root, "outputs"), 0);
	json_t *o1 = json_array_get(json_object_get(root, "outputs"), 1);
	CHECK(
	    root && !strcmp(json_string_value(json_object_get(root, "id")), "7") &&
		!strcmp(json_string_value(json_object_get(root, "model_name")), "mnist") &&
		!strcmp(json_string_value(json_object_get(root, "model_version")), "0123456789ab"),
	    "id echoed, model name and version");
	CHECK(!strcmp(json_string_value(json_object_get(o0, "name")), "confidence") &&
		  json_real_value(json_array_get(json_object_get(o0, "data"), 1)) == 0.25,
	      "binary_data false on an output overrides binary_data_output");
	CHECK(!strcmp(json_string_value(json_object_get(o1, "datatype")), "INT64") &&
		  !json_object_get(o1, "data") &&
		  json_integer_value(
		      json_object_get(json_object_get(o1, "parameters"), "binary_data_size")) == 16,
	      "digit as binary: INT64, binary_data_size 16, no data");
	CHECK(len == hl + 16 && body[hl] == 3 && body[hl + 8] == 9 && body[hl + 15] == 0,
	      "binary digits after the JSON, little-endian int64");
	json_decref(root);
	free(body);
	v2_request_free(&r);
}

static void test_base64(void)
{
	static const struct {
		const char *in;
		const char *out;
	} ok[] = {{"", ""},	      {"Zg==", "f"},	     {"Zm8=", "fo"},	    {"Zm9v", "foo"},
		  {"Zm9vYg", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}};
	uint8_t out[16];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		long n = v2_base64_decode(ok[i].in, strlen(ok[i].in), out);
		CHECK(n == (long)strlen(ok[i].out) && !memcmp(out, ok[i].out, (size_t)n),
		      "base64 \"%s\" (RFC 4648 vector)", ok[i].in);
	}
	CHECK(v2_base64_decode("Zg=", 3, out) < 0, "base64 bad padding");
	CHECK(v2_base64_decode("Z", 1, out) < 0, "base64 one char");
	CHECK(v2_base64_decode("Zh==", 4, out) < 0, "base64 non-zero leftover bits");
	CHECK(v2_base64_decode("Zm 9", 4, out) < 0, "base64 space");
	CHECK(v2_base64_decode("Zm-_", 4, out) < 0, "base64url characters refused");
}

int main(void)
{
	test_pixels();
	test_pixels_bad();
	test_request_bad();
	test_images();
	test_binary();
	test_response();
	test_base64();
	return tap_done();
}
