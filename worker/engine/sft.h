/*
 * sft: a read-only safetensors reader.
 *
 * sft_open() maps the file and checks all of it before returning: the 8-byte
 * little-endian header length is sane and within the file, the header is a
 * JSON object (parsed with jansson) whose entries all have a known dtype, a
 * shape of non-negative integers and data_offsets [begin, end] inside the
 * data section, with end - begin == product(shape) * element size (overflow
 * checked), and no two tensors overlap. "__metadata__" is skipped.
 *
 * sft_get() looks a tensor up by name and checks its dtype ("F32", "I8",
 * ...) and the exact shape; sft_get_f32() is sft_get() for "F32". The pointer it returns points
 * into the mapping, which has no alignment guarantee: treat it as bytes and memcpy out
 * (sft_copy_f32 does). It stays valid until sft_close().
 *
 * Errors name the file, the tensor and the problem in one line. An sft
 * handle is immutable after sft_open(), so lookups are thread-safe.
 */
#ifndef MNIST_SFT_H
#define MNIST_SFT_H

#include <stddef.h>

#define SFT_MAX_DIMS 8
/* Largest header we accept; real ones for this model are a few KB. */
#define SFT_MAX_HEADER (16u << 20)

struct sft; /* opaque */

/* Map and validate path. The caller owns *out (sft_close). */
int sft_open(const char *path, struct sft **out, char *err);
void sft_close(struct sft *f);

/* The path given to sft_open(), for messages. */
const char *sft_path(const struct sft *f);

/* The whole file as mapped (header and data), e.g. to fingerprint it; valid
 * until sft_close(). */
const unsigned char *sft_bytes(const struct sft *f, size_t *len);

/* Number of tensors (without __metadata__). */
size_t sft_count(const struct sft *f);

/* Find name; check dtype (a safetensors name such as "F32" or "I8") and
 * shape == shape[0..ndim). On success *data points at the (possibly
 * unaligned) little-endian elements in the mapping. */
int sft_get(const struct sft *f, const char *name, const char *dtype, const size_t *shape, int ndim,
	    const void **data, char *err);

/* 1 if the file holds a tensor called name, else 0. */
int sft_has(const struct sft *f, const char *name);

/* sft_get(), then copy the product(shape) elements into dst. */
int sft_copy(const struct sft *f, const char *name, const char *dtype, const size_t *shape,
	     int ndim, void *dst, char *err);

/* Find name; check dtype F32 and shape == shape[0..ndim). On success *data
 * points at the (possibly unaligned) little-endian floats in the mapping. */
int sft_get_f32(const struct sft *f, const char *name, const size_t *shape, int ndim,
		const void **data, char *err);

/* sft_get_f32, then copy the n = product(shape) floats into dst. */
int sft_copy_f32(const struct sft *f, const char *name, const size_t *shape, int ndim, float *dst,
		 char *err);

#endif
