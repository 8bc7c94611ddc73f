/*
 * png_encode: write an 8-bit grayscale PNG, uncompressed.
 *
 * The frontend shows callers the 28x28 image the model read
 * (/predict?explain=true) as a PNG without linking libpng or zlib: the image
 * data is a zlib stream of stored (uncompressed) deflate blocks, which every
 * decoder reads, with its adler32, and each chunk carries its crc32. A 28x28
 * image comes to 881 bytes.
 *
 * Pure functions, no globals: thread-safe.
 */
#ifndef MNIST_PNG_ENCODE_H
#define MNIST_PNG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Largest width or height png_encode_gray accepts. */
#define PNG_ENCODE_MAX_SIDE 4096

/* Encode w x h gray bytes (row-major, 0 = black) into a malloc'd PNG in
 * *out (caller frees) of *len bytes. Returns 0, ERR_INVALID (a side of 0 or
 * above PNG_ENCODE_MAX_SIDE) or ERR_NOMEM. */
int png_encode_gray(const uint8_t *pixels, uint32_t w, uint32_t h, uint8_t **out, size_t *len);

#endif
