/*
 * v2_codec: parsing half of v2_codec.h (v2_response.c builds responses).
 * The JSON goes through jansson; tensor data is checked element by element
 * so that a bad value is reported with its image index.
 */
#include "v2_codec.h"
#include "err.h"
#include "proto.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 8 /* nesting of "data" arrays; shapes have at most 4 dims */

static const char *const output_names[V2_OUT_COUNT] = {"digit", "confidence", "probabilities"};

/* ---- base64 --------------------------------------------------------------- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long v2_base64_decode(const char *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 0 && n >= 2 && in[n - 1] == '=')
		n -= in[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (bits && (acc & ((1u << bits) - 1)))
		return -1;
	return (long)o;
}

/* ---- small JSON helpers ------------------------------------------------- */

/* A $parameters object: values are strings, numbers or booleans. */
static int check_parameters(const json_t *p, const char *where, char *err)
{
	const char *k;
	json_t *v;

	if (!p)
		return 0;
	if (!json_is_object(p))
		return err_set(err, ERR_INVALID, "%s \"parameters\" must be an object", where);
	json_object_foreach((json_t *)p, k, v)
	{
		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
			return err_set(err, ERR_INVALID,
				       "%s parameter \"%.64s\" must be a string, number or boolean",
				       where, k);
	}
	return 0;
}

/* A boolean parameter of p (absent: *out unchanged). */
static int bool_param(const json_t *p, const char *name, const char *where, bool *out, char *err)
{
	json_t *v = p ? json_object_get(p, name) : NULL;

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return err_set(err, ERR_INVALID, "%s parameter \"%s\" must be a boolean", where,
			       name);
	*out = json_is_true(v);
	return 0;
}

/* ---- tensor data -------------------------------------------------------- */

/* Walks the (possibly nested) "data" array, element by element. */
struct walk {
	struct v2_request *r;
	bool uint8;	 /* pixels as UINT8, else FP32 */
	size_t count;	 /* elements seen */
	size_t expected; /* elements the shape asks for */
	size_t max_image;
	char *err;
};

static void put_pixel(struct v2_request *r, size_t at, float v)
{
	uint32_t u;
	uint8_t *p = r->tensors + 4 * at;

	memcpy(&u, &v, sizeof u);
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(u >> (8 * i));
}

static int pixel_value(struct walk *w, const json_t *e, float *out)
{
	size_t img = w->count / V2_PIXELS, el = w->count % V2_PIXELS;
	double v;

	if (!json_is_number(e))
		return err_set(w->err, ERR_INVALID,
			       "input \"pixels\": image %zu: element %zu is not a number", img, el);
	v = json_number_value(e);
	if (w->uint8) {
		if (!json_is_integer(e) || v < 0 || v > 255)
			return err_set(
			    w->err, ERR_INVALID,
			    "input \"pixels\": image %zu: element %zu must be an integer "
			    "in 0..255 (UINT8)",
			    img, el);
		*out = (float)(v / 255.0);
		return 0;
	}
	if (!(v >= 0.0 && v <= 1.0))
		return err_set(w->err, ERR_INVALID,
			       "input \"pixels\": image %zu: element %zu is %g, outside [0, 1] "
			       "(FP32 pixels are model-ready: 0 background, 1 ink)",
			       img, el, v);
	*out = (float)v;
	return 0;
}

/* One BYTES element: a base64 string. */
static int image_value(struct walk *w, const json_t *e)
{
	struct v2_request *r = w->r;
	size_t i = w->count, n;
	long got;

	if (!json_is_string(e))
		return err_set(w->err, ERR_INVALID,
			       "input \"image\": element %zu must be a base64 string", i);
	n = json_string_length(e);
	if (n / 4 * 3 > w->max_image + 3)
		return err_set(w->err, ERR_INVALID,
			       "input \"image\": image %zu is above the limit of %zu bytes", i,
			       w->max_image);
	r->own_images = true;
	if (!(r->images[i] = malloc(n / 4 * 3 + 3)))
		return err_set(w->err, ERR_NOMEM, "out of memory");
	got = v2_base64_decode(json_string_value(e), n, (uint8_t *)r->images[i]);
	if (got < 0)
		return err_set(w->err, ERR_INVALID,
			       "input \"image\": image %zu is not valid base64", i);
	if ((size_t)got > w->max_image)
		return err_set(w->err, ERR_INVALID,
			       "input \"image\": image %zu is above the limit of %zu bytes", i,
			       w->max_image);
	r->image_lens[i] = (size_t)got;
	return 0;
}

