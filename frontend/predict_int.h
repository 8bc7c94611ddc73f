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

/* {"digit", "confidence", "probabilities"?, "model_input"?} of an ok reply. */
json_t *predict_json(const struct proto_reply *rep, bool probs, bool explain);

/* Answer a /predict with count (2..) `file` parts: {"predictions": [...]}
 * in part order, or the first failing part's error, naming its index. */
void predict_multi(struct predictor *pr, h2o_req_t *req, const struct mp_part *parts, size_t count);

#endif
