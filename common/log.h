/*
 * log: one line per event on stderr (journald and docker logs collect it),
 * in one of two formats:
 *   text (default)
 *     2026-11-25T22:40:01.123Z info mnist-worker[1234] message key=value ...
 *   json (one object per line)
 *     {"ts":"2026-11-25T22:40:01.123Z","level":"info","prog":"mnist-worker",
 *      "pid":1234,"msg":"message","request_id":"...","key":value,...}
 * Level from $MNIST_LOG_LEVEL (debug, info, warn, error; default info) or
 * log_set_level(); format from $MNIST_LOG_FORMAT (text, json) or
 * log_set_format(). log_req() attaches a request id (reqid.h) and named
 * fields: in text they follow the message as " request_id=ID key=value",
 * in JSON they are members of the object. JSON strings are escaped; bytes
 * outside ASCII become '?', so every line is valid JSON whatever a client
 * sent; the message is cut at 1 KB and each field at 512 bytes of JSON.
 * Lines are written with one write(2) (up to LOG_LINE_MAX bytes, longer
 * text lines are cut), so concurrent threads and processes do not
 * interleave within a line. Thread-safe.
 */
#ifndef MNIST_LOG_H
#define MNIST_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define LOG_LINE_MAX 8192

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT, LOG_JSON };

/* One named value of a log_req() line: a string (str != NULL, str_len
 * bytes) or else the number num. */
struct log_field {
	const char *key;
	const char *str;
	size_t str_len;
	double num;
	bool json_only; /* already said by the text message: JSON lines only */
};

#define LOG_STR(k, s) ((struct log_field){.key = (k), .str = (s), .str_len = strlen(s)})
#define LOG_STRN(k, s, n) ((struct log_field){.key = (k), .str = (s), .str_len = (n)})
#define LOG_NUM(k, v) ((struct log_field){.key = (k), .num = (double)(v)})
#define LOG_JSTR(k, s, n)                                                                          \
	((struct log_field){.key = (k), .str = (s), .str_len = (n), .json_only = true})
#define LOG_JNUM(k, v) ((struct log_field){.key = (k), .num = (double)(v), .json_only = true})

void log_init(const char *progname); /* reads MNIST_LOG_LEVEL and MNIST_LOG_FORMAT */
void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
enum log_format log_get_format(void);
/* "debug", "info", "warn" or "error" (any case) into *out: 0, or ERR_INVALID. */
int log_level_parse(const char *name, enum log_level *out);
/* "text" or "json" (any case) into *out: 0, or ERR_INVALID. */
int log_format_parse(const char *name, enum log_format *out);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line about one request: id may be NULL (not known), fields n >= 0. */
void log_req(enum log_level level, const char *id, size_t id_len, const struct log_field *fields,
	     size_t n, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