static int walk_data(struct walk *w, const json_t *a, int depth)
{
	size_t i;
	json_t *e;

	if (depth > MAX_NEST)
		return err_set(w->err, ERR_INVALID, "\"data\" is nested too deep");
	json_array_foreach(a, i, e)
	{
		int rc;
		float v = 0.f;
		if (json_is_array(e)) {
			if ((rc = walk_data(w, e, depth + 1)) != 0)
				return rc;
			continue;
		}
		if (w->count >= w->expected)
			return err_set(w->err, ERR_INVALID,
				       "\"data\" has more elements than the shape's %zu",
				       w->expected);
		if (w->r->input == V2_IN_IMAGE)
			rc = image_value(w, e);
		else if ((rc = pixel_value(w, e, &v)) == 0)
			put_pixel(w->r, w->count, v);
		if (rc)
			return rc;
		w->count++;
	}
	return 0;
}

/* ---- binary data ---------------------------------------------------------- */

static int binary_pixels(struct v2_request *r, const uint8_t *p, size_t size, bool uint8, char *err)
{
	size_t want = r->n * V2_PIXELS * (uint8 ? 1 : 4);

	if (size != want)
		return err_set(err, ERR_INVALID,
			       "input \"pixels\": binary_data_size is %zu but shape and datatype "
			       "need %zu bytes",
			       size, want);
	for (size_t k = 0; k < r->n * V2_PIXELS; k++) {
		float v;
		if (uint8) {
			v = (float)p[k] / 255.f;
		} else {
			v = proto_f32le(p + 4 * k);
			if (!(v >= 0.f && v <= 1.f))
				return err_set(err, ERR_INVALID,
					       "input \"pixels\": image %zu: element %zu is %g, "
					       "outside [0, 1]",
					       k / V2_PIXELS, k % V2_PIXELS, (double)v);
		}
		put_pixel(r, k, v);
	}
	return 0;
}

/* BYTES in binary: each element a 4-byte little-endian length and bytes. */
static int binary_images(struct v2_request *r, const uint8_t *p, size_t size, size_t max_image,
			 char *err)
{
	size_t at = 0;

	for (size_t i = 0; i < r->n; i++) {
		uint32_t n;
		if (size - at < 4)
			return err_set(err, ERR_INVALID,
				       "input \"image\": binary data ends before image %zu", i);
		n = (uint32_t)p[at] | (uint32_t)p[at + 1] << 8 | (uint32_t)p[at + 2] << 16 |
		    (uint32_t)p[at + 3] << 24;
		at += 4;
		if (n > size - at)
			return err_set(
			    err, ERR_INVALID,
			    "input \"image\": image %zu claims %u bytes, only %zu follow", i, n,
			    size - at);
		if (n > max_image)
			return err_set(err, ERR_INVALID,
				       "input \"image\": image %zu is above the limit of %zu bytes",
				       i, max_image);
		r->images[i] = p + at;
		r->image_lens[i] = n;
		at += n;
	}
	if (at != size)
		return err_set(err, ERR_INVALID,
			       "input \"image\": %zu bytes of binary data after the last image",
			       size - at);
	return 0;
}

/* ---- the input ------------------------------------------------------------ */

/* Shape -> number of images, checked against what this input takes. */
static int input_shape(const json_t *shape, enum v2_input in, size_t *n, char *err)
{
	size_t dims = json_is_array(shape) ? json_array_size(shape) : 0, i;
	json_int_t d[4] = {0};
	json_t *e;

	if (!json_is_array(shape) || dims == 0 || dims > 4)
		return err_set(err, ERR_INVALID, "\"shape\" must be an array of 1 to 4 integers");
	json_array_foreach(shape, i, e)
	{
		if (!json_is_integer(e) || json_integer_value(e) < 0)
			return err_set(err, ERR_INVALID,
				       "\"shape\" must hold non-negative integers");
		d[i] = json_integer_value(e);
	}
	if (in == V2_IN_IMAGE && dims != 1)
		return err_set(err, ERR_INVALID, "input \"image\": shape must be [N]");
	if (in == V2_IN_PIXELS && !(dims == 3 && d[1] == 28 && d[2] == 28) &&
	    !(dims == 2 && d[1] == 784) && !(dims == 4 && d[1] == 1 && d[2] == 28 && d[3] == 28))
		return err_set(err, ERR_INVALID,
			       "input \"pixels\": shape must be [N,28,28], [N,1,28,28] or [N,784]");
	if (d[0] < 1 || d[0] > V2_MAX_BATCH)
		return err_set(err, ERR_INVALID, "batch of %lld images: must be 1 to %d",
			       (long long)d[0], V2_MAX_BATCH);
	*n = (size_t)d[0];
	return 0;
}

