/*
 * reqid: request ids and W3C trace context, shared by the frontend (HTTP
 * X-Request-Id and traceparent headers), the protocol codec (request keys
 * "id" and "traceparent") and the worker's logs.
 *
 * A request id is 1..REQID_MAX characters from [A-Za-z0-9] and "-_.:/+=@"
 * (UUIDs, hex, base64 and most tracing ids fit); anything else is not
 * valid, so an id can be written into a log line, a header or JSON without
 * escaping. reqid_generate() makes a fresh one: REQID_GEN_LEN lowercase hex
 * digits from getrandom(2); reqid_random64() a random number the same way.
 *
 * A traceparent is the W3C Trace Context header (www.w3.org/TR/trace-context):
 * "VV-TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT-PPPPPPPPPPPPPPPP-FF" in lowercase hex,
 * version VV not "ff", trace id and parent id not all zeros; version 00 is
 * exactly TRACEPARENT_LEN characters, a later version may append "-..."
 * (kept, up to TRACEPARENT_MAX). Thread-safe, no globals.
 */
#ifndef MNIST_REQID_H
#define MNIST_REQID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REQID_MAX 128
#define REQID_GEN_LEN 32
#define TRACEPARENT_LEN 55
#define TRACEPARENT_MAX 256

bool reqid_valid(const char *s, size_t n);

/* REQID_GEN_LEN hex digits and a NUL into out. */
void reqid_generate(char out[REQID_GEN_LEN + 1]);

/* A fresh random 64-bit id, never 0: e.g. a worker process's instance
 * (proto.h), unique across hosts where pids are not. */
uint64_t reqid_random64(void);

bool traceparent_valid(const char *s, size_t n);

#endif
