/*
 * cost: what decoding an upload will cost, read from its header only, so
 * the worker can queue and admit work by size before it decodes anything.
 *
 * cost_image() returns the pixel count the PNG IHDR or the JPEG SOF header
 * claims (width x height), or 0 when the bytes are not PNG/JPEG or the
 * header cannot be read: such an upload fails fast in the decoder and costs
 * next to nothing. Reads at most len bytes; pure and thread-safe.
 */
#ifndef MNIST_COST_H
#define MNIST_COST_H

#include <stddef.h>
#include <stdint.h>

uint64_t cost_image(const uint8_t *buf, size_t len);

#endif