static int input_kind(const json_t *in, enum v2_input *kind, bool *uint8, char *err)
{
	const char *name = json_string_value(json_object_get(in, "name"));
	const char *dt = json_string_value(json_object_get(in, "datatype"));

	if (!name || !dt)
		return err_set(err, ERR_INVALID,
			       "an input needs \"name\" and \"datatype\" strings");
	if (!strcmp(name, "pixels")) {
		*kind = V2_IN_PIXELS;
		*uint8 = !strcmp(dt, "UINT8");
		if (!*uint8 && strcmp(dt, "FP32"))
			return err_set(
			    err, ERR_INVALID,
			    "input \"pixels\": datatype must be FP32 or UINT8, not %.32s", dt);
		return 0;
	}
	if (!strcmp(name, "image")) {
		*kind = V2_IN_IMAGE;
		if (strcmp(dt, "BYTES"))
			return err_set(err, ERR_INVALID,
				       "input \"image\": datatype must be BYTES, not %.32s", dt);
		return 0;
	}
	return err_set(err, ERR_INVALID,
		       "unknown input \"%.64s\": this model takes \"pixels\" (FP32 or UINT8) or "
		       "\"image\" (BYTES)",
		       name);
}

/* The one input; binary data (bin, bin_len) is what follows the JSON. */
static int parse_input(struct v2_request *r, const json_t *in, const uint8_t *bin, size_t bin_len,
		       size_t max_image, char *err)
{
	const json_t *params = json_object_get(in, "parameters");
	const json_t *data = json_object_get(in, "data");
	const json_t *size = params ? json_object_get(params, "binary_data_size") : NULL;
	bool uint8 = false;
	int rc;

	if (!json_is_object(in))
		return err_set(err, ERR_INVALID, "an input must be an object");
	if ((rc = input_kind(in, &r->input, &uint8, err)) != 0 ||
	    (rc = input_shape(json_object_get(in, "shape"), r->input, &r->n, err)) != 0 ||
	    (rc = check_parameters(params, "input", err)) != 0)
		return rc;
	if (r->input == V2_IN_PIXELS && !(r->tensors = malloc(r->n * V2_TENSOR_BYTES)))
		return err_set(err, ERR_NOMEM, "out of memory");
	if (r->input == V2_IN_IMAGE && (!(r->images = calloc(r->n, sizeof *r->images)) ||
					!(r->image_lens = calloc(r->n, sizeof *r->image_lens))))
		return err_set(err, ERR_NOMEM, "out of memory");
	if (size) {
		if (data)
			return err_set(err, ERR_INVALID,
				       "an input has both \"data\" and \"binary_data_size\"");
		if (!json_is_integer(size) || json_integer_value(size) < 0 ||
		    (size_t)json_integer_value(size) != bin_len)
			return err_set(err, ERR_INVALID,
				       "binary_data_size must be the %zu bytes after the JSON "
				       "(Inference-Header-Content-Length)",
				       bin_len);
		return r->input == V2_IN_IMAGE ? binary_images(r, bin, bin_len, max_image, err)
					       : binary_pixels(r, bin, bin_len, uint8, err);
	}
	if (bin_len)
		return err_set(err, ERR_INVALID,
			       "%zu bytes after the JSON but no input has binary_data_size",
			       bin_len);
	if (!json_is_array(data))
		return err_set(err, ERR_INVALID, "an input needs \"data\" (an array)");
	struct walk w = {.r = r,
			 .uint8 = uint8,
			 .expected = r->n * (r->input == V2_IN_IMAGE ? 1 : V2_PIXELS),
			 .max_image = max_image,
			 .err = err};
	if ((rc = walk_data(&w, data, 0)) != 0)
		return rc;
	if (w.count != w.expected)
		return err_set(err, ERR_INVALID, "\"data\" has %zu elements, the shape needs %zu",
			       w.count, w.expected);
	return 0;
}

