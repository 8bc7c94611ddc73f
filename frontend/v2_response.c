/*
 * v2_response: building half of v2_codec.h: the infer response JSON, with
 * the outputs the request asked for, and their binary data after it.
 */
#include "v2_codec.h"
#include "err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[V2_OUT_COUNT] = {"digit", "confidence", "probabilities"};
static const char *const types[V2_OUT_COUNT] = {"INT64", "FP32", "FP32"};

static size_t per_image(enum v2_output o)
{
	return o == V2_OUT_PROBABILITIES ? 10 : 1;
}

static size_t binary_size(enum v2_output o, size_t n)
{
	return n * per_image(o) * (o == V2_OUT_DIGIT ? 8 : 4);
}

/* The output's elements in binary (little-endian) into p. */
static void put_binary(enum v2_output o, const struct v2_result *res, size_t n, uint8_t *p)
{
	for (size_t i = 0; i < n * per_image(o); i++) {
		if (o == V2_OUT_DIGIT) {
			uint64_t d = (uint64_t)res->digit[i];
			for (int b = 0; b < 8; b++)
				*p++ = (uint8_t)(d >> (8 * b));
			continue;
		}
		float f = o == V2_OUT_CONFIDENCE ? res->confidence[i] : res->probs[i];
		uint32_t u;
		memcpy(&u, &f, sizeof u);
		for (int b = 0; b < 4; b++)
			*p++ = (uint8_t)(u >> (8 * b));
	}
}

static json_t *output_data(enum v2_output o, const struct v2_result *res, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n * per_image(o); i++) {
		json_t *v = o == V2_OUT_DIGIT	     ? json_integer(res->digit[i])
			    : o == V2_OUT_CONFIDENCE ? json_real(res->confidence[i])
						     : json_real(res->probs[i]);
		if (json_array_append_new(a, v) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static json_t *output_json(const struct v2_request *r, int k, const struct v2_result *res)
{
	enum v2_output o = r->outputs[k];
	json_t *shape = o == V2_OUT_PROBABILITIES ? json_pack("[I,i]", (json_int_t)r->n, 10)
						  : json_pack("[I]", (json_int_t)r->n);

	if (r->binary[k])
		return json_pack("{s:s,s:s,s:o,s:{s:I}}", "name", names[o], "datatype", types[o],
				 "shape", shape, "parameters", "binary_data_size",
				 (json_int_t)binary_size(o, r->n));
	return json_pack("{s:s,s:s,s:o,s:o}", "name", names[o], "datatype", types[o], "shape",
			 shape, "data", output_data(o, res, r->n));
}

static json_t *response_json(const struct v2_request *r, const struct v2_result *res,
			     const char *version)
{
	json_t *root = json_pack("{s:s}", "model_name", "mnist");
	json_t *outs = json_array();

	if (!root || !outs)
		goto fail;
	if (version && version[0] &&
	    json_object_set_new(root, "model_version", json_string(version)) != 0)
		goto fail;
	if (r->id && json_object_set_new(root, "id", json_string(r->id)) != 0)
		goto fail;
	for (int k = 0; k < r->nout; k++)
		if (json_array_append_new(outs, output_json(r, k, res)) != 0)
			goto fail;
	if (json_object_set_new(root, "outputs", outs) == 0)
		return root;
	outs = NULL;
fail:
	json_decref(outs);
	json_decref(root);
	return NULL;
}

int v2_build_response(const struct v2_request *r, const struct v2_result *res, const char *version,
		      uint8_t **body, size_t *len, size_t *header_len)
{
	json_t *root = response_json(r, res, version);
	/* float32 survives the trip through text with 9 significant digits */
	char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	size_t tlen = text ? strlen(text) : 0, total = tlen;
	uint8_t *p;

	json_decref(root);
	*body = NULL;
	if (!text)
		return ERR_NOMEM;
	for (int k = 0; k < r->nout; k++)
		if (r->binary[k])
			total += binary_size(r->outputs[k], r->n);
	if (!(p = malloc(total ? total : 1))) {
		free(text);
		return ERR_NOMEM;
	}
	memcpy(p, text, tlen);
	free(text);
	*body = p;
	*len = total;
	*header_len = tlen;
	p += tlen;
	for (int k = 0; k < r->nout; k++)
		if (r->binary[k]) {
			put_binary(r->outputs[k], res, r->n, p);
			p += binary_size(r->outputs[k], r->n);
		}
	return 0;
}
