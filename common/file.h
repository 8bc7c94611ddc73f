/*
 * file: read a whole file into memory, the one way every program here does.
 *
 * file_read() reads the regular file at path into a new buffer that the
 * caller frees. A file over max bytes is refused with ERR_TOO_LARGE before
 * anything of that size is allocated (its size is checked again while
 * reading, so a file that grows meanwhile is refused too). Messages leave
 * the path to the caller. Thread-safe.
 */
#ifndef MNIST_FILE_H
#define MNIST_FILE_H

#include <stddef.h>
#include <stdint.h>

int file_read(const char *path, size_t max, uint8_t **buf, size_t *len, char *err);

#endif