/* ---- outputs and the request -------------------------------------------- */

static int parse_outputs(struct v2_request *r, const json_t *outs, bool all_binary, char *err)
{
	size_t i;
	json_t *o;

	if (!outs) {
		for (int k = 0; k < V2_OUT_COUNT; k++) {
			r->outputs[k] = (enum v2_output)k;
			r->binary[k] = all_binary;
		}
		r->nout = V2_OUT_COUNT;
		return 0;
	}
	if (!json_is_array(outs) || json_array_size(outs) == 0)
		return err_set(err, ERR_INVALID, "\"outputs\" must be a non-empty array");
	json_array_foreach(outs, i, o)
	{
		const char *name = json_string_value(json_object_get(o, "name"));
		const json_t *p = json_object_get(o, "parameters");
		int k = 0, rc;
		while (name && k < V2_OUT_COUNT && strcmp(name, output_names[k]))
			k++;
		if (!name || k == V2_OUT_COUNT)
			return err_set(err, ERR_INVALID,
				       "unknown output \"%.64s\": this model gives \"digit\", "
				       "\"confidence\" and \"probabilities\"",
				       name ? name : "(no name)");
		for (int j = 0; j < r->nout; j++)
			if (r->outputs[j] == (enum v2_output)k)
				return err_set(err, ERR_INVALID, "output \"%s\" asked twice", name);
		bool binary = all_binary;
		if ((rc = check_parameters(p, "output", err)) != 0 ||
		    (rc = bool_param(p, "binary_data", "output", &binary, err)) != 0)
			return rc;
		r->binary[r->nout] = binary;
		r->outputs[r->nout++] = (enum v2_output)k;
	}
	return 0;
}

static int parse_root(struct v2_request *r, const json_t *root, const uint8_t *bin, size_t bin_len,
		      size_t max_image, char *err)
{
	const json_t *id = json_object_get(root, "id");
	const json_t *params = json_object_get(root, "parameters");
	const json_t *inputs = json_object_get(root, "inputs");
	bool all_binary = false;
	int rc;

	if (!json_is_object(root))
		return err_set(err, ERR_INVALID, "the request must be a JSON object");
	if (id && !json_is_string(id))
		return err_set(err, ERR_INVALID, "\"id\" must be a string");
	if (id && !(r->id = strdup(json_string_value(id))))
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((rc = check_parameters(params, "request", err)) != 0 ||
	    (rc = bool_param(params, "binary_data_output", "request", &all_binary, err)) != 0)
		return rc;
	if (!json_is_array(inputs) || json_array_size(inputs) != 1)
		return err_set(err, ERR_INVALID,
			       "\"inputs\" must be an array of exactly one input: \"pixels\" or "
			       "\"image\"");
	if ((rc = parse_input(r, json_array_get(inputs, 0), bin, bin_len, max_image, err)) != 0)
		return rc;
	return parse_outputs(r, json_object_get(root, "outputs"), all_binary, err);
}

int v2_parse_infer(const uint8_t *body, size_t len, size_t header_len, size_t max_image,
		   struct v2_request *r, char *err)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(r, 0, sizeof *r);
	if (header_len > len)
		return err_set(err, ERR_INVALID,
			       "Inference-Header-Content-Length %zu is above the body's %zu bytes",
			       header_len, len);
	if (header_len > V2_MAX_JSON)
		return err_set(err, ERR_TOO_LARGE,
			       "the request's JSON is %zu bytes, above %zu: send large batches as "
			       "binary tensor data (Inference-Header-Content-Length)",
			       header_len, V2_MAX_JSON);
	root = json_loadb((const char *)body, header_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, ERR_INVALID, "the request is not valid JSON: %s (byte %d)",
			       jerr.text, jerr.position);
	rc = parse_root(r, root, body + header_len, len - header_len, max_image, err);
	json_decref(root);
	return rc;
}

void v2_request_free(struct v2_request *r)
{
	if (r->own_images && r->images)
		for (size_t i = 0; i < r->n; i++)
			free((void *)r->images[i]);
	free(r->id);
	free(r->tensors);
	free(r->images);
	free(r->image_lens);
	memset(r, 0, sizeof *r);
}
