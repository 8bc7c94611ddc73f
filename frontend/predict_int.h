/*
 * predict_int: what predict.c shares with predict_multi.c (several files
 * in one POST /predict). Callers use predict.h.
 */
#ifndef MNIST_PREDICT_INT_H
#define MNIST_PREDICT_INT_H

#include "multipart.h"
#include "predict.h"
#include "proto.h"

#include <h2o.h>
#include <jansson.h>
#include <stdbool.h>

/* Most `file` parts one /predict may carry; more get 400. */
#define PREDICT_MAX_FILES 32

/* The 400 detail for a declared type other than PNG/JPEG (type NULL: none
 * given), client text escaped; NULL when out of memory. */
json_t *predict_bad_type(const char *type, size_t len);

/* image/png, image/jpeg or image/jpg, parameters and case ignored. */
bool predict_type_allowed(const char *t, size_t n);

/* ?NAME=true (also 1, yes, on), anywhere in the query string. */
bool predict_query_flag(h2o_req_t *req, const char *name);

/* {"digit", "confidence", "model_input"?, "probabilities"?} of an ok reply,
 * written into req's pool, the bytes jansson makes of it. -1: out of
 * memory, or a value JSON cannot hold. */
int predict_text(h2o_req_t *req, const struct proto_reply *rep, bool probs, bool explain,
		 h2o_iovec_t *out);

/* Answer a worker's failure reply rep as /predict does: 400 with the
 * worker's reason (client text escaped), 503 to retry, or 500; every detail
 * starts with prefix ("" for one file, "file[i]: " for several). worker
 * goes to respond_json (0: none). */
void predict_failed(h2o_req_t *req, const struct proto_reply *rep, const char *prefix,
		    uint32_t worker);

/* Answer a /predict with count (2..) `file` parts: {"predictions": [...]}
 * in part order, or the first failing part's error, naming its index. */
void predict_multi(struct predictor *pr, h2o_req_t *req, const struct mp_part *parts, size_t count);

#endif
